"""Ingestion on SQLite and PostgreSQL: stored rows, visitors, resends, aggregates, group commit
and retention."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select, text

from content.orm import utcnow
from portal.background import Job, Runner
from portal.db import Database
from tests.factories import make_asset
from tests.support import run_in_own_loop
from tracking import events
from tracking.identity.identify import get_or_create_lead
from tracking.models import AssetEngagement, Event, Visitor, VisitorJourney
from tracking.pipeline import retention
from tracking.pipeline.group_commit import IngestError, Ingestor
from tracking.pipeline.ingest import record, store
from tracking.rules.config import Model
from tracking.sources.arrivals import arrival

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NO_ASSET = 999_999


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def count(db: Database, model: type, *where: ColumnElement[bool]) -> int:
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(model).where(*where))
    return int(total or 0)


def store_groups(db: Database, *groups: Sequence[events.TrackedEvent]) -> list[int]:
    with db.write() as session:
        return store(session, groups)


def engagement(db: Database, visitor_id: str, asset_id: int) -> AssetEngagement:
    with db.read() as session:
        row = session.get(AssetEngagement, (visitor_id, asset_id))
    assert row is not None
    return row


def link_to_new_lead(db: Database, visitor_id: str, email: str) -> int:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, email, utcnow())
        visitor = session.get(Visitor, visitor_id)
        if visitor is None:
            session.add(Visitor(id=visitor_id, lead_id=lead.id))
        else:
            visitor.lead_id = lead.id
        return lead.id


def run_concurrently(workers: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(n)`` in ``workers`` threads released together; results or exceptions."""
    barrier = threading.Barrier(workers)
    outcomes: list[object] = [None] * workers

    def run(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = work(n)
        except Exception as exc:  # collected and asserted by the caller
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


# store / record


def test_events_are_stored_with_type_measures_properties_and_time(db: Database) -> None:
    asset = make_asset(db)
    with db.write() as session:
        stored = record(
            session,
            [
                events.ReadProgress(
                    visitor_id="reader",
                    asset_id=asset.id,
                    seconds=15,
                    depth=0.62,
                    occurred_at=at(1),
                ),
                events.CtaClick(visitor_id="reader", target="download", occurred_at=at(2)),
                events.Search(visitor_id="reader", query="lead scoring", results=4),
            ],
        )
    assert stored == 3
    with db.read() as session:
        rows = session.scalars(select(Event).order_by(Event.id)).all()
    assert [(r.type, r.visitor_id, r.lead_id) for r in rows] == [
        ("read_progress", "reader", None),
        ("cta_click", "reader", None),
        ("search", "reader", None),
    ]
    progress, click, search = rows
    assert (progress.asset_id, progress.seconds, progress.depth) == (asset.id, 15.0, 0.62)
    assert progress.properties is None
    assert progress.occurred_at == at(1)
    assert (click.asset_id, click.seconds, click.depth) == (None, None, None)
    assert click.properties == {"target": "download"}
    assert click.occurred_at == at(2)
    assert search.properties == {"query": "lead scoring", "results": 4}
    # Without an explicit time the event happened now.
    assert abs((search.occurred_at - utcnow()).total_seconds()) < 60


def test_visitors_are_created_on_first_sight_once(db: Database) -> None:
    store_groups(db, [events.PageView(visitor_id="first-sight", path="/")])
    store_groups(
        db,
        [events.PageView(visitor_id="first-sight", path="/library")],
        [events.PageView(visitor_id="second-sight", path="/")],
    )
    with db.read() as session:
        visitors = session.scalars(select(Visitor).order_by(Visitor.id)).all()
    assert [(v.id, v.lead_id) for v in visitors] == [("first-sight", None), ("second-sight", None)]


def test_events_of_an_identified_visitor_carry_its_lead(db: Database) -> None:
    asset = make_asset(db)
    store_groups(db, [events.AssetView(visitor_id="laptop", asset_id=asset.id, occurred_at=at(0))])
    with db.read() as session:
        assert session.scalars(select(Event.lead_id)).one() is None
    assert engagement(db, "laptop", asset.id).lead_id is None

    lead_id = link_to_new_lead(db, "laptop", "ada@example.com")
    store_groups(
        db,
        [
            events.ReadProgress(visitor_id="laptop", asset_id=asset.id, seconds=5, depth=0.2),
            events.CtaClick(visitor_id="laptop", target="demo"),
        ],
    )
    with db.read() as session:
        owners = session.execute(select(Event.type, Event.lead_id).order_by(Event.id)).all()
    assert owners == [
        ("asset_view", None),  # moving earlier events is stitching's job, not ingestion's
        ("read_progress", lead_id),
        ("cta_click", lead_id),
    ]
    # The visitor's aggregate becomes the lead's with its next event.
    assert engagement(db, "laptop", asset.id).lead_id == lead_id


def test_an_event_that_names_its_lead_keeps_it(db: Database) -> None:
    ada = link_to_new_lead(db, "ada-phone", "ada@example.com")
    with db.write() as session:
        bob, _ = get_or_create_lead(session, "bob@example.com", utcnow())
        bob_id = bob.id
    store_groups(
        db,
        [events.CtaClick(lead_id=bob_id, target="x")],
        [events.CtaClick(visitor_id="ada-phone", lead_id=bob_id, target="y")],
    )
    with db.read() as session:
        leads = session.scalars(select(Event.lead_id).order_by(Event.id)).all()
    assert leads == [bob_id, bob_id]
    assert ada != bob_id


def test_resent_uids_are_stored_once_and_counted_per_group(db: Database) -> None:
    def click(uid: str | None) -> events.CtaClick:
        return events.CtaClick(visitor_id="resender", uid=uid, target="demo")

    assert store_groups(db, [click("uid-a"), click("uid-b")]) == [2]
    assert store_groups(
        db,
        [click("uid-a"), click("uid-c")],  # uid-a was stored before
        [click("uid-c"), click("uid-d")],  # uid-c is in an earlier group of this batch
        [click(None), click(None)],  # no uid: never a resend
        [click("uid-b")],
    ) == [1, 1, 2, 0]
    with db.read() as session:
        uids = session.scalars(select(Event.uid).order_by(Event.id)).all()
    assert uids == ["uid-a", "uid-b", "uid-c", "uid-d", None, None]


def test_a_uid_twice_in_one_group_is_stored_once(db: Database) -> None:
    click = events.CtaClick(visitor_id="resender", uid="uid-twice", target="demo")
    assert store_groups(db, [click, click]) == [1]
    assert count(db, Event) == 1


def test_record_returns_zero_for_a_full_resend(db: Database) -> None:
    batch = [events.CtaClick(visitor_id="v", uid=f"resend-{n}", target="t") for n in range(3)]
    with db.write() as session:
        assert record(session, batch) == 3
    with db.write() as session:
        assert record(session, batch) == 0
    assert count(db, Event) == 3


# aggregates


def test_aggregates_fold_views_downloads_seconds_depth_and_time_span(db: Database) -> None:
    asset = make_asset(db)
    other = make_asset(db)
    v = "folding"
    # Out of order on purpose: first_at and last_at come from occurred_at, not arrival.
    store_groups(
        db,
        [
            events.AssetView(visitor_id=v, asset_id=asset.id, occurred_at=at(30)),
            events.ReadProgress(
                visitor_id=v, asset_id=asset.id, seconds=10, depth=0.3, occurred_at=at(10)
            ),
            events.ReadProgress(
                visitor_id=v, asset_id=asset.id, seconds=20, depth=0.8, occurred_at=at(50)
            ),
        ],
        [
            events.Download(visitor_id=v, asset_id=asset.id, occurred_at=at(20)),
            events.ReadProgress(
                visitor_id=v, asset_id=asset.id, seconds=5, depth=0.5, occurred_at=at(40)
            ),
            events.AssetView(visitor_id=v, asset_id=asset.id, occurred_at=at(15)),
            events.AssetView(visitor_id=v, asset_id=other.id, occurred_at=at(45)),
            events.AssetView(visitor_id="someone-else", asset_id=asset.id, occurred_at=at(5)),
        ],
    )
    row = engagement(db, v, asset.id)
    assert (row.views, row.downloads, row.engaged_seconds, row.max_depth) == (2, 1, 35.0, 0.8)
    assert (row.first_at, row.last_at) == (at(10), at(50))

    # A later batch: an earlier view (from a delayed sender), a shallower read, a later read.
    store_groups(db, [events.AssetView(visitor_id=v, asset_id=asset.id, occurred_at=at(1))])
    store_groups(
        db,
        [
            events.ReadProgress(
                visitor_id=v, asset_id=asset.id, seconds=7.5, depth=0.4, occurred_at=at(60)
            ),
            events.Download(visitor_id=v, asset_id=asset.id, occurred_at=at(55)),
        ],
    )
    row = engagement(db, v, asset.id)
    assert (row.views, row.downloads, row.engaged_seconds, row.max_depth) == (3, 2, 42.5, 0.8)
    assert (row.first_at, row.last_at) == (at(1), at(60))

    # Other visitors and other assets have rows of their own.
    other_row = engagement(db, v, other.id)
    assert (other_row.views, other_row.engaged_seconds, other_row.first_at) == (1, 0.0, at(45))
    someone = engagement(db, "someone-else", asset.id)
    assert (someone.views, someone.downloads, someone.first_at, someone.last_at) == (
        1,
        0,
        at(5),
        at(5),
    )
    assert count(db, AssetEngagement) == 3


def test_resent_events_do_not_count_twice_in_aggregates(db: Database) -> None:
    asset = make_asset(db)
    beat = events.ReadProgress(
        visitor_id="beater", asset_id=asset.id, seconds=15, depth=0.5, uid="beat-0001"
    )
    store_groups(db, [beat])
    store_groups(db, [beat], [beat])
    row = engagement(db, "beater", asset.id)
    assert (row.engaged_seconds, row.max_depth) == (15.0, 0.5)


def test_events_without_an_asset_leave_aggregates_alone(db: Database) -> None:
    store_groups(
        db,
        [
            events.PageView(visitor_id="browsing", path="/library"),
            events.Search(visitor_id="browsing", query="roi", results=0),
            events.CtaClick(visitor_id="browsing", target="demo"),
        ],
    )
    assert count(db, Event) == 3
    assert count(db, AssetEngagement) == 0


# the Ingestor


def start_writer(ingestor: Ingestor) -> Runner:
    """Run the ingestor's writer as the app does: the event-writer job of a runner."""
    runner = Runner(
        [
            Job(
                "event-writer",
                0,
                ingestor.write_pending,
                on_start=ingestor.open,
                on_stop=ingestor.close,
                on_stopping=ingestor.wake,
            )
        ]
    )
    runner.start()
    return runner


def test_a_stopping_writer_ends_its_wait_for_work_at_once(db: Database) -> None:
    ingestor = Ingestor(db, poll=60.0)  # a pass waits up to a minute for a first request
    writer = start_writer(ingestor)
    stored = ingestor.record_sync([events.CtaClick(visitor_id="early", uid="wake-1", target="t")])
    time.sleep(0.2)  # the next pass is waiting
    started = time.monotonic()
    assert writer.stop() == []
    assert time.monotonic() - started < 10  # not the minute's wait
    assert not ingestor.running
    # the wake-up stored nothing; the events come in before and after the stop are stored
    late = ingestor.record_sync([events.CtaClick(visitor_id="late", uid="wake-2", target="t")])
    assert (stored, late) == (1, 1)
    with db.read() as session:
        assert set(session.scalars(select(Event.uid))) == {"wake-1", "wake-2"}


def test_a_request_queued_behind_a_wake_up_is_written_in_the_same_pass(db: Database) -> None:
    ingestor = Ingestor(db)
    ingestor.open()
    ingestor.wake()  # left by a stop whose thread outlived the grace, say
    behind = ingestor.submit([events.CtaClick(visitor_id="behind", uid="behind-1", target="t")])
    assert ingestor.write_pending(threading.Event()) == 1
    assert behind.result(timeout=1) == 1
    ingestor.close()
    assert count(db, Event) == 1


def test_concurrent_requests_share_transactions(db: Database) -> None:
    asset = make_asset(db)
    ingestor = Ingestor(db)
    writer = start_writer(ingestor)
    try:
        outcomes = run_concurrently(
            20,
            lambda n: ingestor.record_sync(
                [events.AssetView(visitor_id="crowd", asset_id=asset.id, uid=f"crowd-{n:04}")]
            ),
        )
    finally:
        writer.stop()
    assert outcomes == [1] * 20
    assert count(db, Event) == 20
    assert engagement(db, "crowd", asset.id).views == 20
    # Fewer transactions than requests: requests waiting together were committed together.
    assert ingestor.batches < 20


def test_a_failing_request_fails_alone(db: Database) -> None:
    asset = make_asset(db)
    # A generous max_wait keeps the requests in one batch, so the bad one spoils it first.
    ingestor = Ingestor(db, max_wait=0.2)
    writer = start_writer(ingestor)
    bad_one = 7

    def request(n: int) -> int:
        asset_id = NO_ASSET if n == bad_one else asset.id
        return ingestor.record_sync(
            [events.AssetView(visitor_id=f"client-{n}", asset_id=asset_id, uid=f"fail-{n:04}")]
        )

    try:
        outcomes = run_concurrently(12, request)
    finally:
        writer.stop()
    assert isinstance(outcomes[bad_one], IngestError)
    assert outcomes[:bad_one] + outcomes[bad_one + 1 :] == [1] * 11
    with db.read() as session:
        uids = set(session.scalars(select(Event.uid)))
    assert uids == {f"fail-{n:04}" for n in range(12) if n != bad_one}
    assert count(db, AssetEngagement) == 11


def test_under_load_a_batch_gathers_the_requests_still_arriving(db: Database) -> None:
    ingestor = Ingestor(db, gather=60.0, max_batch=3)  # closed by size here, never by time
    ingestor.open()
    stopping = threading.Event()

    def click(n: int) -> list[events.TrackedEvent]:
        return [events.CtaClick(visitor_id="busy", uid=f"busy-{n:04}", target="t")]

    ingestor.submit(click(0))
    ingestor.submit(click(1))
    assert ingestor.write_pending(stopping) == 2  # two requests at once: the server is busy
    first = ingestor.submit(click(2))
    writing = threading.Thread(target=ingestor.write_pending, args=(stopping,))
    writing.start()
    time.sleep(0.2)  # the writer has taken the first request (an idle one would commit it)
    later = [ingestor.submit(click(n)) for n in (3, 4)]  # queued while the batch is open
    writing.join(timeout=30)
    assert not writing.is_alive()
    assert [f.result(timeout=1) for f in (first, *later)] == [1, 1, 1]
    assert ingestor.batches == 2  # the late two rode along in the same commit
    ingestor.close()
    assert count(db, Event) == 5


def test_an_idle_writer_commits_a_lone_request_at_once(db: Database) -> None:
    ingestor = Ingestor(db, gather=60.0)
    ingestor.open()
    alone = ingestor.submit([events.CtaClick(visitor_id="quiet", uid="quiet-0001", target="t")])
    started = time.monotonic()
    assert ingestor.write_pending(threading.Event()) == 1
    assert time.monotonic() - started < 30  # not held open for the minute's gather
    assert alone.result(timeout=1) == 1
    ingestor.close()


def test_record_sync_writes_inline_without_the_writer_job(db: Database) -> None:
    ingestor = Ingestor(db)
    assert not ingestor.running
    assert ingestor.record_sync([events.CtaClick(visitor_id="cli", target="a")]) == 1
    assert ingestor.record_sync([]) == 0
    assert count(db, Event) == 1
    with pytest.raises(IngestError):
        ingestor.record_sync([events.AssetView(visitor_id="cli", asset_id=NO_ASSET)])
    assert count(db, Event) == 1


def test_stop_writes_what_is_queued(db: Database) -> None:
    # A batch that would stay open for a minute: stop() must write it rather than wait.
    ingestor = Ingestor(db, max_wait=60.0)
    writer = start_writer(ingestor)
    futures = [
        ingestor.submit([events.CtaClick(visitor_id="leaving", uid=f"queued-{n:04}", target="t")])
        for n in range(5)
    ]
    writer.stop()
    assert not ingestor.running
    assert all(f.done() for f in futures)
    assert [f.result() for f in futures] == [1] * 5
    assert count(db, Event) == 5


def test_fifty_clients_of_two_hundred_events_each_are_all_stored(db: Database) -> None:
    clients, per_client = 50, 200
    ingestor = Ingestor(db)
    writer = start_writer(ingestor)

    def client(n: int) -> int:
        return sum(
            ingestor.record_sync(
                [events.CtaClick(visitor_id=f"client-{n}", uid=f"c{n}-e{i}", target="load")]
            )
            for i in range(per_client)
        )

    try:
        outcomes = run_concurrently(clients, client)
    finally:
        writer.stop()
    assert outcomes == [per_client] * clients
    assert count(db, Event) == clients * per_client
    assert count(db, Visitor) == clients


# retention


@pytest.mark.parametrize("expired", [6, 7])
def test_retention_deletes_old_events_in_chunks_and_keeps_aggregates(
    db: Database, monkeypatch: pytest.MonkeyPatch, expired: int
) -> None:
    monkeypatch.setattr(retention, "CHUNK", 3)
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    asset = make_asset(db)
    old = [
        events.ReadProgress(
            visitor_id="old-reader",
            asset_id=asset.id,
            seconds=10,
            depth=0.1 * (n + 1),
            occurred_at=now - timedelta(days=40 + n),
        )
        for n in range(expired)
    ]
    recent = [
        events.AssetView(visitor_id="old-reader", asset_id=asset.id, occurred_at=now - age)
        for age in (timedelta(days=30), timedelta(days=29, hours=23), timedelta(minutes=1))
    ]
    store_groups(db, old, recent)
    before = engagement(db, "old-reader", asset.id)

    assert retention.delete_expired_events(db, 30, now=now) == expired

    with db.read() as session:
        kept = session.scalars(select(Event.occurred_at).order_by(Event.occurred_at)).all()
    assert kept == [e.occurred_at for e in recent]  # the one exactly at the cutoff stays
    after = engagement(db, "old-reader", asset.id)
    assert (after.views, after.engaged_seconds, after.max_depth, after.first_at) == (
        before.views,
        before.engaged_seconds,
        before.max_depth,
        before.first_at,
    )
    assert after.engaged_seconds == 10.0 * expired
    assert retention.delete_expired_events(db, 30, now=now) == 0


def test_callers_that_give_up_waiting_neither_lose_events_nor_stop_the_writer(
    db: Database,
) -> None:
    import asyncio

    ingestor = Ingestor(db)
    writer = start_writer(ingestor)

    async def main() -> int:
        waiting = [
            asyncio.create_task(
                ingestor.record([events.CtaClick(visitor_id="impatient", uid=f"gives-up-{n}")])
            )
            for n in range(40)
        ]
        await asyncio.sleep(0)
        for task in waiting[:20]:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        return await ingestor.record([events.CtaClick(visitor_id="impatient", uid="after-all")])

    answers: list[int] = []

    async def run() -> None:
        answers.append(await main())

    try:
        run_in_own_loop(run)
        assert answers == [1]
        assert ingestor.running
    finally:
        writer.stop()
    assert count(db, Event) == 41


def test_coroutines_waiting_together_get_their_own_answers_in_one_wake_up_a_batch(
    db: Database,
) -> None:
    import asyncio

    asset = make_asset(db)
    # A generous max_wait keeps the requests in one batch, so the bad one spoils it first.
    ingestor = Ingestor(db, max_wait=0.2)
    writer = start_writer(ingestor)
    bad_one = 5
    wake_ups: list[int] = []

    async def main() -> list[int | BaseException]:
        loop = asyncio.get_running_loop()
        call_soon_threadsafe = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            wake_ups.append(1)
            return call_soon_threadsafe(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        return await asyncio.gather(
            *(
                ingestor.record(
                    [
                        events.AssetView(
                            visitor_id=f"reader-{n}",
                            asset_id=NO_ASSET if n == bad_one else asset.id,
                            uid=f"together-{n:04}",
                        )
                    ]
                )
                for n in range(12)
            ),
            return_exceptions=True,
        )

    answers: list[list[int | BaseException]] = []

    async def run() -> None:
        answers.append(await main())

    try:
        run_in_own_loop(run)
    finally:
        writer.stop()
    outcomes = answers[0]
    assert isinstance(outcomes[bad_one], IngestError)
    assert outcomes[:bad_one] + outcomes[bad_one + 1 :] == [1] * 11
    assert count(db, Event) == 11
    # The batch (and the bad request's retries) answered the loop once, not once a request.
    assert len(wake_ups) == 1


# two writers (two web processes) on the same browser


def waiting_for_a_lock(db: Database) -> bool:
    """Whether another session of the test database waits for a row lock (PostgreSQL)."""
    with db.read() as session:
        waiting = session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@pytest.mark.parametrize("second", ["page view", "new browser's beacon"])
def test_a_batch_that_waited_for_another_writers_browser_adds_to_what_that_one_wrote(
    db: Database, second: str
) -> None:
    """The first writer's beacon holds the browser; the second's page view (or a beacon of a
    browser the second creates beside it) waits, and then reads what the first committed:
    the browser's journey counts both batches' events, none is lost."""
    asset_id = make_asset(db).id
    browser = "shared"
    with db.write() as session:
        store(session, [[events.AssetView(visitor_id=browser, asset_id=asset_id, occurred_at=T0)]],
              model=Model())  # fmt: skip
    first_stored, first_may_commit = threading.Event(), threading.Event()

    def first() -> None:
        with db.write() as session:
            beacon = events.ReadProgress(
                visitor_id=browser, asset_id=asset_id, seconds=20, depth=0.5, occurred_at=at(1)
            )
            store(session, [[beacon]], model=Model())
            first_stored.set()
            first_may_commit.wait(30)

    def second_batch() -> list[events.TrackedEvent]:
        if second == "page view":
            came = arrival("/library", None, {"portal.example"})
            return [events.PageView(visitor_id=browser, path="/library", occurred_at=at(2),
                                    arrival=came)]  # fmt: skip
        # the first writer's browser, with one this writer sees first: it is created and locked
        return [
            events.ReadProgress(visitor_id="newcomer", asset_id=asset_id, seconds=5, depth=0.1,
                                occurred_at=at(2)),
            events.ReadProgress(visitor_id=browser, asset_id=asset_id, seconds=5, depth=0.7,
                                occurred_at=at(2)),
        ]  # fmt: skip

    def then_second() -> None:
        with db.write() as session:
            store(session, [second_batch()], model=Model())

    writer = threading.Thread(target=first)
    writer.start()
    assert first_stored.wait(30)
    waiter = threading.Thread(target=then_second)
    waiter.start()
    deadline = time.monotonic() + 10
    while not db.is_sqlite and not waiting_for_a_lock(db) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the second writer waits for the browser's lock
    time.sleep(0.1)
    first_may_commit.set()
    writer.join(30)
    waiter.join(30)
    with db.read() as session:
        journey = session.get(VisitorJourney, browser)
        assert journey is not None
        counts = journey.journey["counts"]
    expected = {"asset_view": 1, "read_progress": 1}
    expected.update({"page_view": 1} if second == "page view" else {"read_progress": 2})
    assert counts == expected
