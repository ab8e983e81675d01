"""In Chromium, the gate form carries the browser's own time zone to the lead (programs wait
"until Tuesday 10:00" in it), also after htmx swaps the form in again with a mistake named;
without JavaScript the form works the same and no zone is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.db import Database
from portal.settings import Settings
from tests.e2e.live import LiveServer, new_context
from tests.e2e.prospects import BUYERS_GUIDE, new_prospect, open_asset, send_gate_form, unlock
from tracking.models import Lead

pytestmark = pytest.mark.e2e

BROWSER_ZONE = "Asia/Tokyo"


@pytest.fixture
def database(live_server: LiveServer) -> Iterator[Database]:
    database = Database(Settings.from_env(live_server.env, config_file=None).resolved_database_url)
    yield database
    database.dispose()


def zone_of(database: Database, email: str) -> str:
    with database.read() as session:
        return session.scalars(select(Lead.time_zone).where(Lead.email == email)).one()


def tab(browser: Browser, **options: object) -> Page:
    page = new_context(browser, **options).new_page()
    page.set_default_timeout(10_000)
    return page


def test_the_browsers_zone_reaches_the_lead(
    browser: Browser, live_server: LiveServer, database: Database
) -> None:
    page = tab(browser, timezone_id=BROWSER_ZONE)
    prospect = new_prospect("Kenji")
    try:
        open_asset(page, live_server, BUYERS_GUIDE)
        send_gate_form(page, {**prospect.answers, "Business email": "kenji@"}, "Get access")
        expect(page.locator("#gate .field__error")).to_be_visible()
        # The form htmx swapped in with the mistake named carries the zone too.
        expect(page.locator('#gate input[name="tz"]')).to_have_value(BROWSER_ZONE)

        send_gate_form(page, prospect.answers, "Get access")
        expect(page.locator("#unlock-notice")).to_be_visible()
    finally:
        page.context.close()

    assert zone_of(database, prospect.email) == BROWSER_ZONE


def test_without_javascript_the_form_works_and_no_zone_is_stored(
    browser: Browser, live_server: LiveServer, database: Database
) -> None:
    page = tab(browser, timezone_id=BROWSER_ZONE, java_script_enabled=False)
    prospect = new_prospect("Mika")
    try:
        open_asset(page, live_server, f"{BUYERS_GUIDE}/gate")
        expect(page.locator('form.gate-form input[name="tz"]')).to_have_value("")
        send_gate_form(page, prospect.answers, "Get access")
        expect(page.locator(".asset__body")).to_be_visible()
    finally:
        page.context.close()

    assert zone_of(database, prospect.email) == ""


def test_a_returning_browser_in_another_zone_updates_it(
    browser: Browser, live_server: LiveServer, database: Database
) -> None:
    prospect = new_prospect("Noor")
    context = new_context(browser, timezone_id=BROWSER_ZONE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        unlock(page, live_server, BUYERS_GUIDE, prospect)
        state = context.storage_state()
    finally:
        context.close()
    assert zone_of(database, prospect.email) == BROWSER_ZONE

    travelling = tab(browser, timezone_id="America/Sao_Paulo", storage_state=state)
    try:
        open_asset(travelling, live_server, "marketing-automation-rfp-checklist")
        send_gate_form(travelling, {"Company": "Noor AB", "Job title": "CMO"}, "Get access")
        expect(travelling.locator("#unlock-notice")).to_be_visible()
    finally:
        travelling.context.close()

    assert zone_of(database, prospect.email) == "America/Sao_Paulo"
