"""``POST /api/v1/deals``: the CRM posts its outcomes; the same external id updates the deal, an
identical repeat changes nothing, and the lead's lifecycle follows (opportunity, customer)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tracking.accounts.models import Account
from tracking.deals.models import Deal
from tracking.identity.identify import get_or_create_lead
from tracking.models import FunnelMilestone, Lead

Client = TestClient[Litestar]


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "crm-sync", "write")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ada(db: Database) -> int:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "ada@example.com", utcnow())
        lead.lifecycle = "sql"
        lead.account_id = None  # an account of its own, whatever its domain
        return lead.id


def deal(**fields: Any) -> dict[str, Any]:
    return {
        "external_id": "D-123",
        "name": "Analytical Engines, 40 seats",
        "amount": "12000.50",
        "currency": "eur",
        "stage": "open",
    } | fields


def send(client: Client, auth: dict[str, str], body: Any) -> Any:
    return client.post("/api/v1/deals", json=body, headers=auth)


def lifecycle(db: Database, lead_id: int) -> str:
    with db.read() as session:
        return session.get_one(Lead, lead_id).lifecycle


def test_a_new_deal_is_created_and_makes_its_lead_an_opportunity(
    client: Client, auth: dict[str, str], db: Database, ada: int
) -> None:
    response = send(client, auth, deal(lead=ada, created_at="2026-11-02T09:00:00+01:00"))

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "external_id": "D-123",
        "lead": ada,
        "account": None,
        "name": "Analytical Engines, 40 seats",
        "amount": "12000.50",
        "currency": "EUR",
        "stage": "open",
        "created_at": "2026-11-02T08:00:00Z",
        "closed_at": None,
        "updated_at": body["updated_at"],
    }
    assert lifecycle(db, ada) == "opportunity"
    with db.read() as session:
        kinds = session.scalars(
            select(FunnelMilestone.kind).where(FunnelMilestone.lead_id == ada)
        ).all()
    assert "opportunity" in kinds


def test_the_same_external_id_updates_and_an_identical_repeat_answers_the_same_deal(
    client: Client, auth: dict[str, str], db: Database, ada: int
) -> None:
    created = send(client, auth, deal(lead=ada)).json()
    repeat = send(client, auth, deal(lead=ada))
    won = send(client, auth, deal(lead=ada, stage="won", amount=15000, currency="EUR"))

    assert repeat.status_code == 200
    assert repeat.json() == created  # nothing changed, not even updated_at
    assert won.status_code == 200
    assert won.json()["id"] == created["id"]
    assert (won.json()["stage"], won.json()["amount"]) == ("won", "15000.00")
    closed = datetime.fromisoformat(won.json()["closed_at"])
    assert abs(closed - utcnow()) < timedelta(minutes=1)  # closed now: the CRM did not say
    assert lifecycle(db, ada) == "customer"
    again = send(client, auth, deal(lead=ada, stage="won", amount=15000, currency="EUR"))
    assert again.json() == won.json()  # the default close time is kept, not moved on
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Deal)) == 1


def test_amounts_are_kept_exactly_whether_sent_as_numbers_or_strings(
    client: Client, auth: dict[str, str], db: Database, ada: int
) -> None:
    send(client, auth, deal(external_id="A", lead=ada, amount=19.99))
    send(client, auth, deal(external_id="B", lead=ada, amount="0.10"))
    send(client, auth, deal(external_id="C", lead=ada, amount=999_999_999_999.99))

    with db.read() as session:
        stored = dict(session.execute(select(Deal.external_id, Deal.amount_minor)).all())
    assert stored == {"A": 1999, "B": 10, "C": 99_999_999_999_999}


def test_a_lead_is_found_by_email_or_by_its_id_as_a_string_and_lends_its_account(
    client: Client, auth: dict[str, str], db: Database, ada: int
) -> None:
    with db.write() as session:
        engines = Account(domain="engines.example", name="Analytical Engines")
        session.add(engines)
        session.flush()
        session.get_one(Lead, ada).account_id = engines.id
        account_id = engines.id

    by_email = send(client, auth, deal(email="Ada@Example.com")).json()
    by_string = send(client, auth, deal(external_id="D-2", lead=str(ada))).json()
    account_only = send(client, auth, deal(external_id="D-3", account=account_id))

    assert (by_email["lead"], by_email["account"]) == (ada, account_id)
    assert (by_string["lead"], by_string["account"]) == (ada, account_id)
    assert account_only.status_code == 201
    assert (account_only.json()["lead"], account_only.json()["account"]) == (None, account_id)


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"lead": 424242}, "no lead 424242"),
        ({"lead": 2**40}, f"no lead {2**40}"),
        ({"account": 77}, "no account 77"),
        (
            {"email": "bo@example.com"},
            "no lead with the address bo@example.com (deals never create leads)",
        ),
    ],
)
def test_unknown_leads_and_accounts_are_404s_and_no_lead_is_made(
    client: Client,
    auth: dict[str, str],
    db: Database,
    ada: int,
    fields: dict[str, Any],
    detail: str,
) -> None:
    response = send(client, auth, deal(**fields))

    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "detail": detail}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
        assert session.scalar(select(func.count()).select_from(Deal)) == 0


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        (
            {"amount": "12.345", "currency": "EURO"},
            {
                "amount": "has more than two decimals",
                "currency": "must be an ISO 4217 code of three letters, like EUR",
            },
        ),
        ({"amount": -1}, {"amount": "must not be negative"}),
        ({"amount": "NaN"}, {"amount": "must be a number"}),
        (
            {"external_id": "D\x00123"},
            {"external_id": "contains the control character U+0000 at position 2"},
        ),
        ({"external_id": "x" * 201}, {"external_id": "is longer than 200 characters"}),
        (
            {"created_at": "2026-11-02T09:00:00"},
            {"created_at": "needs a time zone (Z or an offset such as +01:00)"},
        ),
        (
            {"stage": "won", "closed_at": "2099-01-01T00:00:00Z"},
            {"closed_at": "is in the future"},
        ),
        ({"closed_at": "2026-11-02T09:00:00Z"}, {"closed_at": "an open deal has no closed_at"}),
        ({"lead": "ada"}, {"lead": "must be an id: a number, or a string of digits"}),
        ({"lead": None}, {"lead": "give the deal's lead (lead or email) or its account"}),
        (
            {"email": "ada@example.com"},
            {"lead": "give the lead's id or its email, not both"},
        ),
    ],
)
def test_refused_content_is_a_422_naming_each_part(
    client: Client,
    auth: dict[str, str],
    db: Database,
    ada: int,
    fields: dict[str, Any],
    detail: dict[str, str],
) -> None:
    response = send(client, auth, deal(lead=ada) | fields)

    assert response.status_code == 422
    assert response.json() == {"error": "Unprocessable Entity", "detail": detail}
    assert lifecycle(db, ada) == "sql"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Deal)) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"external_id": "D-1", "lead": 1, "amount": "1", "currency": "EUR", "stage": "open"},
        {**deal(lead=1), "stage": "pending"},
        {**deal(lead=1), "probability": 0.5},
        {**deal(lead=1), "amount": True},
        [deal(lead=1)],
    ],
    ids=["no name", "unknown stage", "unknown key", "amount not a number", "not an object"],
)
def test_malformed_bodies_are_400s(client: Client, auth: dict[str, str], body: Any) -> None:
    response = send(client, auth, body)

    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}


def test_an_oversized_body_is_refused_before_it_is_read(
    client: Client, auth: dict[str, str], ada: int
) -> None:
    response = send(client, auth, deal(lead=ada, name="x" * 20_000))

    assert response.status_code == 413
    assert response.json()["error"] == "Request Entity Too Large"


def test_a_read_token_cannot_post_deals(client: Client, db: Database, ada: int) -> None:
    with db.write() as session:
        token = service.create_token(session, "dashboard", "read")

    response = send(client, {"Authorization": f"Bearer {token}"}, deal(lead=ada))

    assert response.status_code == 403
    assert lifecycle(db, ada) == "sql"
