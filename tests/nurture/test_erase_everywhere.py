"""Erasing a lead also removes the webhook bodies that carry its Lead document."""

from __future__ import annotations

from sqlalchemy import select

from nurture import privacy, relay
from nurture.models import WebhookDelivery
from portal.db import Database
from tests.nurture.outbox import MODEL, add_endpoint, identify
from tracking.models import Lead


def test_erasing_a_lead_deletes_its_webhook_deliveries_and_keeps_others(db: Database) -> None:
    add_endpoint(db, "http://127.0.0.1:9/hook")
    ada = identify(db, "ada@example.com")
    bob = identify(db, "bob@example.com")
    with db.write() as session:
        relay.relay(session, MODEL)
    with db.read() as session:
        bodies = list(session.scalars(select(WebhookDelivery.body)))
    assert any("ada@example.com" in body for body in bodies)

    with db.write() as session:
        assert privacy.erase_lead(session, ada) is True

    with db.read() as session:
        bodies = list(session.scalars(select(WebhookDelivery.body)))
        assert session.get(Lead, ada) is None
        assert session.get(Lead, bob) is not None
    assert bodies, "the other lead's deliveries stay"
    assert not any("ada@example.com" in body for body in bodies)
    assert all("bob@example.com" in body for body in bodies)


def test_erasing_an_unknown_lead_changes_nothing(db: Database) -> None:
    with db.write() as session:
        assert privacy.erase_lead(session, 999_999) is False
