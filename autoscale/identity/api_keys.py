"""API keys, for clouds without Keystone: what a key is, how it is made, read back from a token, and checked.

A key reads `ask_<id>_<secret>`: the id is public (listed, revoked, named in audits),
the secret is 256 random bits shown once when the key is made. Only a salted SHA-256 of
the secret is stored. NOTE: a plain salted hash, not a slow password hash (scrypt,
argon2): those slow down guessing a low-entropy password, and a 256-bit random secret
cannot be guessed however fast the hash; a slow hash would cost every call instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from autoscale.errors import InvalidArgument
from autoscale.identity.caller import Caller, Role

KEY_PREFIX = "ask"
"""The first part of every key ("autoscale key"), so that a secret scanner, and a person, can tell one."""

ID_BYTES = 6
SECRET_BYTES = 32
SALT_BYTES = 16


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: everything but its secret."""

    id: str
    project: str
    """The project its callers act in; empty for a service key (it acts in the project its peer calls name)."""
    role: Role
    service: bool
    """A key of the mesh's own services (`autoscale keys create --service`): its calls may name their project."""
    salt: str
    secret_hash: str
    create_time: float
    expire_time: float | None
    revoke_time: float | None
    description: str = ""

    def refusal(self, now: float) -> str | None:
        """Why the key cannot be used at `now` (revoked, expired), or None when it can."""
        if self.revoke_time is not None and self.revoke_time <= now:
            return "the API key was revoked"
        if self.expire_time is not None and self.expire_time <= now:
            return "the API key has expired"
        return None

    def caller(self) -> Caller:
        """The caller this key authenticates."""
        return Caller(principal=f"key:{self.id}", project=self.project, role=self.role, service=self.service)


def hash_secret(salt: str, secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def new_key(
    *, project: str, role: Role, service: bool, now: float, expire_time: float | None, description: str = ""
) -> tuple[ApiKey, str]:
    """A new key and its token (`ask_<id>_<secret>`), which is shown once and never stored."""
    key_id = secrets.token_hex(ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    salt = secrets.token_hex(SALT_BYTES)
    key = ApiKey(
        id=key_id, project=project, role=role, service=service, salt=salt, secret_hash=hash_secret(salt, secret),
        create_time=now, expire_time=expire_time, revoke_time=None, description=description,
    )
    return key, f"{KEY_PREFIX}_{key_id}_{secret}"


def parse_token(token: str) -> tuple[str, str] | None:
    """The (id, secret) of a token shaped as a key, or None when it is no key (a Keystone token, say)."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != 2 * ID_BYTES or not secret:
        return None
    return key_id, secret


def secret_matches(key: ApiKey, secret: str) -> bool:
    """Whether `secret` is the key's (compared in constant time)."""
    return hmac.compare_digest(hash_secret(key.salt, secret), key.secret_hash)


PROJECT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""A project's name or id (Keystone's are 32 hex digits)."""
PROJECT_RULE = "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"


def check_project(project: str) -> None:
    """ValueError unless `project` can name a project."""
    if not PROJECT_PATTERN.fullmatch(project):
        raise ValueError(f"{project!r} is not a project: {PROJECT_RULE}")


def parse_project_name(field_path: str, name: str, suffix: str = "") -> str:
    """The project of `projects/{project}{suffix}`; InvalidArgument naming the field otherwise."""
    prefix = "projects/"
    project = name[len(prefix):len(name) - len(suffix)] if name.startswith(prefix) and name.endswith(suffix) else ""
    if not PROJECT_PATTERN.fullmatch(project):
        raise InvalidArgument.field(field_path, f"{name[:100]!r} is not a valid name; expected projects/{{project}}{suffix}")
    return project
