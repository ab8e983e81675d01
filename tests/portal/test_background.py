"""The background runner: passes, failures, stopping with a grace period, run_all_once, and the
locks that keep a singleton job in one process at a time."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar

from portal import jobs
from portal.background import Job, Runner, Scope
from portal.db import Database
from portal.job_locks import AdvisoryLocks, FileLocks, locks_for
from portal.settings import Settings, SettingsError


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class HeldElsewhere:
    """Another process holds every singleton lock."""

    def hold(self, name: str) -> bool:
        return False

    def release_all(self) -> None:
        return None


def test_each_job_makes_its_first_pass_at_once_then_waits_its_interval() -> None:
    """The old timer counted from machine boot and skipped the first pass on fresh machines."""
    passes: list[float] = []
    runner = Runner([Job("pruning", 3600, lambda _: passes.append(time.monotonic()))])
    started = time.monotonic()
    runner.start()
    try:
        assert wait_until(lambda: len(passes) == 1, timeout=2)
        time.sleep(0.2)
        assert len(passes) == 1  # the next one is an hour away
    finally:
        runner.stop()
    assert passes[0] - started < 1.0
    state = runner.state("pruning")
    assert state.passes == 1
    assert state.last_outcome == "nothing to do"
    assert state.last_started_at is not None
    assert state.last_finished_at is not None


def test_a_failing_job_is_recorded_retried_and_does_not_stop_the_others() -> None:
    attempts: list[int] = []
    ran: list[str] = []

    def flaky(_: threading.Event) -> str:
        attempts.append(1)
        if len(attempts) <= 3:
            raise ConnectionError("database restarting\nsecond line")
        return "7 leads re-scored"

    runner = Runner(
        [Job("rescoring", 0.01, flaky), Job("publishing", 0.01, lambda _: ran.append("p"))]
    )
    runner.start()
    try:
        assert wait_until(lambda: len(attempts) >= 5 and len(ran) >= 5)
    finally:
        runner.stop()
    state = runner.state("rescoring")
    assert state.failures == 0  # it succeeded later
    assert state.passes >= 5
    assert state.last_error is not None
    assert state.last_error.startswith(
        "ConnectionError: database restarting (at test_background.py:"
    )
    assert state.last_outcome == "7 leads re-scored"


def test_consecutive_failures_are_counted_until_a_pass_succeeds() -> None:
    outcomes = iter([RuntimeError("one"), RuntimeError("two"), "done", RuntimeError("three")])

    def job(_: threading.Event) -> object:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    runner = Runner([Job("flaky", 60, job)])
    assert runner.run_all_once()["flaky"].failures == 1
    assert runner.run_all_once()["flaky"].failures == 2
    assert runner.run_all_once()["flaky"].failures == 0
    state = runner.run_all_once()["flaky"]
    assert (state.failures, state.passes) == (1, 4)
    assert state.last_error is not None
    assert state.last_error.startswith("RuntimeError: three")


def test_run_all_once_runs_every_job_in_order_in_the_callers_thread() -> None:
    seen: list[tuple[str, str, bool]] = []

    def job(name: str) -> Callable[[threading.Event], str]:
        def run(stopping: threading.Event) -> str:
            seen.append((name, threading.current_thread().name, stopping.is_set()))
            return f"{name} done"

        return run

    runner = Runner([Job("first", 60, job("first")), Job("second", 0, job("second"))])
    states = runner.run_all_once()
    here = threading.current_thread().name
    # The stop event is set: a queue job writes what is waiting without waiting for more.
    assert seen == [("first", here, True), ("second", here, True)]
    assert [state.passes for state in states.values()] == [1, 1]
    assert runner.run_all_once(["second"])["second"].last_outcome == "second done"
    with pytest.raises(KeyError, match="no such job: third"):
        runner.run_all_once(["third"])


def test_a_continuous_job_counts_only_the_passes_that_did_something() -> None:
    """The event writer waits for events inside its pass: an idle wait is not a pass."""
    batches = iter([0, 0, 3, 0])
    runner = Runner([Job("event-writer", 0, lambda _: next(batches))])
    states = [runner.run_all_once()["event-writer"] for _ in range(4)]
    assert [state.passes for state in states] == [0, 0, 1, 1]
    assert states[-1].last_outcome == "3"


def test_a_singleton_held_by_another_process_is_skipped_and_says_why() -> None:
    ran: list[str] = []
    runner = Runner(
        [
            Job("publishing", 60, lambda _: ran.append("publishing"), Scope.SINGLETON),
            Job("search", 60, lambda _: ran.append("search"), Scope.NODE),
            Job("delivery", 60, lambda _: ran.append("delivery"), Scope.SHARED),
        ],
        locks=HeldElsewhere(),
    )
    states = runner.run_all_once()
    assert ran == ["search", "delivery"]
    assert states["publishing"].passes == 0
    assert states["publishing"].waiting == "another process runs it"


def test_stop_waits_for_the_pass_in_hand_within_the_grace_and_names_stragglers() -> None:
    finished: list[str] = []
    release = threading.Event()

    def polite(stopping: threading.Event) -> None:
        stopping.wait(5)  # a long pass that looks at the stop event
        finished.append("polite")

    def stubborn(_: threading.Event) -> None:
        release.wait(10)  # ignores the stop event

    on_stop: list[str] = []
    runner = Runner(
        [
            Job("polite", 60, polite, on_stop=lambda: on_stop.append("polite")),
            Job("stubborn", 60, stubborn, on_stop=lambda: on_stop.append("stubborn")),
        ],
        grace=0.5,
    )
    runner.start()
    time.sleep(0.1)
    started = time.monotonic()
    stragglers = runner.stop()
    took = time.monotonic() - started
    release.set()
    assert stragglers == ["stubborn"]
    assert finished == ["polite"]
    assert on_stop == ["polite"]  # a straggler's clean-up would race its own pass
    assert took < 2.0


def test_on_start_runs_before_the_jobs_thread() -> None:
    order: list[str] = []
    runner = Runner(
        [Job("writer", 0.05, lambda _: order.append("pass"), on_start=lambda: order.append("open"))]
    )
    runner.start()
    try:
        assert wait_until(lambda: "pass" in order)
    finally:
        runner.stop()
    assert order[0] == "open"


def test_two_jobs_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two jobs share a name: twin"):
        Runner([Job("twin", 1, lambda _: None), Job("twin", 2, lambda _: None)])


def test_the_sqlite_lock_file_lets_one_holder_at_a_time(tmp_path: Path) -> None:
    first, second = FileLocks(tmp_path / "x.db.jobs"), FileLocks(tmp_path / "x.db.jobs")
    assert first.hold("lead-figures")
    assert first.hold("lead-figures")  # already held
    assert not second.hold("lead-figures")
    assert second.hold("event-retention")  # another job's lock is free
    first.release_all()
    assert second.hold("lead-figures")
    second.release_all()


def test_the_locks_fit_the_database(db: Database) -> None:
    job = f"test-{uuid.uuid4().hex}"  # no app or server of another test holds it
    locks = locks_for(db)
    try:
        assert isinstance(locks, FileLocks if db.is_sqlite else AdvisoryLocks)
        assert locks.hold(job)
        second = Database(db.url.render_as_string(hide_password=False))
        other = locks_for(second)
        try:
            assert not other.hold(job)
            locks.release_all()  # the holder stops (or dies: its connection or file goes)
            # A closed PostgreSQL session lets go of its locks once its server process has
            # ended, a moment after the client closed it (longer on a busy machine).
            assert wait_until(lambda: other.hold(job), timeout=5)
        finally:
            other.release_all()
            second.dispose()
    finally:
        locks.release_all()


def test_a_lock_dies_with_its_holder(db: Database, tmp_path: Path) -> None:
    """A killed leader frees its singleton jobs: the kernel drops a dead process's lock file
    lock; PostgreSQL drops a session's advisory locks with its connection (and the old holder
    notices it lost them)."""
    job = f"test-{uuid.uuid4().hex}"
    if db.is_sqlite:
        prefix = tmp_path / "x.db.jobs"
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_AND_SLEEP, str(prefix), job], stdout=subprocess.PIPE
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == b"holding"
            locks = FileLocks(prefix)
            assert not locks.hold(job)
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.communicate(timeout=10)
        assert locks.hold(job)
        locks.release_all()
        return
    locks = AdvisoryLocks(db.engine)
    second = Database(db.url.render_as_string(hide_password=False))
    other = AdvisoryLocks(second.engine)
    try:
        assert locks.hold(job)
        connection = locks._connection
        assert connection is not None
        connection.invalidate()  # the database restarted, or a proxy dropped the connection
        assert other.hold(job)  # the lock went with the connection
        assert not locks.hold(job)  # and the old holder knows it lost it
    finally:
        locks.release_all()
        other.release_all()
        second.dispose()


HOLD_AND_SLEEP = """
import sys, time
from pathlib import Path
from portal.job_locks import FileLocks
assert FileLocks(Path(sys.argv[1])).hold(sys.argv[2])
print("holding", flush=True)
time.sleep(60)
"""


def test_job_intervals_can_be_set_by_name_and_unknown_names_are_refused() -> None:
    every = [Job("lead-figures", 600, lambda _: None), Job("search-index", 2, lambda _: None)]
    changed = jobs.with_intervals(
        every, Settings(job_intervals="lead-figures=30").interval_overrides()
    )
    assert [job.interval for job in changed] == [30, 2]
    with pytest.raises(SettingsError, match="no job named lead-figurs"):
        jobs.with_intervals(every, {"lead-figurs": 30})
    with pytest.raises(SettingsError, match="expected name=seconds"):
        Settings(job_intervals="lead-figures")
    with pytest.raises(SettingsError, match="expected name=seconds"):
        Settings(job_intervals="lead-figures=0")


def test_only_the_event_writer_and_the_search_index_pass_at_start_up(app: Litestar) -> None:
    waits = {job.name: job.first_after for job in app.state.runner.catalogue}
    assert {name for name, wait in waits.items() if wait == 0} == {"event-writer", "search-index"}
    assert {wait for wait in waits.values() if wait} == {jobs.SETTLE}
    assert len(waits) > 10  # every job of the app, publishing and mail sending among them
    assert waits["scheduled-publishing"] == waits["mail-sending"] == jobs.SETTLE


def test_web_processes_and_workers_split_the_jobs(settings: Settings) -> None:
    every = [
        Job("search-index", 2, lambda _: None, Scope.NODE),
        Job("lead-figures", 600, lambda _: None, Scope.SINGLETON),
        Job("webhook-delivery", 1, lambda _: None, Scope.SHARED),
    ]
    names = lambda chosen: [job.name for job in chosen]  # noqa: E731
    assert names(jobs.for_web(every, settings)) == [
        "search-index",
        "lead-figures",
        "webhook-delivery",
    ]
    web_only = Settings(data_dir=settings.data_dir, jobs_in_process=False)
    assert names(jobs.for_web(every, web_only)) == ["search-index"]
    no_outbox = Settings(data_dir=settings.data_dir, outbox_in_process=False)
    assert names(jobs.for_web(every, no_outbox)) == ["search-index", "lead-figures"]
    assert names(jobs.for_worker(every)) == ["lead-figures", "webhook-delivery"]


def test_a_job_may_wait_a_moment_after_start_up_and_a_stop_ends_the_wait() -> None:
    passes: list[float] = []
    runner = Runner([Job("lead-figures", 600, lambda _: passes.append(1), first_after=0.3)])
    runner.start()
    time.sleep(0.1)
    assert passes == []  # start-up is left to the requests
    assert wait_until(lambda: passes == [1], timeout=3)
    runner.stop()

    waiting = Runner([Job("lead-figures", 600, lambda _: passes.append(2), first_after=60)])
    waiting.start()
    started = time.monotonic()
    assert waiting.stop() == []
    assert time.monotonic() - started < 1.0
    assert 2 not in passes


def test_a_job_that_cannot_be_woken_is_still_stopped_and_so_are_the_others() -> None:
    seen: list[str] = []

    def cannot_wake() -> None:
        raise RuntimeError("the queue is gone")

    runner = Runner(
        [
            Job(
                "event-writer",
                600,
                lambda _: seen.append("writer pass"),
                on_stopping=cannot_wake,
                on_stop=lambda: seen.append("writer stopped"),
            ),
            Job(
                "search-index",
                600,
                lambda _: seen.append("index pass"),
                on_stop=lambda: seen.append("index stopped"),
            ),
        ]
    )
    runner.start()
    assert wait_until(lambda: {"writer pass", "index pass"} <= set(seen), timeout=5)
    assert runner.stop() == []
    assert {"writer stopped", "index stopped"} <= set(seen)


def test_a_pass_run_now_puts_the_threads_next_pass_an_interval_later() -> None:
    passes: list[str] = []
    runner = Runner(
        [Job("handoff-catch-up", 600, lambda _: passes.append("pass"), first_after=0.2)]
    )
    runner.run_all_once()
    runner.start()
    try:
        time.sleep(0.5)  # past first_after: the thread would have passed without the one above
    finally:
        runner.stop()
    assert passes == ["pass"]
