"""Process-wide tuning of a long-running server, applied once its services are built.

CPython's cyclic garbage collector runs a young collection every 700 container
allocations and, every so often, a full one that walks every tracked object. A
server holds millions of long-lived objects (the metrics head and catalogue, the
alarm index, imported modules), so during a sweep or a burst of ingest the full
collections walked them again and again: they took a third of the sweep of 10 000
alarms (1.5 s before this tuning, 1.07 s after; bench/alarm_scale.py). Objects alive once the services
are built are moved out of the collector's sight (`gc.freeze`), and collections run
less often. Reference counting still frees every acyclic object at once; only
cyclic garbage waits longer, and it is bounded by the thresholds.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_ALLOCATIONS = 10_000
"""Net container allocations between two young collections (CPython's default is 700).

NOTE: a young collection walks about this many objects and holds every thread the while: at 50 000
it took ~10 ms, and a firing it met reached Adjust in 16-25 ms instead of 5 (bench/reaction.py, a
gc.callbacks probe beside it); at 10 000 it takes about 2 ms, and the sweep and ingest measured the same.
"""

YOUNG_COLLECTIONS_PER_MIDDLE = 20
MIDDLE_COLLECTIONS_PER_FULL = 10


def hold_garbage_collector() -> None:
    """Stop collecting while the services are built (settle_garbage_collector starts again).

    NOTE: what they build on start (the metrics head and catalogue, the alarm index) lives on, and the
    full collections its allocations set off walked it again and again: 1.4 s of the start of a
    mesh holding 100 000 series, for no garbage.
    """
    gc.disable()


def settle_garbage_collector() -> None:
    """Collect once, keep what is alive now out of later collections, and collect less often from now on."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, YOUNG_COLLECTIONS_PER_MIDDLE, MIDDLE_COLLECTIONS_PER_FULL)
    gc.enable()
