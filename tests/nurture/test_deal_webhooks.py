"""``deal.changed`` on SQLite and PostgreSQL: a deal with a lead travels through the lead change
log (before the lifecycle moves it makes); a deal for an account alone is queued with its
change, with ``lead`` null."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from content.orm import utcnow
from nurture import relay
from nurture.models import WebhookEndpoint
from portal.db import Database
from tests.nurture.outbox import MODEL, add_endpoint, deliveries, identify
from tracking.accounts.models import Account
from tracking.identity import deals
from tracking.identity.deals import DealPost, Posted

HOOK = "http://127.0.0.1:9/hook"


def post(db: Database, when: datetime, **fields: Any) -> Posted:
    values: dict[str, Any] = {
        "external_id": "D-1",
        "name": "Analytical Engines, 40 seats",
        "amount_minor": 1_200_050,
        "currency": "EUR",
        "stage": "open",
    }
    with db.write() as session:
        posted = deals.post(session, DealPost(**(values | fields)), MODEL, timedelta(days=30), when)
        if posted.changed and posted.deal.lead_id is None:
            relay.queue_deal_without_lead(session, posted.deal, posted.previous_stage, when)
        session.expunge(posted.deal)
        return posted


def relay_all(db: Database) -> None:
    with db.write() as session:
        relay.relay(session, MODEL)


def bodies(db: Database) -> list[dict[str, Any]]:
    return [json.loads(delivery.body) for delivery in deliveries(db)]


def test_a_deal_change_is_posted_with_the_deal_and_the_lead_before_its_moves(
    db: Database,
) -> None:
    add_endpoint(db, HOOK, ("deal.changed", "lead.lifecycle_changed"))
    lead_id = identify(db)
    first = utcnow() - timedelta(minutes=2)
    opened = post(db, first, lead_id=lead_id)
    post(db, first + timedelta(minutes=1), lead_id=lead_id, stage="won", closed_at=first)
    relay_all(db)

    found = bodies(db)
    assert [(body["type"], body["data"].get("to")) for body in found] == [
        ("deal.changed", None),
        ("lead.lifecycle_changed", "opportunity"),
        ("deal.changed", None),
        ("lead.lifecycle_changed", "customer"),
    ]
    new, won = found[0], found[2]
    assert new["lead"]["id"] == str(lead_id)
    assert new["lead"]["email"] == "ada@example.com"
    assert new["data"]["previous_stage"] is None
    assert won["data"]["previous_stage"] == "open"
    deal = won["data"]["deal"]
    assert deal == {
        "id": opened.deal.id,
        "external_id": "D-1",
        "lead": lead_id,
        "account": deal["account"],  # whatever account the lead's domain gives it
        "name": "Analytical Engines, 40 seats",
        "amount": "12000.50",
        "currency": "EUR",
        "stage": "won",  # the deal as it stands when the event is queued
        "created_at": deal["created_at"],
        "closed_at": deal["closed_at"],
        "updated_at": deal["updated_at"],
    }
    assert datetime.fromisoformat(deal["closed_at"]) == first
    assert len({body["id"] for body in found}) == 4


def test_an_identical_repeat_makes_no_event(db: Database) -> None:
    add_endpoint(db, HOOK, ("deal.changed",))
    lead_id = identify(db)
    post(db, utcnow(), lead_id=lead_id)
    post(db, utcnow(), lead_id=lead_id)
    relay_all(db)

    assert [body["type"] for body in bodies(db)] == ["deal.changed"]


def test_a_deal_for_an_account_alone_is_queued_with_its_change_and_no_lead(
    db: Database,
) -> None:
    subscribed = add_endpoint(db, HOOK, ("deal.changed",))
    add_endpoint(db, "http://127.0.0.1:9/other", ("lead.identified",))
    disabled = add_endpoint(db, "http://127.0.0.1:9/off", ("deal.changed",))
    with db.write() as session:
        session.get_one(WebhookEndpoint, disabled.id).enabled = False
        account = Account(name="Difference Ltd")
        session.add(account)
        session.flush()
        account_id = account.id
    at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

    posted = post(db, at, external_id="D-9", account_id=account_id)
    post(db, at + timedelta(minutes=1), external_id="D-9", account_id=account_id)  # the same
    post(db, at + timedelta(minutes=2), external_id="D-9", account_id=account_id, stage="lost")

    queued = deliveries(db)
    assert [delivery.endpoint_id for delivery in queued] == [subscribed.id, subscribed.id]
    assert [delivery.change_seq for delivery in queued] == [None, None]
    opened, lost = (json.loads(delivery.body) for delivery in queued)
    assert opened["type"] == "deal.changed"
    assert opened["lead"] is None
    assert opened["occurred_at"] == "2026-11-24T10:00:00Z"
    assert opened["data"]["deal"]["id"] == posted.deal.id
    assert opened["data"]["deal"]["account"] == account_id
    assert (opened["data"]["previous_stage"], opened["data"]["deal"]["stage"]) == (None, "open")
    assert (lost["data"]["previous_stage"], lost["data"]["deal"]["stage"]) == ("open", "lost")
    assert opened["id"] != lost["id"]
    relay_all(db)
    assert len(deliveries(db)) == 2  # nothing more from the change log: it has no entry
