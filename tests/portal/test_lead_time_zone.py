"""The lead's own time zone (programs wait "until Tuesday 10:00" in it): the public forms carry
a hidden ``tz`` field that ``static/js/timezone.js`` fills with the browser's IANA zone; the
server keeps a real zone on the lead (the latest wins) and ignores anything else, never
troubling the visitor with it."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from portal.db import Database
from tests.factories import make_asset
from tests.portal.forms import form_fields, submit
from tests.portal.sales_form import form_values, send
from tests.support import html
from tracking.identity.identify import browser_time_zone
from tracking.models import Lead, Unlock

Client = TestClient[Litestar]
ADA = "ada@example.com"


@pytest.fixture
def gated(db: Database) -> Any:
    make_asset(db, title="ROI calculator", slug="roi-calculator", gate="gated")
    return make_asset(db, title="Pricing guide", slug="pricing-guide", gate="gated")


def zone_of(db: Database, email: str = ADA) -> str:
    with db.read() as session:
        return session.scalars(select(Lead.time_zone).where(Lead.email == email)).one()


def unlocks(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Unlock)) or 0


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        (" America/Argentina/Buenos_Aires ", "America/Argentina/Buenos_Aires"),
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("", ""),
        (None, ""),
        ("Mars/Olympus_Mons", ""),
        ("europe/berlin", ""),
        ("America", ""),
        ("/etc/passwd", ""),
        ("../../etc/passwd", ""),
        ("Europe/Berlin\x00", ""),
        ("Europe/" + "B" * 60, ""),
    ],
)
def test_only_a_real_iana_zone_of_at_most_64_characters_is_kept(
    sent: str | None, kept: str
) -> None:
    assert browser_time_zone(sent) == kept


def test_the_forms_carry_an_empty_tz_field_and_every_page_the_script_that_fills_it(
    client: Client, gated: Any
) -> None:
    gate = client.get("/library/pricing-guide/gate")
    sales = client.get("/talk-to-sales")

    assert form_fields(gate.text)["tz"] == ""
    assert form_values(sales.text)["tz"] == ""
    for page in (gate, sales, client.get("/")):
        scripts = [node.attributes.get("src") or "" for node in html(page.text).css("script")]
        assert any("/js/timezone.js" in src for src in scripts)
    script = client.get("/static/js/timezone.js")
    assert script.status_code == 200
    assert "resolvedOptions().timeZone" in script.text


def test_a_gate_form_with_the_browsers_zone_stores_it_on_the_lead(
    client: Client, db: Database, gated: Any
) -> None:
    response = submit(
        client, "pricing-guide", email=ADA, first_name="Ada", last_name="L", tz="Europe/Berlin"
    )

    assert response.status_code == 303
    assert zone_of(db) == "Europe/Berlin"


@pytest.mark.parametrize("bogus", ["Mars/Olympus_Mons", "../../etc/passwd", "x" * 500])
def test_a_bogus_zone_is_ignored_and_the_form_still_works(
    client: Client, db: Database, gated: Any, bogus: str
) -> None:
    response = submit(client, "pricing-guide", email=ADA, first_name="Ada", last_name="L", tz=bogus)

    assert response.status_code == 303
    assert response.headers["location"] == "/library/pricing-guide"
    assert unlocks(db) == 1
    assert zone_of(db) == ""


def test_the_latest_zone_wins_and_a_bogus_one_keeps_it(
    client: Client, db: Database, gated: Any
) -> None:
    submit(client, "pricing-guide", email=ADA, first_name="Ada", last_name="L", tz="Europe/Berlin")
    # The same browser, travelling: its next form (only new questions) reports another zone.
    moved = submit(
        client, "roi-calculator", tz="America/New_York", company="Engines", job_title="CTO"
    )
    assert moved.status_code == 303, moved.text
    assert zone_of(db) == "America/New_York"

    # Then a demo request from the same browser, with a value that is no zone.
    assert send(client, tz="Nowhere/Atlantis").status_code == 303

    assert zone_of(db) == "America/New_York"


def test_a_browser_that_only_claims_a_known_address_changes_no_zone(
    client: Client, db: Database, gated: Any
) -> None:
    submit(client, "pricing-guide", email=ADA, first_name="Ada", last_name="L", tz="Europe/Berlin")
    client.cookies.clear()  # another browser, whose typed address proves nothing

    claimed = submit(
        client, "roi-calculator", email=ADA, first_name="Ada", last_name="L", tz="Asia/Tokyo"
    )

    assert claimed.status_code in (200, 303)
    assert zone_of(db) == "Europe/Berlin"


def test_talk_to_sales_stores_the_zone_and_ignores_a_bogus_one(
    client: Client, db: Database
) -> None:
    assert send(client, tz="Europe/Vienna").status_code == 303
    client.cookies.clear()
    assert (
        send(client, tz="Europe/Vienna'; DROP TABLE lead;--", email="bo@example.com").status_code
        == 303
    )

    assert zone_of(db) == "Europe/Vienna"
    assert zone_of(db, "bo@example.com") == ""


def test_the_console_lead_page_names_the_zone(
    client: Client, db: Database, gated: Any, marketer: str
) -> None:
    submit(client, "pricing-guide", email=ADA, first_name="Ada", last_name="L", tz="Asia/Kolkata")
    with db.read() as session:
        lead_id = session.scalars(select(Lead.id).where(Lead.email == ADA)).one()

    page = html(client.get(f"/console/leads/{lead_id}").text)

    zone = page.css_first(".lead-zone")
    assert zone is not None
    assert zone.text() == "time zone Asia/Kolkata"
