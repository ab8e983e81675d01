"""Assets in the JSON API: what an integrator reads about the library and how it is read."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from content.models import Asset
from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.identity.unlocks import unlock
from tracking.identity.visitors import new_visitor_id
from tracking.pipeline.ingest import record
from tracking.reporting.asset_stats import asset_stats

Client = TestClient[Litestar]


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "bi-dashboard", "read")
    return {"Authorization": f"Bearer {token}"}


def read(db: Database, asset: Asset, seconds: float, depth: float, download: bool = False) -> str:
    """One browser views the asset, reads for ``seconds`` to ``depth`` and maybe downloads."""
    visitor = new_visitor_id()
    tracked: list[events.TrackedEvent] = [
        events.AssetView(visitor_id=visitor, asset_id=asset.id),
        events.ReadProgress(visitor_id=visitor, asset_id=asset.id, seconds=seconds, depth=depth),
    ]
    if download:
        tracked.append(events.Download(visitor_id=visitor, asset_id=asset.id))
    with db.write() as session:
        record(session, tracked)
    return visitor


def test_an_asset_shows_stage_topics_gate_and_engagement(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    guide = make_asset(
        db,
        slug="pricing-guide",
        title="Pricing guide",
        kind="whitepaper",
        stage="decision",
        gate="gated",
        topics=["pricing", "lead-scoring"],
    )
    read(db, guide, 40, 0.95, download=True)
    read(db, guide, 20, 0.3)
    visitor = read(db, guide, 0, 0.0)
    with db.write() as session:
        found = identify.identify(
            session,
            visitor_id=visitor,
            email="ada@example.com",
            answers={},
            consent=None,
            source=Source("form", "pricing-guide"),
        )
        unlock(session, found.lead_id, guide.id)

    response = client.get("/api/v1/assets/pricing-guide", headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("slug", "title", "kind", "stage", "gate")} == {
        "slug": "pricing-guide",
        "title": "Pricing guide",
        "kind": "whitepaper",
        "stage": "decision",
        "gate": "gated",
    }
    assert sorted(body["topics"]) == ["lead-scoring", "pricing"]
    assert body["url"].endswith("/library/pricing-guide")
    assert body["engagement"] == {
        "views": 3,
        "unique_visitors": 3,
        "unlocks": 1,
        "downloads": 1,
        "average_engaged_seconds": 20.0,
        "completion_rate": pytest.approx(1 / 3, abs=1e-3),
    }


def test_an_untouched_asset_has_zero_engagement(db: Database) -> None:
    asset = make_asset(db)
    with db.read() as session:
        stats = asset_stats(session, [asset.id])
    assert stats[asset.id].views == 0
    assert stats[asset.id].completion_rate == 0.0


def test_drafts_are_not_in_the_api(client: Client, db: Database, auth: dict[str, str]) -> None:
    make_asset(db, slug="next-quarter", published=False)

    single = client.get("/api/v1/assets/next-quarter", headers=auth)
    listed = client.get("/api/v1/assets", headers=auth).json()

    assert single.status_code == 404
    assert single.json()["error"] == "Not Found"
    assert listed == {"items": [], "next_cursor": None}


def pages(client: Client, auth: dict[str, str], **params: Any) -> list[list[str]]:
    found: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/assets", params=query, headers=auth).json()
        found.append([item["slug"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_the_list_pages_with_a_cursor_and_filters_combine(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    for n in range(5):
        make_asset(db, slug=f"guide-{n}", stage="decision" if n % 2 else "awareness")
    make_asset(db, slug="case-1", kind="case_study", stage="decision", topics=["pricing"])

    assert pages(client, auth, limit=2) == [
        ["guide-0", "guide-1"],
        ["guide-2", "guide-3"],
        ["guide-4", "case-1"],
    ]
    assert pages(client, auth, stage="decision", limit=10) == [["guide-1", "guide-3", "case-1"]]
    assert pages(client, auth, topic="pricing") == [["case-1"]]
    assert pages(client, auth, kind="case_study", stage="awareness") == [[]]
