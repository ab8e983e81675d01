"""Beacon ingestion of two checkouts side by side: which of two versions stores more.

``bench/ingest.py`` measures one checkout; between two of its runs the machine's speed drifts
by more than most changes move the share. This starts ``leadshelf serve`` from this checkout
and from another one (a git worktree of the version to compare with) on one database, with one
sink (``bench/_beacon_sink.py``, the ceiling), and runs BENCH_ROUNDS rounds of: the sink at 100
clients, then each checkout (alternating which goes first) at 100 clients and then at 1,000
offered beacons/s. It prints each round and, per checkout, the median share of the ceiling and
the medians of p50 and p99 at 1,000 beacons/s. Both checkouts run on a database migrated by
this one: they must share its migration head.

Run: .venv/bin/python bench/_ingest_ab.py OTHER_CHECKOUT
     (PostgreSQL with LEADSHELF_TEST_POSTGRES_URL and BENCH_BACKEND=postgresql; BENCH_ROUNDS, 8;
     BENCH_SECONDS, 5). The other checkout needs its compiled catalogs
     (``python -m portal.catalogs compile`` there, or a copy of portal/locale/*/*/messages.mo).
Not run by ``make bench`` (it needs a second checkout).
"""
# ruff: noqa: E402 (the path is set before the imports it is for)

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncio
import os
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import bench.ingest as ingest
from bench._common import fresh_postgres

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
CLIENTS = 100
RATE = 10.0
"""Beacons/s per client in the open-loop run: 1,000 beacons/s offered."""


def main() -> None:
    if len(sys.argv) != 2 or not (Path(sys.argv[1]) / "portal").is_dir():
        raise SystemExit("usage: bench/_ingest_ab.py OTHER_CHECKOUT")
    trees = {"this": ingest.ROOT, "other": Path(sys.argv[1]).resolve()}
    with tempfile.TemporaryDirectory(prefix="leadshelf-ab-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        if os.environ.get("BENCH_BACKEND") == "postgresql":
            url = fresh_postgres(os.environ["LEADSHELF_TEST_POSTGRES_URL"], "ingest_ab")
        else:
            url = f"sqlite:///{folder / 'ab.db'}"
        ingest.prepare(url).dispose()
        ports = {
            name: stack.enter_context(serving(url, folder / name, root))
            for name, root in trees.items()
        }
        sink = stack.enter_context(serving(url, folder / "sink", ingest.ROOT, sink=True))
        compare(trees, ports, sink)


@contextmanager
def serving(url: str, folder: Path, root: Path, *, sink: bool = False) -> Iterator[int]:
    """``bench.ingest.serve`` from the checkout at ``root`` (its folder first on the server's
    PYTHONPATH): its port, and the server stopped on the way out."""
    here, ingest.ROOT = ingest.ROOT, root
    try:
        process, port = ingest.serve(url, folder, 1, sink=sink)
    finally:
        ingest.ROOT = here
    try:
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def compare(trees: dict[str, Path], ports: dict[str, int], sink: int) -> None:
    shares: dict[str, list[float]] = {name: [] for name in trees}
    latencies: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for number in range(ROUNDS):
        ceiling = asyncio.run(ingest.drive(sink, CLIENTS, SECONDS))[0]
        order = list(trees) if number % 2 == 0 else list(reversed(trees))
        for name in order:
            stored, _, errors = asyncio.run(ingest.drive(ports[name], CLIENTS, SECONDS))
            shares[name].append(stored / ceiling if ceiling else float("nan"))
            _, seconds, open_errors = asyncio.run(ingest.drive(ports[name], CLIENTS, SECONDS, RATE))
            latencies[name].append((ingest._ms(seconds, 0.5), ingest._ms(seconds, 0.99)))
            if errors or open_errors:
                print(f"  {name}: {errors} + {open_errors} requests not answered 204")
        row = ", ".join(
            f"{name} {shares[name][-1]:.0%} (1,000/s p50 {latencies[name][-1][0]:.1f}, "
            f"p99 {latencies[name][-1][1]:.1f} ms)"
            for name in trees
        )
        print(f"round {number + 1}: ceiling {ceiling:,}/s; {row}", flush=True)
    for name, root in trees.items():
        p50 = statistics.median(p for p, _ in latencies[name])
        p99 = statistics.median(p for _, p in latencies[name])
        listed = ", ".join(f"{share:.0%}" for share in shares[name])
        print(
            f"{name} ({root}): shares {listed}; median {statistics.median(shares[name]):.0%}; "
            f"1,000/s medians p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )


if __name__ == "__main__":
    main()
