"""Tracking in a real browser: the opt-in banner holds everything back until the reader accepts,
then track.js reports engaged time, depth and CTA clicks."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.db import Database
from portal.settings import Settings
from tests.e2e.live import new_context, serve
from tests.servers import LEADSHELF
from tests.support import TEST_SECRET_KEYS, backends, fresh_postgres_database
from tracking.models import Event

pytestmark = pytest.mark.e2e

SLUG = "long-read"
ARTICLE = f"""---
title: A long read on lead scoring
slug: {SLUG}
kind: article
stage: awareness
topics: [lead-scoring]
gate: open
summary: Long enough to scroll.
---
""" + "\n\n".join(
    f"## Part {n}\n\n" + "Scoring weighs fit and intent, one signal at a time. " * 40
    for n in range(1, 13)
)


@dataclass(frozen=True)
class OptInServer:
    url: str
    database_url: str


@pytest.fixture(scope="module", params=backends())
def opt_in_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OptInServer]:
    data_dir = tmp_path_factory.mktemp("e2e-opt-in")
    content = data_dir / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(ARTICLE, encoding="utf-8")
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_CONSENT_MODE": "opt-in",
    }
    env.pop("LEADSHELF_DATABASE_URL", None)
    if request.param == "postgresql":
        env["LEADSHELF_DATABASE_URL"] = fresh_postgres_database("e2e_opt_in")
    subprocess.run(
        [LEADSHELF, "import", str(content), "--publish"], env=env, check=True, capture_output=True
    )
    database_url = (
        env.get("LEADSHELF_DATABASE_URL") or Settings(data_dir=data_dir).resolved_database_url
    )
    with serve(env) as url:
        yield OptInServer(url, database_url)


def recorded(server: OptInServer, wait_for: str | None = None) -> list[Event]:
    """The server's events; with ``wait_for``, poll until one of that type arrived (beacons
    sent on page exit are fire-and-forget)."""
    database = Database(server.database_url)
    try:
        deadline = time.monotonic() + 10
        while True:
            with database.read() as session:
                events = list(session.scalars(select(Event).order_by(Event.id)))
            if wait_for is None or any(e.type == wait_for for e in events):
                return events
            if time.monotonic() > deadline:
                return events
            time.sleep(0.1)
    finally:
        database.dispose()


def test_nothing_is_tracked_before_consent_and_reading_is_after(
    browser: Browser, opt_in_server: OptInServer
) -> None:
    context = new_context(browser)
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Playwright's fake clock drives track.js's 15-second heartbeat without waiting for it.
    page.clock.install()
    page.goto(f"{opt_in_server.url}/library/{SLUG}")

    banner = page.get_by_role("region", name="May we note what you read?")
    expect(banner).to_be_visible()
    assert page.locator('script[src*="js/track.js"]').count() == 0
    page.mouse.wheel(0, 3000)
    page.wait_for_timeout(300)
    assert not [c for c in context.cookies() if c["name"] == "ls_visitor"]
    assert recorded(opt_in_server) == []

    banner.get_by_role("button", name="Accept").click()
    expect(page).to_have_url(f"{opt_in_server.url}/library/{SLUG}")
    expect(page.locator("#consent-banner")).to_have_count(0)
    assert [c for c in context.cookies() if c["name"] == "ls_visitor"]
    assert page.locator('script[src*="js/track.js"]').count() == 1

    # Scroll to the end, read for a heartbeat, then follow the call to action.
    page.locator(".asset__body h2").last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.clock.run_for(16_000)
    page.wait_for_timeout(300)
    page.get_by_role("link", name="Browse more").click()
    expect(page).to_have_url(f"{opt_in_server.url}/library?stage=awareness")

    events = recorded(opt_in_server, wait_for="read_progress")
    types = [e.type for e in events]
    assert "asset_view" in types
    assert "page_view" in types  # the library page after the click
    clicks = [e for e in events if e.type == "cta_click"]
    assert [c.properties for c in clicks] == [{"target": "browse-stage"}]
    progress = [e for e in events if e.type == "read_progress"]
    assert progress, f"no reading reported; got {types}"
    assert max(e.depth or 0 for e in progress) > 0.8
    # 16 s of fake clock plus the real time around it (longer on a loaded machine); a reading
    # counted twice would be 32 or more
    assert 10 <= sum(e.seconds or 0 for e in progress) <= 20
    context.close()
