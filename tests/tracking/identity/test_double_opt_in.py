"""Double opt-in: a ticked box asks, the confirmation link subscribes, a withdrawal stands
until a newer confirmation; every step is a consent record with what the person saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.db import Database
from tracking.identity import consent as consenting
from tracking.identity.consent import Confirmation, ConsentText
from tracking.identity.facts import Source
from tracking.identity.identify import get_or_create_lead
from tracking.models import Consent, Lead, LeadChange

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WORDING = ConsentText("2026-12", "Yes, email me new resources.")
FORM = Source("form", "pricing-guide")


def new_lead(db: Database) -> int:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "ada@example.com", T0)
        return lead.id


def ask(db: Database, lead_id: int, at: datetime) -> int | None:
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        asked = consenting.ask(session, lead, WORDING, source=FORM, now=at, language="de")
        return asked.id if asked is not None else None


def confirm(db: Database, lead_id: int, consent_id: int, at: datetime) -> Confirmation:
    with db.write() as session:
        return consenting.confirm(
            session, lead_id, consent_id, now=at, ip="203.0.113.7", user_agent="Mail/1"
        )


def lead_of(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        session.expunge(lead)
        return lead


def test_confirming_subscribes_and_keeps_when_and_from_where(db: Database) -> None:
    lead_id = new_lead(db)
    consent_id = ask(db, lead_id, T0)
    assert consent_id is not None
    assert lead_of(db, lead_id).consent_status == "pending"
    assert confirm(db, lead_id, consent_id, T0 + timedelta(hours=2)) is Confirmation.CONFIRMED
    lead = lead_of(db, lead_id)
    assert (lead.consent_status, lead.marketing_consent) == ("confirmed", True)
    with db.read() as session:
        record = session.get(Consent, consent_id)
        assert record is not None
        assert (record.status, record.recorded_at, record.confirmed_at) == (
            "confirmed",
            T0,
            T0 + timedelta(hours=2),
        )
        assert (record.confirmed_ip, record.confirmed_user_agent, record.language) == (
            "203.0.113.7",
            "Mail/1",
            "de",
        )
        kinds = session.scalars(select(LeadChange.kind).where(LeadChange.lead_id == lead_id))
        assert list(kinds) == ["subscribed"]


def test_a_second_click_changes_nothing(db: Database) -> None:
    lead_id = new_lead(db)
    consent_id = ask(db, lead_id, T0)
    assert consent_id is not None
    confirm(db, lead_id, consent_id, T0)
    assert confirm(db, lead_id, consent_id, T0 + timedelta(days=1)) is Confirmation.ALREADY
    assert lead_of(db, lead_id).marketing_consent_at == T0


def test_a_subscribed_lead_is_not_asked_again(db: Database) -> None:
    lead_id = new_lead(db)
    consent_id = ask(db, lead_id, T0)
    assert consent_id is not None
    confirm(db, lead_id, consent_id, T0)
    assert ask(db, lead_id, T0 + timedelta(days=3)) is None


def test_an_old_link_does_not_undo_a_later_withdrawal(db: Database) -> None:
    lead_id = new_lead(db)
    consent_id = ask(db, lead_id, T0)
    assert consent_id is not None
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        withdrawn_at = T0 + timedelta(minutes=30)
        assert consenting.withdraw(
            session, lead, source=Source("unsubscribe", ""), now=withdrawn_at
        )
    assert confirm(db, lead_id, consent_id, T0 + timedelta(hours=1)) is Confirmation.SUPERSEDED
    assert lead_of(db, lead_id).consent_status == "withdrawn"


def test_a_link_for_another_lead_confirms_nothing(db: Database) -> None:
    lead_id = new_lead(db)
    consent_id = ask(db, lead_id, T0)
    assert consent_id is not None
    with db.write() as session:
        other, _ = get_or_create_lead(session, "bob@example.com", T0)
        other_id = other.id
    assert confirm(db, other_id, consent_id, T0) is Confirmation.UNKNOWN
    assert lead_of(db, other_id).consent_status == "none"


def test_nothing_to_withdraw_without_consent(db: Database) -> None:
    lead_id = new_lead(db)
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert not consenting.withdraw(session, lead, source=Source("console", "x"), now=T0)
    with db.read() as session:
        assert session.scalars(select(Consent)).all() == []
