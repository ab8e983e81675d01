"""The outbox in numbers and the latest messages and bounces, for the console's Email page.

Every query is bounded and indexed: counts per status read ``ix_mail_message_due``
(status, next_attempt_at), the lists read the newest rows by primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.mail.models import MailBounce, MailMessage, MailStatus

PERIOD = timedelta(days=7)
"""The window of the outcome counts."""
WAITING = (MailStatus.PENDING.value, MailStatus.SENDING.value)
SETTLED = (
    MailStatus.SENT.value,
    MailStatus.BOUNCED.value,
    MailStatus.FAILED.value,
    MailStatus.SKIPPED.value,
)


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    """Messages waiting now, and how the others ended in the last ``PERIOD``."""

    waiting: int
    due_since: datetime | None
    """When the oldest waiting message became due (None: none is due yet)."""
    settled: dict[str, int]
    """sent, bounced, failed and skipped, by the time of their last attempt."""


def outbox_figures(session: Session, now: datetime, period: timedelta = PERIOD) -> OutboxFigures:
    """A message's last attempt is its ``next_attempt_at`` once it has settled (the sender
    leaves it there), so "in the last 7 days" is a range on the status index."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(MailMessage.next_attempt_at)).where(
            MailMessage.status.in_(WAITING)
        )
    ).one()
    counted = dict(
        session.execute(
            select(MailMessage.status, func.count())
            .where(MailMessage.status.in_(SETTLED), MailMessage.next_attempt_at >= now - period)
            .group_by(MailMessage.status)
        ).all()
    )
    return OutboxFigures(
        waiting=int(waiting),
        due_since=oldest if oldest is not None and oldest <= now else None,
        settled={status: int(counted.get(status, 0)) for status in SETTLED},
    )


def recent_messages(session: Session, limit: int = 50) -> list[MailMessage]:
    """The newest messages, whatever became of them."""
    return list(session.scalars(select(MailMessage).order_by(MailMessage.id.desc()).limit(limit)))


def recent_bounces(session: Session, limit: int = 20) -> list[MailBounce]:
    """The newest bounces and complaints, from every source."""
    return list(session.scalars(select(MailBounce).order_by(MailBounce.id.desc()).limit(limit)))
