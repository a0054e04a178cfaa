"""What an audit event is, and which resource a call named (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

MAX_RESOURCE_CHARS = 512

_COLLECTIONS = {"launch_config_id": "launchConfigs", "group_id": "groups", "policy_id": "policies", "alarm_id": "alarms"}
"""The collection of the resource a Create names by its id field."""


@dataclass(frozen=True)
class AuditEvent:
    """One call of a user that may change something."""

    project: str
    time: float
    principal: str
    method: str
    resource: str
    code: str
    id: int = 0


def request_of(method: str, payload: object) -> Message | None:
    """The request of `method` (/package.Service/Method), read from its bytes when the handler takes bytes; None when it
    cannot be read (the handler says why to the caller)."""
    if isinstance(payload, Message):
        return payload
    if not isinstance(payload, bytes):
        return None
    service, _, name = method.strip("/").partition("/")
    try:
        descriptor = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name).input_type
        request = message_factory.GetMessageClass(descriptor)()
        request.ParseFromString(payload)
    except (KeyError, DecodeError):
        return None
    return request


def resource_of(request: Message | None) -> str:
    """The resource a request names: its `name` or `parent`, the `{collection}/{id}` a Create names, or the name of the
    resource an Update carries; empty when it names none."""
    if request is None:
        return ""
    fields = {field.name: value for field, value in request.ListFields()}
    found = ""
    for key in ("name", "parent"):
        if isinstance(fields.get(key), str) and fields[key]:
            found = fields[key]
            break
    else:
        for key, collection in _COLLECTIONS.items():
            if isinstance(fields.get(key), str) and fields[key]:
                found = f"{collection}/{fields[key]}"
                break
        else:
            for value in fields.values():
                name = getattr(value, "name", None) if isinstance(value, Message) else None
                if isinstance(name, str) and name:
                    found = name
                    break
    return found[:MAX_RESOURCE_CHARS]
