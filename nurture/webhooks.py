"""The webhook rules, pure: which events a lead change makes, event ids, signatures, backoff.

Nothing here touches the database or the network, so every rule is tested
with plain values (tests/nurture/test_webhook_rules.py).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

EVENT_TYPES: tuple[str, ...] = (
    "lead.identified",
    "lead.stage_changed",
    "lead.lifecycle_changed",
    "lead.mql",
    "lead.sales_fast_lane",
    "lead.milestone",
    "asset.unlocked",
    "email.bounced",
    "lead.unsubscribed",
    "lead.sales_notified",
    "deal.changed",
)
"""Every type an endpoint may subscribe to (CONTRACT.md, "Webhooks" and its additions)."""

PING = "ping"
"""The type of the console's "Send test" event; never subscribed, always sent on request."""

SALES_FAST_LANE_PREFIX = "sales fast lane"
EVENT_NAMESPACE = uuid.UUID("6f1d3c52-8a47-4a8e-9d6b-1c0e5f0b7a21")

RETRY_FOR = timedelta(hours=24)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ChangeFacts:
    """One lead change as the relay reads it from ``lead_change``."""

    seq: int
    lead_id: int
    at: datetime
    kind: str
    old: str | None
    new: str
    reason: str


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event a change makes: its stable id, type, and the ``data`` of the payload."""

    id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)


def event_id(change: ChangeFacts, event_type: str) -> str:
    """A UUID fixed by the change and the type: every endpoint and every retry sees the same id.

    The change's time is part of the name, so a restored or rebuilt database
    that hands out the same sequence numbers again makes new ids.
    """
    name = f"{change.seq}:{change.lead_id}:{change.at.isoformat()}:{event_type}"
    return str(uuid.uuid5(EVENT_NAMESPACE, name))


def _move(change: ChangeFacts) -> dict[str, Any]:
    return {"from": change.old, "to": change.new, "reason": change.reason}


def _types_and_data(change: ChangeFacts) -> list[tuple[str, dict[str, Any]]]:
    if change.kind == "identified":
        return [("lead.identified", {"source": change.reason})]
    if change.kind == "stage":
        return [("lead.stage_changed", _move(change))]
    if change.kind == "milestone":
        return [("lead.milestone", {"milestone": change.new, "label": change.reason})]
    if change.kind == "unlocked":
        return [("asset.unlocked", {"asset_id": int(change.new), "slug": change.reason})]
    if change.kind == "email_bounced":  # written by nurture.mail.suppression.suppress
        return [("email.bounced", {"reason": change.new, "detail": change.reason})]
    if change.kind == "unsubscribed":
        return [("lead.unsubscribed", {"detail": change.reason})]
    if change.kind == "sales_notified":  # a nurture program's notify step
        return [("lead.sales_notified", {"program": change.new, "note": change.reason})]
    if change.kind == "deal":  # the relay puts the deal as it stands in ``data``
        return [("deal.changed", {"deal_id": int(change.new), "previous_stage": change.old})]
    if change.kind != "lifecycle":
        return []  # grade and category changes travel inside the Lead, not as events
    found = [("lead.lifecycle_changed", _move(change))]
    if change.new == "mql":
        found.append(("lead.mql", {"reason": change.reason}))
    if change.reason.startswith(SALES_FAST_LANE_PREFIX):
        found.append(("lead.sales_fast_lane", {"reason": change.reason}))
    return found


def events_for(change: ChangeFacts) -> list[WebhookEvent]:
    """The webhook events one lead change makes (none for grade or category changes)."""
    return [
        WebhookEvent(event_id(change, event_type), event_type, data)
        for event_type, data in _types_and_data(change)
    ]


def deal_event_id(deal_id: int, updated_at: datetime) -> str:
    """The id of ``deal.changed`` for a deal without a lead (it has no change-log entry): fixed
    by the deal and the moment of its change."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"deal:{deal_id}:{updated_at.isoformat()}"))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Leadshelf-Signature`` header: ``t=UNIX,v1=HEX``, HMAC-SHA256 over ``"{t}.{body}"``."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: the signature matches and its time is within ``tolerance`` s."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int, jitter: Callable[[], float] = random.random) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling from 30 s, at most an
    hour, each wait drawn between half and all of that (jitter spreads retries of a bulk outage).
    """
    ceiling = min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 16)), LONGEST_WAIT)
    return ceiling * (0.5 + jitter() / 2)


def next_attempt(
    attempts: int,
    retry_until: datetime,
    now: datetime,
    jitter: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try again after a failure, or None: dead letter (``retry_until`` has passed).

    The last try is made at ``retry_until`` itself, so a receiver that comes
    back within the 24 h always gets the event.
    """
    if now >= retry_until:
        return None
    return min(now + backoff(attempts, jitter), retry_until)


def schedule(jitter: Callable[[], float] = lambda: 1.0) -> list[timedelta]:
    """The waits between attempts until the dead letter (for docs and tests; no jitter)."""
    waits: list[timedelta] = []
    elapsed = timedelta()
    while elapsed < RETRY_FOR:
        wait = min(backoff(len(waits) + 1, jitter), RETRY_FOR - elapsed)
        waits.append(wait)
        elapsed += wait
    return waits
