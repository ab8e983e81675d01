"""Storing programs: create, import over (versioning an active one), change status, add leads
by hand, and the dry run. Every function runs in the caller's transaction.

Versioning: a draft that no lead ever entered is edited in place; any other change writes a
new version. New leads enter the newest version; a lead already in an older version finishes
the version it started (its enrollment names it), so an edit never changes a sequence under
a reader's feet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import dialect_insert
from content.words import N_, Said
from nurture.mail.models import Suppression
from nurture.programs import rules
from nurture.programs.definition import (
    Definition,
    Goal,
    GoalKind,
    Status,
    TriggerKind,
    parse,
    to_data,
)
from nurture.programs.models import (
    ACTIVE_ENROLLMENT,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramSettings,
    ProgramVersion,
    StepLog,
)
from tracking.models import AssetEngagement, Lead, LeadChange, Unlock

__all__ = [
    "DryRun",
    "Saved",
    "add_leads",
    "definition",
    "dry_run",
    "end_enrollments",
    "guard_rails",
    "save",
    "set_status",
]


@dataclass(frozen=True, slots=True)
class Saved:
    program: Program
    outcome: str
    """``created``, ``versioned`` (a new version), ``updated`` (a draft edited in place) or
    ``unchanged``."""


def definition(session: Session, program_id: int, version: int) -> Definition:
    data = session.scalar(
        select(ProgramVersion.definition).where(
            ProgramVersion.program_id == program_id, ProgramVersion.version == version
        )
    )
    if data is None:
        raise LookupError(f"program {program_id} has no version {version}")
    return parse(data)


def current(session: Session, program: Program) -> Definition:
    return definition(session, program.id, program.version)


def _ever_entered(session: Session, program_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Enrollment.program_id == program_id))))


def save(
    session: Session,
    new: Definition,
    *,
    by: str,
    now: datetime,
    status: str | None = None,
    program: Program | None = None,
    note: str = "",
) -> Saved:
    """Store ``new`` as the program of its name (or as ``program``, which may be renamed)."""
    data = to_data(new)
    if program is None:
        program = session.scalar(select(Program).where(Program.name == new.name))
    elif program.name != new.name:
        taken = session.scalar(select(Program.id).where(Program.name == new.name))
        if taken is not None and taken != program.id:
            raise ValueError(
                Said(N_("a program named %(name)s exists already"), name=repr(new.name))
            )
    if program is None:
        program = Program(
            name=new.name,
            status=Status.DRAFT.value,
            version=1,
            trigger=new.trigger.on.value,
            created_at=now,
            updated_at=now,
            updated_by=by,
        )
        session.add(program)
        session.flush()
        session.add(
            ProgramVersion(
                program_id=program.id, version=1, definition=data, created_at=now,
                created_by=by, note=note or "created",
            )
        )  # fmt: skip
        outcome = "created"
    else:
        stored = session.scalar(
            select(ProgramVersion).where(
                ProgramVersion.program_id == program.id,
                ProgramVersion.version == program.version,
            )
        )
        assert stored is not None
        if stored.definition == data:
            outcome = "unchanged"
        elif program.status == Status.DRAFT.value and not _ever_entered(session, program.id):
            stored.definition = data
            stored.created_at = now
            stored.created_by = by
            outcome = "updated"
        else:
            program.version += 1
            session.add(
                ProgramVersion(
                    program_id=program.id, version=program.version, definition=data,
                    created_at=now, created_by=by, note=note or "edited",
                )
            )  # fmt: skip
            outcome = "versioned"
        program.name = new.name
        program.trigger = new.trigger.on.value
        if outcome != "unchanged":
            program.updated_at = now
            program.updated_by = by
    if status is not None and status != program.status:
        set_status(session, program, status, by=by, now=now)
    session.flush()
    return Saved(program, outcome)


def set_status(session: Session, program: Program, status: str, *, by: str, now: datetime) -> None:
    """Move a program to ``status``. Activating starts its triggers from now (no backfill);
    archiving ends every active enrollment. Pausing holds its leads where they are."""
    target = Status(status)
    if target.value == program.status:
        return
    if target is Status.ACTIVE:
        program.activated_at = now
        program.checked_until = now
    if target is Status.ARCHIVED:
        end_enrollments(session, program.id, now, reason="program archived")
    if target is Status.DRAFT and _ever_entered(session, program.id):
        raise ValueError("leads entered this program: pause or archive it instead of a draft")
    program.status = target.value
    program.updated_at = now
    program.updated_by = by


def end_enrollments(
    session: Session,
    program_id: int | None,
    now: datetime,
    *,
    reason: str,
    lead_ids: Sequence[int] | None = None,
) -> int:
    """End active enrollments (of a program, of some leads, or both) as ``exited``."""
    conditions = [Enrollment.status == EnrollmentStatus.ACTIVE.value]
    if program_id is not None:
        conditions.append(Enrollment.program_id == program_id)
    if lead_ids is not None:
        conditions.append(Enrollment.lead_id.in_(list(lead_ids)))
    # Each exit in the step log too, as a step's exit is (the review and the lead's trail).
    session.execute(
        insert(StepLog).from_select(
            ["enrollment_id", "program_id", "version", "step_id", "lead_id", "at", "outcome",
             "detail"],
            select(
                Enrollment.id, Enrollment.program_id, Enrollment.version, literal(""),
                Enrollment.lead_id, literal(now, type_=StepLog.at.type),
                literal(EnrollmentStatus.EXITED.value), literal(reason[:300]),
            ).where(and_(*conditions)),
        )
    )  # fmt: skip
    result = session.execute(
        update(Enrollment)
        .where(and_(*conditions))
        .values(status=EnrollmentStatus.EXITED.value, ended_at=now, end_reason=reason[:200])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def enroll(
    session: Session,
    program: Program,
    lead_id: int,
    now: datetime,
    *,
    by: str,
    reentry: bool,
) -> int | None:
    """Enter a lead into the program's current version now; None when it is in it already,
    or was and re-entry is off. The unique partial index settles a race between processes."""
    if not reentry:
        before = session.scalar(
            select(Enrollment.id)
            .where(Enrollment.program_id == program.id, Enrollment.lead_id == lead_id)
            .limit(1)
        )
        if before is not None:
            return None
    insert = dialect_insert(session)
    enrollment_id: int | None = session.scalar(
        insert(Enrollment)
        .values(
            program_id=program.id, version=program.version, lead_id=lead_id,
            status=EnrollmentStatus.ACTIVE.value, step=0, due_at=now, entered_at=now,
            entered_by=by[:40], end_reason="", goal="",
        )
        .on_conflict_do_nothing(
            index_elements=[Enrollment.program_id, Enrollment.lead_id],
            # The partial index's own predicate, literally: PostgreSQL cannot match a bound
            # parameter to it once psycopg prepares the statement (its 6th run on a connection).
            index_where=text(ACTIVE_ENROLLMENT),
        )
        .returning(Enrollment.id)
    )  # fmt: skip
    if enrollment_id is not None:
        session.add(
            StepLog(
                enrollment_id=enrollment_id, program_id=program.id, version=program.version,
                step_id="", lead_id=lead_id, at=now, outcome="entered", detail=by[:300],
            )
        )  # fmt: skip
    return enrollment_id


def add_leads(
    session: Session, program: Program, lead_ids: Iterable[int], *, by: str, now: datetime
) -> list[int]:
    """Add leads by hand (console, API): the leads that entered (already in it: left out).
    Re-entry is allowed by hand; a draft or archived program takes nobody."""
    if program.status not in (Status.ACTIVE.value, Status.PAUSED.value):
        raise ValueError(
            Said(N_("the program is %(status)s: activate it first"), status=program.status)
        )
    entered = []
    for lead_id in lead_ids:
        if enroll(session, program, lead_id, now, by=by, reentry=True) is not None:
            entered.append(lead_id)
    return entered


def globally_paused(session: Session) -> bool:
    """Whether the global pause is on (read without writing the settings row)."""
    found = session.get(ProgramSettings, 1)
    return found is not None and found.paused


def guard_rails(session: Session) -> ProgramSettings:
    found = session.get(ProgramSettings, 1)
    if found is None:
        found = ProgramSettings(id=1)
        session.add(found)
        session.flush()
    return found


@dataclass(frozen=True, slots=True)
class DryRun:
    count: int
    sample: list[Lead]
    mailable: int
    """Of those, leads with confirmed consent and an address not suppressed (the others would
    enter but get no mail)."""
    note: str = ""
    """Why nobody can be counted in advance ("a manual trigger enters leads as it happens")."""
    said: Said | None = None
    """``note`` as a marked text, for the reader's language."""


ON_EVENT = N_("a %(kind)s trigger enters leads as it happens")
AS_IT_HAPPENS = {
    TriggerKind.MANUAL: N_("a manual trigger enters leads as it happens"),
    TriggerKind.WEBINAR_ATTENDED: N_("a webinar_attended trigger enters leads as it happens"),
    TriggerKind.WEBINAR_MISSED: N_("a webinar_missed trigger enters leads as it happens"),
}


def _matching(definition: Definition, now: datetime, stages: Sequence[str]) -> list[Any]:
    trigger = definition.trigger
    on = trigger.on
    if on is TriggerKind.SUBSCRIBED:
        return [Lead.consent_status == "confirmed"]
    if on is TriggerKind.STAGE:
        return [Lead.journey_stage == trigger.value]
    if on is TriggerKind.LIFECYCLE:
        return [Lead.lifecycle == trigger.value]
    if on is TriggerKind.GRADE:
        return [Lead.grade.in_([grade for grade in "AB" if grade <= trigger.value])]
    if on is TriggerKind.INACTIVE:
        return [Lead.last_activity_at <= now - timedelta(days=trigger.days)]
    if on is TriggerKind.UNLOCKED:
        assets = select(Asset.id)
        if trigger.value.startswith("kind:"):
            assets = assets.where(Asset.kind == trigger.value.removeprefix("kind:"))
        else:
            assets = assets.where(Asset.slug == trigger.value)
        return [
            exists().where(Unlock.lead_id == Lead.id, Unlock.asset_id.in_(assets.scalar_subquery()))
        ]
    return []


def _at_goal(goal: Goal, stages: Sequence[str]) -> Any:
    """The leads standing at a goal already (``rules.goal_met`` in SQL): they do not enter."""
    if goal.on is GoalKind.STAGE:
        later = list(stages[stages.index(goal.value) :]) if goal.value in stages else [goal.value]
        return Lead.journey_stage.in_(later)
    if goal.on is GoalKind.LIFECYCLE:
        order = rules.LIFECYCLE_ORDER
        later = list(order[order.index(goal.value) :]) if goal.value in order else [goal.value]
        return Lead.lifecycle.in_(later)
    if goal.on is GoalKind.DEMO:
        return exists().where(
            LeadChange.lead_id == Lead.id,
            LeadChange.kind == "demo",
            or_(
                Lead.lifecycle != "recycled",
                Lead.lifecycle_changed_at.is_(None),
                LeadChange.at >= Lead.lifecycle_changed_at,
            ),
        )
    if goal.on is GoalKind.UNLOCKED:
        assets = select(Asset.id)
        if goal.value.startswith("kind:"):
            assets = assets.where(Asset.kind == goal.value.removeprefix("kind:"))
        else:
            assets = assets.where(Asset.slug == goal.value)
        wanted = assets.scalar_subquery()
        return or_(
            exists().where(Unlock.lead_id == Lead.id, Unlock.asset_id.in_(wanted)),
            exists().where(
                AssetEngagement.lead_id == Lead.id, AssetEngagement.asset_id.in_(wanted)
            ),
        )
    return Lead.consent_status != "confirmed"


def dry_run(
    session: Session,
    program: Program | None,
    new: Definition,
    now: datetime,
    stages: Sequence[str],
    sample: int = 10,
) -> DryRun:
    """How many leads stand where the trigger would enter them now (not yet in the program,
    not at one of its goals), with a sample. Webinar and manual triggers enter on an event,
    not a state: none now."""
    conditions = _matching(new, now, stages)
    if not conditions:
        said = Said(AS_IT_HAPPENS.get(new.trigger.on, ON_EVENT), kind=new.trigger.on.value)
        return DryRun(0, [], 0, str(said), said)
    conditions += [~_at_goal(goal, stages) for goal in new.goals]
    if program is not None:
        conditions.append(
            ~exists().where(
                Enrollment.program_id == program.id,
                Enrollment.lead_id == Lead.id,
                *([Enrollment.status == EnrollmentStatus.ACTIVE.value] if new.reentry else []),
            )
        )
    count = session.scalar(select(func.count()).select_from(Lead).where(*conditions)) or 0
    mailable = (
        session.scalar(
            select(func.count())
            .select_from(Lead)
            .where(
                *conditions,
                Lead.consent_status == "confirmed",
                ~exists().where(Suppression.address == Lead.email, Suppression.lifted_at.is_(None)),
            )
        )
        or 0
    )
    leads = list(
        session.scalars(
            select(Lead).where(*conditions).order_by(Lead.last_activity_at.desc()).limit(sample)
        )
    )
    return DryRun(count, leads, mailable)
