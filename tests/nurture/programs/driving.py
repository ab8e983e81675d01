"""Driving nurture programs through simulated days: programs saved as a marketer would, leads
that subscribe, read, change stage and unsubscribe at chosen moments, and ``Drive``, which
runs the scheduler and the mail send job as if it were that moment (the send job delivers to
a real SMTP server, ``smtp_sink``).

Every moment is at or after ``T0``, a Monday a week or more ahead of the real clock, so what
factories stamp with the real clock (published assets, new leads) comes before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from content.orm import utcnow
from nurture.mail.models import MailMessage
from nurture.mail.sender import MailSender
from nurture.programs import scheduler, store
from nurture.programs.definition import Definition, parse
from nurture.programs.models import Enrollment, Program, ProgramSettings, StepLog
from nurture.programs.templates import template
from portal import program_jobs
from portal.db import Database
from portal.mail import jobs as mail_jobs
from portal.settings import Settings
from portal.signing import Signer, load_secret_keys
from tests.mailbox import Received, SmtpSink
from tests.nurture.mail.subscribers import subscribed
from tracking.models import AssetEngagement, Lead, LeadChange
from tracking.pipeline import changelog
from tracking.rules.config import Model

DAY = timedelta(days=1)


def monday_after(moment: datetime) -> datetime:
    """11:00 UTC on the first Monday at least a week after ``moment``."""
    day = (moment + timedelta(days=7)).date()
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)


T0 = monday_after(utcnow())


def program(name: str, steps: list[dict[str, Any]], **fields: Any) -> Definition:
    """A program definition (manual trigger unless ``trigger`` is given)."""
    data: dict[str, Any] = {"name": name, "trigger": {"kind": "manual"}, "steps": steps}
    data.update(fields)
    return parse(data)


def mail(
    step_id: str, subject: str, body: str = "Hello {{ first_name | there }}."
) -> dict[str, Any]:
    return {"id": step_id, "send": {"subject": subject, "body": body}}


def wait(step_id: str, days: float) -> dict[str, Any]:
    return {"id": step_id, "wait": {"days": days}}


def save(
    db: Database, definition: Definition, *, at: datetime = T0 - DAY, status: str = "active"
) -> int:
    """Store (or import over) a program as of ``at``; its id."""
    with db.write() as session:
        return store.save(session, definition, by="test", now=at, status=status).program.id


def set_status(db: Database, program_id: int, status: str, at: datetime) -> None:
    with db.write() as session:
        found = session.get(Program, program_id)
        assert found is not None
        store.set_status(session, found, status, by="test", now=at)


def save_template(db: Database, name: str, *, at: datetime = T0 - DAY) -> dict[str, int]:
    """Every program of a built-in template, active: their ids by name."""
    return {definition.name: save(db, definition, at=at) for definition in template(name)}


def guard_rails(db: Database, **values: Any) -> None:
    """Set the guard rails of all programs (``weekly_cap``, ``quiet_start`` … ``paused``)."""
    with db.write() as session:
        found = store.guard_rails(session)
        for name, value in values.items():
            setattr(found, name, value)


def subscriber(db: Database, email: str, *, at: datetime = T0, **fields: Any) -> int:
    """A lead whose double opt-in was confirmed at ``at`` (the ``subscribed`` change);
    ``fields`` set on the lead (``time_zone``, ``name``, ``journey_stage`` …)."""
    lead_id = subscribed(db, email, at=at)
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        for name, value in fields.items():
            setattr(lead, name, value)
    return lead_id


def add(db: Database, program_id: int, lead_ids: Iterable[int], at: datetime) -> None:
    """Leads added by hand (the console's "Add leads")."""
    with db.write() as session:
        found = session.get(Program, program_id)
        assert found is not None
        store.add_leads(session, found, list(lead_ids), by="test", now=at)


def read(db: Database, lead_id: int, asset_id: int, at: datetime) -> None:
    """The lead read the asset in a browser (what ingestion keeps in ``asset_engagement``)."""
    with db.write() as session:
        session.add(
            AssetEngagement(
                visitor_id=f"v{lead_id}-{asset_id}", asset_id=asset_id, lead_id=lead_id,
                engaged_seconds=120.0, max_depth=1.0, views=1, first_at=at, last_at=at,
            )
        )  # fmt: skip


def change_stage(db: Database, lead_id: int, stage: str, at: datetime) -> None:
    """The lead's inferred stage moves, logged as ``leadstate.evaluate`` logs it."""
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        changelog.append(
            session,
            LeadChange(lead_id=lead_id, at=at, kind="stage", old=lead.journey_stage, new=stage,
                       reason=f"{stage} (0.80): test"),
        )  # fmt: skip
        lead.journey_stage = stage
        lead.stage_changed_at = at


@dataclass
class Drive:
    """The scheduler and the send job, run as if at a chosen moment."""

    db: Database
    settings: Settings
    sink: SmtpSink
    model: Model = field(default_factory=Model)
    sender: MailSender = field(init=False)

    def __post_init__(self) -> None:
        signer = Signer(load_secret_keys(self.settings))
        self.sender = mail_jobs.mail_sender(self.settings, self.db, signer, model=self.model)

    def tick(self, at: datetime, *, send: bool = True) -> scheduler.Pass:
        """One scheduler pass at ``at``, then the send job's round at ``at``."""
        done = program_jobs.tick(self.db, self.settings, self.model, at)
        if send:
            self.sender.clock = lambda: at
            self.sender.run_once()
        return done

    def days(self, start: datetime, count: int) -> None:
        """A tick a day for ``count`` days from ``start`` (same time of day)."""
        for number in range(count):
            self.tick(start + number * DAY)

    def mails(self, address: str) -> list[Received]:
        return [found for found in self.sink.messages if address in found.rcpt_to]

    def subjects(self, address: str) -> list[str]:
        return [found.subject for found in self.mails(address)]


def steps_of(db: Database, lead_id: int, program_id: int | None = None) -> list[tuple[str, str]]:
    """(step id, outcome) of every step the lead took, in order."""
    query = select(StepLog.step_id, StepLog.outcome).where(StepLog.lead_id == lead_id)
    if program_id is not None:
        query = query.where(StepLog.program_id == program_id)
    with db.read() as session:
        return [(step, outcome) for step, outcome in session.execute(query.order_by(StepLog.id))]


def enrollments(db: Database, lead_id: int) -> list[Enrollment]:
    with db.read() as session:
        found = list(
            session.scalars(
                select(Enrollment).where(Enrollment.lead_id == lead_id).order_by(Enrollment.id)
            )
        )
        session.expunge_all()
        return found


def statuses(db: Database, lead_id: int) -> Mapping[int, str]:
    """The status of the lead's latest enrollment in each program."""
    return {found.program_id: found.status for found in enrollments(db, lead_id)}


def messages(db: Database, lead_id: int | None = None) -> list[MailMessage]:
    with db.read() as session:
        query = select(MailMessage).order_by(MailMessage.id)
        if lead_id is not None:
            query = query.where(MailMessage.lead_id == lead_id)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def settings_row(db: Database) -> ProgramSettings:
    with db.read() as session:
        found = session.get(ProgramSettings, 1)
        assert found is not None
        session.expunge(found)
        return found
