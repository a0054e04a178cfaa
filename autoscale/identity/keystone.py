"""`--auth keystone`: a bearer token is a Keystone v3 token, validated by Keystone through keystoneauth1, then cached.

    KeystoneAuthenticator(url, *, clock=time.time, revalidate_after=60.0, max_cached=10_000, timeout=5.0)

- `url`: Keystone's v3 endpoint, e.g. `https://keystone.example:5000/v3` (`/v3` is added when the URL does not end
  in it). A token is validated with `GET {url}/auth/tokens` (X-Subject-Token).
- No service user: each token validates itself (X-Auth-Token = X-Subject-Token), which Keystone's default policy
  allows (`identity:validate_token` includes `rule:token_subject`). A deployment whose policy drops that rule answers
  403: every call is then UNAVAILABLE and the log names the policy.
- Who calls: the principal is the token's user id (its name goes to the log), the project is the token's project id,
  and the role is the strongest of `reader`, `member` and `admin` among the token's roles (Keystone's default roles
  since Rocky; admin implies member implies reader, so a token carries all it implies). Only project-scoped tokens
  are accepted: an unscoped, domain- or system-scoped token is UNAUTHENTICATED, saying a project-scoped one is
  needed. A token with none of the three roles is PERMISSION_DENIED: its user is known, and may do nothing here.
- Cache: a validated token is answered from memory (`max_cached` tokens, the least recently used dropped first)
  until it expires, and for at most `revalidate_after` seconds after its validation; the next call then has it
  validated again. So a revoked token is refused at most `revalidate_after` seconds after its revocation (an
  interval counted from before the validation was asked), and a token that expires is refused from then on.
- Keystone unreachable, slower than `timeout` seconds (twice: a failed connection is tried once more), or answering
  anything but a validation or a refusal: UNAVAILABLE (the caller may retry). A token is never accepted without
  Keystone's word less than `revalidate_after` seconds old.
- Logs name a token by its fingerprint (`token_fingerprint`), never by itself.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from keystoneauth1 import access, session
from keystoneauth1 import exceptions as keystone_errors

from autoscale.errors import PermissionDenied, Unauthenticated, Unavailable
from autoscale.identity.caller import Caller, Role
from autoscale.identity.token_cache import TokenCache, token_fingerprint, token_key
from autoscale.timeutil import Clock, system_clock

log = logging.getLogger(__name__)

DEFAULT_REVALIDATE_AFTER = 60.0
"""Seconds a validation is trusted. Revalidating on the next call after that (rather than in the background) keeps no
raw token in memory, needs no thread, and costs Keystone nothing for tokens no longer used: one validation per token
in use per interval. A minute bounds how long a revoked token still works; keystonemiddleware trusts one for five."""

DEFAULT_MAX_CACHED = 10_000
"""Tokens remembered at most (a few hundred bytes each)."""

DEFAULT_TIMEOUT = 5.0
"""Seconds an attempt to validate may take; a validation is attempted twice at most (`CONNECT_RETRIES`)."""

CONNECT_RETRIES = 1
"""A validation whose connection fails is tried once more, at once: the usual cause is a pooled connection the server
has closed meanwhile (uWSGI's --http-socket closes every one without saying so)."""

CONNECT_RETRY_DELAY = 0.01
"""Seconds before that second attempt (NOTE: keystoneauth1 reads 0 as "back off from half a second")."""

MAX_TOKEN_CHARS = 8192
"""Longer bearer tokens are refused without asking Keystone (Fernet tokens take about 200 characters, JWS ones 800)."""

_TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")
"""What a token may be made of (printable ASCII, no spaces): anything else could not go into an HTTP header."""

NEEDS_PROJECT_SCOPE = "a project-scoped Keystone token is needed: scope the token to the project to act in"


@dataclass(frozen=True)
class Validation:
    """What Keystone said of a token, as this service reads it."""

    user_id: str
    user_name: str
    project_id: str
    expires_at: float
    """Seconds since the epoch."""
    caller: Caller | None
    """None when the token holds none of the roles reader, member, admin."""

    def caller_at(self, now: float) -> Caller:
        """The caller the token stands for at `now`: Unauthenticated once it has expired, PermissionDenied without a role."""
        if now >= self.expires_at:
            raise Unauthenticated("the Keystone token has expired")
        if self.caller is None:
            raise PermissionDenied(
                f"user {self.user_name} ({self.user_id}) has none of the roles reader, member, admin in project {self.project_id}"
            )
        return self.caller


def strongest_role(role_names: list[str]) -> Role | None:
    """The strongest of reader, member and admin among `role_names` (Keystone's), None when none of them is there."""
    roles = [Role[name.upper()] for name in role_names if name.lower() in ("reader", "member", "admin")]
    return max(roles, default=None)


def read_validation(token_info: access.AccessInfo) -> Validation:
    """The validation a token's body (as keystoneauth1 reads it) amounts to; Unauthenticated unless it is project-scoped.

    ValueError when the body lacks what every validated token has (a user, an expiry).
    """
    if not token_info.project_scoped or not token_info.project_id:
        raise Unauthenticated(NEEDS_PROJECT_SCOPE)
    user_id, expires = token_info.user_id, token_info.expires
    if not user_id or expires is None:
        raise ValueError("the token's body names no user or no expiry")
    role = strongest_role(token_info.role_names or [])
    project_id = token_info.project_id
    return Validation(
        user_id=user_id,
        user_name=token_info.username or user_id,
        project_id=project_id,
        expires_at=expires.timestamp(),
        caller=None if role is None else Caller(principal=f"user:{user_id}", project=project_id, role=role),
    )


class KeystoneAuthenticator:
    """Authenticates a call's bearer token with Keystone v3 (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = system_clock,
        revalidate_after: float = DEFAULT_REVALIDATE_AFTER,
        max_cached: int = DEFAULT_MAX_CACHED,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        base = url.rstrip("/")
        self._url = base if base.endswith("/v3") else base + "/v3"
        # The catalog is of no use here, and is most of a validation's body.
        self._tokens_url = self._url + "/auth/tokens?nocatalog"
        self._clock = clock
        self._cache: TokenCache[Validation] = TokenCache(max_cached, revalidate_after)
        self._session = session.Session(timeout=timeout, user_agent="autoscale")

    def authenticate(self, token: str | None) -> Caller:
        if token is None:
            raise Unauthenticated("a Keystone token is needed (authorization: Bearer <token>)")
        key = token_key(token)
        now = self._clock()
        validation = self._cache.get(key, now)
        if validation is None:
            validation = self.validate(token)
            self._cache.put(key, validation, validation.expires_at, now)
        return validation.caller_at(now)

    def validate(self, token: str) -> Validation:
        """Ask Keystone what `token` is (no cache): Unauthenticated when it is no valid project-scoped token,
        Unavailable when Keystone gives no answer."""
        if len(token) > MAX_TOKEN_CHARS or not _TOKEN_CHARACTERS.fullmatch(token):
            raise Unauthenticated("the bearer token cannot be a Keystone token (too long, or with a character no token has)")
        fingerprint = token_fingerprint(token)
        try:
            # NOTE: keystoneauth1 logs each request (tokens hashed) at DEBUG; ours says what matters, and with less.
            response = self._session.get(
                self._tokens_url,
                headers={"X-Auth-Token": token, "X-Subject-Token": token},
                authenticated=False,
                raise_exc=False,
                log=False,
                connect_retries=CONNECT_RETRIES,
                connect_retry_delay=CONNECT_RETRY_DELAY,
            )
        except keystone_errors.ClientException as error:
            log.warning("token %s: Keystone at %s gave no answer: %s", fingerprint, self._url, error)
            raise Unavailable(f"Keystone at {self._url} gave no answer ({type(error).__name__}); try again") from error
        if response.status_code in (401, 404):
            log.info("token %s: Keystone refused it (%d)", fingerprint, response.status_code)
            raise Unauthenticated("the Keystone token is not valid (unknown, expired or revoked)")
        if response.status_code == 403:
            log.error(
                "token %s: Keystone at %s does not let a token validate itself: its policy identity:validate_token must "
                "include rule:token_subject (as it does by default)",
                fingerprint,
                self._url,
            )
            raise Unavailable(f"Keystone at {self._url} refused to validate the token (its policy, see the server's log)")
        if response.status_code != 200:
            log.warning("token %s: Keystone at %s answered %d", fingerprint, self._url, response.status_code)
            raise Unavailable(f"Keystone at {self._url} answered {response.status_code}; try again")
        try:
            validation = read_validation(access.create(body=response.json(), auth_token=token))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            log.error("token %s: Keystone's answer could not be read: %s", fingerprint, error)
            raise Unavailable(f"Keystone at {self._url} gave an answer that could not be read") from error
        log.debug(
            "token %s: user %s (%s) in project %s, %s, until %s",
            fingerprint,
            validation.user_name,
            validation.user_id,
            validation.project_id,
            "no role" if validation.caller is None else validation.caller.role.name.lower(),
            validation.expires_at,
        )
        return validation
