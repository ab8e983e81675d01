"""Which process runs a singleton job: a PostgreSQL advisory lock, or a lock file on SQLite.

The holder keeps the lock for as long as it lives (it is the leader for that
job); the others ask again every interval. Both kinds of lock die with their
process: PostgreSQL releases a session's advisory locks when its connection
closes, the kernel releases ``flock`` locks when the process exits, so a
killed leader is replaced at the next interval, with no lease to expire.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import zlib
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from portal.background import ProcessLocal, SingletonLocks
from portal.db import Database

logger = logging.getLogger("leadshelf.background")

LOCK_SPACE = 0x4C53  # "LS": the first key of Leadshelf's two-key advisory locks


def locks_for(database: Database) -> SingletonLocks:
    """The singleton locks that fit the database."""
    if not database.is_sqlite:
        return AdvisoryLocks(database.engine)
    name = database.url.database
    if name in (None, "", ":memory:"):
        return ProcessLocal()
    return FileLocks(Path(name).with_name(Path(name).name + ".jobs"))


def lock_key(name: str) -> int:
    """A job's advisory lock key: a stable 31-bit number from its name."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


class AdvisoryLocks:
    """Session-level advisory locks on one connection of this process.

    Each ``hold`` checks the lock is still held (the connection may have been
    dropped, which releases everything) and tries to take it when it is not.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._held: set[str] = set()
        self._refused: set[str] = set()
        self._guard = threading.Lock()

    def hold(self, name: str) -> bool:
        key = lock_key(name)
        with self._guard:
            try:
                connection = self._connect()
                if name in self._held and self._still_held(connection, key):
                    return True
                self._held.discard(name)
                taken = connection.execute(
                    text("SELECT pg_try_advisory_lock(:space, :key)"),
                    {"space": LOCK_SPACE, "key": key},
                ).scalar()
            except Exception:
                self._drop()
                raise
            if taken:
                self._held.add(name)
                _took_over(name, self._refused)
            else:
                self._refused.add(name)
            return bool(taken)

    def release_all(self) -> None:
        with self._guard:
            self._drop()

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.closed or self._connection.invalidated:
            self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._held.clear()
        return self._connection

    @staticmethod
    def _still_held(connection: Connection, key: int) -> bool:
        return bool(
            connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND classid = :space AND objid = :key "
                    "AND objsubid = 2 AND granted)"
                ),
                {"space": LOCK_SPACE, "key": key},
            ).scalar()
        )

    def _drop(self) -> None:
        """Close the connection for good (not back into the pool, where a session's advisory
        locks would live on), which releases every lock it held."""
        self._held.clear()
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # a broken connection: it is gone either way
                logger.debug("closing the lock connection failed", exc_info=True)
            self._connection = None


class FileLocks:
    """One ``flock`` file per job beside the SQLite database (``<db>.jobs.<job>.lock``)."""

    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self._fds: dict[str, int] = {}
        self._refused: set[str] = set()
        self._guard = threading.Lock()

    def path(self, name: str) -> Path:
        slug = "".join(c if c.isalnum() else "-" for c in name.lower())
        return self.prefix.with_name(f"{self.prefix.name}.{slug}.lock")

    def hold(self, name: str) -> bool:
        with self._guard:
            if name in self._fds:
                return True
            fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                self._refused.add(name)
                return False
            self._fds[name] = fd
            _took_over(name, self._refused)
            return True

    def release_all(self) -> None:
        with self._guard:
            for fd in self._fds.values():
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            self._fds.clear()


def _took_over(name: str, refused: set[str]) -> None:
    """Log a takeover (the lock was held elsewhere before); a first start stays quiet."""
    if name in refused:
        refused.discard(name)
        logger.info("this process took over the background job %r", name)
    else:
        logger.debug("this process runs the background job %r", name)
