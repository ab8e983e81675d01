"""The background runner: every periodic and queue duty of a process, as named jobs.

A ``Job`` is a name, an interval and a function its own package exposes; the
composition root (``portal.jobs``) lists them. One ``Runner`` starts a thread
per job after start-up, stops them all with one stop event and a grace period
(naming the jobs still running when it runs out), and records each job's
passes, last run, duration, outcome and error. ``run_all_once()`` runs every
job once, in order, in the caller's thread: tests and ``leadshelf worker
--once`` use it instead of waiting for threads.

Scopes say where a job may run when several processes or nodes share a
database (DESIGN.md, "Background work"):

- ``NODE`` runs in every process: it keeps that process's own state current
  (its search index folder, its in-memory caches, its event writer).
- ``SINGLETON`` runs in one process at a time: the runner holds a lock for it
  (a PostgreSQL advisory lock, a lock file on SQLite) for as long as it lives;
  the others retry every interval and take over when the holder dies.
- ``SHARED`` runs everywhere and shares the work through claims in the
  database (``SKIP LOCKED`` or claim columns).

A failing pass is logged and recorded; the job tries again after its
interval. Passes of one job never overlap.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from content.orm import utcnow

logger = logging.getLogger("leadshelf.background")

GRACE_SECONDS = 30.0
"""How long ``stop`` waits, in all, for passes in hand to finish."""


class Scope(enum.Enum):
    NODE = "node"
    SINGLETON = "singleton"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class Job:
    """One duty. ``run`` does one pass; it gets the runner's stop event, which a long pass
    checks between steps (a queue job waits on it instead of sleeping)."""

    name: str
    interval: float
    """Seconds between the end of one pass and the start of the next (0: back to back, for a
    job that waits inside its pass, like the event writer)."""
    run: Callable[[threading.Event], object]
    scope: Scope = Scope.NODE
    backlog: Callable[[], Backlog] | None = None
    """What is waiting for the job (shown on /console/system; too far behind → degraded)."""
    first_after: float = 0.0
    """Seconds after start-up before the first pass: slow housekeeping waits a moment, so a
    process answers its first requests without it (a stop during the wait ends it at once)."""
    on_start: Callable[[], None] | None = None
    """Called before the job's thread starts (e.g. start queueing for it)."""
    on_stop: Callable[[], None] | None = None
    """Called once the job's thread has ended (e.g. write what is still queued)."""
    on_stopping: Callable[[], None] | None = None
    """Called as the runner stops, before it waits for the job's thread: wakes a pass that
    waits for work on something other than the stop event (the event writer's queue)."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Backlog:
    """Work waiting for a job: ``summary`` in words, ``behind`` when it waits too long."""

    summary: str
    behind: bool = False


def when(moment: datetime | None) -> str:
    """A moment as a backlog summary shows it."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "unknown"


def older_than(moment: datetime | None, age: timedelta) -> bool:
    """Whether work waiting since ``moment`` has waited longer than ``age`` (a backlog behind)."""
    return moment is not None and utcnow() - moment > age


@dataclass(frozen=True, slots=True)
class JobState:
    """What a job did in this process (or, read from the database, in whichever ran it)."""

    name: str
    scope: Scope
    interval: float
    node: str
    passes: int = 0
    failures: int = 0
    """Failed passes in a row (0 after a pass that succeeds)."""
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None
    last_duration: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    running: bool = False
    waiting: str | None = None
    """Why the job is not running here (another process holds its lock)."""


class SingletonLocks(Protocol):
    """What the runner needs of ``portal.job_locks``: ``hold(name)`` is True while this process
    may run the singleton job ``name`` (taking the lock if it is free), ``release_all`` lets go."""

    def hold(self, name: str) -> bool: ...

    def release_all(self) -> None: ...


class ProcessLocal:
    """No other process to share with (an in-memory SQLite database): every lock is free."""

    def hold(self, name: str) -> bool:
        return True

    def release_all(self) -> None:
        return None


def this_node() -> str:
    """Host and process id, as the job records and log lines name the process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(slots=True)
class _Slot:
    job: Job
    state: JobState
    thread: threading.Thread | None = None
    guard: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    """Monotonic time of the thread's next pass (a pass from ``run_all_once`` pushes it)."""


class Runner:
    """Runs jobs on threads (``start``/``stop``) or once each (``run_all_once``).

    ``record`` (optional) is called with a job's state after each pass, from the
    job's thread: the composition root stores it for /console/system.
    """

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        locks: SingletonLocks | None = None,
        record: Callable[[JobState], None] | None = None,
        grace: float = GRACE_SECONDS,
        node: str | None = None,
        stopping: threading.Event | None = None,
        catalogue: Sequence[Job] = (),
    ) -> None:
        names = [job.name for job in jobs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two jobs share a name: {', '.join(duplicates)}")
        self.node = node or this_node()
        self.locks = locks or ProcessLocal()
        self.record = record
        self.grace = grace
        self.catalogue = list(catalogue) or list(jobs)
        """Every job of the app, also those other processes run (for status pages)."""
        self.started_at: datetime | None = None
        self.stopping = stopping or threading.Event()
        """Set by ``stop``; jobs that loop inside a pass may share it (given here)."""
        self._slots = {
            job.name: _Slot(job, JobState(job.name, job.scope, job.interval, self.node))
            for job in jobs
        }

    @property
    def jobs(self) -> list[Job]:
        return [slot.job for slot in self._slots.values()]

    def states(self) -> list[JobState]:
        """Every job's state in this process, in the order the jobs were listed."""
        return [slot.state for slot in self._slots.values()]

    def state(self, name: str) -> JobState:
        return self._slots[name].state

    # -- running -------------------------------------------------------------------------

    def start(self) -> None:
        """Start every job on its own daemon thread; each makes its first pass at once, or
        ``first_after`` seconds later."""
        self.stopping.clear()
        self.started_at = utcnow()
        for slot in self._slots.values():
            if slot.thread is not None and slot.thread.is_alive():
                continue
            if slot.job.on_start is not None:
                slot.job.on_start()
            slot.thread = threading.Thread(
                target=self._loop, args=(slot,), name=f"leadshelf-job-{slot.job.name}", daemon=True
            )
            slot.thread.start()

    def stop(self) -> list[str]:
        """Ask every job to stop and wait up to the grace period, in all, for passes in hand.

        Returns (and logs) the names of the jobs still running when the grace ran out; their
        threads are daemons and die with the process.
        """
        self.stopping.set()
        for slot in self._slots.values():
            if slot.thread is not None and slot.job.on_stopping is not None:
                try:
                    slot.job.on_stopping()
                except Exception:  # the others are still stopped and waited for
                    logger.exception("background job %r could not be woken to stop", slot.job.name)
        deadline = time.monotonic() + self.grace
        stragglers = []
        for slot in self._slots.values():
            if slot.thread is None:
                continue
            slot.thread.join(max(0.0, deadline - time.monotonic()))
            if slot.thread.is_alive():
                stragglers.append(slot.job.name)
                continue
            slot.thread = None
            self._after_stop(slot.job)
        if stragglers:
            logger.warning(
                "background jobs still running after %.0f s, left behind: %s",
                self.grace,
                ", ".join(stragglers),
            )
        self.locks.release_all()
        return stragglers

    def run_all_once(self, names: Iterable[str] | None = None) -> dict[str, JobState]:
        """One pass of each job (or of those named), in order, in this thread.

        A singleton whose lock another process holds is skipped (its state says so). The stop
        event is set while the passes run, so a queue job writes what is waiting without
        waiting for more. A job's thread makes its next pass an interval after this one (a
        test that runs the housekeeping now is not surprised by it a moment later). Returns
        the states after the passes.
        """
        wanted = list(self._slots) if names is None else list(names)
        unknown = [name for name in wanted if name not in self._slots]
        if unknown:
            raise KeyError(f"no such job: {', '.join(unknown)}")
        once = threading.Event()
        once.set()
        for name in wanted:
            self._pass(self._slots[name], once)
        return {name: self._slots[name].state for name in wanted}

    def _after_stop(self, job: Job) -> None:
        if job.on_stop is None:
            return
        try:
            job.on_stop()
        except Exception:
            logger.exception("background job %r failed to stop cleanly", job.name)

    def _loop(self, slot: _Slot) -> None:
        slot.next_at = max(slot.next_at, time.monotonic() + slot.job.first_after)
        while not self.stopping.is_set():
            wait = slot.next_at - time.monotonic()
            if wait > 0:
                self.stopping.wait(wait)
                continue  # look again: a pass from run_all_once may have pushed the next one
            self._pass(slot, self.stopping)

    def _pass(self, slot: _Slot, stopping: threading.Event) -> None:
        job = slot.job
        if job.scope is Scope.SINGLETON and not self._holds(job.name):
            self._set(slot, running=False, waiting="another process runs it")
            slot.next_at = time.monotonic() + job.interval
            return
        with slot.guard:  # passes of one job never overlap (run_all_once beside the thread)
            started_at, started = utcnow(), time.monotonic()
            slot.next_at = started + job.interval  # wherever the pass runs, the next waits
            continuous = job.interval == 0
            if not continuous:
                self._set(slot, running=True, waiting=None, last_started_at=started_at)
            try:
                outcome = job.run(stopping)
            except Exception as exc:
                logger.exception("background job %r failed", job.name)
                state = self._set(
                    slot,
                    running=False,
                    last_started_at=started_at,
                    passes=slot.state.passes + 1,
                    failures=slot.state.failures + 1,
                    last_finished_at=utcnow(),
                    last_duration=time.monotonic() - started,
                    last_error=_error_text(exc),
                    last_error_at=utcnow(),
                )
            else:
                if continuous and _outcome_text(outcome) == NOTHING:
                    return  # a continuous job's idle wait is not a pass
                state = self._set(
                    slot,
                    running=False,
                    waiting=None,
                    last_started_at=started_at,
                    passes=slot.state.passes + 1,
                    failures=0,
                    last_finished_at=utcnow(),
                    last_duration=time.monotonic() - started,
                    last_outcome=_outcome_text(outcome),
                )
        if self.record is not None:
            try:
                self.record(state)
            except Exception:
                logger.exception("could not record the state of background job %r", job.name)

    def _holds(self, name: str) -> bool:
        try:
            return self.locks.hold(name)
        except Exception:
            logger.exception("could not take the lock of background job %r", name)
            return False

    def _set(self, slot: _Slot, **changes: object) -> JobState:
        slot.state = replace(slot.state, **changes)  # type: ignore[arg-type]
        return slot.state


NOTHING = "nothing to do"


def _outcome_text(outcome: object) -> str:
    """What a pass returned, in words."""
    if outcome is None or outcome == 0 or outcome == "" or outcome == []:
        return NOTHING
    return str(outcome)[:200]


def _error_text(exc: BaseException) -> str:
    """The error as one line an operator can act on, with where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    lines = str(exc).strip().splitlines()
    message = f": {lines[0]}" if lines else ""
    return f"{type(exc).__name__}{message}{where}"[:500]
