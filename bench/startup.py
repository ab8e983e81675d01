"""No stalls after start-up: the first 100 page requests of a fresh ``leadshelf serve``.

For each backend (SQLite; PostgreSQL when LEADSHELF_TEST_POSTGRES_URL is set) this
builds (once, kept in BENCH_STARTUP_KEEP for re-runs) the console benchmark's data with
its bulk loader (``bench/console.py``'s ``generate``: SQLite ``executemany``,
PostgreSQL ``COPY``; 100,000 leads and 5,000,000 events at full size), brings the kept
database to head (timing the upgrade and the recommendation audience's catch-up),
then starts the real ``leadshelf serve`` (one process, its jobs in process) and, as
soon as ``/healthz`` answers, sends 100 page requests one after another from a
returning lead's browser: the home page, its "Recommended for you", an asset page and its
"Read next" in turn (the last two rank for the lead; a version without them ranks inside
the pages). It prints the first request's time and p50/p99/max of
those first 100, beside the same figures for the next 100 (warm).

Environment (defaults in brackets; smoke sizes with BENCH_SECONDS=1):
  BENCH_CONSOLE_LEADS / BENCH_CONSOLE_EVENTS   sizes [100000 / 5000000] (smoke: 500 / 10000)
  BENCH_STARTUP_KEEP     directory that keeps the SQLite database between runs [a temp dir]
  BENCH_STARTUP_BACKENDS sqlite,postgresql [both]
  BENCH_STARTUP_REQUESTS requests per phase [100]

Run: .venv/bin/python bench/startup.py
"""
# ruff: noqa: E402 (the path is set before the imports it is for)

from __future__ import annotations

import sys
from pathlib import Path

# The repository root instead of bench/ on the path: imports read `bench.…`, `portal.…`.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import http.client
import os
import statistics
import subprocess
import tempfile
import time

if os.environ.get("BENCH_SECONDS") == "1":  # the CI smoke run: smaller than console's smoke
    os.environ.setdefault("BENCH_CONSOLE_LEADS", "500")
    os.environ.setdefault("BENCH_CONSOLE_EVENTS", "10000")
    os.environ.setdefault("BENCH_CONSOLE_LONG_TRAIL", "1000")
    os.environ.setdefault("BENCH_STARTUP_REQUESTS", "20")

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench import console
from bench._common import fresh_postgres
from content.models import Asset
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings
from portal.signing import Purpose, Signer
from tracking.models import AssetEngagement, Event, Lead, Visitor

REQUESTS = int(os.environ.get("BENCH_STARTUP_REQUESTS", "100"))
KEEP = os.environ.get("BENCH_STARTUP_KEEP", "")
BACKENDS = os.environ.get("BENCH_STARTUP_BACKENDS", "sqlite,postgresql").split(",")
PERSONAL_PARTS = ("/recommended", "/next")
"""The pages' personal parts (htmx fragments, each a page of its own without JavaScript): where
the ranking runs since the public pages are shared; an older version ranks in the page."""
SECRET = "bench-secret-key-0123456789"  # noqa: S105 (a throwaway server's key)
LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def built(database: Database) -> bool:
    """A kept database that already holds this run's sizes."""
    try:
        with database.read() as session:
            leads = session.scalar(select(func.count()).select_from(Lead))
            events = session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    except Exception:
        return False
    return leads == console.LEADS and bool(events)


def build(database: Database, url: str) -> None:
    if built(database):
        print(f"  re-using the kept database ({url.split('@')[-1]})")
        return
    upgrade_to_head(database)
    started = time.perf_counter()
    counts, _ = console.generate(database, url)
    print(
        f"  generated {console.LEADS:,} leads, {counts.events:,} events,"
        f" {counts.engagement:,} asset_engagement rows in {time.perf_counter() - started:.0f} s"
    )
    try:
        from tracking.pipeline import audience
    except ImportError:  # a version without the shared audience
        return
    with database.write() as session:  # bulk rows bypass ingestion: queue every reader
        audience.rebuild(session)


def prepare(database: Database) -> None:
    """Head (a kept database from before a migration gets it now), then the audience's
    catch-up where this version keeps one (what ``leadshelf migrate`` and the first job
    pass would do before the server takes traffic)."""
    started = time.perf_counter()
    upgrade_to_head(database)
    print(f"  upgrade to head: {time.perf_counter() - started:.1f} s")
    try:
        from tracking.pipeline import audience
    except ImportError:
        return
    started = time.perf_counter()
    readers = audience.catch_up(database, chunk=5_000)
    print(f"  audience catch-up: {readers:,} readers in {time.perf_counter() - started:.1f} s")


def returning_lead(database: Database) -> tuple[str, list[str]]:
    """A visitor cookie of a lead with a trail of a few dozen assets' reads, and asset slugs."""
    with database.read() as session:
        lead_id = session.scalar(
            select(AssetEngagement.lead_id)
            .where(AssetEngagement.lead_id.is_not(None), AssetEngagement.lead_id > 10)
            .group_by(AssetEngagement.lead_id)
            .having(func.count() >= 5)
            .limit(1)
        )
        visitor_id = session.scalar(select(Visitor.id).where(Visitor.lead_id == lead_id).limit(1))
        slugs = list(session.scalars(select(Asset.slug).order_by(Asset.id).limit(10)))
    assert visitor_id is not None
    assert slugs
    return Signer((SECRET,)).sign(Purpose.VISITOR, visitor_id), slugs


def serve(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_DATABASE_URL": url,
        "LEADSHELF_SECRET_KEYS": SECRET,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "serve.log"
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own CLI)
            [LEADSHELF, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    while process.poll() is None and time.perf_counter() - started < 120:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return process, port, time.perf_counter() - started
        except OSError:
            time.sleep(0.02)
    process.kill()
    tail = log.read_text(errors="replace").splitlines()[-20:]
    raise SystemExit("leadshelf serve did not start:\n" + "\n".join(tail))


def timed(port: int, cookie: str, paths: list[str]) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {
        "Cookie": f"ls_visitor={cookie}",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36",
    }
    took = []
    for path in paths:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status == 404 and path.endswith(PERSONAL_PARTS):
            continue  # a version that ranks inside the page itself
        took.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (path, response.status)
    connection.close()
    return took


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(label: str, took: list[float]) -> str:
    return (
        f"  {label:<22} first {took[0]:8.1f} ms  p50 {statistics.median(took):7.1f}"
        f"  p99 {quantile(took, 0.99):8.1f}  max {max(took):8.1f} ms"
    )


def bench_backend(label: str, url: str, data_dir: Path) -> None:
    print(f"\n{label}:")
    database = Database(url)
    build(database, url)
    prepare(database)
    cookie, slugs = returning_lead(database)
    database.dispose()
    asset = [f"/library/{slugs[i % len(slugs)]}" for i in range(REQUESTS)]
    pages = [page for a in asset for page in ("/", "/recommended", a, f"{a}/next")]
    paths = pages[:REQUESTS]
    process, port, listening = serve(url, data_dir)
    try:
        first = timed(port, cookie, paths)
        warm = timed(port, cookie, paths)
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(f"  serve answered /healthz {listening:.1f} s after start")
    print(line(f"first {REQUESTS} requests", first))
    print(line(f"next {REQUESTS} (warm)", warm))
    with open("/proc/loadavg") as load:
        print(f"  /proc/loadavg: {load.read().strip()}")


def kept_postgres(url: str) -> str:
    base = make_url(Settings(database_url=url).resolved_database_url)
    return base.set(database=f"{base.database}_bench_startup").render_as_string(hide_password=False)


def main() -> None:
    print(
        f"start-up benchmark: {console.LEADS:,} leads, {console.EVENTS:,} events,"
        f" {REQUESTS} requests (home and asset pages, a returning lead)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        keep = Path(KEEP) if KEEP else Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        if "sqlite" in BACKENDS:
            bench_backend("SQLite", f"sqlite:///{keep / 'startup.db'}", Path(tmp) / "sqlite")
        postgres = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
        if postgres and "postgresql" in BACKENDS:
            url = kept_postgres(postgres)
            if not KEEP or not built(Database(url)):
                url = fresh_postgres(postgres, "bench_startup")
            bench_backend("PostgreSQL", url, Path(tmp) / "pg")


if __name__ == "__main__":
    main()
