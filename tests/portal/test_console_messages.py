"""The console speaks the words its pages show: form errors name the labels of the menus,
and a page a role may not open keeps the console around it with a way back."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from content.editing import validate_draft
from portal.accounts.models import Role
from tests.portal.console_forms import GOOD_FORM, send_asset_form
from tests.support import StaffActions, html

INTERNAL_NAMES = ("awareness", "consideration", "case_study", "whitepaper", "gated")


def test_choice_errors_name_the_labels_of_the_menu() -> None:
    _, errors = validate_draft({**GOOD_FORM, "kind": "", "stage": "", "gate": "paywall"})
    assert str(errors["kind"]) == (
        "Choose a type: Whitepaper, E-book, Webinar, Case study, Checklist, Video, Article "
        "or Datasheet."
    )
    assert str(errors["stage"]) == (
        "Choose a stage: Getting started, Compare approaches, Decide or For customers."
    )
    assert str(errors["gate"]) == "'paywall' is not an access we offer. Choose Open, Gated or Soft."


def test_an_import_file_is_told_the_values_it_may_write() -> None:
    _, errors = validate_draft({**GOOD_FORM, "stage": "awarness"}, labelled=False)
    assert str(errors["stage"]) == (
        "'awarness' is not a stage we offer. Choose awareness, consideration, decision or customer."
    )


def test_the_editor_form_shows_labels_not_internal_values(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.EDITOR)
    form = {**GOOD_FORM, "kind": "", "stage": "", "action": "save"}
    page = html(send_asset_form(client, "/console/assets/new", form).text)
    for field in ("kind", "stage"):
        shown = page.css_first(f"#error-{field}").text()
        assert not any(name in shown for name in INTERNAL_NAMES), shown
        menu = [o.text().strip() for o in page.css(f"#{field} option") if o.attributes["value"]]
        assert all(label in shown for label in menu), (shown, menu)
    summary = page.css_first("#error-summary").text()
    assert "Getting started" in summary
    assert "awareness" not in summary


def test_a_bad_lead_filter_is_named_as_the_filter_form_names_it(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.MARKETER)
    page = html(client.get("/console/leads?active_from=01.03.2026").text)
    problem = page.css_first("#lead-results [role=alert]").text()
    assert problem == "Last active from must be a date (YYYY-MM-DD)"
    labels = [i.attributes.get("aria-label") for i in page.css(".lead-filters__ranges input")]
    assert "Last active from" in labels


@pytest.mark.parametrize(
    ("role", "path", "allowed"),
    [
        (Role.EDITOR, "/console/leads", "/console/assets"),
        (Role.EDITOR, "/console/webhooks", "/console/assets"),
        (Role.MARKETER, "/console/assets/new", "/console/leads"),
        (Role.MARKETER, "/console/staff", "/console/leads"),
    ],
)
def test_a_forbidden_console_page_keeps_the_console_and_links_what_the_role_may_use(
    client: TestClient[Litestar], staff: StaffActions, role: Role, path: str, allowed: str
) -> None:
    staff.sign_in_as(role)
    response = client.get(path)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    page = html(response.text)
    menu = [a.attributes["href"] for a in page.css(".console-nav a")]
    own_menu = [
        a.attributes["href"] for a in html(client.get("/console").text).css(".console-nav a")
    ]
    assert menu == own_menu
    assert path not in menu
    assert page.css_first(".role-badge").text() == role.value
    # The page asked for is in no section of the menu: none is marked as the current one.
    assert page.css('.console-nav a[aria-current="page"]') == []
    main = page.css_first("main")
    assert "can't open" in main.css_first("h1").text()
    assert f"you are signed in as {role.value}" in main.css_first(".error-page__message").text()
    assert allowed in [a.attributes["href"] for a in main.css("a")]
    assert path not in [a.attributes["href"] for a in main.css("a")]


def test_a_missing_lead_is_reported_inside_the_console(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.MARKETER)
    response = client.get("/console/leads/987654")
    assert response.status_code == 404
    page = html(response.text)
    assert "/console/leads" in [a.attributes["href"] for a in page.css(".console-nav a")]
    current = page.css_first('.console-nav a[aria-current="page"]')
    assert current is not None
    assert current.attributes["href"] == "/console/leads"
    message = page.css_first("main .error-page__message").text()
    assert "library" not in message
    assert "merged" in message


def test_a_forbidden_page_outside_a_session_still_goes_to_the_login(
    client: TestClient[Litestar],
) -> None:
    response = client.get("/console/leads", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login")
