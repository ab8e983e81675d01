"""End-to-end fixtures: the real ``leadshelf serve`` on a free port, driven by Debian's Chromium.

The server runs once per database backend (SQLite, and PostgreSQL in its own
database when ``LEADSHELF_TEST_POSTGRES_URL`` is set), from the first e2e test that asks
for it until the test process has no e2e test next, with the demo library loaded and a
small profiling model (``E2E_MODEL``). Chromium must be at
/usr/bin/chromium (``make browser`` installs it); a missing browser fails the
run rather than skipping it. The plain helpers the tests import (``LiveServer``,
``new_context``, the model) are in ``tests/e2e/live.py``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.live import (
    DESKTOP_USER_AGENT,
    LiveServer,
    copy_demo_data,
    new_context,
    serve,
)
from tests.servers import LEADSHELF
from tests.support import TEST_SECRET_KEYS, backends

CHROMIUM = "/usr/bin/chromium"
E2E_DIR = Path(__file__).parent
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


class LiveServers:
    """The live servers of this test process, one per backend, each started when a test first
    asks for it and kept while the process runs e2e tests. With ``--dist loadfile`` a process
    runs one file's tests on SQLite, then on PostgreSQL, then the next file's: a server
    parametrized by backend was stopped and set up again (15-20 s) for nearly every file."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self._running: dict[str, tuple[LiveServer, ExitStack]] = {}
        self.webinars: dict[str, str] = {}
        """The upcoming webinar imported into each server, by backend."""

    def get(self, backend: str) -> LiveServer:
        if backend not in self._running:
            self._running[backend] = self._start(backend)
        return self._running[backend][0]

    def stop(self) -> None:
        """Stop the servers (a later e2e test starts them afresh)."""
        for _, stack in self._running.values():
            stack.close()
        self._running.clear()
        self.webinars.clear()

    def _start(self, backend: str) -> tuple[LiveServer, ExitStack]:
        data_dir = self._tmp_path_factory.mktemp("e2e-data")
        env = {
            **os.environ,
            "LEADSHELF_DATA_DIR": str(data_dir),
            "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
            "LEADSHELF_BASE_URL": "http://127.0.0.1:8000",
            "LEADSHELF_MODEL": str(data_dir / "model.toml"),
        }
        env.pop("LEADSHELF_DATABASE_URL", None)
        # the e2e admin and the demo library: open, soft and gated assets, with PDFs
        database_url = copy_demo_data(data_dir, backend, database="e2e")
        if database_url:
            env["LEADSHELF_DATABASE_URL"] = database_url
        with ExitStack() as stack:
            url = stack.enter_context(serve(env))
            return LiveServer(url=url, backend=backend, env=env), stack.pop_all()


_live_servers = pytest.StashKey[LiveServers]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A journey marked ``one_backend`` checks what no database changes (where the console's
    tables sit on the screen, which words are German): it runs once, on PostgreSQL when the
    run has it. The pages it reads are checked on both backends by ``tests/portal``."""
    if "postgresql" not in backends():
        return
    twice = [
        item
        for item in items
        if item.get_closest_marker("one_backend") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("live_server") == "sqlite"
    ]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [item for item in items if item not in twice]


@pytest.fixture(scope="session")
def live_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServers]:
    servers = LiveServers(tmp_path_factory)
    request.config.stash[_live_servers] = servers
    yield servers
    servers.stop()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The live servers stop once this process has no e2e test next (idle, their background
    jobs would cost CPU while the other tests run)."""
    servers = item.config.stash.get(_live_servers, None)
    if servers is not None and (nextitem is None or E2E_DIR not in nextitem.path.parents):
        servers.stop()


@pytest.fixture(scope="module", params=backends())
def live_server(request: pytest.FixtureRequest, live_servers: LiveServers) -> LiveServer:
    """The real server on this backend, with the demo library and the e2e admin."""
    return live_servers.get(request.param)


@pytest.fixture(scope="module")
def upcoming_webinar(
    live_server: LiveServer,
    live_servers: LiveServers,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A gated webinar a month from now (the demo's webinars have fixed dates that will pass)."""
    if live_server.backend in live_servers.webinars:
        return live_servers.webinars[live_server.backend]
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
    live_servers.webinars[live_server.backend] = WEBINAR
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
