"""A batch's rows in one statement (``tracking.pipeline.bulk``), on SQLite and PostgreSQL:
whatever an event carries comes back from the event log exactly as sent, upserts add up as
the row-by-row statements did, and a batch's events keep their order. Reads sent together and
writes sent without waiting (one round trip each on PostgreSQL) answer and fail as they would
one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from content.models import Asset
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.models import AssetEngagement, Event, Visitor, VisitorJourney
from tracking.pipeline import bulk
from tracking.pipeline.ingest import store
from tracking.rules.config import Model

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Text an array's text form must escape: quotes, braces, commas, backslashes, blanks,
# the word NULL, and letters beyond ASCII (PostgreSQL text holds no NUL character).
HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\"{},\\ '\tNUL()[]")),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    max_size=24,
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**31), 2**31), HOSTILE),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(HOSTILE, inner, max_size=3)
    ),
    max_leaves=6,
)


def stored_events(db: Database) -> list[dict[str, Any]]:
    with db.read() as session:
        found = session.scalars(select(Event).order_by(Event.id)).all()
        return [
            {
                "uid": e.uid,
                "visitor_id": e.visitor_id,
                "type": e.type,
                "asset_id": e.asset_id,
                "occurred_at": e.occurred_at,
                "seconds": e.seconds,
                "depth": e.depth,
                "properties": e.properties,
            }
            for e in found
        ]


def empty(db: Database) -> None:
    with db.write() as session:
        for model in (Event, AssetEngagement, VisitorJourney):
            session.execute(delete(model))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(HOSTILE, st.dictionaries(HOSTILE, JSON_VALUES, max_size=3) | st.none()),
        min_size=1,
        max_size=6,
    )
)
def test_what_an_event_carries_comes_back_as_sent(
    db: Database, sent: list[tuple[str, dict[str, Any] | None]]
) -> None:
    empty(db)
    batch = [
        events.Imported(
            kind=events.EventType.CTA_CLICK,
            visitor_id=f"v{n}",
            uid=f"{uid}#{n}",  # unique within the batch: a repeated uid is a resend
            occurred_at=T0 + timedelta(seconds=n),
            extra=extra,
        )
        for n, (uid, extra) in enumerate(sent)
    ]
    with db.write() as session:
        assert store(session, [batch], now=T0) == [len(batch)]
    assert stored_events(db) == [
        {
            "uid": f"{uid}#{n}",
            "visitor_id": f"v{n}",
            "type": "cta_click",
            "asset_id": None,
            "occurred_at": T0 + timedelta(seconds=n),
            "seconds": None,
            "depth": None,
            "properties": extra or None,
        }
        for n, (uid, extra) in enumerate(sent)
    ]


def test_a_batch_keeps_its_order_and_adds_to_what_each_reader_had(db: Database) -> None:
    asset: Asset = make_asset(db)
    asset_id = asset.id

    def read(visitor: str, minute: int, seconds: float, depth: float) -> events.ReadProgress:
        return events.ReadProgress(
            visitor_id=visitor, asset_id=asset_id, seconds=seconds, depth=depth,
            occurred_at=T0 + timedelta(minutes=minute),
        )  # fmt: skip

    with db.write() as session:
        store(session, [[read("ann", 0, 10, 0.2)], [read("bob", 1, 5, 0.9)]], model=Model())
    with db.write() as session:
        store(
            session,
            [[read("bob", 3, 20, 0.4), read("ann", 2, 7.5, 0.6)], [read("cat", 4, 1, 0.1)]],
            model=Model(),
        )
    rows = stored_events(db)
    assert [(r["visitor_id"], r["seconds"]) for r in rows] == [
        ("ann", 10), ("bob", 5), ("bob", 20), ("ann", 7.5), ("cat", 1),
    ]  # fmt: skip
    with db.read() as session:
        engaged = {
            e.visitor_id: (e.engaged_seconds, e.max_depth, e.first_at, e.last_at)
            for e in session.scalars(select(AssetEngagement))
        }
        journeys = set(session.scalars(select(VisitorJourney.visitor_id)))
    minute = timedelta(minutes=1)
    assert engaged == {
        "ann": (17.5, 0.6, T0, T0 + 2 * minute),
        "bob": (25.0, 0.9, T0 + minute, T0 + 3 * minute),
        "cat": (1.0, 0.1, T0 + 4 * minute, T0 + 4 * minute),
    }
    assert journeys == {"ann", "bob", "cat"}


def test_a_value_longer_than_its_column_is_refused_never_cut_short(
    db: Database, backend: str
) -> None:
    """PostgreSQL refuses it, as the row-by-row insert did (an array cast to ``varchar(64)``
    would cut it short without a word); SQLite, which keeps no lengths, stores it whole."""
    too_long = "u" * 80
    batch = [events.Imported(kind=events.EventType.CTA_CLICK, visitor_id="v1", uid=too_long)]
    if backend == "postgresql":
        with pytest.raises(DBAPIError, match="too long"), db.write() as session:
            store(session, [batch], now=T0)
        assert stored_events(db) == []
    else:
        with db.write() as session:
            store(session, [batch], now=T0)
        assert [row["uid"] for row in stored_events(db)] == [too_long]


def test_reads_sent_together_answer_as_each_sent_alone(db: Database) -> None:
    """``read_together`` (one round trip on PostgreSQL): each read's rows in order, an empty
    list matching nothing, times as aware UTC datetimes as SQLAlchemy returns them."""
    asset_id = make_asset(db).id
    reading = [
        events.ReadProgress(visitor_id=v, asset_id=asset_id, seconds=3, depth=0.3, occurred_at=T0)
        for v in ("ann", "bob")
    ]
    with db.write() as session:
        store(session, [reading], model=Model())
    engagement = select(
        AssetEngagement.visitor_id, AssetEngagement.first_at, AssetEngagement.max_depth
    ).order_by(AssetEngagement.visitor_id)
    journeys = select(VisitorJourney.visitor_id).where(
        bulk.one_of(db.engine.dialect.name, VisitorJourney.visitor_id, "ids")
    )
    reads = [
        bulk.Read(engagement, {}),
        bulk.Read(journeys, {"ids": ["bob", "nobody"]}, planned_each_time=True),
        bulk.Read(journeys, {"ids": []}),
    ]
    with db.write() as session:
        together = bulk.read_together(session.connection(), reads)
        alone = [[tuple(row) for row in session.execute(*read[:2])] for read in reads]
    assert (
        together
        == alone
        == [
            [("ann", T0, 0.3), ("bob", T0, 0.3)],
            [("bob",)],
            [],
        ]
    )
    assert together[0][0][1].tzinfo is not None


def test_a_statement_failing_in_a_pipelined_block_fails_as_it_would_alone(db: Database) -> None:
    """The error is SQLAlchemy's (as for a statement run alone) and the transaction keeps none
    of the block's writes."""

    def write_ann_bob_and_ann_again() -> None:
        with db.write() as session:
            connection = session.connection()
            with bulk.pipelined(connection):
                for visitor in ("ann", "bob", "ann"):
                    connection.execute(insert(Visitor), [{"id": visitor, "created_at": T0}])

    with pytest.raises(IntegrityError):
        write_ann_bob_and_ann_again()
    with db.read() as session:
        assert session.scalars(select(Visitor.id)).all() == []
