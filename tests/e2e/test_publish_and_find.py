"""An editor publishes a whitepaper with a PDF; a prospect finds it by a word only in the PDF."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveServer
from tests.pdfs import make_pdf

pytestmark = pytest.mark.e2e

PDF_ONLY_WORD = "quorbitmatrix"


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_label("Email").fill(server.admin_email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/console")


def test_editor_publishes_a_pdf_and_a_prospect_finds_it(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    pdf = tmp_path / "scoring-field-guide.pdf"
    pdf.write_bytes(
        make_pdf(
            [
                "The Scoring Field Guide",
                f"Chapter two introduces the {PDF_ONLY_WORD} for weighting intent signals.",
                "Chapter three: thresholds.",
            ]
        )
    )
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/console/assets/new")
    page.locator("#title").fill("The Scoring Field Guide")
    page.locator("#summary").fill("How B2B teams weigh fit and intent.")
    page.locator("#body").fill("## What is inside\n\nA practical guide to **lead scoring**.")
    page.locator("#kind").select_option("whitepaper")
    page.locator("#stage").select_option("consideration")
    page.locator("#gate").select_option("open")
    page.locator("#new_topics").fill("lead-scoring")
    page.locator("#file").set_input_files(str(pdf))
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".status-badge.status-badge--published").first).to_be_visible()

    # A prospect (a fresh browser context) searches for a word that only the PDF contains.
    prospect = page.context.browser.new_context()  # type: ignore[union-attr]
    visitor = prospect.new_page()
    deadline = time.monotonic() + 20
    while True:
        visitor.goto(f"{live_server.url}/")
        visitor.locator(
            'main form[role="search"] input[name="q"], form[role="search"] input[name="q"]'
        ).first.fill(PDF_ONLY_WORD)
        visitor.locator('form[role="search"] input[name="q"]').first.press("Enter")
        found = visitor.get_by_role("link", name="The Scoring Field Guide")
        if found.count() > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)  # the index catches up from the change log every few seconds
    expect(found.first).to_be_visible()
    found.first.click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("The Scoring Field Guide")
    download = visitor.get_by_role("link", name="Download PDF")
    expect(download).to_be_visible()
    response = visitor.request.get(live_server.url + (download.get_attribute("href") or ""))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    prospect.close()
