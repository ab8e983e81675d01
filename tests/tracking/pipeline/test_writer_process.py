"""The event writer process on SQLite and PostgreSQL: events stored by the child and answered
once committed, failures answered one request at a time, a dead child replaced, a stop that
loses nothing it was sent, and a socket only this user can reach."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from content.orm import utcnow
from portal.app import writer_process
from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.support import run_in_own_loop
from tracking import events
from tracking.identity.identify import get_or_create_lead
from tracking.models import Event, Lead, Visitor
from tracking.pipeline.group_commit import IngestError, Ingestor
from tracking.pipeline.writer_process import WriterProcess
from tracking.rules.config import default_model

NO_ASSET = 999_999


@pytest.fixture
def ingestor(db: Database) -> Iterator[Ingestor]:
    """An ingestor whose writer job is running, with the app's writer process."""
    process = writer_process(Settings(database_url=db.url.render_as_string(hide_password=False)))
    assert process is not None
    ingestor = Ingestor(db, model=default_model(), process=process)
    ingestor.open()
    yield ingestor
    ingestor.close()


def child(ingestor: Ingestor) -> WriterProcess:
    """The ingestor's writer process."""
    assert isinstance(ingestor.process, WriterProcess)
    return ingestor.process


def stored(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def view(uid: str, asset_id: int | None = None) -> events.AssetView:
    return events.AssetView(visitor_id=f"browser-{uid}", asset_id=asset_id, uid=uid)


def test_the_child_stores_a_loops_events_and_answers_once_committed(
    db: Database, ingestor: Ingestor
) -> None:
    asset = make_asset(db, slug="writer-process")
    answers: list[int] = []
    committed_when_answered: list[int] = []

    async def main() -> None:
        assert await child(ingestor).ready()

        async def one(uid: str) -> None:
            answers.append(await ingestor.record([view(uid, asset.id)]))
            committed_when_answered.append(stored(db))

        await asyncio.gather(*(one(f"u{i}") for i in range(30)))
        answers.append(await ingestor.record([view("u7", asset.id)]))  # sent again

    run_in_own_loop(main)
    assert answers == [1] * 30 + [0]
    assert min(committed_when_answered) >= 1  # an answer means its batch was committed
    assert stored(db) == 30
    assert ingestor.batches == 0  # none of them went the thread writer's way
    # The writer job's record counts what the process stored: 30 new, the resent one not.
    assert ingestor.write_pending(threading.Event()) == 30
    assert ingestor.write_pending(threading.Event()) == 0


def test_an_identified_readers_events_reach_the_leads_trail_and_scores(
    db: Database, ingestor: Ingestor
) -> None:
    """The child evaluates leads too: their rows name other tables (an account), so its ORM
    must know every model."""
    asset = make_asset(db, slug="writer-process-lead")
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "tove@example.com", utcnow())
        session.add(Visitor(id="browser-tove", lead_id=lead.id))
        lead_id = lead.id
    answers: list[int] = []

    async def main() -> None:
        assert await child(ingestor).ready()
        for uid in ("t1", "t2"):
            event = events.ReadProgress(
                visitor_id="browser-tove", asset_id=asset.id, uid=uid, seconds=20, depth=0.9
            )
            answers.append(await ingestor.record([event]))

    run_in_own_loop(main)
    assert answers == [1, 1]
    assert ingestor.batches == 0
    with db.read() as session:
        seconds = session.scalar(select(func.sum(Event.seconds)).where(Event.lead_id == lead_id))
        scored = session.get(Lead, lead_id)
        assert scored is not None
        engagement = scored.engagement
    assert seconds == 40
    assert engagement > 0


def test_a_failing_event_fails_its_own_request_only(db: Database, ingestor: Ingestor) -> None:
    asset = make_asset(db, slug="writer-process-failure")
    outcomes: list[int | str] = []

    async def main() -> None:
        assert await child(ingestor).ready()

        async def one(event: events.AssetView) -> None:
            try:
                outcomes.append(await ingestor.record([event]))
            except IngestError as error:
                outcomes.append(str(error))

        await asyncio.gather(
            one(view("good-1", asset.id)), one(view("bad", NO_ASSET)), one(view("good-2", asset.id))
        )

    run_in_own_loop(main)
    assert sorted(map(str, outcomes)) == ["1", "1", "the event could not be stored"]
    assert stored(db) == 2


def test_a_dead_child_fails_nothing_silently_and_is_replaced(
    db: Database, ingestor: Ingestor
) -> None:
    asset = make_asset(db, slug="writer-process-restart")
    process = child(ingestor)
    first_path = process.path

    async def connect() -> None:
        assert await process.ready()

    run_in_own_loop(connect)
    process._process.kill()
    process._process.wait()
    stopping = threading.Event()
    ingestor.write_pending(stopping)  # a child that died young is started again after 1 s
    assert not process.alive
    deadline = time.monotonic() + 5
    while not process.alive and time.monotonic() < deadline:
        ingestor.write_pending(stopping)  # the writer job's passes
    assert process.alive
    assert process.path != first_path
    answers: list[int] = []

    async def main() -> None:
        assert await process.ready()
        answers.append(await ingestor.record([view("after-restart", asset.id)]))

    run_in_own_loop(main)
    assert answers == [1]
    assert stored(db) == 1


def test_a_child_that_cannot_start_is_started_again_less_and_less_often() -> None:
    broken = WriterProcess(partial(Database, "nodatabase://here"), default_model)
    broken.start()
    started = set()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        broken.restart_if_dead()
        started.add(broken._process.pid)
        time.sleep(0.02)
    broken.stop()
    # Dead at once each time: started, then again after 1 s at the earliest, then 2 s later:
    # not on every pass of the job (about a hundred here).
    assert 1 <= len(started) <= 2


def test_a_child_gone_while_requests_wait_fails_them_with_a_retryable_error(
    db: Database, ingestor: Ingestor
) -> None:
    process = child(ingestor)
    failures: list[str] = []

    async def main() -> None:
        assert await process.ready()
        channel = process._channels[asyncio.get_running_loop()]
        waiter = channel._loop.create_future()
        channel._waiting[10_000] = waiter
        process._process.kill()
        try:
            await asyncio.wait_for(waiter, 10)
        except IngestError as error:
            failures.append(str(error))
        assert process.send([view("meanwhile")]) is None  # the caller writes it another way

    run_in_own_loop(main)
    assert failures == ["the event writer stopped; send it again"]


def test_closing_stores_and_answers_everything_the_child_was_sent(
    db: Database, ingestor: Ingestor
) -> None:
    asset = make_asset(db, slug="writer-process-stop")
    answers: list[int] = []

    async def main() -> None:
        assert await child(ingestor).ready()
        waiting = [ingestor.record([view(f"s{i}", asset.id)]) for i in range(20)]
        tasks = [asyncio.ensure_future(w) for w in waiting]
        await asyncio.sleep(0.01)  # handed over to the child, not answered yet (most of them)
        await asyncio.to_thread(ingestor.close)
        answers.extend(await asyncio.gather(*tasks))

    run_in_own_loop(main)
    assert answers == [1] * 20
    assert stored(db) == 20
    assert not child(ingestor).alive


def test_only_this_user_can_reach_the_socket(ingestor: Ingestor) -> None:
    process = child(ingestor)

    async def main() -> None:
        assert await process.ready()

    run_in_own_loop(main)
    assert process.path is not None
    folder = Path(process.path).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(os.stat(process.path).st_mode) == 0o600


def test_two_event_loops_each_get_their_own_connection(db: Database, ingestor: Ingestor) -> None:
    asset = make_asset(db, slug="writer-process-loops")
    process = child(ingestor)
    answers: list[int] = []

    def in_a_loop(prefix: str) -> None:
        async def main() -> None:
            assert await process.ready()
            answers.extend(
                await asyncio.gather(
                    *(ingestor.record([view(f"{prefix}{i}", asset.id)]) for i in range(10))
                )
            )
            await asyncio.sleep(0.2)  # both loops connected at once

        asyncio.run(main())

    threads = [threading.Thread(target=in_a_loop, args=(p,)) for p in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [1] * 20
    assert stored(db) == 20
    assert ingestor.batches == 0


def test_the_app_uses_a_writer_process_unless_told_not_to(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert isinstance(writer_process(settings), WriterProcess)
    assert writer_process(settings.with_overrides(event_writer_process=False)) is None
    assert (
        Settings.from_env({"LEADSHELF_EVENT_WRITER_PROCESS": "false"}).event_writer_process is False
    )
