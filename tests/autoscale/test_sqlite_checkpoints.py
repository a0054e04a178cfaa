"""SQLite's checkpoints on a thread of their own: commits leave the copy to it, and a busy log still starts again."""

import shutil
import sqlite3
import time

import sqlalchemy as sa

from autoscale.database import Database
from autoscale.sqlite_checkpoints import Checkpointer


def _rows_in_the_database_file_alone(path, copy) -> int:  # type: ignore[no-untyped-def]
    """Rows of t in the database file without its write-ahead log (what checkpoints copied into it)."""
    shutil.copyfile(path, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not even the table is there yet
    finally:
        connection.close()


def test_commits_leave_copying_the_write_ahead_log_to_a_checkpointing_thread(tmp_path):
    path = tmp_path / "wal.db"
    # Checkpoints an hour apart: whatever reaches the database file, a commit copied.
    database = Database(f"sqlite:///{path}", checkpoint_interval=3600)
    try:
        with database.transaction() as connection:
            connection.execute(sa.text("CREATE TABLE t (n INTEGER, filler BLOB)"))
        for start in range(0, 3000, 100):  # some 3000 pages of log: SQLite's own commits copy past 1000
            with database.transaction() as connection:
                connection.execute(sa.text("INSERT INTO t VALUES (:n, randomblob(4000))"), [{"n": n} for n in range(start, start + 100)])
        assert _rows_in_the_database_file_alone(path, tmp_path / "copy1.db") == 0
    finally:
        database.dispose()
    database = Database(f"sqlite:///{path}", checkpoint_interval=0.05)
    try:
        with database.transaction() as connection:  # the first write starts the checkpointing thread
            connection.execute(sa.text("INSERT INTO t VALUES (3000, NULL)"))
        deadline = time.monotonic() + 10
        while _rows_in_the_database_file_alone(path, tmp_path / "copy2.db") < 3001 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _rows_in_the_database_file_alone(path, tmp_path / "copy2.db") == 3001
    finally:
        database.dispose()


def test_a_write_ahead_log_that_writers_keep_appending_to_still_starts_again_from_its_beginning(tmp_path, monkeypatch):
    monkeypatch.setattr(Checkpointer, "RESTART_FRAMES", 64)
    monkeypatch.setattr(Checkpointer, "HELD_FRAMES", 16)
    path = tmp_path / "busy.db"
    database = Database(f"sqlite:///{path}", checkpoint_interval=0.02)
    try:
        with database.transaction() as connection:
            connection.execute(sa.text("CREATE TABLE t (n INTEGER, filler BLOB)"))
        written = 0
        while written < 20_000:  # some 80 MB of pages through the log, written without a pause
            with database.transaction() as connection:
                connection.execute(sa.text("INSERT INTO t VALUES (:n, randomblob(4000))"), [{"n": n} for n in range(50)])
                connection.execute(sa.text("DELETE FROM t"))
            written += 50
        # Without a restart the log would hold every page written (copied or not); it holds a few rounds' worth.
        assert (tmp_path / "busy.db-wal").stat().st_size < 20 * 1024 * 1024
    finally:
        database.dispose()
