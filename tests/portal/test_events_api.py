"""The JSON API of tracking: a lead's trail and the events import, as an integrator sees them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import ColumnElement, func, select

from content.models import Asset
from content.orm import utcnow
from portal.accounts import service
from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity import identify as identification
from tracking.identity.event_import import MAX_EVENTS
from tracking.identity.facts import Source
from tracking.identity.identify import Identification
from tracking.models import Event, Lead, Visitor
from tracking.pipeline.ingest import record

Client = TestClient[Litestar]
FORM = Source("form", "pricing-guide")


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "webinar-platform")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def webinar(db: Database) -> Asset:
    return make_asset(
        db,
        title="Pipewise live demo",
        slug="pipewise-live-demo",
        kind="webinar",
        stage="decision",
        webinar_starts_at="2026-09-01T15:00:00+00:00",
    )


def identify(db: Database, email: str) -> Identification:
    with db.write() as session:
        return identification.identify(
            session, visitor_id=None, email=email, answers={}, consent=None, source=FORM
        )


def count(db: Database, model: type, *where: ColumnElement[bool]) -> int:
    with db.read() as session:
        total = session.scalar(select(func.count()).select_from(model).where(*where))
    return int(total or 0)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)


def post_events(client: Client, auth: dict[str, str], *items: dict[str, Any]) -> Any:
    return client.post("/api/v1/events", json={"events": list(items)}, headers=auth)


def attendance(**fields: Any) -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "type": "webinar_attend",
        "asset": "pipewise-live-demo",
        "occurred_at": iso(ago(days=2)),
        "seconds": 2400,
        **fields,
    }


# GET /api/v1/leads/{id}/trail


def test_a_trail_answers_items_newest_first_and_a_cursor(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    ada = identify(db, "ada@example.com")
    first, second = ago(hours=3), ago(hours=2)
    with db.write() as session:
        record(
            session,
            [
                events.ReadProgress(
                    visitor_id=ada.visitor_id,
                    asset_id=webinar.id,
                    seconds=15,
                    depth=0.62,
                    occurred_at=first,
                ),
                events.CtaClick(visitor_id=ada.visitor_id, target="demo", occurred_at=second),
            ],
        )

    response = client.get(f"/api/v1/leads/{ada.lead_id}/trail", headers=auth)

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    click, progress = body["items"]
    assert set(click) == {"at", "type", "asset", "seconds", "depth", "properties"}
    assert datetime.fromisoformat(click["at"]) == second
    assert click == {
        "at": click["at"],
        "type": "cta_click",
        "asset": None,
        "seconds": None,
        "depth": None,
        "properties": {"target": "demo"},
    }
    assert datetime.fromisoformat(progress["at"]) == first
    assert progress["type"] == "read_progress"
    assert progress["asset"] == {
        "slug": "pipewise-live-demo",
        "title": "Pipewise live demo",
        "kind": "webinar",
        "stage": "decision",
    }
    assert (progress["seconds"], progress["depth"], progress["properties"]) == (15.0, 0.62, {})


def test_trail_pages_follow_the_cursor_to_the_end(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    ada = identify(db, "ada@example.com")
    moment = ago(hours=1)
    with db.write() as session:
        record(
            session,
            [
                events.CtaClick(visitor_id=ada.visitor_id, target=f"t{n}", occurred_at=moment)
                for n in range(7)
            ],
        )
    targets: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        body = client.get(f"/api/v1/leads/{ada.lead_id}/trail", params=params, headers=auth).json()
        pages += 1
        targets += [item["properties"]["target"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert pages == 3
    assert targets == [f"t{n}" for n in reversed(range(7))]


def test_the_trail_of_an_unknown_lead_is_a_json_404(client: Client, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/leads/424242/trail", headers=auth)
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "detail": "no lead 424242"}


def test_a_bad_cursor_is_a_json_400(client: Client, db: Database, auth: dict[str, str]) -> None:
    ada = identify(db, "ada@example.com")
    response = client.get(
        f"/api/v1/leads/{ada.lead_id}/trail", params={"cursor": "garbage"}, headers=auth
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "cursor is not valid; start again without one"


@pytest.mark.parametrize("event_id", [10**30, 2**63, True, 0, -5])
def test_a_forged_cursor_id_is_a_json_400(
    client: Client, db: Database, auth: dict[str, str], event_id: object
) -> None:
    import base64
    import json

    ada = identify(db, "ada@example.com")
    raw = json.dumps([iso(ago(minutes=1)), event_id]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get(
        f"/api/v1/leads/{ada.lead_id}/trail", params={"cursor": cursor}, headers=auth
    )
    assert response.status_code == 400


def test_a_lead_id_beyond_the_database_range_is_a_404(client: Client, auth: dict[str, str]) -> None:
    response = client.get(f"/api/v1/leads/{2**63}/trail", headers=auth)
    assert response.status_code == 404


@pytest.mark.parametrize("limit", [0, 501, -1])
def test_a_limit_outside_1_to_500_is_a_400(
    client: Client, db: Database, auth: dict[str, str], limit: int
) -> None:
    ada = identify(db, "ada@example.com")
    response = client.get(
        f"/api/v1/leads/{ada.lead_id}/trail", params={"limit": limit}, headers=auth
    )
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}


def test_the_tracking_api_needs_a_token(client: Client, db: Database) -> None:
    ada = identify(db, "ada@example.com")
    trail = client.get(f"/api/v1/leads/{ada.lead_id}/trail")
    wrong = client.get(
        f"/api/v1/leads/{ada.lead_id}/trail", headers={"Authorization": "Bearer lsk_nope"}
    )
    imported = client.post("/api/v1/events", json={"events": [attendance()]})
    assert [trail.status_code, wrong.status_code, imported.status_code] == [401, 401, 401]
    assert set(trail.json()) == {"error", "detail"}
    assert count(db, Event) == 0


# POST /api/v1/events: accepted


def test_an_event_with_an_email_only_creates_the_lead(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    attended = ago(days=2)
    response = post_events(
        client,
        auth,
        attendance(
            email="Ada@Example.com",
            occurred_at=iso(attended),
            id="zoom-1234-ada",
            properties={"room": "main"},
        ),
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0}
    with db.read() as session:
        lead = session.scalars(select(Lead)).one()
        event = session.scalars(select(Event)).one()
        visitor = session.get(Visitor, f"lead-{lead.id}")
    assert lead.email == "ada@example.com"
    assert visitor is not None
    assert (event.visitor_id, event.lead_id, event.type) == (
        f"lead-{lead.id}",
        lead.id,
        "webinar_attend",
    )
    assert (event.asset_id, event.seconds, event.depth, event.uid) == (
        webinar.id,
        2400.0,
        None,
        "zoom-1234-ada",
    )
    assert event.occurred_at == attended
    assert event.properties == {"room": "main"}


def test_an_event_with_a_visitor_only_stays_anonymous(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(
        client, auth, {"visitor": "crm_42", "type": "webinar_register", "asset": webinar.slug}
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0}
    assert count(db, Lead) == 0
    with db.read() as session:
        event = session.scalars(select(Event)).one()
        assert session.get(Visitor, "crm_42") is not None
    assert (event.visitor_id, event.lead_id, event.type) == ("crm_42", None, "webinar_register")
    # Without occurred_at the event happened when it arrived.
    assert abs((event.occurred_at - utcnow()).total_seconds()) < 60


def test_an_event_with_visitor_and_email_is_the_leads_on_that_visitor(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(client, auth, attendance(visitor="zoom-ada"))
    assert response.status_code == 200
    with db.read() as session:
        lead_id = session.scalars(select(Lead.id)).one()
        event = session.scalars(select(Event)).one()
    assert (event.visitor_id, event.lead_id) == ("zoom-ada", lead_id)
    trail = client.get(f"/api/v1/leads/{lead_id}/trail", headers=auth).json()
    assert [(i["type"], i["asset"]["slug"], i["seconds"]) for i in trail["items"]] == [
        ("webinar_attend", "pipewise-live-demo", 2400.0)
    ]


def test_one_email_in_many_events_is_one_lead(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(
        client,
        auth,
        attendance(email="ada@example.com"),
        attendance(email="ADA@example.com", type="webinar_register"),
        attendance(email="bob@example.com"),
    )
    assert response.json() == {"accepted": 3, "duplicates": 0}
    assert count(db, Lead) == 2
    with db.read() as session:
        ada = session.scalars(select(Lead.id).where(Lead.email == "ada@example.com")).one()
    assert count(db, Event, Event.lead_id == ada) == 2


def test_resending_the_same_ids_stores_nothing_new(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    batch = [
        attendance(id="zoom-1234-ada"),
        attendance(email="bob@example.com", id="zoom-1234-bob"),
        attendance(email="eve@example.com"),  # without an id a resend is a new event
    ]
    first = post_events(client, auth, *batch)
    again = post_events(client, auth, *batch[:2])
    assert first.json() == {"accepted": 3, "duplicates": 0}
    assert again.status_code == 200
    assert again.json() == {"accepted": 2, "duplicates": 2}
    assert count(db, Event) == 3
    assert count(db, Lead) == 3


def test_the_same_id_twice_in_one_request_is_stored_once(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(client, auth, attendance(id="zoom-twice"), attendance(id="zoom-twice"))
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 1}
    assert count(db, Event) == 1


# POST /api/v1/events: refused


def test_one_bad_event_refuses_the_whole_request(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(
        client,
        auth,
        attendance(id="zoom-0001"),
        attendance(email="bob@example.com", type="webinar_watch"),
        attendance(email="eve@example.com"),
        attendance(email="mallory@example.com", depth=2),
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body["detail"]["events"]) == {"1", "3"}
    assert body["detail"]["events"]["3"] == "depth must be between 0 and 1"
    assert count(db, Event) == 0
    assert count(db, Lead) == 0


def test_an_unknown_asset_refuses_the_whole_request(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(
        client, auth, attendance(), attendance(email="bob@example.com", asset="no-such-webinar")
    )
    assert response.status_code == 422
    assert response.json()["detail"] == {"events": {"1": "unknown asset 'no-such-webinar'"}}
    assert count(db, Event) == 0
    assert count(db, Lead) == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "pageview"}, "type must be one of page_view, asset_view, read_progress, "),
        ({"email": None}, "give a visitor, an email or both"),
        ({"email": "ada-at-example.com"}, "email is not a valid address"),
        ({"email": 42}, "email is not a valid address"),
        ({"visitor": "has space"}, "visitor must be 1 to 32 letters, digits, '-' or '_'"),
        ({"occurred_at": iso(utcnow() + timedelta(hours=1))}, "occurred_at is in the future"),
        ({"occurred_at": iso(ago(days=400))}, "occurred_at is more than a year ago"),
        ({"occurred_at": "2026-01-02T10:00:00"}, "occurred_at must be ISO-8601 with a time zone"),
        ({"occurred_at": "last tuesday"}, "occurred_at must be ISO-8601 with a time zone"),
        ({"seconds": -1}, "seconds must be between 0 and 86400"),
        ({"seconds": 86_401}, "seconds must be between 0 and 86400"),
        ({"seconds": "60"}, "seconds must be a number"),
        ({"depth": 1.01}, "depth must be between 0 and 1"),
        ({"depth": -0.1}, "depth must be between 0 and 1"),
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"id": "short"}, "id must be 8 to 64 letters, digits or '-_.:'"),
        ({"visitor": "v" * 33}, "visitor must be 1 to 32 letters, digits, '-' or '_'"),
        ({"properties": ["a"]}, "properties must be an object"),
        ({"properties": {"notes": "x" * 2100}}, "properties must stay under 2048 bytes of JSON"),
    ],
)
def test_each_refused_event_comes_back_with_its_reason(
    client: Client,
    db: Database,
    auth: dict[str, str],
    webinar: Asset,
    change: dict[str, Any],
    reason: str,
) -> None:
    event = {k: v for k, v in {**attendance(), **change}.items() if v is not None}
    response = post_events(client, auth, event)
    assert response.status_code == 422
    reasons = response.json()["detail"]["events"]
    assert list(reasons) == ["0"]
    assert reasons["0"].startswith(reason)
    assert count(db, Event) == 0
    assert count(db, Lead) == 0


def test_more_than_a_thousand_events_are_refused(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(
        client, auth, *(attendance(id=f"bulk-{n:05}") for n in range(MAX_EVENTS + 1))
    )
    assert response.status_code == 422
    assert response.json()["detail"] == {"events": {"-1": "send 1 to 1000 events per request"}}
    assert count(db, Event) == 0


def test_a_thousand_events_are_accepted(
    client: Client, db: Database, auth: dict[str, str], webinar: Asset
) -> None:
    response = post_events(
        client, auth, *(attendance(id=f"bulk-{n:05}") for n in range(MAX_EVENTS))
    )
    assert response.json() == {"accepted": MAX_EVENTS, "duplicates": 0}
    assert count(db, Event) == MAX_EVENTS


@pytest.mark.parametrize("body", [b"{not json", b"", "caf\xe9".encode("latin-1")])
def test_a_body_that_is_not_json_is_a_400(
    client: Client, db: Database, auth: dict[str, str], body: bytes
) -> None:
    response = client.post(
        "/api/v1/events",
        content=body,
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "detail": "the body must be JSON"}
    assert count(db, Event) == 0


@pytest.mark.parametrize("body", [[], {"event": []}, {"events": {}}, {"events": []}])
def test_a_body_without_an_events_list_is_refused(
    client: Client, db: Database, auth: dict[str, str], body: Any
) -> None:
    response = client.post("/api/v1/events", json=body, headers=auth)
    assert response.status_code == 422
    assert list(response.json()["detail"]["events"]) == ["-1"]
