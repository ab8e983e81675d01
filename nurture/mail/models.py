"""The mail outbox, the suppression list, bounces, and what is known of each address."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow


class MailStatus(StrEnum):
    """Where a message stands."""

    PENDING = "pending"
    """Waiting for its (next) attempt at ``next_attempt_at``."""
    SENDING = "sending"
    """Claimed by a sender until ``lease_until``."""
    SENT = "sent"
    """The SMTP server accepted it."""
    BOUNCED = "bounced"
    """Refused for good (5xx) at send time, or bounced later (DSN)."""
    FAILED = "failed"
    """Temporary failures until ``retry_until``; given up."""
    SKIPPED = "skipped"
    """Not sent: the address is suppressed, consent is missing, or marketing mail lacks the
    postal address (``skip_reason`` says which)."""


class MailCategory(StrEnum):
    """Transactional mail answers the reader's own request and needs no marketing consent;
    marketing mail needs confirmed consent, carries List-Unsubscribe and the postal address."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBED = "unsubscribed"
    ERASED = "erased"


class MailMessage(Base):
    """One mail to one address: written in the transaction that decided to send it, rendered
    and sent by the send job. ``params`` holds plain values the template needs (asset id,
    webinar time …); what the reader sees is rendered at send time."""

    __tablename__ = "mail_message"
    __table_args__ = (
        Index("ix_mail_message_due", "status", "next_attempt_at"),
        Index("ix_mail_message_lead", "lead_id", "id"),
        Index("ix_mail_message_address", "to_address", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    """The RFC 5322 Message-ID (with angle brackets), fixed when the row is written, so a
    message sent twice after a crash is recognisably the same message."""
    verp: Mapped[str] = mapped_column(String(32), unique=True)
    """Random token of the return path ``bounces+TOKEN@domain``: a bounce names its message."""
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(40))
    """The template: ``opt_in``, ``continue``, ``asset_copy``, ``webinar_registered`` …"""
    category: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(5), default="en")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    """Set for mail that must go once only (a webinar reminder per lead and webinar …)."""
    status: Mapped[str] = mapped_column(String(12), default=MailStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    retry_until: Mapped[datetime]
    """Temporary failures are retried with backoff until then (3 days after creation)."""
    lease_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300), default="")
    """The subject as rendered at the last attempt (for the console and the demo mailbox)."""
    sent_at: Mapped[datetime | None]
    smtp_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    skip_reason: Mapped[str] = mapped_column(String(40), default="")
    opened_at: Mapped[datetime | None]
    """The first human open (machine opens by privacy proxies and scanners do not count)."""
    clicked_at: Mapped[datetime | None]


class Suppression(Base):
    """An address no mail goes to (transactional mail neither, except for ``unsubscribed``,
    which stops marketing mail only). An admin may lift an entry with a reason; the row stays."""

    __tablename__ = "mail_suppression"
    __table_args__ = (Index("ix_mail_suppression_address", "address", "lifted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("mail_message.id", ondelete="SET NULL"),
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str] = mapped_column(String(254), default="")
    lift_reason: Mapped[str] = mapped_column(Text, default="")


class MailBounce(Base):
    """A bounce or complaint as it came back: at send time, by DSN, ARF or provider webhook."""

    __tablename__ = "mail_bounce"
    __table_args__ = (Index("ix_mail_bounce_address", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    message_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("mail_message.id", ondelete="SET NULL"),
    )
    kind: Mapped[str] = mapped_column(String(12))
    """``hard``, ``soft`` or ``complaint``."""
    source: Mapped[str] = mapped_column(String(12))
    """``smtp`` (at send time), ``dsn``, ``arf`` or ``webhook``."""
    status: Mapped[str] = mapped_column(String(20), default="")
    """The SMTP or enhanced status code (``550``, ``5.1.1``)."""
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MailAddress(Base):
    """What the senders know of one address: soft bounces since it last showed life."""

    __tablename__ = "mail_address"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    soft_bounces: Mapped[int] = mapped_column(default=0)
    """Soft bounces in a row (reset by a click or human open)."""
    last_bounce_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    """When marketing mail last went there (the frequency cap reads it)."""
