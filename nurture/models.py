"""Webhook endpoints, their deliveries (the outbox rows a worker sends), and relay cursors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from content.orm import Base, utcnow


class DeliveryStatus(StrEnum):
    """Where a delivery stands: waiting for its next attempt, being sent, done, or given up."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookEndpoint(Base):
    """A URL that receives signed webhooks for the event types it subscribes to.

    The secret is stored as is: Leadshelf must sign with it, so it cannot be
    hashed, and an encryption key would live on the same host as the database.
    The console shows it once, at creation or rotation.
    """

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    secret_rotated_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one endpoint: the exact body to POST, and how its attempts went.

    The body is frozen when the delivery is created, so every retry and a
    replay send the same bytes under the same event id.
    """

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(40))
    change_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    """The lead change it came from (None for a test ping)."""
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    retry_until: Mapped[datetime]
    """Failures are retried until then (24 h after creation or after a replay), then dead."""
    lease_until: Mapped[datetime | None]
    """While ``sending``: when another worker may take it over (the sender died)."""
    claim: Mapped[str | None] = mapped_column(String(32))
    """The token of the worker that is sending it; only that worker records the outcome."""
    last_attempt_at: Mapped[datetime | None]
    response_code: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None]


class RelayCursor(Base):
    """The last lead change a consumer of the change log has handled (one row per consumer)."""

    __tablename__ = "relay_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(Base):
    """A lead handed to sales: a new MQL or a sales-fast-lane lead, open until sales accepts
    it (sql) or sends it back to nurturing (recycled), or its lifecycle moves on otherwise."""

    __tablename__ = "handoff"
    __table_args__ = (Index("ix_handoff_open", "resolved_at", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    """``mql`` or ``fast_lane``."""
    reason: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    change_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    """The lifecycle it left the queue with (sql, recycled, opportunity, customer, ...)."""
    resolution: Mapped[str] = mapped_column(Text, default="")
