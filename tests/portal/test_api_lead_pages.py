"""The API's lead list paged by its cursor on SQLite and PostgreSQL: every lead exactly once,
with a filter, while leads change between pages; a made-up cursor is a JSON 400."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import delete, update

from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tracking.models import Lead

Client = TestClient[Litestar]


@pytest.fixture
def api(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "crm-sync", "read")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def crowd(db: Database) -> list[int]:
    """Twenty-three leads, every third at grade A."""
    now = utcnow()
    with db.write() as session:
        leads = [
            Lead(
                email=f"p{n:02d}@example.org",
                grade="AB"[min(n % 3, 1)],
                created_at=now - timedelta(days=n),
                last_activity_at=now - timedelta(hours=n),
            )
            for n in range(23)
        ]
        session.add_all(leads)
        session.flush()
        return [lead.id for lead in leads]


def pages(
    client: Client, api: dict[str, str], between: object = None, **params: object
) -> list[int]:
    """The ids of every page from the first, following ``next_cursor``; ``between`` runs
    after each page."""
    seen: list[int] = []
    cursor = None
    while True:
        query = {**params, "limit": 4} | ({"cursor": cursor} if cursor else {})
        answer = client.get("/api/v1/leads", params=query, headers=api)
        assert answer.status_code == 200
        body = answer.json()
        seen += [int(item["id"]) for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if callable(between):
            between(len(seen))


def test_the_cursor_visits_every_lead_once(
    client: Client, api: dict[str, str], crowd: list[int]
) -> None:
    assert pages(client, api) == crowd
    assert pages(client, api, grade="A") == crowd[::3]


def test_leads_changing_between_pages_do_not_repeat_or_hide_unchanged_ones(
    client: Client, api: dict[str, str], db: Database, crowd: list[int]
) -> None:
    added: list[int] = []

    def change(shown: int) -> None:
        with db.write() as session:
            session.execute(update(Lead).where(Lead.id == crowd[0]).values(grade="C"))
            if shown == 8:  # one not yet listed goes
                session.execute(delete(Lead).where(Lead.id == crowd[-1]))
            lead = Lead(email=f"new{shown}@example.org")
            session.add(lead)
            session.flush()
            added.append(lead.id)

    seen = pages(client, api, between=change)
    assert seen == crowd[:-1] + added  # new leads come last (the list is in creation order)


@pytest.mark.parametrize("cursor", ["garbage", "MA", "LTU", "OTk5OTk5OTk5OTk5"])  # 0, -5, 10^12
def test_a_made_up_cursor_is_a_json_400(client: Client, api: dict[str, str], cursor: str) -> None:
    answer = client.get("/api/v1/leads", params={"cursor": cursor}, headers=api)
    assert answer.status_code == 400
    assert answer.json()["detail"] == "cursor is not valid; start again without one"
