"""Putting mail in the outbox: a row written in the caller's transaction, so a message exists
exactly when the decision to send it was committed (and never when it rolled back)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import dialect_insert
from nurture.mail.models import MailCategory, MailMessage, MailStatus
from nurture.mail.rules import RETRY_FOR


@dataclass(frozen=True, slots=True)
class Mail:
    """A mail to send: its template (``kind``), addressee and the plain values it needs."""

    to: str
    kind: str
    category: MailCategory
    language: str = "en"
    lead_id: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    """Mail with the same key is written once (e.g. ``webinar-24h:LEAD:ASSET``)."""


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def enqueue(session: Session, mail: Mail, *, domain: str, now: datetime) -> int | None:
    """Write the message; returns its id, or None when its ``dedupe_key`` was written before."""
    values = {
        "message_id": new_message_id(domain),
        "verp": secrets.token_hex(12),
        "lead_id": mail.lead_id,
        "to_address": mail.to,
        "kind": mail.kind,
        "category": mail.category.value,
        "language": mail.language,
        "params": dict(mail.params),
        "dedupe_key": mail.dedupe_key,
        "status": MailStatus.PENDING.value,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "retry_until": now + RETRY_FOR,
        "subject": "",
        "last_error": "",
        "skip_reason": "",
    }
    if mail.dedupe_key is None:
        message = MailMessage(**values)
        session.add(message)
        session.flush()
        return message.id
    written: int | None = session.scalar(_deduplicated_insert(session), values)
    return written


_DEDUPLICATED_INSERTS: dict[str, Any] = {}


def _deduplicated_insert(session: Session) -> Any:
    """The insert that skips a known ``dedupe_key``, built once per dialect: the values go as
    parameters, so a busy pass (the program scheduler's thousands of mails) does not build and
    key a new 17-value statement for each message."""
    dialect = session.get_bind().dialect.name
    statement = _DEDUPLICATED_INSERTS.get(dialect)
    if statement is None:
        statement = (
            dialect_insert(session)(MailMessage)
            .on_conflict_do_nothing(index_elements=[MailMessage.dedupe_key])
            .returning(MailMessage.id)
        )
        _DEDUPLICATED_INSERTS[dialect] = statement
    return statement


def messages_to(session: Session, address: str, limit: int = 50) -> list[MailMessage]:
    """The newest messages to an address (the console's view of one lead's mail)."""
    return list(
        session.scalars(
            select(MailMessage)
            .where(MailMessage.to_address == address)
            .order_by(MailMessage.id.desc())
            .limit(limit)
        )
    )
