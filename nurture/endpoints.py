"""Managing webhook endpoints (the admin console's service): create, edit, rotate, replay, test."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.orm import SessionSource, utcnow
from content.printable import unprintable_said
from content.words import N_, Said
from nurture import delivery, targets
from nurture.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from nurture.relay import payload
from nurture.webhooks import EVENT_TYPES, PING, RETRY_FOR

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_DESCRIPTION = 200
REPLAYABLE = {DeliveryStatus.DEAD.value, DeliveryStatus.PENDING.value}


class EndpointError(ValueError):
    """The endpoint form has a problem; ``field`` names it, ``said`` says it (``str()``: the
    English)."""

    def __init__(self, field: str, message: str | Said) -> None:
        super().__init__(str(message))
        self.field = field
        self.said = message if isinstance(message, Said) else Said(message)


@dataclass(frozen=True, slots=True)
class EndpointDraft:
    """A checked endpoint form."""

    url: str
    event_types: tuple[str, ...]
    description: str


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def validate(
    url: str,
    event_types: Iterable[str],
    description: str,
    allowed: Sequence[targets.IPNetwork],
    resolve: targets.Resolver = targets.system_resolver,
) -> EndpointDraft:
    """Check a form: a URL that may receive webhooks now, known event types, a short description."""
    for field, text in (("url", url), ("description", description)):
        problem = unprintable_said(text)
        if problem:
            raise EndpointError(field, Said(N_("remove %(problem)s"), problem=problem))
    try:
        target = targets.check(url, allowed, resolve)
    except targets.TargetRefused as refused:
        said = refused.args[0] if refused.args else str(refused)
        raise EndpointError("url", said) from None
    chosen = tuple(t for t in EVENT_TYPES if t in set(event_types))
    unknown = set(event_types) - set(EVENT_TYPES)
    if unknown:
        raise EndpointError(
            "event_types",
            Said(N_("unknown event types: %(types)s"), types=", ".join(sorted(unknown))),
        )
    if not chosen:
        raise EndpointError("event_types", Said(N_("choose at least one event type")))
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise EndpointError(
            "description", Said(N_("at most %(max)s characters"), max=MAX_DESCRIPTION)
        )
    return EndpointDraft(target.url, chosen, description)


def create(session: Session, draft: EndpointDraft, now: datetime | None = None) -> WebhookEndpoint:
    """A new enabled endpoint with a fresh secret (show ``endpoint.secret`` once, now)."""
    now = now or utcnow()
    endpoint = WebhookEndpoint(
        url=draft.url,
        event_types=list(draft.event_types),
        description=draft.description,
        secret=new_secret(),
        enabled=True,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise LookupError(f"no webhook endpoint {endpoint_id}")
    return endpoint


def update(session: Session, endpoint_id: int, draft: EndpointDraft) -> WebhookEndpoint:
    """New URL, event types and description (deliveries already made keep their URL's fate)."""
    endpoint = get(session, endpoint_id)
    endpoint.url = draft.url
    endpoint.event_types = list(draft.event_types)
    endpoint.description = draft.description
    endpoint.updated_at = utcnow()
    return endpoint


def set_enabled(session: Session, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    """Disable (nothing new is queued or sent; pending deliveries wait) or enable again."""
    endpoint = get(session, endpoint_id)
    endpoint.enabled = enabled
    endpoint.updated_at = utcnow()
    return endpoint


def rotate_secret(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """A new secret; every delivery from now on (retries included) is signed with it."""
    endpoint = get(session, endpoint_id)
    endpoint.secret = new_secret()
    endpoint.secret_rotated_at = endpoint.updated_at = utcnow()
    return endpoint


def all_endpoints(session: Session) -> list[tuple[WebhookEndpoint, dict[str, int]]]:
    """Every endpoint with its count of deliveries per status."""
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, count in session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(endpoint_id, {})[status] = count
    endpoints = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    return [(e, counts.get(e.id, {})) for e in endpoints]


def deliveries(
    session: Session, endpoint_id: int, status: str = "", limit: int = 100
) -> list[WebhookDelivery]:
    """The endpoint's deliveries, newest first (optionally of one status)."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status:
        query = query.where(WebhookDelivery.status == status)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def replay(
    session: Session, endpoint_id: int, delivery_id: int, now: datetime | None = None
) -> WebhookDelivery:
    """Send a dead (or waiting) delivery again now, retried for another 24 h; same id and body."""
    found = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if found is None or found.endpoint_id != endpoint_id:
        raise LookupError(f"no delivery {delivery_id} for this endpoint")
    if found.status not in REPLAYABLE:
        raise ValueError(Said(N_("a %(status)s delivery cannot be replayed"), status=found.status))
    now = now or utcnow()
    found.status = DeliveryStatus.PENDING.value
    found.next_attempt_at = now
    found.retry_until = now + RETRY_FOR
    return found


def send_test(
    database: SessionSource,
    endpoint_id: int,
    allowed: Sequence[targets.IPNetwork],
    *,
    client: httpx.Client | None = None,
    resolve: targets.Resolver = targets.system_resolver,
) -> WebhookDelivery:
    """Send a signed ``ping`` to the endpoint now and record it (not retried); returns the row."""
    now = utcnow()
    token = delivery.new_claim()
    event = str(uuid.uuid4())
    with database.write() as session:
        endpoint = get(session, endpoint_id)
        body = payload(event, PING, now, None, {"endpoint": endpoint.id, "test": True})
        row = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event,
            event_type=PING,
            body=body,
            created_at=now,
            next_attempt_at=now,
            retry_until=now,
            attempts=0,
        )
        delivery.mark_sending(row, token, now)
        session.add(row)
        session.flush()
        claimed = delivery.Claimed(row.id, token, endpoint.url, endpoint.secret, event, body)
    own_client = client is None
    http = client or delivery.http_client()
    try:
        outcome = delivery.send(http, claimed, allowed, resolve)
    finally:
        if own_client:
            http.close()
    with database.write() as session:
        delivery.record(session, claimed.id, token, outcome, utcnow(), retry=False)
        session.flush()
        result = session.get(WebhookDelivery, claimed.id)
        assert result is not None
        session.expunge(result)
    return result
