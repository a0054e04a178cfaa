"""`--auth keys`: callers authenticated by API keys, checked in memory against the key store's usable keys.

The usable keys are read from the store every `refresh_interval` (a revoked key stops
working within it), and again when a token names a key not held yet (one made a moment
ago), at most every `miss_refresh_interval`, so that tokens naming made-up keys cannot
make every call a query.
"""

from __future__ import annotations

import threading

from autoscale.errors import Unauthenticated
from autoscale.identity.api_keys import ApiKey, parse_token, secret_matches
from autoscale.identity.caller import Caller
from autoscale.identity.key_store import KeyStore
from autoscale.timeutil import Clock

REFRESH_INTERVAL = 1.0
"""Seconds between two reads of the usable keys: how long a revoked key may still be accepted."""

MISS_REFRESH_INTERVAL = 0.25
"""Seconds at least between two reads caused by tokens naming a key not held."""

REFUSED = "the API key is unknown, revoked or expired"


class ApiKeyAuthenticator:
    """Authenticates `ask_...` tokens against the key store (and the keys this process trusts without storing them)."""

    def __init__(
        self,
        store: KeyStore,
        clock: Clock,
        *,
        trusted: tuple[ApiKey, ...] = (),
        service_keys_only: bool = False,
        miss_refresh_interval: float = MISS_REFRESH_INTERVAL,
    ) -> None:
        self._store = store
        self._clock = clock
        self._trusted = {key.id: (key, key.caller()) for key in trusted}
        self._service_keys_only = service_keys_only
        self._miss_refresh_interval = miss_refresh_interval
        self._keys: dict[str, tuple[ApiKey, Caller]] = dict(self._trusted)
        self._last_refresh = float("-inf")
        self._refreshing = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Read the usable keys again (the periodic refresh, and a miss)."""
        with self._refreshing:
            now = self._clock()
            usable = self._store.usable(now)
            keys = {key_id: (key, key.caller()) for key_id, key in usable.items() if key.service or not self._service_keys_only}
            keys.update(self._trusted)
            self._keys, self._last_refresh = keys, now

    def authenticate(self, token: str | None) -> Caller:
        if token is None:
            raise Unauthenticated("this call needs credentials: metadata 'authorization: Bearer <API key>'")
        parsed = parse_token(token)
        if parsed is None:
            raise Unauthenticated("the bearer token is not an API key (ask_...)")
        key_id, secret = parsed
        held = self._keys.get(key_id)
        now = self._clock()
        if held is None and now - self._last_refresh >= self._miss_refresh_interval:
            self.refresh()
            held = self._keys.get(key_id)
        if held is None:
            raise Unauthenticated(REFUSED)
        key, caller = held
        if key.refusal(now) is not None or not secret_matches(key, secret):
            raise Unauthenticated(REFUSED)
        return caller
