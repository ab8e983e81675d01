"""The mail the public forms send, and the limit that keeps them from mail-bombing an address.

Anyone can type any address into a gate or "Talk to sales", so every mail a form can make
Leadshelf send to an address it has not proven is counted per address: the "continue on
this device" link, the double opt-in confirmation and the sales confirmation. Over
``PER_HOUR`` in the last hour or ``PER_DAY`` in the last day the form still works (the
asset unlocks, the request reaches sales), but no further mail goes; the page says a link
was sent recently. The count is the outbox itself (every such mail written to the
address), so it holds across processes with no counter of its own; the per-address form
limit (``portal.routes.gate.form_rate_verdict``) caps how fast one network can try.

"Your copy of …" is not counted: it goes once per lead and asset (its dedupe key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.mail.models import MailMessage
from portal.mail.queue import mail_lead
from portal.settings import Settings
from tracking.models import Lead

LIMITED_KINDS = ("continue", "opt_in", "sales_confirmation")
"""The kinds a stranger can make us send to someone else's address by typing it."""


@dataclass(frozen=True, slots=True)
class MailLimit:
    """At most ``per_hour`` form mails to one address in any hour, ``per_day`` in any day."""

    per_hour: int = 3
    per_day: int = 10


LIMIT = MailLimit()


class Sent(StrEnum):
    """What became of a form's mail."""

    QUEUED = "queued"
    HELD = "held"
    """Over the per-address limit: not written."""
    NOT_NEEDED = "not_needed"
    """Nothing to send: the lead is gone, or this once-only mail went before."""


def may_send(sent_at: Iterable[datetime], now: datetime, limit: MailLimit = LIMIT) -> bool:
    """Whether one more form mail may go to an address that got form mails at ``sent_at``."""
    ages = [now - at for at in sent_at]
    last_hour = sum(1 for age in ages if age < timedelta(hours=1))
    last_day = sum(1 for age in ages if age < timedelta(days=1))
    return last_hour < limit.per_hour and last_day < limit.per_day


def recent_form_mails(session: Session, address: str, now: datetime) -> list[datetime]:
    """When the form mails of the last day to this address were written."""
    return list(
        session.scalars(
            select(MailMessage.created_at).where(
                MailMessage.to_address == address,
                MailMessage.kind.in_(LIMITED_KINDS),
                MailMessage.created_at > now - timedelta(days=1),
            )
        )
    )


def over_limit(
    session: Session, lead_id: int, kind: str, now: datetime, limit: MailLimit | None = LIMIT
) -> bool:
    """Whether a ``kind`` mail to the lead's address would go over ``limit`` (None: no limit,
    for mail the reader's own click asked for)."""
    if limit is None or kind not in LIMITED_KINDS:
        return False
    address = session.scalar(select(Lead.email).where(Lead.id == lead_id))
    return address is not None and not may_send(
        recent_form_mails(session, address, now), now, limit
    )


def form_mail(
    session: Session,
    settings: Settings,
    lead_id: int,
    kind: str,
    *,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
    limit: MailLimit | None = LIMIT,
) -> Sent:
    """Queue a transactional ``kind`` mail to the lead unless it would go over ``limit``."""
    if over_limit(session, lead_id, kind, now, limit):
        return Sent.HELD
    written = mail_lead(
        session, settings, lead_id, kind, now=now, params=params, dedupe_key=dedupe_key
    )
    return Sent.QUEUED if written is not None else Sent.NOT_NEEDED


def confirm_subscription(
    session: Session,
    settings: Settings,
    lead_id: int,
    consent_id: int | None,
    now: datetime,
    *,
    limit: MailLimit | None = LIMIT,
) -> Sent:
    """The double opt-in mail for a consent just asked, within the
    limit; the consent stays pending when the mail is held."""
    if consent_id is None:
        return Sent.NOT_NEEDED
    if over_limit(session, lead_id, "opt_in", now, limit):
        return Sent.HELD
    written = mail_lead(
        session, settings, lead_id, "opt_in", now=now, params={"consent": consent_id}
    )
    return Sent.QUEUED if written is not None else Sent.NOT_NEEDED
