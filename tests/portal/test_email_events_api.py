"""``POST /api/v1/email/events``: a mail provider's webhook reports bounces, complaints and
unsubscribes; the addresses land on the suppression list, a repeat does no harm, refused
input stores nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.orm import utcnow
from nurture.mail import suppression
from nurture.mail.models import (
    MailAddress,
    MailBounce,
    MailCategory,
    MailMessage,
    MailStatus,
    Suppression,
)
from nurture.mail.outbox import Mail, enqueue
from portal.accounts import service
from portal.db import Database
from tracking.identity.identify import get_or_create_lead
from tracking.models import Lead, LeadChange

Client = TestClient[Litestar]
URL = "/api/v1/email/events"


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "postmark-hook")
    return {"Authorization": f"Bearer {token}"}


def post(client: Client, auth: dict[str, str] | None, *events: dict[str, Any]) -> Any:
    return client.post(URL, json={"events": list(events)}, headers=auth or {})


def sent_message(db: Database, email: str = "ann@example.com") -> MailMessage:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, utcnow())
        written = enqueue(
            session,
            Mail(to=email, kind="test", category=MailCategory.MARKETING, lead_id=lead.id),
            domain="pipewise.example",
            now=utcnow(),
        )
        message = session.get_one(MailMessage, written)
        message.status = MailStatus.SENT.value
        session.flush()
        session.expunge(message)
        return message


def reason(db: Database, address: str) -> str | None:
    with db.read() as session:
        entry = suppression.active(session, address)
        return entry.reason if entry is not None else None


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_hard_bounce_with_our_message_id_suppresses_and_marks_the_message(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    message = sent_message(db)
    response = post(
        client,
        auth,
        {
            "type": "bounce",
            "bounce_type": "hard",
            "email": "Ann@Example.com",
            "message_id": message.message_id,
            "detail": "550 5.1.1 user unknown",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert reason(db, "ann@example.com") == "hard_bounce"
    with db.read() as session:
        bounce = session.scalars(select(MailBounce)).one()
        assert (bounce.kind, bounce.source, bounce.message_id, bounce.detail) == (
            "hard",
            "webhook",
            message.id,
            "550 5.1.1 user unknown",
        )
        assert session.get_one(MailMessage, message.id).status == MailStatus.BOUNCED.value
        kinds = session.scalars(
            select(LeadChange.kind).where(LeadChange.lead_id == message.lead_id)
        )
        assert list(kinds) == ["email_bounced"]


def test_complaints_and_unsubscribes_suppress_with_their_reason(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    cy = sent_message(db, "cy@example.com").lead_id
    with db.write() as session:
        session.get_one(Lead, cy).consent_status = "confirmed"
    response = post(
        client,
        auth,
        {"type": "complaint", "email": "bob@example.com"},
        {"type": "unsubscribe", "email": "cy@example.com", "message_id": "unknown@provider"},
    )
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert reason(db, "bob@example.com") == "complaint"
    assert reason(db, "cy@example.com") == "unsubscribed"
    with db.read() as session:  # as the unsubscribe link does: the consent is withdrawn
        assert session.get_one(Lead, cy).consent_status == "withdrawn"


def test_the_same_webhook_sent_again_does_no_harm(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    message = sent_message(db, "bob@example.com")
    at = (utcnow() - timedelta(minutes=3)).isoformat()
    batch = [
        {"type": "bounce", "bounce_type": "soft", "email": "ann@example.com", "at": at},
        {"type": "bounce", "bounce_type": "soft", "email": "bob@example.com",
         "message_id": message.message_id.strip("<>")},
        {"type": "complaint", "email": "cy@example.com", "at": at},
        {"type": "unsubscribe", "email": "di@example.com"},
    ]  # fmt: skip
    assert post(client, auth, *batch).json() == {"accepted": 4, "duplicates": 0}
    assert post(client, auth, *batch).json() == {"accepted": 4, "duplicates": 4}
    assert count(db, MailBounce) == 3
    assert count(db, Suppression) == 2
    with db.read() as session:
        assert session.get_one(MailAddress, "ann@example.com").soft_bounces == 1


def test_three_soft_bounces_in_a_row_suppress(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    for minutes in (30, 20):
        at = (utcnow() - timedelta(minutes=minutes)).isoformat()
        event = {"type": "bounce", "bounce_type": "soft", "email": "ann@example.com", "at": at}
        post(client, auth, event)
    assert reason(db, "ann@example.com") is None
    post(client, auth, {"type": "bounce", "bounce_type": "soft", "email": "ann@example.com"})
    assert reason(db, "ann@example.com") == "hard_bounce"


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({"type": "bounce", "email": "ann@example.com"}, "bounce_type must be hard or soft"),
        (
            {"type": "complaint", "email": "ann@example.com", "bounce_type": "hard"},
            "bounce_type only applies to bounces, not to a complaint",
        ),
        ({"type": "complaint", "email": "ann-at-example.com"}, "email is not a valid address"),
        (
            {"type": "complaint", "email": "ann@example.com", "at": "2026-01-02T10:00:00"},
            "at must be ISO-8601 with a time zone",
        ),
        (
            {"type": "complaint", "email": "a@example.com", "at": "2999-01-01T00:00:00Z"},
            "at is in the future",
        ),
        (
            {"type": "complaint", "email": "a@example.com", "at": "2001-01-01T00:00:00Z"},
            "at is more than a year ago",
        ),
        (
            {"type": "complaint", "email": "a@example.com", "message_id": "<a b@c>"},
            "message_id must be the Message-ID header of our mail",
        ),
        (
            {"type": "complaint", "email": "a@example.com", "detail": "bad\x00byte"},
            "detail contains",
        ),
    ],
)
def test_refused_events_are_named_by_index_and_nothing_is_stored(
    client: Client, db: Database, auth: dict[str, str], event: dict[str, Any], why: str
) -> None:
    good = {"type": "complaint", "email": "ok@example.com"}
    response = post(client, auth, good, event)
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert list(body["detail"]["events"]) == ["1"]
    assert body["detail"]["events"]["1"].startswith(why)
    assert count(db, MailBounce) == count(db, Suppression) == 0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"events": [{"type": "bonce", "email": "a@example.com"}]}, "Invalid enum value 'bonce'"),
        (
            {"events": [{"type": "complaint", "email": "a@example.com", "colour": "red"}]},
            "Object contains unknown field `colour`",
        ),
        ({"events": []}, "Expected `array` of length >= 1"),
        ({"events": [{"type": "complaint", "email": 42}]}, "Expected `str`, got `int`"),
        ({}, "Object missing required field `events`"),
    ],
)
def test_malformed_bodies_are_a_bad_request_that_says_where(
    client: Client, db: Database, auth: dict[str, str], body: dict[str, Any], why: str
) -> None:
    response = client.post(URL, json=body, headers=auth)
    assert response.status_code == 400
    (problem,) = response.json()["detail"]
    assert problem["message"].startswith(why)
    assert count(db, Suppression) == 0


def test_more_than_a_thousand_events_are_refused(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    events = [{"type": "complaint", "email": f"n{n}@example.com"} for n in range(1001)]
    response = post(client, auth, *events)
    assert response.status_code == 400
    assert count(db, Suppression) == 0


def test_it_needs_a_write_token(client: Client, db: Database) -> None:
    event = {"type": "complaint", "email": "ann@example.com"}
    assert post(client, None, event).status_code == 401
    with db.write() as session:
        read_only = service.create_token(session, "dashboard", "read")
    response = post(client, {"Authorization": f"Bearer {read_only}"}, event)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "this call needs a token with the write scope; this token has read"
    )
    assert count(db, Suppression) == 0


def test_the_openapi_document_describes_the_call(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"][URL]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    event = body["properties"]["events"]["items"]
    assert event["required"] == ["email", "type"]
    assert event["additionalProperties"] is False
    assert event["properties"]["type"]["enum"] == ["bounce", "complaint", "unsubscribe"]
    assert body["properties"]["events"]["maxItems"] == 1000
    assert {"200", "400", "401", "403", "422", "429"} <= set(operation["responses"])
