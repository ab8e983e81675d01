"""Tracking ingestion: acknowledged beacons per second through a real server, as a share of
the same server answering the beacon without storing it; latency; the bulk-insert ceiling.

For each backend (SQLite; PostgreSQL when LEADSHELF_TEST_POSTGRES_URL is set) and each
process count in BENCH_WORKERS (``serve --workers N``), this starts the real
``leadshelf serve`` and drives ``POST /t`` with BENCH_CLIENTS concurrent keep-alive clients
(each its own visitor, closed loop) for BENCH_SECONDS each, then BENCH_OPEN_RATE beacons/s
per client from the largest count (open loop: latency at a given offered load). Every
request waits for its 204, which the server sends only after the event is committed. Then
the same with ``bench/_beacon_sink.py`` (the same app whose event writer answers at once
without storing): the beacon's ceiling on this machine, and stored/ceiling as a ratio, side
by side in one run; then BENCH_ALTERNATE (3) pairs of stored and sink runs at the largest
client count, back to back with both servers up, and their median share (the machine's speed
drifts between two runs). It also prints the raw ceiling (the same rows inserted in bulk by
SQLAlchemy in one process) and the time of the first trail page of a lead with
BENCH_TRAIL_EVENTS events (0: skipped).

Run: make bench   (or .venv/bin/python -m bench.ingest; BENCH_SECONDS=1 is the smoke run)
"""
# ruff: noqa: E402 (the path is set before the imports it is for)

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # the repository, not bench/: imports read `bench.…`, `portal.…`

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import timedelta

from sqlalchemy import insert, select, text

from bench._common import fresh_postgres
from content.editing import save_asset, validate_draft
from content.models import Asset
from content.orm import utcnow
from content.publishing import publish
from portal.db import Database
from portal.migrate import upgrade_to_head
from tracking.models import Event, Lead
from tracking.reporting import trails

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
SMOKE = SECONDS <= 1
CLIENTS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "1,10,100").split(",")]
WORKERS = [int(n) for n in os.environ.get("BENCH_WORKERS", "1" if SMOKE else "1,2").split(",")]
OPEN_RATE = float(os.environ.get("BENCH_OPEN_RATE", "10"))
"""Beacons per second per client in the open-loop run (100 clients: 1,000 beacons/s offered)."""
ALTERNATE = int(os.environ.get("BENCH_ALTERNATE", "0" if SMOKE else "3"))
"""Pairs of runs at the largest client count, stored and sink alternating with both servers
up: the machine's speed drifts between two runs, so the share is reported as their median."""
TRAIL_EVENTS = int(os.environ.get("BENCH_TRAIL_EVENTS", "2000" if SMOKE else "100000"))
LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))
SLUG = "bench-guide"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(url: str) -> Database:
    database = Database(url)
    upgrade_to_head(database)
    values = {"title": "Bench guide", "slug": SLUG, "kind": "article", "stage": "awareness"}
    draft, errors = validate_draft(values)
    assert draft is not None, errors
    with database.write() as session:
        if session.scalar(select(Asset.id).where(Asset.slug == SLUG)) is None:
            publish(session, save_asset(session, draft, "bench@example.com"), "bench")
    return database


class Client:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost less than the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(
        self, method: str, path: str, body: bytes = b""
    ) -> tuple[int, dict[str, str]]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36\r\n"
            f"Cookie: {self.cookie}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:  # the server closed an idle keep-alive connection: once more
            self.writer.close()
            await self.connect()
            self.writer.write(head.encode() + body)
            status_line = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "set-cookie" and value.strip().startswith("ls_visitor="):
                headers["visitor"] = value.strip().split(";")[0]
            headers[name.lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1]), headers

    async def start_visit(self) -> None:
        _, headers = await self.request("GET", f"/library/{SLUG}")
        self.cookie = headers["visitor"]


async def drive(
    port: int, clients: int, seconds: float, per_client_rate: float | None = None
) -> tuple[int, list[float], int]:
    """Closed loop (each client sends its next beacon when the last is answered), or open
    loop at ``per_client_rate`` beacons/s per client (latency at a given offered load)."""
    pool = [Client(port) for _ in range(clients)]
    for client in pool:
        await client.connect()
        await client.start_visit()
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def run(client: Client, offset: float) -> None:
        nonlocal errors
        next_at = time.perf_counter() + offset
        while time.perf_counter() < stop_at:
            if per_client_rate:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += 1 / per_client_rate
            body = json.dumps(
                {
                    "type": "read_progress",
                    "asset": SLUG,
                    "seconds": 15,
                    "depth": 0.5,
                    "id": uuid.uuid4().hex,
                }
            ).encode()
            started = time.perf_counter()
            status, _ = await client.request("POST", "/t", body)
            if status == 204:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    spread = 1 / per_client_rate if per_client_rate else 0.0
    await asyncio.gather(*(run(c, spread * i / clients) for i, c in enumerate(pool)))
    elapsed = time.perf_counter() - started
    for client in pool:
        client.writer.close()
    return int(len(latencies) / elapsed), latencies, errors


def serve(
    url: str, data_dir: Path, workers: int = 1, *, sink: bool = False
) -> tuple[subprocess.Popen[bytes], int]:
    """``leadshelf serve --workers N`` (or the sink: the same app, storing nothing)."""
    port = free_port()
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_DATABASE_URL": url,
        "LEADSHELF_SECRET_KEYS": "bench-secret-key-0123456789",
        "LEADSHELF_BEACON_PER_MINUTE": "1000000",
        # The sink stores nothing, so it needs no writer process (``BENCH_WRITER_PROCESS=false``
        # runs the real server with the thread writer, as before issue 19's last step).
        "LEADSHELF_EVENT_WRITER_PROCESS": "false"
        if sink
        else os.environ.get("BENCH_WRITER_PROCESS", "true"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = (
        [sys.executable, "-m", "bench._beacon_sink", str(port), str(workers)]
        if sink
        else [LEADSHELF, "serve", "--port", str(port), "--workers", str(workers)]
    )
    log = data_dir / ("sink.log" if sink else "serve.log")
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own CLI)
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    import urllib.request

    for _ in range(3000):  # a loaded machine starts two worker processes slowly
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    tail = log.read_text(errors="replace").splitlines()[-20:]
    raise SystemExit("the server did not start:\n" + "\n".join(tail))


def raw_ceiling(database: Database, rows: int = 20_000) -> int:
    """Rows per second when the same event rows are inserted in bulk in one process."""
    with database.read() as session:
        asset_id = session.scalar(select(Asset.id).where(Asset.slug == SLUG))
    now = utcnow()
    batch = [
        {
            "uid": uuid.uuid4().hex,
            "visitor_id": "bench-raw",
            "lead_id": None,
            "type": "read_progress",
            "asset_id": asset_id,
            "occurred_at": now,
            "seconds": 15.0,
            "depth": 0.5,
            "properties": None,
        }
        for _ in range(rows)
    ]
    started = time.perf_counter()
    for first in range(0, rows, 1000):
        with database.write() as session:
            session.execute(insert(Event), batch[first : first + 1000])
    return int(rows / (time.perf_counter() - started))


def trail_timing(database: Database, events: int) -> tuple[float, float, float]:
    """p50/p99 of the first trail page, and of a page deep in the trail, in ms."""
    now = utcnow()
    with database.write() as session:
        lead = Lead(email=f"trail-{uuid.uuid4().hex[:8]}@bench.example")
        session.add(lead)
        session.flush()
        lead_id = lead.id
    rows = [
        {
            "uid": None,
            "visitor_id": "bench-trail",
            "lead_id": lead_id,
            "type": "read_progress",
            "asset_id": None,
            "occurred_at": now - timedelta(seconds=i),
            "seconds": 15.0,
            "depth": 0.5,
            "properties": None,
        }
        for i in range(events)
    ]
    for first in range(0, events, 5000):
        with database.write() as session:
            session.execute(insert(Event), rows[first : first + 5000])
    with database.write() as session:
        if not database.is_sqlite:
            session.execute(text("ANALYZE event"))
    first_page, deep_page = [], []
    with database.read() as session:
        cursor = trails.trail(session, lead_id, limit=50).next_cursor
        for _ in range(20):  # halfway down the trail
            cursor = trails.trail(
                session, lead_id, limit=events // 40 or 1, cursor=cursor
            ).next_cursor
        for _ in range(200):
            started = time.perf_counter()
            trails.trail(session, lead_id, limit=50)
            first_page.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            trails.trail(session, lead_id, limit=50, cursor=cursor)
            deep_page.append((time.perf_counter() - started) * 1000)
    return statistics.median(first_page), quantile(first_page, 0.99), statistics.median(deep_page)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Row = tuple[str, int, list[float], int]
"""(load, answered requests/s, latencies in s, errors)."""


def loads(port: int) -> list[Row]:
    """The closed-loop rows, then the open-loop one at the largest client count."""
    rows = [(f"{n}", *asyncio.run(drive(port, n, SECONDS))) for n in CLIENTS]
    most = max(CLIENTS)
    rows.append((f"{most}@{OPEN_RATE:g}/s", *asyncio.run(drive(port, most, SECONDS, OPEN_RATE))))
    return rows


def measured(url: str, data_dir: Path, workers: int, *, sink: bool) -> list[Row]:
    process, port = serve(url, data_dir, workers, sink=sink)
    try:
        return loads(port)
    finally:
        process.terminate()
        process.wait(timeout=60)


def alternating(url: str, data_dir: Path, workers: int) -> list[tuple[int, int]]:
    """(stored/s, ceiling/s) of ``ALTERNATE`` back-to-back pairs at the largest client count."""
    most = max(CLIENTS)
    pairs = []
    stored, stored_port = serve(url, data_dir, workers)
    try:
        sink, sink_port = serve(url, data_dir / "sink", workers, sink=True)
        try:
            for _ in range(ALTERNATE):
                rate = asyncio.run(drive(stored_port, most, SECONDS))[0]
                top = asyncio.run(drive(sink_port, most, SECONDS))[0]
                pairs.append((rate, top))
        finally:
            sink.terminate()
            sink.wait(timeout=60)
    finally:
        stored.terminate()
        stored.wait(timeout=60)
    return pairs


def print_alternating(pairs: list[tuple[int, int]]) -> None:
    shares = [rate / top for rate, top in pairs if top]
    listed = ", ".join(f"{rate:,}/{top:,} = {rate / top:.0%}" for rate, top in pairs if top)
    print(f"  {max(CLIENTS)} clients, stored/ceiling in {len(pairs)} alternating pairs: {listed}")
    if shares:
        print(f"  median share: {statistics.median(shares):.0%}")


def _ms(latencies: list[float], q: float) -> float:
    if not latencies:
        return float("nan")
    return (statistics.median(latencies) if q == 0.5 else quantile(latencies, q)) * 1000


def print_side_by_side(label: str, workers: int, stored: list[Row], sink: list[Row]) -> None:
    print(f"\n{label}, serve --workers {workers}: POST /t stored (204 after the commit) beside")
    print(f"  the same server answering it without storing ({SECONDS:g} s per row; N = N clients")
    print("  in a closed loop, N@R/s = N clients each sending R beacons/s)")
    print(
        f"{'clients':>10} {'stored/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'err':>4}"
        f" {'ceiling/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} {'stored/ceiling':>15}"
    )
    for (load, rate, lat, errors), (_, top, top_lat, top_errors) in zip(stored, sink, strict=True):
        print(
            f"{load:>10} {rate:>9,} {_ms(lat, 0.5):>7.2f} {_ms(lat, 0.99):>7.2f} {errors:>4}"
            f" {top:>10,} {_ms(top_lat, 0.5):>7.2f} {_ms(top_lat, 0.99):>7.2f} {top_errors:>4}"
            f" {rate / top if top else float('nan'):>15.0%}"
        )


def bench_backend(label: str, url: str, data_dir: Path) -> None:
    database = prepare(url)
    for workers in WORKERS:
        stored = measured(url, data_dir, workers, sink=False)
        sink = measured(url, data_dir, workers, sink=True)
        print_side_by_side(label, workers, stored, sink)
        if ALTERNATE:
            print_alternating(alternating(url, data_dir, workers))
        with open("/proc/loadavg") as load:
            print(f"  /proc/loadavg after: {load.read().strip()}")
    ceiling = raw_ceiling(database, 5_000 if SMOKE else 20_000)
    print(f"raw ceiling (bulk insert, one process): {ceiling:,} rows/s")
    if TRAIL_EVENTS:
        p50, p99, deep = trail_timing(database, TRAIL_EVENTS)
        print(
            f"trail of a lead with {TRAIL_EVENTS:,} events: first page p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms; a page halfway down p50 {deep:.2f} ms"
        )
    database.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        bench_backend("SQLite", f"sqlite:///{data_dir / 'bench.db'}", data_dir)
        postgres = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
        if postgres:
            bench_backend("PostgreSQL", fresh_postgres(postgres, "bench_ingest"), data_dir / "pg")


if __name__ == "__main__":
    main()
