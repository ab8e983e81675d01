"""Shared fixtures: migrated databases on SQLite and PostgreSQL, apps, clients, staff logins.

Every test that asks for ``db`` (or anything built on it: ``settings``, ``app``,
``client``, ``staff``) runs once per backend: SQLite always, PostgreSQL when
``LEADSHELF_TEST_POSTGRES_URL`` is set. If that variable is set and the server
does not answer, the whole run stops with an error instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from content.orm import Base
from portal.accounts import service
from portal.accounts.models import Role
from portal.app import create_app
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings

POSTGRES_URL_ENV = "LEADSHELF_TEST_POSTGRES_URL"
TEST_SECRET_KEYS = ("test-secret-key-0123456789abcdef",)
STAFF_PASSWORD = "correct horse battery"


def postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    return url or None


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


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


def _reset_postgres(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session", params=backends())
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One database per backend for the whole run, brought to head by Alembic."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "leadshelf.db"
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(Settings(database_url=postgres_url() or "").resolved_database_url)
        _reset_postgres(database)
    upgrade_to_head(database)
    yield database
    database.dispose()


def clean_tables(database: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with database.write_connection() as connection:
        if database.is_sqlite:
            for table in tables:
                connection.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


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
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


def html(response_text: str) -> HTMLParser:
    return HTMLParser(response_text)


def csrf_token_from(page: str) -> str:
    node = html(page).css_first('input[name="_csrf_token"]')
    assert node is not None, "page has no CSRF input"
    value = node.attributes.get("value")
    assert value
    return value


@dataclass
class StaffActions:
    """Create staff users and sign them in through the real login form (flaskr's AuthActions)."""

    client: TestClient[Litestar]
    db: Database

    def create(self, role: Role | str = Role.ADMIN, email: str | None = None) -> str:
        email = email or f"{Role(role).value}@example.com"
        with self.db.write() as session:
            service.create_user(session, email, role, STAFF_PASSWORD)
        return email

    def login(self, email: str, password: str = STAFF_PASSWORD, next_url: str = "") -> object:
        page = self.client.get("/console/login")
        return self.client.post(
            "/console/login",
            data={
                "email": email,
                "password": password,
                "next": next_url,
                "_csrf_token": csrf_token_from(page.text),
            },
            follow_redirects=False,
        )

    def sign_in_as(self, role: Role | str) -> str:
        email = self.create(role)
        response = self.login(email)
        assert getattr(response, "status_code", None) == 303
        return email


@pytest.fixture
def staff(client: TestClient[Litestar], db: Database) -> StaffActions:
    return StaffActions(client, db)


def run_in_own_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run in a thread of its own (Playwright's sync API may hold this thread's loop)."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]
