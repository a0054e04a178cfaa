"""UpdateAlarm's semantics: which fields an update_mask changes, and the alarm message that results.

A mask may name a whole field (`threshold_rule`, `alarm_actions`, ...) or one field
of the rule (`threshold_rule.threshold`, `prometheus_rule.query`, `gnocchi_rule.resource_query`). The named fields
are copied from the request onto the stored alarm, and the result is validated as a
whole, as on create. A mask that names one rule kind (whole or a field of it) and
not another switches the alarm to that kind: the rule of the other kind is dropped.
A mask naming `webhook_secret` (output only: nothing to copy) asks for a new secret;
an empty mask never does.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message

from autoscale.v1 import alarm_pb2
from autoscale.validation import Violations, quoted

UPDATABLE_FIELDS = (
    "description", "threshold_rule", "prometheus_rule", "gnocchi_rule", "composite_rule", "alarm_actions", "ok_actions",
    "insufficient_data_actions", "repeat_actions", "disabled", "datapoints_to_alarm", "treat_missing_data",
)
"""Fields of Alarm an update may name; an empty mask means all of them."""

RULE_FIELDS = {
    "threshold_rule": tuple(field.name for field in alarm_pb2.ThresholdRule.DESCRIPTOR.fields),
    "prometheus_rule": tuple(field.name for field in alarm_pb2.PrometheusRule.DESCRIPTOR.fields),
    "gnocchi_rule": tuple(field.name for field in alarm_pb2.GnocchiRule.DESCRIPTOR.fields),
    "composite_rule": tuple(field.name for field in alarm_pb2.CompositeRule.DESCRIPTOR.fields),
}
"""Each rule kind's field of Alarm, and the fields of it a mask may name as `<kind>.<field>`."""

OUTPUT_ONLY_FIELDS = frozenset({"name", "state", "state_reason", "state_time", "create_time", "evaluate_time", "owner"})
"""Fields of Alarm a mask may name to no effect."""

NEW_SECRET_PATH = "webhook_secret"
"""The path that makes a new webhook secret (the old one stops signing at once)."""


def mask_paths(violations: Violations, paths: Iterable[str]) -> list[str]:
    """The paths of an update_mask that change something (all updatable fields for an empty mask); unknown ones are violations."""
    paths = list(paths)
    if not paths:
        return list(UPDATABLE_FIELDS)
    known = []
    for path in paths:
        head, _, rest = path.partition(".")
        if path in UPDATABLE_FIELDS or path == NEW_SECRET_PATH or rest in RULE_FIELDS.get(head, ()):
            known.append(path)
        elif path not in OUTPUT_ONLY_FIELDS:
            violations.add(
                "update_mask",
                f"unknown field {quoted(path)}; updatable fields are {', '.join(UPDATABLE_FIELDS)}, threshold_rule.<field> "
                f"prometheus_rule.<field>, gnocchi_rule.<field> and composite_rule.<field>, "
                f"and {NEW_SECRET_PATH} makes a new secret",
            )
    return known


def merged(current: alarm_pb2.Alarm, requested: alarm_pb2.Alarm, paths: list[str]) -> alarm_pb2.Alarm:
    """`current` with the fields named by `paths` taken from `requested`."""
    result = alarm_pb2.Alarm()
    result.CopyFrom(current)
    for path in paths:
        head, _, rest = path.partition(".")
        if path == NEW_SECRET_PATH:
            continue  # made by the server, never copied
        if rest:
            _copy_field(getattr(requested, head), getattr(result, head), rest)
        else:
            _copy_field(requested, result, head)
    named = {path.partition(".")[0] for path in paths} & RULE_FIELDS.keys()
    if len(named) == 1:
        # A switch of kind: the rule of any other kind goes (with an empty mask, every kind is named: the request says).
        for kind in RULE_FIELDS.keys() - named:
            result.ClearField(kind)
    return result


def _copy_field(source: Message, target: Message, name: str) -> None:
    descriptor = source.DESCRIPTOR.fields_by_name[name]
    target.ClearField(name)
    if descriptor.message_type is not None and not descriptor.is_repeated:
        if source.HasField(name):
            getattr(target, name).CopyFrom(getattr(source, name))
    elif descriptor.is_repeated:
        container = getattr(target, name)
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            container.update(getattr(source, name))
        else:
            container.extend(getattr(source, name))
    else:
        setattr(target, name, getattr(source, name))
