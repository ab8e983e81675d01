"""The Lead document of CONTRACT.md: what the JSON API answers and what webhooks carry.

One builder for both, so an integrator reading ``GET /api/v1/leads/{id}`` and
one receiving ``lead.mql`` see the same shape. msgspec Structs (not Litestar
DTOs) keep this usable outside the web app.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.orm import Session

from tracking.accounts.models import Account
from tracking.models import Lead
from tracking.reporting import lead_view
from tracking.rules.config import Model
from tracking.sources.lead_sources import LeadSourceRead, source_read


class EvidenceAssetRead(msgspec.Struct):
    asset: str
    weight: float


class StageEvidenceRead(msgspec.Struct):
    stage: str
    score: float
    top: list[EvidenceAssetRead]


class ConsentRead(msgspec.Struct):
    """Marketing consent: ``marketing`` is true once double opt-in is confirmed; ``status`` is
    ``none``, ``pending`` (confirmation mail sent), ``confirmed`` or ``withdrawn``."""

    marketing: bool
    at: datetime | None
    status: str


class SuppressedRead(msgspec.Struct):
    """Why no mail (or no marketing mail, for ``unsubscribed``) goes to the lead's address,
    and since when: ``hard_bounce``, ``complaint``, ``unsubscribed`` or ``erased``."""

    reason: str
    at: datetime


class AccountRef(msgspec.Struct):
    """The account (company) the lead belongs to: by its email's domain, or as a marketer
    assigned it (then ``domain`` may be null)."""

    id: str
    domain: str | None
    name: str


class FitPartRead(msgspec.Struct):
    field: str
    answer: str
    points: float


class LeadRead(msgspec.Struct):
    """A lead: profile, stage with its evidence, scores, grade, category, lifecycle, consent."""

    id: str
    email: str
    profile: dict[str, str]
    journey_stage: str
    stage_confidence: float
    stage_evidence: list[StageEvidenceRead]
    stage_explanation: str
    fit_score: int
    fit_breakdown: list[FitPartRead]
    engagement_score: float
    grade: str
    grade_reason: str
    category: str
    lifecycle: str
    milestones: list[str]
    consent: ConsentRead
    suppressed: SuppressedRead | None
    language: str
    """The language mail goes out in: the lead's choice, else the site's default."""
    first_seen: datetime
    last_activity: datetime
    account: AccountRef | None
    source: LeadSourceRead
    """Where the lead came from: its first visit ever and its latest visit."""


def lead_read(
    session: Session,
    lead: Lead,
    model: Model,
    at: datetime | None = None,
    *,
    suppressed: SuppressedRead | None = None,
    default_language: str = "en",
) -> LeadRead:
    """The lead with its verdicts evaluated at ``at`` (now by default).

    The suppression list belongs to the nurturing core, which tracking does not read: the
    caller passes the address's entry in force (``nurture.mail.subscriptions.suppressed_of``),
    and the site's default language for a lead that chose none.
    """
    seen = lead_view.view(session, lead, model, at)
    found = seen.verdicts
    return LeadRead(
        id=str(lead.id),
        email=lead.email,
        profile=dict(seen.profile),
        journey_stage=found.stage.stage,
        stage_confidence=found.stage.confidence,
        stage_evidence=[
            StageEvidenceRead(
                stage=item.stage,
                score=item.score,
                top=[EvidenceAssetRead(a.slug, a.weight) for a in seen.evidence[item.stage]],
            )
            for item in found.stage.evidence
        ],
        stage_explanation=seen.explanation,
        fit_score=found.fit.score,
        fit_breakdown=[FitPartRead(f, a, p) for f, a, p in found.fit.breakdown],
        engagement_score=found.engagement,
        grade=found.grade,
        grade_reason=found.grade_reason,
        category=found.category.value,
        lifecycle=lead.lifecycle,
        milestones=list(lead.milestones or []),
        consent=ConsentRead(
            lead.marketing_consent, lead.marketing_consent_at, lead.consent_status or "none"
        ),
        suppressed=suppressed,
        language=lead.language or default_language,
        first_seen=lead.created_at,
        last_activity=lead.last_activity_at,
        account=_account_ref(session, lead.account_id),
        source=source_read(session, lead),
    )


def _account_ref(session: Session, account_id: int | None) -> AccountRef | None:
    account = session.get(Account, account_id) if account_id is not None else None
    return AccountRef(str(account.id), account.domain, account.name) if account else None
