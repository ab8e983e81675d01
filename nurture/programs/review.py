"""The weekly review of a nurture program (Console → Programs → Review, and its CSV): per ISO
week (Monday 00:00 UTC) and per step, who entered, who is active, the mails and what became of
them, and what followed a mail within 7 days; and the A/B report of each send step.

How each figure counts:

- **Mail figures** (sent, delivered, bounced, human opens, clicks) count the mails a step wrote
  in the week and what became of them since: an open on Tuesday of Sunday's mail counts for
  Sunday's week. Sent: accepted by the SMTP server; delivered: sent and not bounced later;
  a click counts as a human open too (the pixel may have been blocked).
- **Events** count in the week they happened: entered, goal conversions (an ``unsubscribed``
  goal is counted as an unsubscribe, not a conversion), unsubscribes and stage moves to a
  later stage. An unsubscribe or stage move counts when the lead had a mail of the program in
  the 7 days before it, for the step of the latest such mail; a conversion counts for the
  program always, and for that step likewise.
- **Active**: enrollments active at the end of the week (now, for the current week); per
  step, only for the current week: leads in that step's wait or held at it now.

Every figure is one grouped query over the weeks shown, entered through the step log's index
on (program_id, at) or the enrollments' on program_id; nothing loops over leads in Python.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import start_of
from content.words import N_, Said
from nurture.programs import review_figures as figures
from nurture.programs import rules, scheduler
from nurture.programs.definition import (
    Branch,
    Definition,
    Notify,
    Send,
    SetField,
    Step,
    Wait,
    parse,
)
from nurture.programs.models import AbDecision, Program, ProgramVersion
from nurture.programs.review_figures import WEEK, Figures
from tracking.reporting.leadlist import safe_cell

WEEKS = 12
FIGURES: tuple[tuple[str, str], ...] = (
    ("entered", N_("Entered")),
    ("active", N_("Active")),
    ("sent", N_("Sent")),
    ("delivered", N_("Delivered")),
    ("bounced", N_("Bounced")),
    ("opens", N_("Human opens")),
    ("clicks", N_("Clicks")),
    ("unsubscribes", N_("Unsubscribes")),
    ("conversions", N_("Goal conversions")),
    ("stage_moves", N_("Stage moves")),
)
"""Each figure's attribute and its column heading (marked: the console translates it), in the
order the page and the CSV use."""
CONDITION_NAMES = {"stage": N_("stage"), "grade": N_("grade"), "lifecycle": N_("lifecycle"),
                   "topic": N_("topic"), "opened": N_("opened"), "clicked": N_("clicked"),
                   "read": N_("read")}  # fmt: skip
"""A branch's condition as a step's label names it ("Branch: if stage decision")."""
WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                 N_("Saturday"), N_("Sunday"))  # fmt: skip
NO_WINNER = "no winner yet"
SUMMED = (*figures.MAIL_FIGURES, "unsubscribes", "stage_moves")
"""Figures of the program that are the sum of its steps'."""


@dataclass(frozen=True, slots=True)
class StepLine:
    """A step of the program and its figures per week (oldest first)."""

    id: str
    kind: str
    label: str
    current: bool
    """In the program's current version (else only in an earlier one)."""
    weeks: tuple[Figures, ...]
    said: Said | None = None
    """``label`` as a marked text, for the reader's language (None: ``label`` as it is)."""

    def words(self, say: Callable[[Said], str] = str) -> str:
        """The label as ``say`` writes it (the reader's language)."""
        return self.label if self.said is None else say(self.said)


@dataclass(frozen=True, slots=True)
class VariantLine:
    """One subject line of an A/B test and how it did."""

    label: str
    subject: str
    sends: int
    opens: int
    clicks: int
    interval: rules.Interval
    """The 95 % Wilson interval of the click rate."""
    winner: bool

    @property
    def click_rate(self) -> float | None:
        return self.clicks / self.sends if self.sends else None


@dataclass(frozen=True, slots=True)
class AbLine:
    """The A/B test of one send step of one version, and its verdict."""

    version: int
    step_id: str
    label: str
    mode: str
    variants: tuple[VariantLine, ...]
    winner: str | None
    """The winning variant's letter; None: no winner (yet)."""
    explanation: str
    """The verdict as a sentence: the test, its p-value and the confidence."""
    decided_at: datetime | None
    """When the stored verdict was reached; None: computed now from the figures so far."""
    said: Said | None = None
    """``label`` as a marked text, for the reader's language."""
    facts: rules.VerdictFacts | None = None
    """What ``explanation`` says, to say it in the reader's language; None for a stored
    verdict worded otherwise (shown as stored)."""


@dataclass(frozen=True, slots=True)
class Review:
    program_id: int
    name: str
    status: str
    version: int
    weeks: tuple[date, ...]
    """The Mondays of the weeks shown, oldest first; the last is the week reviewed."""
    totals: tuple[Figures, ...]
    goals: tuple[dict[str, int], ...]
    """Goal conversions by goal, per week."""
    steps: tuple[StepLine, ...]
    current_week: bool
    """The week reviewed is the running one (its figures are so far)."""
    ab: tuple[AbLine, ...]
    """The A/B test of each send step with subject line variants (all time, not by week)."""


__all__ = [
    "FIGURES",
    "AbLine",
    "Figures",
    "Review",
    "StepLine",
    "VariantLine",
    "csv_text",
    "parse_week",
    "review",
    "week_name",
    "week_of",
]


# ---- weeks ---------------------------------------------------------------------------------


def week_of(moment: datetime) -> date:
    """The Monday of the ISO week (UTC) a moment falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def week_name(monday: date) -> str:
    """``2026-W48``: the ISO week's name."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str, now: datetime) -> date:
    """The Monday of a week named ``2026-W48`` (ValueError with a sentence otherwise)."""
    year, separator, week = text.strip().upper().partition("-W")
    try:
        if not separator or len(year) != 4 or not 1 <= len(week) <= 2:
            raise ValueError
        monday = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(
            Said(N_("“%(text)s” is no week: write it as 2026-W48"), text=text[:20])
        ) from None
    if monday > week_of(now):
        raise ValueError(Said(N_("%(week)s has not begun yet"), week=week_name(monday)))
    return monday


# ---- steps ---------------------------------------------------------------------------------


def _days(count: float) -> Said:
    shown = int(count) if float(count).is_integer() else round(count, 2)
    if shown == 1:
        return Said(N_("1 day"))
    return Said(N_("%(count)s days"), count=shown)


def _mail_said(send: Send) -> Said:
    others = send.variants - 1
    if others == 1:
        return Said(N_("Mail: %(subject)s (+1 variant)"), subject=send.subjects[0])
    if others > 1:
        return Said(
            N_("Mail: %(subject)s (+%(count)s variants)"), subject=send.subjects[0], count=others
        )
    return Said(N_("Mail: %(subject)s"), subject=send.subjects[0])


def _wait_said(wait: Wait) -> Said:
    if wait.weekday is None:
        return Said(N_("Wait %(days)s"), days=_days(wait.days))
    until = {"weekday": Said(WEEKDAY_NAMES[wait.weekday]), "hour": f"{wait.hour:02d}:00"}
    if wait.days:
        return Said(N_("Wait %(days)s, then until %(weekday)s %(hour)s"), days=_days(wait.days),
                    **until)  # fmt: skip
    return Said(N_("Wait until %(weekday)s %(hour)s"), **until)


def step_said(step: Step) -> Said:
    """How the review names a step: its mail's subject, its wait, its condition …"""
    action = step.action
    if isinstance(action, Send):
        return _mail_said(action)
    if isinstance(action, Wait):
        return _wait_said(action)
    if isinstance(action, Branch):
        condition = action.condition
        kind = CONDITION_NAMES.get(condition.on.value, condition.on.value)
        return Said(N_("Branch: if %(kind)s %(value)s"), kind=Said(kind), value=condition.value)
    if isinstance(action, SetField):
        return Said(N_("Set %(field)s to %(value)s"), field=action.field, value=action.value)
    if isinstance(action, Notify):
        return Said(N_("Notify %(address)s"), address=action.to)
    return Said(N_("Exit"))


def step_label(step: Step) -> str:
    """``step_said`` in English."""
    return str(step_said(step))


def versions(session: Session, program_id: int) -> dict[int, Definition]:
    """Every version of the program's definition (a handful of rows)."""
    rows = session.execute(
        select(ProgramVersion.version, ProgramVersion.definition).where(
            ProgramVersion.program_id == program_id
        )
    )
    return {version: parse(data) for version, data in rows}


def _steps(defined: dict[int, Definition], current: int, seen: set[str]) -> list[Step]:
    """The current version's steps in order, then earlier versions' steps that were taken in
    the weeks shown (labelled from the newest version that has them)."""
    ordered = list(defined[current].steps) if current in defined else []
    known = {step.id for step in ordered}
    for version in sorted(defined, reverse=True):
        for step in defined[version].steps:
            if step.id not in known and step.id in seen:
                ordered.append(step)
                known.add(step.id)
    return ordered


def review(
    session: Session,
    program_id: int,
    *,
    now: datetime,
    stages: Sequence[str],
    week: date | None = None,
    weeks: int = WEEKS,
) -> Review:
    """The program's figures for ``weeks`` ISO weeks up to ``week`` (default: the running
    one); LookupError for an unknown program."""
    program = session.get(Program, program_id)
    if program is None:
        raise LookupError(f"no program {program_id}")
    last = week or week_of(now)
    starts = [start_of(last - WEEK * back) for back in range(weeks - 1, -1, -1)]
    window = figures.Window(session, program_id, starts, now)
    figures.steps_taken(window)
    figures.followed(window, stages)
    figures.converted_after_mails(window)
    entered, goals = figures.entered_and_converted(window)
    active = figures.active_at_week_ends(window)
    defined = versions(session, program_id)
    current_week = last == week_of(now)
    if current_week:
        _active_now(window, program, defined)
    totals = [
        _program_week(window, index, entered[index], active[index], goals[index])
        for index in range(len(starts))
    ]
    current = defined.get(program.version)
    lines = tuple(
        StepLine(
            step.id,
            step.kind,
            step_label(step),
            current is not None and step in current.steps,
            tuple(window.by_step.get(step.id, [Figures() for _ in starts])),
            step_said(step),
        )
        for step in _steps(defined, program.version, set(window.by_step))
    )
    return Review(
        program_id=program.id,
        name=program.name,
        status=program.status,
        version=program.version,
        weeks=tuple(start.date() for start in starts),
        totals=tuple(totals),
        goals=tuple(goals),
        steps=lines,
        current_week=current_week,
        ab=tuple(ab_report(session, program, defined)),
    )


def _active_now(window: figures.Window, program: Program, defined: dict[int, Definition]) -> None:
    """Per step of the running week: the leads in it now (0 for a current step with none)."""
    found = figures.active_by_step(window.session, program.id, defined)
    last = len(window.starts) - 1
    for step in defined[program.version].steps if program.version in defined else ():
        window.step(step.id, last).active = found.pop(step.id, 0)
    for step_id, count in found.items():  # steps of earlier versions
        window.step(step_id, last).active = count


def _program_week(
    window: figures.Window, index: int, entered: int, active: int, goals: dict[str, int]
) -> Figures:
    """The program's figures of one week: its own, and the sums of its steps'."""
    total = Figures(entered=entered, active=active, conversions=sum(goals.values()))
    for name in SUMMED:
        steps = window.by_step.values()
        setattr(total, name, sum(step[index].value(name) or 0 for step in steps))
    return total


# ---- A/B tests -----------------------------------------------------------------------------


def ab_report(session: Session, program: Program, defined: dict[int, Definition]) -> list[AbLine]:
    """Each send step with variants, newest version first (earlier versions only when they
    sent): the stored verdict if the test was decided, else the winner rule applied now."""
    found = []
    for version in sorted(defined, reverse=True):
        for step in defined[version].sends():
            assert isinstance(step.action, Send)
            subjects = step.action.subjects
            if len(subjects) < 2:
                continue
            stats = scheduler.variant_stats(session, program.id, version, step.id, len(subjects))
            if version != program.version and not any(item.sends for item in stats):
                continue
            decision = session.get(AbDecision, (program.id, version, step.id))
            if decision is not None:
                winner, explanation = decision.winner, decision.explanation
                facts = _stored_facts(decision, len(subjects))
            else:
                verdict = rules.pick_winner(stats)
                winner, explanation = verdict.winner, verdict.explanation
                facts = verdict.facts
            variants = tuple(
                VariantLine(
                    chr(ord("A") + number), subject, item.sends, item.opens, item.clicks,
                    rules.wilson(item.clicks, item.sends), number == winner,
                )
                for number, (subject, item) in enumerate(zip(subjects, stats, strict=True))
            )  # fmt: skip
            mode = step.action.ab.mode.value if step.action.ab is not None else "split"
            if winner is None and not explanation.lower().startswith(NO_WINNER):
                explanation = f"{NO_WINNER}: {explanation}"
            found.append(
                AbLine(
                    version, step.id, step_label(step), mode, variants,
                    None if winner is None else chr(ord("A") + winner),
                    explanation[:1].upper() + explanation[1:],
                    decision.decided_at if decision is not None else None,
                    step_said(step), facts,
                )
            )  # fmt: skip
    return found


def _stored_facts(decision: AbDecision, variants: int) -> rules.VerdictFacts | None:
    """What a stored verdict says, when its words are the ones ``pick_winner`` writes (a
    verdict stored in other words is shown as stored)."""
    waiting = decision.winner is None and decision.explanation.startswith(
        f"{NO_WINNER}: every variant needs"
    )
    facts = rules.VerdictFacts(
        decision.winner, decision.metric, decision.p_value, 0.95, max(variants - 1, 1), waiting
    )
    return facts if str(facts.said()) == decision.explanation else None


# ---- the CSV export ------------------------------------------------------------------------

CSV_HEADER = ("week", "week_start", "step", "step_label", *(name for name, _ in FIGURES))
"""The first row: stable machine names, in every language."""
PROGRAM_ROW = N_("All steps (the program)")


def csv_rows(
    review: Review, say: Callable[[Said], str] = str, titles: Sequence[str] | None = None
) -> list[list[str]]:
    """One row per week and step (and one for the whole program per week), oldest week
    first; text cells are kept from running as spreadsheet formulas. ``say`` writes the step
    labels (English by default; the console passes the reader's language); ``titles``, when
    given, replace the machine column names of the first row."""
    rows = [list(titles) if titles is not None else list(CSV_HEADER)]
    for index, monday in enumerate(review.weeks):
        lines = [("", say(Said(PROGRAM_ROW)), review.totals[index])]
        lines += [(step.id, step.words(say), step.weeks[index]) for step in review.steps]
        for step_id, label, weekly in lines:
            counts = [weekly.value(name) for name, _ in FIGURES]
            rows.append(
                [week_name(monday), monday.isoformat(), safe_cell(step_id), safe_cell(label)]
                + ["" if count is None else str(count) for count in counts]
            )
    return rows


def csv_text(
    review: Review, say: Callable[[Said], str] = str, titles: Sequence[str] | None = None
) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(review, say, titles))
    return out.getvalue()
