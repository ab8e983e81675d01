"""A program with two weeks of history for the weekly review's tests (the queries and the
page): leads enter through ``store.enroll``, the scheduler takes their steps at chosen moments,
and the mails' fates (accepted, bounced, opened, clicked) are written as the send job and the
tracking links would.

The weeks are three weeks before the running one, so the review of ``week`` is of a finished
week and its figures do not move with the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from content.orm import start_of, utcnow
from nurture.mail import subscriptions
from nurture.mail.models import MailMessage, MailStatus
from nurture.programs import scheduler, store
from nurture.programs.definition import parse
from nurture.programs.models import Program, StepLog
from nurture.programs.review import week_of
from portal.db import Database
from tests.nurture.mail.subscribers import subscribed
from tracking.identity.identify import get_or_create_lead
from tracking.models import LeadChange
from tracking.pipeline import changelog
from tracking.rules.config import Model

DOMAIN = "pipewise.example"
STAGES = Model().stages
PROGRAM: dict[str, Any] = {
    "name": "Review sample",
    "trigger": {"kind": "manual"},
    "goals": [{"kind": "stage", "value": "decision"}],
    "steps": [
        {
            "id": "hello",
            "send": {
                "subjects": ['Hello, "friend"', "Your reading list"],
                "ab": {"mode": "split"},
                "body": "Welcome.",
            },
        },
        {"id": "pause", "wait": {"days": 3}},
        {"id": "second", "send": {"subject": "Second mail", "body": "More to read."}},
        {"id": "rest", "wait": {"days": 30}},
    ],
}


def reviewed_week() -> datetime:
    """Monday 00:00 UTC of the week the scenario's review looks at (three weeks ago)."""
    return start_of(week_of(utcnow())) - timedelta(weeks=3)


def make_program(db: Database, data: dict[str, Any] = PROGRAM, at: datetime | None = None) -> int:
    """An active program; no quiet hours and no frequency cap, so every tick sends."""
    with db.write() as session:
        guards = store.guard_rails(session)
        guards.quiet_start = guards.quiet_end = 0
        guards.weekly_cap = 0
        saved = store.save(session, parse(data), by="test", now=at or utcnow(), status="active")
        return saved.program.id


def enter(db: Database, program_id: int, emails: list[str], at: datetime) -> list[int]:
    """Subscribed leads entered by hand at ``at``."""
    lead_ids = [subscribed(db, email, at=at - timedelta(hours=1)) for email in emails]
    with db.write() as session:
        program = session.get_one(Program, program_id)
        for lead_id in lead_ids:
            store.enroll(session, program, lead_id, at, by="test", reentry=False)
    return lead_ids


def readers(db: Database, program_id: int, count: int, at: datetime) -> list[int]:
    """Many leads with confirmed consent entered at ``at`` (for A/B tests: one transaction)."""
    with db.write() as session:
        program = session.get_one(Program, program_id)
        lead_ids = []
        for number in range(count):
            lead, _ = get_or_create_lead(session, f"reader{number}@example.com", at)
            lead.consent_status = "confirmed"
            lead.marketing_consent = True
            store.enroll(session, program, lead.id, at, by="test", reentry=False)
            lead_ids.append(lead.id)
    return lead_ids


def tick(db: Database, at: datetime) -> None:
    """A scheduler pass at ``at``; the mails it wrote are accepted 5 minutes later."""
    scheduler.tick(db.write, at, scheduler.Context(stages=STAGES, domain=DOMAIN))
    with db.write() as session:
        session.execute(
            update(MailMessage)
            .where(MailMessage.status == MailStatus.PENDING.value)
            .values(status=MailStatus.SENT.value, sent_at=at + timedelta(minutes=5))
        )


def mail_of(db: Database, lead_id: int, step_id: str) -> int:
    with db.read() as session:
        found = session.scalar(
            select(StepLog.message_id).where(
                StepLog.lead_id == lead_id, StepLog.step_id == step_id, StepLog.outcome == "sent"
            )
        )
    assert found is not None
    return found


def mails_of_variant(db: Database, program_id: int, variant: int) -> list[int]:
    with db.read() as session:
        return [
            message_id
            for message_id in session.scalars(
                select(StepLog.message_id)
                .where(
                    StepLog.program_id == program_id,
                    StepLog.outcome == "sent",
                    StepLog.variant == variant,
                )
                .order_by(StepLog.id)
            )
            if message_id is not None
        ]


def mark(db: Database, message_id: int, **values: Any) -> None:
    """What the send job, a bounce or the tracking links write on a message."""
    with db.write() as session:
        session.execute(update(MailMessage).where(MailMessage.id == message_id).values(**values))


def stage_move(db: Database, lead_id: int, old: str, new: str, at: datetime) -> None:
    with db.write() as session:
        changelog.append(
            session,
            LeadChange(lead_id=lead_id, at=at, kind="stage", old=old, new=new, reason="test"),
        )


def unsubscribe(db: Database, email: str, at: datetime) -> None:
    with db.write() as session:
        subscriptions.unsubscribe(session, email, now=at)


@dataclass(frozen=True)
class Scenario:
    program_id: int
    week: datetime
    """Monday of the week reviewed; the week before holds the rest of the history."""
    leads: dict[str, int]


def two_weeks(db: Database) -> Scenario:
    """Ann and Bob enter the week before, Cy, Dee and Eve the week reviewed.

    The week before: Ann opens her first mail, Bob's bounces later; Ann moves on a stage the
    day after her second mail, Bob moves back one (not counted). The week reviewed: Cy opens
    and unsubscribes the next day; Dee only clicks, then reaches decision (a stage move and
    the program's goal); Eve's first mail is refused at sending. Ann unsubscribes 8 days
    after her last mail (too late to count), and Fay, in no program, moves on a stage.
    """
    week = reviewed_week()
    before = week - timedelta(weeks=1)
    program_id = make_program(db, at=before - timedelta(days=1))
    ann, bob = enter(db, program_id, ["ann@example.com", "bob@example.com"], before + _h(10))
    tick(db, before + _h(10))
    mark(db, mail_of(db, ann, "hello"), opened_at=before + _h(12))
    mark(db, mail_of(db, bob, "hello"), status=MailStatus.BOUNCED.value)
    tick(db, before + timedelta(days=3, hours=10))
    stage_move(db, ann, "awareness", "consideration", before + timedelta(days=4))
    stage_move(db, bob, "consideration", "awareness", before + timedelta(days=5))

    emails = ["cy@example.com", "dee@example.com", "eve@example.com"]
    cy, dee, eve = enter(db, program_id, emails, week + _h(10))
    tick(db, week + _h(10))
    mark(db, mail_of(db, cy, "hello"), opened_at=week + _h(11))
    mark(db, mail_of(db, dee, "hello"), clicked_at=week + _h(11))
    mark(db, mail_of(db, eve, "hello"), status=MailStatus.BOUNCED.value, sent_at=None)
    unsubscribe(db, "cy@example.com", week + timedelta(days=1, hours=9))
    stage_move(db, dee, "consideration", "decision", week + timedelta(days=2, hours=9))
    tick(db, week + timedelta(days=3, hours=10))
    (fay,) = [subscribed(db, "fay@example.com", at=week)]
    stage_move(db, fay, "awareness", "decision", week + timedelta(days=2))
    unsubscribe(db, "ann@example.com", week + timedelta(days=4, hours=11))
    leads = {"ann": ann, "bob": bob, "cy": cy, "dee": dee, "eve": eve, "fay": fay}
    return Scenario(program_id, week, leads)


def split_with_clicks(db: Database, clicks: tuple[int, int]) -> tuple[int, list[list[int]]]:
    """A program whose first mail went to 100 readers split over its two subject lines; the
    first ``clicks[n]`` mails of variant n were clicked. Returns the program and the mails of
    each variant."""
    week = reviewed_week()
    program_id = make_program(db, at=week)
    readers(db, program_id, 100, week + _h(10))
    tick(db, week + _h(10))
    by_variant = [mails_of_variant(db, program_id, variant) for variant in (0, 1)]
    for variant, mails in enumerate(by_variant):
        for message_id in mails[: clicks[variant]]:
            mark(db, message_id, clicked_at=week + _h(12))
    return program_id, by_variant


def _h(hours: int) -> timedelta:
    return timedelta(hours=hours)
