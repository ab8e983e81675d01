"""The event log at scale on PostgreSQL (issue 19 §5): 50,000,000 events in monthly partitions.

PostgreSQL only (LEADSHELF_TEST_POSTGRES_URL; without it the script says so and stops). On
a fresh database ``<that db>_bench_events`` brought to head by Alembic (``event`` partitioned
by month, ``tracking.pipeline.partitions``) it loads with COPY, not through the API:

- the 60-asset library of ``bench/journeys.py``, BENCH_EVENTS_LEADS leads (one browser each)
  and as many anonymous browsers;
- BENCH_EVENTS_TOTAL events spread evenly over the BENCH_EVENTS_MONTHS months before now, in
  time order (as ingestion writes them), a partition per month made as the migration makes
  them: 75 % from leads, the rest anonymous; page views, asset views, read-progress beacons
  (each with a uid, as the beacon sends), downloads, searches, gate views, forms, CTA and
  email clicks, a few webinar registrations. Lead 1 has a trail of BENCH_EVENTS_LONG_TRAIL
  events over all months; the other leads share the rest at random (about 375 each at full
  size). The event table's keys and indexes are dropped for the load and built again, then
  VACUUM ANALYZE (what autovacuum would have done by then; it never analyzes the parent).

Then, through the real app in process (Litestar's TestClient, signed in as a marketer, round
robin, BENCH_EVENTS_REQUESTS each): the lead page of lead 1 and of a typical lead, their trail
pages (the first page and one reached by a cursor a year back), the funnel dashboard (30 and
365 days: it reads roll-ups and the change log, never raw events). p50/p99 against the console
budget of bench/README.md (p99 < 150 ms). It prints the plans (EXPLAIN ANALYZE) of the trail
page, its cursor page, the lead page's activity chart and retention's scan, with how many
partitions each read.

Last, retention: ``delete_expired_events`` with a retention that expires the oldest month
(one partition dropped: timed), and the row-by-row path for one day of the next month (what
the daily pass deletes in the month that straddles the cutoff; timed in a transaction that
is rolled back, so the data stays for a re-run), with the month's time extrapolated from it.

Environment (defaults in brackets; the smoke sizes apply when BENCH_SECONDS=1, as in .ci/run):
  BENCH_EVENTS_TOTAL       events [50000000] (smoke: 60000)
  BENCH_EVENTS_MONTHS      months of events before now [24] (smoke: 24)
  BENCH_EVENTS_LEADS       leads [100000] (smoke: 500)
  BENCH_EVENTS_LONG_TRAIL  events of lead 1 [50000] (smoke: 2000)
  BENCH_EVENTS_REQUESTS    timed requests per page [50] (smoke: 3)
  BENCH_EVENTS_KEEP        1: keep the database and re-use it when it holds these sizes (a month
                           dropped by the last run's retention is loaded again) [unset: dropped
                           at the end]
  BENCH_SEED               random seed [7]
  LEADSHELF_TEST_POSTGRES_URL  the PostgreSQL server (required)

Run: LEADSHELF_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
     BENCH_EVENTS_KEEP=1 .venv/bin/python bench/events_scale.py
"""

from __future__ import annotations

import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# The repository instead of bench/ on the path: imports read `bench.…`, `portal.…`.
sys.path.remove(str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import portal.app
from bench._common import fresh_postgres
from bench.console import StatementLog, sign_in
from bench.journeys import build_library
from content import indexer
from content.orm import utcnow
from content.search.index import SearchIndex
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings
from tracking.folding import search_text
from tracking.models import Event
from tracking.pipeline import partitions, retention
from tracking.reporting import trails

SMOKE = os.environ.get("BENCH_SECONDS") == "1"


def _env(name: str, full: int, smoke: int) -> int:
    return int(os.environ.get(name, smoke if SMOKE else full))


TOTAL = _env("BENCH_EVENTS_TOTAL", 50_000_000, 60_000)
MONTHS = _env("BENCH_EVENTS_MONTHS", 24, 24)
LEADS = _env("BENCH_EVENTS_LEADS", 100_000, 500)
LONG_TRAIL = _env("BENCH_EVENTS_LONG_TRAIL", 50_000, 2_000)
REQUESTS = _env("BENCH_EVENTS_REQUESTS", 50, 3)
KEEP = os.environ.get("BENCH_EVENTS_KEEP", "") not in ("", "0")
SEED = int(os.environ.get("BENCH_SEED", "7"))
AIM_MS = 150.0
SUFFIX = "bench_events"
CHUNK_ROWS = 200_000
ANONYMOUS_SHARE = 0.25
TYPICAL_LEAD = 2
KINDS = (
    # (type, weight, on an asset, with a uid)
    ("page_view", 14, False, False),
    ("asset_view", 22, True, False),
    ("read_progress", 40, True, True),
    ("download", 4, True, False),
    ("search", 5, False, False),
    ("gate_view", 5, True, False),
    ("form_submit", 2, True, False),
    ("cta_click", 3, False, True),
    ("email_click", 4, False, False),
    ("webinar_register", 1, True, False),
)
PROPERTIES = {
    "page_view": '{"path": "/library"}',
    "search": '{"q": "lead scoring"}',
    "email_click": '{"campaign": "newsletter"}',
    "cta_click": '{"target": "talk-to-sales"}',
}
LOAD_INDEXES = ("ix_event_lead_trail", "ix_event_visitor", "ix_event_occurred_at")


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def say(line: str) -> None:
    print(f"{line}   [load {loadavg().split(' ', 3)[:3]}]", flush=True)


# --- the database -------------------------------------------------------------------------------


def kept_url(url: str) -> str:
    base = make_url(Settings(database_url=url).resolved_database_url)
    return base.set(database=f"{base.database}_{SUFFIX}").render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def psycopg_connection(url: str) -> Any:
    import psycopg

    return psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def wanted_months(now: datetime) -> list[date]:
    current = partitions.month_of(now)
    return [partitions.add_months(current, -n) for n in range(MONTHS, 0, -1)]


def loaded(database: Database) -> dict[date, int]:
    """Events per month partition of the kept database (estimates from the statistics)."""
    with database.read() as session:
        rows = session.execute(
            text(
                "SELECT c.relname, c.reltuples::bigint FROM pg_inherits i"
                " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'event'::regclass"
            )
        ).all()
    return {m: n for name, n in rows if (m := partitions.month_of_partition(name)) is not None}


# --- generation ---------------------------------------------------------------------------------


def make_people(database: Database, url: str, now: datetime) -> list[int]:
    """The library, the leads and their browsers, and the anonymous browsers; returns the
    asset ids."""
    library = build_library(database)
    assets = [a.id for items in library.values() for a in items]
    rng = random.Random(SEED)
    stamp = now.isoformat()
    with psycopg_connection(url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY lead (id, email, name, company, search_text, journey_stage, stage_confidence,"
            " fit_score, engagement, engagement_as_of, grade, category, lifecycle, milestones,"
            " marketing_consent, created_at, last_activity_at) FROM STDIN"
        ) as copy:
            for n in range(1, LEADS + 1):
                email, name, company = f"reader{n}@firm{n % 997}.example", f"Reader {n}", "Firm"
                copy.write_row((
                    n, email, name, company, search_text(email, name, company),
                    rng.choice(("awareness", "consideration", "decision")), 0.5,
                    rng.randint(0, 100), round(rng.uniform(0, 80), 1), stamp,
                    rng.choice("ABCDE"), "known", "lead", "[]", False, stamp, stamp,
                ))  # fmt: skip
        with cursor.copy("COPY visitor (id, lead_id, created_at) FROM STDIN") as copy:
            for n in range(1, LEADS + 1):
                copy.write_row((visitor_of_lead(n), n, stamp))
                copy.write_row((anonymous_visitor(n), None, stamp))
        cursor.execute("SELECT setval(pg_get_serial_sequence('lead', 'id'), %s)", (LEADS,))
        connection.commit()
    return assets


def visitor_of_lead(lead_id: int) -> str:
    return f"lead{lead_id:028d}"


def anonymous_visitor(n: int) -> str:
    return f"anon{n:028d}"


def month_events(month: date, assets: list[int], index: int) -> int:
    """How many events a month gets (the total spread evenly, the remainder in the last)."""
    share = TOTAL // MONTHS
    return share + (TOTAL - share * MONTHS if index == MONTHS - 1 else 0)


def month_lines(month: date, count: int, assets: list[int], rng: random.Random) -> Any:
    """The month's events as COPY text, in chunks, in time order."""
    start, end = (m.timestamp() for m in partitions.bounds(month))
    span = end - start
    long_share = LONG_TRAIL / TOTAL
    kinds = [k for k in KINDS for _ in range(k[1])]
    lines: list[str] = []
    moments = sorted(start + rng.random() * span for _ in range(count))
    uid_base = f"{month.year}{month.month:02d}"
    for n, moment in enumerate(moments):
        kind, _, on_asset, with_uid = rng.choice(kinds)
        draw = rng.random()
        if draw < long_share:
            lead: int | None = 1
            visitor = visitor_of_lead(1)
        elif draw < 1 - ANONYMOUS_SHARE:
            lead = rng.randint(2, LEADS)
            visitor = visitor_of_lead(lead)
        else:
            lead, visitor = None, anonymous_visitor(rng.randint(1, LEADS))
        asset = rng.choice(assets) if on_asset else None
        seconds = depth = "\\N"
        if kind == "read_progress":
            seconds, depth = f"{rng.uniform(5, 60):.1f}", f"{rng.random():.2f}"
        at = datetime.fromtimestamp(moment, UTC).isoformat()
        uid = f"b{uid_base}-{n}" if with_uid else "\\N"
        lead_text, asset_text = str(lead) if lead else "\\N", str(asset) if asset else "\\N"
        properties = PROPERTIES.get(kind, "\\N")
        fields = (at, uid, visitor, lead_text, kind, asset_text, seconds, depth, properties)
        lines.append("\t".join(fields))
        if len(lines) >= CHUNK_ROWS:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def load_months(url: str, months: list[date], assets: list[int], all_months: list[date]) -> int:
    """COPY the events of these months (each month's own seed, so a reload is the same)."""
    stored = 0
    with psycopg_connection(url) as connection, connection.cursor() as cursor:
        for month in months:
            index = all_months.index(month)
            count = month_events(month, assets, index)
            rng = random.Random(SEED * 1000 + index)
            started = time.perf_counter()
            with cursor.copy(
                "COPY event (occurred_at, uid, visitor_id, lead_id, type, asset_id, seconds,"
                " depth, properties) FROM STDIN"
            ) as copy:
                for chunk in month_lines(month, count, assets, rng):
                    copy.write(chunk)
            connection.commit()
            stored += count
            took = time.perf_counter() - started
            say(f"  {partitions.partition_name(month)}: {count:,} events in {took:.0f} s"
                f" ({count / took:,.0f}/s)")  # fmt: skip
    return stored


def without_keys(database: Database) -> None:
    """Drop the event table's keys and indexes for the bulk load (built again after)."""
    with database.write_connection() as connection:
        for name in ("fk_event_lead_id_lead", "fk_event_asset_id_asset", "pk_event"):
            connection.execute(text(f"ALTER TABLE event DROP CONSTRAINT {name}"))
        for name in (*LOAD_INDEXES, "ix_event_webinar"):
            connection.execute(text(f"DROP INDEX {name}"))
        for name in partitions.partitions(connection):
            connection.execute(text(f"DROP INDEX uq_{name}_uid"))


def with_keys(database: Database) -> None:
    """Keys and indexes as the migration builds them (one statement on the parent builds
    every partition's)."""
    with database.write_connection() as connection:
        connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        connection.execute(
            text("ALTER TABLE event ADD CONSTRAINT pk_event PRIMARY KEY (id, occurred_at)")
        )
        for index in Event.__table__.indexes:  # type: ignore[attr-defined]
            index.create(connection)
        for name in partitions.partitions(connection):
            partitions.unique_uid(connection, name)
        connection.execute(
            text(
                "ALTER TABLE event ADD CONSTRAINT fk_event_lead_id_lead FOREIGN KEY (lead_id)"
                " REFERENCES lead (id) ON DELETE SET NULL"
            )
        )
        connection.execute(
            text(
                "ALTER TABLE event ADD CONSTRAINT fk_event_asset_id_asset FOREIGN KEY (asset_id)"
                " REFERENCES asset (id) ON DELETE SET NULL"
            )
        )


def vacuum(database: Database) -> float:
    started = time.perf_counter()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def generate(database: Database, url: str, now: datetime) -> None:
    started = time.perf_counter()
    months = wanted_months(now)
    with database.write_connection() as connection:
        for month in months:
            partitions.create_month(connection, month)
    assets = make_people(database, url, now)
    say(f"library, {LEADS:,} leads, {2 * LEADS:,} browsers: {time.perf_counter() - started:.0f} s")
    without_keys(database)
    loading = time.perf_counter()
    stored = load_months(url, months, assets, months)
    took = time.perf_counter() - loading
    say(f"COPY: {stored:,} events in {took:.0f} s ({stored / took:,.0f}/s)")
    building = time.perf_counter()
    with_keys(database)
    say(f"keys and indexes: {time.perf_counter() - building:.0f} s")
    say(f"VACUUM ANALYZE: {vacuum(database):.0f} s")


def restore(database: Database, url: str, now: datetime) -> None:
    """A kept database: load again the months a previous run's retention dropped."""
    months = wanted_months(now)
    have = loaded(database)
    missing = [m for m in months if m not in have]
    if not missing:
        return
    with database.write_connection() as connection:
        for month in missing:
            partitions.create_month(connection, month)
    with database.read() as session:
        assets = list(session.scalars(text("SELECT id FROM asset ORDER BY id")))
    load_months(url, missing, assets, months)
    started = time.perf_counter()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for month in missing:
            connection.execute(text(f"VACUUM ANALYZE {partitions.partition_name(month)}"))
        connection.execute(text("ANALYZE event"))
    say(f"VACUUM ANALYZE of the reloaded months: {time.perf_counter() - started:.0f} s")


def ready(database: Database, now: datetime) -> bool:
    try:
        with database.read() as session:
            leads = session.scalar(text("SELECT count(*) FROM lead"))
        have = loaded(database)
    except Exception:
        return False
    expected = {m: TOTAL // MONTHS for m in wanted_months(now)}
    # The oldest month may be missing (a previous run's retention); the others within 5 %.
    close = all(abs(have.get(m, n) - n) <= n * 0.05 for m, n in expected.items())
    return leads == LEADS and close and len(have) >= MONTHS - 1


# --- timing -------------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cursor_a_year_back(database: Database, lead_id: int, now: datetime) -> str:
    """The trail cursor of the lead's newest event a year ago (a deep "Show older" page)."""
    with database.read() as session:
        row = session.execute(
            text(
                "SELECT occurred_at, id FROM event WHERE lead_id = :lead AND occurred_at < :at"
                " ORDER BY occurred_at DESC, id DESC LIMIT 1"
            ),
            {"lead": lead_id, "at": now - timedelta(days=365)},
        ).one()
    return trails.encode_cursor(row[0], row[1])


def lead_events(database: Database, lead_id: int) -> int:
    with database.read() as session:
        return int(
            session.scalar(text("SELECT count(*) FROM event WHERE lead_id = :l"), {"l": lead_id})
            or 0
        )


def time_pages(url: str, data_dir: Path, database: Database, now: datetime) -> None:
    long_events, typical = lead_events(database, 1), lead_events(database, TYPICAL_LEAD)
    deep_long = cursor_a_year_back(database, 1, now)
    deep_typical = cursor_a_year_back(database, TYPICAL_LEAD, now)
    pages = [
        (f"lead page, {long_events:,}-event trail", "/console/leads/1"),
        (f"lead page, {typical}-event trail", f"/console/leads/{TYPICAL_LEAD}"),
        ("trail page, lead 1, first", "/console/leads/1/trail"),
        ("trail page, lead 1, a year back", f"/console/leads/1/trail?cursor={deep_long}"),
        (f"trail page, lead {TYPICAL_LEAD}, first", f"/console/leads/{TYPICAL_LEAD}/trail"),
        (
            f"trail page, lead {TYPICAL_LEAD}, a year back",
            f"/console/leads/{TYPICAL_LEAD}/trail?cursor={deep_typical}",
        ),
        ("dashboard, 30 days", "/console/dashboard?days=30"),
        ("dashboard, 365 days", "/console/dashboard?days=365"),
    ]
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_keys=("bench-secret-key-0123456789",),
        jobs_in_process=False,
    )
    with database.read() as session:
        indexer.rebuild(session, SearchIndex(settings.search_dir))
    app = portal.app.create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with TestClient(app) as client:
        sign_in(client, database)
        for _, path in pages:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        # A web process that keeps the recommendations' audience itself builds it once after
        # start-up: timing starts after that first pass (as bench/console.py does).
        runner = client.app.state.runner
        ours = {job.name for job in runner.jobs}
        deadline = time.monotonic() + 300
        while (
            "recommendation-audience" in ours
            and runner.state("recommendation-audience").passes < 1
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        timings: dict[str, list[float]] = {path: [] for _, path in pages}
        before = loadavg()
        for _ in range(REQUESTS):
            for _, path in pages:
                started = time.perf_counter()
                answer = client.get(path)
                timings[path].append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
        spent = statements_per_page(client, app, pages)
    print(
        f"\nPages (in process through Litestar's TestClient, {REQUESTS} requests each, round"
        f" robin; console budget p99 < {AIM_MS:.0f} ms); load before {before}, after {loadavg()}"
    )
    print(f"  {'page':<44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  budget")
    for name, path in pages:
        values = timings[path]
        p99 = quantile(values, 0.99)
        print(
            f"  {name:<44} {statistics.median(values):8.1f} {p99:8.1f} {max(values):8.1f}"
            f"  {'met' if p99 < AIM_MS else 'NOT met'}"
        )
    print(
        "\n  One more request of each, its SQL statements timed (execute, not fetching): the"
        " event log's share of a page"
    )
    for name, path in pages:
        total, count, executing, on_events, event_count = spent[path]
        print(
            f"  {name:<44} {total:8.1f} ms: {count} statements {executing:6.1f} ms,"
            f" {event_count} on event {on_events:6.1f} ms"
        )


def statements_per_page(
    client: TestClient[Any], app: Any, pages: list[tuple[str, str]]
) -> dict[str, tuple[float, int, float, float, int]]:
    """Per page, one request: its time, statements and their execute time, and those of the
    statements that read the event table (``bench/console.py``'s statement log)."""
    log = StatementLog(app.state.db.engine)
    found = {}
    for _, path in pages:
        log.marks.clear()
        log.active = True
        started = time.perf_counter()
        client.get(path)
        ended = time.perf_counter()
        log.active = False
        costs, _ = log.costs(ended)
        reading = [c for c in costs if re.search(r"\bFROM event\b|\bJOIN event\b", c[2])]
        found[path] = (
            (ended - started) * 1000,
            len(costs),
            sum(c[0] for c in costs),
            sum(c[0] for c in reading),
            len(reading),
        )
    return found


PLANS = {
    "trail, first page (lead 1)": (
        "SELECT e.* FROM event e WHERE e.lead_id = 1 ORDER BY e.occurred_at DESC, e.id DESC"
        " LIMIT 51"
    ),
    "trail, a year back (lead 1), as trails.trail asks": (
        "SELECT e.* FROM event e WHERE e.lead_id = 1 AND e.occurred_at <= :at"
        " AND (e.occurred_at, e.id) < (:at, :id) ORDER BY e.occurred_at DESC, e.id DESC LIMIT 51"
    ),
    "trail, a year back (lead 1), the row comparison alone (before 5d303ad)": (
        "SELECT e.* FROM event e WHERE e.lead_id = 1 AND (e.occurred_at, e.id) < (:at, :id)"
        " ORDER BY e.occurred_at DESC, e.id DESC LIMIT 51"
    ),
    "lead page activity, 90 days (lead 1)": (
        "SELECT date(timezone('UTC', occurred_at)), type, count(*), sum(seconds) FROM event"
        " WHERE lead_id = 1 AND occurred_at >= :since AND occurred_at < :until GROUP BY 1, 2"
    ),
    "retention scan before a cutoff": (
        "SELECT id FROM event WHERE occurred_at < :cutoff LIMIT 5000"
    ),
    "ingestion's resent-uid check": "SELECT uid FROM event WHERE uid IN ('b202501-1', 'x')",
}


def print_plans(database: Database, now: datetime) -> None:
    at, event_id = trails.decode_cursor(cursor_a_year_back(database, 1, now))
    parameters = {
        "at": at,
        "id": event_id,
        "since": now - timedelta(days=90),
        "until": now,
        "cutoff": datetime.combine(partitions.add_months(partitions.month_of(now), -MONTHS + 1),
                                   datetime.min.time(), tzinfo=UTC) + timedelta(days=1),
    }  # fmt: skip
    with database.read() as session:
        total = len(partitions.partitions(session.connection()))
        print(f"\nPlans (EXPLAIN ANALYZE, BUFFERS; {total} partitions in all):")
        for name, statement in PLANS.items():
            plan = [
                line
                for (line,) in session.execute(
                    text("EXPLAIN (ANALYZE, BUFFERS) " + statement), parameters
                )
            ]
            read = {
                word
                for line in plan
                for word in line.replace("(", " ").split()
                if partitions.is_partition(word)
            }
            timing = next((line.strip() for line in plan if "Execution Time" in line), "")
            print(f"  {name}: {len(read)} of {total} partitions in the plan; {timing}")
            for line in plan[:14]:
                print(f"      {line}")
            if len(plan) > 14:
                print(f"      … {len(plan) - 14} more lines")


def time_retention(database: Database, url: str, now: datetime) -> None:
    months = sorted(loaded(database))
    oldest, following = months[0], months[1]
    cutoff = partitions.bounds(oldest)[1]
    days = (now.date() - cutoff.date()).days
    assert retention.cutoff_for(days, now) == cutoff
    with database.read() as session:
        name = partitions.partition_name(oldest)
        held = session.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
    before = loadavg()
    started = time.perf_counter()
    deleted = retention.delete_expired_events(database, days, now=now)
    took = time.perf_counter() - started
    print(
        f"\nRetention ({days} days: the cutoff {cutoff.date()} ends {oldest:%Y-%m}, {held:,}"
        f" events): delete_expired_events dropped the month in {took * 1000:,.0f} ms and"
        f" reported {deleted:,} (the statistics' estimate) (load before {before})"
    )
    # The row-by-row path for one day of the next month, as the daily pass deletes in the
    # month that straddles the cutoff: the same statements, rolled back.
    day_end = partitions.bounds(following)[0] + timedelta(days=1)
    rows = 0
    with psycopg_connection(url) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        while True:
            cursor.execute(
                "SELECT id FROM event WHERE occurred_at < %s LIMIT %s", (day_end, retention.CHUNK)
            )
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                cursor.execute(
                    "DELETE FROM event WHERE id = ANY(%s) AND occurred_at < %s", (ids, day_end)
                )
            rows += len(ids)
            if len(ids) < retention.CHUNK:
                break
        took_day = time.perf_counter() - started
        connection.rollback()
    days_in_month = (partitions.bounds(following)[1] - partitions.bounds(following)[0]).days
    print(
        f"  row by row, one day ({day_end.date() - timedelta(days=1)}): {rows:,} events in"
        f" {took_day * 1000:,.0f} ms ({rows / took_day:,.0f}/s, chunks of {retention.CHUNK:,};"
        f" rolled back); a whole month that way ≈ {took_day * days_in_month:,.0f} s"
    )


def main() -> None:
    postgres = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
    if not postgres:
        print("events_scale: PostgreSQL only; set LEADSHELF_TEST_POSTGRES_URL")
        return
    started = time.perf_counter()
    now = utcnow()
    say(f"events_scale: {TOTAL:,} events over {MONTHS} months, {LEADS:,} leads, lead 1's trail"
        f" {LONG_TRAIL:,}, seed {SEED}{' (smoke sizes)' if SMOKE else ''}")  # fmt: skip
    url = kept_url(postgres)
    reuse = False
    if KEEP:
        try:
            reuse = ready(Database(url), now)
        except Exception:
            reuse = False
    if not reuse:
        url = fresh_postgres(postgres, SUFFIX)
    database = Database(url)
    try:
        if reuse:
            say(f"re-using the kept database {make_url(url).database}")
            restore(database, url, now)
        else:
            upgrade_to_head(database)
            generate(database, url, now)
        with database.read() as session:
            names = partitions.partitions(session.connection())
            heap, everything = (
                sum(session.scalar(text(f"SELECT {f}('{name}')")) or 0 for name in names)
                for f in ("pg_relation_size", "pg_total_relation_size")
            )
        say(f"event table: {len(names)} partitions, {heap / 2**30:,.2f} GiB of rows,"
            f" {everything / 2**30:,.2f} GiB with their indexes")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            time_pages(url, Path(tmp), database, now)
        print_plans(database, now)
        time_retention(database, url, now)
    finally:
        database.dispose()
        if not KEEP:
            drop_database(url)
    say(f"(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
