"""Daily roll-ups on SQLite and PostgreSQL: events stored through the real ingestion are folded
per asset and UTC day and per profile field and day; a rebuild from raw events gives the same
rows; the per-asset lead figures count influenced leads and reads before the first MQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select

from content.models import Asset
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity.identify import get_or_create_lead
from tracking.models import AssetDaily, AssetLeadStats, Event, FieldDaily, LeadChange, Visitor
from tracking.pipeline import rollups
from tracking.pipeline.ingest import record, store
from tracking.pipeline.retention import delete_expired_events
from tracking.rules.config import Model

DAY1 = date(2026, 3, 2)
DAY2 = date(2026, 3, 3)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = Model()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ingest(db: Database, *tracked: events.TrackedEvent, model: Model | None = None) -> None:
    with db.write() as session:
        record(session, tracked, now=T0, model=model)


def asset_days(db: Database) -> dict[tuple[int, date], dict[str, Any]]:
    with db.read() as session:
        rows = session.scalars(select(AssetDaily)).all()
    return {
        (row.asset_id, row.day): {name: getattr(row, name) for name in rollups.ASSET_COUNTERS}
        for row in rows
    }


def field_days(db: Database) -> dict[tuple[str, date], tuple[int, int]]:
    with db.read() as session:
        rows = session.scalars(select(FieldDaily)).all()
    return {(row.field, row.day): (row.asked, row.answered) for row in rows}


def day_of(db: Database, asset: Asset, day: date) -> dict[str, Any]:
    return asset_days(db)[(asset.id, day)]


def view(visitor: str, asset: Asset, hours: float) -> events.AssetView:
    return events.AssetView(visitor_id=visitor, asset_id=asset.id, occurred_at=at(hours))


def read(visitor: str, asset: Asset, hours: float, seconds: float, depth: float) -> Any:
    return events.ReadProgress(
        visitor_id=visitor, asset_id=asset.id, seconds=seconds, depth=depth, occurred_at=at(hours)
    )


@pytest.fixture
def guide(db: Database) -> Asset:
    return make_asset(db, slug="scoring-guide", title="Scoring guide")


@pytest.fixture
def pricing(db: Database) -> Asset:
    return make_asset(db, slug="pricing", title="Pricing", stage="decision")


# asset_daily


def test_views_count_every_view_and_readers_each_visitor_once(
    db: Database, guide: Asset, pricing: Asset
) -> None:
    ingest(db, view("ann", guide, 0), view("ann", guide, 1), view("bob", guide, 2))
    ingest(db, view("ann", pricing, 3))
    assert day_of(db, guide, DAY1) == {
        **dict.fromkeys(rollups.ASSET_COUNTERS, 0),
        "views": 3,
        "readers": 2,
        "engaged_seconds": 0.0,
    }
    assert (day_of(db, pricing, DAY1)["views"], day_of(db, pricing, DAY1)["readers"]) == (1, 1)


def test_a_visitor_is_a_new_reader_once_per_asset_across_batches_and_days(
    db: Database, guide: Asset, pricing: Asset
) -> None:
    ingest(db, view("ann", guide, 0))
    ingest(db, view("ann", guide, 1))  # same day, later batch
    ingest(db, view("ann", guide, 24), view("cat", guide, 25))  # next day
    ingest(db, view("ann", pricing, 26))  # another asset: a new reader of that one
    assert (day_of(db, guide, DAY1)["views"], day_of(db, guide, DAY1)["readers"]) == (2, 1)
    assert (day_of(db, guide, DAY2)["views"], day_of(db, guide, DAY2)["readers"]) == (2, 1)
    assert day_of(db, pricing, DAY2)["readers"] == 1


def test_groups_of_one_store_call_count_a_reader_once(db: Database, guide: Asset) -> None:
    with db.write() as session:
        store(session, [[view("ann", guide, 0)], [view("ann", guide, 1)], [view("bob", guide, 2)]])
    assert (day_of(db, guide, DAY1)["views"], day_of(db, guide, DAY1)["readers"]) == (3, 2)


def test_only_opening_an_asset_makes_a_reader_so_readers_never_outnumber_views(
    db: Database, guide: Asset
) -> None:
    ingest(
        db,
        events.GateView(visitor_id="ann", asset_id=guide.id, occurred_at=at(0)),
        read("bob", guide, 1, 15, 0.3),
        events.FormSubmit(visitor_id="cat", asset_id=guide.id, occurred_at=at(2)),
        events.DemoRequest(visitor_id="cat", asset_id=guide.id, occurred_at=at(2)),
    )
    row = day_of(db, guide, DAY1)
    assert (row["views"], row["readers"], row["gate_views"]) == (0, 0, 1)
    ingest(db, view("bob", guide, 3))  # bob opens it after all
    row = day_of(db, guide, DAY1)
    assert (row["views"], row["readers"]) == (1, 1)


def test_completions_count_when_a_reading_first_crosses_ninety_percent(
    db: Database, guide: Asset
) -> None:
    ingest(db, view("ann", guide, 0), read("ann", guide, 0, 30, 0.5))
    ingest(db, read("ann", guide, 24, 30, 0.95))  # crosses on day 2
    ingest(db, read("ann", guide, 25, 30, 1.0))  # already complete: not again
    ingest(db, view("bob", guide, 26))
    ingest(db, read("bob", guide, 26, 10, 0.92), read("bob", guide, 26.1, 10, 0.97))  # one batch
    ingest(db, view("cat", guide, 27), read("cat", guide, 27, 10, 0.9))  # exactly the depth
    ingest(db, view("dan", guide, 28), read("dan", guide, 28, 10, 0.89))  # just short
    ingest(db, read("eve", guide, 29, 10, 1.0))  # never opened it: no reader to complete
    assert day_of(db, guide, DAY1)["completions"] == 0
    assert day_of(db, guide, DAY2)["completions"] == 3
    ingest(db, view("eve", guide, 30))  # opens it now: a reader who has read to the end
    assert (day_of(db, guide, DAY2)["readers"], day_of(db, guide, DAY2)["completions"]) == (4, 4)
    assert rollups.COMPLETED_DEPTH == 0.9


def test_engaged_seconds_add_up_per_asset_and_day(
    db: Database, guide: Asset, pricing: Asset
) -> None:
    ingest(db, read("ann", guide, 0, 15, 0.2), read("ann", guide, 0.1, 12.5, 0.4))
    ingest(db, read("bob", guide, 1, 30, 0.2), read("bob", pricing, 1, 45, 0.2))
    ingest(db, read("bob", guide, 24, 5, 0.3))
    ingest(
        db,
        events.WebinarAttend(
            visitor_id="bob", asset_id=pricing.id, seconds=600, occurred_at=at(25)
        ),
    )
    assert day_of(db, guide, DAY1)["engaged_seconds"] == pytest.approx(57.5)
    assert day_of(db, guide, DAY2)["engaged_seconds"] == pytest.approx(5.0)
    assert day_of(db, pricing, DAY1)["engaged_seconds"] == pytest.approx(45.0)
    assert day_of(db, pricing, DAY2)["engaged_seconds"] == pytest.approx(600.0)


def test_gate_steps_are_counted_per_utc_day(db: Database, guide: Asset) -> None:
    before_midnight = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
    after_midnight = datetime(2026, 3, 3, 0, 1, tzinfo=UTC)
    ingest(
        db,
        events.GateView(visitor_id="ann", asset_id=guide.id, occurred_at=before_midnight),
        events.GateView(visitor_id="bob", asset_id=guide.id, occurred_at=before_midnight),
        events.FormSubmit(visitor_id="ann", asset_id=guide.id, occurred_at=after_midnight),
        events.UnlockEvent(visitor_id="ann", asset_id=guide.id, occurred_at=after_midnight),
        events.Download(visitor_id="ann", asset_id=guide.id, occurred_at=after_midnight),
        events.Download(visitor_id="ann", asset_id=guide.id, occurred_at=after_midnight),
        events.WebinarRegister(visitor_id="ann", asset_id=guide.id, occurred_at=after_midnight),
    )
    first, second = day_of(db, guide, DAY1), day_of(db, guide, DAY2)
    steps = ("gate_views", "form_submits", "unlocks", "downloads", "registrations")
    assert [first[s] for s in steps] == [2, 0, 0, 0, 0]
    assert [second[s] for s in steps] == [0, 1, 1, 2, 1]
    assert (first["readers"], second["readers"]) == (0, 0)  # nobody opened it


def test_a_time_given_with_another_offset_counts_on_its_utc_day(db: Database, guide: Asset) -> None:
    # 01:00 in Berlin summer time is 23:00 UTC the day before (API imports keep the offset).
    berlin = timezone(timedelta(hours=2))
    ingest(
        db,
        events.AssetView(
            visitor_id="ann",
            asset_id=guide.id,
            occurred_at=datetime(2026, 3, 3, 1, 0, tzinfo=berlin),
        ),
    )
    assert list(asset_days(db)) == [(guide.id, DAY1)]


def test_events_without_an_asset_leave_no_asset_rows(db: Database) -> None:
    ingest(
        db,
        events.PageView(visitor_id="ann", path="/", occurred_at=at(0)),
        events.Search(visitor_id="ann", query="scoring", results=2, occurred_at=at(0)),
        events.CtaClick(visitor_id="ann", target="demo", occurred_at=at(0)),
    )
    assert asset_days(db) == {}


def test_events_without_a_visitor_count_views_but_no_reader(db: Database, guide: Asset) -> None:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "ada@example.com", T0)
        lead_id = lead.id
    ingest(db, events.AssetView(lead_id=lead_id, asset_id=guide.id, occurred_at=at(0)))
    row = day_of(db, guide, DAY1)
    assert (row["views"], row["readers"], row["completions"]) == (1, 0, 0)


def test_scoring_ingestion_folds_the_same_roll_ups(db: Database, guide: Asset) -> None:
    ingest(db, view("ann", guide, 0), read("ann", guide, 0.1, 40, 0.95), model=MODEL)
    row = day_of(db, guide, DAY1)
    assert (row["views"], row["readers"], row["completions"], row["engaged_seconds"]) == (
        1,
        1,
        1,
        40.0,
    )


def test_resent_events_are_not_counted_twice(db: Database, guide: Asset) -> None:
    beacon = events.ReadProgress(
        visitor_id="ann", asset_id=guide.id, seconds=15, depth=0.95, occurred_at=at(0), uid="b-1"
    )
    ingest(db, view("ann", guide, 0))
    ingest(db, beacon)
    ingest(db, beacon)
    row = day_of(db, guide, DAY1)
    assert (row["engaged_seconds"], row["completions"], row["readers"]) == (15.0, 1, 1)


# field_daily


def test_fields_count_asked_from_gate_views_and_answered_from_submissions(
    db: Database, guide: Asset
) -> None:
    ingest(
        db,
        events.GateView(
            visitor_id="ann", asset_id=guide.id, asked=("email", "company"), occurred_at=at(0)
        ),
        events.GateView(
            visitor_id="bob", asset_id=guide.id, asked=("email", "company"), occurred_at=at(1)
        ),
        events.FormSubmit(
            visitor_id="ann", asset_id=guide.id, answered=("email",), occurred_at=at(2)
        ),
    )
    ingest(
        db,
        events.GateView(
            visitor_id="ann", asset_id=guide.id, asked=("company",), occurred_at=at(24)
        ),
        events.FormSubmit(
            visitor_id="ann",
            asset_id=guide.id,
            answered=("company", "timeframe"),
            occurred_at=at(24),
        ),
        events.FormSubmit(visitor_id="bob", asset_id=guide.id, answered=(), occurred_at=at(25)),
    )
    assert field_days(db) == {
        ("email", DAY1): (2, 1),
        ("company", DAY1): (2, 0),
        ("company", DAY2): (1, 1),
        ("timeframe", DAY2): (0, 1),
    }


def test_other_events_leave_the_field_counts_alone(db: Database, guide: Asset) -> None:
    ingest(
        db,
        view("ann", guide, 0),
        events.Imported(
            kind=events.EventType.CTA_CLICK, visitor_id="ann", extra={"asked": ["email"]}
        ),
    )
    assert field_days(db) == {}


# rebuild


def varied_history(db: Database, guide: Asset, pricing: Asset) -> None:
    """Several visitors, days, batches, gates, reads and fields (with and without scoring)."""
    ingest(db, view("ann", guide, 0), read("ann", guide, 0.1, 20, 0.4))
    ingest(
        db,
        events.GateView(visitor_id="bob", asset_id=guide.id, asked=("email",), occurred_at=at(1)),
        events.FormSubmit(
            visitor_id="bob", asset_id=guide.id, answered=("email",), occurred_at=at(1)
        ),
        events.UnlockEvent(visitor_id="bob", asset_id=guide.id, occurred_at=at(1)),
        read("bob", guide, 1.1, 50, 0.95),
        model=MODEL,
    )
    ingest(db, read("ann", guide, 24, 30, 0.92), view("ann", pricing, 24.5))
    ingest(db, events.Download(visitor_id="ann", asset_id=pricing.id, occurred_at=at(30)))
    ingest(
        db,
        read("cat", pricing, 50, 10, 1.0),
        events.Search(visitor_id="cat", query="x", results=0, occurred_at=at(50)),
        events.GateView(
            visitor_id="cat", asset_id=pricing.id, asked=("company",), occurred_at=at(51)
        ),
        model=MODEL,
    )


def test_rebuild_gives_the_rows_incremental_folding_gave(
    db: Database, guide: Asset, pricing: Asset
) -> None:
    varied_history(db, guide, pricing)
    assets, fields = asset_days(db), field_days(db)
    with db.read() as session:
        stored = len(session.scalars(select(Event.id)).all())
    with db.write() as session:
        read_back = rollups.rebuild(session, chunk=3)  # several chunks
    assert read_back == stored
    assert asset_days(db) == assets
    assert field_days(db) == fields
    with db.write() as session:
        rollups.rebuild(session)  # running it again changes nothing
    assert asset_days(db) == assets


def test_rebuild_repairs_rows_that_drifted_from_the_events(db: Database, guide: Asset) -> None:
    ingest(db, view("ann", guide, 0), view("bob", guide, 1))
    expected = asset_days(db)
    with db.write() as session:
        row = session.get(AssetDaily, (guide.id, DAY1))
        assert row is not None
        row.views, row.readers = 99, 0
        session.add(AssetDaily(asset_id=guide.id, day=DAY2, views=5))  # no events that day
    with db.write() as session:
        rollups.rebuild(session)
    assert asset_days(db) == expected


def test_rebuild_without_events_changes_nothing(db: Database, guide: Asset) -> None:
    with db.write() as session:
        session.add(AssetDaily(asset_id=guide.id, day=DAY1, views=7))
    with db.write() as session:
        assert rollups.rebuild(session) == 0
    assert day_of(db, guide, DAY1)["views"] == 7


def test_rebuild_keeps_days_whose_events_have_passed_retention(db: Database, guide: Asset) -> None:
    ingest(db, view("ann", guide, -48))  # two days before DAY1
    ingest(db, view("ann", guide, 0), view("bob", guide, 1))
    old_day = DAY1 - timedelta(days=2)
    with db.write() as session:
        session.execute(delete(Event).where(Event.occurred_at < at(-24)))
    with db.write() as session:
        rollups.rebuild(session)
    days = asset_days(db)
    assert (days[(guide.id, old_day)]["views"], days[(guide.id, old_day)]["readers"]) == (1, 1)
    assert days[(guide.id, DAY1)]["views"] == 2


def test_retention_deletes_whole_days_so_a_rebuild_keeps_the_counts(
    db: Database, guide: Asset
) -> None:
    # "Now minus N days" falls inside a day: retention keeps that whole day, so a rebuild
    # from the remaining events counts it fully.
    ingest(db, view("ann", guide, 0), view("bob", guide, 8))  # 09:00 and 17:00 on DAY1
    expected = asset_days(db)
    deleted = delete_expired_events(db, retention_days=1, now=at(3) + timedelta(days=1))
    assert deleted == 0  # the limit is 12:00 on DAY1: DAY1 stays whole
    with db.write() as session:
        rollups.rebuild(session)
    assert asset_days(db) == expected


def test_rebuild_after_retention_does_not_count_earlier_readers_again(
    db: Database, guide: Asset
) -> None:
    ingest(db, view("ann", guide, -48))
    ingest(db, view("ann", guide, 0))  # ann is no new reader on DAY1
    expected = asset_days(db)
    assert expected[(guide.id, DAY1)]["readers"] == 0
    with db.write() as session:
        session.execute(delete(Event).where(Event.occurred_at < at(-24)))
    with db.write() as session:
        rollups.rebuild(session)
    assert asset_days(db) == expected


def test_rebuild_after_retention_counts_a_first_view_after_an_earlier_touch(
    db: Database, guide: Asset
) -> None:
    ingest(db, events.GateView(visitor_id="ann", asset_id=guide.id, occurred_at=at(-48)))
    ingest(db, view("ann", guide, 0), view("bob", guide, -47), view("bob", guide, 1))
    expected = asset_days(db)
    assert expected[(guide.id, DAY1)]["readers"] == 1  # ann opened it first on DAY1, bob before
    with db.write() as session:
        session.execute(delete(Event).where(Event.occurred_at < at(-24)))
    with db.write() as session:
        rollups.rebuild(session)
    assert asset_days(db) == expected


# refresh_lead_stats


def identified(db: Database, email: str, *visitors: str) -> int:
    """A lead owning these browsers (their later events carry the lead)."""
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, T0)
        for visitor in visitors:
            session.merge(Visitor(id=visitor, lead_id=lead.id, created_at=T0))
        return lead.id


def lifecycle_change(db: Database, lead_id: int, new: str, hours: float) -> None:
    with db.write() as session:
        session.add(
            LeadChange(lead_id=lead_id, at=at(hours), kind="lifecycle", old="lead", new=new)
        )


def lead_stats(db: Database) -> dict[int, tuple[int, int]]:
    with db.read() as session:
        rows = session.scalars(select(AssetLeadStats)).all()
    return {row.asset_id: (row.leads_influenced, row.read_before_mql) for row in rows}


def test_lead_stats_count_influenced_leads_and_reads_before_the_first_mql(
    db: Database, guide: Asset, pricing: Asset
) -> None:
    ada = identified(db, "ada@example.com", "ada-laptop", "ada-phone")
    bea = identified(db, "bea@example.com", "bea-laptop")
    cid = identified(db, "cid@example.com", "cid-laptop")
    ingest(db, view("ada-laptop", guide, 0), view("ada-phone", guide, 1))  # two browsers, one lead
    ingest(db, view("ada-laptop", pricing, 10))
    ingest(db, view("bea-laptop", guide, 2), view("bea-laptop", pricing, 20))
    ingest(db, view("cid-laptop", pricing, 3))
    ingest(db, view("anonymous", guide, 4), view("anonymous", pricing, 4))  # no lead: not counted
    lifecycle_change(db, ada, "mql", 5)  # after the guide, before pricing
    lifecycle_change(db, bea, "mql", 15)  # after the guide, before pricing (read at 20)
    lifecycle_change(db, bea, "recycled", 16)
    lifecycle_change(db, bea, "mql", 30)  # a later MQL does not count: the first one does
    lifecycle_change(db, cid, "sql", 4)  # never an MQL
    now = at(100)
    with db.write() as session:
        assert rollups.refresh_lead_stats(session, now=now) == 2
    assert lead_stats(db) == {guide.id: (2, 2), pricing.id: (3, 0)}
    with db.read() as session:
        assert {row.computed_at for row in session.scalars(select(AssetLeadStats))} == {now}


def test_a_read_at_the_moment_of_the_mql_counts_as_before(db: Database, guide: Asset) -> None:
    ada = identified(db, "ada@example.com", "ada-laptop")
    ingest(db, view("ada-laptop", guide, 5))
    lifecycle_change(db, ada, "mql", 5)
    with db.write() as session:
        rollups.refresh_lead_stats(session)
    assert lead_stats(db) == {guide.id: (1, 1)}


def test_lead_stats_are_recomputed_not_added_to(db: Database, guide: Asset, pricing: Asset) -> None:
    identified(db, "ada@example.com", "ada-laptop")
    ingest(db, view("ada-laptop", guide, 0))
    with db.write() as session:
        session.add(AssetLeadStats(asset_id=pricing.id, leads_influenced=9, read_before_mql=9))
    with db.write() as session:
        assert rollups.refresh_lead_stats(session) == 1
    with db.write() as session:
        rollups.refresh_lead_stats(session)
    assert lead_stats(db) == {guide.id: (1, 0)}


def test_lead_stats_without_leads_are_empty(db: Database, guide: Asset) -> None:
    ingest(db, view("anonymous", guide, 0))
    with db.write() as session:
        assert rollups.refresh_lead_stats(session) == 0
    assert lead_stats(db) == {}


# pure folding


def rows(*spec: tuple[str | None, int | None, str, datetime, float | None]) -> list[dict[str, Any]]:
    return [
        {
            "visitor_id": v,
            "asset_id": a,
            "type": t,
            "occurred_at": when,
            "seconds": None,
            "depth": depth,
            "properties": None,
        }
        for v, a, t, when, depth in spec
    ]


def test_asset_deltas_take_prior_reads_into_account() -> None:
    batch = rows(
        ("ann", 1, "read_progress", at(0), 0.95),  # read before up to 0.5: completes now
        ("bob", 1, "read_progress", at(0), 0.95),  # read before up to 0.95: nothing new
        ("cat", 1, "asset_view", at(0), None),  # new reader
        ("dan", 1, "asset_view", at(0), None),  # opened it before: no new reader
        ("eve", 1, "asset_view", at(0), None),  # read to the end before opening it: completes
        ("fay", 1, "read_progress", at(0), 0.95),  # never opened it: neither
    )
    prior = {("ann", 1): 0.5, ("bob", 1): 0.95, ("eve", 1): 0.92, ("fay", 1): 0.5}
    viewers = {("ann", 1), ("bob", 1), ("dan", 1)}
    [delta] = rollups.asset_deltas(batch, prior, viewers)
    assert (delta["readers"], delta["completions"], delta["views"]) == (2, 2, 3)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ann", "bob", "cat"]),
            st.sampled_from(["asset_view", "read_progress", "form_submit", "gate_view"]),
            st.sampled_from([None, 0.2, 0.9, 1.0]),
        ),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=29),
)
def test_readers_never_outnumber_views_nor_completions_readers(
    history: list[tuple[str, str, float | None]], cut: int
) -> None:
    """However the events are cut into batches, each visitor that opened the asset is one
    reader and completes at most once, and only a reader completes."""
    events_ = rows(*((v, 1, t, at(0), d) for v, t, d in history))
    prior: dict[tuple[str, int], float] = {}
    viewers: set[tuple[str, int]] = set()
    totals = {"views": 0, "readers": 0, "completions": 0}
    for batch in (events_[:cut], events_[cut:]):
        for delta in rollups.asset_deltas(batch, prior, viewers):
            for name in totals:
                totals[name] += delta[name]
        for row in batch:
            key = (row["visitor_id"], 1)
            prior[key] = max(prior.get(key, 0.0), row["depth"] or 0.0)
            if row["type"] == "asset_view":
                viewers.add(key)
    opened = {v for v, t, _ in history if t == "asset_view"}
    deep = {v for v, _, d in history if (d or 0.0) >= rollups.COMPLETED_DEPTH}
    assert totals["views"] == sum(1 for _, t, _ in history if t == "asset_view")
    assert totals["readers"] == len(opened) <= totals["views"]
    assert totals["completions"] == len(opened & deep)


def test_deltas_are_sorted_by_key_so_concurrent_writers_lock_in_one_order() -> None:
    batch = rows(
        ("ann", 2, "asset_view", at(24), None),
        ("ann", 1, "asset_view", at(24), None),
        ("ann", 2, "asset_view", at(0), None),
    )
    keys = [(d["asset_id"], d["day"]) for d in rollups.asset_deltas(batch, {}, set())]
    assert keys == [(1, DAY2), (2, DAY1), (2, DAY2)]
    fields: Sequence[dict[str, Any]] = rollups.field_deltas(
        [
            {"type": "gate_view", "occurred_at": at(0), "properties": {"asked": ["z", "a"]}},
            {"type": "form_submit", "occurred_at": at(0), "properties": None},
        ]
    )
    assert [f["field"] for f in fields] == ["a", "z"]
