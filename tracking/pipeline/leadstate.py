"""Lead state: the journey accumulators kept current inside the ingestion transaction, the
verdicts derived from them, and the change log the nurturing core reads.

``tracking.pipeline.ingest.store`` scores each stored batch: its rows become touches per
subject (``Touched``), each anonymous visitor's state gets its events applied in O(1) each
(``score_visitors``, with the batch's writes), then each lead touched gets them and is
evaluated once (``score_leads``: stage, fit, engagement, grade, category, milestones,
lifecycle), every change logged.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from content.models import Asset
from content.orm import SessionSource, utcnow
from tracking.lead_profile import profile
from tracking.models import AssetEngagement, Event, Lead, LeadChange, VisitorJourney
from tracking.pipeline import bulk, changelog
from tracking.rules import journey, scoring
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState, Touch
from tracking.rules.scoring import Category, Lifecycle, LifecycleFacts

VISITOR_JOURNEY_TABLE: Table = VisitorJourney.__table__  # type: ignore[assignment]
ASSET_TABLE: Table = Asset.__table__  # type: ignore[assignment]

Depths = dict[tuple[str, int], float]
"""The deepest read so far per (visitor, asset)."""


def touches(
    rows: Iterable[Mapping[str, Any]], stages: Mapping[int, str], depths: Depths
) -> Iterator[tuple[Mapping[str, Any], Touch]]:
    """Event rows as touches, in order; ``depths`` is advanced as reading goes deeper."""
    for row in rows:
        asset_id = row["asset_id"]
        depth_before = depth_after = 0.0
        if asset_id is not None and row["visitor_id"]:
            key = (row["visitor_id"], asset_id)
            depth_before = depths.get(key, 0.0)
            depth_after = max(depth_before, row["depth"] or 0.0)
            depths[key] = depth_after
        yield (
            row,
            Touch(
                type=row["type"],
                at=row["occurred_at"],
                asset_id=asset_id,
                asset_stage=stages.get(asset_id) if asset_id is not None else None,
                seconds=float(row["seconds"] or 0.0),
                depth_before=depth_before,
                depth_after=depth_after,
            ),
        )


@dataclass(frozen=True, slots=True)
class Touched:
    """A stored batch's touches by subject: leads, and anonymous visitors."""

    by_lead: dict[int, list[Touch]]
    by_visitor: dict[str, list[Touch]]

    @classmethod
    def of(
        cls, rows: Sequence[Mapping[str, Any]], stages: Mapping[int, str], prior_depths: Depths
    ) -> Touched:
        """The batch's rows as touches; ``stages`` holds their assets' stages and
        ``prior_depths`` the deepest reads before the batch (it is not changed)."""
        by_lead: dict[int, list[Touch]] = defaultdict(list)
        by_visitor: dict[str, list[Touch]] = defaultdict(list)
        for row, touch in touches(rows, stages, dict(prior_depths)):
            if row["lead_id"] is not None:
                by_lead[row["lead_id"]].append(touch)
            elif row["visitor_id"]:
                by_visitor[row["visitor_id"]].append(touch)
        return cls(dict(by_lead), dict(by_visitor))


def score_leads(session: Session, touched: Touched, model: Model, now: datetime) -> None:
    """Fold a stored batch into its leads' states and re-evaluate each (locked in id order)."""
    for lead_id, lead_touches in sorted(touched.by_lead.items()):
        lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
        if lead is None:
            continue
        state = journey.apply(JourneyState.from_json(lead.journey), lead_touches, model.scoring)
        lead.journey = state.to_json()
        latest = max(t.at for t in lead_touches)
        lead.last_activity_at = max(lead.last_activity_at, latest)
        evaluate(session, lead, model, now)


def _asset_stages(session: Session, asset_ids: set[int]) -> dict[int, str]:
    if not asset_ids:
        return {}
    statement = statements(session.get_bind().dialect.name).asset_stages
    found = session.connection().execute(statement, {"ids": sorted(asset_ids)})
    return {asset_id: stage for asset_id, stage in found}


@dataclass(frozen=True, slots=True)
class _Statements:
    """The batch's statements, built once per dialect (building them costs more than running
    them: a batch of a few events spent a third of its time here)."""

    asset_stages: Select[Any]
    visitor_states: Select[Any]
    upsert_visitor_states: bulk.Rows


@cache
def statements(dialect: str) -> _Statements:
    """The statements for ``dialect``; ``asset_stages`` and ``visitor_states`` (of ``ids``) are
    what scoring a batch reads first, with the batch's other reads (``ingest.store``)."""
    table = VISITOR_JOURNEY_TABLE

    def replace_state(upsert: Any) -> Any:
        return upsert.on_conflict_do_update(
            index_elements=[table.c.visitor_id],
            set_={name: upsert.excluded[name] for name in ("journey", "journey_stage")},
        )

    return _Statements(
        asset_stages=select(ASSET_TABLE.c.id, ASSET_TABLE.c.stage).where(
            bulk.one_of(dialect, ASSET_TABLE.c.id, "ids")
        ),
        visitor_states=select(table.c.visitor_id, table.c.journey).where(
            bulk.one_of(dialect, table.c.visitor_id, "ids")
        ),
        upsert_visitor_states=bulk.rows(
            dialect, table, ("visitor_id", "journey", "journey_stage"), replace_state
        ),
    )


def score_visitors(
    connection: Connection,
    touched: Touched,
    stored: Mapping[str, Any],
    model: Model,
    now: datetime,
) -> None:
    """Anonymous visitors' states: one upsert for the whole batch; ``stored`` holds their
    journey states before it (``statements().visitor_states``), for at least those visitors."""
    rows = []
    for visitor_id in sorted(touched.by_visitor):
        state = journey.apply(
            JourneyState.from_json(stored.get(visitor_id)),
            touched.by_visitor[visitor_id],
            model.scoring,
        )
        stage = journey.stage_of(state, now, model)
        rows.append({"visitor_id": visitor_id, "journey": state.to_json(), "journey_stage": stage})
    statements(connection.dialect.name).upsert_visitor_states.run(connection, rows)


def merge_visitor(session: Session, visitor_id: str, lead: Lead, model: Model) -> None:
    """Identity stitching for the state: the visitor's journey joins its lead's, once."""
    row = session.get(VisitorJourney, visitor_id)
    if row is None:
        return
    merged = journey.merge(
        JourneyState.from_json(lead.journey), JourneyState.from_json(row.journey), model.scoring
    )
    lead.journey = merged.to_json()
    session.delete(row)


@dataclass(frozen=True, slots=True)
class Verdicts:
    """Everything scoring says about a lead at one moment."""

    stage: journey.StageVerdict
    fit: scoring.FitScore
    engagement: float
    grade: str
    grade_reason: str
    category: Category
    category_reason: str
    milestones: tuple[str, ...]
    mql: bool
    mql_reason: str


def verdicts(session: Session, lead: Lead, model: Model, now: datetime) -> Verdicts:
    """Stage, fit, engagement, grade, category and milestones of a lead, from its state."""
    state = JourneyState.from_json(lead.journey)
    answers = profile(session, lead.id)
    stage = journey.infer_stage(state, answers, now, model, lead.lifecycle)
    fit_score = scoring.fit(answers, model.scoring)
    engaged = scoring.engagement(state, now, model.scoring)
    letter, grade_reason = scoring.grade(fit_score.score, engaged, model.scoring)
    category, category_reason = scoring.category(answers, len(state.assets), model.scoring)
    reads = _reads_by_stage(session, lead.id, model)
    mql, mql_reason = scoring.is_mql(fit_score.score, engaged, stage.stage, model.scoring)
    return Verdicts(
        stage=stage,
        fit=fit_score,
        engagement=engaged,
        grade=letter,
        grade_reason=grade_reason,
        category=category,
        category_reason=category_reason,
        milestones=scoring.milestones(state, reads, model.scoring),
        mql=mql,
        mql_reason=mql_reason,
    )


def _reads_by_stage(session: Session, lead_id: int, model: Model) -> dict[str, dict[float, int]]:
    """How many assets of each stage the lead read to each milestone depth (few rows)."""
    depths = sorted({m.depth for m in model.scoring.milestones if m.stage})
    if not depths:
        return {}
    per_asset = session.execute(
        select(Asset.stage, func.max(AssetEngagement.max_depth))
        .join(Asset, Asset.id == AssetEngagement.asset_id)
        .where(AssetEngagement.lead_id == lead_id)
        .group_by(AssetEngagement.asset_id, Asset.stage)
    )
    reads: dict[str, dict[float, int]] = defaultdict(lambda: dict.fromkeys(depths, 0))
    for stage, depth in per_asset:
        for threshold in depths:
            if (depth or 0.0) >= threshold:
                reads[stage][threshold] += 1
    return dict(reads)


def evaluate(
    session: Session,
    lead: Lead,
    model: Model,
    now: datetime | None = None,
    *,
    fast_lane_reason: str | None = None,
) -> list[LeadChange]:
    """Recompute a lead's verdicts, store them, and log every change (returned)."""
    now = now or utcnow()
    found = verdicts(session, lead, model, now)
    changes: list[LeadChange] = []

    def change(
        kind: str, old: str | None, new: str, reason: str, since: datetime | None = None
    ) -> None:
        timed = kind in TIMED_KINDS
        if old != new:
            changes.append(
                LeadChange(
                    lead_id=lead.id, at=now, kind=kind, old=old, new=new, reason=reason,
                    dwell_seconds=_dwell(since or lead.created_at, now) if timed else None,
                )
            )  # fmt: skip

    if lead.journey_stage != found.stage.stage:
        change("stage", lead.journey_stage, found.stage.stage, stage_reason(found.stage),
               lead.stage_changed_at)  # fmt: skip
        lead.stage_changed_at = now
    change("grade", lead.grade, found.grade, found.grade_reason)
    change("category", lead.category, found.category.value, found.category_reason)
    for name in found.milestones:
        if name not in (lead.milestones or []):
            change("milestone", None, name, _milestone_label(model, name))
    lead.journey_stage = found.stage.stage
    lead.stage_confidence = found.stage.confidence
    lead.fit_score = found.fit.score
    lead.engagement = found.engagement
    lead.engagement_as_of = now
    lead.grade = found.grade
    lead.category = found.category.value
    lead.milestones = sorted(set(lead.milestones or []) | set(found.milestones))
    if found.category == Category.BANT and not fast_lane_reason:
        fast_lane_reason = found.category_reason
    move = scoring.next_lifecycle(
        LifecycleFacts(
            current=Lifecycle(lead.lifecycle),
            mql=found.mql,
            mql_reason=found.mql_reason,
            sales_fast_lane=fast_lane_reason is not None,
            fast_lane_reason=fast_lane_reason or "",
            changed_at=lead.lifecycle_changed_at,
            now=now,
        ),
        model.scoring,
    )
    if move is not None:
        change("lifecycle", lead.lifecycle, move[0].value, move[1], lead.lifecycle_changed_at)
        lead.lifecycle, lead.lifecycle_changed_at = move[0].value, now
    changelog.append(session, *changes)
    return changes


TIMED_KINDS = frozenset({"stage", "lifecycle"})


def _dwell(since: datetime | None, now: datetime) -> float | None:
    """Seconds between entering a stage (or lifecycle step) and leaving it."""
    return max(0.0, (now - since).total_seconds()) if since is not None else None


def stage_reason(verdict: journey.StageVerdict) -> str:
    """ "decision (0.78): 2 assets, timeframe 0-3m" (titles are filled in by ``explain``)."""
    chosen = next(e for e in verdict.evidence if e.stage == verdict.stage)
    parts = [f"{len(chosen.top)} asset(s) weighing {chosen.score:g}"] if chosen.top else []
    parts += list(chosen.hints)
    said = f": {', '.join(parts)}" if parts else ""
    return f"{verdict.stage} ({verdict.confidence:.2f}){said}"


def _milestone_label(model: Model, name: str) -> str:
    return next((m.label for m in model.scoring.milestones if m.name == name), name)


def set_lifecycle(
    session: Session, lead: Lead, target: Lifecycle, reason: str, now: datetime | None = None
) -> LeadChange:
    """A lifecycle move by sales or the API (checked by ``scoring.manual_lifecycle``)."""
    refused = scoring.manual_lifecycle(Lifecycle(lead.lifecycle), target)
    if refused:
        raise ValueError(refused)
    return move_lifecycle(session, lead, target, reason, now)


def move_lifecycle(
    session: Session, lead: Lead, target: Lifecycle, reason: str, now: datetime | None = None
) -> LeadChange:
    """Make and log a lifecycle move its caller's rule allowed (``set_lifecycle`` for sales and
    the API, ``scoring.deal_lifecycle`` for the CRM's deals); the change log records its
    funnel milestone, and webhooks, the handoff queue and programs read it from there."""
    now = now or utcnow()
    entry = LeadChange(
        lead_id=lead.id, at=now, kind="lifecycle", old=lead.lifecycle, new=target.value,
        reason=reason, dwell_seconds=_dwell(lead.lifecycle_changed_at or lead.created_at, now),
    )  # fmt: skip
    lead.lifecycle, lead.lifecycle_changed_at = target.value, now
    changelog.append(session, entry)
    return entry


def replay(session: Session, lead: Lead, model: Model, chunk: int = 5000) -> JourneyState:
    """The lead's state rebuilt from all its events in the order they were stored."""
    state = JourneyState()
    depths: Depths = {}
    last_id = 0
    while True:
        rows = [
            dict(row._mapping)
            for row in session.execute(
                select(
                    Event.id, Event.visitor_id, Event.asset_id, Event.type, Event.occurred_at,
                    Event.seconds, Event.depth, Event.lead_id,
                )
                .where(Event.lead_id == lead.id, Event.id > last_id)
                .order_by(Event.id)
                .limit(chunk)
            )
        ]  # fmt: skip
        if not rows:
            return state
        stages = _asset_stages(session, {r["asset_id"] for r in rows if r["asset_id"]})
        state = journey.apply(state, (t for _, t in touches(rows, stages, depths)), model.scoring)
        last_id = rows[-1]["id"]


def rescore(
    session: Session, lead: Lead, model: Model, now: datetime | None = None
) -> list[LeadChange]:
    """Rebuild one lead's state from its events under ``model`` and re-evaluate it."""
    lead.journey = replay(session, lead, model).to_json()
    return evaluate(session, lead, model, now)


def rescore_all(
    database: SessionSource, model: Model, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Rescore every lead, one transaction each (writers never wait long); returns
    (leads rescored, changes logged)."""
    with database.read() as session:
        total = session.scalar(select(func.count()).select_from(Lead)) or 0
    done = changed = last_id = 0
    while True:
        with database.read() as session:
            ids = list(
                session.scalars(
                    select(Lead.id).where(Lead.id > last_id).order_by(Lead.id).limit(500)
                )
            )
        if not ids:
            return done, changed
        for lead_id in ids:
            with database.write() as session:
                lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
                if lead is not None:
                    changed += len(rescore(session, lead, model))
            done += 1
            if progress:
                progress(done, total)
        last_id = ids[-1]


def reevaluate_quiet(
    database: SessionSource,
    model: Model,
    now: datetime | None = None,
    limit: int = 200,
    budget_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Re-evaluate leads not scored for a day, so fading engagement moves their stored stage,
    grade and lifecycle (and logs it) even when they send no events. Returns how many.

    Batch after batch of ``limit``, each its own short write transaction (other writers go
    in between), until none is left or ``budget_seconds`` is spent (at least one batch); the
    rest waits for the next call (the re-scoring job runs it every 10 minutes), and a stopping
    process waits for one batch at most beyond the budget.
    """
    now = now or utcnow()
    deadline = clock() + budget_seconds
    done = 0
    while True:
        with database.write() as session:
            quiet = list(
                session.scalars(
                    select(Lead)
                    .where(Lead.engagement_as_of < now - timedelta(days=1))
                    .order_by(Lead.engagement_as_of)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for lead in quiet:
                evaluate(session, lead, model, now)
        done += len(quiet)
        if len(quiet) < limit or clock() >= deadline:
            return done
