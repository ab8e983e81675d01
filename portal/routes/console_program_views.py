"""What Console → Programs shows, as read shapes: each program's figures for the list, its flow
as numbered cards in words (trigger → steps → goals), the leads in it now, and a lead's
programs for the lead page. Reads only; the pages' handlers pick the template."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel import dates as babel_dates
from sqlalchemy import ColumnElement, TextClause, func, select, text
from sqlalchemy.orm import Session

from content.words import N_
from nurture.programs.definition import (
    EXIT,
    NEXT,
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
from portal import i18n
from portal.console_words import lifecycle_label
from tracking.models import Lead
from tracking.rules.config import Model

ACTIVE = text(ACTIVE_ENROLLMENT)
"""Active enrollments, written as the partial indexes' condition so PostgreSQL uses them."""
WEEK = timedelta(days=7)
LEADS_SHOWN = 100
Label = Callable[[str], str]
"""A stage's name as marketing and sales agreed it in the model."""


def stage_labeler(model: Model) -> Label:
    return lambda stage: i18n.gettext(
        model.stage_labels.get(stage, stage.replace("_", " ").capitalize())
    )


def _count(number: float) -> str:
    return i18n.format_number(number)


def _days(number: float) -> str:
    return i18n.ngettext("%(count)s day", "%(count)s days", 1 if number == 1 else 2,
                         count=_count(number))  # fmt: skip


def _hours(number: float) -> str:
    return i18n.ngettext("%(count)s hour", "%(count)s hours", 1 if number == 1 else 2,
                         count=_count(number))  # fmt: skip


def _kind_words(kind: str) -> str:
    """An asset kind inside a sentence ("any case study")."""
    words = {
        "whitepaper": i18n.pgettext("kind in a sentence", "whitepaper"),
        "ebook": i18n.pgettext("kind in a sentence", "ebook"),
        "webinar": i18n.pgettext("kind in a sentence", "webinar"),
        "case_study": i18n.pgettext("kind in a sentence", "case study"),
        "checklist": i18n.pgettext("kind in a sentence", "checklist"),
        "video": i18n.pgettext("kind in a sentence", "video"),
        "article": i18n.pgettext("kind in a sentence", "article"),
        "datasheet": i18n.pgettext("kind in a sentence", "datasheet"),
    }
    return words.get(kind, kind.replace("_", " "))


def _unlocked_words(value: str) -> str:
    if value == "kind:webinar":
        return i18n.gettext("A lead registers for a webinar")
    if value.startswith("kind:"):
        return i18n.gettext(
            "A lead unlocks any %(kind)s", kind=_kind_words(value.removeprefix("kind:"))
        )
    return i18n.gettext("A lead unlocks the asset %(asset)s", asset=value)


def _webinar_words(on: TriggerKind, value: str) -> str:
    if on is TriggerKind.WEBINAR_ATTENDED:
        if value:
            return i18n.gettext(
                "A lead attended the webinar %(webinar)s (read 12 hours after it ends)",
                webinar=value,
            )
        return i18n.gettext("A lead attended a webinar (read 12 hours after it ends)")
    if value:
        return i18n.gettext(
            "A lead registered for the webinar %(webinar)s and missed it (read 12 hours "
            "after it ends)",
            webinar=value,
        )
    return i18n.gettext(
        "A lead registered for a webinar and missed it (read 12 hours after it ends)"
    )


def trigger_words(trigger: Trigger, stage: Label) -> str:
    """What enters a lead, as a sentence."""
    on, value = trigger.on, trigger.value
    if on is TriggerKind.SUBSCRIBED:
        return i18n.gettext("A lead confirms the subscription (double opt-in)")
    if on is TriggerKind.STAGE:
        return i18n.gettext("A lead enters the stage %(stage)s", stage=stage(value))
    if on is TriggerKind.LIFECYCLE:
        return i18n.gettext(
            "A lead's lifecycle becomes %(lifecycle)s", lifecycle=lifecycle_label(value)
        )
    if on is TriggerKind.UNLOCKED:
        return _unlocked_words(value)
    if on in (TriggerKind.WEBINAR_ATTENDED, TriggerKind.WEBINAR_MISSED):
        return _webinar_words(on, value)
    if on is TriggerKind.GRADE:
        if value == "A":
            return i18n.gettext("A lead's grade reaches A")
        return i18n.gettext("A lead's grade reaches B or A")
    if on is TriggerKind.INACTIVE:
        return i18n.gettext("A lead has not engaged for %(days)s", days=_days(trigger.days))
    return i18n.gettext("Only by hand: in the console or through the API")


def goal_words(goal: Goal, stage: Label) -> str:
    on, value = goal.on, goal.value
    if on is GoalKind.STAGE:
        return i18n.gettext("Reaches the stage %(stage)s or a later one", stage=stage(value))
    if on is GoalKind.LIFECYCLE:
        return i18n.gettext("Lifecycle becomes %(lifecycle)s", lifecycle=lifecycle_label(value))
    if on is GoalKind.DEMO:
        return i18n.gettext("Asks to talk to sales (demo request)")
    if on is GoalKind.UNLOCKED:
        return i18n.gettext("Unlocks the asset %(asset)s", asset=value)
    return i18n.pgettext("goal", "Unsubscribes")


def condition_words(condition: Condition, stage: Label) -> str:
    on, value = condition.on, condition.value
    if on is ConditionKind.STAGE:
        return i18n.gettext("the lead is in the stage %(stage)s", stage=stage(value))
    if on is ConditionKind.GRADE:
        either = " " + i18n.gettext("or") + " "
        return i18n.gettext("the lead's grade is %(grades)s", grades=either.join(value.split()))
    if on is ConditionKind.LIFECYCLE:
        return i18n.gettext(
            "the lead's lifecycle is %(lifecycle)s", lifecycle=lifecycle_label(value)
        )
    if on is ConditionKind.TOPIC:
        return i18n.gettext("the lead reads about (or chose) the topic %(topic)s", topic=value)
    if on is ConditionKind.OPENED:
        if value == "yes":
            return i18n.gettext("the lead opened the previous mail")
        return i18n.gettext("the lead opened the previous mail: no")
    if on is ConditionKind.CLICKED:
        if value == "yes":
            return i18n.gettext("the lead clicked in the previous mail")
        return i18n.gettext("the lead clicked in the previous mail: no")
    return i18n.gettext("the lead read the asset %(asset)s", asset=value)


def weekday_name(index: int) -> str:
    """A weekday in the reader's language ("Tuesday", "Dienstag")."""
    return str(babel_dates.get_day_names("wide", locale=i18n.locale())[index])


def wait_words(wait: Wait) -> str:
    parts = []
    if wait.days:
        if wait.days >= 1 and float(wait.days).is_integer():
            parts.append(_days(wait.days))
        else:
            parts.append(_hours(round(wait.days * 24, 2)))
    if wait.weekday is not None:
        hour = f"{wait.hour or 0:02d}:00"
        parts.append(
            i18n.gettext(
                "until %(weekday)s %(hour)s in the lead's time zone",
                weekday=weekday_name(wait.weekday),
                hour=hour,
            )
        )
    then = i18n.gettext(", then ")
    return i18n.gettext("Wait %(what)s", what=then.join(parts))


def ab_words(send: Send) -> str:
    if send.ab is None or send.variants < 2:
        return ""
    if send.ab.mode is AbMode.SPLIT:
        return i18n.gettext(
            "A/B split: each lead gets one of the %(variants)s subject lines, evenly",
            variants=send.variants,
        )
    return i18n.gettext(
        "A/B test: %(share)s %% of the leads get the %(variants)s variants; after %(hours)s the "
        "rest get the winner (by clicks, opens as a fallback), or an even split when no "
        "difference is significant",
        share=send.ab.share,
        variants=send.variants,
        hours=_hours(send.ab.decide_after_hours),
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
        return i18n.gettext("leave the program")
    if target == NEXT:
        following = number + 1
        if following > len(definition.steps):
            return i18n.gettext("the end (the lead completes the program)")
        return i18n.gettext(
            "step %(number)s (%(id)s), the next one",
            number=following,
            id=definition.steps[following - 1].id,
        )
    return i18n.gettext("step %(number)s (%(id)s)", number=definition.index(target) + 1, id=target)


def flow_cards(definition: Definition, stage: Label) -> list[Card]:
    cards = []
    for number, step in enumerate(definition.steps, start=1):
        action = step.action
        if isinstance(action, Send):
            lines = []
            if action.preheader:
                lines.append(i18n.gettext("Preheader: %(text)s", text=action.preheader))
            if ab := ab_words(action):
                lines.append(ab)
            title = i18n.gettext("Send a mail")
            card = Card(number, step.id, "send", title, lines, action.subjects)
        elif isinstance(action, Wait):
            card = Card(number, step.id, "wait", wait_words(action))
        elif isinstance(action, Branch):
            card = Card(
                number,
                step.id,
                "branch",
                i18n.gettext(
                    "If %(condition)s", condition=condition_words(action.condition, stage)
                ),
                branches=[
                    (i18n.gettext("then"), _target(definition, number, action.then)),
                    (i18n.gettext("else"), _target(definition, number, action.otherwise)),
                ],
            )
        elif isinstance(action, SetField):
            title = i18n.gettext(
                "Set %(field)s to %(value)s", field=action.field, value=action.value
            )
            card = Card(number, step.id, "set", title)
        elif isinstance(action, Notify):
            lines = [i18n.gettext("Note: %(text)s", text=action.note)] if action.note else []
            title = i18n.gettext(
                "Tell sales: %(address)s gets a mail, connected tools a webhook", address=action.to
            )
            card = Card(number, step.id, "notify", title, lines)
        else:
            card = Card(number, step.id, "exit", i18n.gettext("Leave the program"))
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
        return i18n.gettext("finishing")
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
            outcome_words(enrollment.goal or enrollment.end_reason),
        )
        for enrollment, name, program_status in rows
    ]


def entered_by_words(by: str) -> str:
    """How a lead entered (stored as the trigger that took it in, ``api``, ``cli`` or the staff
    member's email), in the reader's words."""
    how, _, rest = by.partition(" ")
    if how == "inactive" and rest.endswith(" days"):
        return i18n.gettext("inactive %(days)s", days=_days(float(rest.split()[0])))
    words = {
        "subscribed": i18n.pgettext("entered by", "subscribed"),
        "stage": i18n.pgettext("entered by", "stage"),
        "lifecycle": i18n.pgettext("entered by", "lifecycle"),
        "unlocked": i18n.pgettext("entered by", "unlocked"),
        "grade": i18n.pgettext("entered by", "grade"),
        "webinar_attended": i18n.pgettext("entered by", "webinar attended"),
        "webinar_missed": i18n.pgettext("entered by", "webinar missed"),
        "api": "API",
        "cli": "CLI",
    }
    if how not in words:
        return by
    return f"{words[how]} {rest}".strip()


VERSION_NOTES = (
    (re.compile(r"created"), N_("created")),
    (re.compile(r"edited"), N_("edited")),
    (re.compile(r"created blank"), N_("created blank")),
    (re.compile(r"edited as YAML"), N_("edited as YAML")),
    (re.compile(r"template (?P<name>.+)"), N_("template %(name)s")),
    (re.compile(r"mail (?P<name>.+) edited"), N_("mail %(name)s edited")),
    (re.compile(r"imported from (?P<name>.+)"), N_("imported from %(name)s")),
)
"""The notes Leadshelf writes on a saved version, to show them in the reader's language."""


def _said_again(stored: str, patterns: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    """A text Leadshelf stored in English, in the reader's language when one of ``patterns``
    reads it (its named groups fill the message's placeholders); as stored otherwise."""
    for pattern, words in patterns:
        found = pattern.fullmatch(stored)
        if found is not None:
            return i18n.gettext(words, **found.groupdict())
    return stored


def version_note(note: str) -> str:
    """A version's note in the reader's language (a note in other words as written)."""
    return _said_again(note, VERSION_NOTES)


OUTCOMES = (
    (re.compile(r"all steps done"), N_("all steps done")),
    (re.compile(r"exit step"), N_("exit step")),
    (re.compile(r"branch (?P<step>.+)"), N_("branch %(step)s")),
    (re.compile(r"unsubscribed"), N_("unsubscribed")),
    (re.compile(r"address suppressed"), N_("address suppressed")),
    (re.compile(r"suppressed: (?P<reason>.+)"), N_("suppressed: %(reason)s")),
    (re.compile(r"program archived"), N_("program archived")),
    (re.compile(r"stage (?P<stage>.+)"), N_("stage %(stage)s")),
    (re.compile(r"lifecycle (?P<lifecycle>.+)"), N_("lifecycle %(lifecycle)s")),
    (re.compile(r"demo"), N_("demo")),
    (re.compile(r"unlocked (?P<asset>.+)"), N_("unlocked %(asset)s")),
)
"""How an enrollment ended (the goal reached, or why it left), as Leadshelf stores it."""


def outcome_words(outcome: str) -> str:
    """How a lead's time in a program ended, in the reader's language (as stored otherwise)."""
    return _said_again(outcome, OUTCOMES)
