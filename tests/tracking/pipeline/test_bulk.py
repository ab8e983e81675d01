"""A batch's rows in one statement (``tracking.pipeline.bulk``), on SQLite and PostgreSQL:
whatever an event carries comes back from the event log exactly as sent, upserts add up as
the row-by-row statements did, and a batch's events keep their order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError

from content.models import Asset
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.models import AssetEngagement, Event, VisitorJourney
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
