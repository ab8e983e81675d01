"""The lead page shows the lead's deals from the CRM (name, amount with its currency, stage,
dates, and when a lost deal sends the lead back to nurturing), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tests.support import html
from tracking.accounts.models import Account
from tracking.identity.identify import get_or_create_lead
from tracking.models import Lead

Client = TestClient[Litestar]


def post_deal(client: Client, token: str, **fields: Any) -> None:
    body = {"name": "Pilot", "amount": "900", "currency": "EUR", "stage": "open"} | fields
    response = client.post("/api/v1/deals", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text


def rows(client: Client, lead_id: int) -> list[list[str]]:
    page = html(client.get(f"/console/leads/{lead_id}").text)
    section = page.css_first("section.lead-deals")
    assert section is not None
    return [
        [cell.text(separator=" ", strip=True) for cell in row.css("th, td")]
        for row in section.css("tbody tr")
    ]


def test_the_lead_page_lists_the_leads_deals_newest_first(
    client: Client, db: Database, marketer: str
) -> None:
    with db.write() as session:
        ada, _ = get_or_create_lead(session, "ada@example.com", utcnow())
        bo, _ = get_or_create_lead(session, "bo@example.com", utcnow())
        account = Account(name="Difference Ltd")
        session.add(account)
        session.flush()
        ada_id, bo_id, account_id = ada.id, bo.id, account.id
        token = service.create_token(session, "crm-sync", "write")
    today = utcnow().replace(microsecond=0)
    post_deal(
        client,
        token,
        external_id="D-1",
        lead=ada_id,
        name="Engines, 40 seats",
        amount="12000.5",
        stage="won",
        created_at=(today - timedelta(days=40)).isoformat(),
        closed_at=(today - timedelta(days=3)).isoformat(),
    )
    post_deal(
        client,
        token,
        external_id="D-2",
        lead=ada_id,
        name="Engines, support",
        amount=2500,
        currency="usd",
        stage="lost",
        created_at=(today - timedelta(days=10)).isoformat(),
        closed_at=(today - timedelta(days=1)).isoformat(),
    )
    post_deal(client, token, external_id="D-3", account=account_id, name="Account only")

    day = "{:%-d %b %Y}".format
    recycle = today - timedelta(days=1) + timedelta(days=30)
    assert rows(client, ada_id) == [
        [
            "Engines, support D-2",
            "US$2,500.00",
            f"lost back to nurturing {day(recycle)} unless another deal is open or won",
            day(today - timedelta(days=10)),
            day(today - timedelta(days=1)),
        ],
        [
            "Engines, 40 seats D-1",
            "€12,000.50",
            "won",
            day(today - timedelta(days=40)),
            day(today - timedelta(days=3)),
        ],
    ]
    with db.read() as session:
        assert session.get_one(Lead, ada_id).lifecycle == "customer"
    assert rows(client, bo_id) == [["No deals yet: the CRM posts them to POST /api/v1/deals ."]]


def test_deal_names_are_shown_as_text(client: Client, db: Database, marketer: str) -> None:
    with db.write() as session:
        ada, _ = get_or_create_lead(session, "ada@example.com", utcnow())
        ada_id = ada.id
        token = service.create_token(session, "crm-sync", "write")
    post_deal(client, token, external_id="<b>D</b>", lead=ada_id, name="<script>x()</script>")

    page = html(client.get(f"/console/leads/{ada_id}").text)
    cell = page.css_first("section.lead-deals tbody th")
    assert cell is not None
    assert cell.css("script, b") == []
    assert cell.text(separator=" ", strip=True) == "<script>x()</script> <b>D</b>"
