"""Accounts in the JSON API on SQLite and PostgreSQL: the list with its filters and pages, one
account with its people, and the account in the Lead JSON."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import update

from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tracking.accounts import membership
from tracking.accounts.models import Account
from tracking.identity import identify
from tracking.identity.facts import Source
from tracking.models import Lead

Client = TestClient[Litestar]


@pytest.fixture
def api(db: Database) -> dict[str, str]:
    """A read token: accounts are read like leads."""
    with db.write() as session:
        token = service.create_token(session, "crm-sync", "read")
    return {"Authorization": f"Bearer {token}"}


def person(db: Database, email: str, engagement: float, stage: str, **answers: str) -> int:
    with db.write() as session:
        lead_id = identify.identify(
            session,
            visitor_id=None,
            email=email,
            answers=answers,
            consent=None,
            source=Source("form", "guide"),
        ).lead_id
        session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(engagement=engagement, engagement_as_of=utcnow(), journey_stage=stage)
        )
    return lead_id


@pytest.fixture
def people(client: Client, db: Database) -> dict[str, int]:
    ids = {
        "ada": person(db, "ada@pipewise.example", 22, "decision", job_title="CMO"),
        "bo": person(db, "bo@pipewise.example", 20, "consideration"),
        "cy": person(db, "cy@northwind.example", 3, "awareness"),
        "ed": person(db, "ed@gmail.com", 9, "awareness"),
    }
    client.app.state.runner.run_all_once(["account-figures"])
    return ids


def account_id(db: Database, lead_id: int) -> int:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert lead.account_id is not None
        return lead.account_id


def test_the_list_answers_accounts_with_their_figures(
    client: Client, api: dict[str, str], people: dict[str, int], db: Database
) -> None:
    answer = client.get("/api/v1/accounts", headers=api)
    assert answer.status_code == 200
    items = answer.json()["items"]
    pipewise = next(item for item in items if item["domain"] == "pipewise.example")
    assert pipewise == {
        "id": str(account_id(db, people["ada"])),
        "domain": "pipewise.example",
        "name": "Pipewise",
        "engagement_score": pytest.approx(32.0, abs=0.01),  # 22 + 20/2
        "stage": "decision",
        "common_stage": "decision",  # one each: the further wins
        "people": 2,
        "last_activity": pipewise["last_activity"],
        "created_at": pipewise["created_at"],
    }
    assert {item["domain"] for item in items} == {"pipewise.example", "northwind.example"}
    assert answer.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "domains"),
    [
        ("q=north", {"northwind.example"}),
        ("domain=PIPEWISE.example", {"pipewise.example"}),
        ("stage=awareness", {"northwind.example"}),
        ("min_people=2", {"pipewise.example"}),
        ("q=none-such", set()),
    ],
)
def test_filters_narrow_the_list(
    client: Client, api: dict[str, str], people: dict[str, int], query: str, domains: set[str]
) -> None:
    answer = client.get(f"/api/v1/accounts?{query}", headers=api)
    assert answer.status_code == 200
    assert {item["domain"] for item in answer.json()["items"]} == domains


def test_pages_follow_the_cursor(client: Client, api: dict[str, str], db: Database) -> None:
    with db.write() as session:
        for n in range(5):
            session.add(Account(name=f"Firm {n}", domain=f"firm{n}.example"))
    seen: list[str] = []
    url = "/api/v1/accounts?limit=2"
    while url:
        body = client.get(url, headers=api).json()
        seen += [item["name"] for item in body["items"]]
        url = (
            f"/api/v1/accounts?limit=2&cursor={body['next_cursor']}" if body["next_cursor"] else ""
        )
    assert seen == [f"Firm {n}" for n in range(5)]


def test_one_account_lists_its_people(
    client: Client, api: dict[str, str], people: dict[str, int], db: Database
) -> None:
    answer = client.get(f"/api/v1/accounts/{account_id(db, people['ada'])}", headers=api)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert (body["name"], body["people"]) == ("Pipewise", 2)
    assert [
        (p["email"], p["job_title"], p["journey_stage"], p["placed_by_hand"]) for p in body["leads"]
    ] == [
        ("ada@pipewise.example", "CMO", "decision", False),
        ("bo@pipewise.example", "", "consideration", False),
    ]
    missing = client.get("/api/v1/accounts/987654", headers=api)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found", "detail": "no account 987654"}


def test_the_lead_json_carries_its_account(
    client: Client, api: dict[str, str], people: dict[str, int], db: Database
) -> None:
    ada = client.get(f"/api/v1/leads/{people['ada']}", headers=api).json()
    assert ada["account"] == {
        "id": str(account_id(db, people["ada"])),
        "domain": "pipewise.example",
        "name": "Pipewise",
    }
    assert client.get(f"/api/v1/leads/{people['ed']}", headers=api).json()["account"] is None
    with db.write() as session:
        made = membership.create(session, "Private readers", "", by="mia@leadshelf.example")
        membership.assign(session, made.id, [people["ed"]])
        made_id = made.id
    ed = client.get(f"/api/v1/leads/{people['ed']}", headers=api).json()
    assert ed["account"] == {"id": str(made_id), "domain": None, "name": "Private readers"}
