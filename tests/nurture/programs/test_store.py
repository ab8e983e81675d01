"""Storing programs (versions, status), the dry run, and what tells the job there is work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from content.orm import utcnow
from nurture.mail import suppression
from nurture.mail.models import SuppressionReason
from nurture.programs import scheduler, store
from nurture.programs.definition import parse
from nurture.programs.models import Program
from nurture.programs.templates import template
from portal.db import Database
from tests.nurture.programs.driving import (
    DAY,
    T0,
    add,
    enrollments,
    guard_rails,
    mail,
    program,
    save,
    set_status,
    subscriber,
)
from tracking.models import Lead, LeadChange
from tracking.pipeline import changelog
from tracking.rules.config import Model

STAGES = Model().stages


def lead(db: Database, email: str, **fields: Any) -> int:
    with db.write() as session:
        found = Lead(email=email, created_at=utcnow(), last_activity_at=utcnow(), **fields)
        session.add(found)
        session.flush()
        return found.id


def dry_run(db: Database, program_id: int | None, name: str = "Welcome") -> store.DryRun:
    definition = next(d for d in template_definitions() if d.name == name)
    with db.read() as session:
        found = session.get(Program, program_id) if program_id is not None else None
        result = store.dry_run(session, found, definition, T0, STAGES)
        session.expunge_all()
        return result


def template_definitions() -> list[Any]:
    return [d for name in ("welcome", "re-engagement") for d in template(name)]


def test_the_dry_run_counts_who_would_enter_and_who_can_get_mail(db: Database) -> None:
    program_id = save(db, template("welcome")[0])
    confirmed = {"consent_status": "confirmed"}
    lead(db, "ann@example.com", **confirmed)
    lead(db, "bob@example.com", journey_stage="decision", **confirmed)  # at a goal
    lead(db, "cy@example.com", lifecycle="customer", **confirmed)  # past the sql goal
    dee = lead(db, "dee@example.com", **confirmed)
    lead(db, "eve@example.com", consent_status="pending")  # not subscribed
    lead(db, "fay@example.com", **confirmed)
    gus = lead(db, "gus@example.com", **confirmed)
    with db.write() as session:
        changelog.append(session, LeadChange(lead_id=dee, at=T0, kind="demo", new="requested"))
        suppression.suppress(session, "fay@example.com", SuppressionReason.COMPLAINT, T0)
    add(db, program_id, [gus], T0)  # in it already

    found = dry_run(db, program_id)
    assert sorted(lead.email for lead in found.sample) == ["ann@example.com", "fay@example.com"]
    assert (found.count, found.mailable) == (2, 1)


def test_the_dry_run_of_a_grade_trigger_counts_that_grade_and_better(db: Database) -> None:
    for grade in "ABCDE":
        lead(db, f"{grade.lower()}@example.com", grade=grade)
    definition = program("Good leads", [mail("hi", "Hi")], trigger={"kind": "grade", "value": "B"})
    with db.read() as session:
        found = store.dry_run(session, None, definition, T0, STAGES)
    assert sorted(lead.grade for lead in found.sample) == ["A", "B"]


def test_the_dry_run_keeps_a_recycled_lead_whose_demo_came_before(db: Database) -> None:
    recycled = {"lifecycle": "recycled", "lifecycle_changed_at": T0 - DAY}
    before = lead(db, "before@example.com", **recycled)
    after = lead(db, "after@example.com", **recycled)
    with db.write() as session:
        changelog.append(
            session,
            LeadChange(lead_id=before, at=T0 - 30 * DAY, kind="demo", new="requested"),
            LeadChange(lead_id=after, at=T0, kind="demo", new="requested"),
        )
    found = dry_run(db, None, "Re-engagement: recycled leads")
    assert [lead.email for lead in found.sample] == ["before@example.com"]


def test_the_dry_run_of_an_event_trigger_says_it_enters_as_it_happens(db: Database) -> None:
    definition = program("After", [mail("hi", "Hi")], trigger={"kind": "webinar_missed"})
    with db.read() as session:
        found = store.dry_run(session, None, definition, T0, STAGES)
    assert (found.count, found.note) == (0, "a webinar_missed trigger enters leads as it happens")


def test_saving_creates_edits_a_draft_in_place_and_versions_once_entered(db: Database) -> None:
    first = program("Sequence", [mail("one", "One")])
    second = program("Sequence", [mail("one", "One, edited")])
    third = program("Sequence", [mail("one", "One, again")])
    with db.write() as session:
        assert store.save(session, first, by="t", now=T0).outcome == "created"
        assert store.save(session, first, by="t", now=T0).outcome == "unchanged"
        saved = store.save(session, second, by="t", now=T0)
        assert (saved.outcome, saved.program.version) == ("updated", 1)
        store.set_status(session, saved.program, "active", by="t", now=T0)
        program_id = saved.program.id
    add(db, program_id, [subscriber(db, "ada@example.com")], T0)
    with db.write() as session:
        saved = store.save(session, third, by="t", now=T0 + DAY, status="paused")
        assert (saved.outcome, saved.program.version, saved.program.status) == (
            "versioned", 2, "paused",
        )  # fmt: skip
        assert store.current(session, saved.program) == third
        assert store.definition(session, program_id, 1) == second
        with pytest.raises(ValueError, match="pause or archive"):
            store.set_status(session, saved.program, "draft", by="t", now=T0 + DAY)


def test_a_renamed_program_may_not_take_another_programs_name(db: Database) -> None:
    save(db, program("One", [mail("hi", "Hi")]))
    two = save(db, program("Two", [mail("hi", "Hi")]))
    with db.write() as session:
        found = session.get(Program, two)
        with pytest.raises(ValueError, match="exists already"):
            store.save(session, program("One", [mail("hi", "Hello")]), by="t", now=T0,
                       program=found)  # fmt: skip


def test_a_draft_takes_nobody_and_archiving_ends_every_enrollment(db: Database) -> None:
    program_id = save(db, program("Sequence", [mail("one", "One")]), status="draft")
    ada = subscriber(db, "ada@example.com")
    with pytest.raises(ValueError, match="activate it first"):
        add(db, program_id, [ada], T0)
    set_status(db, program_id, "active", T0)
    add(db, program_id, [ada], T0)
    set_status(db, program_id, "archived", T0 + DAY)
    (ended,) = enrollments(db, ada)
    assert (ended.status, ended.end_reason) == ("exited", "program archived")


def test_work_waits_only_for_active_programs_while_not_paused(db: Database) -> None:
    program_id = save(db, program("Sequence", [mail("one", "One")]))
    ada = subscriber(db, "ada@example.com")
    context = scheduler.Context(STAGES, "pipewise.example")
    with db.write() as session:
        scheduler.read_changes(session, T0, context)  # the cursor past the subscription
    with db.read() as session:
        assert not scheduler.has_due(session, T0)
    add(db, program_id, [ada], T0)
    with db.read() as session:
        assert scheduler.has_due(session, T0)
        assert not scheduler.has_due(session, T0 - timedelta(seconds=1))
    guard_rails(db, paused=True)
    with db.read() as session:
        assert not scheduler.has_due(session, T0)
    guard_rails(db, paused=False)
    set_status(db, program_id, "paused", T0)
    with db.read() as session:
        assert not scheduler.has_due(session, T0)


def test_what_passes_did_adds_up_and_reads_as_a_line() -> None:
    done = scheduler.Pass(changes=3, entered=1)
    done.add(scheduler.Pass(entered=2, sent=4, held=1))
    assert (done.changes, done.entered, done.sent, done.held) == (3, 3, 4, 1)
    assert done.describe() == "3 change(s) read, 3 entered, 4 mail(s) queued, 1 held back"
    assert scheduler.Pass().describe() is None


def test_a_definition_stored_reads_back_the_same(db: Database) -> None:
    definition = parse(
        {"name": "Full", "trigger": {"kind": "inactive", "days": 30},
         "steps": [{"id": "w", "wait": {"weekday": "tuesday", "hour": 10}}, mail("m", "M")]}
    )  # fmt: skip
    program_id = save(db, definition)
    with db.read() as session:
        assert store.definition(session, program_id, 1) == definition
        with pytest.raises(LookupError):
            store.definition(session, program_id, 2)
