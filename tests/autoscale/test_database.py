import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import sqlalchemy as sa

from autoscale import database as database_module
from autoscale.database import Database
from autoscale.database_errors import is_unavailable
from autoscale.sqlite_file_watch import DatabaseFileGone
from tests.support import FakeClock


def _delay_of_a_waiting_writer(database: Database, hold: float) -> float:
    """Seconds between one writer's commit and the first write of the writer that waited for it."""
    held, committed, entered = threading.Event(), [0.0], [0.0]

    def first() -> None:
        with database.transaction() as session:
            session.execute(sa.text("INSERT INTO t VALUES (1)"))
            held.set()
            time.sleep(hold)
        committed[0] = time.perf_counter()

    def second() -> None:
        with database.transaction() as session:
            session.execute(sa.text("INSERT INTO t VALUES (2)"))
            entered[0] = time.perf_counter()

    writers = [threading.Thread(target=first), threading.Thread(target=second)]
    writers[0].start()
    assert held.wait(5)
    writers[1].start()
    for writer in writers:
        writer.join(10)
    return entered[0] - committed[0]


def test_a_writer_that_waits_for_another_goes_in_as_soon_as_that_one_commits(sqlite_url):
    database = Database(sqlite_url)
    try:
        with database.transaction() as session:
            session.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        # SQLite's own busy handler would look again only 20-30 ms after a 0.2 s hold.
        delays = [_delay_of_a_waiting_writer(database, 0.2) for _ in range(3)]
        assert statistics.median(delays) < 0.01
        with database.reader() as session:
            assert session.scalar(sa.text("SELECT count(*) FROM t")) == 6
    finally:
        database.dispose()


class _RecordingLock:
    """A writers' lock that records, for the threads named first and second, when they ask for it, hold it and let it go."""

    def __init__(self, events: list[str], second_asked: threading.Event) -> None:
        self._lock = threading.RLock()
        self._events = events
        self._second_asked = second_asked

    def _record(self, what: str) -> None:
        name = threading.current_thread().name
        if name in ("first", "second"):
            self._events.append(f"{name} {what}")

    def __enter__(self) -> None:
        self._record("asks")
        if threading.current_thread().name == "second":
            self._second_asked.set()
        self._lock.acquire()
        self._record("holds")

    def __exit__(self, *_: object) -> None:
        self._record("lets go")
        self._lock.release()


def test_databases_of_one_sqlite_file_share_their_writers_queue(sqlite_url, monkeypatch):
    events: list[str] = []
    held, second_asked, release = threading.Event(), threading.Event(), threading.Event()
    # The lock every Database of this file takes: the same one, or the second never asks this one for it.
    monkeypatch.setattr(database_module, "_WRITE_LOCKS", {sqlite_url: _RecordingLock(events, second_asked)})
    first, second = Database(sqlite_url), Database(sqlite_url)
    try:
        with first.transaction() as session:
            session.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        sa.event.listen(second.engine, "checkout", lambda *_: events.append("second opens a transaction"))

        def hold_then_commit() -> None:
            with first.transaction() as session:
                session.execute(sa.text("INSERT INTO t VALUES (1)"))
                events.append("first wrote")
                held.set()
                release.wait(5)

        def write() -> None:
            with second.transaction() as session:
                session.execute(sa.text("INSERT INTO t VALUES (2)"))
                events.append("second wrote")

        holder, writer = threading.Thread(target=hold_then_commit, name="first"), threading.Thread(target=write, name="second")
        holder.start()
        assert held.wait(5)
        writer.start()
        assert second_asked.wait(5)
        release.set()
        for thread in (holder, writer):
            thread.join(10)
        # The second writer queued behind the first in this process: it did not even open its transaction (to wait in
        # SQLite's busy handler) before the first let go.
        assert events == [
            "first asks", "first holds", "first wrote", "second asks", "first lets go",
            "second holds", "second opens a transaction", "second wrote", "second lets go",
        ]
        with first.reader() as session:
            assert session.scalars(sa.text("SELECT n FROM t ORDER BY n")).all() == [1, 2]
    finally:
        first.dispose()
        second.dispose()


def test_a_driver_statement_commits_on_its_own_and_leaves_its_connection_as_it_found_it(database_url):
    database = Database(database_url)
    try:
        with database.transaction() as connection:
            connection.execute(sa.text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        mark = database.placeholder
        assert database.driver_statement(f"INSERT INTO t VALUES ({mark}) RETURNING n", (1,)) == [(1,)]
        assert database.driver_statement(f"INSERT INTO t VALUES ({mark})", (2,)) == []
        with pytest.raises(Exception, match="(?i)unique|duplicate"):
            database.driver_statement(f"INSERT INTO t VALUES ({mark})", (1,))
        # Every pooled connection still runs transactions: a failing one leaves nothing behind.
        for _ in range(3):
            with pytest.raises(RuntimeError), database.transaction() as connection:
                connection.execute(sa.text("INSERT INTO t VALUES (3)"))
                raise RuntimeError("the caller fails mid-transaction")
        with database.reader() as connection:
            assert connection.scalars(sa.text("SELECT n FROM t ORDER BY n")).all() == [1, 2]
    finally:
        database.dispose()


def _terminate_backend(killer: sa.Engine, pid: int) -> None:
    """End a PostgreSQL server process, as a server restart or an operator would, and wait (at most 5 s) until it has exited."""
    with killer.connect() as connection:
        ended = connection.scalar(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    assert ended, f"the server process {pid} did not exit within 5 s of being told to"


def _wait_until_running(killer: sa.Engine, pid: int, statement: str) -> None:
    """Wait (at most 5 s) until the server process `pid` is running `statement`."""
    deadline = time.monotonic() + 5
    while True:
        with killer.connect() as connection:  # a transaction of its own: each sees the server's activity anew
            row = connection.execute(
                sa.text("SELECT state, query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).one_or_none()
        if row is not None and tuple(row) == ("active", statement):
            return
        assert time.monotonic() < deadline, f"the server process {pid} is not running {statement!r} after 5 s: {row}"
        time.sleep(0.01)


@pytest.fixture
def pool_clock(monkeypatch) -> FakeClock:  # type: ignore[no-untyped-def]
    """The clock by which the database module measures how long a pooled connection has rested, moved by hand."""
    clock = FakeClock()
    monkeypatch.setattr(database_module, "time", SimpleNamespace(monotonic=clock))
    return clock


@pytest.fixture
def killer(postgres_url):
    """A separate engine that ends the server processes of the database under test."""
    engine = sa.create_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_a_driver_statement_whose_connection_breaks_reports_its_own_error_and_the_next_gets_a_sound_connection(postgres_url, killer):
    database = Database(postgres_url)
    try:
        ((victim,),) = database.driver_statement("SELECT pg_backend_pid()", ())
        failures: list[BaseException] = []

        def sleep_on_the_victim() -> None:
            try:
                database.driver_statement("SELECT pg_sleep(5)", ())
            except Exception as error:  # the statement fails when its server process is terminated
                failures.append(error)

        sleeper = threading.Thread(target=sleep_on_the_victim)
        sleeper.start()
        _wait_until_running(killer, victim, "SELECT pg_sleep(5)")
        _terminate_backend(killer, victim)
        sleeper.join(10)
        # The server's own reason, not the driver's complaint about the connection afterwards.
        assert len(failures) == 1 and "terminating connection" in str(failures[0]), failures
        assert database.driver_statement("SELECT 1", ()) == [(1,)]
    finally:
        database.dispose()


@pytest.mark.postgres
def test_pooled_connections_that_died_while_resting_are_replaced_without_failing_a_statement(postgres_url, killer, pool_clock):
    database = Database(postgres_url)
    try:
        ((victim,),) = database.driver_statement("SELECT pg_backend_pid()", ())
        _terminate_backend(killer, victim)
        pool_clock.advance(database_module.PING_AFTER_IDLE)
        ((replacement,),) = database.driver_statement("SELECT pg_backend_pid()", ())
        assert replacement != victim
        _terminate_backend(killer, replacement)
        pool_clock.advance(database_module.PING_AFTER_IDLE)
        with database.transaction() as connection:
            assert connection.scalar(sa.text("SELECT 1")) == 1
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_is_checked_only_once_it_has_rested(postgres_url, pool_clock, monkeypatch):
    database = Database(postgres_url)
    dialect = database.engine.dialect
    pings: list[object] = []
    ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda connection: pings.append(connection) or ping(connection))
    try:
        for _ in range(5):
            database.driver_statement("SELECT 1", ())
        assert pings == []  # a new connection, then one just returned
        pool_clock.advance(database_module.PING_AFTER_IDLE / 2)
        database.driver_statement("SELECT 1", ())
        assert pings == []  # it rested half the while
        pool_clock.advance(database_module.PING_AFTER_IDLE)
        with database.transaction() as connection:
            connection.execute(sa.text("SELECT 1"))
        assert len(pings) == 1
    finally:
        database.dispose()


def test_a_prepared_statement_runs_in_the_transaction_it_is_given_and_binds_its_parameters_by_name(database_url):
    database = Database(database_url)
    table = sa.table("prepared_t", sa.column("n"), sa.column("s"))
    try:
        with database.transaction() as connection:
            connection.execute(sa.text("CREATE TABLE prepared_t (n INTEGER, s TEXT)"))
        insert = database.prepare(sa.insert(table).values(n=sa.bindparam("n"), s=sa.bindparam("s")).returning(table.c.n))
        rename = database.prepare(sa.update(table).where(table.c.n == sa.bindparam("n")).values(s=sa.bindparam("new")))
        first = database.prepare(sa.select(table.c.s).where(table.c.n >= sa.bindparam("n")).order_by(table.c.n).limit(1))
        with database.transaction() as connection:
            assert insert.rows(connection, s="a", n=1) == [(1,)]
            assert insert.rows(connection, n=2, s="b") == [(2,)]
        with pytest.raises(RuntimeError), database.transaction() as connection:
            assert rename.rowcount(connection, n=2, new="lost") == 1
            raise RuntimeError("rolled back with the rest of its transaction")
        with database.transaction() as connection:
            assert rename.rowcount(connection, n=1, new="c") == 1
            assert rename.rowcount(connection, n=9, new="nobody") == 0
        with database.reader() as connection:
            # The LIMIT it was built with is bound as built.
            assert first.rows(connection, n=0) == [("c",)]
            assert first.rows(connection, n=0)[0].s == "c"  # its fields named after the statement's columns
            assert first.rows(connection, n=2) == [("b",)]
            with pytest.raises(TypeError, match="no value for n"):
                first.rows(connection)
    finally:
        with database.transaction() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS prepared_t"))
        database.dispose()


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")), True),
        (sa.exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
        (sa.exc.DBAPIError("SELECT 1", {}, Exception("SSL SYSCALL error"), connection_invalidated=True), True),
        (sa.exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached"), True),
        (psycopg.OperationalError("terminating connection due to administrator command"), True),
        (sqlite3.OperationalError("database is locked"), True),
        (sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (psycopg.errors.UndefinedTable("relation does not exist"), False),
        (ValueError("Value out of range"), False),
    ],
)
def test_only_errors_of_a_database_that_could_not_be_used_just_now_are_unavailable(error, unavailable):
    assert is_unavailable(error) is unavailable


@pytest.fixture
def sqlite_file_database(tmp_path) -> Iterator[tuple[Database, Path]]:  # type: ignore[no-untyped-def]
    """A SQLite database with a table `t` holding one row, and the path of its file."""
    path = tmp_path / "file.db"
    database = Database(f"sqlite:///{path}")
    with database.transaction() as connection:
        connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    try:
        yield database, path
    finally:
        database.dispose()


def test_a_sqlite_file_in_place_is_not_missing(sqlite_file_database):
    database, _ = sqlite_file_database
    assert database.watches_a_file
    assert database.missing_file() is None
    with database.reader() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM t")) == 1


def test_a_sqlite_file_deleted_under_a_database_fails_the_next_commit_and_then_every_read_and_write(sqlite_file_database):
    database, path = sqlite_file_database
    path.unlink()
    with pytest.raises(DatabaseFileGone, match=f"the database file {path} was deleted or replaced"), database.transaction() as connection:
        connection.execute(sa.text("INSERT INTO t VALUES (2)"))
    assert database.missing_file() is not None
    with pytest.raises(DatabaseFileGone):
        database.driver_statement("INSERT INTO t VALUES (?)", (3,))
    with pytest.raises(DatabaseFileGone), database.reader():
        pass
    assert not path.exists()


def test_a_sqlite_file_replaced_under_a_database_is_missing(sqlite_file_database, tmp_path):
    database, path = sqlite_file_database
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    with other.transaction() as connection:
        connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    other.dispose()
    (tmp_path / "other.db").replace(path)
    assert "was deleted or replaced" in (database.missing_file() or "")


def test_no_new_connection_is_opened_once_the_sqlite_file_is_gone_so_no_empty_file_takes_its_place(sqlite_file_database):
    database, path = sqlite_file_database
    database.engine.dispose()  # the next statement needs a new connection
    path.unlink()
    with pytest.raises(DatabaseFileGone), database.engine.connect():
        pass
    assert not path.exists()


def test_a_postgresql_database_has_no_file_to_miss(postgres_url):
    database = Database(postgres_url)
    try:
        assert not database.watches_a_file
        assert database.missing_file() is None
    finally:
        database.dispose()


MIGRATING_PROCESS = """
import sys
from autoscale.audit.store import AuditLog
from autoscale.database import Database
from autoscale.identity.key_store import KeyStore
from autoscale.quotas.limits import default_limits
from autoscale.quotas.store import QuotaStore

database = Database(sys.argv[1])
with database.engine.connect():
    pass
print("ready", flush=True)
sys.stdin.readline()
try:
    # The tables every process of a deployment migrates, whichever service it serves.
    KeyStore(database)
    AuditLog(database)
    QuotaStore(database, lambda: 0.0, default_limits(1))
    print("migrated", flush=True)
finally:
    database.dispose()
"""


def test_processes_that_start_at_once_on_one_database_all_migrate_it(database_url):
    # Services deployed apart share the deployment's database and may start together (an orchestrator starts them so).
    repository = Path(__file__).parents[2]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATING_PROCESS, database_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(repository)},
        )
        for _ in range(3)
    ]
    try:
        for process in processes:  # each connected, so that their migrations begin as close together as they can
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=60)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert all(output.strip() == "migrated" for output in outputs), outputs
