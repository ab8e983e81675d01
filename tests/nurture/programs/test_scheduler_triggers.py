"""The time-driven triggers end to end (webinar attendees and no-shows, quiet leads) and
entering on a lifecycle change made by sales."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from nurture.programs.models import Program
from portal.db import Database
from tests.factories import make_asset
from tests.nurture.programs.driving import (
    DAY,
    T0,
    Drive,
    enrollments,
    save_template,
    statuses,
    subscriber,
)
from tracking import events
from tracking.identity.demo_requests import submit_demo_request
from tracking.models import Lead
from tracking.pipeline import leadstate
from tracking.pipeline.ingest import record
from tracking.rules.config import Model
from tracking.rules.scoring import Lifecycle

HOUR = timedelta(hours=1)
STARTS = T0 + 2 * DAY - 5 * HOUR  # 06:00 UTC, two days after T0
FOLLOW_UP = STARTS + HOUR + 12 * HOUR  # an hour long, then 12 hours for attendance


def webinar(db: Database, slug: str, starts: datetime = STARTS) -> int:
    found = make_asset(
        db, title=f"Webinar {slug}", slug=slug, kind="webinar", gate="gated",
        webinar_starts_at=starts.isoformat(), webinar_duration_minutes="60",
    )  # fmt: skip
    return found.id


def happened(db: Database, *stored: events.TrackedEvent) -> None:
    with db.write() as session:
        record(session, list(stored))


def registered(lead_id: int, asset_id: int) -> events.WebinarRegister:
    return events.WebinarRegister(lead_id=lead_id, asset_id=asset_id, occurred_at=STARTS - DAY)


def attended(lead_id: int, asset_id: int) -> events.WebinarAttend:
    return events.WebinarAttend(
        lead_id=lead_id, asset_id=asset_id, occurred_at=STARTS, seconds=1800
    )


def test_attendees_and_no_shows_enter_their_follow_up_once_attendance_can_be_known(
    db: Database, drive: Drive
) -> None:
    ids = save_template(db, "webinar-follow-up")
    came, missed = ids["Webinar follow-up: attended"], ids["Webinar follow-up: missed"]
    live = webinar(db, "live")
    ann = subscriber(db, "ann@example.com", name="Ann Example")
    bob = subscriber(db, "bob@example.com", name="Bob Example")
    dee = subscriber(db, "dee@example.com")  # attended without registering (imported)
    eve = subscriber(db, "eve@example.com")  # never registered
    happened(db, registered(ann, live), registered(bob, live), attended(ann, live),
             attended(dee, live))  # fmt: skip

    drive.tick(FOLLOW_UP - timedelta(minutes=1))
    assert drive.sink.messages == []
    drive.tick(FOLLOW_UP + timedelta(minutes=1))
    assert statuses(db, ann) == {came: "active"}
    assert statuses(db, dee) == {came: "active"}
    assert statuses(db, bob) == {missed: "active"}
    assert statuses(db, eve) == {}
    assert drive.subjects("ann@example.com") == ["Thanks for joining, Ann"]
    assert drive.subjects("bob@example.com") == ["We missed you, Bob: here is what you missed"]
    drive.days(FOLLOW_UP + DAY, 3)  # re-entry is on: still, each webinar enters a lead once
    assert [found.program_id for found in enrollments(db, ann)] == [came]
    assert [found.program_id for found in enrollments(db, bob)] == [missed]


def test_without_imported_attendance_nobody_is_taken_for_a_no_show(
    db: Database, drive: Drive
) -> None:
    save_template(db, "webinar-follow-up")
    live = webinar(db, "live")
    ann = subscriber(db, "ann@example.com")
    happened(db, registered(ann, live))
    drive.tick(FOLLOW_UP + timedelta(minutes=1))
    assert enrollments(db, ann) == []
    assert drive.sink.messages == []


def test_a_webinar_before_the_programs_activation_is_not_followed_up(
    db: Database, drive: Drive
) -> None:
    save_template(db, "webinar-follow-up", at=FOLLOW_UP + HOUR)
    live = webinar(db, "live")
    ann = subscriber(db, "ann@example.com")
    happened(db, registered(ann, live), attended(ann, live))
    drive.days(FOLLOW_UP + 2 * HOUR, 2)
    assert enrollments(db, ann) == []


def quiet_since(db: Database, lead_id: int, moment: datetime) -> None:
    with db.write() as session:
        session.execute(update(Lead).where(Lead.id == lead_id).values(last_activity_at=moment))


def test_a_lead_quiet_for_the_triggers_days_enters_when_it_crosses_the_line(
    db: Database, drive: Drive
) -> None:
    ids = save_template(db, "re-engagement")
    quiet = ids["Re-engagement: quiet leads"]
    make_asset(db, title="Guide")
    ann = subscriber(db, "ann@example.com")
    bob = subscriber(db, "bob@example.com")
    cy = subscriber(db, "cy@example.com")
    quiet_since(db, ann, T0 - 59 * DAY)  # crosses 60 days tomorrow
    quiet_since(db, bob, T0 - 100 * DAY)  # quiet long before the program: no backfill
    quiet_since(db, cy, T0 - DAY)
    start = T0 + timedelta(minutes=5)
    drive.tick(start)
    assert statuses(db, ann) == {}
    drive.tick(start + DAY)
    assert statuses(db, ann) == {quiet: "active"}
    assert statuses(db, bob) == {}
    assert statuses(db, cy) == {}
    drive.days(start + 2 * DAY, 3)  # the subject line test decides after 48 hours
    assert len(drive.mails("ann@example.com")) == 1


def test_a_program_made_active_without_a_start_looks_from_its_first_pass_on(
    db: Database, drive: Drive
) -> None:
    ids = save_template(db, "re-engagement")
    quiet = ids["Re-engagement: quiet leads"]
    with db.write() as session:  # as an UPDATE by hand would leave it
        session.execute(
            update(Program).where(Program.id == quiet).values(activated_at=None, checked_until=None)
        )
    ann = subscriber(db, "ann@example.com")
    quiet_since(db, ann, T0 - 59 * DAY)
    start = T0 + timedelta(minutes=5)
    drive.tick(start)
    with db.read() as session:
        found = session.get(Program, quiet)
        assert found is not None
        assert found.checked_until == start
    drive.tick(start + DAY)
    assert statuses(db, ann) == {quiet: "active"}


def test_a_lead_sales_recycles_enters_the_recycled_program_despite_an_earlier_demo(
    db: Database, drive: Drive
) -> None:
    ids = save_template(db, "re-engagement")
    recycled = ids["Re-engagement: recycled leads"]
    ann = subscriber(db, "ann@example.com")
    with db.write() as session:
        answers = {"email": "ann@example.com", "first_name": "Ann", "last_name": "Example",
                   "company": "Example Ltd"}  # fmt: skip
        submit_demo_request(session, None, answers, consent_ticked=False, asset=None,
                            model=Model(), now=T0)  # fmt: skip
    drive.tick(T0 + HOUR)
    with db.write() as session:
        lead = session.get(Lead, ann)
        assert lead is not None
        assert lead.lifecycle == "sql"
        leadstate.set_lifecycle(session, lead, Lifecycle.RECYCLED, "no budget", T0 + 30 * DAY)
    drive.tick(T0 + 30 * DAY + HOUR)
    assert statuses(db, ann) == {recycled: "active"}
