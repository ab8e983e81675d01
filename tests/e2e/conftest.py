"""End-to-end fixtures: the real ``leadshelf serve`` on a free port, driven by Debian's Chromium.

The server runs once per database backend (SQLite, and PostgreSQL in its own
database when ``LEADSHELF_TEST_POSTGRES_URL`` is set), with the demo library
loaded and a small profiling model (``E2E_MODEL``). Chromium must be at
/usr/bin/chromium (``make browser`` installs it); a missing browser fails the
run rather than skipping it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.settings import Settings
from tests.conftest import STAFF_PASSWORD, TEST_SECRET_KEYS, backends, postgres_url
from tests.servers import LEADSHELF as LEADSHELF  # the e2e tests import these from here
from tests.servers import free_port as free_port
from tests.servers import serving
from tests.servers import wait_until_healthy as wait_until_healthy
from tracking.rules.config import DEFAULT_FIELDS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_EMAIL = "e2e-admin@example.com"

# Headless Chromium announces itself as "HeadlessChrome", which crawler detection rightly
# takes for a bot: no visitor cookie, no gate forms. The tests play a person at a desktop.
DESKTOP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)

MIN_FILL_SECONDS = 0.5
"""Gate forms sent back faster than this are refused (2 s by default; shorter keeps tests fast)."""
PROFILE_FIELDS = ("first_name", "last_name", "company", "job_title")
"""The only catalogue fields the e2e model keeps: the first gate asks email and the names, the
second company and job title, and from the third on a known prospect unlocks in one click."""
E2E_MODEL = "\n".join(
    [
        f"[profiling]\nmin_fill_seconds = {MIN_FILL_SECONDS}",
        *(
            f"[profiling.fields.{spec.name}]\nenabled = false"
            for spec in DEFAULT_FIELDS
            if spec.name not in PROFILE_FIELDS
        ),
    ]
)
"""The server's model file (``LEADSHELF_MODEL``)."""


WEBINAR = "e2e-scoring-clinic-webinar"
WEBINAR_MARKDOWN = """\
---
title: "Scoring Clinic: Bring Your Model"
slug: {slug}
kind: webinar
stage: consideration
topics: [lead-scoring]
gate: gated
language: en
summary: "Forty-five minutes of live lead-scoring reviews."
webinar: {{starts_at: {starts_at}, duration_minutes: 45}}
published: true
---
We review three scoring models submitted by attendees, live.
"""


@dataclass(frozen=True)
class LiveServer:
    url: str
    backend: str
    env: Mapping[str, str]
    """The server's environment, for running other ``leadshelf`` commands against its data."""
    admin_email: str = ADMIN_EMAIL
    password: str = STAFF_PASSWORD


def fresh_postgres_database(suffix: str) -> str:
    """Create (or re-create) a database beside the test database and return its URL."""
    url = make_url(Settings(database_url=postgres_url() or "").resolved_database_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=backends())
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    model = data_dir / "model.toml"
    model.write_text(E2E_MODEL, encoding="utf-8")
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_BASE_URL": "http://127.0.0.1:8000",
        "LEADSHELF_MODEL": str(model),
    }
    env.pop("LEADSHELF_DATABASE_URL", None)
    if request.param == "postgresql":
        env["LEADSHELF_DATABASE_URL"] = fresh_postgres_database("e2e")
    subprocess.run(
        [LEADSHELF, "user", "add", ADMIN_EMAIL, "--role", "admin", "--name", "Erin Admin"],
        input=f"{STAFF_PASSWORD}\n".encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    # the demo library: open, soft and gated assets, with PDFs, for the prospect's flows
    subprocess.run([LEADSHELF, "demo"], env=env, check=True, capture_output=True)
    with serve(env) as url:
        yield LiveServer(url=url, backend=request.param, env=env)


@contextmanager
def serve(env: Mapping[str, str]) -> Iterator[str]:
    """Run ``leadshelf serve`` with this environment on a free port; yield its URL."""
    with serving(env, "--host", "127.0.0.1") as url:
        yield url


@pytest.fixture(scope="session")
def upcoming_webinar(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A gated webinar a month from now (the demo's webinars have fixed dates that will pass)."""
    folder = tmp_path_factory.mktemp("webinar")
    starts_at = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    (folder / f"{WEBINAR}.md").write_text(
        WEBINAR_MARKDOWN.format(slug=WEBINAR, starts_at=starts_at.isoformat()), encoding="utf-8"
    )
    subprocess.run(
        [LEADSHELF, "import", str(folder), "--publish"],
        env=dict(live_server.env),
        check=True,
        capture_output=True,
    )
    return WEBINAR


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make browser` (apt-get install chromium)")
    # The browser's own user agent too: a beacon sent as a page unloads (track.js's last
    # reading) leaves without the context's override and would be dropped as a crawler's.
    args = [*CHROMIUM_ARGS, f"--user-agent={DESKTOP_USER_AGENT}"]
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    yield chromium
    chromium.close()


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A fresh browser profile (its own cookies, so its own visitor) that looks like a person's."""
    return browser.new_context(
        viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_USER_AGENT, **options
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
