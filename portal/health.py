"""Whether the background jobs are healthy: a pure verdict over what they recorded.

A job is **failing** when its last ``FAILING_AFTER`` passes failed, **behind**
when its backlog says so (the search index has not applied a change for
minutes, a due webhook was not sent …), and **stale** when a job that some
process must run (a singleton or shared one) has not finished a pass for
``STALE_AFTER_INTERVALS`` intervals (at least ``STALE_AFTER_AT_LEAST``):
typically every web process runs ``--no-jobs`` and no ``leadshelf worker``
is up. Any of these makes the whole ``degraded``, with the reasons in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from portal.background import Backlog, Job, JobState, Scope

FAILING_AFTER = 3
STALE_AFTER_INTERVALS = 3
STALE_AFTER_AT_LEAST = timedelta(minutes=5)
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class JobView:
    """One job as the operator sees it: its latest state anywhere, and what is wrong."""

    job: Job
    state: JobState | None
    """This process's state when it runs the job, else the freshest recorded one."""
    here: bool
    """Whether this process runs the job."""
    backlog: Backlog | None
    problem: str | None
    status: str
    """``ok``, ``failing``, ``behind``, ``stale``, ``waiting`` (another process holds it),
    ``starting`` (no pass yet) or ``elsewhere`` (run by other processes only)."""


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    """``ok`` or ``degraded``."""
    reasons: list[str]
    jobs: list[JobView]

    def document(self) -> dict[str, object]:
        """The ``/healthz`` body (CONTRACT.md): status, reasons and one entry per job."""
        return {
            "status": self.status,
            "database": "ok",
            "reasons": self.reasons,
            "jobs": {view.job.name: _job_document(view) for view in self.jobs},
        }


def assess(
    jobs: Sequence[Job],
    local: Mapping[str, JobState],
    recorded: Iterable[JobState],
    backlogs: Mapping[str, Backlog],
    *,
    now: datetime,
    up_since: datetime,
) -> Health:
    """The verdict over every job: ``local`` are this process's states (of the jobs it runs),
    ``recorded`` the states every process stored, ``backlogs`` the probes that answered."""
    freshest: dict[str, JobState] = {}
    for record in recorded:
        best = freshest.get(record.name)
        if best is None or _finished(record) > _finished(best):
            freshest[record.name] = record
    views = []
    for job in jobs:
        here = job.name in local
        state = local.get(job.name) if here else freshest.get(job.name)
        if here and state is not None and state.waiting and job.name in freshest:
            state = _with_waiting(freshest[job.name], state.waiting)
        backlog = backlogs.get(job.name)
        status, problem = _judge(job, state, here, backlog, now=now, up_since=up_since)
        views.append(JobView(job, state, here, backlog, problem, status))
    reasons = [view.problem for view in views if view.problem]
    return Health("degraded" if reasons else "ok", reasons, views)


def _judge(
    job: Job,
    state: JobState | None,
    here: bool,
    backlog: Backlog | None,
    *,
    now: datetime,
    up_since: datetime,
) -> tuple[str, str | None]:
    if state is not None and state.failures >= FAILING_AFTER:
        return "failing", f"{job.name} failed {state.failures} times in a row: {state.last_error}"
    if backlog is not None and backlog.behind:
        return "behind", f"{job.name} is behind: {backlog.summary}"
    limit = max(timedelta(seconds=job.interval * STALE_AFTER_INTERVALS), STALE_AFTER_AT_LEAST)
    finished = state.last_finished_at if state is not None else None
    must_run_somewhere = job.scope is not Scope.NODE
    if (
        must_run_somewhere
        and now - up_since > limit
        and (finished is None or now - finished > limit)
    ):
        when = "has never run" if finished is None else f"has not run since {_iso(finished)}"
        where = "" if here else " (no process here runs it: is `leadshelf worker` running?)"
        return "stale", f"{job.name} {when}{where}"
    if state is not None and state.waiting:
        return "waiting", None
    if state is None or state.passes == 0:
        return ("starting" if here else "elsewhere"), None
    return "ok", None


def _job_document(view: JobView) -> dict[str, object]:
    state = view.state
    return {
        "status": view.status,
        "scope": view.job.scope.value,
        "interval_seconds": view.job.interval,
        "runs_here": view.here,
        "node": state.node if state is not None else None,
        "passes": state.passes if state is not None else 0,
        "last_run": _iso(state.last_finished_at) if state is not None else None,
        "last_duration_ms": (
            round(state.last_duration * 1000, 1)
            if state is not None and state.last_duration is not None
            else None
        ),
        "failures": state.failures if state is not None else 0,
        "last_error": state.last_error if state is not None else None,
        "backlog": view.backlog.summary if view.backlog is not None else None,
        "problem": view.problem,
    }


def _with_waiting(state: JobState, waiting: str) -> JobState:
    """The holder's recorded state, marked as waiting here."""
    return replace(state, waiting=waiting)


def _finished(state: JobState) -> datetime:
    return state.last_finished_at or NEVER


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None
