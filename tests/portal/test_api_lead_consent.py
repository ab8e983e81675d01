"""The Lead document's mail part in the API: ``consent.status`` as double opt-in moves it,
``suppressed`` (the address's entry in force) and the ``language`` mail goes out in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from nurture.mail import subscriptions, suppression
from nurture.mail.models import SuppressionReason
from portal.accounts import service
from portal.db import Database
from portal.settings import Settings
from tests.nurture.mail.subscribers import T0, ask, new_lead, subscribed
from tests.support import app_for

Client = TestClient[Litestar]


@pytest.fixture
def api(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "crm", "read")
    return {"Authorization": f"Bearer {token}"}


def lead_json(client: Client, api: dict[str, str], lead_id: int) -> Any:
    response = client.get(f"/api/v1/leads/{lead_id}", headers=api)
    assert response.status_code == 200
    return response.json()


def test_consent_status_follows_double_opt_in(
    client: Client, api: dict[str, str], db: Database
) -> None:
    lead_id = new_lead(db)
    body = lead_json(client, api, lead_id)
    assert body["consent"] == {"marketing": False, "at": None, "status": "none"}
    assert body["suppressed"] is None
    ask(db, lead_id)
    assert lead_json(client, api, lead_id)["consent"]["status"] == "pending"
    confirmed = subscribed(db, "bo@example.com")
    consent = lead_json(client, api, confirmed)["consent"]
    assert (consent["marketing"], consent["status"]) == (True, "confirmed")


def test_an_unsubscribed_lead_shows_withdrawn_and_suppressed(
    client: Client, api: dict[str, str], db: Database
) -> None:
    lead_id = subscribed(db)
    with db.write() as session:
        subscriptions.unsubscribe(session, "ada@example.com", now=T0 + timedelta(days=2))
    body = lead_json(client, api, lead_id)
    assert body["consent"]["status"] == "withdrawn"
    assert body["consent"]["marketing"] is False
    assert body["suppressed"] == {"reason": "unsubscribed", "at": "2026-12-03T09:00:00Z"}
    listed = client.get("/api/v1/leads", headers=api).json()["items"]
    assert [item["suppressed"] for item in listed] == [body["suppressed"]]


def test_a_bounce_is_reported_over_an_unsubscribe(
    client: Client, api: dict[str, str], db: Database
) -> None:
    lead_id = subscribed(db)
    with db.write() as session:
        subscriptions.unsubscribe(session, "ada@example.com", now=T0)
        suppression.suppress(
            session, "ada@example.com", SuppressionReason.HARD_BOUNCE, T0 + timedelta(days=1)
        )
    assert lead_json(client, api, lead_id)["suppressed"]["reason"] == "hard_bounce"


def test_language_is_the_lead_choice_else_the_site_default(
    db: Database, settings: Settings, api: dict[str, str]
) -> None:
    chose = new_lead(db, "ada@example.com", language="de")
    unknown = new_lead(db, "bo@example.com")
    with app_for(settings) as built, TestClient(built) as client:
        assert lead_json(client, api, chose)["language"] == "de"
        assert lead_json(client, api, unknown)["language"] == "en"
    with (
        app_for(settings.with_overrides(default_language="de")) as built,
        TestClient(built) as client,
    ):
        assert lead_json(client, api, unknown)["language"] == "de"
