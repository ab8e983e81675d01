"""A prospect arrives from a LinkedIn campaign link, reads, identifies at a gate, and a marketer
sees where the lead came from on its page and filters the leads by it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveServer, add_staff, new_context
from tests.e2e.prospects import BUYERS_GUIDE, new_prospect, unlock
from tests.support import STAFF_PASSWORD

pytestmark = pytest.mark.e2e

MARKETER = "e2e-source-marketer@example.com"
CAMPAIGN = "/library?utm_source=linkedin&utm_medium=social&utm_campaign=scoring-guide-q3"


@pytest.fixture(scope="module")
def marketer(live_server: LiveServer) -> str:
    return add_staff(live_server.env, MARKETER, "marketer", "Sam Sources")


def test_a_campaign_arrival_is_the_leads_original_source(
    browser: Browser, page: Page, live_server: LiveServer, marketer: str
) -> None:
    prospect = new_prospect("Linnea")
    reader = new_context(browser)
    try:
        reading = reader.new_page()
        reading.set_default_timeout(10_000)
        reading.goto(f"{live_server.url}{CAMPAIGN}")
        reading.locator("main a[href^='/library/']").first.click()  # reads an asset first
        expect(reading.locator("h1").first).to_be_visible()
        unlock(reading, live_server, BUYERS_GUIDE, prospect)
    finally:
        reader.close()

    page.goto(f"{live_server.url}/console/leads?channel=social")
    page.get_by_label("Email").fill(marketer)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    filters = page.get_by_role("search", name="Filter leads")
    expect(
        filters.get_by_role("group", name="Original channel").get_by_label("social")
    ).to_be_checked()
    mine = page.locator("#lead-results tbody tr.lead-row").filter(has_text=prospect.email)
    expect(mine.locator(".cell-source")).to_contain_text("linkedin / social")

    mine.get_by_role("link").first.click()
    source = page.get_by_role("region", name="Source")
    expect(source.locator(".lead-source__source td").first).to_have_text("linkedin / social")
    expect(source.locator(".lead-source__campaign td").first).to_have_text("scoring-guide-q3")
    expect(source.locator(".lead-source__channel td").first).to_have_text("social")
    expect(source.locator(".lead-source__landing td").first).to_have_text(CAMPAIGN)
    # the asset read and the form were the same visit: the latest source is the campaign too
    expect(source.locator(".lead-source__source td").last).to_have_text("linkedin / social")
