"""Content htmx swaps in after a gate form behaves like content loaded with the page.

A gated asset's readable part arrives by htmx once the form is accepted. The
scripts bound on page load (the reading tracker, the local-time display) must
take it up too: the reading is measured and reaches the lead's trail, and a
webinar keeps showing its time in the visitor's zone after registering.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveServer, new_context
from tests.e2e.prospects import (
    BUYERS_GUIDE,
    new_prospect,
    open_asset,
    send_gate_form,
    unlock,
)
from tests.servers import LEADSHELF

pytestmark = pytest.mark.e2e

ON_SCREEN = """
() => new Promise((resolve) => {
  new IntersectionObserver((entries, observer) => {
    if (entries.some((entry) => entry.isIntersecting)) {
      observer.disconnect();
      resolve(true);
    }
  }).observe(document.querySelector("[data-asset]"));
})
"""
SETTLE_MS = 500
"""More than htmx's settle delay (20 ms by default)."""
VISITOR_ZONE = "America/New_York"
READ_SECONDS = 20


@pytest.fixture(scope="module")
def api_token(live_server: LiveServer) -> str:
    created = subprocess.run(
        [LEADSHELF, "token", "add", f"e2e-trail-{time.time_ns()}", "--scope", "read"],
        env=dict(live_server.env),
        check=True,
        capture_output=True,
        text=True,
    )
    return created.stdout.strip()


def api_get(server: LiveServer, token: str, path: str) -> Any:
    url = f"{server.url}/api/v1{path}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return json.load(response)


def engaged_seconds(server: LiveServer, token: str, email: str, slug: str) -> float:
    """The engaged seconds the lead's trail (API) shows on one asset."""
    leads = api_get(server, token, f"/leads?email={quote(email)}")["items"]
    if not leads:
        return 0.0
    trail = api_get(server, token, f"/leads/{leads[0]['id']}/trail?limit=200")["items"]
    return sum(
        item["seconds"] or 0
        for item in trail
        if item["type"] == "read_progress" and (item["asset"] or {}).get("slug") == slug
    )


def trail_seconds_once_settled(server: LiveServer, token: str, email: str, slug: str) -> float:
    """The trail's engaged seconds once the last beacon (sent on leaving the page) is in."""
    deadline = time.monotonic() + 10
    seconds = engaged_seconds(server, token, email, slug)
    while seconds < READ_SECONDS - 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        seconds = engaged_seconds(server, token, email, slug)
    return seconds


def test_reading_after_a_javascript_unlock_reaches_the_trail(
    page: Page, live_server: LiveServer, api_token: str
) -> None:
    prospect = new_prospect("Tove")
    # Playwright's clock lets the tab stay visible for 20 s of reading without waiting for it.
    page.clock.install()
    unlock(page, live_server, BUYERS_GUIDE, prospect)
    expect(page.locator(".asset__body")).to_be_visible()
    # htmx announces swapped-in content (htmx:load, which binds the tracker) once it settles,
    # after a short timer: on the installed clock that timer only fires when time moves on.
    page.clock.run_for(SETTLE_MS)
    # The tracker counts time once its IntersectionObserver has seen the content on screen;
    # observers of one element hear in the order they were made, so wait for ours to hear.
    page.evaluate(ON_SCREEN)

    page.clock.run_for(READ_SECONDS * 1000)
    page.goto(f"{live_server.url}/library")  # leaving sends the last beacon

    seconds = trail_seconds_once_settled(live_server, api_token, prospect.email, BUYERS_GUIDE)
    assert READ_SECONDS - 1 <= seconds <= READ_SECONDS + 5


def test_a_webinar_keeps_the_visitors_time_zone_after_registering(
    browser: Browser, live_server: LiveServer, upcoming_webinar: str
) -> None:
    context = new_context(browser, timezone_id=VISITOR_ZONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        open_asset(page, live_server, upcoming_webinar)
        when = page.locator(".webinar-panel time.local-time")
        expect(when).not_to_contain_text("UTC")
        local = when.inner_text()

        send_gate_form(page, new_prospect("Ines").answers, "Register")
        expect(page.locator("#unlock-notice")).to_be_visible()

        expect(page.locator(".webinar-panel time.local-time")).to_have_text(local)
    finally:
        context.close()
