"""What every part of a scheduler pass shares: its ``Context``, its tally (``Pass``), the
program versions it read (``Definitions``), ending an enrollment, and the facts of a lead that
goals and branches read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Asset
from nurture.mail.models import MailMessage
from nurture.programs import rules, store
from nurture.programs.definition import Definition
from nurture.programs.models import Enrollment, EnrollmentStatus, StepLog
from tracking.models import AssetEngagement, Lead, LeadChange, Unlock
from tracking.rules.scoring import Lifecycle


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


class Definitions:
    """Program versions read once per pass: ``found`` may be shared by the batches of a pass
    (a pass lasts seconds; a version is edited in place only while no lead has entered it)."""

    def __init__(
        self, session: Session, found: dict[tuple[int, int], Definition] | None = None
    ) -> None:
        self.session = session
        self.found: dict[tuple[int, int], Definition] = {} if found is None else found

    def __call__(self, program_id: int, version: int) -> Definition:
        key = (program_id, version)
        if key not in self.found:
            self.found[key] = store.definition(self.session, program_id, version)
        return self.found[key]


def end_enrollment(
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
