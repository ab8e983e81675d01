"""How the background jobs are doing: ``/console/system`` for admins, ``/healthz`` for monitors."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from content.orm import utcnow
from portal import job_records
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.background import Backlog, Runner
from portal.console_nav import SYSTEM
from portal.db import Database
from portal.health import Health, assess
from portal.routes.console import console_page

logger = logging.getLogger("leadshelf.background")

HEALTH_FRESH_FOR = 2.0
"""Seconds a computed verdict answers ``/healthz`` (monitors may poll it many times a second)."""


def current_health(database: Database, runner: Runner) -> Health:
    """The jobs' verdict now: this process's states, every process's records, the backlogs."""
    with database.read() as session:
        recorded = job_records.recorded(session)
    backlogs: dict[str, Backlog] = {}
    for job in runner.catalogue:
        if job.backlog is None:
            continue
        try:
            backlogs[job.name] = job.backlog()
        except Exception:
            logger.exception("could not measure the backlog of background job %r", job.name)
    now = utcnow()
    return assess(
        runner.catalogue,
        {state.name: state for state in runner.states()},
        recorded,
        backlogs,
        now=now,
        up_since=runner.started_at or now,
    )


class HealthCache:
    """The last verdict, reused for ``HEALTH_FRESH_FOR`` seconds."""

    def __init__(self) -> None:
        self._value: tuple[float, Health] | None = None
        self._guard = threading.Lock()

    def get(self, database: Database, runner: Runner) -> Health:
        with self._guard:
            if self._value is not None and time.monotonic() - self._value[0] < HEALTH_FRESH_FOR:
                return self._value[1]
            health = current_health(database, runner)
            self._value = (time.monotonic(), health)
            return health


class SystemController(Controller):
    """Admins see every job: last run, duration, outcome, error, where it runs, its backlog."""

    path = SYSTEM.url
    guards = [requires_role(*SYSTEM.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def jobs(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        runner: NamedDependency[Runner],
    ) -> Template:
        health = current_health(database, runner)
        with database.read() as session:
            recorded = job_records.recorded(session)
        return console_page(
            request,
            "console/system.html",
            health=health,
            recorded=recorded,
            node=runner.node,
            now=utcnow(),
        )
