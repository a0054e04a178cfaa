"""How a process authenticates, from its settings: the authenticator, the token it calls its peers with, and the work
that keeps the authenticator current."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from autoscale.config import AUTH_MODES, ConfigurationError, Settings
from autoscale.database import Database
from autoscale.identity.api_keys import new_key, parse_token
from autoscale.identity.authentication import Authenticator, NoAuthentication
from autoscale.identity.caller import Caller, Role
from autoscale.identity.key_authenticator import REFRESH_INTERVAL, ApiKeyAuthenticator
from autoscale.identity.key_store import KeyStore
from autoscale.identity.keystone import KeystoneAuthenticator
from autoscale.timeutil import Clock
from autoscale.workers import PeriodicWorker, Worker

log = logging.getLogger(__name__)


@dataclass
class Identity:
    """What a server needs to authenticate its callers and to be authenticated by its peers."""

    authenticator: Authenticator
    peer_token: str = ""
    workers: list[Worker] = field(default_factory=list)


def identity_for(settings: Settings, database: Database, clock: Clock, *, remote_peers: list[str]) -> Identity:
    """The identity of a process configured by `settings` whose peers at `remote_peers` are served by other processes.

    ConfigurationError for an unknown --auth mode, or when peers elsewhere need a --peer-token that was not given.
    """
    if settings.auth not in AUTH_MODES:
        raise ConfigurationError(f"--auth {settings.auth}: unknown mode; one of {', '.join(AUTH_MODES)}")
    if settings.auth == "none":
        return Identity(NoAuthentication(settings.project), peer_token=settings.peer_token)
    if settings.auth == "keystone" and not settings.keystone_url:
        raise ConfigurationError("--auth keystone needs --keystone-url, Keystone's v3 endpoint (e.g. https://keystone:5000/v3)")
    if remote_peers and not settings.peer_token:
        raise ConfigurationError(
            f"--auth {settings.auth}: the peers at {', '.join(remote_peers)} need this process to call them with a service "
            "key; make one with `autoscale keys create --service` and give it as --peer-token (AUTOSCALE_PEER_TOKEN)"
        )
    # The process's own key lets the services it serves call each other through its port; it lives in memory only.
    own_key, own_token = new_key(project="", role=Role.ADMIN, service=True, now=clock(), expire_time=None,
                                 description="this process")
    keys = ApiKeyAuthenticator(KeyStore(database), clock, trusted=(own_key,), service_keys_only=settings.auth == "keystone")
    refresh = PeriodicWorker("api-key-refresh", REFRESH_INTERVAL, keys.refresh, first_after=REFRESH_INTERVAL)
    authenticator: Authenticator = keys
    if settings.auth == "keystone":
        authenticator = KeysOrKeystone(keys, KeystoneAuthenticator(settings.keystone_url, clock=clock))
        log.info("authentication: Keystone tokens of %s (--auth keystone), and service keys for peers", settings.keystone_url)
    else:
        log.info("authentication: API keys (--auth keys)")
    return Identity(authenticator, peer_token=settings.peer_token or own_token, workers=[refresh])


class KeysOrKeystone:
    """`--auth keystone`: users' Keystone tokens, and the service keys the mesh's own peers call with."""

    def __init__(self, keys: ApiKeyAuthenticator, keystone: KeystoneAuthenticator) -> None:
        self._keys = keys
        self._keystone = keystone

    def authenticate(self, token: str | None) -> Caller:
        if token is not None and parse_token(token) is not None:
            return self._keys.authenticate(token)
        return self._keystone.authenticate(token)
