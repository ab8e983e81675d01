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
3. **Due steps**: enrollments whose ``due_at`` passed, through the partial index on active
   enrollments, oldest first, a batch per transaction (``FOR UPDATE SKIP LOCKED``, so
   several processes share the work on PostgreSQL). Each runs its steps until a wait or the
   end. A mail step writes the message into the outbox in the same transaction (its dedupe
   key ``program:ENROLLMENT:STEP`` makes it once only); the send job checks suppression,
   consent and the reader's frequency again when it sends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from content.models import Asset, Kind
from content.orm import dialect_insert
from nurture.mail import suppression
from nurture.mail.models import MailCategory, MailMessage, MailStatus
from nurture.mail.outbox import Mail, enqueue
from nurture.models import RelayCursor
from nurture.programs import rules, store
from nurture.programs.definition import (
    AbMode,
    Branch,
    Definition,
    Notify,
    Send,
    SetField,
    Status,
    TriggerKind,
    Wait,
)
from nurture.programs.models import (
    ACTIVE_ENROLLMENT,
    AbDecision,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramSettings,
    StepLog,
)
from nurture.relay import lock_cursor
from tracking.events import EventType
from tracking.identity.facts import Source, record_facts
from tracking.models import WEBINAR_EVENTS, AssetEngagement, Event, Lead, LeadChange, Unlock
from tracking.pipeline import changelog, leadstate
from tracking.rules.scoring import Lifecycle

CURSOR = "programs"
CHANGE_BATCH = 1000
STEP_BATCH = 500
MAIL_KIND = "program"
NOTIFY_KIND = "program_notify"
FOLLOW_UP_AFTER = timedelta(hours=12)
"""After a webinar's end, attendees and no-shows enter their programs this much later (the
time the webinar mails give attendance to be imported)."""
ENDING_CHANGES = {"unsubscribed": "unsubscribed", "email_bounced": "address suppressed"}


@dataclass(frozen=True, slots=True)
class Context:
    """What a pass needs besides the database."""

    stages: Sequence[str]
    domain: str
    default_language: str = "en"


@dataclass(slots=True)
class Pass:
    """What one pass did (the job's line in /console/system)."""

    changes: int = 0
    entered: int = 0
    converted: int = 0
    exited: int = 0
    steps: int = 0
    sent: int = 0
    held: int = 0
    skipped: int = 0
    completed: int = 0

    def add(self, other: Pass) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def describe(self) -> str | None:
        parts = [
            f"{count} {what}"
            for what, count in (
                ("change(s) read", self.changes),
                ("entered", self.entered),
                ("converted", self.converted),
                ("exited", self.exited),
                ("mail(s) queued", self.sent),
                ("held back", self.held),
                ("skipped", self.skipped),
                ("completed", self.completed),
            )
            if count
        ]
        return ", ".join(parts) or None


class _Definitions:
    """Program versions read once per pass."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.found: dict[tuple[int, int], Definition] = {}

    def __call__(self, program_id: int, version: int) -> Definition:
        key = (program_id, version)
        if key not in self.found:
            self.found[key] = store.definition(self.session, program_id, version)
        return self.found[key]


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
    definitions = _Definitions(session)
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
    definitions: _Definitions,
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
            _end(session, enrollment, now, EnrollmentStatus.CONVERTED, reached.label(),
                 goal=reached.label())  # fmt: skip
            done.converted += 1
        elif row.kind in ENDING_CHANGES:
            _end(session, enrollment, now, EnrollmentStatus.EXITED, ENDING_CHANGES[row.kind])
            done.exited += 1
    return done


def _end(
    session: Session,
    enrollment: Enrollment,
    now: datetime,
    status: EnrollmentStatus,
    reason: str,
    *,
    goal: str = "",
    step_id: str = "",
) -> None:
    enrollment.status = status.value
    enrollment.ended_at = now
    enrollment.end_reason = reason[:200]
    enrollment.goal = goal[:80]
    session.add(
        StepLog(
            enrollment_id=enrollment.id, program_id=enrollment.program_id,
            version=enrollment.version, step_id=step_id, lead_id=enrollment.lead_id, at=now,
            outcome=status.value, detail=reason[:300],
        )
    )  # fmt: skip


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


# ---- 3. due steps --------------------------------------------------------------------------


def lead_facts(session: Session, lead: Lead, last_message_id: int | None) -> rules.LeadFacts:
    """What branches and goals read of the lead now (a few indexed queries)."""
    read_ids = set(
        session.scalars(select(AssetEngagement.asset_id).where(AssetEngagement.lead_id == lead.id))
    ) | set(session.scalars(select(Unlock.asset_id).where(Unlock.lead_id == lead.id)))
    slugs: set[str] = set()
    kinds: set[str] = set()
    topics = set(lead.mail_topics or [])
    if read_ids:
        for asset in session.scalars(select(Asset).where(Asset.id.in_(read_ids))):
            slugs.add(asset.slug)
            kinds.add(asset.kind)
            for topic in asset.topics:
                topics |= {topic.slug, topic.label}
    opened = clicked = False
    if last_message_id is not None:
        message = session.get(MailMessage, last_message_id)
        if message is not None:
            opened = message.opened_at is not None or message.clicked_at is not None
            clicked = message.clicked_at is not None
    demos = select(LeadChange.seq).where(LeadChange.lead_id == lead.id, LeadChange.kind == "demo")
    if lead.lifecycle == Lifecycle.RECYCLED.value and lead.lifecycle_changed_at is not None:
        # Sales sent the lead back: a demo it asked for before does not count any more.
        demos = demos.where(LeadChange.at >= lead.lifecycle_changed_at)
    demo = session.scalar(demos.limit(1))
    return rules.LeadFacts(
        stage=lead.journey_stage,
        grade=lead.grade,
        lifecycle=lead.lifecycle,
        topics=frozenset(topics),
        read=frozenset(slugs),
        read_kinds=frozenset(kinds),
        opened_previous=opened,
        clicked_previous=clicked,
        subscribed=lead.consent_status == "confirmed",
        demo_requested=demo is not None,
    )


@dataclass(slots=True)
class _StepRun:
    session: Session
    now: datetime
    context: Context
    guards: ProgramSettings
    definitions: _Definitions
    done: Pass = field(default_factory=Pass)


def due_steps(
    session: Session, now: datetime, context: Context, batch: int = STEP_BATCH
) -> tuple[Pass, int]:
    """Run up to ``batch`` due enrollments; returns what was done and how many were taken."""
    guards = store.guard_rails(session)
    if guards.paused:
        return Pass(), 0
    rows = list(
        session.scalars(
            select(Enrollment)
            .join(Program, Program.id == Enrollment.program_id)
            .where(
                text(f"program_enrollment.{ACTIVE_ENROLLMENT}"),
                Enrollment.due_at <= now,
                Program.status == Status.ACTIVE.value,
            )
            .order_by(Enrollment.due_at)
            .limit(batch)
            .with_for_update(of=Enrollment, skip_locked=True)
        )
    )
    work = _StepRun(session, now, context, guards, _Definitions(session))
    for enrollment in rows:
        _advance(work, enrollment)
    session.flush()
    return work.done, len(rows)


def _log(work: _StepRun, enrollment: Enrollment, step_id: str, outcome: str, detail: str = "",
         *, variant: int | None = None, message_id: int | None = None) -> None:  # fmt: skip
    work.session.add(
        StepLog(
            enrollment_id=enrollment.id, program_id=enrollment.program_id,
            version=enrollment.version, step_id=step_id, lead_id=enrollment.lead_id,
            at=work.now, outcome=outcome, detail=detail[:300], variant=variant,
            message_id=message_id,
        )
    )  # fmt: skip


def _advance(work: _StepRun, enrollment: Enrollment) -> None:
    """Take the lead's steps until one waits, or the program ends for it."""
    current = work.definitions(enrollment.program_id, enrollment.version)
    lead = work.session.get(Lead, enrollment.lead_id)
    if lead is None:
        return
    zone = rules.zone_of(lead.time_zone, lead.language)
    for _ in range(len(current.steps) + 1):
        if enrollment.step >= len(current.steps):
            _end(work.session, enrollment, work.now, EnrollmentStatus.COMPLETED, "all steps done")
            work.done.completed += 1
            return
        step = current.steps[enrollment.step]
        work.done.steps += 1
        if not _take(work, enrollment, lead, current, step.id, step.action, zone):
            return


def _take(work: _StepRun, enrollment: Enrollment, lead: Lead, current: Definition, step_id: str,
          action: object, zone: ZoneInfo) -> bool:  # fmt: skip
    """Take one step; True: go on with the next one now."""
    if isinstance(action, Send):
        return _send(work, enrollment, lead, current, step_id, action, zone)
    if isinstance(action, Wait):
        enrollment.due_at = rules.wait_ends(action, work.now, zone)
        enrollment.step += 1
        _log(work, enrollment, step_id, "waited", f"until {enrollment.due_at.isoformat()}")
        return enrollment.due_at <= work.now
    if isinstance(action, Branch):
        return _branch(work, enrollment, lead, current, step_id, action)
    if isinstance(action, SetField):
        _set(work, enrollment, lead, current, step_id, action)
    elif isinstance(action, Notify):
        _notify(work, enrollment, lead, current, step_id, action)
    else:
        _end(work.session, enrollment, work.now, EnrollmentStatus.EXITED, "exit step",
             step_id=step_id)  # fmt: skip
        work.done.exited += 1
        return False
    enrollment.step += 1
    return True


def _branch(work: _StepRun, enrollment: Enrollment, lead: Lead, current: Definition,
            step_id: str, action: Branch) -> bool:  # fmt: skip
    """Follow a branch (False: it left the program)."""
    facts = lead_facts(work.session, lead, enrollment.last_message_id)
    target = rules.after_branch(current, enrollment.step, facts)
    held = rules.holds(action.condition, facts)
    _log(work, enrollment, step_id, "branched", "then" if held else "else")
    if target is None:
        _end(work.session, enrollment, work.now, EnrollmentStatus.EXITED,
             f"branch {step_id}", step_id=step_id)  # fmt: skip
        work.done.exited += 1
        return False
    enrollment.step = target
    return True


def _hold(work: _StepRun, enrollment: Enrollment, until: datetime, step_id: str, why: str) -> bool:
    """Hold the lead at this send step until ``until``; False when it held long enough (the
    caller then skips the mail)."""
    since = enrollment.held_since or work.now
    if until - since > rules.LONGEST_POSTPONE:
        return False
    if enrollment.held_since is None:
        enrollment.held_since = work.now
        _log(work, enrollment, step_id, "held", why)
    enrollment.due_at = until
    work.done.held += 1
    return True


def _skip(work: _StepRun, enrollment: Enrollment, step_id: str, why: str) -> None:
    _log(work, enrollment, step_id, "skipped", why)
    enrollment.held_since = None
    enrollment.step += 1
    work.done.skipped += 1


def _recent_marketing(session: Session, lead_id: int, now: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(MailMessage.created_at).where(
                MailMessage.lead_id == lead_id,
                MailMessage.category == MailCategory.MARKETING.value,
                MailMessage.created_at > now - rules.CAP_WINDOW,
                MailMessage.status.not_in([MailStatus.SKIPPED.value, MailStatus.FAILED.value]),
            )
        )
    )


def _send(
    work: _StepRun,
    enrollment: Enrollment,
    lead: Lead,
    current: Definition,
    step_id: str,
    action: Send,
    zone: ZoneInfo,
) -> bool:
    """Queue the mail (True: go on to the next step) or hold the lead here (False)."""
    session, now = work.session, work.now
    suppressed = suppression.active_reasons(session, [lead.email]).get(lead.email)
    if suppressed is not None:
        _end(session, enrollment, now, EnrollmentStatus.EXITED,
             f"suppressed: {suppressed.value}", step_id=step_id)  # fmt: skip
        work.done.exited += 1
        return False
    if lead.consent_status != "confirmed":
        _skip(work, enrollment, step_id, f"no consent: {lead.consent_status}")
        return True
    variant = _variant(work, enrollment, step_id, action)
    if variant == rules.HOLD:
        # The rest of a test's audience waits for the verdict, as long as the test takes
        # (``held_since`` stays for the cap and quiet hours, which come after it).
        until = _test_ends(session, enrollment, step_id, action, now)
        enrollment.due_at = until
        _log(work, enrollment, step_id, "held", f"A/B test until {until.isoformat()}")
        work.done.held += 1
        return False
    quiet = rules.QuietHours(work.guards.quiet_start, work.guards.quiet_end)
    if quiet.quiet(now, zone):
        if _hold(work, enrollment, quiet.ends(now, zone), step_id, "quiet hours"):
            return False
        _skip(work, enrollment, step_id, "quiet hours held too long")
        return True
    frees = rules.cap_frees_at(
        _recent_marketing(session, lead.id, now), now, work.guards.weekly_cap
    )
    if frees is not None:
        if _hold(work, enrollment, frees, step_id, f"cap {work.guards.weekly_cap}/week"):
            return False
        _log(work, enrollment, step_id, "capped", f"cap {work.guards.weekly_cap}/week")
        enrollment.held_since = None
        enrollment.step += 1
        work.done.skipped += 1
        return True
    language = current.language or lead.language or work.context.default_language
    message_id = enqueue(
        session,
        Mail(
            to=lead.email,
            kind=MAIL_KIND,
            category=MailCategory.MARKETING,
            language=language,
            lead_id=lead.id,
            params={
                "program": enrollment.program_id,
                "version": enrollment.version,
                "step": step_id,
                "variant": variant,
                "enrollment": enrollment.id,
            },
            dedupe_key=f"program:{enrollment.id}:{step_id}",
        ),
        domain=work.context.domain,
        now=now,
    )
    _log(work, enrollment, step_id, "sent", action.subjects[variant][:300], variant=variant,
         message_id=message_id)  # fmt: skip
    if message_id is not None:
        enrollment.last_message_id = message_id
        work.done.sent += 1
    enrollment.held_since = None
    enrollment.step += 1
    return True


def _variant(work: _StepRun, enrollment: Enrollment, step_id: str, action: Send) -> int:
    ab = action.ab
    if ab is None or action.variants < 2:
        return 0
    key = f"{enrollment.program_id}:{enrollment.version}:{step_id}:{enrollment.lead_id}"
    if ab.mode is AbMode.SPLIT:
        return rules.variant_for(key, action.variants, ab)
    decision = work.session.get(AbDecision, (enrollment.program_id, enrollment.version, step_id))
    if decision is None:
        ends = _test_ends(work.session, enrollment, step_id, action, work.now)
        if work.now >= ends:
            decision = decide(work.session, enrollment.program_id, enrollment.version, step_id,
                              action.variants, work.now)  # fmt: skip
    return rules.variant_for(
        key,
        action.variants,
        ab,
        winner=decision.winner if decision is not None else None,
        decided=decision is not None,
    )


def _test_ends(
    session: Session, enrollment: Enrollment, step_id: str, action: Send, now: datetime
) -> datetime:
    """When the test started (the first lead reached the step: its mail went, or it was held)
    plus the test's hours; from now, before anybody. Not from the first mail: with no lead
    in the test group yet, the held rest would wait ever longer."""
    assert action.ab is not None
    first = session.scalar(
        select(func.min(StepLog.at)).where(
            StepLog.program_id == enrollment.program_id,
            StepLog.version == enrollment.version,
            StepLog.step_id == step_id,
            StepLog.outcome.in_(("sent", "held")),
        )
    )
    return (first or now) + timedelta(hours=action.ab.decide_after_hours)


def variant_stats(
    session: Session, program_id: int, version: int, step_id: str, variants: int
) -> list[rules.VariantStats]:
    """Sends, human opens and clicks of each subject line of a step."""
    rows = session.execute(
        select(
            StepLog.variant,
            func.count(MailMessage.id),
            func.count(MailMessage.opened_at),
            func.count(MailMessage.clicked_at),
        )
        .join(MailMessage, MailMessage.id == StepLog.message_id)
        .where(
            StepLog.program_id == program_id,
            StepLog.version == version,
            StepLog.step_id == step_id,
            StepLog.outcome == "sent",
            MailMessage.status == MailStatus.SENT.value,
        )
        .group_by(StepLog.variant)
    ).all()
    found = {variant: (sends, opens, clicks) for variant, sends, opens, clicks in rows}
    stats = []
    for number in range(variants):
        sends, opens, clicks = found.get(number, (0, 0, 0))
        # A click shows the mail was opened even when the pixel was blocked.
        stats.append(rules.VariantStats(sends, max(opens, clicks), clicks))
    return stats


def decide(
    session: Session, program_id: int, version: int, step_id: str, variants: int, now: datetime
) -> AbDecision:
    """Record the verdict of a step's A/B test now (the rest of the audience follows it)."""
    verdict = rules.pick_winner(variant_stats(session, program_id, version, step_id, variants))
    session.flush()
    insert = dialect_insert(session)
    # Two processes may decide at once: the first verdict stands, the other reads it.
    session.execute(
        insert(AbDecision)
        .values(
            program_id=program_id, version=version, step_id=step_id, decided_at=now,
            winner=verdict.winner, metric=verdict.metric, p_value=verdict.p_value,
            explanation=verdict.explanation,
        )
        .on_conflict_do_nothing(
            index_elements=[AbDecision.program_id, AbDecision.version, AbDecision.step_id]
        )
    )  # fmt: skip
    decision = session.get(AbDecision, (program_id, version, step_id), populate_existing=True)
    assert decision is not None
    return decision


def _set(work: _StepRun, enrollment: Enrollment, lead: Lead, current: Definition, step_id: str,
         action: SetField) -> None:  # fmt: skip
    reason = f"program {current.name}"
    if action.field == "lifecycle":
        try:
            leadstate.set_lifecycle(work.session, lead, Lifecycle(action.value), reason, work.now)
        except ValueError as exc:
            _log(work, enrollment, step_id, "skipped", str(exc))
            work.done.skipped += 1
            return
    else:
        record_facts(work.session, lead.id, {action.field: action.value},
                     Source("program", current.name[:200]), work.now)  # fmt: skip
        if action.field == "company":
            lead.company = action.value
    _log(work, enrollment, step_id, "set", f"{action.field} = {action.value}")


def _notify(work: _StepRun, enrollment: Enrollment, lead: Lead, current: Definition,
            step_id: str, action: Notify) -> None:  # fmt: skip
    """Tell sales: a ``sales_notified`` change (the webhook ``lead.sales_notified``) and a
    mail to the owner named in the step."""
    changelog.append(
        work.session,
        LeadChange(lead_id=lead.id, at=work.now, kind="sales_notified",
                   new=current.name[:40], reason=action.note or f"program {current.name}"),
    )  # fmt: skip
    message_id = enqueue(
        work.session,
        Mail(
            to=action.to,
            kind=NOTIFY_KIND,
            category=MailCategory.TRANSACTIONAL,
            language=work.context.default_language,
            params={"lead": lead.id, "program": current.name, "note": action.note},
            dedupe_key=f"program-notify:{enrollment.id}:{step_id}",
        ),
        domain=work.context.domain,
        now=work.now,
    )
    _log(work, enrollment, step_id, "notified", action.to, message_id=message_id)


# ---- the pass ------------------------------------------------------------------------------


def tick(
    write: Callable[[], object],
    now: datetime,
    context: Context,
    *,
    batch: int = STEP_BATCH,
    rounds: int = 1000,
) -> Pass:
    """One pass: the change log, time triggers, then due steps batch after batch until none
    is due (or ``rounds`` batches). ``write`` opens a write transaction (a context manager
    yielding a session): each part commits on its own."""
    done = Pass()
    for _ in range(rounds):
        with write() as session:  # type: ignore[attr-defined]
            part = read_changes(session, now, context)
        done.add(part)
        if part.changes < CHANGE_BATCH:
            break
    with write() as session:  # type: ignore[attr-defined]
        done.add(timed_triggers(session, now, context))
    for _ in range(rounds):
        with write() as session:  # type: ignore[attr-defined]
            part, taken = due_steps(session, now, context, batch)
        done.add(part)
        if taken < batch:
            break
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
    "CURSOR",
    "Context",
    "Pass",
    "decide",
    "due_steps",
    "has_due",
    "lead_facts",
    "read_changes",
    "tick",
    "timed_triggers",
    "variant_stats",
]
