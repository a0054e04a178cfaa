"""What a cached token check costs: a server's per-call check of a bearer token it has checked before, in process.

What is timed is `caller_of(authenticator, method, metadata)`, what a server's AuthInterceptor
does for each call before its handler runs: read the bearer token from the call's metadata,
authenticate it, and check the caller's role for the method (GetGroup, a reader's).

- API key (`--auth keys`): the authenticator `identity_for` builds for `--auth keys` over a
  SQLite database holding the key (as a server has it: the usable keys read into memory,
  refreshed by a worker not running here). A check is parsing the key, a lookup of its id,
  its expiry and revocation, a salted SHA-256 of its secret compared in constant time.
- Keystone token (`--auth keystone`): the same through `KeysOrKeystone` and a
  `KeystoneAuthenticator` whose cache holds the token: SHA-256 of the token, the cache's
  lookup under its lock, the validation's expiry and role. No Keystone runs: the
  authenticator's `validate` (its request to Keystone) is replaced by a canned validation,
  asked once to fill the cache before the timing; the timed checks never ask it (counted,
  and an error otherwise). So this is the cache-hit path only, what every call of a token
  in use costs between two validations (`revalidate_after`, a minute by default).

Each figure is the median, over BATCHES batches of CHECKS_PER_BATCH checks timed with
time.perf_counter(), of a batch's time per check.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autoscale.config import Settings
from autoscale.database import Database
from autoscale.identity.api_keys import new_key
from autoscale.identity.caller import Caller, Role
from autoscale.identity.deployment import KeysOrKeystone, identity_for
from autoscale.identity.interceptor import AUTHORIZATION_METADATA, caller_of
from autoscale.identity.key_authenticator import ApiKeyAuthenticator
from autoscale.identity.key_store import KeyStore
from autoscale.identity.keystone import KeystoneAuthenticator, Validation
from autoscale.timeutil import system_clock
from bench import harness
from bench.harness import BenchResult, Figure

METHOD = "/autoscale.v1.GroupService/GetGroup"
"""The method the checks are for (a reader's: the role check passes)."""
PROJECT = "bench"
CHECKS_PER_BATCH = 1000
BATCHES = {True: 30, False: 300}
"""Batches timed, by quick."""
TARGET_US = 50.0
"""A cached token check must cost less than this many microseconds (issue 15)."""
UNREACHABLE_KEYSTONE = "http://127.0.0.1:9/v3"
"""The Keystone the stubbed authenticator names; nothing is ever sent there."""


class KeystoneWithoutKeystone(KeystoneAuthenticator):
    """A KeystoneAuthenticator whose validation (the request to Keystone) answers `validation`, counting the asks."""

    def __init__(self, validation: Validation) -> None:
        super().__init__(UNREACHABLE_KEYSTONE, clock=system_clock)
        self._validation = validation
        self.asked = 0

    def validate(self, token: str) -> Validation:
        self.asked += 1
        return self._validation


def time_checks(check: Callable[[], Any], batches: int) -> list[float]:
    """Seconds per check of each of `batches` batches of CHECKS_PER_BATCH calls of `check` (after a warm-up batch)."""
    for _ in range(CHECKS_PER_BATCH):
        check()
    samples = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(CHECKS_PER_BATCH):
            check()
        samples.append((time.perf_counter() - start) / CHECKS_PER_BATCH)
    return samples


def api_key_check(database: Database) -> Callable[[], Caller]:
    """One cached check of a member key of PROJECT by the authenticator of `--auth keys`, over `database` holding it."""
    key, token = new_key(project=PROJECT, role=Role.MEMBER, service=False, now=system_clock(), expire_time=None)
    KeyStore(database).add(key)
    identity = identity_for(Settings(auth="keys", database_url=database.url), database, system_clock, remote_peers=[])
    assert isinstance(identity.authenticator, ApiKeyAuthenticator)
    return _check(identity.authenticator, token)


def keystone_check(database: Database) -> tuple[Callable[[], Caller], KeystoneWithoutKeystone]:
    """One cached check of a Keystone token (a member's of PROJECT) through `--auth keystone`'s authenticator (its
    service keys in `database`), Keystone stubbed (see the module); and the stub, which counts the validations asked."""
    keys = ApiKeyAuthenticator(KeyStore(database), system_clock, service_keys_only=True)
    validation = Validation(
        user_id="0123456789abcdef0123456789abcdef", user_name="bench", project_id=PROJECT, expires_at=system_clock() + 3600,
        caller=Caller(principal="user:0123456789abcdef0123456789abcdef", project=PROJECT, role=Role.MEMBER),
    )
    keystone = KeystoneWithoutKeystone(validation)
    # A Fernet token's shape and length (about 180 URL-safe characters starting gAAAAA).
    token = "gAAAAA" + secrets.token_urlsafe(132)
    return _check(KeysOrKeystone(keys, keystone), token), keystone


def _check(authenticator: Any, token: str) -> Callable[[], Caller]:
    metadata = ((AUTHORIZATION_METADATA, f"Bearer {token}"),)

    def check() -> Caller:
        caller = caller_of(authenticator, METHOD, metadata)
        assert caller is not None
        return caller

    assert check().project == PROJECT
    return check


def report(result: BenchResult, workdir: Path, quick: bool) -> None:
    """Time both checks and add their figures to `result`."""
    batches = BATCHES[quick]
    workdir.mkdir(parents=True, exist_ok=True)
    database = Database(f"sqlite:///{workdir / 'keys.db'}")
    try:
        keys = time_checks(api_key_check(database), batches)
        check, keystone = keystone_check(database)
        asked_before = keystone.asked
        tokens = time_checks(check, batches)
    finally:
        database.dispose()
    if keystone.asked != asked_before:
        raise RuntimeError(f"the timed Keystone checks asked for {keystone.asked - asked_before} validations: not the cache's path")
    for name, samples in (
        ("cached API-key check (in process: metadata → caller, role checked)", keys),
        ("cached Keystone token check (in process, cache hit; Keystone stubbed, asked once before the timing)", tokens),
    ):
        median_us = harness.percentile(samples, 0.5) * 1e6
        result.add(
            Figure(
                name=name, value=round(median_us, 2), unit="µs", target=f"< {TARGET_US:g} µs", met=median_us < TARGET_US,
                details={
                    "checks": CHECKS_PER_BATCH * batches, "batches": batches, "checks_per_batch": CHECKS_PER_BATCH,
                    "batch_p10_us": round(harness.percentile(samples, 0.1) * 1e6, 2),
                    "batch_p90_us": round(harness.percentile(samples, 0.9) * 1e6, 2),
                    "batch_max_us": round(max(samples) * 1e6, 2), "method": METHOD,
                },
            )
        )
