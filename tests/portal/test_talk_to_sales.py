""" "Talk to sales": the demo-request form that routes a lead to sales at once (sales fast lane)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from portal.db import Database
from portal.settings import Settings
from tests.factories import make_asset
from tests.portal.forms import backdated, visitor_cookie
from tests.portal.sales_form import ANSWERS, form_values, send
from tests.support import app_for, html
from tracking.models import Consent, Event, Lead, LeadChange, ProfileFact

Client = TestClient[Litestar]


def typed_values(page_text: str) -> dict[str, str]:
    values = form_values(page_text)
    return {name: values[name] for name in ("email", "first_name", "company", "message")}


def test_the_form_asks_the_contact_and_an_unticked_consent(client: Client) -> None:
    tree = html(client.get("/talk-to-sales").text)

    form = tree.css_first("form.sales-form")
    assert form is not None
    names = [n.attributes.get("name") for n in form.css("input, textarea")]
    for name in ("email", "first_name", "last_name", "company", "phone", "message"):
        assert name in names
    assert "_csrf_token" in names
    assert "hp_website" in names
    consent = form.css_first('input[name="consent_marketing"]')
    assert consent is not None
    assert "checked" not in consent.attributes
    phone_label = tree.css_first('label[for="sales-phone"]')
    assert phone_label is not None
    assert "(optional)" in phone_label.text()


def test_every_public_page_links_to_it_and_decision_assets_end_with_it(
    client: Client, db: Database
) -> None:
    make_asset(db, slug="pricing-guide", stage="decision")
    make_asset(db, slug="what-is-scoring", stage="awareness")

    decision = html(client.get("/library/pricing-guide").text)
    awareness = html(client.get("/library/what-is-scoring").text)

    assert decision.css_first("#nav-talk-to-sales").attributes["href"] == "/talk-to-sales"
    assert decision.css_first("#footer-talk-to-sales") is not None
    cta = decision.css_first("aside.asset-cta #cta-talk-to-sales")
    assert cta is not None
    assert cta.attributes["href"] == "/talk-to-sales?asset=pricing-guide"
    assert awareness.css_first("#cta-talk-to-sales") is None
    assert awareness.css_first("#nav-talk-to-sales") is not None


def lifecycle_changes(db: Database, email: str) -> list[LeadChange]:
    with db.read() as session:
        lead = session.scalar(select(Lead).where(Lead.email == email))
        assert lead is not None
        return list(
            session.scalars(
                select(LeadChange)
                .where(LeadChange.lead_id == lead.id, LeadChange.kind == "lifecycle")
                .order_by(LeadChange.seq)
            )
        )


def test_a_request_stitches_the_trail_and_puts_the_lead_on_the_sales_fast_lane(
    client: Client, db: Database
) -> None:
    guide = make_asset(db, slug="pricing-guide", title="Pricing guide", stage="decision")
    client.get("/library/pricing-guide")  # read anonymously first
    before = client.cookies.get("ls_visitor")

    response = send(client, "?asset=pricing-guide", consent_marketing="yes", phone="+49 30 1234567")

    assert response.status_code == 303
    assert response.headers["location"] == "/talk-to-sales/thanks"
    assert visitor_cookie(response) is not None  # a fresh visitor id
    assert client.cookies.get("ls_visitor") != before
    with db.read() as session:
        lead = session.scalar(select(Lead).where(Lead.email == "ada@example.com"))
        assert lead is not None
        assert lead.lifecycle == "sql"
        facts = {
            f.field: (f.value, f.source, f.source_ref)
            for f in session.scalars(select(ProfileFact).where(ProfileFact.lead_id == lead.id))
        }
        trail = [
            (e.type, e.asset_id)
            for e in session.scalars(
                select(Event).where(Event.lead_id == lead.id).order_by(Event.id)
            )
        ]
        request = session.scalar(select(Event).where(Event.type == "demo_request"))
        consent = session.scalar(select(Consent).where(Consent.lead_id == lead.id))
    assert facts["company"] == ("Analytical Engines Ltd", "form", "talk-to-sales")
    assert facts["phone"] == ("+49 30 1234567", "form", "talk-to-sales")
    assert "message" not in facts
    assert ("asset_view", guide.id) in trail  # the anonymous read now belongs to Ada
    assert ("demo_request", guide.id) in trail
    assert request is not None
    assert request.properties == {"message": ANSWERS["message"]}
    assert consent is not None
    assert consent.granted
    changes = lifecycle_changes(db, "ada@example.com")
    assert changes[-1].new == "sql"
    assert changes[-1].reason.startswith("sales fast lane")
    thanks = html(client.get("/talk-to-sales/thanks").text)
    assert "Thank you" in thanks.css_first("h2").text()


def test_with_htmx_the_thank_you_replaces_the_form(client: Client, db: Database) -> None:
    response = send(client, htmx=True)

    assert response.status_code == 200
    tree = html(response.text)
    assert tree.css_first("#sales-form h2").text() == "Thank you, Ada!"
    assert tree.css_first("form") is None
    assert tree.css_first("#opt-in-notice") is None  # the box was not ticked: no mail to confirm
    assert lifecycle_changes(db, "ada@example.com")[-1].new == "sql"


def test_a_ticked_box_is_answered_with_where_the_confirmation_went(
    client: Client, db: Database
) -> None:
    response = send(client, htmx=True, consent_marketing="yes")

    assert response.status_code == 200
    notice = html(response.text).css_first("#opt-in-notice")
    assert notice is not None
    assert "confirm your subscription with the link we have just sent" in notice.text()


def test_wrong_input_is_shown_next_to_the_field_and_keeps_the_values(
    client: Client, db: Database
) -> None:
    response = send(client, email="not-an-address", phone="call me")

    assert response.status_code == 422
    tree = html(response.text)
    assert tree.css_first("#sales-email-error") is not None
    assert tree.css_first("#sales-phone-error") is not None
    assert typed_values(response.text)["company"] == "Analytical Engines Ltd"
    with db.read() as session:
        assert session.scalar(select(Lead)) is None


def test_fixing_a_mistake_at_once_is_timed_from_when_the_form_was_opened(
    client: Client, db: Database
) -> None:
    mistake = send(client, email="ada@example")  # opened half a minute ago, a typo
    assert mistake.status_code == 422
    data = {**form_values(mistake.text), **ANSWERS}  # fixed and sent again straight away
    fixed = client.post("/talk-to-sales", data=data, follow_redirects=False)
    assert fixed.status_code == 303, html(fixed.text).css_first("#sales-notice")
    with db.read() as session:
        assert session.scalars(select(Lead.email)).all() == ["ada@example.com"]


def test_a_form_sent_too_fast_is_refused_and_keeps_the_values(client: Client, db: Database) -> None:
    response = send(client, started=backdated(0))

    assert response.status_code == 422
    tree = html(response.text)
    assert tree.css_first("#sales-notice") is not None
    assert typed_values(response.text) == {k: ANSWERS[k] for k in typed_values(response.text)}
    with db.read() as session:
        assert session.scalar(select(Lead)) is None


def test_a_filled_honeypot_is_refused_and_keeps_the_values(client: Client, db: Database) -> None:
    response = send(client, hp_website="http://spam.example")

    assert response.status_code == 400
    assert typed_values(response.text)["message"] == ANSWERS["message"]
    with db.read() as session:
        assert session.scalar(select(Lead)) is None


def test_the_form_needs_its_csrf_token(client: Client) -> None:
    client.get("/talk-to-sales")
    response = client.post("/talk-to-sales", data={**ANSWERS, "_started": backdated()})
    assert response.status_code == 403


@pytest.fixture
def limited(settings: Settings, tmp_path: Path) -> Any:
    model = tmp_path / "model.toml"
    model.write_text("[profiling]\nsubmissions_per_ip = 1\nrate_window_seconds = 600\n")
    with (
        app_for(settings.with_overrides(model=model)) as built,
        TestClient(built) as limited_client,
    ):
        yield limited_client


def test_too_many_requests_from_one_address_get_a_429_that_keeps_the_values(
    limited: Client, db: Database
) -> None:
    assert send(limited).status_code == 303
    response = send(limited, email="grace@example.com")

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "try again in" in html(response.text).css_first("#sales-notice").text()
    assert typed_values(response.text)["email"] == "grace@example.com"
    with db.read() as session:
        assert session.scalar(select(Lead).where(Lead.email == "grace@example.com")) is None
