"""What Console → Programs shows, as read shapes: each program's figures for the list, its flow
as numbered cards in words (trigger → steps → goals), the leads in it now, and a lead's
programs for the lead page. Reads only; the pages' handlers pick the template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, TextClause, func, select, text
from sqlalchemy.orm import Session

from nurture.programs.definition import (
    EXIT,
    NEXT,
    WEEKDAYS,
    AbMode,
    Branch,
    Condition,
    ConditionKind,
    Definition,
    DefinitionError,
    Goal,
    GoalKind,
    Notify,
    Send,
    SetField,
    Trigger,
    TriggerKind,
    Wait,
    parse,
)
from nurture.programs.models import (
    ACTIVE_ENROLLMENT,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramVersion,
)
from tracking.models import Lead
from tracking.rules.config import Model

ACTIVE = text(ACTIVE_ENROLLMENT)
"""Active enrollments, written as the partial indexes' condition so PostgreSQL uses them."""
WEEK = timedelta(days=7)
LEADS_SHOWN = 100
Label = Callable[[str], str]
"""A stage's name as marketing and sales agreed it in the model."""


def stage_labeler(model: Model) -> Label:
    return lambda stage: model.stage_labels.get(stage, stage.replace("_", " ").capitalize())


def _count(number: float) -> str:
    return f"{number:g}"


def _plural(number: float, word: str) -> str:
    return f"{_count(number)} {word}{'' if number == 1 else 's'}"


def trigger_words(trigger: Trigger, stage: Label) -> str:
    """What enters a lead, as a sentence."""
    on, value = trigger.on, trigger.value
    if on is TriggerKind.SUBSCRIBED:
        return "A lead confirms the subscription (double opt-in)"
    if on is TriggerKind.STAGE:
        return f"A lead enters the stage {stage(value)}"
    if on is TriggerKind.LIFECYCLE:
        return f"A lead's lifecycle becomes {value}"
    if on is TriggerKind.UNLOCKED:
        if value == "kind:webinar":
            return "A lead registers for a webinar"
        if value.startswith("kind:"):
            return f"A lead unlocks any {value.removeprefix('kind:').replace('_', ' ')}"
        return f"A lead unlocks the asset {value}"
    if on in (TriggerKind.WEBINAR_ATTENDED, TriggerKind.WEBINAR_MISSED):
        what = f"the webinar {value}" if value else "a webinar"
        if on is TriggerKind.WEBINAR_ATTENDED:
            return f"A lead attended {what} (read 12 hours after it ends)"
        return f"A lead registered for {what} and missed it (read 12 hours after it ends)"
    if on is TriggerKind.GRADE:
        return "A lead's grade reaches A" if value == "A" else "A lead's grade reaches B or A"
    if on is TriggerKind.INACTIVE:
        return f"A lead has not engaged for {_plural(trigger.days, 'day')}"
    return "Only by hand: in the console or through the API"


def goal_words(goal: Goal, stage: Label) -> str:
    on, value = goal.on, goal.value
    if on is GoalKind.STAGE:
        return f"Reaches the stage {stage(value)} or a later one"
    if on is GoalKind.LIFECYCLE:
        return f"Lifecycle becomes {value}"
    if on is GoalKind.DEMO:
        return "Asks to talk to sales (demo request)"
    if on is GoalKind.UNLOCKED:
        return f"Unlocks the asset {value}"
    return "Unsubscribes"


def condition_words(condition: Condition, stage: Label) -> str:
    on, value = condition.on, condition.value
    if on is ConditionKind.STAGE:
        return f"the lead is in the stage {stage(value)}"
    if on is ConditionKind.GRADE:
        return f"the lead's grade is {' or '.join(value.split())}"
    if on is ConditionKind.LIFECYCLE:
        return f"the lead's lifecycle is {value}"
    if on is ConditionKind.TOPIC:
        return f"the lead reads about (or chose) the topic {value}"
    if on is ConditionKind.OPENED:
        return "the lead opened the previous mail" + ("" if value == "yes" else ": no")
    if on is ConditionKind.CLICKED:
        return "the lead clicked in the previous mail" + ("" if value == "yes" else ": no")
    return f"the lead read the asset {value}"


def wait_words(wait: Wait) -> str:
    parts = []
    if wait.days:
        hours = wait.days * 24
        parts.append(
            _plural(wait.days, "day")
            if wait.days >= 1 and float(wait.days).is_integer()
            else _plural(round(hours, 2), "hour")
        )
    if wait.weekday is not None:
        parts.append(
            f"until {WEEKDAYS[wait.weekday].capitalize()} {wait.hour or 0:02d}:00 in the lead's "
            "time zone"
        )
    return "Wait " + ", then ".join(parts)


def ab_words(send: Send) -> str:
    if send.ab is None or send.variants < 2:
        return ""
    if send.ab.mode is AbMode.SPLIT:
        return f"A/B split: each lead gets one of the {send.variants} subject lines, evenly"
    return (
        f"A/B test: {send.ab.share} % of the leads get the {send.variants} variants; after "
        f"{_plural(send.ab.decide_after_hours, 'hour')} the rest get the winner (by clicks, "
        "opens as a fallback), or an even split when no difference is significant"
    )


@dataclass(frozen=True, slots=True)
class Card:
    """One step of the flow as the program page draws it."""

    number: int
    id: str
    kind: str
    title: str
    lines: list[str] = field(default_factory=list)
    subjects: tuple[str, ...] = ()
    branches: list[tuple[str, str]] = field(default_factory=list)
    """A branch's (label, target in words) pairs: "then", "else"."""


def _target(definition: Definition, number: int, target: str) -> str:
    if target == EXIT:
        return "leave the program"
    if target == NEXT:
        following = number + 1
        if following > len(definition.steps):
            return "the end (the lead completes the program)"
        return f"step {following} ({definition.steps[following - 1].id}), the next one"
    return f"step {definition.index(target) + 1} ({target})"


def flow_cards(definition: Definition, stage: Label) -> list[Card]:
    cards = []
    for number, step in enumerate(definition.steps, start=1):
        action = step.action
        if isinstance(action, Send):
            lines = [f"Preheader: {action.preheader}"] if action.preheader else []
            if ab := ab_words(action):
                lines.append(ab)
            card = Card(number, step.id, "send", "Send a mail", lines, action.subjects)
        elif isinstance(action, Wait):
            card = Card(number, step.id, "wait", wait_words(action))
        elif isinstance(action, Branch):
            card = Card(
                number,
                step.id,
                "branch",
                f"If {condition_words(action.condition, stage)}",
                branches=[
                    ("then", _target(definition, number, action.then)),
                    ("else", _target(definition, number, action.otherwise)),
                ],
            )
        elif isinstance(action, SetField):
            card = Card(number, step.id, "set", f"Set {action.field} to {action.value}")
        elif isinstance(action, Notify):
            lines = [f"Note: {action.note}"] if action.note else []
            title = f"Tell sales: {action.to} gets a mail, connected tools a webhook"
            card = Card(number, step.id, "notify", title, lines)
        else:
            card = Card(number, step.id, "exit", "Leave the program")
        cards.append(card)
    return cards


@dataclass(frozen=True, slots=True)
class ProgramRow:
    """A program on the list, with its figures."""

    program: Program
    trigger: str
    in_now: int
    entered_week: int
    converted_week: int


def _per_program(session: Session, *conditions: ColumnElement[bool] | TextClause) -> dict[int, int]:
    rows = session.execute(
        select(Enrollment.program_id, func.count())
        .where(*conditions)
        .group_by(Enrollment.program_id)
    )
    return {program_id: count for program_id, count in rows}


def program_rows(
    session: Session, now: datetime, definitions: dict[int, Definition], stage: Label
) -> list[ProgramRow]:
    since = now - WEEK
    in_now = _per_program(session, ACTIVE)
    entered = _per_program(session, Enrollment.entered_at >= since)
    converted = _per_program(
        session,
        Enrollment.status == EnrollmentStatus.CONVERTED.value,
        Enrollment.ended_at >= since,
    )
    programs = session.scalars(select(Program).order_by(Program.name))
    return [
        ProgramRow(
            program,
            trigger_words(definitions[program.id].trigger, stage)
            if program.id in definitions
            else program.trigger,
            in_now.get(program.id, 0),
            entered.get(program.id, 0),
            converted.get(program.id, 0),
        )
        for program in programs
    ]


def current_definitions(session: Session) -> dict[int, Definition]:
    """Every program's current definition, in one query."""
    rows = session.execute(
        select(ProgramVersion.program_id, ProgramVersion.definition)
        .join(Program, Program.id == ProgramVersion.program_id)
        .where(ProgramVersion.version == Program.version)
    )
    return {program_id: definition for program_id, data in rows if (definition := parsed(data))}


def parsed(data: Any) -> Definition | None:
    """A stored definition, or None when today's rules refuse it (stored under older ones)."""
    try:
        return parse(data)
    except DefinitionError:
        return None


@dataclass(frozen=True, slots=True)
class InProgram:
    """A lead in the program now: the step it is at and when that step is due."""

    lead_id: int
    email: str
    version: int
    step: str
    due_at: datetime
    entered_at: datetime
    entered_by: str
    held_since: datetime | None


def _step_label(definitions: dict[int, Definition], version: int, index: int) -> str:
    definition = definitions.get(version)
    if definition is None or index >= len(definition.steps):
        return "finishing"
    return f"{index + 1} · {definition.steps[index].id}"


def leads_in(
    session: Session, program: Program, versions: dict[int, Definition]
) -> tuple[int, list[InProgram]]:
    """How many leads are in the program now, and the first ``LEADS_SHOWN`` by due time."""
    active = (Enrollment.program_id == program.id, ACTIVE)
    total = session.scalar(select(func.count()).select_from(Enrollment).where(*active)) or 0
    rows = session.execute(
        select(Enrollment, Lead.email)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(*active)
        .order_by(Enrollment.due_at, Enrollment.id)
        .limit(LEADS_SHOWN)
    )
    shown = [
        InProgram(
            enrollment.lead_id,
            email,
            enrollment.version,
            _step_label(versions, enrollment.version, enrollment.step),
            enrollment.due_at,
            enrollment.entered_at,
            enrollment.entered_by,
            enrollment.held_since,
        )
        for enrollment, email in rows
    ]
    return total, shown


def versions_of(session: Session, program_id: int) -> list[ProgramVersion]:
    return list(
        session.scalars(
            select(ProgramVersion)
            .where(ProgramVersion.program_id == program_id)
            .order_by(ProgramVersion.version.desc())
        )
    )


@dataclass(frozen=True, slots=True)
class LeadInProgram:
    """A program a lead is in, or was in, as the lead page lists it."""

    program_id: int
    name: str
    program_status: str
    status: str
    entered_at: datetime
    ended_at: datetime | None
    outcome: str
    """Why it ended: the goal reached, or the reason it left."""


def lead_programs(session: Session, lead_id: int, limit: int = 20) -> list[LeadInProgram]:
    rows = session.execute(
        select(Enrollment, Program.name, Program.status)
        .join(Program, Program.id == Enrollment.program_id)
        .where(Enrollment.lead_id == lead_id)
        .order_by(Enrollment.entered_at.desc(), Enrollment.id.desc())
        .limit(limit)
    )
    return [
        LeadInProgram(
            enrollment.program_id,
            name,
            program_status,
            enrollment.status,
            enrollment.entered_at,
            enrollment.ended_at,
            enrollment.goal or enrollment.end_reason,
        )
        for enrollment, name, program_status in rows
    ]
