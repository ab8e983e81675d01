"""Shared fixtures: migrated databases on SQLite and PostgreSQL, apps, clients, staff logins.

Every test that asks for ``db`` (or anything built on it: ``settings``, ``app``,
``client``, ``staff``) runs once per backend: SQLite always, PostgreSQL when
``LEADSHELF_TEST_POSTGRES_URL`` is set. If that variable is set and the server
does not answer, the whole run stops with an error instead of skipping.

Plain helpers (the test keys, ``html``, ``StaffActions`` …) live in ``tests/support.py``;
each test folder keeps its own fixtures in its ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.accounts import service as accounts_service
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings
from tests.mailbox import SmtpSink
from tests.support import (
    POSTGRES_URL_ENV,
    STAFF_PASSWORD,
    TEST_SECRET_KEYS,
    StaffActions,
    app_for,
    backends,
    clean_tables,
    postgres_url,
)


def pytest_report_header() -> str:
    url = postgres_url()
    if url:
        return f"database backends: sqlite, postgresql ({make_url(url).render_as_string()})"
    return f"database backends: sqlite only ({POSTGRES_URL_ENV} not set)"


def pytest_configure(config: pytest.Config) -> None:
    url = postgres_url()
    if url is None:
        return
    engine = create_engine(Settings(database_url=url).resolved_database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise pytest.UsageError(
            f"{POSTGRES_URL_ENV} is set but PostgreSQL does not answer: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        engine.dispose()


class RememberingHasher(PasswordHasher):
    """Production's argon2, with the cost paid once a process rather than on every sign-in:
    a hash or a check takes 0.15 s (0.4 s on a busy machine), and most console tests create a
    staff user and sign in through the login form. The test password (``STAFF_PASSWORD``) is
    hashed once and every user given it shares that hash (as salted hashes, other passwords
    are hashed each time); a hash and password that matched are not checked again (a pure
    function: the answer cannot change). Wrong passwords are checked in full every time."""

    def __init__(self) -> None:
        super().__init__()
        self._staff_hash: str | None = None
        self._matched: set[tuple[str, str]] = set()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if password != STAFF_PASSWORD or salt is not None:
            return super().hash(password, salt=salt)
        if self._staff_hash is None:
            self._staff_hash = super().hash(password)
        return self._staff_hash

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        key = (str(hash), str(password))
        if key not in self._matched:
            super().verify(hash, password)  # raises on a mismatch
            self._matched.add(key)
        return True


@pytest.fixture(scope="session", autouse=True)
def remembering_hasher() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts_service, "_hasher", RememberingHasher())
        yield


def _reset_postgres(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


class MigratedDatabases:
    """The run's database of each backend, made and brought to head by Alembic when a test
    first asks for it and kept until the run ends.

    With ``--dist loadfile`` a process runs one file's tests on SQLite, then on PostgreSQL,
    then the next file's: a session fixture parametrized by backend was torn down and made
    again at every switch (a new SQLite file, PostgreSQL's schema dropped, and the migrations
    run each time: 1.5-3 s a test file)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._made: dict[str, Database] = {}

    def get(self, backend: str) -> Database:
        if backend not in self._made:
            self._made[backend] = self._make(backend)
        return self._made[backend]

    def _make(self, backend: str) -> Database:
        if backend == "sqlite":
            path = self._tmp_path_factory.mktemp("sqlite") / "leadshelf.db"
            database = Database(f"sqlite:///{path}")
        else:
            database = Database(Settings(database_url=postgres_url() or "").resolved_database_url)
        try:
            if not database.is_sqlite:
                _reset_postgres(database)
            upgrade_to_head(database)
        except BaseException:
            database.dispose()
            raise
        return database

    def dispose(self) -> None:
        for database in self._made.values():
            database.dispose()
        self._made.clear()


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabases]:
    databases = MigratedDatabases(tmp_path_factory)
    yield databases
    databases.dispose()


@pytest.fixture(scope="session", params=backends())
def migrated_database(
    request: pytest.FixtureRequest, migrated_databases: MigratedDatabases
) -> Database:
    """One database per backend for the whole run, brought to head by Alembic."""
    return migrated_databases.get(request.param)


@pytest.fixture
def db(migrated_database: Database) -> Iterator[Database]:
    """The migrated database of the current backend, emptied after each test."""
    yield migrated_database
    clean_tables(migrated_database)


@pytest.fixture
def backend(migrated_database: Database) -> str:
    return "sqlite" if migrated_database.is_sqlite else "postgresql"


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db.url.render_as_string(hide_password=False),
        secret_keys=TEST_SECRET_KEYS,
        # Most tests store events through the thread writer (no child process per app);
        # tests/tracking/pipeline/test_writer_process.py and the e2e servers use the process.
        event_writer_process=False,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Litestar]:
    with app_for(settings) as built:
        yield built


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on a free port that keeps what it receives (``tests/mailbox.py``)."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp_sink: SmtpSink) -> Settings:
    """The test settings with mail going to ``smtp_sink`` and a postal address set."""
    return settings.with_overrides(
        smtp_url=smtp_sink.url,
        mail_from="Pipewise <news@pipewise.example>",
        postal_address="Pipewise GmbH, Hafenstraße 1, 20457 Hamburg",
    )


@pytest.fixture
def mail_client(mail_settings: Settings) -> Iterator[TestClient[Litestar]]:
    """A client of an app whose mail reaches ``smtp_sink``; ``send_mail(client)`` sends it."""
    with app_for(mail_settings) as built, TestClient(built) as test_client:
        yield test_client


@pytest.fixture
def staff(client: TestClient[Litestar], db: Database) -> StaffActions:
    return StaffActions(client, db)


@pytest.fixture
def settled(client: TestClient[Litestar]) -> None:
    """The app's housekeeping (re-scoring quiet leads, catching the handoff queue up) has made
    its pass now, so it cannot change the test's data under its feet: the jobs' own threads
    make their next pass ten minutes after this one."""
    client.app.state.runner.run_all_once(
        ["quiet-lead-rescoring", "handoff-catch-up", "account-figures"]
    )
