"""The grouped queries behind the weekly review (``nurture.programs.review``), one per kind of
figure, each over all the weeks shown at once and entered through an index: the step log's on
(program_id, at), the enrollments' on program_id. Nothing loops over leads in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, and_, case, distinct, func, literal, or_, select, text
from sqlalchemy.orm import Session, aliased

from nurture.mail.models import MailMessage, MailStatus
from nurture.programs.definition import Definition, Wait
from nurture.programs.models import ACTIVE_ENROLLMENT, Enrollment, StepLog
from tracking.models import LeadChange

WEEK = timedelta(days=7)
FOLLOWED_WITHIN = timedelta(days=7)
"""An unsubscribe, stage move or conversion counts for a mail sent at most this long before."""
SENT_LATE = timedelta(days=3)
"""A mail is accepted at most this long after its step wrote it (the outbox's retry window)."""
MAIL_FIGURES = ("sent", "delivered", "bounced", "opens", "clicks")
UNSUBSCRIBED_GOAL = "unsubscribed"


@dataclass(slots=True)
class Figures:
    """One week's figures of a program or of one step (``active`` None: not known)."""

    entered: int = 0
    active: int | None = None
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    conversions: int = 0
    stage_moves: int = 0

    def value(self, name: str) -> int | None:
        found: int | None = getattr(self, name)
        return found


def _week_index(column: Any, starts: Sequence[datetime]) -> Any:
    """SQL: which of the weeks starting at ``starts`` a time falls in (bounded by the caller)."""
    return case(
        *((column >= start, index) for index, start in reversed(list(enumerate(starts)))),
        else_=-1,
    )


def _within(session: Session, earlier: Any, later: Any, span: timedelta) -> Any:
    """SQL: ``later`` is at most ``span`` after ``earlier`` (SQLite keeps times as text)."""
    if session.get_bind().dialect.name == "sqlite":
        days = span.total_seconds() / 86400
        return func.julianday(later) - func.julianday(earlier) <= days
    return later <= earlier + literal(span, Interval())


@dataclass(slots=True)
class Window:
    """What the queries share: the program, the weeks (their Mondays, oldest first), the
    moment of the review, and each step's figures per week as they are found."""

    session: Session
    program_id: int
    starts: list[datetime]
    now: datetime
    by_step: dict[str, list[Figures]] = field(default_factory=dict)

    @property
    def first(self) -> datetime:
        return self.starts[0]

    @property
    def end(self) -> datetime:
        return self.starts[-1] + WEEK

    def step(self, step_id: str, week: int) -> Figures:
        weeks = self.by_step.setdefault(step_id, [Figures() for _ in self.starts])
        return weeks[week]


def steps_taken(window: Window) -> None:
    """Per step: the leads that took it in the week (held back only: not yet), and the mails
    it wrote and what became of them (one pass over the week's step log)."""
    week = _week_index(StepLog.at, window.starts)
    accepted = MailMessage.sent_at.is_not(None)
    bounced = MailMessage.status == MailStatus.BOUNCED.value
    rows = window.session.execute(
        select(
            StepLog.step_id,
            week,
            func.count(distinct(StepLog.enrollment_id)),
            func.count(MailMessage.sent_at),
            func.sum(case((and_(accepted, ~bounced), 1), else_=0)),
            func.sum(case((bounced, 1), else_=0)),
            func.count(func.coalesce(MailMessage.opened_at, MailMessage.clicked_at)),
            func.count(MailMessage.clicked_at),
        )
        .outerjoin(
            MailMessage, and_(MailMessage.id == StepLog.message_id, StepLog.outcome == "sent")
        )
        .where(
            StepLog.program_id == window.program_id,
            StepLog.at >= window.first,
            StepLog.at < window.end,
            StepLog.step_id != "",
            StepLog.outcome != "held",
        )
        .group_by(StepLog.step_id, week)
    )
    for step_id, index, entered, *counts in rows:
        figures = window.step(step_id, index)
        figures.entered = int(entered)
        for name, count in zip(MAIL_FIGURES, counts, strict=True):
            setattr(figures, name, int(count or 0))


def _program_mails(window: Window) -> Any:
    """FROM and WHERE of the program's accepted mails that changes in the weeks may follow."""
    return (
        select()
        .select_from(StepLog)
        .join(MailMessage, MailMessage.id == StepLog.message_id)
        .where(
            StepLog.program_id == window.program_id,
            StepLog.outcome == "sent",
            StepLog.at >= window.first - FOLLOWED_WITHIN - SENT_LATE,
            StepLog.at < window.end,
            MailMessage.sent_at.is_not(None),
        )
    )


def followed(window: Window, stages: Sequence[str]) -> None:
    """Per step: unsubscribes and stage moves to a later stage within 7 days after its mail
    (each change for the latest mail of the program before it)."""
    rank = {stage: number for number, stage in enumerate(stages)}
    later = case(rank, value=LeadChange.new, else_=0) > case(rank, value=LeadChange.old, else_=0)
    latest = func.row_number().over(
        partition_by=LeadChange.seq, order_by=(MailMessage.sent_at.desc(), StepLog.id.desc())
    )
    pairs = (
        _program_mails(window)
        .add_columns(
            StepLog.step_id.label("step_id"),
            LeadChange.kind.label("kind"),
            _week_index(LeadChange.at, window.starts).label("week"),
            latest.label("latest"),
        )
        .join(LeadChange, LeadChange.lead_id == StepLog.lead_id)
        .where(
            LeadChange.at >= window.first,
            LeadChange.at < window.end,
            LeadChange.at >= MailMessage.sent_at,
            _within(window.session, MailMessage.sent_at, LeadChange.at, FOLLOWED_WITHIN),
            or_(LeadChange.kind == "unsubscribed", and_(LeadChange.kind == "stage", later)),
        )
        .subquery()
    )
    rows = window.session.execute(
        select(pairs.c.step_id, pairs.c.kind, pairs.c.week, func.count())
        .where(pairs.c.latest == 1)
        .group_by(pairs.c.step_id, pairs.c.kind, pairs.c.week)
    )
    for step_id, kind, index, count in rows:
        figures = window.step(step_id, index)
        if kind == "stage":
            figures.stage_moves = int(count)
        else:
            figures.unsubscribes = int(count)


def converted_after_mails(window: Window) -> None:
    """Per step: goal conversions within 7 days after its mail (the latest before each)."""
    converted = aliased(StepLog)
    latest = func.row_number().over(
        partition_by=converted.id, order_by=(MailMessage.sent_at.desc(), StepLog.id.desc())
    )
    pairs = (
        select(
            StepLog.step_id.label("step_id"),
            _week_index(converted.at, window.starts).label("week"),
            latest.label("latest"),
        )
        .select_from(converted)
        .join(StepLog, StepLog.enrollment_id == converted.enrollment_id)
        .join(MailMessage, MailMessage.id == StepLog.message_id)
        .where(
            converted.program_id == window.program_id,
            converted.outcome == "converted",
            converted.detail != UNSUBSCRIBED_GOAL,
            converted.at >= window.first,
            converted.at < window.end,
            StepLog.outcome == "sent",
            MailMessage.sent_at <= converted.at,
            _within(window.session, MailMessage.sent_at, converted.at, FOLLOWED_WITHIN),
        )
        .subquery()
    )
    rows = window.session.execute(
        select(pairs.c.step_id, pairs.c.week, func.count())
        .where(pairs.c.latest == 1)
        .group_by(pairs.c.step_id, pairs.c.week)
    )
    for step_id, index, count in rows:
        window.step(step_id, index).conversions = int(count)


def entered_and_converted(window: Window) -> tuple[list[int], list[dict[str, int]]]:
    """Per week: leads that entered the program, and its goal conversions by goal."""
    week = _week_index(StepLog.at, window.starts)
    goal = case((StepLog.outcome == "converted", StepLog.detail), else_="")
    rows = window.session.execute(
        select(week, StepLog.outcome, goal, func.count())
        .where(
            StepLog.program_id == window.program_id,
            StepLog.at >= window.first,
            StepLog.at < window.end,
            StepLog.outcome.in_(("entered", "converted")),
        )
        .group_by(week, StepLog.outcome, goal)
    )
    entered = [0 for _ in window.starts]
    goals: list[dict[str, int]] = [{} for _ in window.starts]
    for index, outcome, reached, count in rows:
        if outcome == "entered":
            entered[index] += int(count)
        elif reached != UNSUBSCRIBED_GOAL:
            goals[index][reached] = goals[index].get(reached, 0) + int(count)
    return entered, goals


def active_at_week_ends(window: Window) -> list[int]:
    """Per week: enrollments active at its end (now, for a week not over)."""
    ends = [min(start + WEEK, window.now) for start in window.starts]
    columns = [
        func.sum(
            case(
                (
                    and_(
                        Enrollment.entered_at < end,
                        or_(Enrollment.ended_at.is_(None), Enrollment.ended_at >= end),
                    ),
                    1,
                ),
                else_=0,
            )
        )
        for end in ends
    ]
    row = window.session.execute(
        select(*columns).where(
            Enrollment.program_id == window.program_id,
            Enrollment.entered_at < max(ends),
            or_(Enrollment.ended_at.is_(None), Enrollment.ended_at >= min(ends)),
        )
    ).one()
    return [int(count or 0) for count in row]


def active_by_step(
    session: Session, program_id: int, defined: dict[int, Definition]
) -> dict[str, int]:
    """Leads in each step now: in its wait (they rest on the step after it), or held at it."""
    held_back = Enrollment.held_since.is_not(None)
    rows = session.execute(
        select(Enrollment.version, Enrollment.step, held_back, func.count())
        .where(
            Enrollment.program_id == program_id,
            text(f"program_enrollment.{ACTIVE_ENROLLMENT}"),
        )
        .group_by(Enrollment.version, Enrollment.step, held_back)
    )
    found: dict[str, int] = {}
    for version, index, held, count in rows:
        steps = defined[version].steps if version in defined else ()
        if not steps:
            continue
        at = min(index, len(steps) - 1)
        if not held and 0 < index <= len(steps) and isinstance(steps[index - 1].action, Wait):
            at = index - 1
        found[steps[at].id] = found.get(steps[at].id, 0) + int(count)
    return found
