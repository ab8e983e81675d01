"""The privacy policy: every public form links to it (``LEADSHELF_PRIVACY_URL``, by default the
built-in /privacy page), and an admin edits the built-in page's text in the console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborNode
from sqlalchemy import select

from content.site_pages import SitePage
from portal.accounts.models import Role
from portal.db import Database
from portal.settings import Settings, SettingsError
from tests.factories import make_asset
from tests.portal.forms import HTMX
from tests.support import StaffActions, app_for, csrf_token_from, html

Client = TestClient[Litestar]
EXTERNAL = "https://pipewise.example/legal/privacy"


def test_the_setting_defaults_to_the_built_in_page_and_reads_the_environment() -> None:
    assert Settings().privacy_url == "/privacy"
    environ = {"LEADSHELF_PRIVACY_URL": EXTERNAL}
    assert Settings.from_env(environ).privacy_url == EXTERNAL


@pytest.mark.parametrize("url", ["privacy", "//evil.example/p", "javascript:alert(1)", "ftp://x/"])
def test_a_privacy_url_that_is_no_page_is_refused_by_name(url: str) -> None:
    with pytest.raises(SettingsError, match="privacy_url"):
        Settings(privacy_url=url)


@pytest.fixture
def portal(settings: Settings) -> Iterator[Any]:
    """Open the portal with some settings changed."""
    with ExitStack() as opened:

        def open_portal(**overrides: Any) -> Client:
            app = opened.enter_context(app_for(settings.with_overrides(**overrides)))
            return opened.enter_context(TestClient(app))

        yield open_portal


def policy_links(node: LexborNode | None) -> list[str]:
    assert node is not None
    return [
        a.attributes.get("href") or ""
        for a in node.css("a")
        if "privacy policy" in a.text(strip=True).lower()
    ]


@pytest.mark.parametrize("privacy_url", ["/privacy", EXTERNAL])
def test_every_public_form_links_to_the_privacy_policy(
    portal: Any, db: Database, privacy_url: str
) -> None:
    make_asset(db, slug="pricing-guide", gate="gated", stage="decision")
    overrides = {"consent_mode": "opt-in"}
    if privacy_url != "/privacy":
        overrides["privacy_url"] = privacy_url
    client = portal(**overrides)

    gate_fragment = html(client.get("/library/pricing-guide/gate", headers=HTMX).text)
    gate_page = html(client.get("/library/pricing-guide/gate").text)
    sales_page = html(client.get("/talk-to-sales").text)
    with_banner = html(client.get("/library").text)
    choices = html(client.get("/consent").text)

    assert policy_links(gate_fragment.css_first("form.gate-form")) == [privacy_url]
    assert policy_links(gate_page.css_first("form.gate-form")) == [privacy_url]
    assert policy_links(sales_page.css_first("form.sales-form")) == [privacy_url]
    assert policy_links(with_banner.css_first("#consent-banner")) == [privacy_url]
    assert privacy_url in policy_links(choices.css_first("main"))


def test_the_built_in_page_shows_the_default_text(client: Client) -> None:
    response = client.get("/privacy")

    assert response.status_code == 200
    page = html(response.text)
    assert page.css_first("h1").text(strip=True) == "Privacy policy"
    assert "cookie" in page.css_first(".prose").text().lower()


def test_an_admin_edits_the_text_and_the_page_shows_it_sanitized(
    client: Client, staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.ADMIN)
    nav = html(client.get("/console").text).css_first("nav.console-nav")
    assert "/console/privacy" in [a.attributes.get("href") for a in nav.css("a")]
    form = client.get("/console/privacy")
    assert form.status_code == 200
    textarea = html(form.text).css_first("textarea[name=body]")
    assert "cookie" in textarea.text().lower()  # the built-in text, ready to edit

    body = (
        "## Who we are\n\nPipewise GmbH, Berlin. <script>alert(1)</script>\n\n"
        "[Mail us](mailto:privacy@pipewise.example)"
    )
    saved = client.post(
        "/console/privacy",
        data={"body": body, "_csrf_token": csrf_token_from(form.text)},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    page = html(client.get("/privacy").text)
    prose = page.css_first(".prose")
    assert prose.css_first("h2").text(strip=True) == "Who we are"
    assert "Pipewise GmbH, Berlin." in prose.text()
    assert prose.css_first("script") is None
    assert prose.css_first('a[href="mailto:privacy@pipewise.example"]') is not None
    with db.read() as session:
        row = session.scalars(select(SitePage)).one()
    assert (row.name, row.language, row.body, row.updated_by) == (
        "privacy",
        "en",
        body,
        "admin@example.com",
    )
    again = html(client.get("/console/privacy").text)
    assert again.css_first("textarea[name=body]").text() == body


def test_an_empty_text_is_refused_and_the_built_in_text_can_come_back(
    client: Client, staff: StaffActions
) -> None:
    staff.sign_in_as(Role.ADMIN)
    form = client.get("/console/privacy")
    token = csrf_token_from(form.text)
    refused = client.post("/console/privacy", data={"body": "  \n ", "_csrf_token": token})
    assert refused.status_code == 422
    assert html(refused.text).css_first("#body-error") is not None

    client.post("/console/privacy", data={"body": "Our own words.", "_csrf_token": token})
    assert "Our own words." in html(client.get("/privacy").text).css_first(".prose").text()
    restored = client.post(
        "/console/privacy",
        data={"restore": "built-in", "_csrf_token": token},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    assert "Our own words." not in html(client.get("/privacy").text).css_first(".prose").text()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.MARKETER])
def test_only_admins_edit_the_privacy_policy(
    client: Client, staff: StaffActions, role: Role
) -> None:
    staff.sign_in_as(role)
    nav = html(client.get("/console").text).css_first("nav.console-nav")
    assert "/console/privacy" not in [a.attributes.get("href") for a in nav.css("a")]
    assert client.get("/console/privacy").status_code == 403
    token = csrf_token_from(client.get("/console").text)  # the sign-out form's
    refused = client.post("/console/privacy", data={"body": "Mine now.", "_csrf_token": token})
    assert refused.status_code == 403
    assert "Mine now." not in client.get("/privacy").text


def test_saving_needs_the_csrf_token(client: Client, staff: StaffActions) -> None:
    staff.sign_in_as(Role.ADMIN)
    client.get("/console/privacy")
    response = client.post("/console/privacy", data={"body": "No token."})
    assert response.status_code == 403
    assert "No token." not in client.get("/privacy").text
