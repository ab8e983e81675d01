"""The event writer's batch, in process: ``store()`` of BENCH_BATCH beacons, as the log grows.

What the writer process does for each batch under the §6 load (bench/ingest.py at 100 clients):
BENCH_BATCH (37) browsers that each opened one asset send a ``read_progress`` beacon, stored
by ``tracking.pipeline.ingest.store`` with the default model in one write transaction. This
times BENCH_BATCHES (300) such batches back to back on a fresh database (SQLite; PostgreSQL
too with LEADSHELF_TEST_POSTGRES_URL) and prints per batch: wall p50 and mean, the process's
CPU, the time of each statement (SQLAlchemy's cursor events) and of each round trip of
statements sent together (on PostgreSQL the batch's reads go in one, its writes in another:
a statement inside one shows only the time to send it), and the wall by quarter of the run:
a figure that grows with the quarter grows with the events stored (the month's partition
starts empty, as in a fresh database or on the first of a month).

Run: make bench   (or .venv/bin/python bench/store_batch.py; BENCH_BATCHES, BENCH_BATCH;
BENCH_SECONDS=1 as CI sets it: 40 batches)
"""
# ruff: noqa: E402 (the path is set before the imports it is for)

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, select

from bench._common import fresh_postgres
from bench.ingest import SLUG, prepare
from content.models import Asset
from portal.db import Database
from tracking.events import AssetView, ReadProgress, TrackedEvent
from tracking.pipeline import bulk
from tracking.pipeline.ingest import store
from tracking.rules.config import Model

SMOKE = float(os.environ.get("BENCH_SECONDS", "5")) <= 1
BATCHES = int(os.environ.get("BENCH_BATCHES", "40" if SMOKE else "300"))
BATCH = int(os.environ.get("BENCH_BATCH", "37"))
"""The writer process's mean batch at 100 clients on PostgreSQL (2026-12-06)."""


@contextlib.contextmanager
def timed_statements(database: Database) -> Iterator[dict[str, list[float]]]:
    """Seconds of each statement run on ``database``'s engine, by the statement's start, and
    of each round trip of statements sent together (PostgreSQL: ``bulk.read_together`` and
    ``bulk.pipelined``; a statement inside one of those shows only the time to send it)."""
    times: dict[str, list[float]] = {}

    def timing(label: str, run: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return run(*args, **kwargs)
            finally:
                times.setdefault(label, []).append(time.perf_counter() - started)

        return timed

    reads = bulk.read_together
    bulk.read_together = timing("[round trip] reads sent together", reads)
    writes = bulk.pipelined

    @contextlib.contextmanager
    def pipelined(connection: Any) -> Iterator[None]:
        started = time.perf_counter()
        with writes(connection):
            yield
        times.setdefault("[round trip] writes sent together", []).append(
            time.perf_counter() - started
        )

    bulk.pipelined = pipelined

    @event.listens_for(database.engine, "before_cursor_execute")
    def started(connection: Any, *_: Any) -> None:
        connection.info["bench_started"] = time.perf_counter()

    @event.listens_for(database.engine, "after_cursor_execute")
    def ended(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        label = " ".join(statement.split("(")[0].split()[:3])[:60]
        elapsed = time.perf_counter() - connection.info["bench_started"]
        times.setdefault(label, []).append(elapsed)

    try:
        yield times
    finally:
        bulk.read_together, bulk.pipelined = reads, writes


def bench(label: str, url: str) -> None:
    database = prepare(url)
    with database.read() as session:
        asset_id = session.scalar(select(Asset.id).where(Asset.slug == SLUG))
    model = Model()
    browsers = [uuid.uuid4().hex for _ in range(BATCH)]

    def batch(opening: bool = False) -> list[list[TrackedEvent]]:
        if opening:
            return [
                [AssetView(visitor_id=b, asset_id=asset_id, uid=uuid.uuid4().hex)] for b in browsers
            ]
        return [[reading(b)] for b in browsers]

    def reading(browser: str) -> ReadProgress:
        return ReadProgress(
            visitor_id=browser, asset_id=asset_id, seconds=15.0, depth=0.5, uid=uuid.uuid4().hex
        )

    with database.write() as session:
        store(session, batch(opening=True), model=model)
    walls: list[float] = []
    with timed_statements(database) as statements:
        cpu = time.process_time()
        for _ in range(BATCHES):
            groups = batch()
            started = time.perf_counter()
            with database.write() as session:
                store(session, groups, model=model)
            walls.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu) / BATCHES
    quarter = max(1, BATCHES // 4)
    by_quarter = " / ".join(
        f"{statistics.mean(walls[i : i + quarter]) * 1000:.2f}" for i in range(0, BATCHES, quarter)
    )
    print(
        f"{label}: {BATCHES} batches of {BATCH} beacons: wall p50 "
        f"{statistics.median(walls) * 1000:.2f} ms, mean {statistics.mean(walls) * 1000:.2f} ms "
        f"({statistics.mean(walls) * 1000 / BATCH:.3f} ms a beacon), CPU {cpu * 1000:.2f} ms; "
        f"mean by quarter {by_quarter} ms"
    )
    for name, times in sorted(statements.items(), key=lambda item: -sum(item[1])):
        print(f"  {sum(times) / BATCHES * 1000:6.2f} ms a batch  {name}")
    database.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite", f"sqlite:///{Path(tmp) / 'store.db'}")
    postgres = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
    if postgres:
        bench("PostgreSQL", fresh_postgres(postgres, "bench_store"))


if __name__ == "__main__":
    main()
