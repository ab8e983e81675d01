"""A paced pass (the ``program-scheduler`` job's): due steps in batches sized to a time budget,
with a rest after each, so that the database's other writers (beacons) get in between; every
due lead is still mailed exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.programs.scheduler import Context, Pace, tick
from portal import program_jobs
from portal.db import Database
from tests.nurture.programs.driving import T0, add, mail, messages, program, save, subscriber
from tracking.rules.config import Model

START = T0 + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("size", "took", "expected"),
    [
        (10, 0.008, 5),  # took twice the budget: half as many
        (10, 0.002, 20),  # half the budget: twice as many
        (10, 0.0001, 20),  # very quick: at most doubled
        (10, 0.0, 20),  # too quick to time: doubled
        (300, 0.001, 500),  # never over the ceiling
        (1, 0.5, 1),  # never under one
        (40, 0.004, 40),  # on budget: as before
    ],
)
def test_the_next_batch_is_sized_to_the_budget(size: int, took: float, expected: int) -> None:
    assert Pace(budget=0.004).next_size(size, took, ceiling=500) == expected


def test_the_rest_after_a_batch_is_as_long_as_the_batch_times_the_rest_factor() -> None:
    assert Pace(budget=0.004).pause(0.003) == pytest.approx(0.003)
    assert Pace(budget=0.004, rest=0.5).pause(0.004) == pytest.approx(0.002)


def test_the_job_paces_sqlite_more_tightly_than_postgresql(db: Database) -> None:
    chosen = program_jobs.pace_for(db)
    assert chosen == (program_jobs.SQLITE_PACE if db.is_sqlite else program_jobs.POSTGRES_PACE)
    assert program_jobs.SQLITE_PACE.budget < program_jobs.POSTGRES_PACE.budget


def test_a_paced_pass_mails_every_due_lead_once_resting_between_its_batches(
    db: Database,
) -> None:
    welcome = save(db, program("Hello", [mail("m", "Hello")]))
    leads = [subscriber(db, f"reader{n}@example.com") for n in range(23)]
    add(db, welcome, leads, START - timedelta(minutes=1))
    rests: list[float] = []
    context = Context(stages=Model().stages, domain="example.com", default_language="en")
    done = tick(
        db.write,
        START,
        context,
        batch=500,
        pace=Pace(budget=1.0, first=4),  # a generous budget: sizes 4, 8, 16 (of 11 left)
        sleep=rests.append,
    )
    assert done.sent == 23
    assert sorted(message.lead_id for message in messages(db)) == sorted(leads)
    assert len(rests) == 2  # after the full batches of 4 and 8; the last (11 of 16) ends it
    assert all(rest > 0 for rest in rests)
