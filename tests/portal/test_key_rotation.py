"""Secret key rotation over HTTP: a browser's CSRF cookie survives a restart with a new key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from portal.routes.console import CSRF_COOKIE
from portal.settings import Settings
from portal.signing import Purpose, Signer
from tests.factories import make_asset
from tests.support import STAFF_PASSWORD, StaffActions, app_for, csrf_token_from, html

OLD_KEY = "old-key-0123456789abcdef"
NEW_KEY = "new-key-fedcba9876543210"
SLUG = "pricing-guide"


@pytest.fixture
def gated(db: Any) -> Any:
    return make_asset(db, slug=SLUG, gate="gated", body="The **secret** pricing details.")


@contextmanager
def client_for(settings: Settings, *keys: str) -> Iterator[TestClient[Litestar]]:
    """A client of the app as it runs with ``keys`` (newest last)."""
    with app_for(settings.with_overrides(secret_keys=keys)) as app, TestClient(app) as client:
        yield client


@pytest.fixture
def before(settings: Settings) -> Iterator[TestClient[Litestar]]:
    """The browser, on the app before the restart (one key)."""
    with client_for(settings, OLD_KEY) as browser:
        yield browser


@contextmanager
def restarted(
    settings: Settings, browser: TestClient[Litestar], *keys: str
) -> Iterator[TestClient[Litestar]]:
    """The same browser (same cookies) on the app restarted with ``keys``."""
    with client_for(settings, *keys) as client:
        client.cookies = browser.cookies
        yield client


def gate_answers(page_text: str, key: str = OLD_KEY) -> dict[str, str]:
    """The gate form as a person sends it, a while after it was shown (by an app signing
    with ``key``)."""
    form = html(page_text).css_first("form.gate-form")
    assert form is not None, "no gate form on the page"
    values = {
        str(node.attributes["name"]): node.attributes.get("value") or ""
        for node in form.css("input[type=hidden]")
    }
    started = Signer((key,)).sign(Purpose.FORM_STARTED, time.time() - 30)
    return {
        **values,
        "_started": started,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }


def unlock(client: TestClient[Litestar], answers: dict[str, str]) -> Any:
    return client.post(f"/library/{SLUG}/unlock", data=answers, follow_redirects=False)


def test_a_gate_form_from_before_the_rotation_still_unlocks(
    settings: Settings, before: TestClient[Litestar], gated: Any
) -> None:
    answers = gate_answers(before.get(f"/library/{SLUG}/gate").text)

    with restarted(settings, before, OLD_KEY, NEW_KEY) as after:
        response = unlock(after, answers)
        assert response.status_code == 303, response.text
        assert "secret" in html(after.get(f"/library/{SLUG}").text).css_first(".asset__body").text()


def test_after_the_rotation_the_next_page_reissues_the_token_and_the_form_works(
    settings: Settings, before: TestClient[Litestar], gated: Any
) -> None:
    before.get(f"/library/{SLUG}/gate")
    old_cookie = before.cookies[CSRF_COOKIE]

    with restarted(settings, before, OLD_KEY, NEW_KEY) as after:
        page = after.get(f"/library/{SLUG}/gate")
        answers = gate_answers(page.text)
        assert after.cookies[CSRF_COOKIE] != old_cookie
        assert answers["_csrf_token"] == after.cookies[CSRF_COOKIE]
        assert unlock(after, answers).status_code == 303


def test_staff_sign_in_works_across_the_rotation(
    settings: Settings, before: TestClient[Litestar], db: Any
) -> None:
    email = StaffActions(before, db).create()
    token = csrf_token_from(before.get("/console/login").text)
    form = {"email": email, "password": STAFF_PASSWORD, "next": "", "_csrf_token": token}

    with restarted(settings, before, OLD_KEY, NEW_KEY) as after:
        # The login page open before the restart still signs in.
        assert after.post("/console/login", data=form, follow_redirects=False).status_code == 303
    with restarted(settings, before, OLD_KEY, NEW_KEY) as after:
        # So does the login page loaded after it.
        assert StaffActions(after, db).login(email).status_code == 303  # type: ignore[attr-defined]


def test_a_token_of_a_retired_key_is_refused_and_replaced_on_the_next_page(
    settings: Settings, before: TestClient[Litestar], gated: Any
) -> None:
    answers = gate_answers(before.get(f"/library/{SLUG}/gate").text)

    with restarted(settings, before, NEW_KEY) as after:
        assert unlock(after, answers).status_code == 403
        fresh = gate_answers(after.get(f"/library/{SLUG}/gate").text, NEW_KEY)
        assert fresh["_csrf_token"] != answers["_csrf_token"]
        assert unlock(after, fresh).status_code == 303


def test_a_form_open_in_another_tab_still_posts_after_a_page_reissues_the_token(
    settings: Settings, before: TestClient[Litestar], gated: Any, db: Any
) -> None:
    email = StaffActions(before, db).create()
    # Tab 1 shows the gate form and the staff login before the restart.
    answers = gate_answers(before.get(f"/library/{SLUG}/gate").text)
    login = {
        "email": email,
        "password": STAFF_PASSWORD,
        "next": "",
        "_csrf_token": csrf_token_from(before.get("/console/login").text),
    }
    old_cookie = before.cookies[CSRF_COOKIE]

    with restarted(settings, before, OLD_KEY, NEW_KEY) as after:
        # Tab 2 views a page: the cookie is re-signed with the newest key.
        tab2 = gate_answers(after.get(f"/library/{SLUG}/gate").text, NEW_KEY)
        assert after.cookies[CSRF_COOKIE] != old_cookie
        assert tab2["_csrf_token"] == after.cookies[CSRF_COOKIE]
        # Tab 1's forms still post.
        assert unlock(after, answers).status_code == 303
        assert after.post("/console/login", data=login, follow_redirects=False).status_code == 303
