"""A/B tests of subject lines as the scheduler runs them: which line a lead gets, when a test
in test mode is decided, each line's figures, and the recorded verdict."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.orm import dialect_insert
from nurture.mail.models import MailMessage, MailStatus
from nurture.programs import rules
from nurture.programs.definition import AbMode, Send
from nurture.programs.models import AbDecision, Enrollment, StepLog


def variant_of(
    session: Session, enrollment: Enrollment, step_id: str, action: Send, now: datetime
) -> int:
    """The subject line this lead gets at this step now, or ``rules.HOLD`` (the rest of a
    test's audience before the verdict); decides the test once its hours are over."""
    ab = action.ab
    if ab is None or action.variants < 2:
        return 0
    key = f"{enrollment.program_id}:{enrollment.version}:{step_id}:{enrollment.lead_id}"
    if ab.mode is AbMode.SPLIT:
        return rules.variant_for(key, action.variants, ab)
    decision = session.get(AbDecision, (enrollment.program_id, enrollment.version, step_id))
    if decision is None:
        ends = verdict_due(session, enrollment, step_id, action, now)
        if now >= ends:
            decision = decide(session, enrollment.program_id, enrollment.version, step_id,
                              action.variants, now)  # fmt: skip
    return rules.variant_for(
        key,
        action.variants,
        ab,
        winner=decision.winner if decision is not None else None,
        decided=decision is not None,
    )


def verdict_due(
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
