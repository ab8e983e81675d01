"""Beacon ingestion of two checkouts side by side: which of two versions stores more.

``bench/ingest.py`` measures one checkout; between two of its runs the machine's speed drifts
by more than most changes move the share. This starts ``leadshelf serve`` from this checkout
and from another one (a git worktree of the version to compare with) on one database, with one
sink (``bench/_beacon_sink.py``, the ceiling), and runs BENCH_ROUNDS rounds of: the sink at 100
clients, then each checkout at 100 clients (alternating which goes first), then each at 1,000
offered beacons/s. It prints each round and, per checkout, the median share of the ceiling and
the medians of p50 and p99 at 1,000 beacons/s.

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
    folder = Path(tempfile.mkdtemp(prefix="leadshelf-ab-"))
    if os.environ.get("BENCH_BACKEND") == "postgresql":
        url = fresh_postgres(os.environ["LEADSHELF_TEST_POSTGRES_URL"], "ingest_ab")
    else:
        url = f"sqlite:///{folder / 'ab.db'}"
    ingest.prepare(url).dispose()
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    here = ingest.ROOT
    try:
        for name, root in trees.items():
            ingest.ROOT = root  # serve() puts ROOT first on the server's PYTHONPATH
            servers[name] = ingest.serve(url, folder / name, 1)
        ingest.ROOT = here
        servers["sink"] = ingest.serve(url, folder / "sink", 1, sink=True)
        shares: dict[str, list[float]] = {name: [] for name in trees}
        latencies: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for number in range(ROUNDS):
            ceiling = asyncio.run(ingest.drive(servers["sink"][1], CLIENTS, SECONDS))[0]
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for name in order:
                port = servers[name][1]
                stored = asyncio.run(ingest.drive(port, CLIENTS, SECONDS))[0]
                shares[name].append(stored / ceiling)
                _, seconds, _ = asyncio.run(ingest.drive(port, CLIENTS, SECONDS, RATE))
                latencies[name].append(
                    (
                        ingest.quantile(seconds, 0.5) * 1000,
                        ingest.quantile(seconds, 0.99) * 1000,
                    )
                )
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
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
