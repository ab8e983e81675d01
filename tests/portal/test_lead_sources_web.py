"""A lead's original and latest source through the web, on SQLite and PostgreSQL: pages record
their visit from the address and the Referer header, and the lead page, the lead list (filter
and column), the CSV export and the Lead JSON show the first and latest source."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset
from tests.portal.forms import submit
from tests.support import html
from tracking import events
from tracking.models import Lead, Visitor
from tracking.pipeline.ingest import record
from tracking.sources.arrivals import arrival
from tracking.sources.models import Visit

LINKEDIN = "/library?utm_source=LinkedIn&utm_medium=social&utm_campaign=Q3-Launch"
GATED = "pricing-guide"
AD = "/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=ads&utm_content=b&gclid=abc123"
GOOGLE = "https://www.google.com/"
NOTHING = "\u2013"  # an en dash: no value
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


def row_cells(page: str, name: str) -> list[str]:
    """The lead page's Source row ``name``: its original and latest cell texts."""
    row = html(page).css_first(f"table.lead-sources tr.lead-source__{name}")
    assert row is not None, f"no {name} row"
    return [" ".join(cell.text(separator=" ").split()) for cell in row.css("td")]


def test_the_lead_page_shows_the_original_and_latest_source(
    client: TestClient[Litestar], db: Database, marketer: str
) -> None:
    make_asset(db, slug=GATED, gate="gated")
    lead_id = arrive_and_identify(client, db, "ada@example.com")
    with db.write() as session:  # an hour later the lead comes back from a Google ad
        browser = session.scalar(select(Visitor.id).where(Visitor.lead_id == lead_id))
        record(
            session,
            [events.PageView(visitor_id=browser, path="/", arrival=arrival(AD, GOOGLE))],
            now=utcnow() + timedelta(hours=1),
        )
    page = client.get(f"/console/leads/{lead_id}")
    assert page.status_code == 200
    assert row_cells(page.text, "source") == ["linkedin / social", "google / cpc"]
    assert row_cells(page.text, "channel") == ["social", "paid"]
    assert row_cells(page.text, "campaign") == ["q3-launch", "brand term ads · content b"]
    assert row_cells(page.text, "referrer") == ["none", "www.google.com"]
    assert row_cells(page.text, "click_id") == [NOTHING, "gclid:abc123"]
    assert row_cells(page.text, "landing")[0] == LINKEDIN


def test_a_lead_without_a_visit_says_so_on_its_page(
    client: TestClient[Litestar], db: Database, marketer: str
) -> None:
    with db.write() as session:
        session.add(Lead(email="api@example.com", search_text="api@example.com"))
    page = client.get(f"/console/leads/{lead_id_of(db, 'api@example.com')}")
    section = html(page.text).css_first("section.lead-source")
    assert section is not None
    assert "No visit recorded" in section.text()


@pytest.fixture
def three_leads(client: TestClient[Litestar], db: Database, marketer: str) -> dict[str, int]:
    """Ada from a LinkedIn campaign, Bob from Google search, Cy typed the address."""
    make_asset(db, slug=GATED, gate="gated")
    found = {}
    for name, url, referer in (
        ("ada", LINKEDIN, None),
        ("bob", "/library", "https://www.google.de/"),
        ("cy", "/library", None),
    ):
        client.cookies.delete("ls_visitor")
        headers = {"Referer": referer} if referer else {}
        found[name] = arrive_and_identify(client, db, f"{name}@example.com", url, **headers)
    return found


def listed(client: TestClient[Litestar], query: str) -> dict[str, str]:
    """The lead list's rows for ``query``: the lead's email name to its Original source cell."""
    page = client.get(f"/console/leads?{query}")
    assert page.status_code == 200, page.text
    rows = {}
    for row in html(page.text).css("tr.lead-row"):
        email = row.css_first("th .cell-sub")
        cell = row.css_first("td.cell-source")
        assert email is not None
        assert cell is not None
        rows[email.text().split("@")[0]] = " ".join(cell.text(separator=" ").split())
    return rows


def test_the_lead_list_shows_and_filters_by_the_original_source(
    client: TestClient[Litestar], three_leads: dict[str, int]
) -> None:
    assert listed(client, "") == {
        "ada": "linkedin / social q3-launch",
        "bob": "google / organic",
        "cy": "direct / none",
    }
    assert set(listed(client, "channel=social&channel=search")) == {"ada", "bob"}
    assert set(listed(client, "source=LinkedIn")) == {"ada"}
    assert set(listed(client, "campaign=Q3-Launch")) == {"ada"}
    assert set(listed(client, "channel=direct")) == {"cy"}
    assert listed(client, "channel=social&source=google") == {}
    form = html(client.get("/console/leads?channel=search").text)
    checked = [box.attributes["value"] for box in form.css("input[name=channel][checked]")]
    assert checked == ["search"]  # the view round-trips through the form


def test_an_unknown_channel_is_refused(client: TestClient[Litestar], marketer: str) -> None:
    page = client.get("/console/leads?channel=carrier-pigeon")
    assert page.status_code == 400
    assert "unknown channel" in page.text


def test_the_csv_export_has_the_first_and_latest_source(
    client: TestClient[Litestar], three_leads: dict[str, int]
) -> None:
    export = client.get("/console/leads/export.csv?channel=social")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert [row["email"] for row in rows] == ["ada@example.com"]
    (ada,) = rows
    assert {k: ada[f"first_{k}"] for k in ("channel", "source", "medium", "campaign")} == {
        "channel": "social",
        "source": "linkedin",
        "medium": "social",
        "campaign": "q3-launch",
    }
    assert ada["first_landing"] == LINKEDIN
    assert ada["latest_source"] == "linkedin"
    assert datetime.fromisoformat(ada["first_at"]).tzinfo is not None


@pytest.mark.parametrize("typed", ["100%_off\\", "x" * 500, "🚀 launch", "'; drop table lead; --"])
def test_any_typed_source_or_campaign_only_narrows_the_list(
    client: TestClient[Litestar], three_leads: dict[str, int], typed: str
) -> None:
    assert listed(client, urlencode({"source": typed, "campaign": typed})) == {}
