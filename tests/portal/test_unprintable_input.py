"""Text that is not printable (lone surrogates, control characters) is refused at every door,
with a reason naming the field: the beacon, the events API, lifecycle moves, public forms,
console forms and the importer. Nothing of it reaches the database or breaks a lead's trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import func, select

from content.files import FileStore
from content.importer import import_folder
from content.models import Asset, Topic
from nurture.models import WebhookEndpoint
from portal.accounts import service
from portal.accounts.models import Role
from portal.db import Database
from tests.factories import editor_form, make_asset
from tests.portal.console_forms import relabel_data_privacy
from tests.portal.forms import submit
from tests.portal.sales_form import send as send_demo_request
from tests.support import StaffActions, csrf_token_from, html
from tracking import events
from tracking.identity.facts import Source
from tracking.identity.identify import identify
from tracking.models import Event, Lead, LeadChange
from tracking.pipeline import ingest

Client = TestClient[Litestar]
SLUG = "lead-scoring-guide"


@pytest.fixture
def auth(db: Database) -> dict[str, str]:
    with db.write() as session:
        token = service.create_token(session, "crm")
    return {"Authorization": f"Bearer {token}"}


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def new_lead(db: Database, email: str = "ada@example.com") -> int:
    with db.write() as session:
        return identify(
            session, visitor_id=None, email=email, answers={}, consent=None, source=Source("api")
        ).lead_id


# --- the beacon -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_target", "code"),
    [(r"\udfff", "U+DFFF"), (r"\ud800x", "U+D800"), (r"a\u0000b", "U+0000"), ("a\\nb", "U+000A")],
)
def test_a_beacon_with_unprintable_text_is_refused_and_the_trail_still_reads(
    client: Client, db: Database, auth: dict[str, str], raw_target: str, code: str
) -> None:
    make_asset(db, slug=SLUG)
    make_asset(db, slug="pricing-guide", gate="gated")
    assert client.get("/library").status_code == 200
    body = f'{{"type": "cta_click", "asset": "{SLUG}", "target": "{raw_target}"}}'
    response = client.post("/t", content=body.encode())
    answers = {"email": "ada@example.com", "first_name": "Ada", "last_name": "L"}
    assert submit(client, "pricing-guide", **answers).status_code == 303
    with db.read() as session:
        lead_id = session.scalar(select(Lead.id))
    trail = client.get(f"/api/v1/leads/{lead_id}/trail", headers=auth)
    assert trail.status_code == 200, trail.text
    assert response.status_code == 400
    assert response.json()["detail"].startswith("target contains the ")
    assert code in response.json()["detail"]
    with db.read() as session:
        assert session.scalar(select(Event.id).where(Event.type == "cta_click")) is None


def test_a_trail_stored_before_the_check_still_reads(
    client: Client, db: Database, auth: dict[str, str], staff: StaffActions
) -> None:
    lead_id = new_lead(db)
    stored = [
        events.CtaClick(visitor_id="v1", lead_id=lead_id, target="\udfff"),
        events.CtaClick(visitor_id="v1", lead_id=lead_id, target="call\x07us"),
    ]
    with db.write() as session:
        ingest.record(session, stored)
    trail = client.get(f"/api/v1/leads/{lead_id}/trail", headers=auth)
    assert trail.status_code == 200, trail.text
    targets = {item["properties"].get("target") for item in trail.json()["items"]}
    assert {"\ufffd", "call\ufffdus"} <= targets
    staff.sign_in_as(Role.MARKETER)
    assert client.get(f"/console/leads/{lead_id}").status_code == 200
    assert client.get(f"/console/leads/{lead_id}/trail").status_code == 200


# --- the events API ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            {"properties": {"note": "a\x00b"}},
            "properties.note contains the control character U+0000 at position 2",
        ),
        (
            {"properties": {"utm": {"tags": ["ok", "\udfff"]}}},
            "properties.utm.tags[1] contains the unpaired surrogate U+DFFF at position 1",
        ),
        (
            {"properties": {"bad\x00key": 1}},
            "a key of properties contains the control character U+0000 at position 4",
        ),
        ({"asset": "a\x00b"}, "asset contains the control character U+0000 at position 2"),
        ({"visitor": "v\udfff"}, "visitor contains the unpaired surrogate U+DFFF at position 2"),
    ],
)
def test_the_events_api_refuses_unprintable_text_with_the_events_index_and_field(
    client: Client, db: Database, auth: dict[str, str], event: dict[str, Any], reason: str
) -> None:
    good = {"email": "ada@example.com", "type": "webinar_attend"}
    body = {"events": [good, {**good, **event}]}
    response = client.post("/api/v1/events", content=json.dumps(body).encode(), headers=auth)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == {"events": {"1": reason}}
    assert count(db, Event) == 0


def test_the_events_api_keeps_line_breaks_in_property_values(
    client: Client, db: Database, auth: dict[str, str]
) -> None:
    event = {"email": "ada@example.com", "type": "webinar_attend"}
    event["properties"] = {"question": "First line\nsecond line\twith a tab"}
    response = client.post("/api/v1/events", json={"events": [event]}, headers=auth)
    assert response.status_code == 200, response.text


# --- lifecycle moves --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["budget\x00confirmed", "budget\x1b[31m confirmed"])
def test_a_lifecycle_reason_with_a_control_character_is_refused(
    client: Client, db: Database, auth: dict[str, str], reason: str
) -> None:
    lead_id = new_lead(db)
    response = client.post(
        f"/api/v1/leads/{lead_id}/lifecycle", json={"to": "sql", "reason": reason}, headers=auth
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("reason contains the control character")
    with db.read() as session:
        assert session.scalar(select(Lead.lifecycle).where(Lead.id == lead_id)) != "sql"


def test_a_console_lifecycle_reason_with_a_control_character_is_refused(
    client: Client, db: Database, staff: StaffActions
) -> None:
    lead_id = new_lead(db)
    staff.sign_in_as(Role.MARKETER)
    token = csrf_token_from(client.get(f"/console/leads/{lead_id}").text)
    response = client.post(
        f"/console/leads/{lead_id}/lifecycle",
        data={"_csrf_token": token, "to": "sql", "reason": "on the phone\x00"},
    )
    assert response.status_code == 200
    problem = html(response.text).css_first(".flash--error").text(strip=True)
    assert "reason" in problem.lower()
    assert "U+0000" in problem
    with db.read() as session:
        assert session.scalar(select(Lead.lifecycle).where(Lead.id == lead_id)) != "sql"
        assert session.scalar(select(func.count()).select_from(LeadChange)) == 1  # identified


def test_a_handoff_reason_with_a_control_character_is_refused(
    client: Client, db: Database, staff: StaffActions
) -> None:
    lead_id = new_lead(db)
    staff.sign_in_as(Role.MARKETER)
    token = csrf_token_from(client.get("/console/handoff").text)
    response = client.post(
        f"/console/handoff/{lead_id}",
        data={"_csrf_token": token, "do": "accept", "reason": "budget\x00 confirmed"},
    )
    assert response.status_code == 200
    problem = html(response.text).css_first(".flash--error").text(strip=True)
    assert "U+0000" in problem
    with db.read() as session:
        assert session.scalar(select(Lead.lifecycle).where(Lead.id == lead_id)) != "sql"


def test_an_api_token_name_with_a_control_character_is_refused_next_to_the_field(
    client: Client, db: Database, staff: StaffActions
) -> None:
    staff.sign_in_as(Role.ADMIN)
    page = client.get("/console/staff")
    refused = client.post(
        "/console/staff/tokens",
        data={"name": "crm\x00sync", "scope": "read", "_csrf_token": csrf_token_from(page.text)},
    )
    assert refused.status_code == 422
    assert "U+0000" in html(refused.text).css_first("#error-token-name").text()


def test_a_staff_sign_in_with_a_control_character_in_the_email_says_so(
    client: Client, db: Database, staff: StaffActions
) -> None:
    staff.create(Role.ADMIN)
    response = staff.login("admin\x00@example.com")
    assert getattr(response, "status_code", None) == 400
    error = html(getattr(response, "text", "")).css_first("#login-error").text()
    assert error == "The email contains the control character U+0000 at position 6."


# --- public forms -----------------------------------------------------------------------------


PUBLIC_FORMS = {
    # form: (how to send it with one bad field, the character named, the field, the others kept)
    "gate": (
        lambda client: submit(
            client, "pricing-guide", email="ada@example.com", first_name="Ada", last_name="Love\x00"
        ),
        "U+0000",
        "gate-last_name",
        {"gate-first_name": "Ada", "gate-email": "ada@example.com"},
    ),
    "talk-to-sales": (
        lambda client: send_demo_request(client, message="Call me\x07 soon"),
        "U+0007",
        "sales-message",
        {"sales-company": "Analytical Engines Ltd"},
    ),
}


@pytest.mark.parametrize("form", PUBLIC_FORMS.keys())
def test_a_public_form_names_the_field_and_keeps_the_other_values(
    client: Client, db: Database, form: str
) -> None:
    send, character, field, kept = PUBLIC_FORMS[form]
    make_asset(db, slug="pricing-guide", gate="gated")
    response = send(client)
    assert response.status_code == 422
    tree = html(response.text)
    assert character in tree.css_first(f"#{field}-error").text()
    for other, value in kept.items():
        assert tree.css_first(f"#{other}-error") is None
        assert tree.css_first(f"#{other}").attributes["value"] == value
    assert count(db, Lead) == 0


def test_a_talk_to_sales_form_with_a_broken_asset_field_is_taken_without_the_asset(
    client: Client, db: Database
) -> None:
    response = send_demo_request(client, asset="pricing\x00guide")
    assert response.status_code == 303
    assert count(db, Lead) == 1


# --- console forms ----------------------------------------------------------------------------


def test_the_editor_names_the_field_and_keeps_what_was_typed(
    client: Client, db: Database, staff: StaffActions
) -> None:
    staff.sign_in_as(Role.EDITOR)
    token = csrf_token_from(client.get("/console/assets/new").text)
    form = editor_form(
        title="Field\x00guide",
        summary="Kept summary",
        body="Line one\n\tLine two",
        action="save",
        _csrf_token=token,
    )
    response = client.post("/console/assets/new", data=form, follow_redirects=False)
    assert response.status_code == 422
    page = html(response.text)
    assert "U+0000" in page.css_first("#error-title").text()
    assert page.css_first("#error-body") is None
    assert page.css_first("#summary").text() == "Kept summary"
    assert count(db, Asset) == 0


def test_a_topic_label_with_a_control_character_is_refused(
    client: Client, db: Database, staff: StaffActions
) -> None:
    response = relabel_data_privacy(client, staff, db, "Data\x00privacy")
    alert = html(response.text).css_first('[role="alert"]').text()
    assert "label" in alert.lower()
    assert "U+0000" in alert
    with db.read() as session:
        assert session.scalar(select(Topic.label)) == "Data privacy"


@pytest.mark.parametrize(
    ("field", "value"),
    [("description", "Our CRM\x00"), ("url", "https://crm.example.com/\x00hook")],
)
def test_a_webhook_form_with_a_control_character_names_the_field(
    client: Client, db: Database, staff: StaffActions, field: str, value: str
) -> None:
    staff.sign_in_as(Role.ADMIN)
    page = client.get("/console/webhooks/new")
    data = {
        "url": "https://crm.example.com/hook",
        "description": "Our CRM",
        "event_types": ["lead.mql"],
        "_csrf_token": csrf_token_from(page.text),
        field: value,
    }
    response = client.post("/console/webhooks/new", data=data)
    assert response.status_code == 400
    assert "U+0000" in html(response.text).css_first(f"#error-{field}").text()
    assert count(db, WebhookEndpoint) == 0


# --- the importer -----------------------------------------------------------------------------


def test_the_importer_reports_a_file_with_unprintable_text_and_imports_the_rest(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    head = "---\nkind: article\nstage: awareness\n"
    (folder / "good.md").write_text(f'{head}title: "Good guide"\n---\nA body.\n')
    (folder / "escaped.md").write_text(f'{head}title: "Bad\\0title"\n---\nA body.\n')
    (folder / "surrogate.md").write_text(f'{head}title: "Bad\\uDFFFtitle"\n---\nA body.\n')
    (folder / "body.md").write_text(f'{head}title: "Body guide"\n---\nA\x00body.\n')
    (folder / "topic.md").write_text(f'{head}title: "Topic guide"\ntopics: ["a\\x07"]\n---\nB\n')
    report = import_folder(db.write, FileStore(tmp_path / "files"), folder)
    assert report.created == ["good-guide"]
    problems = {problem.path.name: problem.reason for problem in report.problems}
    assert problems == {
        "body.md": "body: Remove the control character U+0000 at position 2.",
        "escaped.md": "title: Remove the control character U+0000 at position 4.",
        "surrogate.md": "title: Remove the unpaired surrogate U+DFFF at position 4.",
        "topic.md": "topics: Remove the control character U+0007 at position 2.",
    }
    assert count(db, Asset) == 1
