"""The relay: lead changes (the transactional outbox tracking writes) become webhook deliveries.

It reads ``lead_change`` after its cursor, in sequence order, and in one
transaction writes one delivery per subscribed endpoint for every event the
change makes and moves the cursor on. A crash before the commit leaves both
untouched, so nothing is skipped or written twice; the unique (endpoint,
event id) pair is a second guard. Tracking never calls this: the arrow points
from nurture to tracking only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import dialect_insert, utcnow
from nurture.mail.subscriptions import suppressed_of
from nurture.models import RelayCursor, WebhookDelivery, WebhookEndpoint
from nurture.webhooks import RETRY_FOR, ChangeFacts, WebhookEvent, deal_event_id, events_for
from tracking.deals.models import Deal
from tracking.models import Lead, LeadChange
from tracking.reporting.deals import deal_read
from tracking.reporting.lead_document import LeadRead, lead_read
from tracking.rules.config import Model

CURSOR = "webhooks"
BATCH = 200


def position(session: Session) -> int:
    """The last change the relay has handled (0 before its first round)."""
    return session.scalar(select(RelayCursor.seq).where(RelayCursor.name == CURSOR)) or 0


def has_work(session: Session) -> bool:
    """True when changes newer than the cursor exist (a cheap read before a write round)."""
    head = session.scalar(select(func.max(LeadChange.seq))) or 0
    return head > position(session)


def lock_cursor(session: Session, name: str = CURSOR) -> RelayCursor | None:
    """A change-log consumer's cursor row, locked for this transaction; None while another
    worker holds it."""
    cursor = session.scalar(
        select(RelayCursor).where(RelayCursor.name == name).with_for_update(skip_locked=True)
    )
    if cursor is not None:
        return cursor
    insert = dialect_insert(session)
    session.execute(
        insert(RelayCursor)
        .values(name=name, seq=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=[RelayCursor.name])
    )
    return session.scalar(
        select(RelayCursor)
        .where(RelayCursor.name == name)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def payload(
    event_id: str, event_type: str, occurred_at: datetime, lead: LeadRead | None, data: Any
) -> str:
    """The webhook body of CONTRACT.md: ``{"id", "type", "occurred_at", "lead", "data"}``."""
    document = {
        "id": event_id,
        "type": event_type,
        "occurred_at": occurred_at,
        "lead": lead,
        "data": data,
    }
    return msgspec.json.encode(document).decode()


def _asset_data(session: Session, change: ChangeFacts) -> dict[str, Any]:
    asset = session.get(Asset, int(change.new))
    if asset is None:  # deleted since: the slug it had is all we know
        return {"asset": {"slug": change.reason, "title": None, "kind": None, "stage": None}}
    return {
        "asset": {
            "slug": asset.slug,
            "title": asset.title,
            "kind": asset.kind,
            "stage": asset.stage,
        }
    }


def deal_data(deal: Deal | None, deal_id: int, previous_stage: str | None) -> dict[str, Any]:
    """``deal.changed``'s data: the deal as it stands now (the API's Deal) and its stage
    before the change (null for a new deal)."""
    document: Any = deal_read(deal) if deal is not None else {"id": deal_id}
    return {"deal": document, "previous_stage": previous_stage}


def _data(session: Session, change: ChangeFacts, event: WebhookEvent) -> Any:
    if event.type == "asset.unlocked":
        return _asset_data(session, change)
    if event.type == "deal.changed":
        deal_id = int(change.new)
        return deal_data(session.get(Deal, deal_id), deal_id, change.old)
    return event.data


class _Round:
    """One relay round: caches each lead's document, so a burst of changes builds it once."""

    def __init__(
        self,
        session: Session,
        model: Model,
        now: datetime,
        endpoints: list[WebhookEndpoint],
        default_language: str,
    ) -> None:
        self.session = session
        self.model = model
        self.now = now
        self.endpoints = endpoints
        self.default_language = default_language
        self.leads: dict[int, LeadRead | None] = {}
        self.written = 0

    def lead(self, lead_id: int) -> LeadRead | None:
        if lead_id not in self.leads:
            lead = self.session.get(Lead, lead_id)
            self.leads[lead_id] = (
                None
                if lead is None
                else lead_read(
                    self.session,
                    lead,
                    self.model,
                    self.now,
                    suppressed=suppressed_of(self.session, [lead.email]).get(lead.email),
                    default_language=self.default_language,
                )
            )
        return self.leads[lead_id]

    def handle(self, change: ChangeFacts) -> None:
        for event in events_for(change):
            targets = [e for e in self.endpoints if event.type in (e.event_types or [])]
            if targets:
                self._deliver(change, event, targets)

    def _deliver(
        self, change: ChangeFacts, event: WebhookEvent, targets: list[WebhookEndpoint]
    ) -> None:
        data = _data(self.session, change, event)
        body = payload(event.id, event.type, change.at, self.lead(change.lead_id), data)
        for endpoint in targets:
            self.session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_type=event.type,
                    change_seq=change.seq,
                    body=body,
                    created_at=self.now,
                    next_attempt_at=self.now,
                    retry_until=self.now + RETRY_FOR,
                )
            )
            self.written += 1


def relay(
    session: Session,
    model: Model,
    now: datetime | None = None,
    batch: int = BATCH,
    *,
    default_language: str = "en",
) -> tuple[int, int]:
    """Turn up to ``batch`` changes after the cursor into deliveries.

    Returns how many changes were read and how many deliveries written.
    Without an enabled endpoint the cursor moves to the newest change at once.
    Runs in the caller's write transaction. Returns 0 at once while another
    worker holds the cursor (PostgreSQL; SQLite writers take turns anyway).
    """
    cursor = lock_cursor(session)
    if cursor is None:
        return 0, 0
    endpoints = list(
        session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True)))
    )
    if not endpoints:
        # Nobody to tell: pass over the backlog at once (an endpoint hears of what happens
        # from when it is enabled, not of history).
        cursor.seq = max(cursor.seq, session.scalar(select(func.max(LeadChange.seq))) or 0)
        cursor.updated_at = now or utcnow()
        return 0, 0
    rows = session.scalars(
        select(LeadChange).where(LeadChange.seq > cursor.seq).order_by(LeadChange.seq).limit(batch)
    ).all()
    if not rows:
        return 0, 0
    work = _Round(session, model, now or utcnow(), endpoints, default_language)
    for row in rows:
        work.handle(
            ChangeFacts(row.seq, row.lead_id, row.at, row.kind, row.old, row.new, row.reason)
        )
    cursor.seq = rows[-1].seq
    cursor.updated_at = work.now
    session.flush()
    return len(rows), work.written


def queue_deal_without_lead(
    session: Session, deal: Deal, previous_stage: str | None, now: datetime | None = None
) -> int:
    """Queue ``deal.changed`` for a deal posted for an account alone, in the transaction that
    changed it: it has no lead, so no change-log entry for the relay to read. Endpoints enabled
    and subscribed now get it (``lead`` is null), exactly once. Returns how many deliveries."""
    event_type = "deal.changed"
    targets = [
        endpoint
        for endpoint in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
        )
        if event_type in (endpoint.event_types or [])
    ]
    if not targets:
        return 0
    now = now or utcnow()
    event_id = deal_event_id(deal.id, deal.updated_at)
    body = payload(
        event_id, event_type, deal.updated_at, None, deal_data(deal, deal.id, previous_stage)
    )
    session.add_all(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event_id,
            event_type=event_type,
            change_seq=None,
            body=body,
            created_at=now,
            next_attempt_at=now,
            retry_until=now + RETRY_FOR,
        )
        for endpoint in targets
    )
    return len(targets)
