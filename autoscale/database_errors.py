"""Which database errors mean "not now": the database could not be used just now, and a retry may succeed.

Apart from autoscale.database so that the error choke point (autoscale.errors) can tell
them without importing the database layer, which itself raises the domain errors.
"""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy as sa

_UNAVAILABLE_ERRORS = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database could not be used just now (server gone, connection cut, pool or lock busy): a
    retry may succeed.

    NOTE: statements run through the driver's own cursor (Database.tuples, Prepared, driver_statement) raise the
    driver's exceptions, not SQLAlchemy's, so both kinds are listed.
    """
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _UNAVAILABLE_ERRORS)
