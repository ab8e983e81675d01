"""Batched reads (the gated asset page's unlock state, issue 19 §2), on SQLite and PostgreSQL:
requests asking at once share one worker-thread hop and each gets its own answer, an idle
request reads at once and sees what was committed before it asked, and a failing read fails
its own request alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
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
from tracking.models import IdentityClaim, Lead, Visitor

T = TypeVar("T")


def titles_of(session: Session, slugs: Sequence[str]) -> list[str]:
    """The assets' titles, in one statement (as the unlock states are read)."""
    rows = session.execute(select(Asset.slug, Asset.title).where(Asset.slug.in_(slugs)))
    found = {slug: title for slug, title in rows}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise LookupError(f"no asset {', '.join(missing)}")
    return [found[slug] for slug in slugs]


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
    reads: BatchedReads[str, str] = BatchedReads(db, titles_of)
    keys = [f"guide-{n % 12}" for n in range(30)]  # each asked for two or three times

    answers = gather(reads, keys)

    assert answers == [f"Guide {n % 12}" for n in range(30)]
    assert reads.hops == 1


def test_a_hop_reads_at_most_its_limit_and_the_rest_follow(db: Database) -> None:
    for n in range(5):
        make_asset(db, title=f"Guide {n}", slug=f"guide-{n}")
    reads: BatchedReads[str, str] = BatchedReads(db, titles_of, most=2)

    answers = gather(reads, [f"guide-{n}" for n in range(5)])

    assert answers == [f"Guide {n}" for n in range(5)]
    assert reads.hops == 3


def test_an_idle_request_reads_at_once_and_sees_what_was_committed_before(
    db: Database,
) -> None:
    make_asset(db, title="Old title", slug="guide")
    reads: BatchedReads[str, str] = BatchedReads(db, titles_of)

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
    reads: BatchedReads[str, str] = BatchedReads(db, titles_of)

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

    reads: BatchedReads[tuple[str, int], Unlocker | None] = BatchedReads(db, unlocks.unlockers)
    keys = [("v-lead" if n % 2 else "v-other", gated.id) for n in range(10)]

    answers = gather(reads, keys)

    assert answers == [Unlocker(lead_id=lead_id) if n % 2 else None for n in range(10)]
    assert reads.hops == 1


def test_two_event_loops_asking_at_once_each_get_their_answers(db: Database) -> None:
    """Each web process has one loop; tests (and a second test client) may run two at once."""
    for n in range(6):
        make_asset(db, title=f"Guide {n}", slug=f"guide-{n}")
    reads: BatchedReads[str, str] = BatchedReads(db, titles_of)
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


def test_many_browsers_unlock_states_read_together_are_each_their_own(db: Database) -> None:
    """``unlockers`` answers a whole batch in three statements: its lead's unlock, else its own
    claim, else locked, per browser and asset, as ``unlocker`` does one at a time."""
    pricing = make_asset(db, title="Pricing", slug="pricing", gate="gated")
    roadmap = make_asset(db, title="Roadmap", slug="roadmap", gate="gated")
    with db.write() as session:
        ada, bob = Lead(email="ada@example.com"), Lead(email="bob@example.com")
        session.add_all([ada, bob])
        session.flush()
        session.add_all(
            [
                Visitor(id="ada-laptop", lead_id=ada.id),
                Visitor(id="ada-old", lead_id=ada.id, retired_at=datetime.now(UTC)),
                Visitor(id="bob-phone", lead_id=bob.id),
                Visitor(id="anonymous"),
            ]
        )
        session.flush()
        unlocks.unlock(session, ada.id, pricing.id)
        session.add(IdentityClaim(visitor_id="bob-phone", lead_id=bob.id, asset_id=roadmap.id))
        ada_id = ada.id
    asked: list[tuple[str | None, int]] = [
        ("ada-laptop", pricing.id),  # her lead unlocked it
        ("ada-laptop", roadmap.id),  # not this one
        ("ada-old", pricing.id),  # a retired browser holds nothing
        ("bob-phone", roadmap.id),  # his own claim
        ("bob-phone", pricing.id),  # Ada's unlock is not his
        ("anonymous", pricing.id),
        ("never-seen", pricing.id),
        (None, pricing.id),
    ]
    with db.read() as session:
        together = unlocks.unlockers(session, asked)
        alone = [unlocks.unlocker(session, visitor, asset) for visitor, asset in asked]
    assert together == [
        Unlocker(lead_id=ada_id),
        None,
        None,
        Unlocker(visitor_id="bob-phone"),
        None,
        None,
        None,
        None,
    ]
    assert alone == together


def test_a_read_that_answers_too_few_values_fails_its_requests_without_stopping(
    db: Database,
) -> None:
    make_asset(db, title="Guide", slug="guide")
    reads: BatchedReads[str, str] = BatchedReads(db, lambda session, slugs: [])

    answers = gather(reads, ["guide", "guide-2"])

    assert [str(answer) for answer in answers] == ["2 keys read as 0 values"] * 2
    # the reader is not stuck: the next request is read (and fails) the same way
    assert [str(answer) for answer in gather(reads, ["guide"])] == ["1 keys read as 0 values"]
