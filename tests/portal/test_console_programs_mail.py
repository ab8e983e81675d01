"""Console → Programs → a mail step, on SQLite and PostgreSQL: the preview for a real lead
(merge fields and content blocks filled, the HTML in a sandboxed frame), previewing unsaved
edits, "send a test to me" (an outbox row to the marketer, 10 an hour), and saving the mail
(a fault named at its field with the text kept; subject line variants and the A/B test)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailMessage
from nurture.programs import store
from nurture.programs.definition import parse
from nurture.programs.models import ProgramVersion
from portal import ratelimit
from portal.accounts.models import Role
from portal.db import Database
from portal.routes.console_program_preview import TESTS_PER_HOUR
from tests.factories import make_asset
from tests.nurture.mail.subscribers import subscribed
from tests.support import StaffActions, csrf_token_from, html
from tracking.models import Lead

Client = TestClient[Litestar]
BODY = "Hi {{ first_name | there }},\n\nour pick for you:\n\n{{ asset pricing-guide }}\n"


def text_of(tree: LexborHTMLParser | LexborNode, selector: str) -> str:
    node = tree.css_first(selector)
    assert node is not None, selector
    return " ".join(node.text().split())


@pytest.fixture
def marketer(staff: StaffActions, settled: None) -> str:
    return staff.sign_in_as(Role.MARKETER)


@pytest.fixture
def program_id(db: Database) -> int:
    """A draft with one mail naming an asset, and a wait after it."""
    make_asset(db, slug="pricing-guide", title="The pricing guide", stage="decision")
    mail = {"subjects": ["{{ first_name | Hello }}, a pick"], "body": BODY}
    definition = parse({
        "name": "Pricing nurture",
        "trigger": {"kind": "manual"},
        "steps": [{"id": "pick", "send": mail}, {"id": "pause", "wait": {"days": 2}}],
    })  # fmt: skip
    with db.write() as session:
        return store.save(session, definition, by="test", now=utcnow()).program.id


def ada(db: Database, email: str = "ada@example.com") -> int:
    """A subscribed lead whose first name is known."""
    lead_id = subscribed(db, email)
    with db.write() as session:
        session.get_one(Lead, lead_id).name = "Ada Lovelace"
    return lead_id


def url(program_id: int) -> str:
    return f"/console/programs/{program_id}/steps/pick"


def editor_form(client: Client, program_id: int) -> dict[str, str]:
    """The editor's fields as the browser would send them back unchanged."""
    tree = html(client.get(url(program_id)).text)
    form: dict[str, str] = {}
    for node in tree.css("form.program-mail-form input, form.program-mail-form textarea"):
        name, kind = node.attributes.get("name"), node.attributes.get("type")
        if not name or (kind == "radio" and "checked" not in node.attributes):
            continue
        form[name] = node.text() if node.tag == "textarea" else node.attributes.get("value") or ""
    return form


def send(client: Client, program_id: int, form: dict[str, str], do: str) -> Any:
    return client.post(url(program_id), data={**form, "do": do}, follow_redirects=False)


def stored_versions(db: Database, program_id: int) -> list[dict[str, Any]]:
    with db.read() as session:
        return list(
            session.scalars(
                select(ProgramVersion.definition)
                .where(ProgramVersion.program_id == program_id)
                .order_by(ProgramVersion.version)
            )
        )


def test_the_preview_is_the_mail_a_real_lead_would_get(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    ada(db)
    response = client.get(url(program_id))  # no lead named: the most recent subscribed one
    assert response.status_code == 200
    tree = html(response.text)
    assert text_of(tree, "#preview-h") == "Preview for ada@example.com"
    assert text_of(tree, "#preview-subject") == "Ada, a pick"
    frame = tree.css_first("iframe#preview-html")
    assert frame is not None
    srcdoc = frame.attributes["srcdoc"] or ""
    document = html(srcdoc)
    assert "Hi Ada," in document.text()
    assert "The pricing guide" in document.text()  # the content block, resolved
    assert '<base target="_blank">' in srcdoc
    assert "allow-scripts" not in (frame.attributes["sandbox"] or "")
    assert "allow-same-origin" not in (frame.attributes["sandbox"] or "")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "Hi Ada," in text_of(tree, "#preview-text")


def test_a_chosen_lead_and_variant_are_previewed(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    ada(db)
    subscribed(db, "bob@example.com")
    tree = html(client.get(f"{url(program_id)}?lead=bob@example.com").text)
    assert text_of(tree, "#preview-subject") == "Hello, a pick"  # no first name: the fallback
    frame = tree.css_first("iframe#preview-html")
    assert frame is not None
    assert "Hi there," in html(frame.attributes["srcdoc"] or "").text()

    unknown = html(client.get(f"{url(program_id)}?lead=nobody@example.com").text)
    assert text_of(unknown, "#error-lead") == "No lead has the email nobody@example.com."
    assert unknown.css_first("iframe#preview-html") is None


def test_unsaved_edits_are_previewed_and_nothing_is_stored(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    ada(db)
    before = stored_versions(db, program_id)
    form = editor_form(client, program_id)
    form |= {
        "subject_1": "News for {{ company | your team }}",
        "subject_2": "Second line",
        "variant": "1",
        "body": "Only this line, {{ first_name }}.",
    }
    answer = send(client, program_id, form, "preview")
    assert answer.status_code == 200
    tree = html(answer.text)
    assert text_of(tree, "#preview-subject") == "Second line"
    assert [text_of(li, "li") for li in tree.css(".preview-subjects li")] == [
        "A: News for your team",
        "B: Second line",
    ]
    frame = tree.css_first("iframe#preview-html")
    assert frame is not None
    assert "Only this line, Ada." in html(frame.attributes["srcdoc"] or "").text()
    assert tree.css_first("textarea#body").text() == "Only this line, {{ first_name }}."
    assert stored_versions(db, program_id) == before


def test_a_test_goes_to_the_marketer_and_says_where(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    lead_id = ada(db)
    form = editor_form(client, program_id)
    answer = send(client, program_id, form, "test")
    assert answer.status_code == 200
    assert f"A test for {marketer} waits in the outbox" in text_of(html(answer.text), "#notice")
    with db.read() as session:
        message = session.scalars(select(MailMessage)).one()
    assert message.to_address == marketer
    assert message.kind == "program"
    assert message.category == "transactional"
    assert message.params["test"] is True
    assert message.params["lead_for"] == lead_id
    assert (message.params["program"], message.params["step"]) == (program_id, "pick")

    edited = {**form, "subject_1": "A line not saved yet"}
    send(client, program_id, edited, "test")
    with db.read() as session:
        latest = session.scalars(select(MailMessage).order_by(MailMessage.id.desc())).first()
        assert latest is not None
        assert latest.params["send"]["subjects"] == ["A line not saved yet"]


def test_tests_are_limited_per_hour(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    ada(db)
    with db.write() as session:
        for _ in range(TESTS_PER_HOUR.hits):
            ratelimit.hit(session, f"program-test:{marketer}", TESTS_PER_HOUR)
    answer = send(client, program_id, editor_form(client, program_id), "test")
    assert answer.status_code == 429
    assert "10 tests in the last hour" in text_of(html(answer.text), "#problem")
    with db.read() as session:
        assert session.scalars(select(MailMessage)).all() == []


def test_a_fault_in_the_mail_is_named_at_its_field_and_the_text_stays(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    before = stored_versions(db, program_id)
    form = editor_form(client, program_id)
    typo = "Hi {{ frist_name }},\n\nmore soon."
    answer = send(client, program_id, {**form, "body": typo}, "save")
    assert answer.status_code == 422
    tree = html(answer.text)
    assert "unknown field or block" in text_of(tree, "#error-body")
    assert tree.css_first("textarea#body").text() == typo
    assert stored_versions(db, program_id) == before

    no_subject = send(client, program_id, {**form, "subject_1": ""}, "save")
    assert no_subject.status_code == 422
    assert "at least one subject line" in text_of(html(no_subject.text), "#error-subject_1")

    bad_share = {**form, "subject_2": "Other", "ab_mode": "test", "ab_share": "half"}
    refused = html(send(client, program_id, bad_share, "save").text)
    assert text_of(refused, "#error-ab_share") == "Give a whole number."
    assert stored_versions(db, program_id) == before


def test_saving_the_mail_sets_its_variants_and_ab_test(
    client: Client, db: Database, marketer: str, program_id: int
) -> None:
    form = editor_form(client, program_id)
    form |= {
        "subject_2": "Your pick, {{ first_name | friend }}",
        "ab_mode": "test",
        "ab_share": "30",
        "ab_hours": "12",
        "preheader": "One read, chosen for you",
    }
    saved = send(client, program_id, form, "save")
    assert saved.status_code == 303
    assert [version["steps"][0]["send"] for version in stored_versions(db, program_id)] == [
        {
            "subjects": [
                "{{ first_name | Hello }}, a pick",
                "Your pick, {{ first_name | friend }}",
            ],
            "preheader": "One read, chosen for you",
            "ab": {"mode": "test", "share": 30, "decide_after_hours": 12},
            "body": BODY,
        }
    ]  # a draft nobody entered: changed in place
    page = html(client.get(saved.headers["location"]).text)
    assert "A/B test: 30 % of the leads" in text_of(page, "#step-pick")

    lead_id = ada(db)
    first = parse(stored_versions(db, program_id)[0])
    with db.write() as session:
        found = store.save(session, first, by="t", now=utcnow(), status="active").program
        store.add_leads(session, found, [lead_id], by="t", now=utcnow())
    again = editor_form(client, program_id)
    assert "saving writes version 2" in text_of(
        html(client.get(url(program_id)).text), "#versioning"
    )
    versioned = send(client, program_id, {**again, "subject_2": ""}, "save")
    assert "version=2" in versioned.headers["location"]
    assert [len(v["steps"][0]["send"]["subjects"]) for v in stored_versions(db, program_id)] == [
        2,
        1,
    ]


def test_a_step_that_sends_no_mail_has_no_editor(
    client: Client, marketer: str, program_id: int
) -> None:
    assert client.get(f"/console/programs/{program_id}/steps/pause").status_code == 404
    assert client.get(f"/console/programs/{program_id}/steps/nothing").status_code == 404
    token = csrf_token_from(client.get(url(program_id)).text)
    response = client.post(
        f"/console/programs/{program_id}/steps/pause",
        data={"_csrf_token": token, "subject_1": "x", "body": "y"},
    )
    assert response.status_code == 404
