"""Console analytics on SQLite and PostgreSQL: asset figures for a period, the funnel dashboard,
a lead's engagement by day, its stage history, and the dwell times the lead state records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from content.models import Asset, Topic
from content.orm import utcnow
from portal.db import Database
from tests.factories import make_asset
from tests.tracking.reporting.leads import add_lead, change
from tracking import events
from tracking.identity.identify import get_or_create_lead
from tracking.models import (
    AssetDaily,
    AssetLeadStats,
    FieldDaily,
    Lead,
    LeadChange,
    Visitor,
)
from tracking.pipeline import leadstate
from tracking.pipeline.ingest import record
from tracking.reporting.analytics import (
    AssetSort,
    Period,
    asset_figures,
    dashboard,
    lead_day_counts,
    lead_stats_as_of,
    stage_history,
)
from tracking.reporting.figures import FunnelStep
from tracking.rules.config import Model
from tracking.rules.scoring import Lifecycle

MODEL = Model()
DAY = 86_400
FIRST = date(2026, 3, 1)
LAST = date(2026, 3, 7)
PERIOD = Period(FIRST, LAST)


def moment(day: date, hour: float = 12) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


def test_period_covers_whole_days_at_both_ends() -> None:
    period = Period.last_days(7, LAST)
    assert period == PERIOD
    assert period.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 8, tzinfo=UTC)
    assert Period.last_days(1, LAST) == Period(LAST, LAST)


# asset figures


@pytest.fixture
def library(db: Database) -> dict[str, Asset]:
    return {
        "pricing": make_asset(db, slug="pricing", title="pricing guide", topics=["pricing"]),
        "scoring": make_asset(
            db, slug="scoring", title="Scoring guide", topics=["lead-scoring", "pricing"]
        ),
        "quiet": make_asset(db, slug="quiet", title="Quiet note", topics=["nurturing"]),
        "draft": make_asset(db, slug="draft", title="Draft", published=False),
    }


def daily_rows(db: Database, *rows: tuple[Asset, date, dict[str, Any]]) -> None:
    with db.write() as session:
        for asset, day, values in rows:
            session.add(AssetDaily(asset_id=asset.id, day=day, **values))


def lead_stats(db: Database, *rows: tuple[Asset, int, int]) -> None:
    with db.write() as session:
        for asset, influenced, before in rows:
            session.add(
                AssetLeadStats(
                    asset_id=asset.id,
                    leads_influenced=influenced,
                    read_before_mql=before,
                    computed_at=moment(LAST),
                )
            )


@pytest.fixture
def figures_data(db: Database, library: dict[str, Asset]) -> dict[str, Asset]:
    pricing, scoring = library["pricing"], library["scoring"]
    daily_rows(
        db,
        (pricing, FIRST, dict(views=10, readers=8, gate_views=4, unlocks=1, downloads=1,
                              engaged_seconds=300.0, completions=2)),
        (pricing, LAST, dict(views=10, readers=2, gate_views=6, unlocks=2, downloads=2,
                             engaged_seconds=100.0, completions=3)),
        (pricing, FIRST - timedelta(1), dict(views=1000, readers=1000, gate_views=1000)),
        (pricing, LAST + timedelta(1), dict(views=1000, unlocks=1000)),
        (scoring, date(2026, 3, 4), dict(views=5, readers=1, engaged_seconds=500.0,
                                          completions=3,  # more completions than new readers
                                          gate_views=10, unlocks=1, downloads=1)),
    )  # fmt: skip
    lead_stats(db, (pricing, 7, 3), (scoring, 2, 2))
    return library


def figures(db: Database, sort: AssetSort = AssetSort.VIEWS, descending: bool = True) -> Any:
    with db.read() as session:
        return {f.slug: f for f in asset_figures(session, PERIOD, sort, descending)}


def test_asset_figures_sum_the_period_and_add_the_lead_figures(
    db: Database, figures_data: dict[str, Asset]
) -> None:
    found = figures(db)
    assert set(found) == {"pricing", "scoring", "quiet"}  # published assets only, active or not
    pricing = found["pricing"]
    assert (pricing.views, pricing.readers, pricing.gate_views, pricing.unlocks) == (20, 10, 10, 3)
    assert (pricing.downloads, pricing.engaged_seconds, pricing.completions) == (3, 400.0, 5)
    assert (pricing.leads_influenced, pricing.read_before_mql) == (7, 3)
    assert (pricing.kind, pricing.stage, pricing.title) == ("article", "awareness", "pricing guide")
    assert pricing.conversion == pytest.approx(0.3)
    assert pricing.average_seconds == pytest.approx(20.0)
    assert pricing.completion_rate == pytest.approx(0.5)


def test_rates_without_a_denominator(db: Database, figures_data: dict[str, Asset]) -> None:
    found = figures(db)
    quiet, scoring = found["quiet"], found["scoring"]
    assert (quiet.views, quiet.readers, quiet.leads_influenced) == (0, 0, 0)
    assert quiet.conversion is None
    assert quiet.average_seconds == 0.0
    assert quiet.completion_rate is None
    assert scoring.conversion == pytest.approx(0.1)
    assert scoring.average_seconds == pytest.approx(100.0)
    assert scoring.completion_rate == 1.0  # capped: readers counted before the period finish


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        (AssetSort.VIEWS, ["pricing", "scoring", "quiet"]),
        (AssetSort.READERS, ["pricing", "scoring", "quiet"]),
        (AssetSort.CONVERSION, ["pricing", "scoring", "quiet"]),
        (AssetSort.UNLOCKS, ["pricing", "scoring", "quiet"]),
        (AssetSort.DOWNLOADS, ["pricing", "scoring", "quiet"]),
        (AssetSort.TIME, ["scoring", "pricing", "quiet"]),
        (AssetSort.COMPLETION, ["scoring", "pricing", "quiet"]),
        (AssetSort.INFLUENCED, ["pricing", "scoring", "quiet"]),
        (AssetSort.BEFORE_MQL, ["pricing", "scoring", "quiet"]),
        (AssetSort.TITLE, ["scoring", "quiet", "pricing"]),  # ignoring case
    ],
)
def test_asset_figures_sort_both_ways(
    db: Database, figures_data: dict[str, Asset], sort: AssetSort, order: list[str]
) -> None:
    assert list(figures(db, sort, True)) == order
    assert list(figures(db, sort, False)) == list(reversed(order))


def test_unpublished_assets_are_left_out_of_asset_figures(
    db: Database, library: dict[str, Asset]
) -> None:
    daily_rows(db, (library["draft"], FIRST, {"views": 99}))
    lead_stats(db, (library["draft"], 5, 5))
    assert set(figures(db)) == {"pricing", "scoring", "quiet"}


def test_lead_stats_as_of(db: Database, figures_data: dict[str, Asset]) -> None:
    with db.read() as session:
        assert lead_stats_as_of(session) == moment(LAST)


def test_lead_stats_as_of_before_any_refresh(db: Database) -> None:
    with db.read() as session:
        assert lead_stats_as_of(session) is None


def test_asset_figures_from_real_ingestion(db: Database, library: dict[str, Asset]) -> None:
    pricing = library["pricing"]
    at = moment(date(2026, 3, 3))
    with db.write() as session:
        record(
            session,
            [
                events.AssetView(visitor_id="ann", asset_id=pricing.id, occurred_at=at),
                events.ReadProgress(
                    visitor_id="ann", asset_id=pricing.id, seconds=45, depth=0.95, occurred_at=at
                ),
                events.GateView(visitor_id="bob", asset_id=pricing.id, occurred_at=at),
                events.GateView(visitor_id="cat", asset_id=pricing.id, occurred_at=at),
                events.UnlockEvent(visitor_id="bob", asset_id=pricing.id, occurred_at=at),
                events.AssetView(visitor_id="bob", asset_id=pricing.id, occurred_at=at),
            ],
        )
    found = figures(db)["pricing"]
    # Unique visitors are the browsers that opened it: cat only saw the gate.
    assert (found.views, found.readers, found.gate_views, found.unlocks) == (2, 2, 2, 1)
    assert (found.conversion, found.average_seconds, found.completions) == (0.5, 22.5, 1)
    assert found.completion_rate == pytest.approx(1 / 2)


# dashboard


@pytest.fixture
def funnel_data(db: Database, figures_data: dict[str, Asset]) -> dict[str, int]:
    day1, day2 = date(2026, 3, 2), date(2026, 3, 3)
    with db.write() as session:
        ids = {
            "ann": add_lead(session, "ann@x.example", created=moment(day1, 23.5),
                            journey_stage="awareness", lifecycle="lead"),
            "bob": add_lead(session, "bob@x.example", created=moment(day2, 0.5),
                            journey_stage="consideration", lifecycle="mql"),
            "cat": add_lead(session, "cat@x.example", created=moment(day2, 10),
                            journey_stage="decision", lifecycle="sql"),
            "dan": add_lead(session, "dan@x.example", created=moment(FIRST, 0),
                            journey_stage="decision", lifecycle="customer"),
            "eve": add_lead(session, "eve@x.example", created=moment(LAST, 23.99),
                            journey_stage="customer", lifecycle="recycled"),
            "old": add_lead(session, "old@x.example", created=moment(FIRST - timedelta(1), 23.99),
                            journey_stage="awareness", lifecycle="lead"),
        }  # fmt: skip
        life = "lifecycle"
        change(session, ids["bob"], life, "lead", "mql", moment(day2, 1))
        change(session, ids["cat"], life, "lead", "mql", moment(day2, 11))
        change(session, ids["cat"], life, "mql", "sql", moment(day2, 12))
        change(session, ids["dan"], life, "lead", "mql", moment(FIRST - timedelta(3)))  # earlier
        change(session, ids["dan"], life, "mql", "sql", moment(FIRST, 1))
        change(session, ids["dan"], life, "sql", "customer", moment(day1, 1))
        change(session, ids["eve"], life, "lead", "mql", moment(day1, 2))
        change(session, ids["eve"], life, "mql", "recycled", moment(day1, 3))
        change(session, ids["eve"], life, "recycled", "mql", moment(day1, 4))  # same day again
        # Stage changes with the time spent in the stage left.
        stage = "stage"
        change(session, ids["bob"], stage, "awareness", "consideration", moment(day2, 2), 1 * DAY)
        change(session, ids["cat"], stage, "awareness", "consideration", moment(day2, 3), 3 * DAY)
        change(session, ids["cat"], stage, "consideration", "decision", moment(day2, 4), 2 * DAY)
        change(session, ids["dan"], stage, "awareness", "consideration", moment(day1, 5), 5 * DAY)
        change(session, ids["dan"], stage, "consideration", "decision", moment(day1, 6), 4 * DAY)
        change(session, ids["eve"], stage, "decision", "customer", moment(day1, 7), 0.5 * DAY)
        change(session, ids["ann"], stage, None, "awareness", moment(day1, 8), None)  # skipped
        change(
            session,
            ids["old"],
            stage,
            "awareness",
            "consideration",
            moment(FIRST - timedelta(1)),
            100 * DAY,
        )  # before the period
        change(
            session,
            ids["old"],
            stage,
            "consideration",
            "awareness",
            moment(LAST + timedelta(1)),
            100 * DAY,
        )  # after it
        change(session, ids["ann"], "grade", "E", "D", moment(day1), 9 * DAY)  # not a stage
        session.add_all(
            [
                FieldDaily(field="email", day=day1, asked=10, answered=6),
                FieldDaily(field="email", day=day2, asked=5, answered=5),
                FieldDaily(field="company", day=day1, asked=15, answered=3),
                FieldDaily(field="budget", day=day1, asked=4, answered=0),
                FieldDaily(field="phone", day=FIRST - timedelta(1), asked=100, answered=100),
            ]
        )
    return ids


def board(db: Database, period: Period = PERIOD) -> Any:
    with db.read() as session:
        return dashboard(session, MODEL, period)


def test_stage_funnel_counts_leads_that_reached_each_stage_along_their_paths(
    db: Database, funnel_data: dict[str, int]
) -> None:
    assert board(db).stage_funnel == [
        FunnelStep("awareness", 6, None),  # every lead starts there
        FunnelStep("consideration", 4, 4 / 6),  # bob, cat, dan, old (back to awareness since)
        FunnelStep("decision", 2, 2 / 4),  # cat and dan, from consideration
        FunnelStep("customer", 1, 0.0, skipped=1),  # eve's log never has her at decision
    ]


def test_lifecycle_funnel_counts_leads_that_ever_reached_each_step(
    db: Database, funnel_data: dict[str, int]
) -> None:
    found = board(db)
    assert found.lifecycle_funnel == [
        FunnelStep("lead", 6, None),
        FunnelStep("mql", 4, 4 / 6),  # bob, cat, dan, eve (eve twice: once)
        FunnelStep("sql", 2, 0.5),
        FunnelStep("opportunity", 0, 0.0),
        FunnelStep("customer", 1, None, skipped=1),  # dan, marked customer straight from sql
    ]
    assert found.lifecycle_now == {"lead": 2, "mql": 1, "sql": 1, "customer": 1, "recycled": 1}


def test_new_leads_mqls_and_sqls_per_utc_day(db: Database, funnel_data: dict[str, int]) -> None:
    found = board(db)
    days = [FIRST + timedelta(k) for k in range(7)]
    assert [d for d, _ in found.new_leads] == days
    assert dict(found.new_leads) == {
        **dict.fromkeys(days, 0),
        FIRST: 1,  # dan at 00:00
        date(2026, 3, 2): 1,  # ann at 23:30
        date(2026, 3, 3): 2,  # bob at 00:30 and cat
        LAST: 1,  # eve at 23:59
    }
    assert dict(found.new_mqls) == {
        **dict.fromkeys(days, 0),
        date(2026, 3, 2): 1,  # eve, counted once that day
        date(2026, 3, 3): 2,
    }
    assert dict(found.new_sqls) == {**dict.fromkeys(days, 0), FIRST: 1, date(2026, 3, 3): 1}


def test_median_days_in_each_stage_from_the_dwell_of_changes_in_the_period(
    db: Database, funnel_data: dict[str, int]
) -> None:
    assert board(db).median_days == {
        "awareness": 3.0,  # 1, 3 and 5 days
        "consideration": 3.0,  # 2 and 4 days
        "decision": 0.5,
        "customer": None,
    }


def test_top_assets_and_topics_by_touches_in_the_period(
    db: Database, funnel_data: dict[str, int]
) -> None:
    found = board(db)
    # pricing: 20 views + 3 unlocks + 3 downloads (days outside the period left out)
    assert found.top_assets == [("pricing", "pricing guide", 26), ("scoring", "Scoring guide", 7)]
    with db.read() as session:
        labels = {slug: label for slug, label in session.execute(select(Topic.slug, Topic.label))}
    assert found.top_topics == [(labels["pricing"], 33), (labels["lead-scoring"], 7)]


def test_gate_form_performance(db: Database, funnel_data: dict[str, int]) -> None:
    found = board(db)
    assert [(f.field, f.asked, f.answered) for f in found.fields] == [
        ("company", 15, 3),
        ("email", 15, 11),
        ("budget", 4, 0),
    ]
    assert [f.answer_rate for f in found.fields] == pytest.approx([0.2, 11 / 15, 0.0])
    assert (found.gate_views, found.form_submits) == (20, 0)
    assert found.abandonment == 1.0


def test_abandonment_is_the_share_of_gate_forms_not_sent(
    db: Database, library: dict[str, Asset]
) -> None:
    daily_rows(
        db,
        (library["pricing"], FIRST, {"gate_views": 8, "form_submits": 6}),
        (library["scoring"], LAST, {"gate_views": 2, "form_submits": 1}),
    )
    found = board(db)
    assert (found.gate_views, found.form_submits) == (10, 7)
    assert found.abandonment == pytest.approx(0.3)


def test_an_empty_dashboard(db: Database) -> None:
    found = board(db)
    assert [s.count for s in found.stage_funnel] == [0, 0, 0, 0]
    assert [s.count for s in found.lifecycle_funnel] == [0, 0, 0, 0, 0]
    assert found.lifecycle_now == {}
    assert all(v == 0 for _, v in found.new_leads)
    assert found.median_days == dict.fromkeys(MODEL.stages)
    assert (found.top_assets, found.top_topics, found.fields) == ([], [], [])
    assert (found.gate_views, found.form_submits, found.abandonment) == (0, 0, None)


def test_a_one_day_period(db: Database, funnel_data: dict[str, int]) -> None:
    day2 = date(2026, 3, 3)
    found = board(db, Period(day2, day2))
    assert found.new_leads == [(day2, 2)]
    assert found.new_mqls == [(day2, 2)]
    assert found.median_days["awareness"] == 2.0  # bob 1 and cat 3 days
    assert found.top_assets == []  # nothing touched that day


# a lead's engagement by day and its stage history


def lead_with_browser(db: Database, email: str, visitor: str) -> int:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, moment(FIRST, 0))
        session.add(Visitor(id=visitor, lead_id=lead.id, created_at=moment(FIRST, 0)))
        return lead.id


def test_lead_day_counts_per_utc_day_and_type(db: Database, library: dict[str, Asset]) -> None:
    pricing = library["pricing"]
    ada = lead_with_browser(db, "ada@x.example", "ada-laptop")
    lead_with_browser(db, "bea@x.example", "bea-laptop")
    late, early = moment(date(2026, 3, 2), 23.9), moment(date(2026, 3, 3), 0.1)
    with db.write() as session:
        record(
            session,
            [
                events.AssetView(visitor_id="ada-laptop", asset_id=pricing.id, occurred_at=late),
                events.ReadProgress(visitor_id="ada-laptop", asset_id=pricing.id, seconds=15,
                                    depth=0.3, occurred_at=late),
                events.ReadProgress(visitor_id="ada-laptop", asset_id=pricing.id, seconds=20,
                                    depth=0.6, occurred_at=late),
                events.ReadProgress(visitor_id="ada-laptop", asset_id=pricing.id, seconds=5,
                                    depth=0.7, occurred_at=early),
                events.Search(visitor_id="ada-laptop", query="x", results=1, occurred_at=early),
                events.Search(visitor_id="ada-laptop", query="y", results=1,
                              occurred_at=moment(LAST + timedelta(1))),  # after the period
                events.Search(visitor_id="bea-laptop", query="z", results=1, occurred_at=early),
            ],
        )  # fmt: skip
    with db.read() as session:
        counts = lead_day_counts(session, ada, PERIOD)
    assert sorted(counts) == [
        (date(2026, 3, 2), "asset_view", 1, 0.0),
        (date(2026, 3, 2), "read_progress", 2, 35.0),
        (date(2026, 3, 3), "read_progress", 1, 5.0),
        (date(2026, 3, 3), "search", 1, 0.0),
    ]


def test_stage_history_lists_stage_and_lifecycle_changes_in_log_order(db: Database) -> None:
    with db.write() as session:
        ada = add_lead(session, "ada@x.example", created=moment(FIRST))
        bea = add_lead(session, "bea@x.example", created=moment(FIRST))
        # Logged out of time order on purpose: the log's sequence decides.
        change(session, ada, "stage", "awareness", "consideration", moment(LAST))
        session.flush()
        change(session, ada, "grade", "E", "D", moment(LAST))
        change(session, bea, "stage", "awareness", "decision", moment(LAST))
        session.flush()
        change(session, ada, "lifecycle", "lead", "mql", moment(FIRST))
        session.flush()
        change(session, ada, "milestone", None, "first_download", moment(FIRST))
        change(session, ada, "stage", "consideration", "decision", moment(FIRST, 1))
    with db.read() as session:
        history = stage_history(session, ada)
    assert [(c.kind, c.old, c.new) for c in history] == [
        ("stage", "awareness", "consideration"),
        ("lifecycle", "lead", "mql"),
        ("stage", "consideration", "decision"),
    ]
    assert [c.seq for c in history] == sorted(c.seq for c in history)


# dwell times recorded by the lead state


def read_all(db: Database, visitor: str, assets: list[Asset], at: datetime) -> None:
    tracked: list[events.TrackedEvent] = []
    for asset in assets:
        tracked += [
            events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at),
            events.ReadProgress(
                visitor_id=visitor, asset_id=asset.id, seconds=60, depth=1.0, occurred_at=at
            ),
        ]
    with db.write() as session:
        record(session, tracked, now=at, model=MODEL)


def test_stage_changes_record_the_time_spent_in_the_stage_left(db: Database) -> None:
    start = utcnow() - timedelta(days=30)
    consideration = [
        make_asset(db, slug=f"compare-{n}", stage="consideration", kind="whitepaper")
        for n in range(3)
    ]
    decision = [make_asset(db, slug=f"pricing-{n}", stage="decision") for n in range(3)]
    with db.write() as session:
        created, _ = get_or_create_lead(session, "ada@x.example", start)
        session.add(Visitor(id="ada-laptop", lead_id=created.id, created_at=start))
        lead_id = created.id
    read_all(db, "ada-laptop", consideration, start + timedelta(days=2))
    read_all(db, "ada-laptop", decision, start + timedelta(days=7))
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        stages = session.scalars(
            select(LeadChange)
            .where(LeadChange.lead_id == lead_id, LeadChange.kind == "stage")
            .order_by(LeadChange.seq)
        ).all()
    assert [c.new for c in stages][-1] == lead.journey_stage == "decision"
    entered = lead.created_at
    for step in stages:
        assert step.dwell_seconds == (step.at - entered).total_seconds()
        entered = step.at
    assert lead.stage_changed_at == stages[-1].at
    assert stages[0].dwell_seconds == 2 * DAY
    # Other kinds of change carry no dwell time.
    with db.read() as session:
        others = session.scalars(
            select(LeadChange.dwell_seconds).where(
                LeadChange.lead_id == lead_id, LeadChange.kind.not_in(("stage", "lifecycle"))
            )
        ).all()
    assert others
    assert set(others) == {None}


def test_lifecycle_moves_record_the_time_since_the_last_move(db: Database) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "ada@x.example", start)
        first = leadstate.set_lifecycle(
            session, lead, Lifecycle.SQL, "sales accepted", now=start + timedelta(days=4)
        )
        second = leadstate.set_lifecycle(
            session, lead, Lifecycle.OPPORTUNITY, "deal", now=start + timedelta(days=10)
        )
        assert lead.lifecycle_changed_at == start + timedelta(days=10)
    assert first.dwell_seconds == 4 * DAY  # since the lead was created
    assert second.dwell_seconds == 6 * DAY  # since the previous move
