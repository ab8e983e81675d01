"""What tests share besides fixtures: the test keys and password, the backends a run covers,
emptying and creating databases, apps built once a process, parsed HTML, the CSRF token of a
form, staff sign-in, and running a coroutine in a loop of its own.

``tests/conftest.py`` builds its fixtures from these; test modules import them from here
(never from a conftest or another test module).
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sqlalchemy import create_engine, literal, select, text, union_all
from sqlalchemy.engine import make_url

from content.orm import Base
from portal.accounts import service
from portal.accounts.models import Role
from portal.app import Shell, app_state, build_app
from portal.db import Database
from portal.settings import Settings

POSTGRES_URL_ENV = "LEADSHELF_TEST_POSTGRES_URL"
TEST_SECRET_KEYS = ("test-secret-key-0123456789abcdef",)
STAFF_PASSWORD = "correct horse battery"


def postgres_url() -> str | None:
    """The PostgreSQL test database, or None. Under pytest-xdist every worker gets a database of
    its own beside the given one (``<name>_gw0`` …), made fresh once per worker process."""
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if url and worker:
        return _worker_database(url, worker)
    return url or None


@functools.cache
def _worker_database(url: str, worker: str) -> str:
    base = make_url(Settings(database_url=url).resolved_database_url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        # A commit need not wait for its WAL to reach the disk (1-3 ms a commit): a database
        # made for this run only, whose data is visible to every session all the same.
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


def clean_tables(database: Database) -> None:
    """Empty every table and start its ids at 1 again, as on a new database."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with database.write_connection() as connection:
        if database.is_sqlite:
            for table in tables:
                connection.execute(table.delete())
            return
        # PostgreSQL: TRUNCATE takes 0.3-0.8 s however few rows there are (new files for
        # every table, index and the tables that refer to them); a test leaves rows in a
        # handful of tables, and deleting those and restarting the used sequences takes
        # milliseconds. Children go before their parents, as for SQLite.
        probe = union_all(
            *(
                select(literal(i)).where(select(literal(1)).select_from(table).exists())
                for i, table in enumerate(tables)
            )
        )
        for i in sorted(connection.scalars(probe)):
            connection.execute(tables[i].delete())
        # The sequences of the tables' serial and identity columns that handed out an id.
        connection.execute(text(_RESTART_USED_SEQUENCES))


_RESTART_USED_SEQUENCES = """
SELECT setval(sequence.oid, used.start_value, false)
FROM pg_class AS sequence
JOIN pg_namespace AS schema ON schema.oid = sequence.relnamespace
JOIN pg_sequences AS used
  ON used.schemaname = schema.nspname AND used.sequencename = sequence.relname
WHERE sequence.relkind = 'S' AND schema.nspname = current_schema()
  AND used.last_value IS NOT NULL
  AND EXISTS (
    SELECT FROM pg_depend AS owner
    WHERE owner.classid = 'pg_class'::regclass AND owner.objid = sequence.oid
      AND owner.refclassid = 'pg_class'::regclass AND owner.deptype IN ('a', 'i')
  )
"""


def fresh_postgres_database(suffix: str, *, template: str | None = None) -> str:
    """Create (or re-create) a database beside the test database and return its URL; with
    ``template`` (a database's name) it starts as a copy of that one."""
    url = make_url(Settings(database_url=postgres_url() or "").resolved_database_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


_apps: dict[Shell, list[Litestar]] = {}
_apps_in_use: set[int] = set()


@contextmanager
def app_for(settings: Settings) -> Iterator[Litestar]:
    """The app ``create_app(settings)`` builds, with its routes, middleware and templates built
    once a process and reused: registering two hundred handlers takes half a second a test.

    The state (database engine, data dir, caches, runner, rate limits …) is new each time,
    built from ``settings``. Settings the shell is built from (``portal.app.Shell``: the secret
    keys, https, the upload size, the privacy URL) get a shell of their own, and so does a
    second app while the first is still in use.

    Its events are stored by the writer thread: an app a test drives in-process needs no
    writer process (``tests/tracking/pipeline/test_writer_process.py`` and the servers the
    e2e tests start use one)."""
    state = app_state(settings.with_overrides(event_writer_process=False))
    shell = Shell.of(settings, state.signer)
    built = _apps.setdefault(shell, [])
    free = [app for app in built if id(app) not in _apps_in_use]
    if free:
        app = free[0]
        app.state = state
    else:
        app = build_app(shell, state)
        built.append(app)
    _apps_in_use.add(id(app))
    try:
        yield app
    finally:
        app.state = State()  # the test's objects are not kept alive until the next one
        _apps_in_use.discard(id(app))


def html(response_text: str) -> HTMLParser:
    return HTMLParser(response_text)


_SLOT = re.compile(
    r'<div(?P<attrs>[^>]*\sid="(?P<id>[\w-]+-slot)"[^>]*)>(?P<inner>.*?)</div>', re.DOTALL
)
_OOB = re.compile(r'<section[^>]*\sid="(?P<id>[\w-]+)"[^>]*hx-swap-oob="(?P<how>\w+)"')


def with_personal_parts(client: TestClient[Litestar], page_text: str) -> str:
    """The page as a browser shows it once htmx has loaded its personal parts: each slot
    (``<div id="…-slot" hx-get=… hx-trigger="load">``) swapped for the fragment its URL answers
    an htmx request with, and the fragment's out-of-band sections put in place."""
    for slot in list(_SLOT.finditer(page_text)):
        url = re.search(r'hx-get="([^"]+)"', slot["attrs"])
        assert url is not None, slot[0]
        fragment = client.get(url[1], headers={"HX-Request": "true"})
        assert fragment.status_code == 200, fragment.text
        body = fragment.text
        for oob in list(_OOB.finditer(body)):
            section = re.compile(rf'<section[^>]*\sid="{oob["id"]}".*?</section>\s*', re.DOTALL)
            replacement = section.search(body[oob.start() :])
            assert replacement is not None
            body = body.replace(replacement[0], "")
            shown = "" if oob["how"] == "delete" else replacement[0]
            shown = shown.replace(f' hx-swap-oob="{oob["how"]}"', "")
            page_text = section.sub(lambda _: shown, page_text, count=1)  # noqa: B023
        if 'hx-swap="innerHTML"' in slot["attrs"]:
            swapped = f"<div{slot['attrs']}>{body}</div>"
        else:
            swapped = body
        page_text = page_text.replace(slot[0], swapped, 1)
    return page_text


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
