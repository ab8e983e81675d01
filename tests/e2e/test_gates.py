"""A prospect meets the gates: reads, unlocks, is greeted back, forgets, registers.

Every test is a fresh browser (its own visitor) and a new person (a unique
email), since the server and its leads live for the whole session. The e2e
model asks for the email and names first, then company and job title, and
nothing more after that (``tests.e2e.live.E2E_MODEL``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.live import LiveServer, new_context
from tests.e2e.prospects import (
    BUSINESS_CASE,
    BUYERS_GUIDE,
    CASE_STUDY,
    NAME_LABELS,
    OPEN_ARTICLE,
    RFP_CHECKLIST,
    new_prospect,
    open_asset,
    send_gate_form,
    unlock,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    """A browser with JavaScript switched off: every gate step is a plain page and form post."""
    context = new_context(browser, java_script_enabled=False)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def expect_teaser(page: Page) -> None:
    """A locked asset: no body and no file, and the gate asks who this is."""
    expect(page.locator("#gate").get_by_label("Business email", exact=True)).to_be_visible()
    expect(page.locator(".asset__body")).to_have_count(0)
    expect(page.get_by_role("link", name="Download PDF")).to_have_count(0)


def test_anonymous_visitor_reads_an_open_asset(page: Page, live_server: LiveServer) -> None:
    open_asset(page, live_server, OPEN_ARTICLE)

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "What Is Lead Nurturing? A Practical Definition for B2B Teams"
    )
    body = page.locator(".asset__body")
    expect(body.get_by_role("heading", name="Why it matters in B2B")).to_be_visible()
    expect(page.locator("#gate")).to_have_count(0)
    expect(page.locator("form.gate-form")).to_have_count(0)
    # "Read next" is this browser's own: it loads after the (shared) page, in its place.
    expect(page.locator("#read-next [data-recommendation]").first).to_be_visible()
    expect(page.locator("#read-next-link")).to_have_count(0)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#recommended [data-recommendation]").first).to_be_visible()
    expect(page.locator("#recommended-link")).to_have_count(0)


def test_first_gate_asks_email_and_names_and_unlocks_in_place(
    page: Page, live_server: LiveServer
) -> None:
    prospect = new_prospect("Ada")
    open_asset(page, live_server, BUYERS_GUIDE)
    asset_url = page.url
    page.evaluate("window.sameDocument = true")  # gone if the browser loads another page

    expect(page.get_by_role("heading", name="Get instant access")).to_be_visible()
    expect(page.locator(".asset__summary")).to_be_visible()
    expect(page.locator(".asset__body")).to_have_count(0)
    expect(page.locator("#gate .field label")).to_have_text(NAME_LABELS)

    send_gate_form(page, prospect.answers, "Get access")

    expect(page.locator("#unlock-notice")).to_have_text("Unlocked — enjoy the read.")
    expect(page.locator(".asset__body")).to_be_visible()
    expect(page.locator("#gate")).to_have_count(0)
    assert page.url == asset_url
    assert page.evaluate("window.sameDocument") is True
    download = page.get_by_role("link", name="Download PDF")
    expect(download).to_be_visible()
    response = page.request.get(live_server.url + (download.get_attribute("href") or ""))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert response.body().startswith(b"%PDF-")


def test_a_returning_prospect_is_greeted_and_asked_less_each_time(
    page: Page, live_server: LiveServer
) -> None:
    prospect = new_prospect("Grace", "Hopper")
    unlock(page, live_server, BUYERS_GUIDE, prospect)

    open_asset(page, live_server, BUSINESS_CASE)
    gate = page.locator("#gate")
    expect(gate.locator("#gate-welcome")).to_contain_text("Welcome back, Grace")
    expect(gate.locator(".field label")).to_have_text(["Company", "Job title"])
    send_gate_form(
        page, {"Company": "Hallberg GmbH", "Job title": "Head of Marketing"}, "Get access"
    )
    expect(page.locator("#unlock-notice")).to_be_visible()
    expect(page.locator(".asset__body")).to_be_visible()

    open_asset(page, live_server, RFP_CHECKLIST)
    expect(gate.locator("#gate-welcome")).to_contain_text("Welcome back, Grace")
    expect(gate.get_by_role("heading", name="Ready when you are")).to_be_visible()
    expect(gate.locator(".field")).to_have_count(0)
    send_gate_form(page, {}, "Unlock now")
    expect(page.locator("#unlock-notice")).to_have_text("Unlocked — enjoy the read.")
    expect(page.locator(".asset__body")).to_be_visible()
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()


def test_not_you_forgets_the_prospect_in_this_browser(page: Page, live_server: LiveServer) -> None:
    prospect = new_prospect("Xiomara", "Quennell")
    unlock(page, live_server, CASE_STUDY, prospect)

    open_asset(page, live_server, BUYERS_GUIDE)
    expect(page.locator("#gate-welcome")).to_contain_text("Welcome back, Xiomara")
    page.get_by_role("button", name="not you?").click()

    expect(page).to_have_url(f"{live_server.url}/library/{BUYERS_GUIDE}")
    expect(page.locator("#gate .field label")).to_have_text(NAME_LABELS)
    expect(page.locator("#gate-welcome")).to_have_count(0)
    open_asset(page, live_server, CASE_STUDY)
    expect_teaser(page)
    expect(page.locator("#gate .field label")).to_have_text(NAME_LABELS)
    expect(page.locator("body")).not_to_contain_text("Xiomara")


def test_the_gate_works_without_javascript(no_js_page: Page, live_server: LiveServer) -> None:
    page = no_js_page
    prospect = new_prospect("Linus")
    open_asset(page, live_server, BUSINESS_CASE)
    expect(page.locator(".asset__body")).to_have_count(0)
    # Without JavaScript "Read next" is a link to a page of its own.
    page.locator("#read-next-link").click()
    expect(page).to_have_url(f"{live_server.url}/library/{BUSINESS_CASE}/next")
    expect(page.locator("#read-next [data-recommendation]").first).to_be_visible()
    open_asset(page, live_server, BUSINESS_CASE)
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/library/{BUSINESS_CASE}/gate")

    send_gate_form(page, prospect.answers, "Get access")

    expect(page).to_have_url(f"{live_server.url}/library/{BUSINESS_CASE}")
    expect(page.locator(".asset__body")).to_be_visible()
    expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
    expect(page.locator("#gate")).to_have_count(0)


def test_a_form_without_its_csrf_token_is_refused(
    no_js_page: Page, live_server: LiveServer
) -> None:
    page = no_js_page
    prospect = new_prospect("Mallory")
    page.goto(f"{live_server.url}/library/{RFP_CHECKLIST}/gate")
    page.locator('#gate input[name="_csrf_token"]').evaluate("input => input.remove()")

    with page.expect_response(f"**/library/{RFP_CHECKLIST}/unlock") as answer:
        send_gate_form(page, prospect.answers, "Get access")

    assert answer.value.status == 403
    expect(page.locator(".error-page__code")).to_have_text("403")
    expect(page.locator(".error-page__message")).to_have_text("CSRF token verification failed")
    open_asset(page, live_server, RFP_CHECKLIST)
    expect(page.locator(".asset__body")).to_have_count(0)
    expect(page.get_by_role("link", name="Continue")).to_be_visible()


def test_a_forged_download_link_gets_a_form_not_the_file(
    page: Page, live_server: LiveServer
) -> None:
    response = page.goto(f"{live_server.url}/library/{BUYERS_GUIDE}/download?t=forged")

    assert response is not None
    assert response.status == 403
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#gate-notice")).to_contain_text(
        "This download link has expired or is not valid."
    )
    expect(page.locator("#gate .field label")).to_have_text(NAME_LABELS)
    expect(page.get_by_role("button", name="Get access")).to_be_visible()


def test_an_invalid_email_is_explained_next_to_the_field(
    page: Page, live_server: LiveServer
) -> None:
    prospect = new_prospect("Katherine", "Johnson")
    open_asset(page, live_server, CASE_STUDY)
    typed = {**prospect.answers, "Business email": "katherine.at.example.com"}

    send_gate_form(page, typed, "Get access")

    email = page.get_by_label("Business email", exact=True)
    error = page.locator("#gate-email-error")
    expect(error).to_have_text("Enter an email address like name@company.com.")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_attribute("aria-describedby", "gate-email-error")
    expect(email).to_have_value("katherine.at.example.com")
    expect(page.get_by_label("First name", exact=True)).to_have_value("Katherine")
    expect(page.get_by_label("Last name", exact=True)).to_have_value("Johnson")
    expect(page.locator(".asset__body")).to_have_count(0)

    send_gate_form(page, {"Business email": prospect.email}, "Get access")
    expect(page.locator("#unlock-notice")).to_be_visible()
    expect(page.locator(".asset__body")).to_be_visible()


def test_registering_for_a_webinar_offers_the_calendar_entry(
    page: Page, live_server: LiveServer, upcoming_webinar: str
) -> None:
    prospect = new_prospect("Hedy", "Lamarr")
    open_asset(page, live_server, upcoming_webinar)
    gate = page.locator("#gate")
    expect(gate.get_by_role("heading", name="Register for this webinar")).to_be_visible()
    expect(gate.locator(".field label")).to_have_text(NAME_LABELS)
    expect(gate.get_by_role("button", name="Register")).to_be_visible()
    expect(page.get_by_role("link", name="Add to calendar")).to_have_count(0)

    send_gate_form(page, prospect.answers, "Register")

    expect(page.locator("#unlock-notice")).to_have_text(
        "You are registered. Add the webinar to your calendar below."
    )
    calendar = page.get_by_role("link", name="Add to calendar")
    expect(calendar).to_have_attribute("href", f"/library/{upcoming_webinar}/calendar.ics")
    response = page.request.get(live_server.url + (calendar.get_attribute("href") or ""))
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "Scoring Clinic: Bring Your Model" in response.text()
