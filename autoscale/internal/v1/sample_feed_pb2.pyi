from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class NotifySamplesRequest(_message.Message):
    __slots__ = ("metrics", "dimensions", "minimums", "maximums", "series_ids", "catalogue")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    MINIMUMS_FIELD_NUMBER: _ClassVar[int]
    MAXIMUMS_FIELD_NUMBER: _ClassVar[int]
    SERIES_IDS_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    dimensions: _containers.RepeatedScalarFieldContainer[str]
    minimums: _containers.RepeatedScalarFieldContainer[float]
    maximums: _containers.RepeatedScalarFieldContainer[float]
    series_ids: _containers.RepeatedScalarFieldContainer[int]
    catalogue: str
    def __init__(self, metrics: _Optional[_Iterable[str]] = ..., dimensions: _Optional[_Iterable[str]] = ..., minimums: _Optional[_Iterable[float]] = ..., maximums: _Optional[_Iterable[float]] = ..., series_ids: _Optional[_Iterable[int]] = ..., catalogue: _Optional[str] = ...) -> None: ...

class NotifySamplesResponse(_message.Message):
    __slots__ = ("matched_alarms", "queued_alarms")
    MATCHED_ALARMS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_ALARMS_FIELD_NUMBER: _ClassVar[int]
    matched_alarms: int
    queued_alarms: int
    def __init__(self, matched_alarms: _Optional[int] = ..., queued_alarms: _Optional[int] = ...) -> None: ...
