"""An admin adds a webhook endpoint in the browser, copies its secret once, and finds one endpoint.

The secret page used to arrive labelled ``application/json``: Chromium printed the
page source, the secret was lost in it, and trying again made a second endpoint.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveServer

pytestmark = pytest.mark.e2e


def sign_in(page: Page, server: LiveServer, path: str) -> None:
    page.goto(f"{server.url}{path}")
    page.get_by_label("Email").fill(server.admin_email)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()


def test_an_admin_creates_an_endpoint_sees_its_secret_once_and_one_endpoint_is_listed(
    page: Page, live_server: LiveServer
) -> None:
    # A public IP literal passes the SSRF check without DNS; it subscribes to one event type
    # only, and is disabled at the end so other tests' leads send it nothing.
    url = f"https://93.184.215.14/hooks/{uuid.uuid4().hex[:8]}"
    sign_in(page, live_server, "/console/webhooks/new")
    expect(page.get_by_role("heading", name="New webhook endpoint")).to_be_visible()
    page.get_by_label("URL").fill(url)
    for box in page.locator("[name=event_types]").all():
        box.uncheck()
    page.locator("[name=event_types][value='lead.milestone']").check()
    page.get_by_role("button", name="Create endpoint").click()

    expect(page.get_by_role("heading", name="Endpoint created")).to_be_visible()
    secret = page.get_by_role("textbox", name="Secret")
    expect(secret).to_have_value(re.compile(r"^whsec_[\w-]{20,}$"))
    assert "<!DOCTYPE" not in page.locator("body").inner_text()

    page.reload()  # a GET page: the reload posts nothing and no longer shows the secret
    expect(page.locator("#secret-gone")).to_be_visible()
    expect(page.get_by_role("textbox", name="Secret")).to_have_count(0)

    page.get_by_role("link", name="All webhooks").click()
    rows = page.locator(".endpoint-row").filter(has_text=url)
    expect(rows).to_have_count(1)

    rows.get_by_role("link", name=url).click()
    page.locator("#toggle-enabled").click()
    expect(page.locator("#endpoint-status")).to_have_text("Disabled")
