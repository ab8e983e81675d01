"""Issue 19 §4: the console's lead list paged by cursors against the old offset pages.

For every sort order of the list (in its natural direction): the first, middle and last page,
p50 / p99 in ms, on SQLite and PostgreSQL, side by side in one run:

- ``offset``: the page as main read it before cursors (``f2ff9c3``: count the matches, then
  ``ORDER BY … OFFSET (n-1)*50 LIMIT 50`` over the lead rows), on a copy of the database with
  the indexes of that commit (single-column ``created_at`` and ``last_activity_at`` only);
- ``cursor``: ``lead_pages.page`` with the Next link's cursor (``after=``), with this commit's
  ``(column, id)`` indexes;
- ``page=N``: an old link served by this commit (page N's first lead found by counting index
  entries once, then the same cursor read).

Each sample is one call in its own read transaction, as the console's handler makes it
(count, page, the shown leads' visits); offset and cursor samples alternate. Then a lead's
trail (already cursor-paged, console and API): its first, middle and last page of 200.

Sizes: ``BENCH_KEYSET_LEADS`` (100,000), ``BENCH_KEYSET_SAMPLES`` (30 per figure),
``BENCH_KEYSET_TRAIL`` (50,000 events of one lead, as many of others);
``BENCH_KEYSET_BACKENDS=sqlite|postgresql`` runs one; PostgreSQL runs when
``LEADSHELF_TEST_POSTGRES_URL`` is set (databases ``<db>_bench_keyset`` and
``<db>_bench_keyset_offset``, dropped at the end). ``BENCH_KEYSET_KEEP=<dir>`` keeps the
databases (SQLite files in that folder, PostgreSQL's not dropped) and times them again without
generating when they hold the same number of leads. ``BENCH_SECONDS=1`` (CI's smoke run): 2,000
leads, 3 samples, a 1,000-event trail.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The repository instead of bench/ itself on the path: imports read `bench.…`, `portal.…`.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from sqlalchemy import create_engine, func, insert, inspect, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from bench._common import fresh_postgres  # noqa: E402
from portal.db import Database  # noqa: E402
from portal.migrate import upgrade_to_head  # noqa: E402
from portal.settings import Settings  # noqa: E402
from tracking.folding import search_text  # noqa: E402
from tracking.models import LIST_SORT_COLUMNS, Event, Lead  # noqa: E402
from tracking.reporting import lead_pages, leadlist, trails  # noqa: E402
from tracking.reporting.leadlist import DESCENDING_FIRST, LeadFilter, Sort  # noqa: E402
from tracking.sources.lead_sources import sources_of  # noqa: E402

SMOKE = os.environ.get("BENCH_SECONDS") == "1"


def _env(name: str, full: int, smoke: int) -> int:
    return int(os.environ.get(name, smoke if SMOKE else full))


LEADS = _env("BENCH_KEYSET_LEADS", 100_000, 2_000)
SAMPLES = _env("BENCH_KEYSET_SAMPLES", 30, 3)
TRAIL = _env("BENCH_KEYSET_TRAIL", 50_000, 1_000)
BACKENDS = os.environ.get("BENCH_KEYSET_BACKENDS", "sqlite,postgresql").split(",")
KEEP = os.environ.get("BENCH_KEYSET_KEEP", "")
PER_PAGE = leadlist.PER_PAGE
TRAIL_PAGE = 200
BATCH = 5_000
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ida", "Jonas",
         "Karin", "Lukas", "Mia", "Noah", "Olga", "Paul", "Rita", "Sven", "Tara", "Xu")  # fmt: skip
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Zimmer")  # fmt: skip
WORDS = ("Acme", "Nord", "Blue", "Stone", "Apex", "Vertex", "Delta", "Orbit", "Pixel", "Quantum",
         "River", "Summit", "Tandem", "Union", "Vista", "Zenith")  # fmt: skip
SUFFIXES = ("GmbH", "AG", "Ltd", "Inc", "SA", "BV", "Group", "Labs", "Systems", "Software")
STAGES = ("awareness",) * 11 + ("consideration",) * 5 + ("decision",) * 3 + ("customer",)
LIFECYCLES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "recycled")
CATEGORIES = ("known", "two_touch", "profiling_question", "qualified_question", "bant")


def lead_rows(rng: random.Random, count: int) -> Iterator[list[dict[str, Any]]]:
    """Leads over one year, wide like the real rows (an ~800-byte journey state), with many
    ties in every sort: fit 0-100, engagement in tenths (a third at 0), a tenth nameless."""
    batch: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        age = rng.randrange(1, 365 * 86_400)
        created = NOW - timedelta(seconds=age)
        active = created + timedelta(seconds=rng.randrange(min(age, 120 * 86_400)))
        name = "" if rng.random() < 0.1 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        company = "" if rng.random() < 0.1 else f"{rng.choice(WORDS)} {rng.choice(SUFFIXES)}"
        email = f"lead{n}@{rng.choice(WORDS).lower()}{n % 97}.example"
        stage = rng.choice(STAGES)
        evidence = {s: round(rng.random() * 30, 3) for s in ("awareness", "consideration")}
        journey = {
            "evidence": evidence,
            "top": {s: [[f"asset-{rng.randrange(60)}", round(rng.random(), 3)] for _ in range(5)]
                    for s in ("awareness", "consideration", "decision")},
            "as_of": active.isoformat(),
            "points": [round(rng.random() * 5, 2) for _ in range(40)],
        }  # fmt: skip
        batch.append(
            {
                "email": email,
                "name": name,
                "company": company,
                "search_text": search_text(email, name, company),
                "journey_stage": stage,
                "stage_confidence": round(rng.random(), 2),
                "fit_score": rng.randrange(101),
                "engagement": 0.0 if rng.random() < 0.33 else round(rng.random() * 80, 1),
                "engagement_as_of": active,
                "grade": rng.choice("ABCDE"),
                "category": rng.choice(CATEGORIES),
                "lifecycle": rng.choice(LIFECYCLES),
                "journey": journey,
                "milestones": [],
                "created_at": created,
                "last_activity_at": active,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def event_rows(rng: random.Random, long_lead: int, leads: int) -> Iterator[list[dict[str, Any]]]:
    """``TRAIL`` events of one lead among as many of other leads, over the year."""
    batch: list[dict[str, Any]] = []
    for n in range(2 * TRAIL):
        lead_id = long_lead if n % 2 == 0 else rng.randrange(1, leads + 1)
        batch.append(
            {
                "visitor_id": f"v{lead_id}",
                "lead_id": lead_id,
                "type": "read_progress",
                "occurred_at": NOW - timedelta(seconds=rng.randrange(365 * 86_400)),
                "seconds": 15.0,
                "depth": round(rng.random(), 2),
                "properties": {},
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build(database: Database) -> int:
    """Migrate to head, load the leads and the trail; the long trail's lead id."""
    upgrade_to_head(database)
    rng = random.Random(19)
    with database.write_connection() as connection:
        for batch in lead_rows(rng, LEADS):
            connection.execute(insert(Lead), batch)
        long_lead = connection.scalar(select(func.min(Lead.id))) or 1
        for batch in event_rows(rng, long_lead, LEADS):
            connection.execute(insert(Event), batch)
    analyze(database)
    return long_lead


def analyze(database: Database) -> None:
    """Fresh planner statistics (committed: the SQLite engine ignores driver autocommit)."""
    if database.is_sqlite:
        with database.write_connection() as connection:
            connection.execute(text("ANALYZE"))
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
        raw.execute(text("VACUUM ANALYZE"))


OFFSET_INDEXES = (
    *(f"DROP INDEX ix_lead_{name}_id" for name in LIST_SORT_COLUMNS),
    "CREATE INDEX ix_lead_last_activity_at ON lead (last_activity_at)",
    "CREATE INDEX ix_lead_created_at ON lead (created_at)",
)
"""From this commit's lead indexes back to those of the commit before cursors."""


def offset_copy(database: Database, workdir: Path, pg_url: str | None) -> Database:
    """The same rows with the indexes the offset pages had."""
    if database.is_sqlite:
        source = Path(str(database.url.database))
        target = workdir / "offset.db"
        database.engine.dispose()
        shutil.copy(source, target)
        copy = Database(f"sqlite:///{target}")
    else:
        assert pg_url is not None
        base = make_url(str(database.url.render_as_string(hide_password=False)))
        name = f"{base.database}_offset"
        database.engine.dispose()
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
        admin.dispose()
        copy = Database(base.set(database=name).render_as_string(hide_password=False))
    with copy.write_connection() as connection:
        for statement in OFFSET_INDEXES:
            connection.execute(text(statement))
    analyze(copy)
    indexes = {index["name"] for index in inspect(copy.engine).get_indexes("lead")}
    assert "ix_lead_created_at" in indexes, indexes
    assert "ix_lead_fit_score_id" not in indexes, indexes
    return copy


def offset_page(database: Database, view: LeadFilter) -> int:
    """A page as main read it before cursors (f2ff9c3's ``leadlist.page``)."""
    with database.read() as session:
        total, capped = lead_pages.count(session, view)
        pages = max(1, -(-total // PER_PAGE))
        number = view.page if capped else min(view.page, pages)
        dialect = session.get_bind().dialect.name
        query = lead_pages._ordered(lead_pages._page_query(view, dialect, capped), view)
        leads = list(session.scalars(query.offset((number - 1) * PER_PAGE).limit(PER_PAGE)))
        sources_of(session, leads)
    return len(leads)


def cursor_page(database: Database, view: LeadFilter) -> int:
    with database.read() as session:
        return len(lead_pages.page(session, view).leads)


def timed(call: Callable[[], int]) -> float:
    started = time.perf_counter()
    shown = call()
    elapsed = (time.perf_counter() - started) * 1000
    assert shown > 0, "a page without leads measures nothing"
    return elapsed


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} / {p99:.1f}"


def positions(database: Database, sort: Sort) -> dict[str, tuple[int, LeadFilter]]:
    """The first, middle and last page of a sort: its number and its cursor view."""
    view = LeadFilter(sort=sort, descending=sort in DESCENDING_FIRST)
    last = -(-LEADS // PER_PAGE)
    found: dict[str, tuple[int, LeadFilter]] = {}
    for name, number in (("first", 1), ("middle", last // 2), ("last", last)):
        with database.read() as session:
            placed = lead_pages.page(session, replace(view, page=number)).view
        found[name] = (number, placed)
    return found


def list_pages(new: Database, old: Database) -> Iterator[list[str]]:
    for sort in Sort:
        for name, (number, placed) in positions(new, sort).items():
            numbered = replace(placed.whole, page=number)
            samples: dict[str, list[float]] = {"offset": [], "cursor": [], "page=N": []}
            for round_ in range(SAMPLES + 2):
                seen = {
                    "offset": timed(lambda view=numbered: offset_page(old, view)),
                    "cursor": timed(lambda view=placed: cursor_page(new, view)),
                    "page=N": timed(lambda view=numbered: cursor_page(new, view)),
                }
                if round_ >= 2:  # two warm-up rounds
                    for key, value in seen.items():
                        samples[key].append(value)
            ratio = statistics.median(samples["offset"]) / statistics.median(samples["cursor"])
            offset, cursor = figures(samples["offset"]), figures(samples["cursor"])
            old_link = figures(samples["page=N"])
            yield [sort.value, f"{name} ({number:,})", offset, cursor, f"{ratio:.1f}x", old_link]


def trail_pages(database: Database, lead_id: int) -> Iterator[list[str]]:
    cursors: list[str | None] = [None]
    with database.read() as session:
        while True:
            following = trails.trail(session, lead_id, TRAIL_PAGE, cursors[-1]).next_cursor
            if following is None:
                break
            cursors.append(following)
    last_full = len(cursors) - 2 if len(cursors) > 1 else 0  # the last page may hold a few
    for name, index in (("first", 0), ("middle", len(cursors) // 2), ("last full", last_full)):
        cursor = cursors[index]
        samples = []
        for round_ in range(SAMPLES + 2):

            def read(cursor: str | None = cursor) -> int:
                with database.read() as session:
                    return len(trails.trail(session, lead_id, TRAIL_PAGE, cursor).items)

            took = timed(read)
            if round_ >= 2:
                samples.append(took)
        yield [f"{name} ({index + 1:,} of {len(cursors):,})", figures(samples)]


def table(header: list[str], rows: Iterator[list[str]]) -> None:
    """A Markdown table, each row printed as soon as it is measured."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|", flush=True)
    for row in rows:
        print("| " + " | ".join(row) + " |", flush=True)


def kept(database: Database) -> int | None:
    """The long trail's lead of a database kept from an earlier run of the same size."""
    try:
        with database.read() as session:
            if session.scalar(select(func.count()).select_from(Lead)) == LEADS:
                return session.scalar(select(func.min(Lead.id)))
    except DBAPIError:  # no database or no tables yet: generate it
        return None
    return None


def open_database(backend: str, workdir: Path, pg_url: str | None) -> Database:
    if backend == "sqlite":
        return Database(f"sqlite:///{workdir / 'keyset.db'}")
    assert pg_url is not None
    if KEEP:
        base = make_url(Settings(database_url=pg_url).resolved_database_url)
        url = base.set(database=f"{base.database}_bench_keyset")
        database = Database(url.render_as_string(hide_password=False))
        if kept(database) is not None:
            return database
        database.engine.dispose()
    return Database(
        Settings(database_url=fresh_postgres(pg_url, "bench_keyset")).resolved_database_url
    )


def run(backend: str, workdir: Path, pg_url: str | None) -> None:
    new = open_database(backend, workdir, pg_url)
    started = time.perf_counter()
    long_lead = kept(new) if KEEP else None
    if long_lead is None:
        long_lead = build(new)
    old = offset_copy(new, workdir, pg_url)
    print(f"\n## {backend}: {LEADS:,} leads, {2 * TRAIL:,} events "
          f"(built in {time.perf_counter() - started:.0f} s)\n")  # fmt: skip
    print("Lead list, p50 / p99 in ms per page of 50 (count, page, the leads' visits):\n")
    header = ["sort", "page", "offset (before)", "cursor (after)", "p50 ratio", "old page=N link"]
    table(header, list_pages(new, old))
    print(f"\nA lead's trail, p50 / p99 in ms per page of {TRAIL_PAGE}:\n")
    table(["trail page", "cursor"], trail_pages(new, long_lead))
    old.engine.dispose()
    new.engine.dispose()
    if backend == "postgresql" and not KEEP:
        admin_url = make_url(new.url.render_as_string(hide_password=False)).set(database="postgres")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in (new.url.database, f"{new.url.database}_offset"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    git = shutil.which("git") or "git"
    revision = subprocess.run(  # noqa: S603 (git, to name the commit measured)
        [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"# keyset pages, main at {revision}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"loadavg at start: {Path('/proc/loadavg').read_text().strip()}")
    pg_url = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="bench-keyset-") as tmp:
        workdir = Path(KEEP or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for backend in BACKENDS:
            if backend == "postgresql" and not pg_url:
                print("\n(PostgreSQL skipped: LEADSHELF_TEST_POSTGRES_URL is not set)")
                continue
            run(backend, workdir, pg_url)
    print(f"\nloadavg at end: {Path('/proc/loadavg').read_text().strip()}")
    print(json.dumps({"leads": LEADS, "samples": SAMPLES, "trail": TRAIL}))


if __name__ == "__main__":
    main()
