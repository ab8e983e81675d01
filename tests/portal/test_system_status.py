"""What operators see of the background jobs: /healthz (ok or degraded, with reasons),
/console/system (admins only) and ``leadshelf worker --once``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient

from portal import jobs
from portal.accounts.models import Role
from portal.background import Backlog, Job, JobState, Scope
from portal.cli import main
from portal.db import Database
from portal.health import FAILING_AFTER, assess
from tests.support import TEST_SECRET_KEYS, StaffActions, html

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LONG_UP = NOW - timedelta(hours=1)


def state(name: str, scope: Scope = Scope.SINGLETON, **changes: object) -> JobState:
    values: dict[str, object] = {
        "passes": 5,
        "last_started_at": NOW - timedelta(seconds=30),
        "last_finished_at": NOW - timedelta(seconds=29),
        "last_duration": 1.0,
    }
    values.update(changes)
    return JobState(name, scope, 60, "web-1:100", **values)  # type: ignore[arg-type]


def job(name: str, scope: Scope = Scope.SINGLETON, interval: float = 60) -> Job:
    return Job(name, interval, lambda _: None, scope)


# -- the verdict (pure) -------------------------------------------------------------------


def test_healthy_jobs_make_an_ok_verdict() -> None:
    health = assess(
        [job("lead-figures"), job("search-index", Scope.NODE, 2)],
        {"lead-figures": state("lead-figures"), "search-index": state("search-index", Scope.NODE)},
        [],
        {"search-index": Backlog("up to date")},
        now=NOW,
        up_since=LONG_UP,
    )
    assert (health.status, health.reasons) == ("ok", [])
    assert [view.status for view in health.jobs] == ["ok", "ok"]


def test_a_job_failing_again_and_again_degrades_with_its_error() -> None:
    failing = state("scheduled-publishing", failures=FAILING_AFTER, last_error="OSError: disk full")
    once = state("lead-figures", failures=FAILING_AFTER - 1, last_error="OSError: blip")
    health = assess(
        [job("scheduled-publishing"), job("lead-figures")],
        {"scheduled-publishing": failing, "lead-figures": once},
        [],
        {},
        now=NOW,
        up_since=LONG_UP,
    )
    assert health.status == "degraded"
    assert health.reasons == [
        "scheduled-publishing failed 3 times in a row: OSError: disk full"
    ]  # one or two failures are retried quietly


def test_a_backlog_beyond_its_threshold_degrades() -> None:
    health = assess(
        [job("search-index", Scope.NODE, 2)],
        {"search-index": state("search-index", Scope.NODE)},
        [],
        {"search-index": Backlog("12 change(s) waiting since 11:40", behind=True)},
        now=NOW,
        up_since=LONG_UP,
    )
    assert health.reasons == ["search-index is behind: 12 change(s) waiting since 11:40"]
    assert health.jobs[0].status == "behind"


def test_a_singleton_nobody_runs_is_stale_but_not_right_after_start_up() -> None:
    """Web processes with --no-jobs and no worker: nothing publishes, re-scores or prunes."""
    every = [job("lead-figures", interval=600), job("search-index", Scope.NODE, 2)]
    local = {"search-index": state("search-index", Scope.NODE)}
    fresh = assess(every, local, [], {}, now=NOW, up_since=NOW - timedelta(minutes=1))
    assert fresh.status == "ok"
    assert fresh.jobs[0].status == "elsewhere"

    late = assess(every, local, [], {}, now=NOW, up_since=NOW - timedelta(hours=2))
    assert late.reasons == [
        "lead-figures has never run (no process here runs it: is `leadshelf worker` running?)"
    ]

    old = state("lead-figures", last_finished_at=NOW - timedelta(hours=1))
    recorded_long_ago = assess(every, local, [old], {}, now=NOW, up_since=LONG_UP)
    assert recorded_long_ago.jobs[0].status == "stale"
    assert "has not run since 2026-12-05T11:00:00+00:00" in recorded_long_ago.reasons[0]


def test_a_singleton_another_process_runs_shows_that_processs_record() -> None:
    mine = state("lead-figures", passes=0, waiting="another process runs it")
    theirs = state("lead-figures", passes=40)
    health = assess(
        [job("lead-figures")], {"lead-figures": mine}, [theirs], {}, now=NOW, up_since=LONG_UP
    )
    (view,) = health.jobs
    assert view.status == "waiting"
    assert view.state is not None
    assert view.state.passes == 40
    assert health.status == "ok"


# -- /healthz and /console/system on the app --------------------------------------------


def test_healthz_lists_every_job(client: TestClient[Litestar]) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert set(body["jobs"]) >= {
        "event-writer",
        "search-index",
        "scheduled-publishing",
        "quiet-lead-rescoring",
        "deal-recycling",
        "lead-figures",
        "account-figures",
        "handoff-catch-up",
        "event-partitions",
        "event-retention",
        "rate-limit-pruning",
        "webhook-delivery",
        "delivery-pruning",
        "pdf-text",
        "dashboard-snapshots",
        "recommendation-audience",
    }
    assert body["jobs"]["search-index"]["scope"] == "node"
    assert body["jobs"]["lead-figures"]["scope"] == "singleton"


def test_healthz_is_degraded_while_a_job_keeps_failing(
    client: TestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: object) -> list[str]:
        raise RuntimeError("scheduler lost its clock")

    monkeypatch.setattr(jobs, "publish_due", broken)
    runner = client.app.state.runner
    for _ in range(FAILING_AFTER):
        runner.run_all_once(["scheduled-publishing"])

    response = client.get("/healthz")

    assert response.status_code == 200  # the node still serves pages: only a monitor should act
    body = response.json()
    assert body["status"] == "degraded"
    assert body["jobs"]["scheduled-publishing"]["status"] == "failing"
    (reason,) = body["reasons"]
    assert reason.startswith("scheduled-publishing failed ")
    assert "RuntimeError: scheduler lost its clock" in reason


def test_admins_see_the_jobs_page_with_each_jobs_last_run_and_error(
    client: TestClient[Litestar], staff: StaffActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: object) -> int:
        raise RuntimeError("retention table missing")

    monkeypatch.setattr(jobs, "delete_expired_events", lambda *args: broken(None))
    client.app.state.runner.run_all_once(["event-retention", "lead-figures"])
    staff.sign_in_as(Role.ADMIN)

    page = client.get("/console/system")

    assert page.status_code == 200
    tree = html(page.text)
    rows = {row.attributes["data-job"]: row for row in tree.css("tr.job-row")}
    assert "lead-figures" in rows
    assert "event-retention" in rows
    assert rows["lead-figures"].attributes["data-status"] == "ok"
    assert "retention table missing" in rows["event-retention"].text()
    assert "Background jobs" in tree.css_first("h1").text()


@pytest.mark.parametrize("role", [Role.MARKETER, Role.EDITOR])
def test_only_admins_see_the_jobs_page(
    client: TestClient[Litestar], staff: StaffActions, role: Role
) -> None:
    staff.sign_in_as(role)
    assert client.get("/console/system").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient[Litestar]) -> None:
    response = client.get("/console/system", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert "/console/login" in response.headers["location"]


# -- leadshelf worker --once ---------------------------------------------------------------


def test_worker_once_runs_each_shared_job_once_and_says_what_it_did(
    db: Database, tmp_path: Path
) -> None:
    env = {
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
    }
    result = CliRunner().invoke(main, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    said = dict(line.split(": ", 1) for line in result.output.strip().splitlines())
    assert set(said) == {
        "scheduled-publishing",
        "pdf-text",
        "quiet-lead-rescoring",
        "deal-recycling",
        "lead-figures",
        "account-figures",
        "handoff-catch-up",
        "event-partitions",
        "event-retention",
        "rate-limit-pruning",
        "webhook-delivery",
        "mail-sending",
        "webinar-mail",
        "program-scheduler",
        "attribution",
        "content-intelligence",
        "delivery-pruning",
        "recommendation-audience",
    }  # no search index, caches or event writer: the worker serves no pages
    assert said["scheduled-publishing"] == "nothing to do"
