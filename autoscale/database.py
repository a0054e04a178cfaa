"""Database access shared by the services: engines, transactions, migrations.

Each service owns its tables and its own alembic history (version table
`alembic_version_<service>`), so the four services can share one database (as in
`autoscale up`) or each have their own.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVarTuple, cast

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.elements import DQLDMLClauseElement

from autoscale.config import ConfigurationError
from autoscale.sqlite_checkpoints import CHECKPOINT_INTERVAL, Checkpointer
from autoscale.sqlite_file_watch import FileWatch

SUPPORTED_DATABASES = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
"""The URLs of the two databases autoscale runs on, as a message shows them."""

Columns = TypeVarTuple("Columns")

def _configure_sqlite(engine: Engine, begin: str, autocheckpoint: bool) -> None:
    # NOTE: pysqlite's own transaction handling defers BEGIN and never takes the
    # write lock early; taking it ourselves (BEGIN IMMEDIATE) avoids the
    # read-then-write upgrade that fails at once with "database is locked".
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        # Through the driver: SQLAlchemy's execution of the BEGIN cost half of a small transaction.
        _driver_connection(connection.connection).execute(begin)


def check_database_url(url: str) -> None:
    """ConfigurationError unless `url` names SQLite or PostgreSQL through a driver that is installed.

    NOTE: SQLAlchemy would fail later, deep in the first connection, with an import error.
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError(f"--database-url {url!r} is not a database URL; write e.g. {SUPPORTED_DATABASES}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"--database-url {shown}: {parsed.get_backend_name()} is not a database autoscale runs on; use {SUPPORTED_DATABASES}"
        )
    try:
        parsed.get_dialect().import_dbapi()
    except (ImportError, sa.exc.NoSuchModuleError):
        raise ConfigurationError(
            f"--database-url {shown}: the driver {parsed.drivername} is not installed; use {SUPPORTED_DATABASES}"
        ) from None


def create_engine(url: str, *, sqlite_begin: str = "BEGIN IMMEDIATE", sqlite_autocheckpoint: bool = True) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and explicit BEGINs (and no automatic checkpoints if told).

    ConfigurationError for a URL of another database, a driver not installed, or a SQLite file whose
    directory cannot be made.
    """
    check_database_url(url)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            directory = Path(url[len("sqlite:///"):]).parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                reason = "a file of that name is in the way" if isinstance(error, FileExistsError) else error.strerror
                raise ConfigurationError(
                    f"cannot create the directory {directory} of the SQLite database ({reason}); "
                    "make it writable or give --database-url another place"
                ) from None
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, sqlite_begin, sqlite_autocheckpoint)
        return engine
    engine = sa.create_engine(url, pool_size=10, max_overflow=20)
    _ping_connections_idle_for(engine, PING_AFTER_IDLE)
    return engine


MIGRATION_LOCK_KEY = 0x6175746F7363616C  # "autoscal"
"""The PostgreSQL advisory lock every migration of every service holds (one for all: migrations take milliseconds)."""


PING_AFTER_IDLE = 0.5
"""Seconds a pooled connection may rest before it is checked (a round trip) on its way out of the pool."""


def _ping_connections_idle_for(engine: Engine, idle: float) -> None:
    """Check a pooled connection on checkout once it has rested `idle` seconds, as HikariCP's alive-bypass window does.

    NOTE: SQLAlchemy's pool_pre_ping checks every checkout: a round trip, and a twentieth of the
    Python time of an ingest batch on PostgreSQL. A connection checked in a moment ago had just
    answered. A failed check invalidates the pool (the server restarted, so every pooled
    connection is gone) and the checkout goes on with a new connection.
    """

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
        returned = record.info.get("returned_at")  # none: a new connection (info is cleared on reconnect)
        if returned is None or time.monotonic() - returned < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.InvalidatePoolError(f"a pooled connection failed its check: {error}") from error


class Database:
    """One database: a write path (serialised on SQLite) and a read path."""

    def __init__(self, url: str, *, checkpoint_interval: float = CHECKPOINT_INTERVAL) -> None:
        self.url = url
        self._is_sqlite = url.startswith("sqlite")
        # NOTE: SQLite lets one writer in at a time; one that finds the lock taken sleeps in SQLite's busy
        # handler (1, 2, 5, 10 ms... before it looks again), which put milliseconds of idle time into
        # ingest and into each write of the sample → Adjust chain. The writers of this process queue
        # here instead, and the next goes in as soon as the last commits.
        self._write_lock: AbstractContextManager[object] = _write_lock(url) if self._is_sqlite else nullcontext()
        # NOTE: SQLite copies its write-ahead log into the database file in the commit that finds the log
        # long (1000 pages), and that commit lasted milliseconds longer, with every writer waiting: a
        # transition or a claim of the sample → Adjust chain among them. A thread copies it instead.
        path = sa.engine.make_url(url).database if self._is_sqlite else None
        file_path = path if path and path != ":memory:" else None
        self._checkpointer = Checkpointer(file_path, checkpoint_interval, self._write_lock) if file_path is not None else None
        self.engine = create_engine(url, sqlite_autocheckpoint=self._checkpointer is None)
        # On SQLite, readers must not take the write lock, so they get their own pool.
        self._read_engine = create_engine(url, sqlite_begin="BEGIN", sqlite_autocheckpoint=False) if self._is_sqlite else self.engine
        self._file_watch = FileWatch(file_path) if file_path is not None else None
        if self._file_watch is not None:
            for engine in (self.engine, self._read_engine):
                event.listen(engine, "do_connect", self._file_watch.before_connect)
                event.listen(engine, "connect", self._file_watch.after_connect)  # after the PRAGMAs: the file exists

    @property
    def shown_url(self) -> str:
        """The URL as messages show it (without its password)."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @property
    def watches_a_file(self) -> bool:
        """Whether the database is a SQLite file, which `missing_file` can find deleted or replaced."""
        return self._file_watch is not None

    def missing_file(self) -> str | None:
        """Why the SQLite file is no longer the one this process opened (deleted or replaced), or None (also for PostgreSQL).

        Once gone, every transaction, driver statement and reader is refused with DatabaseFileGone (UNAVAILABLE).
        """
        return self._file_watch.check() if self._file_watch is not None else None

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite (some statements differ)."""
        return self._is_sqlite

    @property
    def placeholder(self) -> str:
        """How the driver marks a parameter in plain SQL (`exec_driver_sql`): ? for sqlite3, %s for psycopg."""
        return "?" if self._is_sqlite else "%s"

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A connection whose work is committed on exit (rolled back on error).

        NOTE: a Core connection, not an ORM session: the services use Core tables only, and
        a session's own bookkeeping cost a third of a small transaction (421 → 258 µs).
        """
        if self._checkpointer is not None:
            self._checkpointer.before_write()
        with self._write_lock, self.engine.begin() as connection:
            yield connection
            if self._file_watch is not None:
                self._file_watch.require()  # a stat before the commit: nothing is answered as stored into a deleted file

    def driver_statement(self, statement: str, parameters: Sequence[Any]) -> Sequence[tuple[Any, ...]]:
        """One statement in plain SQL (`placeholder` marks), run through the driver and committed on its own; its rows.

        NOTE: for the hottest single writes only (an ingest batch's log row). SQLAlchemy's session,
        transaction and statement machinery cost three times such a statement on SQLite (409 → 119 µs),
        and on PostgreSQL the statement committing on its own (autocommit) saves the BEGIN and
        COMMIT round trips. It looks whether the SQLite file is gone only as the last check found it (ingest runs
        this for every batch; the server checks the file every second).
        """
        if self._file_watch is not None:
            self._file_watch.refuse_if_gone()
        if self._checkpointer is not None:
            self._checkpointer.before_write()
        with self._write_lock:
            connection = self.engine.raw_connection()
            try:
                driver_connection = _driver_connection(connection)
                if not self._is_sqlite:
                    driver_connection.autocommit = True
                try:
                    cursor = connection.cursor()
                    try:
                        cursor.execute(statement, parameters)
                        return cursor.fetchall() if cursor.description is not None else []
                    finally:
                        cursor.close()
                finally:
                    if not self._is_sqlite:
                        try:
                            driver_connection.autocommit = False
                        except Exception:
                            # The connection broke under the statement: the pool must not lend it again
                            # (and the statement's own error, already on its way, is the one to report).
                            connection.invalidate()
            finally:
                connection.close()

    @contextmanager
    def reader(self) -> Iterator[sa.Connection]:
        """A connection for reads only; nothing it does is committed (closing it rolls back)."""
        if self._file_watch is not None:
            self._file_watch.refuse_if_gone()
        with self._read_engine.connect() as connection:
            yield connection

    def tuples(self, connection: sa.Connection, statement: sa.Select[*tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        """The rows of a SELECT as plain tuples, fetched through the driver's own cursor.

        NOTE: SQLAlchemy builds a Row object per row, which costs more than the query
        itself for reads of thousands of small rows (as a sweep's statistics are).
        """
        compiled = statement.compile(dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
        positions = compiled.positiontup
        values = compiled.params  # NOTE: built anew on each access: once, not once per parameter (10 000 ids: 1.1 s)
        parameters = [values[name] for name in positions] if positions is not None else values
        with _driver_cursor(connection) as cursor:
            cursor.execute(str(compiled), parameters)
            return cursor.fetchall()

    @staticmethod
    def executemany(connection: sa.Connection, statement: str, rows: Sequence[Sequence[Any]]) -> int:
        """A plain-SQL statement (`placeholder` marks) once per row of parameters, in `connection`'s transaction;
        the rows it changed in all (-1 when the driver cannot tell).

        NOTE: through the driver's cursor: SQLAlchemy's execution of even a plain statement costs
        more than storing one row (a transition on the reaction's path stores one).
        """
        with _driver_cursor(connection) as cursor:
            cursor.executemany(statement, rows)
            return cursor.rowcount

    @staticmethod
    def execute_each(connection: sa.Connection, statement: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        """A plain-SQL statement (`placeholder` marks) once per row of parameters, in `connection`'s transaction; how many
        rows each execution changed (a compare-and-set tells which of its rows held)."""
        with _driver_cursor(connection) as cursor:
            changed = []
            for row in rows:
                cursor.execute(statement, row)
                changed.append(cursor.rowcount)
            return changed

    def prepare(self, statement: DQLDMLClauseElement) -> Prepared:
        """`statement` compiled once for this database, to run through the driver (see Prepared)."""
        return Prepared(statement, self.engine.dialect)

    def migrate(self, migrations_dir: Path, service: str) -> None:
        """Upgrade `service`'s tables to the newest revision in `migrations_dir`.

        Processes that start at once on one database (services deployed apart share it) migrate one after the other.
        """
        with self.engine.begin() as connection:
            if not self._is_sqlite:
                # NOTE: PostgreSQL lets two transactions create the same table at once: the second waits for the
                # first, then fails (a duplicate in pg_type). The lock is held until this transaction ends, so the
                # next process finds the tables made. SQLite's BEGIN IMMEDIATE serialises migrations already.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            command.upgrade(alembic_config(migrations_dir, service, connection), "head")

    def hold_lock(self, connection: sa.Connection, name: str) -> None:
        """Serialise the transactions that hold the lock `name` across every process of the database, until this
        transaction ends: a PostgreSQL transaction advisory lock on a key hashed from the name. On SQLite every writing
        transaction is serialised already (BEGIN IMMEDIATE)."""
        if not self._is_sqlite:
            key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def dispose(self) -> None:
        """Stop checkpointing and close every pooled connection."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()


class Prepared:
    """A Core statement compiled once, run with its parameters by name through the driver's own cursor.

    NOTE: for the statements of the sample → Adjust path only. Building a statement, finding its
    compiled form in the cache and running it through SQLAlchemy's execution cost ten times the
    statement itself on SQLite (an execution's first read: 263 → 15 µs). The price: rows come as the
    driver gives them, without SQLAlchemy's result processing (SQLite gives booleans as 0 or 1), and
    parameters go to the driver as they are. The statement's bind parameters (`sa.bindparam`) are
    named; the constants it holds (a LIMIT) are bound as compiled. Rows are named tuples, their
    fields the statement's columns.
    """

    def __init__(self, statement: DQLDMLClauseElement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._defaults = dict(compiled.params)
        self._required = frozenset(name for name, bind in compiled.binds.items() if bind.required)
        # Positional drivers (sqlite3's ?) take a sequence in the statement's order; named ones (psycopg's %(name)s) a mapping.
        self._order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        columns = [column.name for column in getattr(statement, "exported_columns", ())]
        # A class made at run time: the checker knows neither its fields nor its _make.
        row_type = cast(Any, collections.namedtuple("Row", columns, rename=True))
        self._row: Callable[[Iterable[Any]], tuple[Any, ...]] = row_type._make if columns else tuple

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """What the driver is handed for these values (every bind parameter of the statement must have one)."""
        if not self._required <= values.keys():
            raise TypeError(f"no value for {', '.join(sorted(self._required - values.keys()))} in: {self.sql}")
        merged = {**self._defaults, **values}
        return [merged[name] for name in self._order] if self._order is not None else merged

    def rows(self, connection: sa.Connection, **values: Any) -> list[Any]:
        """Run the statement in `connection` (its transaction, if one is begun); its rows (named tuples), if it returns any."""
        with _driver_cursor(connection) as cursor:
            cursor.execute(self.sql, self.parameters(values))
            return list(map(self._row, cursor.fetchall())) if cursor.description is not None else []

    def rowcount(self, connection: sa.Connection, **values: Any) -> int:
        """Run a statement that returns no rows (UPDATE, DELETE) in `connection`; how many rows it touched."""
        with _driver_cursor(connection) as cursor:
            cursor.execute(self.sql, self.parameters(values))
            return cursor.rowcount


def _driver_cursor(connection: sa.Connection) -> closing[DBAPICursor]:
    """A cursor of the driver's own, in `connection`'s transaction, closed on leaving the block."""
    return closing(_driver_connection(connection.connection).cursor())


def _driver_connection(pooled: PoolProxiedConnection) -> DBAPIConnection:
    """The driver's own connection under a pooled one."""
    driver_connection = pooled.dbapi_connection
    # NOTE: None only once the pooled connection is closed or invalidated, and none such is lent out.
    assert driver_connection is not None
    return driver_connection


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(url: str) -> AbstractContextManager[object]:
    """The lock the writers of one SQLite database take in this process (one per URL, shared by every Database of it).

    Reentrant, so that a write nested in another on one thread fails as SQLite would (busy), rather than hang.
    """
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(url, threading.RLock())


def newest_first_page(
    query: sa.Select[*Columns],
    time_column: sa.ColumnElement[Any],
    tie_column: sa.ColumnElement[Any],
    after: Sequence[Any] | None,
    limit: int,
) -> sa.Select[*Columns]:
    """`query` as one page of a list ordered newest first by (time, tie-breaker): the rows after `after`, at most `limit`."""
    if after is not None:
        time, tie = after
        query = query.where(sa.or_(time_column < time, sa.and_(time_column == time, tie_column < tie)))
    return query.order_by(time_column.desc(), tie_column.desc()).limit(limit)


def alembic_config(migrations_dir: Path, service: str, connection: sa.Connection | None = None) -> Config:
    """An alembic Config for one service's migrations, bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["version_table"] = f"alembic_version_{service}"
    config.attributes["connection"] = connection
    return config


def run_alembic_env(context: ModuleType, target_metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only), handed its `alembic.context`."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=context.config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=lambda name, type_, parent: type_ != "table" or name in target_metadata.tables,
    )
    with context.begin_transaction():
        context.run_migrations()


def schema_differences(database: Database, target_metadata: sa.MetaData) -> list[Any]:
    """What differs between the migrated database and the models (empty when they agree)."""
    from alembic.autogenerate import compare_metadata

    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, type_, parent: type_ != "table" or name in target_metadata.tables},
        )
        differences: list[Any] = compare_metadata(context, target_metadata)
        return differences
