"""Staff sign-in, sign-out, session rotation, CSRF, throttling and role-aware console shell."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from portal.accounts import service
from portal.accounts.guards import STAFF_COOKIE
from portal.accounts.models import Role
from portal.console_nav import SECTIONS
from portal.db import Database
from tests.support import STAFF_PASSWORD, StaffActions, csrf_token_from, html


def test_login_page_has_a_csrf_protected_form(client: TestClient[Litestar]) -> None:
    page = client.get("/console/login")
    assert page.status_code == 200
    form = html(page.text).css_first("form.login-form")
    assert form is not None
    assert form.attributes["method"] == "post"
    assert csrf_token_from(page.text)
    assert html(page.text).css_first('input[name="password"]').attributes["type"] == "password"


def test_login_without_csrf_token_is_refused(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    email = staff.create(Role.EDITOR)
    response = client.post(
        "/console/login",
        data={"email": email, "password": STAFF_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert STAFF_COOKIE not in response.cookies


def test_right_password_opens_the_console(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    email = staff.create(Role.MARKETER)
    response = staff.login(email)
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert f"{STAFF_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("samesite", "SameSite")
    console = client.get("/console")
    assert console.status_code == 200
    page = html(console.text)
    assert email in page.css_first("body").text()
    assert page.css_first(".role-badge").text(strip=True).lower() == "marketer"


def test_wrong_password_shows_error_keeps_email_and_sets_no_session(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    email = staff.create(Role.ADMIN)
    response = staff.login(email, password="not the password")
    assert response.status_code == 401
    page = html(response.text)
    assert page.css_first("#login-error").text(strip=True) == "Email or password is incorrect."
    assert page.css_first('input[name="email"]').attributes["value"] == email
    assert "not the password" not in response.text
    assert STAFF_COOKIE not in client.cookies
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_login_is_throttled_with_a_clear_message(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    email = staff.create(Role.EDITOR)
    for _ in range(service.MAX_FAILURES_PER_EMAIL):
        assert staff.login(email, password="wrong-guess-123").status_code == 401
    response = staff.login(email)  # even the right password waits now
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    message = html(response.text).css_first("#login-error").text(strip=True)
    assert message.startswith("Too many sign-in attempts. Try again in")
    assert STAFF_COOKIE not in client.cookies


def test_session_id_is_rotated_at_login(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    email = staff.create(Role.ADMIN)
    staff.login(email)
    first = client.cookies[STAFF_COOKIE]
    staff.login(email)
    second = client.cookies[STAFF_COOKIE]
    assert first != second
    with db.read() as session:
        assert service.principal_for_session(session, first) is None
        assert service.principal_for_session(session, second) is not None


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/console/staff", "/console/staff"),
        ("/console?tab=x", "/console?tab=x"),
        ("//evil.example/phish", "/console"),
        ("https://evil.example/", "/console"),
        ("/\\evil.example", "/console"),
        ("javascript:alert(1)", "/console"),
    ],
)
def test_login_redirects_only_to_same_site_paths(
    client: TestClient[Litestar], staff: StaffActions, next_url: str, expected: str
) -> None:
    email = staff.create(Role.ADMIN)
    response = staff.login(email, next_url=next_url)
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_signed_out_visitor_is_sent_to_login_and_back(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    response = client.get("/console/staff?sort=role", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/staff%3Fsort%3Drole"
    login_page = client.get(response.headers["location"])
    assert html(login_page.text).css_first('input[name="next"]').attributes["value"] == (
        "/console/staff?sort=role"
    )


def test_htmx_request_without_session_gets_client_redirect(client: TestClient[Litestar]) -> None:
    response = client.get("/console", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["hx-redirect"].startswith("/console/login?next=")


def test_logout_ends_the_session_everywhere(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.EDITOR)
    token = client.cookies[STAFF_COOKIE]
    console = client.get("/console")
    signout = html(console.text).css_first("form.signout")
    assert signout.attributes["action"] == "/console/logout"
    response = client.post(
        "/console/logout",
        data={"_csrf_token": csrf_token_from(console.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?signed_out=1"
    with db.read() as session:
        assert service.principal_for_session(session, token) is None
    client.cookies.set(STAFF_COOKIE, token)  # a stolen copy of the old cookie is useless
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_logout_needs_csrf(client: TestClient[Litestar], staff: StaffActions) -> None:
    staff.sign_in_as(Role.EDITOR)
    response = client.post("/console/logout", follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/console").status_code == 200


@pytest.mark.parametrize("role", list(Role))
def test_console_menu_shows_only_what_the_role_may_use(
    client: TestClient[Litestar], staff: StaffActions, role: Role
) -> None:
    staff.sign_in_as(role)
    page = html(client.get("/console").text)
    shown = {a.attributes["href"] for a in page.css(".console-nav .console-nav__item")}
    allowed = {s.url for s in SECTIONS if role in s.roles}
    assert shown == allowed
    for section in SECTIONS:
        status = client.get(section.url).status_code
        assert status == (200 if role in section.roles else 403), section.url


def test_forbidden_section_shows_friendly_page(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.MARKETER)
    response = client.get("/console/staff")
    assert response.status_code == 403
    assert html(response.text).css_first("h1") is not None
    assert "admin" in response.text


def test_admin_sees_staff_and_tokens_but_never_secrets(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.ADMIN)
    staff.create(Role.EDITOR, email="eddie@example.com")
    with db.write() as session:
        raw = service.create_token(session, "crm-sync")
    page = client.get("/console/staff")
    assert page.status_code == 200
    text = html(page.text).css_first("main").text()
    assert "eddie@example.com" in text
    assert "crm-sync" in text
    assert raw not in page.text
    assert "$argon2" not in page.text


def test_console_pages_are_not_cached(client: TestClient[Litestar], staff: StaffActions) -> None:
    staff.sign_in_as(Role.ADMIN)
    assert client.get("/console").headers["cache-control"] == "no-store"


def test_signed_in_user_visiting_login_goes_to_console(
    client: TestClient[Litestar], staff: StaffActions
) -> None:
    staff.sign_in_as(Role.ADMIN)
    response = client.get("/console/login?next=/console/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/staff"


def test_deactivated_user_is_signed_out(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    email = staff.sign_in_as(Role.EDITOR)
    with db.write() as session:
        from sqlalchemy import update

        from portal.accounts.models import StaffUser

        session.execute(update(StaffUser).where(StaffUser.email == email).values(is_active=False))
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_admin_creates_a_read_token_in_the_console_and_sees_it_once(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.ADMIN)
    page = client.get("/console/staff")
    form = html(page.text).css_first("form.token-form")
    assert form is not None
    checked = form.css_first('input[name="scope"][checked]')
    assert checked is not None
    assert checked.attributes["value"] == "read"

    created = client.post(
        "/console/staff/tokens",
        data={"name": "bi-dashboard", "scope": "read", "_csrf_token": csrf_token_from(page.text)},
    )
    shown = html(created.text).css_first("#new-token code")
    assert created.status_code == 200
    assert shown is not None
    raw = shown.text()
    with db.read() as session:
        assert service.token_for(session, raw) == service.TokenPrincipal("bi-dashboard", "read")
    rows = {
        row.css_first("th").text(): row.css_first(".token-scope").text()
        for row in html(client.get("/console/staff").text).css(".tokens-table tbody tr")
    }
    assert rows == {"bi-dashboard": "read"}
    assert raw not in client.get("/console/staff").text


def test_a_token_form_with_a_taken_name_keeps_the_values_and_says_why(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.ADMIN)
    with db.write() as session:
        service.create_token(session, "crm-sync")
    page = client.get("/console/staff")
    refused = client.post(
        "/console/staff/tokens",
        data={"name": "crm-sync", "scope": "write", "_csrf_token": csrf_token_from(page.text)},
    )
    tree = html(refused.text)
    assert refused.status_code == 422
    assert "already exists" in tree.css_first("#error-token-name").text()
    assert tree.css_first("#token-name").attributes["value"] == "crm-sync"
    assert tree.css_first('input[name="scope"][checked]').attributes["value"] == "write"


def test_only_admins_create_tokens(client: TestClient[Litestar], staff: StaffActions) -> None:
    staff.sign_in_as(Role.MARKETER)
    page = client.get("/console")
    response = client.post(
        "/console/staff/tokens",
        data={"name": "sneaky", "scope": "write", "_csrf_token": csrf_token_from(page.text)},
    )
    assert response.status_code == 403
