"""Keeping the attribution rollups (the ``attribution`` job).

Milestones are append-only (``funnel_milestone``, written with the change log): the job reads
those after its state's ``milestone_id``, a batch at a time, loads the touches of their leads
in the longest window (content first read, visits, program mails clicked), credits each
milestone under every model and window and adds the credits into ``attribution_month``, so a
milestone is credited once, with the touches its lead had when the job read it.

Money comes from deals, which change (an amount corrected, a deal won): when any deal changed
since the last pass the pipeline (deals opened, at their creation) and revenue (deals won, at
their close) rollups are rebuilt from all deals of the report currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.orm import Session

from content.orm import SessionSource, dialect_insert
from nurture.attribution.models import (
    AttributionGap,
    AttributionMonth,
    AttributionState,
    SourceTiming,
)
from nurture.attribution.rules import (
    WINDOWS,
    AttributionModel,
    Touch,
    credits,
    in_window,
    month_of,
)
from nurture.mail.models import MailMessage
from nurture.programs.models import StepLog
from tracking.deals.models import Deal
from tracking.models import AssetEngagement, FunnelMilestone, Lead
from tracking.sources.models import Visit

FAMILIES = ("content", "source", "campaign", "program")
COUNTED = ("created", "mql", "sql", "opportunity", "customer")
MONEY = ("pipeline", "revenue")
TIMED = ("mql", "sql")
"""Milestones whose time from the lead's first touch is kept per original source."""
BATCH = 500
LONGEST = timedelta(days=max(WINDOWS))
MONTH_TABLE: Table = AttributionMonth.__table__  # type: ignore[assignment]
GAP_TABLE: Table = AttributionGap.__table__  # type: ignore[assignment]
TIMING_TABLE: Table = SourceTiming.__table__  # type: ignore[assignment]
MONTH_KEY = ("month", "milestone", "family", "key", "model", "window_days")
GAP_KEY = ("month", "milestone", "family", "window_days")
TIMING_KEY = ("month", "source", "milestone")


def source_key(source: str, medium: str) -> str:
    """How a visit's source is reported: ``linkedin / social``, ``direct``."""
    source, medium = source or "direct", medium or ""
    return f"{source} / {medium}" if medium and medium != "none" else source


@dataclass(slots=True)
class Leads:
    """What the job knows of a batch's leads: touches per family, milestones reached."""

    touches: dict[int, dict[str, list[Touch]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    reached: dict[int, list[tuple[str, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    first_source: dict[int, tuple[datetime, str]] = field(default_factory=dict)


def read_leads(session: Session, lead_ids: Sequence[int], since: datetime) -> Leads:
    """The touches of these leads from ``since`` on, their milestones and first visits."""
    found = Leads()
    if not lead_ids:
        return found
    for lead_id, asset_id, at in session.execute(
        select(AssetEngagement.lead_id, AssetEngagement.asset_id, AssetEngagement.first_at).where(
            AssetEngagement.lead_id.in_(lead_ids), AssetEngagement.first_at >= since
        )
    ):
        if lead_id is not None:
            found.touches[lead_id]["content"].append(Touch(at, str(asset_id)))
    for lead_id, at, source, medium, campaign in session.execute(
        select(Visit.lead_id, Visit.started_at, Visit.source, Visit.medium, Visit.campaign).where(
            Visit.lead_id.in_(lead_ids), Visit.started_at >= since
        )
    ):
        if lead_id is None:
            continue
        found.touches[lead_id]["source"].append(Touch(at, source_key(source, medium)))
        if campaign:
            found.touches[lead_id]["campaign"].append(Touch(at, campaign))
    for lead_id, program_id, clicked in session.execute(
        select(StepLog.lead_id, StepLog.program_id, MailMessage.clicked_at)
        .join(MailMessage, MailMessage.id == StepLog.message_id)
        .where(
            StepLog.lead_id.in_(lead_ids),
            MailMessage.clicked_at.is_not(None),
            MailMessage.clicked_at >= since,
        )
    ):
        if clicked is not None:
            found.touches[lead_id]["program"].append(Touch(clicked, str(program_id)))
    for lead_id, kind, at in session.execute(
        select(FunnelMilestone.lead_id, FunnelMilestone.kind, FunnelMilestone.at).where(
            FunnelMilestone.lead_id.in_(lead_ids)
        )
    ):
        found.reached[lead_id].append((kind, at))
    for lead_id, at, source, medium in session.execute(
        select(Lead.id, Visit.started_at, Visit.source, Visit.medium)
        .join(Visit, Visit.id == Lead.first_visit_id)
        .where(Lead.id.in_(lead_ids))
    ):
        found.first_source[lead_id] = (at, source_key(source, medium))
    return found


def reached_by(reached: Iterable[tuple[str, datetime]], at: datetime) -> dict[str, datetime]:
    """The latest moment at or before ``at`` the lead reached each milestone."""
    latest: dict[str, datetime] = {}
    for kind, moment in reached:
        if moment <= at and (kind not in latest or moment > latest[kind]):
            latest[kind] = moment
    return latest


@dataclass(slots=True)
class Sums:
    """Credits of a batch, added into the rollups in one statement per table."""

    credit: dict[tuple[Any, ...], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0])
    )
    gap: dict[tuple[Any, ...], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0])
    )
    timing: dict[tuple[Any, ...], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )

    def credit_milestone(
        self,
        milestone: str,
        at: datetime,
        touches: dict[str, list[Touch]],
        reached: dict[str, datetime],
        amount: float = 1.0,
    ) -> None:
        """Credit one milestone (or a deal's ``amount``) under every family, window, model."""
        month = month_of(at)
        for family in FAMILIES:
            mine = touches.get(family, [])
            for window in WINDOWS:
                gap = self.gap[(month, milestone, family, window)]
                gap[0] += amount if milestone in MONEY else 1
                found = in_window(mine, at, window)
                if not found:
                    gap[1] += amount
                    continue
                keys = {touch.key for touch in found}
                for model in AttributionModel:
                    shares = credits(model, found, at, reached, window=window, amount=amount)
                    for key in keys:
                        row = self.credit[(month, milestone, family, key, model.value, window)]
                        row[0] += shares.get(key, 0.0)
                        row[1] += 1

    def write(self, session: Session, *, replace: bool = False) -> None:
        """Add the sums into the rollups (``replace``: set the rows to them): plain
        executemany upserts on the tables (the ORM's bulk path spent as long again on each
        row)."""
        insert = dialect_insert(session)
        for table, key, values, rows in (
            (MONTH_TABLE, MONTH_KEY, ("credit", "touched"), self.credit),
            (GAP_TABLE, GAP_KEY, ("reached", "unattributed"), self.gap),
            (TIMING_TABLE, TIMING_KEY, ("leads", "seconds"), self.timing),
        ):
            if not rows:
                continue
            statement = insert(table)
            new = statement.excluded
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=list(key),
                    set_={name: new[name] if replace else table.c[name] + new[name]
                          for name in values},
                ),
                [dict(zip((*key, *values), (*found, *sums), strict=True))
                 for found, sums in rows.items()],
            )  # fmt: skip


def state_of(session: Session) -> AttributionState:
    found = session.scalar(
        select(AttributionState).where(AttributionState.id == 1).with_for_update()
    )
    if found is None:
        found = AttributionState(id=1, milestone_id=0, deals=0)
        session.add(found)
        session.flush()
    return found


@dataclass(slots=True)
class Credited:
    """A batch of milestones credited from a read, to be added in a short write."""

    after: int
    """The state's ``milestone_id`` the batch was read after."""
    last: int
    count: int
    sums: Sums


def read_milestones(session: Session, batch: int = BATCH) -> Credited | None:
    """The credits of up to ``batch`` milestones after the state's (None: none are new)."""
    after = session.scalar(select(AttributionState.milestone_id).where(AttributionState.id == 1))
    after = after or 0
    rows = session.execute(
        select(FunnelMilestone.id, FunnelMilestone.lead_id, FunnelMilestone.kind,
               FunnelMilestone.at)
        .where(FunnelMilestone.id > after)
        .order_by(FunnelMilestone.id)
        .limit(batch)
    ).all()  # fmt: skip
    if not rows:
        return None
    since = min(row.at for row in rows) - LONGEST
    leads = read_leads(session, sorted({row.lead_id for row in rows}), since)
    sums = Sums()
    for row in rows:
        reached = reached_by(leads.reached.get(row.lead_id, []), row.at)
        sums.credit_milestone(row.kind, row.at, leads.touches.get(row.lead_id, {}), reached)
        first = leads.first_source.get(row.lead_id)
        if row.kind in TIMED and first is not None and first[0] <= row.at:
            timing = sums.timing[(month_of(row.at), first[1], row.kind)]
            timing[0] += 1
            timing[1] += int((row.at - first[0]).total_seconds())
    return Credited(after, rows[-1].id, len(rows), sums)


def add_milestones(session: Session, found: Credited, now: datetime) -> int:
    """Add a batch's credits and move the state past it; 0 when another pass credited those
    milestones since they were read (nothing is added twice)."""
    state = state_of(session)
    if state.milestone_id != found.after:
        return 0
    found.sums.write(session)
    state.milestone_id = found.last
    state.updated_at = now
    return found.count


def credit_milestones(session: Session, now: datetime, batch: int = BATCH) -> int:
    """Credit up to ``batch`` milestones after the state's in one session; returns how many."""
    found = read_milestones(session, batch)
    return add_milestones(session, found, now) if found is not None else 0


@dataclass(slots=True)
class Money:
    """Pipeline and revenue credited from every deal as read, and how they differ from the
    rollups' money rows as read with them: a changed deal rewrites only the rows it moves."""

    newest: datetime | None
    deals: int
    credited: int
    sums: Sums
    """Every money row as it should be."""
    seen: tuple[datetime | None, int]
    """The state's ``deals_seen_at`` and ``deals`` when the rows were read."""
    changed: Sums
    """The rows that differ from the stored ones (their new values)."""
    gone_credit: list[tuple[Any, ...]]
    gone_gap: list[tuple[Any, ...]]
    """Stored rows no deal credits any more (primary keys)."""


def read_money(session: Session, currency: str) -> Money | None:
    """Pipeline and revenue from every deal of the currency, when a deal changed since the
    last rebuild (or one was deleted); None when nothing changed."""
    seen = session.execute(
        select(AttributionState.deals_seen_at, AttributionState.deals).where(
            AttributionState.id == 1
        )
    ).first()
    seen_at, seen_count = seen if seen is not None else (None, 0)
    newest, count = session.execute(select(func.max(Deal.updated_at), func.count(Deal.id))).one()
    if newest == seen_at and count == seen_count:
        return None
    deals = session.execute(
        select(Deal.lead_id, Deal.amount_minor, Deal.stage, Deal.created_at, Deal.closed_at)
        .where(Deal.lead_id.is_not(None), Deal.currency == currency)
        .order_by(Deal.id)
    ).all()
    sums, credited = Sums(), 0
    for first in range(0, len(deals), BATCH):
        chunk = deals[first : first + BATCH]
        since = min(deal.created_at for deal in chunk) - LONGEST
        leads = read_leads(session, sorted({deal.lead_id for deal in chunk}), since)
        for lead_id, amount, stage, created_at, closed_at in chunk:
            assert lead_id is not None  # selected so
            touches = leads.touches.get(lead_id, {})
            history = leads.reached.get(lead_id, [])
            sums.credit_milestone(
                "pipeline", created_at, touches, reached_by(history, created_at), float(amount)
            )
            if stage == "won" and closed_at is not None:
                sums.credit_milestone(
                    "revenue", closed_at, touches, reached_by(history, closed_at), float(amount)
                )
            credited += 1
    stored_credit = {
        tuple(row[:6]): (row[6], row[7])
        for row in session.execute(
            select(*(MONTH_TABLE.c[name] for name in MONTH_KEY), MONTH_TABLE.c.credit,
                   MONTH_TABLE.c.touched).where(MONTH_TABLE.c.milestone.in_(MONEY))
        )
    }  # fmt: skip
    stored_gap = {
        tuple(row[:4]): (row[4], row[5])
        for row in session.execute(
            select(*(GAP_TABLE.c[name] for name in GAP_KEY), GAP_TABLE.c.reached,
                   GAP_TABLE.c.unattributed).where(GAP_TABLE.c.milestone.in_(MONEY))
        )
    }  # fmt: skip
    changed = Sums()
    for key, (credit, touched) in sums.credit.items():
        if stored_credit.get(key) != (credit, touched):
            changed.credit[key] = [credit, touched]
    for key, (reached, missing) in sums.gap.items():
        if stored_gap.get(key) != (reached, missing):
            changed.gap[key] = [reached, missing]
    return Money(
        newest, count, credited, sums, (seen_at, seen_count), changed,
        [key for key in stored_credit if key not in sums.credit],
        [key for key in stored_gap if key not in sums.gap],
    )  # fmt: skip


def replace_money(session: Session, found: Money, now: datetime) -> int:
    """Put the money credits read in place of the rollups': only the rows that changed, or
    all of them when another pass replaced them since they were read (a deal changed
    meanwhile has a newer ``updated_at`` than the state keeps, so the next pass goes on)."""
    state = state_of(session)
    if (state.deals_seen_at, state.deals) != found.seen:
        for every in (MONTH_TABLE, GAP_TABLE):
            session.execute(delete(every).where(every.c.milestone.in_(MONEY)))
        found.sums.write(session)
    else:
        for table, names, gone in ((MONTH_TABLE, MONTH_KEY, found.gone_credit),
                                   (GAP_TABLE, GAP_KEY, found.gone_gap)):  # fmt: skip
            if gone:
                session.execute(
                    delete(table).where(*(table.c[n] == bindparam(f"old_{n}") for n in names)),
                    [{f"old_{n}": value for n, value in zip(names, key, strict=True)}
                     for key in gone],
                )  # fmt: skip
        found.changed.write(session, replace=True)
    state.deals_seen_at, state.deals, state.updated_at = found.newest, found.deals, now
    return found.credited


def rebuild_money(session: Session, now: datetime, currency: str) -> int | None:
    """Rebuild pipeline and revenue when a deal changed since the last pass (or one was
    deleted), in one session; returns the deals credited, or None when nothing changed."""
    found = read_money(session, currency)
    return replace_money(session, found, now) if found is not None else None


@dataclass(frozen=True, slots=True)
class PassDone:
    milestones: int
    deals: int | None

    def describe(self) -> str | None:
        parts = []
        if self.milestones:
            parts.append(f"{self.milestones} milestone(s) credited")
        if self.deals is not None:
            parts.append(f"pipeline and revenue rebuilt from {self.deals} deal(s)")
        return ", ".join(parts) or None


def run(database: SessionSource, currency: str, now: datetime, rounds: int = 200) -> PassDone:
    """The ``attribution`` job's pass: new milestones a batch at a time, then the money
    rollups if a deal changed. Touches are read and credits computed in read sessions; each
    write transaction only adds (or replaces) the sums, so on SQLite the job holds the write
    lock briefly and ingestion does not wait behind a batch's reads."""
    credited = 0
    for _ in range(rounds):
        with database.read() as session:
            found = read_milestones(session)
        if found is None:
            break
        with database.write() as session:
            credited += add_milestones(session, found, now)
        if found.count < BATCH:
            break
    with database.read() as session:
        money = read_money(session, currency)
    deals = None
    if money is not None:
        with database.write() as session:
            deals = replace_money(session, money, now)
    return PassDone(credited, deals)
