"""The admin's webhook console: who may open it, the secret shown once, test, replay, SSRF."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from nurture import endpoints
from nurture.models import WebhookDelivery, WebhookEndpoint
from portal.accounts.models import Role
from portal.db import Database
from portal.settings import Settings
from tests.nurture.outbox import identify
from tests.support import StaffActions, app_for, csrf_token_from, html
from tests.webhook_receiver import Receiver, receiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback receivers allowed; the in-process worker off unless a test turns it on."""
    return replace(settings, webhook_allow_networks="127.0.0.0/8", outbox_in_process=False)


@pytest.fixture
def crm() -> Iterator[Receiver]:
    with receiver() as found:
        yield found


def create_endpoint(client: TestClient[Litestar], url: str, types: list[str]) -> object:
    page = client.get("/console/webhooks/new")
    return client.post(
        "/console/webhooks/new",
        data={
            "url": url,
            "description": "Our CRM",
            "event_types": types,
            "_csrf_token": csrf_token_from(page.text),
        },
    )


def edit_endpoint(client: TestClient[Litestar], endpoint_id: int, **fields: object) -> Any:
    """Send the endpoint's edit form with ``fields`` (and the page's CSRF token)."""
    page = client.get(f"/console/webhooks/{endpoint_id}")
    return client.post(
        f"/console/webhooks/{endpoint_id}",
        data={**fields, "_csrf_token": csrf_token_from(page.text)},
    )


def only_endpoint(db: Database) -> WebhookEndpoint:
    with db.read() as session:
        return session.scalars(select(WebhookEndpoint)).one()


@pytest.mark.parametrize("role", [Role.EDITOR, Role.MARKETER])
def test_only_admins_may_open_the_webhook_console(
    client: TestClient[Litestar], staff: StaffActions, role: Role
) -> None:
    staff.sign_in_as(role)
    assert client.get("/console/webhooks").status_code == 403
    assert client.get("/console/webhooks/new").status_code == 403
    nav = [a.text() for a in html(client.get("/console").text).css(".console-nav a")]
    assert "Webhooks" not in nav


def test_anonymous_visitors_are_sent_to_the_login(client: TestClient[Litestar]) -> None:
    response = client.get("/console/webhooks", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/console/login")


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(
    client: TestClient[Litestar], staff: StaffActions, db: Database, crm: Receiver
) -> None:
    staff.sign_in_as(Role.ADMIN)
    assert "Webhooks" in [a.text() for a in html(client.get("/console").text).css(".console-nav a")]
    created = create_endpoint(client, crm.url, ["lead.mql", "lead.identified"])
    assert getattr(created, "status_code", None) == 200
    assert getattr(created, "headers", {})["content-type"].startswith("text/html")
    shown = html(getattr(created, "text", "")).css_first("#secret").attributes["value"]
    endpoint = only_endpoint(db)
    assert shown == endpoint.secret
    assert shown is not None
    assert shown.startswith("whsec_")
    assert endpoint.event_types == ["lead.identified", "lead.mql"]
    listing = client.get("/console/webhooks").text
    assert crm.url in html(listing).css_first(".endpoints-table").text()
    detail = client.get(f"/console/webhooks/{endpoint.id}").text
    assert shown not in detail
    assert shown not in listing


def test_the_secret_page_follows_a_redirect_so_a_reload_creates_nothing(
    client: TestClient[Litestar], staff: StaffActions, db: Database, crm: Receiver
) -> None:
    """POST-redirect-GET: the secret shows once on a GET page; reloading it posts nothing."""
    staff.sign_in_as(Role.ADMIN)
    page = client.get("/console/webhooks/new")
    posted = client.post(
        "/console/webhooks/new",
        data={
            "url": crm.url,
            "event_types": ["lead.mql"],
            "_csrf_token": csrf_token_from(page.text),
        },
        follow_redirects=False,
    )
    endpoint = only_endpoint(db)
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/console/webhooks/{endpoint.id}/secret"
    shown = client.get(posted.headers["location"])
    assert shown.headers["content-type"].startswith("text/html")
    assert "no-store" in shown.headers["cache-control"]
    assert html(shown.text).css_first("#secret").attributes["value"] == endpoint.secret
    reloaded = client.get(posted.headers["location"])
    assert reloaded.status_code == 200
    assert html(reloaded.text).css_first("#secret") is None
    assert endpoint.secret not in reloaded.text
    assert "Rotate" in html(reloaded.text).css_first("main").text()
    assert only_endpoint(db).id == endpoint.id


def test_an_invalid_edit_answers_an_html_form(
    client: TestClient[Litestar], staff: StaffActions, db: Database, crm: Receiver
) -> None:
    staff.sign_in_as(Role.ADMIN)
    create_endpoint(client, crm.url, ["lead.mql"])
    endpoint = only_endpoint(db)
    refused = edit_endpoint(
        client, endpoint.id, url="http://10.0.0.5/hook", event_types=["lead.mql"]
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert html(refused.text).css_first("#error-url").text() == "10.0.0.5 is a private address"


def test_a_private_target_is_refused_in_the_form(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.ADMIN)
    response = create_endpoint(client, "http://10.0.0.5/hook", ["lead.mql"])
    assert getattr(response, "status_code", None) == 400
    page = html(getattr(response, "text", ""))
    assert page.css_first("#error-url").text() == "10.0.0.5 is a private address"
    assert page.css_first("#url").attributes["value"] == "http://10.0.0.5/hook"
    with db.read() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


@pytest.mark.parametrize(
    ("url", "types", "field", "message"),
    [
        ("http://10.0.0.5/hook", ["lead.milestone"], "url", "10.0.0.5 is a private address"),
        ("http://127.0.0.1:9/hook", [], "event_types", "choose at least one event type"),
    ],
)
def test_a_refused_endpoint_form_says_why_and_keeps_what_was_chosen(
    client: TestClient[Litestar],
    staff: StaffActions,
    db: Database,
    url: str,
    types: list[str],
    field: str,
    message: str,
) -> None:
    staff.sign_in_as(Role.ADMIN)
    response = create_endpoint(client, url, types)
    assert getattr(response, "status_code", None) == 400
    page = html(getattr(response, "text", ""))
    assert page.css_first(f"#error-{field}").text() == message
    assert page.css_first("#url").attributes["value"] == url
    assert page.css_first("#description").attributes["value"] == "Our CRM"
    ticked = [box.attributes["value"] for box in page.css("input[name=event_types][checked]")]
    assert ticked == types
    with db.read() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient[Litestar], staff: StaffActions, db: Database, crm: Receiver
) -> None:
    staff.sign_in_as(Role.ADMIN)
    response = client.post(
        "/console/webhooks/new", data={"url": crm.url, "event_types": ["lead.mql"]}
    )
    assert response.status_code == 403
    with db.read() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_send_test_shows_the_result_and_lists_the_delivery(
    client: TestClient[Litestar], staff: StaffActions, db: Database, crm: Receiver
) -> None:
    staff.sign_in_as(Role.ADMIN)
    create_endpoint(client, crm.url, ["lead.mql"])
    endpoint = only_endpoint(db)
    detail = client.get(f"/console/webhooks/{endpoint.id}")
    result = client.post(
        f"/console/webhooks/{endpoint.id}/test",
        data={"_csrf_token": csrf_token_from(detail.text)},
    )
    page = html(result.text)
    assert "Delivered: the endpoint answered 204." in page.css_first("#test-result").text()
    (row,) = page.css(".delivery-row")
    assert row.attributes["data-status"] == "delivered"
    assert row.css_first(".delivery-response").text().strip() == "204"
    (got,) = crm.received
    assert got.signed_by(endpoint.secret)


def test_rotate_disable_and_replay(
    client: TestClient[Litestar], staff: StaffActions, db: Database
) -> None:
    staff.sign_in_as(Role.ADMIN)
    with receiver(listening=False) as down:
        create_endpoint(client, down.url, ["lead.identified"])
        endpoint = only_endpoint(db)
        token = csrf_token_from(client.get(f"/console/webhooks/{endpoint.id}").text)
        failed = client.post(f"/console/webhooks/{endpoint.id}/test", data={"_csrf_token": token})
        assert "Not delivered" in html(failed.text).css_first("#test-result").text()
        (row,) = html(failed.text).css(".delivery-row")
        assert row.attributes["data-status"] == "dead"
        replayed = client.post(
            f"/console/webhooks/{endpoint.id}/deliveries/{row.attributes['data-delivery']}/replay",
            data={"_csrf_token": token},
        )
        assert "queued again" in html(replayed.text).css_first('[role="status"]').text()
        (row,) = html(replayed.text).css(".delivery-row")
        assert row.attributes["data-status"] == "pending"

        rotated = client.post(
            f"/console/webhooks/{endpoint.id}/rotate", data={"_csrf_token": token}
        )
        assert rotated.url.path == f"/console/webhooks/{endpoint.id}/secret"
        new_secret = html(rotated.text).css_first("#secret").attributes["value"]
        assert new_secret not in (None, endpoint.secret)
        assert only_endpoint(db).secret == new_secret

        disabled = client.post(
            f"/console/webhooks/{endpoint.id}/enabled", data={"enabled": "0", "_csrf_token": token}
        )
        assert html(disabled.text).css_first("#endpoint-status").text() == "Disabled"
        assert only_endpoint(db).enabled is False


def test_an_admin_edits_the_event_types(
    client: TestClient[Litestar], staff: StaffActions, db: Database, crm: Receiver
) -> None:
    staff.sign_in_as(Role.ADMIN)
    create_endpoint(client, crm.url, ["lead.mql"])
    endpoint = only_endpoint(db)
    saved = edit_endpoint(
        client,
        endpoint.id,
        url=crm.url,
        description="Marketing automation",
        event_types=["lead.milestone", "asset.unlocked"],
    )
    assert "Endpoint saved." in html(saved.text).css_first('[role="status"]').text()
    endpoint = only_endpoint(db)
    assert endpoint.event_types == ["lead.milestone", "asset.unlocked"]
    assert endpoint.description == "Marketing automation"


def test_leadshelf_serve_alone_delivers_webhooks(settings: Settings, db: Database) -> None:
    """The app's in-process worker (the embedded default) needs no separate process."""
    with receiver() as crm:
        draft = endpoints.validate(crm.url, ["lead.identified"], "", settings.webhook_networks)
        with db.write() as session:
            secret = endpoints.create(session, draft).secret
        with app_for(replace(settings, outbox_in_process=True)) as app, TestClient(app):
            identify(db)
            assert crm.wait_for(1, timeout=30)
    (got,) = crm.received
    assert got.signed_by(secret)
    with db.read() as session:
        assert session.scalars(select(WebhookDelivery.status)).all() == ["delivered"]
