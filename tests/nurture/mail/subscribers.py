"""Leads at each step of subscribing, for the subscription tests (nurture and portal): asked,
confirmed, and mail sent to them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from nurture.mail.models import MailCategory, MailMessage, Suppression
from nurture.mail.outbox import Mail, enqueue
from portal.db import Database
from tracking.identity import consent as consenting
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source
from tracking.identity.identify import get_or_create_lead
from tracking.models import Consent, Lead, LeadChange

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WORDING = ConsentText("2026-12", "Yes, email me new resources.")


def new_lead(db: Database, email: str = "ada@example.com", language: str = "") -> int:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, T0)
        lead.language = language
        return lead.id


def ask(db: Database, lead_id: int, at: datetime = T0) -> int:
    """A ticked box: a pending consent; returns its id."""
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        asked = consenting.ask(
            session, lead, WORDING, source=Source("form", "pricing-guide"), now=at
        )
        assert asked is not None
        return asked.id


def subscribed(
    db: Database, email: str = "ada@example.com", language: str = "", at: datetime = T0
) -> int:
    """A lead whose double opt-in is confirmed."""
    lead_id = new_lead(db, email, language)
    consent_id = ask(db, lead_id, at)
    with db.write() as session:
        assert consenting.confirm(session, lead_id, consent_id, now=at) == "confirmed"
    return lead_id


def mail_to(
    db: Database,
    lead_id: int | None,
    address: str,
    kind: str = "test",
    category: MailCategory = MailCategory.MARKETING,
) -> int:
    """A message to the address (marketing: the kind an unsubscribe link comes from)."""
    with db.write() as session:
        written = enqueue(
            session,
            Mail(to=address, kind=kind, category=category, lead_id=lead_id),
            domain="pipewise.example",
            now=T0,
        )
    assert written is not None
    return written


def lead_of(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        session.expunge(lead)
        return lead


def consents_of(db: Database, lead_id: int) -> list[Consent]:
    """The lead's consent records, oldest first."""
    with db.read() as session:
        found = list(
            session.scalars(select(Consent).where(Consent.lead_id == lead_id).order_by(Consent.id))
        )
        session.expunge_all()
        return found


def entries(db: Database, address: str) -> list[Suppression]:
    """The address's suppression entries, oldest first."""
    with db.read() as session:
        found = list(
            session.scalars(
                select(Suppression).where(Suppression.address == address).order_by(Suppression.id)
            )
        )
        session.expunge_all()
        return found


def change_kinds(db: Database, lead_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(LeadChange.kind)
                .where(LeadChange.lead_id == lead_id)
                .order_by(LeadChange.seq)
            )
        )


def messages(db: Database) -> list[MailMessage]:
    with db.read() as session:
        found = list(session.scalars(select(MailMessage).order_by(MailMessage.id)))
        session.expunge_all()
        return found
