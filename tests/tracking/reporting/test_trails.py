"""Stitching, trails and per-asset summaries on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from content.models import Asset
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify as identification
from tracking.identity.facts import Source
from tracking.identity.identify import Identification
from tracking.identity.stitch import stitch
from tracking.identity.visitors import new_visitor_id
from tracking.models import AssetEngagement, Event
from tracking.pipeline.ingest import record
from tracking.reporting import trails
from tracking.reporting.trails import BadCursor, TrailAsset

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FORM = Source("form", "pricing-guide")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def identify(db: Database, email: str, visitor_id: str | None = None) -> Identification:
    """Identify a browser (``visitor_id``) or, without one, add a fresh device to the lead."""
    with db.write() as session:
        return identification.identify(
            session, visitor_id=visitor_id, email=email, answers={}, consent=None, source=FORM
        )


def track(db: Database, *tracked: events.TrackedEvent) -> None:
    with db.write() as session:
        record(session, tracked)


def trail_asset(asset: Asset) -> TrailAsset:
    return TrailAsset(asset.slug, asset.title, asset.kind, asset.stage)


def owners(db: Database, visitor_id: str) -> list[int | None]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Event.lead_id).where(Event.visitor_id == visitor_id).order_by(Event.id)
            )
        )


def engagement_owners(db: Database) -> dict[tuple[str, int], int | None]:
    with db.read() as session:
        rows = session.execute(
            select(AssetEngagement.visitor_id, AssetEngagement.asset_id, AssetEngagement.lead_id)
        ).all()
    return {(visitor_id, asset_id): lead_id for visitor_id, asset_id, lead_id in rows}


def walk(db: Database, lead_id: int, limit: int) -> list[trails.TrailPage]:
    pages = []
    cursor = None
    with db.read() as session:
        while True:
            page = trails.trail(session, lead_id, limit=limit, cursor=cursor)
            pages.append(page)
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor
            assert len(pages) < 100, "the cursor does not advance"


# stitching


def test_identification_moves_anonymous_events_and_aggregates_to_the_lead_once(
    db: Database,
) -> None:
    guide = make_asset(db)
    browser = new_visitor_id()
    track(
        db,
        events.AssetView(visitor_id=browser, asset_id=guide.id, occurred_at=at(0)),
        events.ReadProgress(
            visitor_id=browser, asset_id=guide.id, seconds=30, depth=0.7, occurred_at=at(1)
        ),
        events.PageView(visitor_id=browser, path="/library", occurred_at=at(2)),
    )
    bob = identify(db, "bob@example.com")
    track(
        db,
        events.AssetView(visitor_id=bob.visitor_id, asset_id=guide.id, occurred_at=at(3)),
        events.CtaClick(visitor_id=bob.visitor_id, target="demo", occurred_at=at(4)),
    )
    assert owners(db, browser) == [None, None, None]

    ada = identify(db, "ada@example.com", browser)

    assert owners(db, browser) == [ada.lead_id] * 3
    assert owners(db, bob.visitor_id) == [bob.lead_id] * 2
    assert engagement_owners(db) == {
        (browser, guide.id): ada.lead_id,
        (bob.visitor_id, guide.id): bob.lead_id,
    }
    with db.read() as session:
        ada_trail = trails.trail(session, ada.lead_id).items
        summary = trails.asset_summaries(session, ada.lead_id)
    assert [item.type for item in ada_trail] == ["page_view", "read_progress", "asset_view"]
    assert [(s.asset.slug, s.views, s.engaged_seconds) for s in summary] == [(guide.slug, 1, 30.0)]

    # Again, for the same lead or for another one: nothing left to move.
    with db.write() as session:
        assert stitch(session, browser, ada.lead_id) == 0
        assert stitch(session, browser, bob.lead_id) == 0
        assert stitch(session, bob.visitor_id, ada.lead_id) == 0
    assert owners(db, browser) == [ada.lead_id] * 3
    assert owners(db, bob.visitor_id) == [bob.lead_id] * 2
    assert engagement_owners(db) == {
        (browser, guide.id): ada.lead_id,
        (bob.visitor_id, guide.id): bob.lead_id,
    }


def test_identifying_the_same_browser_again_moves_nothing(db: Database) -> None:
    browser = new_visitor_id()
    track(db, events.CtaClick(visitor_id=browser, target="demo"))
    ada = identify(db, "ada@example.com", browser)
    # The retired id comes back (an old cookie) and identifies as someone else.
    bob = identify(db, "bob@example.com", browser)
    assert owners(db, browser) == [ada.lead_id]
    with db.read() as session:
        assert trails.trail(session, bob.lead_id).items == []


# trails


def test_a_trail_is_newest_first_across_the_leads_devices_only(db: Database) -> None:
    guide = make_asset(db, title="Lead scoring buyer's guide", kind="ebook", stage="consideration")
    laptop = identify(db, "ada@example.com")
    phone = identify(db, "ada@example.com")
    other = identify(db, "bob@example.com")
    assert laptop.lead_id == phone.lead_id
    track(
        db,
        events.AssetView(visitor_id=laptop.visitor_id, asset_id=guide.id, occurred_at=at(10)),
        events.ReadProgress(
            visitor_id=phone.visitor_id,
            asset_id=guide.id,
            seconds=15,
            depth=0.62,
            occurred_at=at(30),
        ),
        events.Search(visitor_id=phone.visitor_id, query="roi", results=3, occurred_at=at(20)),
        events.CtaClick(visitor_id=other.visitor_id, target="demo", occurred_at=at(25)),
        events.Download(visitor_id=laptop.visitor_id, asset_id=guide.id, occurred_at=at(40)),
    )
    with db.read() as session:
        page = trails.trail(session, laptop.lead_id)
    assert page.next_cursor is None
    assert [(i.at, i.type) for i in page.items] == [
        (at(40), "download"),
        (at(30), "read_progress"),
        (at(20), "search"),
        (at(10), "asset_view"),
    ]
    download, progress, search, view = page.items
    assert progress.asset == TrailAsset(
        guide.slug, "Lead scoring buyer's guide", "ebook", "consideration"
    )
    assert (progress.seconds, progress.depth, progress.properties) == (15.0, 0.62, {})
    assert search.asset is None
    assert (search.seconds, search.depth) == (None, None)
    assert search.properties == {"query": "roi", "results": 3}
    assert view.properties == {"locked": False}
    assert download.asset == trail_asset(guide)


@pytest.mark.parametrize(("total", "limit", "sizes"), [(23, 5, [5, 5, 5, 5, 3]), (10, 5, [5, 5])])
def test_pages_walk_every_event_exactly_once(
    db: Database, total: int, limit: int, sizes: list[int]
) -> None:
    lead = identify(db, "ada@example.com")
    # Three events share each timestamp, and they are stored out of order: the id breaks ties.
    order = list(range(total))
    random.Random(7).shuffle(order)
    track(
        db,
        *(
            events.CtaClick(visitor_id=lead.visitor_id, target=f"e{n}", occurred_at=at(n // 3))
            for n in order
        ),
    )
    stored_position = {n: position for position, n in enumerate(order)}
    expected = sorted(range(total), key=lambda n: (n // 3, stored_position[n]), reverse=True)

    pages = walk(db, lead.lead_id, limit)

    assert [len(p.items) for p in pages] == sizes
    assert all(p.next_cursor for p in pages[:-1])
    assert pages[-1].next_cursor is None
    seen = [item.properties["target"] for p in pages for item in p.items]
    assert seen == [f"e{n}" for n in expected]


def test_a_page_limit_is_kept_between_one_and_the_maximum(db: Database) -> None:
    lead = identify(db, "ada@example.com")
    track(db, *(events.CtaClick(visitor_id=lead.visitor_id, target="t") for _ in range(3)))
    with db.read() as session:
        assert len(trails.trail(session, lead.lead_id, limit=0).items) == 1
        assert len(trails.trail(session, lead.lead_id, limit=10_000).items) == 3


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90IGpzb24",  # "not json"
        _b64(json.dumps(["2026-03-02T09:00:00+00:00"])),
        _b64(json.dumps(["2026-03-02T09:00:00", 5])),  # no time zone
        _b64(json.dumps(["2026-03-02T09:00:00+00:00", "5"])),
        _b64(json.dumps(["yesterday", 5])),
        _b64(json.dumps({"at": 1, "id": 2})),
    ],
)
def test_a_cursor_not_issued_by_trail_is_refused(db: Database, cursor: str) -> None:
    lead = identify(db, "ada@example.com")
    with db.read() as session, pytest.raises(BadCursor):
        trails.trail(session, lead.lead_id, cursor=cursor)


# per-asset summaries


def test_asset_summaries_sum_over_the_leads_devices(db: Database) -> None:
    guide = make_asset(db)
    checklist = make_asset(db)
    laptop = identify(db, "ada@example.com")
    phone = identify(db, "ada@example.com")
    other = identify(db, "bob@example.com")
    track(
        db,
        events.AssetView(visitor_id=laptop.visitor_id, asset_id=guide.id, occurred_at=at(5)),
        events.ReadProgress(
            visitor_id=laptop.visitor_id,
            asset_id=guide.id,
            seconds=30,
            depth=0.5,
            occurred_at=at(6),
        ),
        events.AssetView(visitor_id=phone.visitor_id, asset_id=guide.id, occurred_at=at(20)),
        events.ReadProgress(
            visitor_id=phone.visitor_id,
            asset_id=guide.id,
            seconds=45,
            depth=0.9,
            occurred_at=at(21),
        ),
        events.Download(visitor_id=phone.visitor_id, asset_id=guide.id, occurred_at=at(22)),
        events.ReadProgress(
            visitor_id=laptop.visitor_id,
            asset_id=checklist.id,
            seconds=12,
            depth=0.89,
            occurred_at=at(30),
        ),
        # Another lead reading the same guide is not Ada's engagement.
        events.ReadProgress(
            visitor_id=other.visitor_id,
            asset_id=guide.id,
            seconds=99,
            depth=1.0,
            occurred_at=at(40),
        ),
        events.Download(visitor_id=other.visitor_id, asset_id=guide.id, occurred_at=at(41)),
    )
    with db.read() as session:
        summaries = trails.asset_summaries(session, laptop.lead_id)
    assert [s.asset for s in summaries] == [trail_asset(checklist), trail_asset(guide)]
    recent, read = summaries
    assert (read.engaged_seconds, read.max_depth, read.views, read.downloads) == (75.0, 0.9, 2, 1)
    assert (read.first_at, read.last_at) == (at(5), at(22))
    assert read.completed
    assert (recent.engaged_seconds, recent.max_depth, recent.views, recent.downloads) == (
        12.0,
        0.89,
        0,
        0,
    )
    assert not recent.completed


def test_a_lead_without_engagement_has_no_summaries(db: Database) -> None:
    lead = identify(db, "ada@example.com")
    track(db, events.PageView(visitor_id=lead.visitor_id, path="/"))
    with db.read() as session:
        assert trails.asset_summaries(session, lead.lead_id) == []
