"""Notice a SQLite database file deleted or replaced under a running process, instead of losing what it writes since.

A process keeps writing to the file it opened even once that file is unlinked: every
write is answered as stored, and the next start opens (or makes) whatever is at the path
then, without any of it. See FileWatch; `autoscale.database.Database` keeps one per
SQLite file, and the server looks at it periodically to turn health NOT_SERVING.
"""

from __future__ import annotations

import os
from typing import Any

from autoscale.errors import Unavailable


class DatabaseFileGone(Unavailable):
    """The SQLite file this process opened is no longer at its path; what it wrote since would be lost on restart."""


class FileWatch:
    """Compares the identity (device, inode) of the file the first connection opened with what the path names now.

    `check()` looks (a stat, about a microsecond) and remembers the first time the file is
    gone: it stays gone, since nothing can link the opened file back. `refuse_if_gone()`
    only reads what was remembered, for the hottest paths.
    """

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._identity: tuple[int, int] | None = None
        self._gone: str | None = None

    def record(self) -> None:
        """Called once a connection opened the file: the first call remembers which file that is."""
        if self._identity is None:
            stat = os.stat(self.path)
            self._identity = (stat.st_dev, stat.st_ino)

    def check(self) -> str | None:
        """Why the file is gone (deleted or replaced since it was first opened), or None while it is in place."""
        if self._gone is None and self._identity is not None:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                stat = None
            if stat is None or (stat.st_dev, stat.st_ino) != self._identity:
                self._gone = (
                    f"the database file {self.path} was deleted or replaced while the service ran; calls are refused, "
                    "since what they wrote would be lost on restart: restore the file and restart the service"
                )
        return self._gone

    def refuse_if_gone(self) -> None:
        """DatabaseFileGone if an earlier check found the file gone (no look at the file itself)."""
        if self._gone is not None:
            raise DatabaseFileGone(self._gone)

    def require(self) -> None:
        """DatabaseFileGone unless the file is in place now."""
        reason = self.check()
        if reason is not None:
            raise DatabaseFileGone(reason)

    def before_connect(self, *_arguments: Any) -> None:
        """A new connection (SQLAlchemy's do_connect event): refused once the file is gone, before SQLite would
        make an empty file at the path."""
        if self._identity is not None:
            self.require()

    def after_connect(self, *_arguments: Any) -> None:
        """A connection was opened (SQLAlchemy's connect event): remember the file if it is the first."""
        self.record()
