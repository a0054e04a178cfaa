"""The native reader of time series from wire bytes (autoscale/_wire.c), where it was built.

It is built with the package when a C compiler is at hand; where it is not, NATIVE
is None and the services read every request through protobuf (slower, the same answers).
"""

from __future__ import annotations

from types import ModuleType


def _load() -> ModuleType | None:
    try:
        from autoscale import _wire  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _wire  # type: ignore[no-any-return]


NATIVE: ModuleType | None = _load()


def describe() -> str:
    """Which reader the services use, for the start-up log."""
    return "native" if NATIVE is not None else "protobuf (the native reader was not built)"
