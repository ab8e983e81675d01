"""Fading content from asset_daily, on SQLite and PostgreSQL: an asset against its own first
twelve weeks, a young one against its peers, out-of-date titles, and snoozes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from content.models import Asset
from content.orm import utcnow
from nurture.intelligence import fading
from portal.db import Database
from tests.factories import make_asset
from tracking.models import AssetDaily


def reading(db: Database, asset_id: int, days_ago: int, readers: int, minutes: float) -> None:
    with db.write() as session:
        session.add(
            AssetDaily(
                asset_id=asset_id,
                day=(utcnow() - timedelta(days=days_ago)).date(),
                readers=readers,
                engaged_seconds=minutes * 60,
                completions=readers // 2,
            )
        )


def published(db: Database, asset_id: int, days_ago: int) -> None:
    with db.write() as session:
        session.execute(
            update(Asset)
            .where(Asset.id == asset_id)
            .values(published_at=utcnow() - timedelta(days=days_ago))
        )


def test_an_asset_that_fell_below_its_first_weeks_is_flagged(db: Database) -> None:
    old = make_asset(db, title="Scoring guide", kind="whitepaper", stage="consideration")
    published(db, old.id, 300)
    reading(db, old.id, 290, readers=100, minutes=500)  # first weeks: 5 min a reader
    reading(db, old.id, 10, readers=40, minutes=80)  # lately: 2 min a reader
    steady = make_asset(db, title="Steady guide", kind="whitepaper", stage="consideration")
    published(db, steady.id, 300)
    reading(db, steady.id, 290, readers=100, minutes=500)
    reading(db, steady.id, 10, readers=40, minutes=190)
    dated = make_asset(db, title="The 2025 benchmark report")

    with db.read() as session:
        found = {flag.slug: flag for flag in fading.flags(session, utcnow())}
    assert set(found) == {old.slug, dated.slug}
    assert [(f.figure, f.against) for f in found[old.slug].fades] == [
        ("minutes_per_reader", "own first weeks")
    ]
    assert found[dated.slug].dated == "2025 in the title"
    assert found[dated.slug].fades == []


def test_a_young_asset_is_compared_with_the_median_of_its_kind_and_stage(db: Database) -> None:
    peers = [make_asset(db, kind="ebook", stage="decision") for _ in range(3)]
    for peer in peers:
        reading(db, peer.id, 5, readers=50, minutes=250)  # 5 min a reader
    young = make_asset(db, title="New ebook", kind="ebook", stage="decision")
    reading(db, young.id, 5, readers=30, minutes=30)  # 1 min a reader
    with db.read() as session:
        found = {flag.slug: flag for flag in fading.flags(session, utcnow())}
    assert set(found) == {young.slug}
    assert {fade.against for fade in found[young.slug].fades} == {"library median"}


def test_a_snoozed_flag_is_kept_apart_until_it_expires(db: Database) -> None:
    dated = make_asset(db, title="Trends 2024")
    with db.write() as session:
        fading.snooze(session, dated.id, "Still the newest figures", 30, "ed@x.example", utcnow())
    with db.read() as session:
        [flag] = fading.flags(session, utcnow())
        assert flag.snoozed is not None
        assert flag.snoozed.reason == "Still the newest figures"
        [later] = fading.flags(session, utcnow() + timedelta(days=31))
        assert later.snoozed is None


def test_its_own_first_weeks_end_on_the_day_twelve_weeks_after_publishing(db: Database) -> None:
    # published 300 days ago: the 12 weeks end 216 days ago; the last day of them counts, the
    # day they end does not (a busy day then would lift the baseline and flag the asset)
    guide = make_asset(db, title="Boundary guide", kind="whitepaper", stage="consideration")
    published(db, guide.id, 300)
    reading(db, guide.id, 217, readers=30, minutes=90)  # the last day of the first weeks
    reading(db, guide.id, 216, readers=1000, minutes=20_000)  # after them
    reading(db, guide.id, 10, readers=30, minutes=80)
    with db.read() as session:
        found = {flag.slug: flag for flag in fading.flags(session, utcnow())}
    assert guide.slug not in found  # 2.7 min a reader now against 3 then: not clearly below
