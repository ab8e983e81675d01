"""Queueing a mail to a lead from a request handler, in the handler's write transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nurture.mail.models import MailCategory
from nurture.mail.outbox import Mail, enqueue
from nurture.mail.smtp import parse_sender
from portal.settings import Settings
from tracking.models import Lead


def mail_lead(
    session: Session,
    settings: Settings,
    lead_id: int,
    kind: str,
    *,
    now: datetime,
    category: MailCategory = MailCategory.TRANSACTIONAL,
    params: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Queue a ``kind`` mail to the lead in its language; returns the message id (None: the
    lead is gone, or a mail with this ``dedupe_key`` was queued before)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    return enqueue(
        session,
        Mail(
            to=lead.email,
            kind=kind,
            category=category,
            language=lead.language or settings.default_language,
            lead_id=lead.id,
            params=dict(params or {}),
            dedupe_key=dedupe_key,
        ),
        domain=parse_sender(settings.mail_from).domain,
        now=now,
    )
