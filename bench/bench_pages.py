"""In-process render time of the home page and /library over 10,000 published assets.

Builds a temporary SQLite database with generated assets (8 topics, all kinds and
stages), builds the search index, then times requests through Litestar's test
client (routing, database, templates; no network). Prints p50/p99 per page.

Run: make bench   (or .venv/bin/python bench/bench_pages.py; BENCH_ASSETS changes the size)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar.testing import TestClient

from content import indexer
from content.catalog import CatalogCache
from content.models import Asset, ContentChange, Kind, Topic
from content.search.index import SearchIndex
from content.taxonomy import STAGE_NAMES
from portal.app import create_app
from portal.db import Database
from portal.migrate import upgrade_to_head
from portal.settings import Settings

ASSETS = int(os.environ.get("BENCH_ASSETS", "10000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100"))
WORDS = (  # noqa: SIM905
    "lead scoring nurturing funnel pipeline webinar intent fit engagement budget authority "
    "timeframe persona journey awareness consideration decision content campaign email "
    "automation attribution segment account revenue sales marketing handoff qualified"
).split()
TOPICS = [
    "lead-scoring",
    "marketing-automation",
    "content-marketing",
    "email-nurturing",
    "account-based-marketing",
    "sales-alignment",
    "crm-integration",
    "data-privacy",
]


def populate(database: Database) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    with database.write() as session:
        topics = [Topic(slug=slug, label=slug.replace("-", " ").capitalize()) for slug in TOPICS]
        session.add_all(topics)
        for n in range(ASSETS):
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 600)))
            asset = Asset(
                slug=f"asset-{n}",
                title=" ".join(rng.choice(WORDS) for _ in range(5)).capitalize(),
                summary=" ".join(rng.choice(WORDS) for _ in range(25)),
                body=body,
                kind=rng.choice(list(Kind)).value,
                stage=rng.choice(STAGE_NAMES),
                language="de" if n % 7 == 0 else "en",
                status="published",
                published_at=now - timedelta(minutes=n),
                featured=n % 500 == 0,
                topics=rng.sample(topics, 2),
            )
            session.add(asset)
            if n % 1000 == 999:
                session.flush()
        session.flush()
        for asset_id in range(1, ASSETS + 1):
            session.add(ContentChange(asset_id=asset_id, action="published"))


def time_requests(
    client: TestClient,  # type: ignore[type-arg]
    label: str,
    paths: list[str],
    *,
    cold: bool = False,
) -> None:
    timings = []
    for i in range(REQUESTS):
        path = paths[i % len(paths)]
        if cold:
            client.app.state.catalog_cache = CatalogCache()  # every request computes from scratch
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    timings.sort()
    p99 = timings[max(0, int(len(timings) * 0.99) - 1)]
    label = f"{label} ({'cold' if cold else 'warm'})"
    print(f"{label:<42} p50 {statistics.median(timings):7.2f} ms   p99 {p99:7.2f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_keys=("bench-key-0123456789abcdef",))
        database = Database(settings.resolved_database_url)
        upgrade_to_head(database)
        started = time.perf_counter()
        populate(database)
        print(f"{ASSETS} assets generated in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with database.read() as session:
            indexer.rebuild(session, SearchIndex(settings.search_dir))
        print(f"search index built in {time.perf_counter() - started:.1f} s")
        database.dispose()
        app = create_app(settings)
        with TestClient(app) as client:
            client.get("/")  # warm the template cache
            pages = [
                ("GET /", ["/"]),
                ("GET /library", ["/library", "/library?page=5"]),
                (
                    "GET /library facets",
                    ["/library?kind=webinar", "/library?topic=crm-integration"],
                ),
                ("GET /library?q=", ["/library?q=scoring", "/library?q=webinar+budget"]),
            ]
            for label, paths in pages:
                time_requests(client, label, paths, cold=True)
                time_requests(client, label, paths)
            time_requests(
                client, "GET /library/{slug}", ["/library/asset-1", f"/library/asset-{ASSETS // 2}"]
            )


if __name__ == "__main__":
    main()
