"""``GET /api/v1/leads/{id}/recommendations``: the next-best content for a lead, with reasons,
from the same recommender as the portal, for mails that other systems send."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from content.orm import utcnow
from nurture.recommendations import recommend_for_lead
from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.pipeline.ingest import record
from tracking.rules.config import Model

Client = TestClient[Litestar]
MODEL = Model()


@pytest.fixture
def api(db: Database) -> dict[str, str]:
    """A read token: recommendations are a read, like the lead itself."""
    with db.write() as session:
        token = service.create_token(session, "newsletter-tool", "read")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reader(db: Database) -> int:
    """A lead who read a lead-scoring basics article, in a library of 13 assets of six kinds
    (the recommender shows at most two of a kind)."""
    basics = make_asset(db, title="Scoring basics", slug="scoring-basics", topics=["scoring"])
    make_asset(
        db, title="Scoring models compared", slug="scoring-compared", kind="whitepaper",
        stage="consideration", topics=["scoring"],
    )  # fmt: skip
    make_asset(db, title="Pricing datasheet", slug="pricing", kind="datasheet", stage="decision")
    for n, kind in enumerate(["article", "ebook", "checklist", "datasheet", "case_study"] * 2):
        make_asset(db, title=f"CRM {kind} {n}", slug=f"crm-{n}", kind=kind, topics=["crm"])
    now = utcnow()
    with db.write() as session:
        found = identify.identify(
            session,
            visitor_id="ada-laptop",
            email="ada@example.com",
            answers={"first_name": "Ada"},
            consent=None,
            source=Source("form", "scoring-basics"),
            now=now,
        )
        record(
            session,
            [
                events.AssetView(visitor_id=found.visitor_id, asset_id=basics.id, occurred_at=now),
                events.ReadProgress(
                    visitor_id=found.visitor_id,
                    asset_id=basics.id,
                    seconds=120,
                    depth=0.95,
                    occurred_at=now,
                ),
            ],
            now=now,
            model=MODEL,
        )
        return found.lead_id


def get(client: Client, api: dict[str, str], lead_id: int, query: str = "") -> Any:
    return client.get(f"/api/v1/leads/{lead_id}/recommendations{query}", headers=api)


def test_the_next_reads_come_with_their_asset_and_reason(
    client: Client, api: dict[str, str], reader: int, db: Database
) -> None:
    response = get(client, api, reader)
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 5  # the default
    for item in items:
        assert set(item) == {"asset", "reason"}
        assert set(item["asset"]) == {"slug", "title", "kind", "stage"}
        assert item["reason"]
    slugs = [item["asset"]["slug"] for item in items]
    assert "scoring-basics" not in slugs  # read already
    with db.read() as session:
        portal = recommend_for_lead(session, reader, client.app.state.model, utcnow(), 5)
    assert [(i["asset"]["slug"], i["reason"]) for i in items] == [
        (r.slug, r.reason) for r in portal
    ]
    compared = next(i for i in items if i["asset"]["slug"] == "scoring-compared")
    assert compared["asset"] == {
        "slug": "scoring-compared",
        "title": "Scoring models compared",
        "kind": "whitepaper",
        "stage": "consideration",
    }


@pytest.mark.parametrize(("limit", "count"), [(1, 1), (3, 3), (20, 11)])
def test_limit_caps_the_list(
    client: Client, api: dict[str, str], reader: int, limit: int, count: int
) -> None:
    """Eleven to offer: one whitepaper and two of each other kind (the basics article is read,
    a third datasheet is held back)."""
    response = get(client, api, reader, f"?limit={limit}")
    assert response.status_code == 200
    assert len(response.json()["items"]) == count


@pytest.mark.parametrize("limit", ["0", "21", "-1", "five"])
def test_a_limit_out_of_range_is_refused(
    client: Client, api: dict[str, str], reader: int, limit: str
) -> None:
    response = get(client, api, reader, f"?limit={limit}")
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}


@pytest.mark.parametrize("lead_id", [424242, 2**31, 0])
def test_an_unknown_lead_is_a_json_404(
    client: Client, api: dict[str, str], db: Database, lead_id: int
) -> None:
    response = get(client, api, lead_id)
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "detail": f"no lead {lead_id}"}


def test_a_lead_with_no_trail_gets_the_first_stage(
    client: Client, api: dict[str, str], db: Database
) -> None:
    make_asset(db, slug="pricing", stage="decision", kind="datasheet")
    make_asset(db, slug="intro", stage="awareness")
    with db.write() as session:
        lead_id = identify.identify(
            session, visitor_id=None, email="bo@example.com", answers={}, consent=None,
            source=Source("api", "crm"),
        ).lead_id  # fmt: skip
    items = get(client, api, lead_id).json()["items"]
    assert items
    assert items[0]["asset"]["stage"] == "awareness"


def test_recommendations_need_a_token(client: Client, reader: int) -> None:
    response = client.get(f"/api/v1/leads/{reader}/recommendations")
    assert response.status_code == 401
    assert set(response.json()) == {"error", "detail"}
