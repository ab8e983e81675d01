"""The recommendation audience kept in shared tables, on SQLite and PostgreSQL: after any stream
of reading, identifications (stitching), merges and erasures, the counts the job keeps equal a
full count over every engagement row; the job's work follows the readers who changed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify, leadadmin
from tracking.identity.facts import Source
from tracking.pipeline import audience
from tracking.pipeline.audience import AudienceReader
from tracking.pipeline.ingest import store
from tracking.rules.config import Model

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = Model()


def assets(db: Database, count: int = 6) -> list[int]:
    return [make_asset(db, title=f"Asset {n}", slug=f"asset-{n}").id for n in range(count)]


def read(db: Database, visitor: str, lead_id: int | None, *opened: tuple[int, float]) -> None:
    """One batch: the browser opens each asset at ``T0 + hours``."""
    trail: list[events.TrackedEvent] = []
    for asset_id, hours in opened:
        when = T0 + timedelta(hours=hours)
        trail.append(events.AssetView(visitor_id=visitor, lead_id=lead_id, asset_id=asset_id,
                                      occurred_at=when))  # fmt: skip
        trail.append(events.ReadProgress(visitor_id=visitor, lead_id=lead_id, asset_id=asset_id,
                                         seconds=20, depth=0.5, occurred_at=when))  # fmt: skip
    with db.write() as session:
        store(session, [trail], now=T0, model=MODEL)


def identify_browser(db: Database, visitor: str | None, email: str) -> tuple[int, str]:
    """The browser sends a gate form: it becomes (or joins) the lead, its history moves."""
    with db.write() as session:
        found = identify.identify(
            session, visitor_id=visitor, email=email, answers={}, consent=None,
            source=Source("gate"), now=T0, model=MODEL,
        )  # fmt: skip
    return found.lead_id, found.visitor_id


def kept(db: Database) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    with db.read() as session:
        return audience.counted(session)


def full(db: Database) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    with db.read() as session:
        return audience.recount(session)


def counted_readers(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(select(AudienceReader.reader)))


def test_a_stream_of_reading_and_identifications_keeps_the_counts_of_a_full_recount(
    db: Database,
) -> None:
    ids = assets(db)
    rng = random.Random(19)
    browsers = [f"browser-{n}" for n in range(8)]
    leads: dict[str, int | None] = dict.fromkeys(browsers)
    for step in range(40):
        browser = rng.choice(browsers)
        opened = [(rng.choice(ids), rng.uniform(-48, 48)) for _ in range(rng.randint(1, 3))]
        read(db, browser, leads[browser], *opened)  # some open earlier than what is stored
        if step % 7 == 3:  # a browser identifies, now and then as a lead it already is
            who = rng.choice(browsers)
            lead_id, fresh = identify_browser(db, who, f"reader{rng.randint(0, 3)}@example.com")
            browsers[browsers.index(who)] = fresh
            leads.pop(who)
            leads[fresh] = lead_id
        if step % 5 == 4:  # the job runs now and then, between batches
            audience.catch_up(db, chunk=3)
    audience.catch_up(db, chunk=3)
    readers, pairs = kept(db)
    assert (readers, pairs) == full(db)
    assert len(pairs) > len(readers) > 3
    assert audience.catch_up(db) == 0  # nothing left waiting


def test_nothing_is_counted_until_the_job_runs_and_then_only_what_changed(db: Database) -> None:
    first, second, third, *_ = assets(db)
    read(db, "browser-a", None, (first, 0), (second, 1))
    assert kept(db) == ({}, {})
    assert audience.catch_up(db) == 1
    assert kept(db) == ({first: 1, second: 1}, {(first, second): 1})
    read(db, "browser-a", None, (first, 2))  # reading again what the trail holds: no change
    assert audience.catch_up(db) == 0
    read(db, "browser-b", None, (second, 0), (third, 1))
    assert audience.catch_up(db) == 1
    assert kept(db) == (
        {first: 1, second: 2, third: 1},
        {(first, second): 1, (second, third): 1},
    )


def test_stitching_moves_the_browsers_trail_into_its_leads(db: Database) -> None:
    first, second, third, fourth, *_ = assets(db)
    lead_id, phone = identify_browser(db, None, "ada@example.com")
    read(db, phone, lead_id, (first, 0), (fourth, 5))
    read(db, "laptop", None, (second, 1), (third, 2))  # anonymous, on another device
    audience.catch_up(db)
    assert counted_readers(db) == {f"l:{lead_id}", "v:laptop"}
    assert kept(db)[1][(second, third)] == 1
    identify_browser(db, "laptop", "ada@example.com")  # the laptop identifies as the same lead
    audience.catch_up(db)
    assert counted_readers(db) == {f"l:{lead_id}"}  # one reader, in the order first opened
    readers, pairs = kept(db)
    assert readers == {first: 1, second: 1, third: 1, fourth: 1}
    assert pairs == {
        (first, second): 1, (first, third): 1, (first, fourth): 1,
        (second, third): 1, (second, fourth): 1, (third, fourth): 1,
    }  # fmt: skip
    assert kept(db) == full(db)


def test_forgetting_a_lead_removes_them_and_their_browsers_read_anonymously(db: Database) -> None:
    first, second, third, *_ = assets(db)
    lead_id, phone = identify_browser(db, None, "ada@example.com")
    read(db, phone, lead_id, (first, 0), (second, 1), (third, 2))
    read(db, "someone", None, (first, 0), (third, 1))
    audience.catch_up(db)
    assert f"l:{lead_id}" in counted_readers(db)
    with db.write() as session:
        assert leadadmin.erase(session, lead_id)
    audience.catch_up(db)
    assert f"l:{lead_id}" not in counted_readers(db)
    assert kept(db) == full(db)


def test_merging_two_leads_counts_one_reader(db: Database) -> None:
    first, second, third, *_ = assets(db)
    one, phone = identify_browser(db, None, "ada@example.com")
    two, laptop = identify_browser(db, None, "ada.work@example.com")
    read(db, phone, one, (first, 0), (third, 2))
    read(db, laptop, two, (second, 1), (first, 3))
    audience.catch_up(db)
    assert kept(db)[0][first] == 2
    with db.write() as session:
        leadadmin.merge(session, one, two, MODEL, actor="test", reason="same person")
    audience.catch_up(db)
    assert counted_readers(db) == {f"l:{one}"}
    assert kept(db) == full(db)
    assert kept(db)[0][first] == 1


def test_a_rebuild_counts_the_whole_history_again(db: Database) -> None:
    first, second, *_ = assets(db)
    read(db, "browser-a", None, (first, 0), (second, 1))
    read(db, "browser-b", None, (second, 0), (first, 1))
    with db.write() as session:
        assert audience.rebuild(session) == 2
    audience.catch_up(db)
    assert kept(db) == full(db) == ({first: 2, second: 2}, {(first, second): 1, (second, first): 1})
