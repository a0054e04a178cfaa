"""How a call's bearer token becomes a Caller: one Authenticator per `--auth` mode."""

from __future__ import annotations

from typing import Protocol

from autoscale.identity.caller import Caller, Role

ANONYMOUS_PRINCIPAL = "anonymous"
"""Who a caller is when authentication is off."""


class Authenticator(Protocol):
    """Turns a bearer token (None: the call carried none) into its Caller, or raises Unauthenticated."""

    def authenticate(self, token: str | None) -> Caller:
        """The caller `token` stands for; Unauthenticated when it stands for none (missing, unknown, expired, revoked)."""
        ...


class NoAuthentication:
    """`--auth none` (loopback, or --insecure): every caller is trusted with everything, in the default project unless its
    call names one (as peers do)."""

    def __init__(self, default_project: str) -> None:
        self._caller = Caller(principal=ANONYMOUS_PRINCIPAL, project=default_project, role=Role.ADMIN, service=True)

    def authenticate(self, token: str | None) -> Caller:
        return self._caller
