"""Sending deliveries: claim due rows, POST them signed, record the outcome.

Claims are short write transactions; the HTTP request runs outside any
transaction. A claim holds a lease: if the worker dies while sending, the
lease runs out and another worker sends the delivery again (at least once).
On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers claim side by
side without taking the same row; on SQLite write transactions take turns and
one worker process at a time delivers (see ``nurture.worker``).
"""

from __future__ import annotations

import functools
import secrets
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from nurture import targets
from nurture.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from nurture.webhooks import next_attempt, sign
from tracking.models import LeadChange

LEASE = timedelta(seconds=120)
"""How long a claim lasts; far longer than a request may take (``TIMEOUT``): a worker sends
its claimed batch in parallel lanes and a lane stops at its first failure, so each claim is
settled within about one timeout."""
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "Leadshelf-Webhooks/1"
MAX_ERROR = 500
KEEP_FOR = timedelta(days=30)
"""Delivered and dead deliveries are kept this long for the console, then deleted."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker is sending, with what it needs to send it."""

    id: int
    claim: str
    url: str
    secret: str
    event_id: str
    body: str
    lane: tuple[int, int] | None = None
    """(endpoint, lead): deliveries sharing a lane are sent one after another, in order."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went."""

    delivered: bool
    response_code: int | None = None
    error: str = ""


def new_claim() -> str:
    return secrets.token_hex(16)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
        ),
        and_(
            WebhookDelivery.status == DeliveryStatus.SENDING.value,
            WebhookDelivery.lease_until <= now,
        ),
    )


def claim(session: Session, now: datetime, limit: int, token: str) -> list[Claimed]:
    """Take up to ``limit`` due deliveries of enabled endpoints (or ones whose lease ran out)."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.secret, LeadChange.lead_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .outerjoin(LeadChange, LeadChange.seq == WebhookDelivery.change_seq)
        .where(WebhookEndpoint.enabled.is_(True), _due(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    ).all()
    claimed = []
    for delivery, url, secret, lead_id in rows:
        mark_sending(delivery, token, now)
        lane = None if lead_id is None else (delivery.endpoint_id, lead_id)
        claimed.append(
            Claimed(delivery.id, token, url, secret, delivery.event_id, delivery.body, lane)
        )
    session.flush()
    return claimed


HELD_BACK = "not sent: an earlier event of this lead to this endpoint failed in the same batch"


def lanes(claimed: Sequence[Claimed]) -> list[list[Claimed]]:
    """Split a claimed batch into lanes, each in the order its deliveries were queued.

    One lead's events to one endpoint share a lane and are sent one after
    another, so they arrive in the order they happened; lanes go side by side.
    """
    grouped: dict[object, list[Claimed]] = {}
    for item in claimed:
        grouped.setdefault(item.lane if item.lane is not None else ("own", item.id), []).append(
            item
        )
    return [sorted(lane, key=lambda item: item.id) for lane in grouped.values()]


def mark_sending(delivery: WebhookDelivery, token: str, now: datetime) -> None:
    delivery.status = DeliveryStatus.SENDING.value
    delivery.claim = token
    delivery.lease_until = now + LEASE
    delivery.attempts += 1
    delivery.last_attempt_at = now


def pinned_url(target: targets.Target) -> str:
    """The URL with its host replaced by the checked address (the Host header keeps the name)."""
    parts = targets.split_url(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    return parts._replace(netloc=f"{address}:{target.port}").geturl()


def send(
    client: httpx.Client,
    delivery: Claimed,
    allowed: Sequence[targets.IPNetwork],
    resolve: targets.Resolver = targets.system_resolver,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """POST one delivery, signed, to the checked address; 2xx is delivered, anything else not."""
    try:
        target = targets.check(delivery.url, allowed, resolve)
    except targets.TargetRefused as refused:
        return Outcome(False, error=f"refused: {refused}")
    body = delivery.body.encode()
    netloc = targets.split_url(target.url).netloc
    headers = {
        "Host": netloc,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Leadshelf-Event-Id": delivery.event_id,
        "Leadshelf-Signature": sign(delivery.secret, int(clock()), body),
    }
    try:
        with client.stream(
            "POST",
            pinned_url(target),
            content=body,
            headers=headers,
            extensions={"sni_hostname": target.host},
        ) as response:
            code = response.status_code
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    if 200 <= code < 300:
        return Outcome(True, code)
    note = " (redirects are not followed)" if 300 <= code < 400 else ""
    return Outcome(False, code, f"HTTP {code}{note}")


def http_client() -> httpx.Client:
    """A client with short timeouts that never follows redirects nor reads proxy settings."""
    return httpx.Client(
        timeout=TIMEOUT, follow_redirects=False, trust_env=False, verify=_tls_context()
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context (httpx's default) every client shares: loading
    the CA bundle takes 60 ms, and every app and worker process builds a client."""
    return httpx.create_ssl_context(trust_env=False)


def record(
    session: Session,
    delivery_id: int,
    token: str,
    outcome: Outcome,
    now: datetime,
    *,
    retry: bool = True,
    jitter: Callable[[], float] | None = None,
) -> str | None:
    """Store how an attempt went; returns the new status, or None when the claim was lost
    (the lease ran out and another worker took the delivery over)."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.claim != token:
        return None
    delivery.claim = None
    delivery.lease_until = None
    delivery.response_code = outcome.response_code
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        return delivery.status
    later = (
        next_attempt(delivery.attempts, delivery.retry_until, now, *([jitter] if jitter else []))
        if retry
        else None
    )
    if later is None:
        delivery.status = DeliveryStatus.DEAD.value
    else:
        delivery.status = DeliveryStatus.PENDING.value
        delivery.next_attempt_at = later
    return delivery.status


def prune(session: Session, now: datetime) -> int:
    """Delete settled (delivered or dead) deliveries last tried over ``KEEP_FOR`` ago; returns
    how many. A delivery that just died stays visible (and replayable) for that long."""
    result = session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status.in_([DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value]),
            func.coalesce(WebhookDelivery.last_attempt_at, WebhookDelivery.created_at)
            < now - KEEP_FOR,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class Backlog:
    """The outbox as an operator reads it."""

    undelivered: int
    """Deliveries not settled yet: waiting for their turn, retrying, or being sent."""
    oldest_undelivered: datetime | None
    """When the oldest of them was queued."""
    due_since: datetime | None
    """When the longest-waiting delivery that is due now became due (None: none is due)."""


def backlog(session: Session, now: datetime) -> Backlog:
    """What the delivery job has in front of it."""
    unsettled = WebhookDelivery.status.in_(
        [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
    )
    undelivered, oldest = session.execute(
        select(func.count(), func.min(WebhookDelivery.created_at)).where(unsettled)
    ).one()
    due_since = session.scalar(
        select(
            func.min(
                case(
                    (
                        WebhookDelivery.status == DeliveryStatus.SENDING.value,
                        WebhookDelivery.lease_until,
                    ),
                    else_=WebhookDelivery.next_attempt_at,
                )
            )
        ).where(_due(now))
    )
    return Backlog(int(undelivered), oldest, due_since)
