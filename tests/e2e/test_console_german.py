"""A marketer with a German browser signs in, chooses German on their profile, and reads the
console in German: the menu, the dashboard and its charts, the lead list; no English text the
catalog translates is left on those pages."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveServer, add_staff, new_context
from tests.portal.german_pages import untranslated
from tests.support import STAFF_PASSWORD, html

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]


def add_marketer(live_server: LiveServer) -> str:
    email = f"mara.{uuid.uuid4().hex[:8]}@example.com"
    return add_staff(live_server.env, email, "marketer", "Mara Marketing")


def left_in_english(page: Page) -> list[str]:
    return untranslated(html(page.content()))


def test_a_marketer_who_chooses_german_sees_the_console_in_german(
    browser: Browser, live_server: LiveServer
) -> None:
    email = add_marketer(live_server)
    context = new_context(browser, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(10_000)

    # The sign-in page follows the German browser.
    page.goto(f"{live_server.url}/console")
    expect(page.get_by_role("heading", name="An der Konsole anmelden")).to_be_visible()
    page.get_by_label("E-Mail").fill(email)
    page.get_by_label("Passwort").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()

    # The console speaks the site's language until the marketer chooses theirs.
    expect(page.get_by_role("heading", name="Welcome, Mara Marketing")).to_be_visible()
    page.get_by_role("link", name="Your profile").click()
    page.get_by_label("The console speaks").select_option("de")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Ihr Profil")).to_be_visible()
    expect(page.get_by_label("Die Konsole spricht")).to_have_value("de")
    nav = page.get_by_role("navigation", name="Konsole")
    expect(nav.get_by_role("link", name="Übersicht")).to_be_visible()
    expect(page.locator(".role-badge")).to_have_text("Marketing")

    nav.get_by_role("link", name="Funnel-Dashboard").click()
    expect(page.get_by_role("heading", name="Funnel-Dashboard", exact=True)).to_be_visible()
    expect(page.locator("figure.chart figcaption").first).to_have_text(
        "Leads, die jede Journey-Phase erreicht haben"
    )
    page.locator("figure.chart summary").first.click()
    expect(page.get_by_role("button", name="Anzeigen")).to_be_visible()  # the period picker
    alt = page.locator("figure.chart img").first.get_attribute("alt") or ""
    assert alt.endswith("Die Zahlen stehen in der folgenden Tabelle.")
    assert left_in_english(page) == []

    nav.get_by_role("link", name="Leads", exact=True).click()
    expect(page.get_by_role("button", name="Filter anwenden")).to_be_visible()
    expect(page.get_by_role("link", name="mit Spaltentiteln auf Deutsch")).to_be_visible()
    assert left_in_english(page) == []

    page.goto(f"{live_server.url}/console")
    expect(page.get_by_role("heading", name="Willkommen, Mara Marketing")).to_be_visible()
    assert left_in_english(page) == []
    context.close()
