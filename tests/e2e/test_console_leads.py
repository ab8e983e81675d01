"""A marketer finds the lead a prospect just became, reads its trail, and exports the list.

The prospect is this test's own browser: it unlocks a gated decision-stage asset
and asks to talk to sales, which makes it a decision-stage lead on the sales fast
lane. A marketer then signs in, filters the leads to the decision stage, opens that
lead, sees the asset in its engagement trail, and downloads the CSV.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import MIN_FILL_SECONDS, LiveServer, add_staff, new_context
from tests.e2e.prospects import BUSINESS_CASE, new_prospect, unlock
from tests.support import STAFF_PASSWORD

pytestmark = pytest.mark.e2e

MARKETER = "e2e-marketer@example.com"
BUSINESS_CASE_TITLE = "The Business Case for Marketing Automation"


@pytest.fixture(scope="module")
def marketer(live_server: LiveServer) -> str:
    return add_staff(live_server.env, MARKETER, "marketer", "Mia Marketer")


def ask_to_talk_to_sales(page: Page, server: LiveServer, slug: str) -> None:
    page.goto(f"{server.url}/talk-to-sales?asset={slug}")
    form = page.locator("form").filter(has=page.locator("#sales-submit"))
    shown = time.monotonic()
    form.locator("[name=company]").fill("Hallberg Antriebstechnik")
    time.sleep(max(0.0, MIN_FILL_SECONDS + 0.05 - (time.monotonic() - shown)))
    page.locator("#sales-submit").click()
    expect(page.get_by_role("status")).to_contain_text("Your request is with our sales team")


def test_marketer_filters_opens_the_lead_sees_its_trail_and_exports(
    browser: Browser, page: Page, live_server: LiveServer, marketer: str, tmp_path: Path
) -> None:
    prospect = new_prospect("Greta")
    reader = new_context(browser)
    try:
        reading = reader.new_page()
        reading.set_default_timeout(10_000)
        unlock(reading, live_server, BUSINESS_CASE, prospect)
        ask_to_talk_to_sales(reading, live_server, BUSINESS_CASE)
    finally:
        reader.close()

    page.goto(f"{live_server.url}/console/leads")
    page.get_by_label("Email").fill(marketer)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Leads", exact=True)).to_be_visible()

    filters = page.get_by_role("search", name="Filter leads")
    filters.get_by_role("group", name="Stage").get_by_label("Decision").check()
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(f"{live_server.url}/console/leads?stage=decision")  # htmx pushed it
    rows = page.locator("#lead-results tbody tr.lead-row")
    expect(rows.first).to_be_visible()
    for stage in rows.locator(".cell-stage").all_inner_texts():
        assert stage == "Decision"
    mine = rows.filter(has_text=prospect.email)
    expect(mine).to_have_count(1)

    mine.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{prospect.first_name} {prospect.last_name}"
    )
    expect(page.locator(".lead-stage")).to_contain_text("Decision")
    expect(page.locator(".lead-lifecycle")).to_have_text("sql")  # the sales fast lane
    trail = page.get_by_role("region", name="Engagement trail")
    expect(trail.locator(f'[data-asset="{BUSINESS_CASE}"]').first).to_contain_text(
        BUSINESS_CASE_TITLE
    )
    chart = page.locator("#engagement-curve-title")
    expect(chart).to_have_text("Engagement score, last 90 days")
    width = page.locator("img.chart__image").first.evaluate("img => img.naturalWidth")
    assert width > 0  # the SVG chart really renders under the page's CSP

    page.go_back()
    with page.expect_download() as download:
        page.locator("#lead-results").get_by_role("link", name="Export all").click()
    saved = tmp_path / "leads.csv"
    download.value.save_as(saved)
    with saved.open(encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert {row["journey_stage"] for row in exported} == {"decision"}
    row = next(r for r in exported if r["email"] == prospect.email)
    assert (row["first_name"], row["company"], row["lifecycle"]) == (
        prospect.first_name,
        "Hallberg Antriebstechnik",
        "sql",
    )
