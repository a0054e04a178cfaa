from autoscale.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BatchGetStatisticsRequest(_message.Message):
    __slots__ = ("metrics", "dimension_counts", "dimension_names", "dimension_values", "statistics", "periods", "start_times", "end_times")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_COUNTS_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_NAMES_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_VALUES_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    START_TIMES_FIELD_NUMBER: _ClassVar[int]
    END_TIMES_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    dimension_counts: _containers.RepeatedScalarFieldContainer[int]
    dimension_names: _containers.RepeatedScalarFieldContainer[str]
    dimension_values: _containers.RepeatedScalarFieldContainer[str]
    statistics: _containers.RepeatedScalarFieldContainer[_common_pb2.Statistic]
    periods: _containers.RepeatedScalarFieldContainer[float]
    start_times: _containers.RepeatedScalarFieldContainer[float]
    end_times: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, metrics: _Optional[_Iterable[str]] = ..., dimension_counts: _Optional[_Iterable[int]] = ..., dimension_names: _Optional[_Iterable[str]] = ..., dimension_values: _Optional[_Iterable[str]] = ..., statistics: _Optional[_Iterable[_Union[_common_pb2.Statistic, str]]] = ..., periods: _Optional[_Iterable[float]] = ..., start_times: _Optional[_Iterable[float]] = ..., end_times: _Optional[_Iterable[float]] = ...) -> None: ...

class BatchGetStatisticsResponse(_message.Message):
    __slots__ = ("datapoint_counts", "start_times", "values", "sample_counts")
    DATAPOINT_COUNTS_FIELD_NUMBER: _ClassVar[int]
    START_TIMES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    datapoint_counts: _containers.RepeatedScalarFieldContainer[int]
    start_times: _containers.RepeatedScalarFieldContainer[float]
    values: _containers.RepeatedScalarFieldContainer[float]
    sample_counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, datapoint_counts: _Optional[_Iterable[int]] = ..., start_times: _Optional[_Iterable[float]] = ..., values: _Optional[_Iterable[float]] = ..., sample_counts: _Optional[_Iterable[int]] = ...) -> None: ...
