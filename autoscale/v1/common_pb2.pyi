from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class AdjustmentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADJUSTMENT_TYPE_UNSPECIFIED: _ClassVar[AdjustmentType]
    ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY: _ClassVar[AdjustmentType]
    ADJUSTMENT_TYPE_EXACT_CAPACITY: _ClassVar[AdjustmentType]
    ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY: _ClassVar[AdjustmentType]

class Statistic(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATISTIC_UNSPECIFIED: _ClassVar[Statistic]
    STATISTIC_AVERAGE: _ClassVar[Statistic]
    STATISTIC_MINIMUM: _ClassVar[Statistic]
    STATISTIC_MAXIMUM: _ClassVar[Statistic]
    STATISTIC_SUM: _ClassVar[Statistic]
    STATISTIC_SAMPLE_COUNT: _ClassVar[Statistic]
ADJUSTMENT_TYPE_UNSPECIFIED: AdjustmentType
ADJUSTMENT_TYPE_CHANGE_IN_CAPACITY: AdjustmentType
ADJUSTMENT_TYPE_EXACT_CAPACITY: AdjustmentType
ADJUSTMENT_TYPE_PERCENT_CHANGE_IN_CAPACITY: AdjustmentType
STATISTIC_UNSPECIFIED: Statistic
STATISTIC_AVERAGE: Statistic
STATISTIC_MINIMUM: Statistic
STATISTIC_MAXIMUM: Statistic
STATISTIC_SUM: Statistic
STATISTIC_SAMPLE_COUNT: Statistic
