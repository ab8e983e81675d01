"""Due steps (part 3 of a scheduler pass): enrollments whose ``due_at`` passed, through the
partial index on active enrollments, oldest first, a batch per transaction (``FOR UPDATE SKIP
LOCKED``, so several processes share the work on PostgreSQL). Each runs its steps until a wait
or the end. A mail step writes the message into the outbox in the same transaction (its
dedupe key ``program:ENROLLMENT:STEP`` makes it once only); the send job checks suppression,
consent and the reader's frequency again when it sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from nurture.mail.models import (
    MailCategory,
)
from nurture.mail.outbox import Mail, enqueue
from nurture.mail.rules import FREQUENCY_GAPS
from nurture.programs import abtest, rules, store
from nurture.programs.batch import BatchReads, lock_changing_leads, read_batch
from nurture.programs.definition import Branch, Definition, Notify, Send, SetField, Status, Wait
from nurture.programs.models import (
    ACTIVE_ENROLLMENT,
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramSettings,
    StepLog,
)
from nurture.programs.pass_context import Context, Definitions, Pass, end_enrollment, lead_facts
from tracking.identity.facts import Source, record_facts
from tracking.models import Lead, LeadChange
from tracking.pipeline import changelog, leadstate
from tracking.rules.scoring import Lifecycle

STEP_BATCH = 500
MAIL_KIND = "program"
NOTIFY_KIND = "program_notify"


@dataclass(slots=True)
class _StepRun:
    session: Session
    now: datetime
    context: Context
    guards: ProgramSettings
    definitions: Definitions
    done: Pass = field(default_factory=Pass)
    read: BatchReads = field(default_factory=BatchReads)


def due_steps(
    session: Session,
    now: datetime,
    context: Context,
    batch: int = STEP_BATCH,
    known: dict[tuple[int, int], Definition] | None = None,
) -> tuple[Pass, int]:
    """Run up to ``batch`` due enrollments; returns what was done and how many were taken.
    ``known``: program versions already read by earlier batches of the pass."""
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
    work = _StepRun(session, now, context, guards, Definitions(session, known))
    lock_changing_leads(session, work.definitions, rows)
    work.read = read_batch(session, sorted({enrollment.lead_id for enrollment in rows}), now)
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
    lead = work.read.leads.get(enrollment.lead_id)
    if lead is None:
        return
    zone = rules.zone_of(lead.time_zone, lead.language)
    for _ in range(len(current.steps) + 1):
        if enrollment.step >= len(current.steps):
            end_enrollment(
                work.session, enrollment, work.now, EnrollmentStatus.COMPLETED, "all steps done"
            )
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
        end_enrollment(
            work.session,
            enrollment,
            work.now,
            EnrollmentStatus.EXITED,
            "exit step",
            step_id=step_id,
        )
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
        end_enrollment(
            work.session,
            enrollment,
            work.now,
            EnrollmentStatus.EXITED,
            f"branch {step_id}",
            step_id=step_id,
        )
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


def _held_back(read: BatchReads, lead: Lead, now: datetime, cap: int) -> tuple[datetime, str]:
    """Until when the weekly cap across programs, and the reader's own frequency (at most a
    mail a week or a month, which the send job would enforce by skipping the mail), hold one
    more marketing mail back, and why; ``now``: it may go."""
    gap = FREQUENCY_GAPS.get(lead.mail_frequency)
    recent = read.recent.get(lead.id, [])  # each check keeps the mails of its own window
    found = [(now, "")]
    frees = rules.cap_frees_at(recent, now, cap)
    if frees is not None:
        found.append((frees, f"cap {cap}/week"))
    if gap is not None:
        sent = read.last_sent.get(lead.email)
        frees = rules.cap_frees_at([*recent, *([sent] if sent else [])], now, 1, gap)
        if frees is not None:
            found.append((frees, f"frequency {lead.mail_frequency}"))
    return max(found)


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
    suppressed = work.read.suppressed.get(lead.email)
    if suppressed is not None:
        end_enrollment(
            session,
            enrollment,
            now,
            EnrollmentStatus.EXITED,
            f"suppressed: {suppressed.value}",
            step_id=step_id,
        )
        work.done.exited += 1
        return False
    if lead.consent_status != "confirmed":
        _skip(work, enrollment, step_id, f"no consent: {lead.consent_status}")
        return True
    variant = abtest.variant_of(session, enrollment, step_id, action, now)
    if variant == rules.HOLD:
        # The rest of a test's audience waits for the verdict, as long as the test takes
        # (``held_since`` stays for the cap and quiet hours, which come after it).
        until = abtest.verdict_due(session, enrollment, step_id, action, now)
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
    frees, why = _held_back(work.read, lead, now, work.guards.weekly_cap)
    if frees > now:
        if _hold(work, enrollment, frees, step_id, why):
            return False
        _log(work, enrollment, step_id, "capped", why)
        enrollment.held_since = None
        enrollment.step += 1
        work.done.skipped += 1
        return True
    language = current.language or lead.language or work.context.default_language
    mail = Mail(
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
    )
    # The message row needs nothing the batch has pending: its steps are written together at
    # the end of the batch, not flushed before each mail.
    with session.no_autoflush:
        message_id = enqueue(session, mail, domain=work.context.domain, now=now)
    _log(work, enrollment, step_id, "sent", action.subjects[variant][:300], variant=variant,
         message_id=message_id)  # fmt: skip
    if message_id is not None:
        enrollment.last_message_id = message_id
        work.read.recent.setdefault(lead.id, []).append(now)  # the lead's next mail sees it
        work.done.sent += 1
    enrollment.held_since = None
    enrollment.step += 1
    return True


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
