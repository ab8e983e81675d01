"""Background jobs with several processes on one database: each singleton job runs in one
process at a time (``serve --workers 2`` twice), and a leader killed mid-pass is replaced."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import select, text

from portal.db import Database
from portal.job_records import JobRecord
from tests.servers import LEADSHELF, serving
from tests.support import TEST_SECRET_KEYS

SINGLETONS = (
    "lead-figures",
    "handoff-catch-up",
    "event-retention",
    "rate-limit-pruning",
    "quiet-lead-rescoring",
    "delivery-pruning",
)
INTERVAL = 0.5
FAST = ",".join(f"{name}={INTERVAL}" for name in SINGLETONS)


def environment(db: Database, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_JOB_INTERVALS": FAST,
        # No event writer processes: four web processes start in less CPU, and no beacon is sent.
        "LEADSHELF_EVENT_WRITER_PROCESS": "false",
    }


def passes(db: Database, job: str) -> dict[str, int]:
    """Recorded passes of a job, per process."""
    with db.read() as session:
        rows = session.execute(
            select(JobRecord.node, JobRecord.passes).where(JobRecord.name == job)
        ).all()
    return {node: count for node, count in rows}


def processes_seen(db: Database) -> int:
    with db.read() as session:
        return len(
            set(session.scalars(select(JobRecord.node).where(JobRecord.name == "search-index")))
        )


def wait_for(condition, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_two_servers_with_two_workers_each_run_each_singleton_once_per_interval(
    db: Database, tmp_path: Path
) -> None:
    env = environment(db, tmp_path / "data")
    with ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(serving(env, "--workers", "2", timeout=60))
        assert wait_for(lambda: processes_seen(db) == 4), "four web processes never all ran"
        before = {job: sum(passes(db, job).values()) for job in SINGLETONS}
        started = time.monotonic()
        time.sleep(4)
        after = {job: sum(passes(db, job).values()) for job in SINGLETONS}
        elapsed = time.monotonic() - started
    most = elapsed / INTERVAL + 2  # one process at a time; four would make about four times it
    for job in SINGLETONS:
        made = after[job] - before[job]
        assert 1 <= made <= most, (job, made, elapsed)


@contextmanager
def worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [LEADSHELF, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def writes_blocked(db: Database) -> Iterator[None]:
    """Hold the database's write lock (SQLite) or the lead-figures table (PostgreSQL), so a
    pass that writes it waits in the middle."""
    with db.write_connection() as connection:  # SQLite: BEGIN IMMEDIATE, the write lock
        if not db.is_sqlite:
            connection.execute(text("LOCK TABLE asset_lead_stats IN ACCESS EXCLUSIVE MODE"))
        yield


def test_a_leader_killed_mid_pass_is_replaced_within_an_interval(
    db: Database, tmp_path: Path
) -> None:
    env = environment(db, tmp_path / "data")
    with worker(env) as first, worker(env) as second:
        by_pid = {first.pid: first, second.pid: second}
        assert wait_for(lambda: len(passes(db, "lead-figures")) == 1), "no leader emerged"
        (leader_node,) = passes(db, "lead-figures")
        leader = by_pid[int(leader_node.rsplit(":", 1)[1])]
        with writes_blocked(db):
            time.sleep(3 * INTERVAL)  # the leader is now inside a pass, waiting on the lock
            leader.send_signal(signal.SIGKILL)
            leader.wait(timeout=30)
        killed_at = time.monotonic()
        assert wait_for(lambda: len(passes(db, "lead-figures")) == 2, timeout=15)
        taken_over_after = time.monotonic() - killed_at
    (successor,) = set(passes(db, "lead-figures")) - {leader_node}
    assert int(successor.rsplit(":", 1)[1]) != leader.pid
    assert taken_over_after < INTERVAL + 5  # one interval, plus the start of its pass
