"""Database wiring: migrations at head, aware UTC datetimes, read/write sessions, many writers."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from content.orm import Base, utcnow
from portal.accounts.models import ApiToken, LoginAttempt, StaffSession
from portal.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_POOL_SIZE,
    Database,
    ReadOnlySessionError,
    take_write_lock,
)
from portal.migrate import (
    current_revision,
    head_revision,
    include_in_comparison,
    upgrade_to_head,
)

THREADS = 8
WRITES_PER_THREAD = 25


def attempt(email: str = "someone@example.com", at: datetime | None = None) -> LoginAttempt:
    return LoginAttempt(email=email, ip="192.0.2.1", succeeded=False, at=at or utcnow())


def store(db: Database, *rows: object) -> None:
    with db.write() as session:
        session.add_all(rows)


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_migrated_database_is_at_head_and_upgrading_again_does_nothing(db: Database) -> None:
    head = head_revision()

    assert head is not None
    assert current_revision(db) == head
    assert upgrade_to_head(db) is False
    assert current_revision(db) == head


def test_the_migrations_build_exactly_the_schema_the_models_declare(db: Database) -> None:
    import portal.app  # noqa: F401  (imports every package's models)

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_in_comparison}
        )
        drift = compare_metadata(context, Base.metadata)
    assert drift == []


def test_fresh_sqlite_database_is_migrated_once(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh' / 'leadshelf.db'}")
    try:
        assert current_revision(database) is None
        assert upgrade_to_head(database) is True
        assert upgrade_to_head(database) is False
        assert current_revision(database) == head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert {"staff_user", "staff_session", "login_attempt", "api_token"} <= tables
    finally:
        database.dispose()


def test_datetimes_come_back_as_aware_utc(db: Database) -> None:
    in_paris_summer = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    store(db, attempt(at=in_paris_summer))

    with db.read() as session:
        stored = session.scalars(select(LoginAttempt.at)).one()

    assert stored == datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        store(db, attempt(at=datetime(2024, 5, 1, 12, 0)))

    assert count(db, LoginAttempt) == 0


def test_read_session_refuses_writes_and_stores_nothing(db: Database) -> None:
    def write_in_a_read_session() -> None:
        with db.read() as session:
            session.add(attempt())
            session.commit()

    with pytest.raises(ReadOnlySessionError):
        write_in_a_read_session()

    assert count(db, LoginAttempt) == 0


def test_failed_write_transaction_rolls_back_entirely(db: Database) -> None:
    def write_then_fail() -> None:
        with db.write() as session:
            session.add(attempt())
            session.add(ApiToken(name="zapier", token_hash="0" * 64))
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()

    assert count(db, LoginAttempt) == 0
    assert count(db, ApiToken) == 0


def test_foreign_keys_are_enforced(db: Database) -> None:
    orphan = StaffSession(id="f" * 64, user_id=987654, expires_at=utcnow() + timedelta(hours=1))

    with pytest.raises(IntegrityError):
        store(db, orphan)

    assert count(db, StaffSession) == 0


def test_reader_sees_committed_data_only_and_is_not_blocked_by_a_writer(db: Database) -> None:
    with db.write() as session:
        session.add(attempt())
        session.flush()
        assert count(db, LoginAttempt) == 0

    assert count(db, LoginAttempt) == 1


def test_concurrent_write_transactions_all_succeed(db: Database) -> None:
    def writer(thread: int) -> None:
        for n in range(WRITES_PER_THREAD):
            with db.write() as session:
                session.scalar(select(func.count()).select_from(LoginAttempt))
                session.add(attempt(email=f"t{thread}-{n}@example.com"))

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(writer, thread) for thread in range(THREADS)]
        for future in futures:
            future.result()  # re-raises e.g. "database is locked"

    assert count(db, LoginAttempt) == THREADS * WRITES_PER_THREAD
    with db.read() as session:
        distinct = session.scalar(select(func.count(func.distinct(LoginAttempt.email))))
    assert distinct == THREADS * WRITES_PER_THREAD


def test_sqlite_is_tuned_for_concurrent_use(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'tuned.db'}")
    try:
        with database.engine.connect() as connection:
            journal_mode = connection.execute(text("PRAGMA journal_mode")).scalar()
            foreign_keys = connection.execute(text("PRAGMA foreign_keys")).scalar()
            busy_timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
        assert database.is_sqlite
        assert journal_mode == "wal"
        assert foreign_keys == 1
        assert busy_timeout is not None
        assert busy_timeout >= 5000
    finally:
        database.dispose()


def test_every_web_worker_thread_reuses_a_kept_sqlite_connection(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'kept.db'}")
    opened: list[object] = []
    event.listen(database.engine, "connect", lambda connection, _record: opened.append(1))
    try:
        for _ in range(3):  # as many readers at once as worker threads, three times over
            with ExitStack() as stack:
                for _ in range(SQLITE_POOL_SIZE):
                    stack.enter_context(database.read()).execute(text("SELECT 1"))
        assert len(opened) == SQLITE_POOL_SIZE  # each connection opened once, then kept
    finally:
        database.dispose()


def test_ping_answers_for_a_live_database(db: Database) -> None:
    assert db.ping() is True


def test_ping_fails_when_the_sqlite_folder_is_gone(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    database = Database(f"sqlite:///{folder / 'leadshelf.db'}")
    folder.rmdir()
    try:
        assert database.ping() is False
    finally:
        database.dispose()


def test_ping_fails_when_postgresql_does_not_answer() -> None:
    database = Database("postgresql+psycopg://leadshelf@127.0.0.1:1/leadshelf?connect_timeout=2")
    try:
        assert database.is_sqlite is False
        assert database.ping() is False
    finally:
        database.dispose()


def test_a_waiting_sqlite_writer_gets_in_at_the_holders_first_pause(tmp_path: Path) -> None:
    """A writer that commits, pauses briefly and begins again (the paced program scheduler)
    lets a waiting writer in at its first pauses; SQLite's own busy handler, sleeping up to
    100 ms between tries, would miss 10 ms pauses for seconds."""
    database = Database(f"sqlite:///{tmp_path / 'fair.db'}")
    upgrade_to_head(database)
    holding = threading.Event()
    cycles = 0
    got_in_at: list[int] = []

    def holder() -> None:
        nonlocal cycles
        for _ in range(40):
            with database.write() as session:
                session.add(attempt("holder@example.com"))
                session.flush()
                holding.set()
                time.sleep(0.04)
            cycles += 1
            if got_in_at:
                return
            time.sleep(0.01)

    def waiter() -> None:
        holding.wait()
        with database.write() as session:
            session.connection()  # the write lock is taken here
            got_in_at.append(cycles)
            session.add(attempt("waiter@example.com"))

    try:
        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(holder), pool.submit(waiter)]:
                future.result()
        assert got_in_at, "the waiting writer never got in"
        assert got_in_at[0] <= 3, got_in_at
        assert count(database, LoginAttempt) == got_in_at[0] + 2
    finally:
        database.dispose()


def test_a_sqlite_writer_gives_up_after_its_timeout_and_keeps_its_busy_timeout(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'locked.db'}")
    upgrade_to_head(database)
    other = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with database.engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                take_write_lock(raw, timeout=0.05)
            busy_timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
        assert busy_timeout == SQLITE_BUSY_TIMEOUT_MS
        other.execute("ROLLBACK")
        store(database, attempt("after@example.com"))
        assert count(database, LoginAttempt) == 1
    finally:
        other.close()
        database.dispose()
