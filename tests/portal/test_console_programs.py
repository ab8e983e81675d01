"""Console → Programs as a marketer uses it, on SQLite and PostgreSQL: the list with its
figures, new programs from a template or blank, the guard rails, the program page (flow,
status, leads in it, dry run, adding leads by hand) and the YAML editor with its versions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser, LexborNode
from sqlalchemy import select

from content.orm import utcnow
from nurture.programs import store
from nurture.programs.definition import to_yaml
from nurture.programs.models import Enrollment, Program, ProgramSettings, ProgramVersion
from nurture.programs.templates import template
from portal.accounts.models import Role
from portal.db import Database
from tests.support import StaffActions, csrf_token_from, html
from tracking.identity.identify import get_or_create_lead

Client = TestClient[Litestar]
URL = "/console/programs"


def post(client: Client, url: str, form: dict[str, str], **headers: str) -> Any:
    """A console form as the browser sends it, with the CSRF token of the list page."""
    token = csrf_token_from(client.get(URL).text)
    return client.post(
        url, data={**form, "_csrf_token": token}, headers=headers, follow_redirects=False
    )


def text_of(tree: LexborHTMLParser | LexborNode, selector: str) -> str:
    node = tree.css_first(selector)
    assert node is not None, selector
    return " ".join(node.text(separator=" ").split())


def program(db: Database, name: str) -> Program:
    with db.read() as session:
        found = session.scalars(select(Program).where(Program.name == name)).one()
        session.expunge(found)
        return found


def saved(db: Database, name: str = "Welcome", status: str | None = None) -> int:
    """A program of a template saved as the console would, with ``status``."""
    definition = next(d for n in ("welcome", "stage-tracks") for d in template(n) if d.name == name)
    with db.write() as session:
        return store.save(session, definition, by="test", now=utcnow(), status=status).program.id


def lead(db: Database, email: str, *, stage: str = "awareness", consent: str = "none") -> int:
    with db.write() as session:
        found, _ = get_or_create_lead(session, email, utcnow())
        found.journey_stage = stage
        found.consent_status = consent
        return found.id


def versions(db: Database, program_id: int) -> list[tuple[int, dict[str, Any]]]:
    with db.read() as session:
        rows = session.execute(
            select(ProgramVersion.version, ProgramVersion.definition)
            .where(ProgramVersion.program_id == program_id)
            .order_by(ProgramVersion.version)
        )
        return [(version, data) for version, data in rows]


@pytest.fixture
def marketer(staff: StaffActions, settled: None) -> str:
    return staff.sign_in_as(Role.MARKETER)


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMIN], ids=str)
def test_marketers_and_admins_build_programs_and_editors_may_not(
    client: Client, staff: StaffActions, db: Database, role: Role
) -> None:
    program_id = saved(db)
    staff.sign_in_as(Role.EDITOR)
    for url in (URL, f"{URL}/{program_id}", f"{URL}/{program_id}/yaml"):
        assert client.get(url).status_code == 403, url
    staff.sign_in_as(role)
    for url in (URL, f"{URL}/{program_id}", f"{URL}/{program_id}/yaml"):
        assert client.get(url).status_code == 200, url


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db)
    for url, form in [
        (f"{URL}/from-template", {"template": "re-engagement"}),
        (f"{URL}/{program_id}/status", {"action": "activate"}),
        (f"{URL}/guard-rails", {"weekly_cap": "9", "quiet_start": "1", "quiet_end": "2"}),
    ]:
        assert client.post(url, data=form, follow_redirects=False).status_code == 403, url
    assert program(db, "Welcome").status == "draft"
    with db.read() as session:
        assert session.scalars(select(Program.name)).all() == ["Welcome"]
        assert session.get(ProgramSettings, 1) is None


def test_a_template_makes_drafts_and_a_taken_name_is_said(
    client: Client, db: Database, marketer: str
) -> None:
    made = post(client, f"{URL}/from-template", {"template": "welcome"})
    assert made.status_code == 303
    page = html(client.get(made.headers["location"]).text)
    assert text_of(page, "h1") == "Welcome"
    assert text_of(page, "#program-status") == "draft"
    assert text_of(page, "#program-state") == (
        "Draft: nobody enters and nothing is sent until you activate it."
    )
    assert text_of(page, "#trigger .program-card__title") == (
        "A lead confirms the subscription (double opt-in)"
    )
    first = page.css_first("#step-welcome")
    assert first is not None
    assert [li.text(strip=True) for li in first.css(".program-card__subjects li")] == [
        "A:Welcome, {{ first_name | there }}: your reading list",
        "B:{{ first_name | Hello }}, three reads picked for you",
    ]
    fork = page.css_first("#step-fork .program-card__branches")
    assert fork is not None
    branches = dict(
        zip([dt.text() for dt in fork.css("dt")], [dd.text() for dd in fork.css("dd")], strict=True)
    )
    assert branches == {"then": "step 6 (compare)", "else": "step 4 (basics)"}
    assert text_of(page, "#step-pause-3 .program-card__title") == (
        "Wait until Tuesday 10:00 in the lead's time zone"
    )

    again = post(client, f"{URL}/from-template", {"template": "welcome"})
    assert again.status_code == 409
    assert "Programs named Welcome exist already" in text_of(html(again.text), "#problem")

    several = post(client, f"{URL}/from-template", {"template": "stage-tracks"})
    listed = html(client.get(several.headers["location"]).text)
    created = [d.name for d in template("stage-tracks")]
    assert text_of(listed, "#notice") == f"Created as drafts: {', '.join(sorted(created))}."
    rows = [row.attributes["data-status"] for row in listed.css("tr.program-row")]
    assert rows == ["draft"] * (1 + len(created))


def test_a_blank_program_needs_a_free_name(client: Client, db: Database, marketer: str) -> None:
    empty = post(client, f"{URL}/new", {"name": "  "})
    assert empty.status_code == 422
    assert "Give the program a name" in text_of(html(empty.text), "#error-new-name")

    made = post(client, f"{URL}/new", {"name": "Pricing nurture"})
    assert made.status_code == 303
    page = html(client.get(made.headers["location"]).text)
    assert text_of(page, "#trigger .program-card__title") == (
        "Only by hand: in the console or through the API"
    )
    assert [node.attributes["data-step"] for node in page.css(".program-steps > li")] == [
        "first-mail"
    ]

    taken = post(client, f"{URL}/new", {"name": "Pricing nurture"})
    assert taken.status_code == 409
    tree = html(taken.text)
    assert "exists already" in text_of(tree, "#error-new-name")
    assert tree.css_first("#new-name").attributes["value"] == "Pricing nurture"


def test_the_list_says_the_trigger_and_counts_leads(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db, "Stage track: decision", status="active")
    ann, bob, cy = (lead(db, f"{name}@example.com") for name in ("ann", "bob", "cy"))
    now = utcnow()
    with db.write() as session:
        found = session.get_one(Program, program_id)
        store.add_leads(session, found, [ann, bob, cy], by="test", now=now)
        enrollments = session.scalars(select(Enrollment).where(Enrollment.lead_id != ann)).all()
        enrollments[0].status, enrollments[0].ended_at = "converted", now
        enrollments[1].entered_at = now - timedelta(days=9)  # entered before the week
    row = html(client.get(URL).text).css_first(f'tr[data-program="{program_id}"]')
    assert row is not None
    assert text_of(row, ".program-trigger") == "A lead enters the stage Decision"
    assert text_of(row, ".program-status") == "active"
    assert (text_of(row, ".in-now"), text_of(row, ".entered"), text_of(row, ".converted")) == (
        "2",
        "2",
        "1",
    )


def test_the_guard_rails_are_checked_and_kept(client: Client, db: Database, marketer: str) -> None:
    wrong = post(
        client,
        f"{URL}/guard-rails",
        {"weekly_cap": "lots", "quiet_start": "24", "quiet_end": "7", "paused": "yes"},
    )
    assert wrong.status_code == 422
    tree = html(wrong.text)
    assert "whole number from 0 (no cap) to 50" in text_of(tree, "#error-weekly_cap")
    assert "an hour from 0 to 23" in text_of(tree, "#error-quiet_start")
    assert tree.css_first("#error-quiet_end") is None
    assert tree.css_first("#weekly_cap").attributes["value"] == "lots"  # as typed
    assert "checked" in tree.css_first("#paused").attributes
    with db.read() as session:
        assert session.get(ProgramSettings, 1) is None

    right = post(
        client,
        f"{URL}/guard-rails",
        {"weekly_cap": "2", "quiet_start": "20", "quiet_end": "7", "paused": "yes"},
    )
    assert right.status_code == 303
    page = html(client.get(right.headers["location"]).text)
    assert "Guard rails saved" in text_of(page, "#notice")
    assert "All programs are paused" in text_of(page, "#globally-paused")
    with db.read() as session:
        rails = session.get_one(ProgramSettings, 1)
        assert (rails.paused, rails.weekly_cap, rails.quiet_start, rails.quiet_end) == (
            True,
            2,
            20,
            7,
        )
        assert rails.updated_by == marketer


def test_status_changes_and_archiving_asks_first(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db)
    status_url = f"{URL}/{program_id}/status"

    def act(action: str, **form: str) -> Any:
        return post(client, status_url, {"action": action, **form})

    assert act("pause").status_code == 409  # a draft is not running
    activated = act("activate")
    assert activated.status_code == 303
    page = html(client.get(activated.headers["location"]).text)
    assert text_of(page, "#program-status") == "active"
    assert "leads enter it from now on" in text_of(page, "#notice")
    assert page.css_first("#action-pause") is not None
    assert act("pause").status_code == 303
    assert program(db, "Welcome").status == "paused"
    assert act("resume").status_code == 303
    ann = lead(db, "ann@example.com")
    with db.write() as session:
        store.add_leads(session, session.get_one(Program, program_id), [ann], by="t", now=utcnow())

    unconfirmed = act("archive")
    assert unconfirmed.status_code == 422
    assert "Tick the box" in text_of(html(unconfirmed.text), "#problem")
    assert program(db, "Welcome").status == "active"

    assert act("archive", confirm="yes").status_code == 303
    assert program(db, "Welcome").status == "archived"
    with db.read() as session:
        ended = session.scalars(select(Enrollment)).one()
        assert (ended.status, ended.end_reason) == ("exited", "program archived")


def test_the_dry_run_counts_who_matches_and_who_can_get_mail(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db, "Stage track: decision")
    for name, consent in (("ann", "confirmed"), ("bob", "confirmed"), ("cy", "pending")):
        lead(db, f"{name}@example.com", stage="decision", consent=consent)
    lead(db, "dee@example.com", stage="awareness", consent="confirmed")

    fragment = client.get(f"{URL}/{program_id}/dry-run", headers={"HX-Request": "true"})
    tree = html(fragment.text)
    assert tree.css_first("nav") is None  # the section alone
    assert text_of(tree, ".dry-run-count") == "3"
    assert text_of(tree, ".dry-run-mailable") == "2"
    assert sorted(a.text() for a in tree.css(".dry-run-sample a")) == [
        "ann@example.com",
        "bob@example.com",
        "cy@example.com",
    ]

    page = html(client.get(f"{URL}/{program_id}/dry-run").text)  # without JavaScript
    assert text_of(page, "h1") == "Stage track: decision"
    assert text_of(page, "#dry-run .dry-run-count") == "3"


def test_leads_are_added_by_hand_and_unknown_emails_are_listed_back(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db, status="active")
    ann = lead(db, "ann@example.com", consent="confirmed")
    lead(db, "bob@example.com")
    typed = "Ann@Example.com\nbob@example.com, nobody@example.com\nnot-an-email\nann@example.com"
    answer = post(client, f"{URL}/{program_id}/leads", {"emails": typed})
    assert answer.status_code == 200
    tree = html(answer.text)
    assert text_of(tree, "#added").startswith("2 added: ann@example.com, bob@example.com.")
    assert "(they enter, but get no marketing mail): bob@example.com" in text_of(tree, "#added")
    assert "No lead has these emails: nobody@example.com." in text_of(tree, "#not-added")
    assert "Not email addresses: not-an-email." in text_of(tree, "#not-added")
    assert tree.css_first("#emails").text() == "not-an-email\nnobody@example.com"
    rows = [a.text() for a in tree.css("table.program-leads .program-lead a")]
    assert sorted(rows) == ["ann@example.com", "bob@example.com"]
    assert tree.css_first(".program-lead a").attributes["href"].startswith("/console/leads/")

    again = html(post(client, f"{URL}/{program_id}/leads", {"emails": "ann@example.com"}).text)
    assert "In it already: ann@example.com." in text_of(again, "#added")
    with db.read() as session:
        assert len(session.scalars(select(Enrollment).where(Enrollment.lead_id == ann)).all()) == 1


def test_a_control_character_in_the_emails_is_refused_by_name(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db, status="active")
    lead(db, "ann@example.com")
    refused = post(client, f"{URL}/{program_id}/leads", {"emails": "ann@example.com\x00"})
    assert refused.status_code == 422
    assert "the control character U+0000" in text_of(html(refused.text), "#add-problem")
    with db.read() as session:
        assert session.scalars(select(Enrollment)).all() == []


def test_a_draft_takes_nobody_by_hand(client: Client, db: Database, marketer: str) -> None:
    program_id = saved(db)
    lead(db, "ann@example.com")
    page = html(client.get(f"{URL}/{program_id}").text)
    assert page.css_first("#add-leads textarea") is None
    refused = post(client, f"{URL}/{program_id}/leads", {"emails": "ann@example.com"})
    assert refused.status_code == 409
    assert "activate it first" in text_of(html(refused.text), "#add-problem")
    with db.read() as session:
        assert session.scalars(select(Enrollment)).all() == []


def yaml_form(client: Client, program_id: int) -> dict[str, str]:
    tree = html(client.get(f"{URL}/{program_id}/yaml").text)
    return {
        "text": tree.css_first("textarea#text").text(),
        "based_on": tree.css_first('input[name="based_on"]').attributes["value"] or "",
    }


def test_a_yaml_fault_is_shown_where_it_is_and_the_text_stays(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db)
    before = versions(db, program_id)
    form = yaml_form(client, program_id)
    broken = form["text"].replace("days: 3", "days: three")
    answer = post(client, f"{URL}/{program_id}/yaml", {**form, "text": broken})
    assert answer.status_code == 422
    tree = html(answer.text)
    assert text_of(tree, "#yaml-fault .fault-where") == "steps[1].wait.days"
    assert text_of(tree, "#yaml-fault .fault-problem") == "must be a number"
    assert tree.css_first("textarea#text").text() == broken
    assert versions(db, program_id) == before

    not_yaml = post(client, f"{URL}/{program_id}/yaml", {**form, "text": "name: [unclosed"})
    assert not_yaml.status_code == 422
    assert "not valid YAML" in text_of(html(not_yaml.text), "#yaml-fault")
    assert versions(db, program_id) == before


def test_editing_a_draft_keeps_its_version(client: Client, db: Database, marketer: str) -> None:
    program_id = saved(db)
    form = yaml_form(client, program_id)
    text = form["text"].replace("days: 3", "days: 2")
    done = post(client, f"{URL}/{program_id}/yaml", {**form, "text": text})
    assert done.status_code == 303
    assert [version for version, _ in versions(db, program_id)] == [1]
    assert text_of(html(client.get(done.headers["location"]).text), "#step-pause-1").endswith(
        "Wait 2 days"
    )


def test_saving_a_program_that_leads_entered_makes_a_new_version(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db, status="active")
    ann = lead(db, "ann@example.com", consent="confirmed")
    post(client, f"{URL}/{program_id}/leads", {"emails": "ann@example.com"})
    form = yaml_form(client, program_id)
    note = html(client.get(f"{URL}/{program_id}/yaml").text)
    assert "saving a change writes version 2" in text_of(note, "#versioning")
    text = form["text"].replace("The basics, in ten minutes", "The basics in 10 minutes")
    done = post(client, f"{URL}/{program_id}/yaml", {**form, "text": text})
    assert done.status_code == 303
    page = html(client.get(done.headers["location"]).text)
    assert text_of(page, "#notice").startswith("Saved as version 2.")
    assert [row.attributes["data-version"] for row in page.css(".program-version-row")] == [
        "2",
        "1",
    ]
    assert "The basics in 10 minutes" in text_of(page, "#step-basics")
    stored = versions(db, program_id)
    assert stored[0][1]["steps"][3]["send"]["subjects"] == ["The basics, in ten minutes"]
    with db.read() as session:
        assert (
            session.scalars(select(Enrollment.version).where(Enrollment.lead_id == ann)).one() == 1
        )

    stale = post(client, f"{URL}/{program_id}/yaml", {**form, "text": form["text"] + "\n"})
    assert stale.status_code == 409  # opened on version 1, saved meanwhile
    assert "someone saved this program" in text_of(html(stale.text), "#yaml-fault")


def test_the_yaml_shows_an_older_version_to_restore(
    client: Client, db: Database, marketer: str
) -> None:
    program_id = saved(db, status="active")
    definition = template("welcome")[0]
    lead(db, "ann@example.com")
    post(client, f"{URL}/{program_id}/leads", {"emails": "ann@example.com"})
    form = yaml_form(client, program_id)
    post(
        client,
        f"{URL}/{program_id}/yaml",
        {**form, "text": form["text"].replace("days: 4", "days: 5")},
    )
    old = html(client.get(f"{URL}/{program_id}/yaml?version=1").text)
    assert "This is version 1" in text_of(old, "#old-version")
    assert old.css_first("textarea#text").text() == to_yaml([(definition, None)])


def test_the_lead_page_lists_the_programs_the_lead_is_and_was_in(
    client: Client, db: Database, marketer: str
) -> None:
    welcome, decision = saved(db, status="active"), saved(db, "Stage track: decision", "active")
    ann = lead(db, "ann@example.com")
    with db.write() as session:
        for program_id in (welcome, decision):
            found = session.get_one(Program, program_id)
            store.add_leads(session, found, [ann], by="console", now=utcnow())
        store.set_status(session, session.get_one(Program, decision), "archived", by="t",
                         now=utcnow())  # fmt: skip
    tree = html(client.get(f"/console/leads/{ann}").text)
    rows = {
        text_of(row, "th a"): (row.attributes["data-status"], text_of(row, "td"))
        for row in tree.css(".lead-program-list tbody tr")
    }
    assert rows == {
        "Welcome": ("active", "In it now"),
        "Stage track: decision": ("exited", "Left program archived"),
    }
    link = tree.css_first(".lead-program-list a")
    assert link is not None
    assert link.attributes["href"] in {f"{URL}/{welcome}", f"{URL}/{decision}"}
