"""Webinar mails: which mail a registration needs when (pure, exhaustively), and the
``webinar-mail`` job putting each in the outbox once, sent through a real SMTP server:
the confirmation with the calendar entry, the reminders, the recording or "sorry we missed
you"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, text

from content.models import Asset
from content.orm import utcnow
from nurture.mail import webinars
from nurture.mail.models import MailMessage
from nurture.mail.webinars import (
    ATTENDANCE_WAIT,
    CONFIRM_WITHIN,
    FOLLOW_UP_FOR,
    Registration,
    Webinar,
    WebinarMail,
    due,
    nothing_before,
)
from portal import i18n
from portal.db import Database
from portal.mail.webinar_mails import when
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink, send_mail
from tests.portal.forms import submit
from tracking import events
from tracking.identity.facts import Source, record_facts
from tracking.identity.identify import get_or_create_lead
from tracking.models import Lead
from tracking.pipeline.ingest import record

REGISTERED, DAY, HOUR = WebinarMail.REGISTERED, WebinarMail.REMINDER_DAY, WebinarMail.REMINDER_HOUR
RECORDING, MISSED = WebinarMail.RECORDING, WebinarMail.MISSED
START = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
END = START + timedelta(minutes=45)
SUMMER = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def webinar(*, recording: bool = True, attendance: bool = False) -> Webinar:
    return Webinar(7, START, END, has_recording=recording, attendance_known=attendance)


def person(registered: datetime | None, attended: bool = False) -> Registration:
    return Registration(3, registered, attended)


# Which mail is due when (pure)


@pytest.mark.parametrize(
    ("registered", "now", "mails"),
    [
        # the confirmation: right away, for two days, until the webinar ends
        (START - 3 * D, START - 3 * D, [REGISTERED]),
        (START - 3 * D, START - 3 * D + CONFIRM_WITHIN - M, [REGISTERED]),
        (START - 5 * D, START - 3 * D, []),  # two days late: not sent at all
        (START - 10 * H, START - 10 * H, [REGISTERED]),
        (START + 20 * M, START + 30 * M, [REGISTERED]),  # joined while it runs
        (END + M, END + 2 * M, []),  # after the end: no confirmation
        # the day-before reminder: from 24 h to 1 h before, if registered before 24 h
        (START - 5 * D, START - 24 * H - M, []),
        (START - 3 * D, START - 24 * H, [DAY]),
        (START - 3 * D, START - H - M, [DAY]),
        (START - 3 * D, START - H, [HOUR]),  # the day reminder's moment has passed
        (START - 24 * H, START - 20 * H, [REGISTERED]),  # registered at the 24 h point: none
        (START - 10 * H, START - 5 * H, [REGISTERED]),
        # the hour-before reminder: in the last hour, if registered before it
        (START - 3 * D, START - M, [HOUR]),
        (START - 3 * D, START, []),
        (START - 10 * H, START - 30 * M, [REGISTERED, HOUR]),
        (START - 30 * M, START - 20 * M, [REGISTERED]),  # no reminder for a late registration
        (START - 25 * H, START - 24 * H, [REGISTERED, DAY]),
        # after the webinar: nothing until attendance is in or 12 hours passed
        (START - 3 * D, END, []),
        (START - 3 * D, END + ATTENDANCE_WAIT - M, []),
        (START - 3 * D, END + ATTENDANCE_WAIT, [RECORDING]),
        (START - 3 * D, END + FOLLOW_UP_FOR - M, [RECORDING]),
        (START - 3 * D, END + FOLLOW_UP_FOR, []),
    ],
)
def test_which_mail_is_due(registered: datetime, now: datetime, mails: list[WebinarMail]) -> None:
    assert due(webinar(), person(registered), now) == mails


@pytest.mark.parametrize(
    ("attendance", "attended", "mail"),
    [(True, True, RECORDING), (True, False, MISSED), (False, False, RECORDING)],
)
def test_the_follow_up_is_sorry_we_missed_you_only_to_known_no_shows(
    attendance: bool, attended: bool, mail: WebinarMail
) -> None:
    at = END + H  # attendance known: no need to wait for it
    expected = [mail] if attendance else []
    assert due(webinar(attendance=attendance), person(START - D, attended), at) == expected
    later = END + ATTENDANCE_WAIT
    assert due(webinar(attendance=attendance), person(START - D, attended), later) == [mail]


def test_without_a_recording_there_is_no_follow_up() -> None:
    for now in (END + H, END + ATTENDANCE_WAIT, END + 3 * D):
        assert due(webinar(recording=False, attendance=True), person(START - D), now) == []


def test_an_attendee_without_a_registration_gets_the_recording_only() -> None:
    assert due(webinar(attendance=True), person(None, attended=True), START - 30 * M) == []
    assert due(webinar(attendance=True), person(None, attended=True), END + H) == [RECORDING]


def timeline(registered: datetime, webinar_: Webinar, attended: bool) -> list[WebinarMail]:
    """The mails one registrant gets, in order, with the job running every minute from the
    registration until the follow-up window closed, each dedupe key going once."""
    sent: list[WebinarMail] = []
    keys: set[str] = set()
    now = registered
    while now < webinar_.ends_at + FOLLOW_UP_FOR + H:
        for mail in due(webinar_, person(registered, attended), now):
            key = webinars.dedupe_key(mail, 3, webinar_.asset_id)
            if key not in keys:
                keys.add(key)
                sent.append(mail)
        now += 5 * M if abs(now - webinar_.starts_at) < 2 * D else H
    return sent


@given(
    before=st.integers(min_value=-60, max_value=14 * 24 * 60),
    attendance=st.booleans(),
    attended=st.booleans(),
    recording=st.booleans(),
)
def test_each_registrant_gets_each_mail_once_and_in_order(
    before: int, attendance: bool, attended: bool, recording: bool
) -> None:
    registered = START - timedelta(minutes=before)
    sent = timeline(registered, webinar(recording=recording, attendance=attendance), attended)
    expected = []
    if registered < END:
        expected.append(REGISTERED)
    if registered < START - 24 * H:
        expected.append(DAY)
    if registered < START - H:
        expected.append(HOUR)
    if recording:
        expected.append(MISSED if attendance and not attended else RECORDING)
    assert sent == expected


def test_only_young_registrations_are_read_while_only_a_confirmation_can_be_due() -> None:
    assert nothing_before(START, START - 3 * D) == START - 3 * D - CONFIRM_WITHIN
    assert nothing_before(START, START - 24 * H) < START - 365 * D
    assert nothing_before(START, END + D) < START - 365 * D


@pytest.mark.parametrize(
    ("moment", "language", "zone", "written"),
    [
        (START, "en", "UTC", "Thursday, 3 December 2026, 14:00 UTC"),
        (START, "de", "Europe/Berlin", "Donnerstag, 3. Dezember 2026, 15:00 MEZ"),
        (SUMMER, "de", "Europe/Berlin", "Mittwoch, 1. Juli 2026, 10:30 MESZ"),
        (START, "en", "Europe/Berlin", "Thursday, 3 December 2026, 15:00 CET"),
        (START, "de", "America/New_York", "Donnerstag, 3. Dezember 2026, 09:00 GMT-05:00"),
        (START, "en", "Asia/Kolkata", "Thursday, 3 December 2026, 19:30 GMT+05:30"),
    ],
)
def test_the_time_reads_in_the_readers_language_and_zone(
    moment: datetime, language: str, zone: str, written: str
) -> None:
    with i18n.using(language):
        assert when(moment, ZoneInfo(zone)) == written


# The job and the mails, through the real outbox and a real SMTP server


def make_webinar(db: Database, starts_at: datetime, **fields: Any) -> Asset:
    return make_asset(
        db,
        title="Lead scoring live",
        slug="lead-scoring-live",
        kind="webinar",
        stage="consideration",
        gate="gated",
        webinar_starts_at=starts_at.isoformat(),
        webinar_duration_minutes="45",
        **fields,
    )


def lead(db: Database, email: str, first_name: str = "", language: str = "") -> int:
    with db.write() as session:
        found, _ = get_or_create_lead(session, email, utcnow())
        found.language = language
        if first_name:
            record_facts(session, found.id, {"first_name": first_name}, Source("import"), utcnow())
        return found.id


def happened(db: Database, *stored: events.TrackedEvent) -> None:
    with db.write() as session:
        record(session, list(stored))


def run_job(client: TestClient[Litestar]) -> None:
    client.app.state.runner.run_all_once(["webinar-mail"])


def kinds(db: Database) -> list[tuple[str, str]]:
    with db.read() as session:
        rows = session.execute(
            select(MailMessage.to_address, MailMessage.kind).order_by(MailMessage.id)
        )
        return [(to, kind) for to, kind in rows]


def button(received: Received) -> str:
    """Where the mail's button leads (the click-through URL's path and query)."""
    html = received.part("html")
    start = html.index('class="button"')
    href = html[html.index('href="', start - 200) + 6 :]
    return href[: href.index('"')].replace("&amp;", "&")


@pytest.fixture
def client(mail_client: TestClient[Litestar]) -> TestClient[Litestar]:
    return mail_client


def test_a_registration_through_the_gate_is_confirmed_with_the_calendar_entry(
    client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    starts = (utcnow() + 3 * D).replace(second=0, microsecond=0)
    asset = make_webinar(db, starts, video_url="https://www.youtube.com/watch?v=live123")
    response = submit(
        client,
        asset.slug,
        email="ann@example.com",
        first_name="Ann",
        last_name="Smith",
        company="Acme",
    )
    assert response.status_code in (200, 303), response.text
    run_job(client)
    run_job(client)  # a second pass queues nothing again
    assert kinds(db).count(("ann@example.com", "webinar_registered")) == 1
    send_mail(client)
    (confirmation,) = [m for m in smtp_sink.wait_for(1) if "registered" in m.subject]
    assert confirmation.subject == "You are registered: Lead scoring live"
    body = confirmation.part("plain")
    assert "Hi Ann," in body
    with i18n.using("en"):  # no zone known: an English reader's is UTC
        assert f"When: {when(starts, UTC)}, 45 minutes" in body
    (calendar,) = [p for p in confirmation.message.iter_attachments()]
    assert isinstance(calendar, EmailMessage)
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_filename() == "lead-scoring-live.ics"
    ics = calendar.get_payload(decode=True)
    assert isinstance(ics, bytes)
    assert f"DTSTART:{starts:%Y%m%dT%H%M%SZ}".encode() in ics
    assert b"SUMMARY:Lead scoring live" in ics
    click = client.get(button(confirmation).split("testserver.local")[-1], follow_redirects=False)
    assert click.status_code == 302
    assert click.headers["location"] == "https://www.youtube.com/watch?v=live123"


def test_registrants_get_the_reminder_a_day_before_and_late_ones_only_the_confirmation(
    client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    now = utcnow()
    asset = make_webinar(db, now + 10 * H)
    early, late = lead(db, "early@example.com"), lead(db, "late@example.com")
    happened(
        db,
        events.WebinarRegister(lead_id=early, asset_id=asset.id, occurred_at=now - 3 * D),
        events.WebinarRegister(lead_id=late, asset_id=asset.id, occurred_at=now - H),
    )
    run_job(client)
    run_job(client)
    assert sorted(kinds(db)) == [
        ("early@example.com", "webinar_reminder_24h"),
        ("late@example.com", "webinar_registered"),
    ]
    send_mail(client)
    smtp_sink.wait_for(2)
    (reminder,) = smtp_sink.to("early@example.com")
    assert reminder.subject == "Coming up: Lead scoring live"
    assert list(reminder.message.iter_attachments()) == []
    with db.read() as session:
        keys = set(session.scalars(select(MailMessage.dedupe_key)))
    assert keys == {f"webinar-24h:{early}:{asset.id}", f"webinar-registered:{late}:{asset.id}"}


def test_the_hour_before_reminder_reads_in_german_for_a_german_lead(
    client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    now = utcnow()
    starts = now + 30 * M
    asset = make_webinar(db, starts)
    anna = lead(db, "anna@example.de", first_name="Anna", language="de")
    happened(db, events.WebinarRegister(lead_id=anna, asset_id=asset.id, occurred_at=now - 2 * D))
    run_job(client)
    send_mail(client)
    (reminder,) = smtp_sink.wait_for(1)
    assert reminder.subject == "Gleich geht es los: Lead scoring live"
    assert reminder.message["Content-Language"] == "de"
    body = reminder.part("plain")
    assert "Hallo Anna," in body
    with i18n.using("de"):  # no zone known: a German reader's is Central European time
        assert f"beginnt gleich: {when(starts, ZoneInfo('Europe/Berlin'))}." in body
    assert " MEZ." in body or " MESZ." in body


def test_the_reminder_reads_in_the_zone_the_leads_browser_reported(
    client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    now = utcnow()
    starts = (now + 10 * H).replace(second=0, microsecond=0)
    asset = make_webinar(db, starts)
    ben = lead(db, "ben@example.com", first_name="Ben", language="en")
    jonas = lead(db, "jonas@example.de", first_name="Jonas", language="de")
    with db.write() as session:
        session.get_one(Lead, ben).time_zone = "America/New_York"
        session.get_one(Lead, jonas).time_zone = "America/New_York"
    for reader in (ben, jonas):
        happened(
            db, events.WebinarRegister(lead_id=reader, asset_id=asset.id, occurred_at=now - 3 * D)
        )
    run_job(client)
    send_mail(client)
    smtp_sink.wait_for(2)
    (english,) = smtp_sink.to("ben@example.com")
    (german,) = smtp_sink.to("jonas@example.de")
    new_york = ZoneInfo("America/New_York")
    local = starts.astimezone(new_york)
    assert english.subject == "Coming up: Lead scoring live"
    assert german.subject == "Bald ist es so weit: Lead scoring live"
    english_body, german_body = english.part("plain"), german.part("plain")
    assert f"{local:%H:%M} Eastern" in english_body
    assert f"{local:%H:%M} GMT-0" in german_body
    with i18n.using("de"):
        assert f"Wann: {when(starts, new_york)}, 45 Minuten" in german_body


def test_after_the_webinar_attendees_get_the_recording_and_no_shows_sorry_we_missed_you(
    client: TestClient[Litestar], smtp_sink: SmtpSink, db: Database
) -> None:
    now = utcnow()
    asset = make_webinar(db, now - 2 * H, recording_url="https://vimeo.com/123456")
    came, away = lead(db, "came@example.com"), lead(db, "away@example.com")
    happened(
        db,
        events.WebinarRegister(lead_id=came, asset_id=asset.id, occurred_at=now - 5 * D),
        events.WebinarRegister(lead_id=away, asset_id=asset.id, occurred_at=now - 4 * D),
        events.WebinarAttend(lead_id=came, asset_id=asset.id, occurred_at=now - 2 * H),
    )
    run_job(client)
    run_job(client)
    send_mail(client)
    smtp_sink.wait_for(2)
    (thanks,) = smtp_sink.to("came@example.com")
    (missed,) = smtp_sink.to("away@example.com")
    assert thanks.subject == "The recording: Lead scoring live"
    assert "Thank you for joining us" in thanks.part("plain")
    assert missed.subject == "Sorry we missed you: Lead scoring live"
    assert "We missed you" in missed.part("plain")
    for mail in (thanks, missed):
        location = client.get(button(mail).split("testserver.local")[-1], follow_redirects=False)
        assert location.headers["location"] == "https://vimeo.com/123456"
    with db.read() as session:
        keys = set(session.scalars(select(MailMessage.dedupe_key)))
    assert keys == {f"webinar-after:{came}:{asset.id}", f"webinar-after:{away}:{asset.id}"}


def test_without_attendance_the_recording_waits_twelve_hours_then_goes_to_everyone(
    client: TestClient[Litestar], db: Database
) -> None:
    now = utcnow()
    soon = make_webinar(db, now - 3 * H, recording_url="https://vimeo.com/1")
    ann = lead(db, "ann@example.com")
    happened(db, events.WebinarRegister(lead_id=ann, asset_id=soon.id, occurred_at=now - D))
    run_job(client)
    assert kinds(db) == []
    with db.write() as session:
        session.get_one(Asset, soon.id).webinar_starts_at = now - 13 * H
    run_job(client)
    assert kinds(db) == [("ann@example.com", "webinar_recording")]


def test_no_mail_for_an_archived_webinar_or_an_erased_lead(
    client: TestClient[Litestar], db: Database
) -> None:
    now = utcnow()
    asset = make_webinar(db, now + 30 * M)
    ann, bob = lead(db, "ann@example.com"), lead(db, "bob@example.com")
    happened(
        db,
        events.WebinarRegister(lead_id=ann, asset_id=asset.id, occurred_at=now - 3 * D),
        events.WebinarRegister(lead_id=bob, asset_id=asset.id, occurred_at=now - 3 * D),
    )
    with db.write() as session:
        session.delete(session.get_one(Lead, bob))
    run_job(client)
    assert kinds(db) == [("ann@example.com", "webinar_reminder_1h")]
    with db.write() as session:
        session.get_one(Asset, asset.id).status = "archived"
        session.execute(text("DELETE FROM mail_message"))
    run_job(client)
    assert kinds(db) == []


def test_registrants_are_read_through_the_webinar_index(db: Database) -> None:
    """The job's query names the partial index's condition, so the database can use it."""
    query = webinars.registrants(42)
    names = {"ix_event_webinar"}
    if not db.is_sqlite:
        # Partitioned by month: the planner weighs each month's indexes by its statistics (an
        # empty, never analyzed month has none), so the months get a lead's page views first.
        with db.write() as session:
            lead, _ = get_or_create_lead(session, "reader@example.com", utcnow())
            session.execute(
                text(
                    "INSERT INTO event (lead_id, type, occurred_at)"
                    " SELECT :lead, 'page_view', now() - g * interval '1 hour'"
                    " FROM generate_series(1, 3000) AS g"
                ),
                {"lead": lead.id},
            )
        with db.write_connection() as connection:
            connection.execute(text("ANALYZE event"))
    with db.read() as session:
        compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
        if db.is_sqlite:
            plan = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = session.execute(text(f"EXPLAIN {compiled}")).all()
            # Partitioned by month: each month's partition has its own copy of the index.
            names |= set(
                session.scalars(
                    text(
                        "SELECT inhrelid::regclass::text FROM pg_inherits"
                        " WHERE inhparent = 'ix_event_webinar'::regclass"
                    )
                )
            )
    said = " ".join(str(row) for row in plan)
    assert any(name in said for name in names)
