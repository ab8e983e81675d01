"""Programs in the JSON API: ``GET /api/v1/programs`` lists them with their trigger and the
leads in them; ``POST /api/v1/programs/{id}/enrollments`` adds a lead by hand (the
"added by API" trigger), into the program's current version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.orm import utcnow
from nurture.programs import store
from nurture.programs.definition import parse
from nurture.programs.models import Enrollment, Program, StepLog
from portal.accounts import service
from portal.db import Database
from tracking.identity.identify import get_or_create_lead

Client = TestClient[Litestar]


def definition(name: str, trigger: dict[str, Any], subject: str = "Hello") -> Any:
    return parse(
        {
            "name": name,
            "trigger": trigger,
            "steps": [{"id": "hello", "send": {"subjects": [subject], "body": "Hi."}}],
        }
    )


def program(
    db: Database,
    name: str = "Hand-picked",
    status: str | None = "active",
    trigger: dict[str, Any] | None = None,
) -> int:
    with db.write() as session:
        saved = store.save(session, definition(name, trigger or {"kind": "manual"}), by="test",
                           now=utcnow() - timedelta(minutes=1), status=status)  # fmt: skip
        return saved.program.id


def lead(db: Database, email: str = "ada@example.com") -> int:
    with db.write() as session:
        found, _ = get_or_create_lead(session, email, utcnow())
        return found.id


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "crm-sync", "write")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def read_auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "dashboard", "read")
    return {"Authorization": f"Bearer {token}"}


def enroll(client: Client, auth: dict[str, str], program_id: int, body: Any) -> Any:
    return client.post(f"/api/v1/programs/{program_id}/enrollments", json=body, headers=auth)


def enrollments(db: Database, program_id: int) -> list[tuple[int, int, str, str]]:
    with db.read() as session:
        return [
            (row.lead_id, row.version, row.status, row.entered_by)
            for row in session.scalars(
                select(Enrollment).where(Enrollment.program_id == program_id)
            )
        ]


def test_the_list_shows_each_program_with_its_trigger_and_leads_in_it(
    client: Client, db: Database, read_auth: dict[str, str]
) -> None:
    hand_picked = program(db)
    quiet = program(db, "Quiet leads", status=None, trigger={"kind": "inactive", "days": 60})
    leads = [lead(db), lead(db, "bo@example.com")]
    with db.write() as session:
        store.add_leads(session, session.get_one(Program, hand_picked), leads, by="test",
                        now=utcnow())  # fmt: skip

    response = client.get("/api/v1/programs", headers=read_auth)

    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {
                "id": hand_picked,
                "name": "Hand-picked",
                "status": "active",
                "version": 1,
                "trigger": {"kind": "manual", "value": "", "days": 0},
                "leads_active": 2,
            },
            {
                "id": quiet,
                "name": "Quiet leads",
                "status": "draft",
                "version": 1,
                "trigger": {"kind": "inactive", "value": "", "days": 60},
                "leads_active": 0,
            },
        ],
        "next_cursor": None,
    }


def test_the_list_pages_with_a_cursor_and_shows_the_current_version(
    client: Client, db: Database, read_auth: dict[str, str]
) -> None:
    first = program(db, "Decision track", trigger={"kind": "stage", "value": "decision"})
    program(db, "Second")
    lead_id = lead(db)
    with db.write() as session:  # a lead entered it, so an edit writes version 2
        store.add_leads(session, session.get_one(Program, first), [lead_id], by="test",
                        now=utcnow())  # fmt: skip
        store.save(session, definition("Decision track", {"kind": "stage", "value": "decision"},
                                       subject="Pricing"), by="test", now=utcnow())  # fmt: skip

    page = client.get("/api/v1/programs?limit=1", headers=read_auth).json()
    rest = client.get(f"/api/v1/programs?cursor={page['next_cursor']}", headers=read_auth).json()

    assert [item["name"] for item in page["items"]] == ["Decision track"]
    assert page["items"][0]["version"] == 2
    assert page["items"][0]["trigger"] == {"kind": "stage", "value": "decision", "days": 0}
    assert [item["name"] for item in rest["items"]] == ["Second"]
    assert rest["next_cursor"] is None


def test_a_lead_is_added_by_id_and_enters_the_current_version(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    program_id = program(db)
    lead_id = lead(db)

    response = enroll(client, auth, program_id, {"lead": lead_id})

    assert response.status_code == 201
    body = response.json()
    assert body.pop("entered_at")
    assert body == {"program": program_id, "lead": lead_id, "version": 1, "status": "active"}
    assert enrollments(db, program_id) == [(lead_id, 1, "active", "api")]
    with db.read() as session:
        assert session.scalars(select(StepLog.outcome)).all() == ["entered"]


def test_a_lead_is_added_by_its_address_in_any_case(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    program_id = program(db)
    lead_id = lead(db)

    response = enroll(client, auth, program_id, {"email": " Ada@Example.COM "})

    assert response.status_code == 201
    assert response.json()["lead"] == lead_id


def test_a_lead_already_in_the_program_is_a_conflict(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    program_id = program(db)
    lead_id = lead(db)
    assert enroll(client, auth, program_id, {"lead": lead_id}).status_code == 201

    again = enroll(client, auth, program_id, {"email": "ada@example.com"})

    assert again.status_code == 409
    assert again.json() == {
        "error": "Conflict",
        "detail": f"lead {lead_id} is in the program 'Hand-picked' already",
    }
    assert len(enrollments(db, program_id)) == 1


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_a_draft_or_archived_program_takes_nobody(
    client: Client, db: Database, auth: dict[str, str], status: str
) -> None:
    program_id = program(db, status="active" if status == "archived" else None)
    if status == "archived":
        with db.write() as session:
            store.set_status(session, session.get_one(Program, program_id), "archived",
                             by="test", now=utcnow())  # fmt: skip

    response = enroll(client, auth, program_id, {"lead": lead(db)})

    assert response.status_code == 409
    assert response.json()["detail"] == f"the program is {status}: activate it first"
    assert enrollments(db, program_id) == []


def test_a_paused_program_takes_the_lead_who_waits_there(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    program_id = program(db)
    with db.write() as session:
        store.set_status(session, session.get_one(Program, program_id), "paused", by="test",
                         now=utcnow())  # fmt: skip

    response = enroll(client, auth, program_id, {"lead": lead(db)})

    assert response.status_code == 201
    assert response.json()["status"] == "active"


@pytest.mark.parametrize(
    ("path_program", "body", "detail"),
    [
        (999_999, {"lead": 1}, "no program 999999"),
        (2**40, {"lead": 1}, f"no program {2**40}"),
        (None, {"lead": 999_999}, "no lead 999999"),
        (None, {"email": "nobody@example.com"}, "no lead with the address nobody@example.com"),
    ],
)
def test_an_unknown_program_or_lead_is_not_found(
    client: Client,
    db: Database,
    auth: dict[str, str],
    path_program: int | None,
    body: dict[str, Any],
    detail: str,
) -> None:
    program_id = program(db)
    lead(db)

    response = enroll(client, auth, path_program or program_id, body)

    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "detail": detail}
    assert enrollments(db, program_id) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"lead": 1, "email": "ada@example.com"},
        {"lead": None},
        {"lead": 1, "reason": "campaign"},
        {"email": "not an address"},
        {"lead": "ada"},
    ],
)
def test_a_body_that_does_not_name_one_lead_is_refused(
    client: Client, db: Database, auth: dict[str, str], body: dict[str, Any]
) -> None:
    program_id = program(db)
    lead(db)

    response = enroll(client, auth, program_id, body)

    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}
    assert enrollments(db, program_id) == []


def test_a_read_token_may_list_but_not_add(
    client: Client, db: Database, read_auth: dict[str, str]
) -> None:
    program_id = program(db)

    response = enroll(client, read_auth, program_id, {"lead": lead(db)})

    assert response.status_code == 403
    assert enrollments(db, program_id) == []


def test_the_document_describes_both_calls(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()

    listing = document["paths"]["/api/v1/programs"]["get"]
    adding = document["paths"]["/api/v1/programs/{program_id}/enrollments"]["post"]
    body = adding["requestBody"]["content"]["application/json"]["schema"]
    assert {"cursor", "limit"} <= {parameter["name"] for parameter in listing["parameters"]}
    assert {"201", "404", "409"} <= set(adding["responses"])
    assert set(body["properties"]) == {"lead", "email"}
    assert body["additionalProperties"] is False
    assert adding["description"]
