"""Batched reads (the gated asset page's unlock state, issue 19 §2), on SQLite and PostgreSQL:
requests asking at once share one worker-thread hop and each gets its own answer, an idle
request reads at once and sees what was committed before it asked, and a failing read fails
its own request alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Asset
from portal.batched import BatchedReads
from portal.db import Database
from tests.factories import make_asset
from tests.support import run_in_own_loop
from tracking.identity import unlocks
from tracking.identity.unlocks import Unlocker
from tracking.models import Lead, Visitor

T = TypeVar("T")


def title_of(session: Session, slug: str) -> str:
    title = session.scalar(select(Asset.title).where(Asset.slug == slug))
    if title is None:
        raise LookupError(f"no asset {slug}")
    return title


def in_own_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``main()``'s result, run in an event loop of its own (as a web process runs its own;
    an earlier browser test may have left this thread's loop running)."""
    results: list[T] = []

    async def run() -> None:
        results.append(await main())

    run_in_own_loop(run)
    return results[0]


def gather(reads: BatchedReads[Any, Any], keys: list[Any]) -> list[Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*(reads.get(key) for key in keys), return_exceptions=True)

    return in_own_loop(main)


def test_requests_asking_at_once_share_one_hop_and_each_gets_its_own_answer(
    db: Database,
) -> None:
    for n in range(12):
        make_asset(db, title=f"Guide {n}", slug=f"guide-{n}")
    reads: BatchedReads[str, str] = BatchedReads(db, title_of)
    keys = [f"guide-{n % 12}" for n in range(30)]  # each asked for two or three times

    answers = gather(reads, keys)

    assert answers == [f"Guide {n % 12}" for n in range(30)]
    assert reads.hops == 1


def test_a_hop_reads_at_most_its_limit_and_the_rest_follow(db: Database) -> None:
    for n in range(5):
        make_asset(db, title=f"Guide {n}", slug=f"guide-{n}")
    reads: BatchedReads[str, str] = BatchedReads(db, title_of, most=2)

    answers = gather(reads, [f"guide-{n}" for n in range(5)])

    assert answers == [f"Guide {n}" for n in range(5)]
    assert reads.hops == 3


def test_an_idle_request_reads_at_once_and_sees_what_was_committed_before(
    db: Database,
) -> None:
    make_asset(db, title="Old title", slug="guide")
    reads: BatchedReads[str, str] = BatchedReads(db, title_of)

    async def main() -> tuple[str, str]:
        before = await reads.get("guide")
        with db.write() as session:
            asset = session.scalars(select(Asset).where(Asset.slug == "guide")).one()
            asset.title = "New title"
        return before, await reads.get("guide")

    assert in_own_loop(main) == ("Old title", "New title")
    assert reads.hops == 2


def test_a_failing_read_fails_its_own_request_alone(db: Database) -> None:
    make_asset(db, title="Guide", slug="guide")
    reads: BatchedReads[str, str] = BatchedReads(db, title_of)

    answers = gather(reads, ["guide", "missing", "guide"])

    assert answers[0] == answers[2] == "Guide"
    assert isinstance(answers[1], LookupError)
    assert str(answers[1]) == "no asset missing"


def test_each_browser_asking_at_once_gets_its_own_unlock_state(db: Database) -> None:
    gated = make_asset(db, title="Pricing", slug="pricing", gate="gated")
    with db.write() as session:
        lead = Lead(email="ada@example.com")
        session.add(lead)
        session.flush()
        session.add_all([Visitor(id="v-lead", lead_id=lead.id), Visitor(id="v-other")])
        session.flush()
        unlocks.unlock(session, lead.id, gated.id)
        lead_id = lead.id

    def unlocker(session: Session, key: tuple[str, int]) -> Unlocker | None:
        return unlocks.unlocker(session, *key)

    reads: BatchedReads[tuple[str, int], Unlocker | None] = BatchedReads(db, unlocker)
    keys = [("v-lead" if n % 2 else "v-other", gated.id) for n in range(10)]

    answers = gather(reads, keys)

    assert answers == [Unlocker(lead_id=lead_id) if n % 2 else None for n in range(10)]
    assert reads.hops == 1


def test_two_event_loops_asking_at_once_each_get_their_answers(db: Database) -> None:
    """Each web process has one loop; tests (and a second test client) may run two at once."""
    for n in range(6):
        make_asset(db, title=f"Guide {n}", slug=f"guide-{n}")
    reads: BatchedReads[str, str] = BatchedReads(db, title_of)
    both_asking = threading.Barrier(2)
    answers: dict[int, list[Any]] = {}

    def loop_asking(which: int) -> None:
        async def main() -> list[Any]:
            both_asking.wait()
            return await asyncio.gather(*(reads.get(f"guide-{n}") for n in range(6)))

        answers[which] = asyncio.run(main())

    threads = [threading.Thread(target=loop_asking, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == {n: [f"Guide {k}" for k in range(6)] for n in range(2)}
