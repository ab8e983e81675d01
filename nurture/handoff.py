"""The sales handoff queue, fed by the lead change log.

A lead enters the queue when it becomes an MQL or takes the sales fast lane
(a lifecycle change whose reason starts "sales fast lane"); it leaves when
sales accepts it (sql) or sends it back to nurturing (recycled) with a
reason, or when its lifecycle moves on in any other way (API, rules). Like
the webhook relay, the queue reads the log by sequence from its own cursor,
so it never misses or repeats a change, and tracking never calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture.models import Handoff
from nurture.relay import lock_cursor
from tracking.models import Lead, LeadChange
from tracking.pipeline import leadstate
from tracking.reporting import lead_view
from tracking.rules.config import Model
from tracking.rules.scoring import Lifecycle

CURSOR = "handoff"
FAST_LANE = "sales fast lane"
BATCH = 1000


def _opens(change: LeadChange) -> str | None:
    """The kind of handoff a lifecycle change opens, if any."""
    if change.new == Lifecycle.MQL.value:
        return "mql"
    if change.new == Lifecycle.SQL.value and change.reason.startswith(FAST_LANE):
        return "fast_lane"
    return None


def open_for(session: Session, lead_id: int) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(Handoff.lead_id == lead_id, Handoff.resolved_at.is_(None))
    )


def catch_up(session: Session) -> int:
    """Apply the lifecycle changes logged since the cursor; returns how many were read."""
    cursor = lock_cursor(session, CURSOR)
    if cursor is None:  # another process is catching up right now
        return 0
    # Up to the head as it stands now: a change committed while we read waits for next time.
    head = session.scalar(select(LeadChange.seq).order_by(LeadChange.seq.desc()).limit(1)) or 0
    read = 0
    while cursor.seq < head:
        changes = list(
            session.scalars(
                select(LeadChange)
                .where(
                    LeadChange.seq > cursor.seq,
                    LeadChange.seq <= head,
                    LeadChange.kind == "lifecycle",
                )
                .order_by(LeadChange.seq)
                .limit(BATCH)
            )
        )
        for change in changes:
            _apply(session, change)
        read += len(changes)
        cursor.seq = changes[-1].seq if len(changes) == BATCH else head
    cursor.updated_at = utcnow()
    return read


def _apply(session: Session, change: LeadChange) -> None:
    current = open_for(session, change.lead_id)
    kind = _opens(change)
    if current is not None and (kind is None or current.kind != kind):
        current.resolved_at, current.outcome = change.at, change.new
        current.resolution = change.reason[:1000]
        session.flush()
        current = None
    if kind is not None and current is None:
        session.add(
            Handoff(
                lead_id=change.lead_id,
                kind=kind,
                reason=change.reason,
                opened_at=change.at,
                change_seq=change.seq,
            )
        )
        session.flush()


def move(
    session: Session,
    lead: Lead,
    target: Lifecycle,
    reason: str,
    model: Model,
    now: datetime | None = None,
) -> None:
    """Sales acts on a lead: a lifecycle move (checked by the rules) that also closes its open
    handoff. Accepting a fast-lane lead, already sql, only closes the handoff."""
    now = now or utcnow()
    catch_up(session)
    current = open_for(session, lead.id)
    accepting_fast_lane = (
        target is Lifecycle.SQL
        and lead.lifecycle == target.value
        and current is not None
        and current.kind == "fast_lane"
    )
    if accepting_fast_lane and current is not None:
        current.resolved_at, current.outcome, current.resolution = now, target.value, reason
        return
    leadstate.set_lifecycle(session, lead, target, reason, now)
    leadstate.evaluate(session, lead, model, now)  # e.g. a customer is now in that stage
    session.flush()
    catch_up(session)


@dataclass(frozen=True, slots=True)
class QueueItem:
    handoff: Handoff
    lead: Lead
    explanation: str
    waiting_days: float
    seen: lead_view.LeadView | None = None
    """The lead's verdicts and the reasons of its stage, for a page to word in its language."""


def queue(session: Session, model: Model, now: datetime | None = None) -> list[QueueItem]:
    """Open handoffs, the longest-waiting first, each with the lead's stage evidence."""
    now = now or utcnow()
    rows = session.execute(
        select(Handoff, Lead)
        .join(Lead, Lead.id == Handoff.lead_id)
        .where(Handoff.resolved_at.is_(None))
        .order_by(Handoff.opened_at, Handoff.id)
        .limit(200)
    ).all()
    items = []
    for item, lead in rows:
        seen = lead_view.view(session, lead, model, now)
        items.append(
            QueueItem(
                handoff=item,
                lead=lead,
                explanation=seen.explanation,
                waiting_days=(now - item.opened_at).total_seconds() / 86_400,
                seen=seen,
            )
        )
    return items


def recent(session: Session, limit: int = 50) -> list[tuple[Handoff, Lead]]:
    """Handoffs closed lately, newest first (what sales did)."""
    return [
        (item, lead)
        for item, lead in session.execute(
            select(Handoff, Lead)
            .join(Lead, Lead.id == Handoff.lead_id)
            .where(Handoff.resolved_at.is_not(None))
            .order_by(Handoff.resolved_at.desc(), Handoff.id.desc())
            .limit(limit)
        )
    ]


def recent_changes(session: Session, lead_id: int, limit: int = 100) -> list[LeadChange]:
    """The lead's change log, newest first."""
    return list(
        session.scalars(
            select(LeadChange)
            .where(LeadChange.lead_id == lead_id)
            .order_by(LeadChange.seq.desc())
            .limit(limit)
        )
    )
