"""What the send-path tests share: a sender wired like the job (the real renderer, a real SMTP
URL), a clock the test moves, and a way to put mail in the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailCategory, MailMessage
from nurture.mail.outbox import Mail, enqueue
from nurture.mail.sender import MailSender, Render
from nurture.mail.smtp import parse_sender, parse_smtp_url
from portal.db import Database
from portal.mail.render import MailRenderer
from portal.settings import Settings
from portal.signing import Signer
from tests.support import TEST_SECRET_KEYS
from tracking.models import Lead

DOMAIN = "pipewise.example"


class Clock:
    """``now`` as the sender sees it; ``advance`` moves it (backoff and leases without waiting)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def renderer(settings: Settings) -> Render:
    return MailRenderer(settings, Signer(TEST_SECRET_KEYS))


def make_sender(
    db: Database,
    settings: Settings,
    *,
    url: str | None = None,
    render: Render | None = None,
    **options: Any,
) -> MailSender:
    """A sender of ``settings``' mail to ``url`` (default: the settings' SMTP URL)."""
    return MailSender(
        db,
        render or renderer(settings),
        parse_smtp_url(url or settings.smtp_url),
        parse_sender(settings.mail_from),
        postal_address=settings.postal_address,
        **options,
    )


def queue(
    db: Database,
    to: str,
    *,
    kind: str = "test",
    category: MailCategory = MailCategory.TRANSACTIONAL,
    lead_id: int | None = None,
    now: datetime | None = None,
) -> int:
    with db.write() as session:
        written = enqueue(
            session,
            Mail(to=to, kind=kind, category=category, lead_id=lead_id),
            domain=DOMAIN,
            now=now or utcnow(),
        )
    assert written is not None
    return written


def queue_many(db: Database, count: int, now: datetime | None = None) -> list[int]:
    return [queue(db, f"reader{n}@example.com", now=now) for n in range(count)]


def subscribed_lead(db: Database, email: str, frequency: str = "all") -> int:
    """A lead with confirmed marketing consent (marketing mail may go to it)."""
    with db.write() as session:
        lead = Lead(email=email, consent_status="confirmed", mail_frequency=frequency)
        session.add(lead)
        session.flush()
        return lead.id


def message(db: Database, message_id: int) -> MailMessage:
    with db.read() as session:
        row = session.get(MailMessage, message_id)
        assert row is not None
        return row


def statuses(db: Database) -> dict[str, int]:
    """How many messages stand in each status."""
    with db.read() as session:
        counts: dict[str, int] = {}
        for status in session.scalars(select(MailMessage.status)):
            counts[status] = counts.get(status, 0) + 1
        return counts
