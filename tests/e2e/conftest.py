"""End-to-end fixtures: the real ``leadshelf serve`` on a free port, driven by Debian's Chromium.

The server runs once per database backend (SQLite, and PostgreSQL in its own
database when ``LEADSHELF_TEST_POSTGRES_URL`` is set), with the demo library
loaded and a small profiling model (``E2E_MODEL``). Chromium must be at
/usr/bin/chromium (``make browser`` installs it); a missing browser fails the
run rather than skipping it. The plain helpers the tests import (``LiveServer``,
``new_context``, the model) are in ``tests/e2e/live.py``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.live import (
    ADMIN_EMAIL,
    DESKTOP_USER_AGENT,
    E2E_MODEL,
    LiveServer,
    new_context,
    serve,
)
from tests.servers import LEADSHELF
from tests.support import STAFF_PASSWORD, TEST_SECRET_KEYS, backends, fresh_postgres_database

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


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
