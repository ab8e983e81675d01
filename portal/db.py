"""Database wiring: one engine per app, read and write sessions, SQLite tuned for concurrency.

Leadshelf uses *synchronous* SQLAlchemy everywhere. Web handlers that touch
the database are sync handlers run in Litestar's thread pool; the tracking
pipeline's group commit runs in one writer thread that request coroutines
await. See README, "Architecture decisions".

SQLite is opened in WAL mode with a busy timeout, foreign keys on and full
sync. Write sessions start with ``BEGIN IMMEDIATE``, so a writer takes the
write lock up front and waits for it (busy_timeout) instead of failing later
with "database is locked" when it upgrades a read lock; while another writer holds the lock
it tries again every millisecond (``take_write_lock``). Read sessions use a
plain deferred ``BEGIN`` and never block writers (WAL).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 40
"""SQLite connections kept open: one per web worker thread (anyio's default limit)."""
WRITE_LOCK_POLL = 0.001
"""Seconds between two tries of a SQLite writer waiting for the write lock."""
_WRITE_OPTION = "leadshelf_write"


class ReadOnlySessionError(RuntimeError):
    """A read session tried to flush changes; use ``Database.write()`` for writes."""


class Database:
    """The app's engine and session factories."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = _create_engine(url, echo=echo, is_sqlite=self.is_sqlite)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        event.listen(self._read_sessions, "before_flush", _refuse_flush)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; it never writes and never holds the write lock."""
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed on success, rolled back on error."""
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction (migrations, bulk work)."""
        with self._write_engine.begin() as connection:
            yield connection

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str, *, echo: bool, is_sqlite: bool) -> Engine:
    # Connections are kept for the web's worker threads (anyio's 40 at most): beyond the kept
    # ones every checkout opened a connection and closed it on return, and on SQLite that
    # churn took a quarter of a gated asset page under load. PostgreSQL keeps 20 of its 30.
    if not is_sqlite:
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=20, max_overflow=10)
        event.listen(engine, "connect", _configure_postgresql_connection)
        return engine
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=10,
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_postgresql_connection(dbapi_connection: Any, _record: Any) -> None:
    # Python lists go as binary arrays: psycopg's text arrays escape every string with a
    # regular expression, a quarter of the event writer's CPU (``tracking.pipeline.bulk``).
    from psycopg.types.array import ListBinaryDumper  # only PostgreSQL needs psycopg

    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module so that the
    # "begin" listener below decides between deferred and IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys=ON",
        "PRAGMA synchronous=FULL",
    ):
        cursor.execute(pragma)
    cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    if not connection.get_execution_options().get(_WRITE_OPTION, False):
        connection.exec_driver_sql("BEGIN")
        return
    take_write_lock(connection.connection.dbapi_connection)


def take_write_lock(dbapi_connection: Any, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> None:
    """``BEGIN IMMEDIATE``, trying again every millisecond while another writer holds the lock.

    SQLite's own busy handler sleeps in growing steps (up to 100 ms) between tries, so a writer
    that commits and begins again at once (a scheduler pass, an import) keeps the lock from a
    waiting beacon for its whole run; polling finely lets the waiter in at the holder's next
    commit or pause. The busy timeout is off only for this statement."""
    deadline = time.monotonic() + timeout
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(WRITE_LOCK_POLL)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlySessionError("changes made in a read session; use Database.write()")
