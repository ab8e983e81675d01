"""A lead's original and latest source through the web, on SQLite and PostgreSQL: pages record
their visit from the address and the Referer header, and the lead page, the lead list (filter
and column), the CSV export and the Lead JSON show the first and latest source."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset
from tests.portal.forms import submit
from tracking.models import Lead
from tracking.sources.models import Visit

LINKEDIN = "/library?utm_source=LinkedIn&utm_medium=social&utm_campaign=Q3-Launch"
GATED = "pricing-guide"
TOUCH_KEYS = {"at", "source", "medium", "campaign", "term", "content", "referrer", "click_id"}


def visits(db: Database) -> list[Visit]:
    with db.read() as session:
        return list(session.scalars(select(Visit).order_by(Visit.id)))


def lead_id_of(db: Database, email: str) -> int:
    with db.read() as session:
        found = session.scalar(select(Lead.id).where(Lead.email == email))
    assert found is not None
    return found


@pytest.fixture
def api(db: Database) -> dict[str, str]:
    with db.write() as session:
        return {"Authorization": f"Bearer {service.create_token(session, 'crm', 'read')}"}


def arrive_and_identify(
    client: TestClient[Litestar], db: Database, email: str, url: str = LINKEDIN, **headers: Any
) -> int:
    """A prospect arrives at ``url``, opens a gated asset and identifies through its form."""
    assert client.get(url, headers=headers).status_code == 200
    client.get(f"/library/{GATED}", headers={"Referer": f"http://testserver.local{url}"})
    sent = submit(client, GATED, email=email, first_name="Ada", last_name="Lovelace")
    assert sent.status_code in (200, 303), sent.text
    return lead_id_of(db, email)


def test_a_page_records_its_visit_from_the_address_and_referrer(
    client: TestClient[Litestar], db: Database
) -> None:
    make_asset(db, slug=GATED, gate="gated")
    client.get(LINKEDIN, headers={"Referer": "https://www.linkedin.com/feed/"})
    client.get(f"/library/{GATED}", headers={"Referer": f"http://testserver.local{LINKEDIN}"})
    (visit,) = visits(db)  # the second page, from our own page, continues the visit
    assert (visit.source, visit.medium, visit.campaign, visit.channel, visit.referrer) == (
        "linkedin",
        "social",
        "q3-launch",
        "social",
        "www.linkedin.com",
    )
    assert visit.landing == LINKEDIN


def test_an_untracked_browser_records_no_visit(client: TestClient[Litestar], db: Database) -> None:
    client.get(LINKEDIN, headers={"DNT": "1"})
    client.get(LINKEDIN, headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
    assert visits(db) == []


def test_the_lead_json_carries_the_first_and_latest_source(
    client: TestClient[Litestar], db: Database, api: dict[str, str]
) -> None:
    make_asset(db, slug=GATED, gate="gated")
    lead_id = arrive_and_identify(client, db, "ada@example.com")
    found = client.get(f"/api/v1/leads/{lead_id}", headers=api).json()["source"]
    assert found["first"] == found["latest"]
    assert set(found["first"]) == TOUCH_KEYS
    assert {k: found["first"][k] for k in ("source", "medium", "campaign", "click_id")} == {
        "source": "linkedin",
        "medium": "social",
        "campaign": "q3-launch",
        "click_id": "",
    }
    listed = client.get("/api/v1/leads", headers=api).json()["items"]
    assert [item["source"]["first"]["campaign"] for item in listed] == ["q3-launch"]


def test_a_lead_without_a_visit_has_no_source_in_its_json(
    client: TestClient[Litestar], db: Database, api: dict[str, str]
) -> None:
    with db.write() as session:
        session.add(Lead(email="api@example.com", search_text="api@example.com"))
    lead_id = lead_id_of(db, "api@example.com")
    found = client.get(f"/api/v1/leads/{lead_id}", headers=api).json()
    assert found["source"] == {"first": None, "latest": None}
