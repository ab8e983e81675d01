"""A public form sent back quickly: its real mistakes are named first; only a correctly filled
form is judged on speed (the minimum fill time holds bots off, not people who mistype)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from portal.db import Database
from tests.factories import make_asset
from tests.portal.forms import asked, backdated, form_fields
from tests.support import html
from tracking.models import Lead

Client = TestClient[Litestar]
TYPO = "ada@example"
QUICKER = "quicker than we expected"


@pytest.fixture
def gated(db: Database) -> Any:
    return make_asset(db, slug="pricing-guide", kind="whitepaper", stage="decision", gate="gated")


def lead_count(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Lead)) or 0


def test_a_fast_gate_form_with_a_wrong_email_names_the_email(
    client: Client, db: Database, gated: Any
) -> None:
    page = client.get("/library/pricing-guide/gate")
    answers = {name: "Ada" for name in asked(page.text)}
    data = {**form_fields(page.text), **answers, "email": TYPO, "_started": backdated(0)}
    response = client.post("/library/pricing-guide/unlock", data=data, follow_redirects=False)

    assert response.status_code == 422
    tree = html(response.text)
    assert "name@company.com" in tree.css_first("#gate-email-error").text()
    assert tree.css_first("#gate-notice") is None  # no word about speed
    assert tree.css_first("#gate-email").attributes["value"] == TYPO
    assert lead_count(db) == 0


def test_a_fast_gate_form_filled_in_correctly_is_still_too_fast(
    client: Client, db: Database, gated: Any
) -> None:
    page = client.get("/library/pricing-guide/gate")
    answers = {name: "Ada" for name in asked(page.text)}
    data = {
        **form_fields(page.text),
        **answers,
        "email": "ada@example.com",
        "_started": backdated(0),
    }
    response = client.post("/library/pricing-guide/unlock", data=data, follow_redirects=False)

    assert response.status_code == 422
    assert QUICKER in html(response.text).css_first("#gate-notice").text()
    assert lead_count(db) == 0


def test_a_fast_sales_form_with_a_wrong_email_names_the_email(client: Client, db: Database) -> None:
    page = client.get("/talk-to-sales")
    form = html(page.text).css_first("form.sales-form")
    data = {
        node.attributes["name"] or "": node.attributes.get("value") or ""
        for node in form.css("input[name]")
        if node.attributes.get("type") != "checkbox"
    }
    data.update(
        email=TYPO, first_name="Ada", last_name="L", company="Engines", _started=backdated(0)
    )
    response = client.post("/talk-to-sales", data=data, follow_redirects=False)

    assert response.status_code == 422
    tree = html(response.text)
    assert "name@company.com" in tree.css_first("#sales-email-error").text()
    assert tree.css_first("#sales-notice") is None
    assert lead_count(db) == 0
