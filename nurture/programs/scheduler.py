"""The program scheduler (the ``program-scheduler`` job, and ``leadshelf programs tick``).

A pass does three things, each in short write transactions of its own:

1. **Triggers and goals from the lead change log.** Like the webhook relay, it reads
   ``lead_change`` after its cursor (``relay_cursor`` row ``programs``), so a change that
   happened while no scheduler ran is read later, never lost: a change enters the lead into
   every active program whose trigger it matches (activated before the change), and ends as
   ``converted`` every active enrollment of the lead whose goal it reaches. An unsubscribe
   or a suppression ends the lead's enrollments.
2. **Time-driven triggers**: leads that went quiet for N days (``lead.last_activity_at`` is
   indexed; each program remembers how far it looked), webinar attendees and no-shows once a
   webinar's follow-up moment (its end + 12 hours, as for the webinar mails) has passed.
3. **Due steps** (``steps``): enrollments whose ``due_at`` passed, a batch per transaction,
   each taking its steps until a wait or the end; a mail step writes the message into the
   outbox in the same transaction.

**Pacing.** On SQLite one writer holds the database at a time, and on PostgreSQL a pass keeps a
core busy: batch after batch, a pass of thousands of due steps would keep beacons waiting for
seconds. The job's pass therefore runs paced (``Pace``): each batch is sized to hold its write
transaction about ``budget`` seconds, and the pass rests as long again before the next, so
ingestion's writes (which try for the lock every millisecond, ``portal.db.take_write_lock``)
go in between.

What the parts share is in ``pass_context``; A/B tests in ``abtest``. The names other modules
use (``Pass``, ``Context``, ``MAIL_KIND``, ``decide``, ``variant_stats`` …) are all here.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from content.models import Asset, Kind
from nurture.models import RelayCursor
from nurture.programs import rules, store
from nurture.programs.abtest import decide, variant_stats
from nurture.programs.definition import Definition, Status, TriggerKind
from nurture.programs.models import (
    ACTIVE_ENROLLMENT,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramSettings,
)
from nurture.programs.pass_context import (
    Context,
    Definitions,
    Pass,
    end_enrollment,
    lead_facts,
)
from nurture.programs.steps import MAIL_KIND, NOTIFY_KIND, STEP_BATCH, due_steps
from nurture.relay import lock_cursor
from tracking.events import EventType
from tracking.models import WEBINAR_EVENTS, Event, Lead, LeadChange

CURSOR = "programs"
CHANGE_BATCH = 1000
FOLLOW_UP_AFTER = timedelta(hours=12)
"""After a webinar's end, attendees and no-shows enter their programs this much later (the
time the webinar mails give attendance to be imported)."""
ENDING_CHANGES = {"unsubscribed": "unsubscribed", "email_bounced": "address suppressed"}


def active_programs(session: Session) -> list[Program]:
    return list(
        session.scalars(
            select(Program).where(Program.status == Status.ACTIVE.value).order_by(Program.id)
        )
    )


# ---- 1. the change log ---------------------------------------------------------------------


def read_changes(session: Session, now: datetime, context: Context) -> Pass:
    """Enter and convert from up to ``CHANGE_BATCH`` changes after the cursor."""
    done = Pass()
    cursor = lock_cursor(session, CURSOR)
    if cursor is None:
        return done
    rows = session.scalars(
        select(LeadChange)
        .where(LeadChange.seq > cursor.seq)
        .order_by(LeadChange.seq)
        .limit(CHANGE_BATCH)
    ).all()
    if not rows:
        return done
    programs = active_programs(session)
    definitions = Definitions(session)
    lead_ids = sorted({row.lead_id for row in rows})
    active = _active_enrollments(session, lead_ids)
    assets = _assets(session, rows)
    for row in rows:
        change = _change(row, assets)
        enrolled = active.setdefault(row.lead_id, [])
        done.add(_ended_by(session, row, change, enrolled, definitions, context, now))
        for program in programs:
            if program.activated_at is not None and row.at < program.activated_at:
                continue
            current = definitions(program.id, program.version)
            if not rules.enters(current.trigger, change):
                continue
            by = f"{current.trigger.on.value} {current.trigger.value}".strip()
            entered = _enter(session, program, current, row.lead_id, now, context, by)
            if entered is not None:
                # A later change of this batch (the next stage, an unsubscribe) ends it.
                enrolled.append(entered)
                done.entered += 1
    cursor.seq = rows[-1].seq
    cursor.updated_at = now
    done.changes = len(rows)
    session.flush()
    return done


def _active_enrollments(session: Session, lead_ids: Sequence[int]) -> dict[int, list[Enrollment]]:
    found: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in session.scalars(
        select(Enrollment).where(
            Enrollment.lead_id.in_(lead_ids),
            Enrollment.status == EnrollmentStatus.ACTIVE.value,
        )
    ):
        found[enrollment.lead_id].append(enrollment)
    return found


def _assets(session: Session, rows: Iterable[LeadChange]) -> dict[int, tuple[str, str]]:
    ids = {int(row.new) for row in rows if row.kind == "unlocked" and row.new.isdigit()}
    if not ids:
        return {}
    return {
        asset_id: (slug, kind)
        for asset_id, slug, kind in session.execute(
            select(Asset.id, Asset.slug, Asset.kind).where(Asset.id.in_(ids))
        )
    }


def _change(row: LeadChange, assets: dict[int, tuple[str, str]]) -> rules.Change:
    slug, kind = "", ""
    if row.kind == "unlocked" and row.new.isdigit():
        slug, kind = assets.get(int(row.new), (row.reason, ""))
    return rules.Change(row.kind, row.new, row.old, slug, kind)


def _ended_by(
    session: Session,
    row: LeadChange,
    change: rules.Change,
    enrollments: list[Enrollment],
    definitions: Definitions,
    context: Context,
    now: datetime,
) -> Pass:
    done = Pass()
    for enrollment in enrollments:
        # The log's order, not the clock, says what came after entering: a change read now
        # may carry an earlier time than an enrollment made by a pass that ran before it.
        if enrollment.status != EnrollmentStatus.ACTIVE.value:
            continue
        current = definitions(enrollment.program_id, enrollment.version)
        reached = next(
            (goal for goal in current.goals if rules.goal_reached(goal, change, context.stages)),
            None,
        )
        if reached is not None:
            end_enrollment(
                session,
                enrollment,
                now,
                EnrollmentStatus.CONVERTED,
                reached.label(),
                goal=reached.label(),
            )
            done.converted += 1
        elif row.kind in ENDING_CHANGES:
            end_enrollment(
                session, enrollment, now, EnrollmentStatus.EXITED, ENDING_CHANGES[row.kind]
            )
            done.exited += 1
    return done


def _enter(
    session: Session,
    program: Program,
    current: Definition,
    lead_id: int,
    now: datetime,
    context: Context,
    by: str,
) -> Enrollment | None:
    """Enter unless the lead stands at a goal already (nothing left to nurture towards)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    if current.goals:
        facts = lead_facts(session, lead, None)
        if any(rules.goal_met(goal, facts, context.stages) for goal in current.goals):
            return None
    entered = store.enroll(session, program, lead_id, now, by=by, reentry=current.reentry)
    return session.get(Enrollment, entered) if entered is not None else None


# ---- 2. time-driven triggers ---------------------------------------------------------------


TIMED = (TriggerKind.INACTIVE, TriggerKind.WEBINAR_ATTENDED, TriggerKind.WEBINAR_MISSED)


def timed_triggers(session: Session, now: datetime, context: Context) -> Pass:
    done = Pass()
    programs = session.scalars(
        select(Program)
        .where(
            Program.status == Status.ACTIVE.value,
            Program.trigger.in_([kind.value for kind in TIMED]),
        )
        .order_by(Program.id)
        .with_for_update(skip_locked=True)  # another process looks at it: it moves on
    ).all()
    for program in programs:
        since = program.checked_until or program.activated_at
        if since is None:
            # Made active without a start (by hand in the database): look from now on.
            program.checked_until = now
            continue
        if since >= now:
            continue
        current = store.current(session, program)
        trigger = current.trigger
        if trigger.on is TriggerKind.INACTIVE:
            quiet = timedelta(days=trigger.days)
            leads = session.scalars(
                select(Lead.id).where(
                    Lead.last_activity_at > since - quiet, Lead.last_activity_at <= now - quiet
                )
            ).all()
            by = f"inactive {trigger.days} days"
        else:
            leads = _webinar_followers(
                session, since, now, trigger.value, trigger.on is TriggerKind.WEBINAR_ATTENDED
            )
            by = trigger.on.value
        for lead_id in leads:
            if _enter(session, program, current, lead_id, now, context, by) is not None:
                done.entered += 1
        program.checked_until = now
    session.flush()
    return done


def _webinar_followers(
    session: Session, since: datetime, now: datetime, slug: str, attended: bool
) -> list[int]:
    """Leads that attended (or registered and missed) a webinar whose follow-up moment fell
    in (since, now]."""
    query = select(Asset).where(
        Asset.kind == Kind.WEBINAR.value,
        Asset.webinar_starts_at.is_not(None),
        Asset.webinar_starts_at <= now,
        Asset.webinar_starts_at > since - timedelta(days=2),
    )
    if slug:
        query = query.where(Asset.slug == slug)
    found: list[int] = []
    for asset in session.scalars(query):
        assert asset.webinar_starts_at is not None
        minutes = asset.webinar_duration_minutes or 45
        moment = asset.webinar_starts_at + timedelta(minutes=minutes) + FOLLOW_UP_AFTER
        if not since < moment <= now:
            continue
        rows = session.execute(
            select(Event.lead_id, Event.type)
            .where(
                text(WEBINAR_EVENTS),
                Event.asset_id == asset.id,
                Event.lead_id.is_not(None),
            )
            .distinct()
        ).all()
        came = {lead for lead, kind in rows if kind == EventType.WEBINAR_ATTEND.value}
        registered = {lead for lead, kind in rows if kind == EventType.WEBINAR_REGISTER.value}
        # No attendance imported: nobody can be told a no-show (as for the webinar mails).
        chosen = came if attended else (registered - came if came else set())
        found += sorted(lead for lead in chosen if lead is not None)
    return found


# ---- the pass ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pace:
    """How a pass of due steps leaves room for the database's other writers."""

    budget: float
    """Seconds a batch should hold its write transaction."""
    rest: float = 1.0
    """The pause after a batch, as a multiple of the time the batch took."""
    first: int = 10
    """The first batch's size, before any batch was timed."""

    def next_size(self, size: int, took: float, ceiling: int) -> int:
        """The next batch's size: scaled so it takes about ``budget``, at most twice the last
        (one quick batch says little), at least 1 and at most ``ceiling``."""
        if took <= 0:
            return min(ceiling, size * 2)
        scaled = int(size * self.budget / took)
        return max(1, min(ceiling, size * 2, scaled))

    def pause(self, took: float) -> float:
        return took * self.rest


def tick(
    write: Callable[[], object],
    now: datetime,
    context: Context,
    *,
    batch: int = STEP_BATCH,
    rounds: int = 1000,
    pace: Pace | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Pass:
    """One pass: the change log, time triggers, then due steps batch after batch until none
    is due (or ``rounds`` batches). ``write`` opens a write transaction (a context manager
    yielding a session): each part commits on its own. With a ``pace`` the due steps go in
    batches sized to its budget (at most ``batch``), with a rest after each."""
    done = Pass()
    for _ in range(rounds):
        with write() as session:  # type: ignore[attr-defined]
            part = read_changes(session, now, context)
        done.add(part)
        if part.changes < CHANGE_BATCH:
            break
    with write() as session:  # type: ignore[attr-defined]
        done.add(timed_triggers(session, now, context))
    size = batch if pace is None else min(batch, pace.first)
    known: dict[tuple[int, int], Definition] = {}
    for _ in range(rounds):
        with write() as session:  # type: ignore[attr-defined]
            session.connection()  # the write lock (SQLite) is taken here, before the clock
            began = time.perf_counter()
            part, taken = due_steps(session, now, context, size, known)
        took = time.perf_counter() - began  # holding the lock, the commit included
        done.add(part)
        if taken < size:
            break
        if pace is not None:
            size = pace.next_size(size, took, batch)
            sleep(pace.pause(took))
    return done


def has_due(session: Session, now: datetime) -> bool:
    """Whether anything waits: changes after the cursor, or a due step of an active program
    while programs are not paused (index reads)."""
    head = session.scalar(select(func.max(LeadChange.seq))) or 0
    seen = session.scalar(select(RelayCursor.seq).where(RelayCursor.name == CURSOR)) or 0
    if head > seen:
        return True
    if session.scalar(select(ProgramSettings.paused).where(ProgramSettings.id == 1)):
        return False  # the global pause: no step is taken, so none is waiting to be
    due = session.scalar(
        select(Enrollment.id)
        .join(Program, Program.id == Enrollment.program_id)
        .where(
            text(f"program_enrollment.{ACTIVE_ENROLLMENT}"),
            Enrollment.due_at <= now,
            Program.status == Status.ACTIVE.value,
        )
        .limit(1)
    )
    return due is not None


__all__ = [
    "CHANGE_BATCH",
    "CURSOR",
    "MAIL_KIND",
    "NOTIFY_KIND",
    "STEP_BATCH",
    "TIMED",
    "Context",
    "Pace",
    "Pass",
    "active_programs",
    "decide",
    "due_steps",
    "has_due",
    "lead_facts",
    "read_changes",
    "tick",
    "timed_triggers",
    "variant_stats",
]
