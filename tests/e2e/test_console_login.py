"""A staff member signs in through a real browser, and a wrong password keeps them out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import LiveServer

pytestmark = pytest.mark.e2e


def test_staff_signs_in_and_sees_the_console(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/console")
    expect(page).to_have_url(f"{live_server.url}/console/login?next=/console")
    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/console")
    expect(page.get_by_role("heading", name="Welcome, Erin Admin")).to_be_visible()
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Staff & API tokens")).to_be_visible()
    expect(page.locator(".role-badge")).to_have_text("admin")

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#login-notice")).to_have_text("You have signed out.")
    page.goto(f"{live_server.url}/console")
    expect(page).to_have_url(f"{live_server.url}/console/login?next=/console")


def test_wrong_password_shows_the_error_and_opens_no_session(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/console/login")
    page.get_by_label("Email").fill(live_server.admin_email)
    page.get_by_label("Password").fill("definitely-wrong")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_label("Email")).to_have_value(live_server.admin_email)
    expect(page.get_by_label("Password")).to_have_value("")
    cookies = {c["name"] for c in page.context.cookies()}
    assert "ls_staff" not in cookies
    page.goto(f"{live_server.url}/console")
    expect(page).to_have_url(f"{live_server.url}/console/login?next=/console")
