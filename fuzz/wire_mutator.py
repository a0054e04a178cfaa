"""A structure-aware mutation of protobuf wire bytes: the fuzz target checks each input and one such variant of it.

Why: the native reader takes only the canonical encoding, and where it and protobuf could
part is in the encodings around it: padded (non-minimal) varints in tags, lengths and
values, fields repeated or dropped. Byte-level mutations rarely make one of those while
keeping every enclosing length right; this parses the input into its fields, changes one
field's encoding, and serializes it again with the lengths fixed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
MAX_VARINT_BYTES = 11
"""Padding goes up to one byte past the ten a varint may take, so that too long ones are made too."""


@dataclass
class WireField:
    """One field as encoded: its number, wire type, value and the padding of its varints."""

    number: int
    wire_type: int
    value: int | bytes | list[WireField]
    """VARINT: the number; FIXED64, FIXED32: the bytes; LENGTH_DELIMITED: the fields when the bytes parse as a message, else the bytes."""
    tag_padding: int = 0
    """Bytes the tag's varint takes beyond the fewest."""
    varint_padding: int = 0
    """Bytes a VARINT's value or a LENGTH_DELIMITED's length takes beyond the fewest."""


def encode_varint(value: int, padding: int = 0) -> bytes:
    """`value` as a varint, padded with `padding` more bytes (continuation bits over zero digits)."""
    digits = []
    while True:
        digits.append(value & 0x7F)
        value >>= 7
        if not value:
            break
    digits += [0] * padding
    return bytes(digit | 0x80 for digit in digits[:-1]) + bytes([digits[-1]])


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _read_varint(data: bytes, position: int) -> tuple[int, int, int] | None:
    """The varint at `position`: its value, its padding and where it ends; None when it does not end within MAX_VARINT_BYTES."""
    value = shift = 0
    for end in range(position, min(position + MAX_VARINT_BYTES, len(data))):
        byte = data[end]
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, end + 1 - position - _varint_size(value), end + 1
    return None


def parse(data: bytes) -> list[WireField] | None:
    """`data` as fields, nested where a length-delimited value parses as a message; None when it is no message."""
    fields = []
    position = 0
    while position < len(data):
        tag = _read_varint(data, position)
        if tag is None or tag[0] >> 3 == 0:
            return None
        (number, wire_type), tag_padding, position = divmod(tag[0], 8), tag[1], tag[2]
        value: int | bytes | list[WireField]
        padding = 0
        if wire_type == VARINT:
            varint = _read_varint(data, position)
            if varint is None:
                return None
            value, padding, position = varint
        elif wire_type in (FIXED64, FIXED32):
            size = 8 if wire_type == FIXED64 else 4
            if position + size > len(data):
                return None
            value, position = data[position : position + size], position + size
        elif wire_type == LENGTH_DELIMITED:
            length = _read_varint(data, position)
            if length is None or length[2] + length[0] > len(data):
                return None
            payload = data[length[2] : length[2] + length[0]]
            padding, position = length[1], length[2] + length[0]
            value = (parse(payload) or payload) if payload else payload
        else:
            return None
        fields.append(WireField(number, wire_type, value, tag_padding, padding))
    return fields


def serialize(fields: list[WireField]) -> bytes:
    """The fields as wire bytes, each length counted again."""
    out = bytearray()
    for field in fields:
        out += encode_varint(field.number << 3 | field.wire_type, field.tag_padding)
        if isinstance(field.value, int):
            out += encode_varint(field.value, field.varint_padding)
            continue
        payload = serialize(field.value) if isinstance(field.value, list) else field.value
        if field.wire_type == LENGTH_DELIMITED:
            out += encode_varint(len(payload), field.varint_padding)
        out += payload
    return bytes(out)


def _every_field(fields: list[WireField]) -> list[tuple[list[WireField], int]]:
    """Each field of the message and of the messages in it, as (the list holding it, its index there)."""
    found = []
    for index, field in enumerate(fields):
        found.append((fields, index))
        if isinstance(field.value, list):
            found += _every_field(field.value)
    return found


def mutate(data: bytes, generator: random.Random) -> bytes | None:
    """`data` with one field's encoding changed (a varint padded or unpadded, the field repeated or dropped); None if no message."""
    fields = parse(data)
    if not fields:
        return None
    holder, index = generator.choice(_every_field(fields))
    field = holder[index]
    change = generator.randrange(4)
    if change == 0:
        field.tag_padding = generator.randrange(MAX_VARINT_BYTES - _varint_size(field.number << 3) + 1)
    elif change == 1 and field.wire_type in (VARINT, LENGTH_DELIMITED):
        field.varint_padding = generator.randrange(6)
    elif change == 2:
        holder.insert(index + 1, replace(field))
    else:
        del holder[index]
    return serialize(fields)
