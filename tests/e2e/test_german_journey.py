"""A German prospect in Chromium (locale de-DE, in Berlin): the whole journey in German, with
no English text of the catalog on any page it sees (checked against the catalog, not a
screenshot); the language switch is kept from page to page; a German webinar's time is the
reader's, written the German way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from portal import i18n
from tests.e2e.live import MIN_FILL_SECONDS, LiveServer, new_context
from tests.e2e.prospects import BUYERS_GUIDE, new_prospect, open_asset, send_gate_form
from tests.untranslated import untranslated

pytestmark = [pytest.mark.e2e, pytest.mark.one_backend]

ZONE = "Europe/Berlin"
GERMAN_GUIDE = "lead-nurturing-leitfaden-mittelstand"  # gated, German, with a PDF
GERMAN_WEBINAR = "progressive-profiling-webinar"  # German, recorded 8 Oct 2026, 10:00 in Berlin
EMAIL, FIRST_NAME, LAST_NAME = "Geschäftliche E-Mail-Adresse", "Vorname", "Nachname"


@pytest.fixture
def german_page(browser: Browser) -> Iterator[Page]:
    """A browser set up for German in Berlin (it sends Accept-Language: de-DE)."""
    context = new_context(browser, locale="de-DE", timezone_id=ZONE)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def in_german(page: Page) -> None:
    """The page (as it is now, htmx swaps included) speaks German and only German."""
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert untranslated(page.content()) == [], page.url


def test_a_german_prospect_goes_the_whole_way_in_german(
    german_page: Page, live_server: LiveServer
) -> None:
    page = german_page
    anna = new_prospect("Anna", "Schmidt")

    page.goto(live_server.url)
    in_german(page)
    page.get_by_role("navigation", name="Hauptmenü").get_by_role("link", name="Bibliothek").click()
    expect(page.locator("#library-title")).to_have_text("Bibliothek")
    in_german(page)
    page.locator("#site-search-q").fill("Lead-Nurturing")
    page.locator("#site-search-q").press("Enter")
    expect(page.locator("#library-title")).to_have_text("Ergebnisse für „Lead-Nurturing“")
    in_german(page)

    # The gated German guide: its form names a mistake in German, then unlocks.
    page.locator(f'a.card__link[href="/library/{GERMAN_GUIDE}"]').first.click()
    expect(page.locator("#gate form.gate-form")).to_be_visible()
    in_german(page)
    answers = {EMAIL: "anna@", FIRST_NAME: anna.first_name, LAST_NAME: anna.last_name}
    send_gate_form(page, answers, "Zugang erhalten")
    expect(page.locator("#gate .field__error")).to_have_text(
        "Geben Sie eine E-Mail-Adresse wie name@firma.de ein."
    )
    in_german(page)
    send_gate_form(page, {EMAIL: anna.email}, "Zugang erhalten")
    expect(page.locator("#unlock-notice")).to_have_text(
        "Freigeschaltet \N{EN DASH} viel Spaß beim Lesen."
    )
    expect(page.get_by_role("link", name="PDF herunterladen")).to_be_visible()
    in_german(page)

    # An English asset speaks English to a browser that only prefers German; the switch
    # makes every page German from then on, its next form too.
    open_asset(page, live_server, BUYERS_GUIDE)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Deutsch").click()
    expect(page.locator("#gate-welcome")).to_contain_text("Willkommen zurück, Anna")
    expect(page.locator("#gate .field label")).to_have_text(["Unternehmen", "Position"])
    in_german(page)
    send_gate_form(
        page, {"Unternehmen": "Hallberg GmbH", "Position": "Leiterin Marketing"}, "Zugang erhalten"
    )
    expect(page.locator("#unlock-notice")).to_be_visible()
    in_german(page)

    page.locator("#nav-talk-to-sales").click()
    expect(page.get_by_role("heading", name="Mit dem Vertrieb sprechen")).to_be_visible()
    in_german(page)
    time.sleep(MIN_FILL_SECONDS + 0.1)  # a person reads the form before sending it
    page.get_by_role("button", name="Gespräch anfragen").click()
    expect(page.locator("#sales-thanks-title")).to_have_text("Vielen Dank, Anna!")
    in_german(page)

    # The choice stays: the English asset, the library and the home page, all in German.
    for path in (f"/library/{BUYERS_GUIDE}", "/library", "/"):
        page.goto(live_server.url + path)
        expect(page.locator("#language-de")).to_have_attribute("aria-current", "true")
        in_german(page)


def test_a_german_webinar_shows_its_time_in_the_readers_zone_the_german_way(
    german_page: Page, live_server: LiveServer
) -> None:
    page = german_page
    page.goto(live_server.url)  # the browser tells the server its zone on the first page
    open_asset(page, live_server, GERMAN_WEBINAR)
    when = page.locator(".webinar-panel time.local-time")
    with i18n.using("de"):
        expected = i18n.format_datetime(datetime.fromisoformat("2026-10-08T08:00:00+00:00"), ZONE)
    assert expected == "08.10.2026, 10:00 MESZ"
    expect(when).to_have_text(expected)
    expect(when).to_have_attribute("data-zone", ZONE)
    expect(page.locator(".webinar-panel dt").first).to_have_text("Aufgezeichnet am")
    in_german(page)
