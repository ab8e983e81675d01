"""The outbox's side of sending: claim due messages (checking the rules again), and record
how each attempt went, each a short write transaction of its own.

A claim marks messages ``sending`` with a random token and a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several senders share the queue); only the holder of the claim
may record the outcome, and a message whose lease ran out (its sender died) is due again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from content.orm import dialect_insert
from nurture.mail import rules, suppression
from nurture.mail.models import MailAddress, MailCategory, MailMessage, MailStatus
from nurture.mail.smtp import Reply
from tracking.models import Lead

LEASE = timedelta(minutes=10)
"""How long a claim lasts: after that another sender may take the message."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed message, with what rendering it needs."""

    id: int
    claim: str
    message_id: str
    verp: str
    lead_id: int | None
    to: str
    kind: str
    category: MailCategory
    language: str
    params: dict[str, Any]
    attempts: int
    created_at: datetime


def _due(now: datetime) -> Any:
    return or_(
        and_(MailMessage.status == MailStatus.PENDING.value, MailMessage.next_attempt_at <= now),
        and_(MailMessage.status == MailStatus.SENDING.value, MailMessage.lease_until <= now),
    )


def claim(
    session: Session, now: datetime, limit: int, token: str, postal_address: str
) -> tuple[list[Outgoing], int]:
    """Claim up to ``limit`` due messages; those the rules refuse now are marked ``skipped``
    at once. Returns the messages to send and the number skipped."""
    rows = list(
        session.scalars(
            select(MailMessage)
            .where(_due(now))
            .order_by(MailMessage.next_attempt_at, MailMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return [], 0
    recipients = _recipients(session, rows)
    claimed, skipped = [], 0
    for row in rows:
        category = MailCategory(row.category)
        recipient = recipients[row.to_address, row.lead_id]
        refused = rules.refusal(category, recipient, postal_address, now)
        if refused is not None:
            row.status = MailStatus.SKIPPED.value
            row.skip_reason = refused
            row.claim = None
            row.lease_until = None
            skipped += 1
            continue
        if category is MailCategory.MARKETING:
            # A second marketing mail in this batch counts the first as sent for the cap.
            recipients[row.to_address, row.lead_id] = replace(recipient, last_marketing_at=now)
        row.status = MailStatus.SENDING.value
        row.claim = token
        row.lease_until = now + LEASE
        row.attempts += 1
        claimed.append(_outgoing(row, token))
    session.flush()
    return claimed, skipped


def _recipients(
    session: Session, rows: Sequence[MailMessage]
) -> dict[tuple[str, int | None], rules.Recipient]:
    """What the rules need to know of each (address, lead) of these messages, in three
    queries for the whole batch."""
    addresses = sorted({row.to_address for row in rows})
    suppressed = suppression.active_reasons(session, addresses)
    last_marketing = dict(
        session.execute(
            select(MailAddress.address, MailAddress.last_sent_at).where(
                MailAddress.address.in_(addresses)
            )
        ).all()
    )
    lead_ids = {row.lead_id for row in rows if row.lead_id is not None}
    leads: dict[int | None, tuple[str, str]] = {
        lead_id: (consent, frequency)
        for lead_id, consent, frequency in session.execute(
            select(Lead.id, Lead.consent_status, Lead.mail_frequency).where(Lead.id.in_(lead_ids))
        ).all()
    }
    found = {}
    for row in rows:
        consent, frequency = leads.get(row.lead_id, ("none", "all"))
        found[row.to_address, row.lead_id] = rules.Recipient(
            suppressed.get(row.to_address),
            consent,
            frequency=frequency or "all",
            last_marketing_at=last_marketing.get(row.to_address),
        )
    return found


def _outgoing(row: MailMessage, token: str) -> Outgoing:
    return Outgoing(
        id=row.id,
        claim=token,
        message_id=row.message_id,
        verp=row.verp,
        lead_id=row.lead_id,
        to=row.to_address,
        kind=row.kind,
        category=MailCategory(row.category),
        language=row.language,
        params=dict(row.params or {}),
        attempts=row.attempts,
        created_at=row.created_at,
    )


def record(
    session: Session,
    item: Outgoing,
    reply: Reply,
    now: datetime,
    *,
    subject: str = "",
) -> rules.Verdict | None:
    """Store how one attempt went (only by the claim holder); None: the claim was lost."""
    if reply.accepted:
        return _record_accepted(session, item, reply, now, subject)
    message = session.get(MailMessage, item.id, with_for_update=True, populate_existing=True)
    if message is None or message.claim != item.claim:
        return None
    outcome = rules.verdict(reply.code)
    message.smtp_code = reply.code
    message.claim = None
    message.lease_until = None
    if subject:
        message.subject = subject[:300]
    message.last_error = reply.describe()[:2000]
    if outcome is rules.Verdict.PERMANENT:
        message.status = MailStatus.BOUNCED.value
        suppression.record_bounce(
            session,
            item.to,
            "hard",
            "smtp",
            now,
            status=str(reply.code),
            detail=reply.describe(),
            message_id=item.id,
        )
        return outcome
    retry_at = rules.next_attempt(message.attempts, now, message.retry_until)
    if retry_at is None:
        message.status = MailStatus.FAILED.value
        suppression.record_bounce(
            session,
            item.to,
            "soft",
            "smtp",
            now,
            status=str(reply.code or ""),
            detail=f"gave up after {message.attempts} attempts: {reply.describe()}",
            message_id=item.id,
        )
    else:
        message.status = MailStatus.PENDING.value
        message.next_attempt_at = retry_at
    return outcome


def _record_accepted(
    session: Session, item: Outgoing, reply: Reply, now: datetime, subject: str
) -> rules.Verdict | None:
    """The common case, kept to one UPDATE (and one upsert for marketing mail): it is written
    and committed after every single message, before the next one goes."""
    values: dict[str, Any] = {
        "status": MailStatus.SENT.value,
        "sent_at": now,
        "smtp_code": reply.code,
        "claim": None,
        "lease_until": None,
        "last_error": "",
    }
    if subject:
        values["subject"] = subject[:300]
    done = session.connection().execute(  # Core: none of the ORM's bookkeeping per message
        update(MailMessage)
        .where(MailMessage.id == item.id, MailMessage.claim == item.claim)
        .values(**values)
    )
    if not done.rowcount:
        return None
    if item.category is MailCategory.MARKETING:
        _note_marketing_sent(session, item.to, now)
    return rules.Verdict.ACCEPTED


def skip(session: Session, item: Outgoing, reason: str) -> bool:
    """Mark a claimed message ``skipped`` (by the claim holder); False: the claim was lost."""
    done = session.execute(
        update(MailMessage)
        .where(MailMessage.id == item.id, MailMessage.claim == item.claim)
        .values(
            status=MailStatus.SKIPPED.value, skip_reason=reason[:40], claim=None, lease_until=None
        )
    )
    return bool(getattr(done, "rowcount", 0))


def release(session: Session, items: Sequence[Outgoing]) -> None:
    """Give claimed messages back unsent (the process is stopping): due again at once, and the
    attempt they were claimed for does not count."""
    for item in items:
        session.execute(
            update(MailMessage)
            .where(MailMessage.id == item.id, MailMessage.claim == item.claim)
            .values(
                status=MailStatus.PENDING.value,
                claim=None,
                lease_until=None,
                attempts=MailMessage.attempts - 1,
            )
        )


def _note_marketing_sent(session: Session, address: str, now: datetime) -> None:
    """When marketing mail last went to the address (the frequency cap reads it)."""
    insert = dialect_insert(session)
    session.execute(
        insert(MailAddress)
        .values(address=address, soft_bounces=0, last_sent_at=now)
        .on_conflict_do_update(index_elements=[MailAddress.address], set_={"last_sent_at": now})
    )


@dataclass(frozen=True, slots=True)
class Backlog:
    waiting: int
    oldest_due: datetime | None


def backlog(session: Session, now: datetime) -> Backlog:
    """Messages waiting to be sent, and since when the oldest of them is due."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(MailMessage.next_attempt_at)).where(
            MailMessage.status.in_([MailStatus.PENDING.value, MailStatus.SENDING.value])
        )
    ).one()
    due_since = oldest if oldest is not None and oldest <= now else None
    return Backlog(int(waiting), due_since)
