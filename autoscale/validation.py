"""Field rules shared by every service: ids, resource names, enums, free text.

A `Violations` collects every broken rule of a request so that the caller learns
all of them at once, then raises one `InvalidArgument`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from autoscale.errors import FieldViolation, InvalidArgument, shortened
from autoscale.netguard import AddressGuard
from autoscale.outbound_url import UnsafeUrl, parse_outbound_url

ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
QUOTED_VALUE_BYTES = 64
"""UTF-8 bytes of a caller's value that a violation quotes back (the caller has the rest)."""

ID_RULE = "must match ^[a-z][a-z0-9-]{0,62}$ (a lower-case letter, then up to 62 lower-case letters, digits or '-')"


MAX_REQUEST_ID_LENGTH = 255
"""Characters of a request_id (what makes a retried call that changes capacity a no-op)."""

MAX_CAUSE_LENGTH = 1024
"""Characters of a cause (of an Adjust, of an ExecutePolicy) at most; AWS keeps an activity's cause to 1023."""


def quoted(value: str) -> str:
    """A caller's value as a violation quotes it: in quotes, shortened, so that a huge value does not crowd out the rule."""
    return repr(shortened(value, QUOTED_VALUE_BYTES))


@dataclass
class Violations:
    """Collects field violations; `raise_if_any` raises them as one InvalidArgument."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        """Record that `field_path` breaks the rule `description`."""
        self.items.append(FieldViolation(field_path, description))

    def check(self, ok: bool, field_path: str, description: str) -> bool:
        """Record a violation unless `ok`; returns `ok`."""
        if not ok:
            self.add(field_path, description)
        return ok

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Raise InvalidArgument with every violation recorded, if any."""
        if self.items:
            raise InvalidArgument(self.items)


def check_id(violations: Violations, field_path: str, value: str) -> None:
    """A caller-chosen id: ^[a-z][a-z0-9-]{0,62}$."""
    if not value:
        violations.add(field_path, "is required; " + ID_RULE)
    elif not ID_PATTERN.match(value):
        violations.add(field_path, f"{quoted(value)} {ID_RULE}")


def parse_name(field_path: str, name: str, collection: str) -> str:
    """Return the id of `{collection}/{id}`, or raise InvalidArgument naming the field."""
    prefix = collection + "/"
    if not name:
        raise InvalidArgument.field(field_path, f"is required; expected {collection}/{{id}}")
    if not name.startswith(prefix) or not ID_PATTERN.match(name[len(prefix):]):
        raise InvalidArgument.field(
            field_path, f"{quoted(name)} is not a valid name; expected {collection}/{{id}} with {{id}} that {ID_RULE}"
        )
    return name[len(prefix):]


def try_parse_name(violations: Violations, field_path: str, name: str, collection: str) -> str | None:
    """Like parse_name, recording the violation instead of raising."""
    try:
        return parse_name(field_path, name, collection)
    except InvalidArgument as error:
        violations.items.extend(error.violations)
        return None


def check_enum(violations: Violations, field_path: str, value: int, enum_type: EnumTypeWrapper) -> None:
    """An enum field that must be set to a known value other than *_UNSPECIFIED."""
    known = _known_numbers(enum_type.DESCRIPTOR.full_name, enum_type)
    if value in known and value != 0:
        return
    if value == 0:
        violations.add(field_path, f"is required; one of {', '.join(enum_type.keys()[1:])}")
    elif value not in known:
        violations.add(field_path, f"{value} is not a known value; one of {', '.join(enum_type.keys()[1:])}")


_KNOWN_NUMBERS: dict[str, frozenset[int]] = {}


def _known_numbers(full_name: str, enum_type: EnumTypeWrapper) -> frozenset[int]:
    # Batches validate thousands of enum fields; the set of an enum's numbers is built once.
    known = _KNOWN_NUMBERS.get(full_name)
    if known is None:
        known = _KNOWN_NUMBERS[full_name] = frozenset(v.number for v in enum_type.DESCRIPTOR.values)
    return known


def check_finite(violations: Violations, field_path: str, value: float) -> None:
    """A number that must be finite (no NaN or infinity)."""
    violations.check(math.isfinite(value), field_path, f"must be a finite number, got {value}")


def check_action_target(violations: Violations, field_path: str, target: str, guard: AddressGuard) -> None:
    """An alarm action: `policies/{id}`, or an http(s) URL that keeps the rules of `autoscale.outbound_url` and, when its
    host is an IP literal, names an address `guard` permits (a name is judged by what it resolves to when called)."""
    if target.startswith("policies/"):
        if not ID_PATTERN.match(target[len("policies/"):]):
            violations.add(field_path, f"{quoted(target)} is not a valid policy name; expected policies/{{id}} with {{id}} that {ID_RULE}")
        return
    if "://" not in target:
        violations.add(field_path, f"{quoted(target)} must be policies/{{id}} or an http(s) URL")
        return
    try:
        url = parse_outbound_url(target)
    except UnsafeUrl as error:
        violations.add(field_path, f"{quoted(target)} {error}")
        return
    refusal = None if url.literal is None else guard.refusal(url.literal)
    if refusal is not None:
        violations.add(
            field_path,
            f"{quoted(target)} names {url.literal}, {refusal}: a webhook reaches only public addresses unless the operator "
            "allows its network (--webhook-allow)",
        )


def check_text(violations: Violations, field_path: str, text: str, max_length: int) -> None:
    """Free text of at most `max_length` characters."""
    violations.check(len(text) <= max_length, field_path, f"must be at most {max_length} characters long, got {len(text)}")


def check_text_list(
    violations: Violations,
    field_path: str,
    items: Sequence[str],
    *,
    max_items: int,
    max_item_length: int,
    max_total_length: int | None = None,
) -> None:
    """A list of free text (a command, networks): at most `max_items`, each bounded, and all together when
    `max_total_length` is given."""
    violations.check(len(items) <= max_items, field_path, f"must hold at most {max_items} items, got {len(items)}")
    for position, item in enumerate(items):
        check_text(violations, f"{field_path}[{position}]", item, max_item_length)
    if max_total_length is not None:
        total = sum(map(len, items))
        violations.check(total <= max_total_length, field_path, f"must take at most {max_total_length} characters in all, got {total}")


def check_text_map(
    violations: Violations,
    field_path: str,
    entries: Mapping[str, str],
    *,
    max_entries: int,
    max_key_length: int,
    max_value_length: int,
    max_total_length: int | None = None,
) -> None:
    """A map of free text (tags, env, metadata): at most `max_entries`, each key and value bounded, and all the keys and
    values together when `max_total_length` is given."""
    violations.check(len(entries) <= max_entries, field_path, f"must hold at most {max_entries} entries, got {len(entries)}")
    total = 0
    for key, value in entries.items():
        violations.check(len(key) <= max_key_length, field_path, f"key {quoted(key)} must be at most {max_key_length} characters long")
        violations.check(
            len(value) <= max_value_length, field_path, f"the value of {quoted(key)} must be at most {max_value_length} characters long"
        )
        total += len(key) + len(value)
    if max_total_length is not None:
        violations.check(
            total <= max_total_length, field_path, f"must take at most {max_total_length} characters in all (keys and values), got {total}"
        )


def within_cause_limit(text: str) -> str:
    """A cause a service writes from longer text (an alarm's reason, a policy's name around its caller's cause), cut to
    MAX_CAUSE_LENGTH characters and ending in "…" when cut, so that the call it goes into keeps the rule."""
    return text if len(text) <= MAX_CAUSE_LENGTH else text[: MAX_CAUSE_LENGTH - 1] + "…"


def check_request_id(violations: Violations, request_id: str) -> None:
    """A request_id fits its column."""
    violations.check(
        len(request_id) <= MAX_REQUEST_ID_LENGTH, "request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters long"
    )


def check_update_mask(
    violations: Violations, paths: Iterable[str], updatable: Sequence[str], output_only: Collection[str]
) -> frozenset[str]:
    """The `updatable` fields an update_mask names (all of them for an empty mask); paths naming `output_only` fields change
    nothing, unknown paths are violations."""
    paths = list(paths)
    if not paths:
        return frozenset(updatable)
    for path in paths:
        if path not in updatable and path not in output_only:
            violations.add("update_mask", f"unknown field {quoted(path)}; updatable fields are {', '.join(updatable)}")
    return frozenset(path for path in paths if path in updatable)
