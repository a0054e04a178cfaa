"""SQLite's write-ahead log copied into the database file by a thread of its own, not by a commit.

See Checkpointer; `autoscale.database.Database` runs one per SQLite file it writes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import AbstractContextManager

from autoscale.workers import PeriodicWorker

CHECKPOINT_INTERVAL = 0.5
"""Seconds between two copies of a SQLite database's write-ahead log into its file."""

log = logging.getLogger(__name__)


class Checkpointer:
    """Copies a SQLite database's write-ahead log into the database file every CHECKPOINT_INTERVAL, from a thread.

    PASSIVE checkpoints wait for no reader or writer, and the driver lets go of the GIL while
    SQLite copies and syncs, so neither the writers nor the rest of the process wait for them.
    But a log that writers keep appending to is never copied to its end, and only a log copied to
    its end starts again from its beginning: it would grow without bound (1.6 GB in 20 s of
    ingest). So once it is longer than RESTART_FRAMES, the copy is brought near its end while
    writers go on, and finished with this process's writers held (`write_lock`): the next writer
    then starts the log again. That holds the writers 1-13 ms (the last pages and the file's sync),
    at most once a round and only under heavy writes (at 1.2 M points/s of ingest the log stayed
    under 100 MB). Started by the first write; stopped by `stop` (the last connection to close
    checkpoints what is left).
    """

    RESTART_FRAMES = 4096
    """Pages of log (16 MB of 4 KB pages) past which the log is made to start again."""

    HELD_FRAMES = 256
    """Pages of log left to copy at most once the writers are held (the rest is copied while they write)."""

    WRITER_WAIT_LIMIT = 0.1
    """Seconds a writer waits at most for the writers to be let go (see before_write)."""

    def __init__(self, path: str, interval: float, write_lock: AbstractContextManager[object]) -> None:
        self._path = path
        self._interval = interval
        self._write_lock = write_lock
        self._lock = threading.Lock()
        self._stopped = False
        self._worker: PeriodicWorker | None = None
        self._connection: sqlite3.Connection | None = None
        self._writers_may_go = threading.Event()
        self._writers_may_go.set()

    def before_write(self) -> None:
        """Called by each writer before it takes the write lock: starts the thread, and waits while the writers are held.

        NOTE: the lock is not fair: a thread writing without a pause would take it again each
        time before the checkpointer could, and the log would grow. So the checkpointer closes
        this gate first. A writer waits at most WRITER_WAIT_LIMIT: one nested in another on its
        thread (which holds the lock the checkpointer waits for) then goes on, and fails as
        SQLite would (busy), rather than hang.
        """
        if self._worker is None:
            self._start()
        if not self._writers_may_go.is_set():
            self._writers_may_go.wait(self.WRITER_WAIT_LIMIT)

    def _start(self) -> None:
        with self._lock:
            if self._worker is None and not self._stopped:
                self._worker = PeriodicWorker("sqlite-checkpoint", self._interval, self._round, first_after=self._interval)
                self._worker.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            worker = self._worker
        if worker is not None:
            worker.stop()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One round: copy the log and, when it is long, have it start again."""
        frames = self._passive(connection)
        if frames < self.RESTART_FRAMES:
            return
        # Each copy takes in what was written during the one before (a few times faster than it is written).
        for _ in range(4):
            later = self._passive(connection)
            if later < frames:
                return  # the log started again meanwhile
            appended, frames = later - frames, later
            if appended <= self.HELD_FRAMES:
                break
        self._writers_may_go.clear()
        try:
            with self._write_lock:
                self._passive(connection)
        finally:
            self._writers_may_go.set()

    @staticmethod
    def _passive(connection: sqlite3.Connection) -> int:
        """A PASSIVE checkpoint (it copies what it can without waiting); how many pages the log holds."""
        _, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames)

    def _round(self) -> None:
        try:
            if self._connection is None:
                # mode=rw: a database file deleted meanwhile is not made anew.
                self._connection = sqlite3.connect(f"file:{self._path}?mode=rw", uri=True, check_same_thread=False)
            self.checkpoint(self._connection)
        except sqlite3.Error as error:
            # Busy or gone: the next round tries again (SQLite keeps the log meanwhile; nothing is lost).
            log.debug("checkpoint of %s failed: %s", self._path, error)
