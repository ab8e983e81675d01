"""A lead as marketers, sales and integrators read it: profile, consent and every verdict with
its explanation in words ("decision (0.78): read 'Pricing guide' 92%, attended 'Live demo')."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import utcnow
from content.words import N_, Said
from tracking.lead_profile import profile
from tracking.models import AssetEngagement, Lead
from tracking.pipeline.leadstate import Verdicts, verdicts
from tracking.rules.config import Model
from tracking.rules.journey import StageEvidence


@dataclass(frozen=True, slots=True)
class EvidenceAsset:
    slug: str
    title: str
    weight: float
    depth: float
    acts: frozenset[str]


@dataclass(frozen=True, slots=True)
class LeadView:
    """Everything known about one lead, evaluated at ``at``."""

    lead: Lead
    profile: Mapping[str, str]
    verdicts: Verdicts
    evidence: Mapping[str, tuple[EvidenceAsset, ...]]
    """Per stage: its heaviest assets with titles, depths and acts."""
    explanation: str
    """The stage verdict in a marketer's words, in English ("decision (0.78): read …")."""
    reasons: tuple[Said | str, ...]
    """The explanation's reasons, each marked for translation (a model's hints as written)."""
    at: datetime


def _phrase(asset: EvidenceAsset) -> Said:
    if "demo_request" in asset.acts:
        return Said(N_("asked to talk to sales on '%(title)s'"), title=asset.title)
    if "webinar_attend" in asset.acts:
        return Said(N_("attended '%(title)s'"), title=asset.title)
    if "webinar_register" in asset.acts:
        return Said(N_("registered for '%(title)s'"), title=asset.title)
    if "download" in asset.acts:
        return Said(N_("downloaded '%(title)s'"), title=asset.title)
    if asset.depth > 0:
        return Said(
            N_("read '%(title)s' %(percent)s%%"),
            title=asset.title,
            percent=round(asset.depth * 100),
        )
    return Said(N_("viewed '%(title)s'"), title=asset.title)


def reasons(assets: Sequence[EvidenceAsset], hints: Sequence[str]) -> tuple[Said | str, ...]:
    """Why the stage: what the lead did with its heaviest assets, then the model's hints."""
    return (*(_phrase(a) for a in assets), *(hint.replace("_", " ") for hint in hints))


def explain(
    stage: str, confidence: float, assets: Sequence[EvidenceAsset], hints: Sequence[str]
) -> str:
    """The stage verdict in a marketer's words."""
    parts = [str(part) for part in reasons(assets, hints)]
    return f"{stage} ({confidence:.2f})" + (f": {', '.join(parts)}" if parts else "")


def _evidence_assets(
    session: Session, lead_id: int, evidence: Sequence[StageEvidence]
) -> dict[str, tuple[EvidenceAsset, ...]]:
    ids = {asset_id for item in evidence for asset_id, _, _ in item.top}
    if not ids:
        return {item.stage: () for item in evidence}
    titles = {
        asset_id: (slug, title)
        for asset_id, slug, title in session.execute(
            select(Asset.id, Asset.slug, Asset.title).where(Asset.id.in_(ids))
        )
    }
    depths = dict(
        session.execute(
            select(AssetEngagement.asset_id, func.max(AssetEngagement.max_depth))
            .where(AssetEngagement.lead_id == lead_id, AssetEngagement.asset_id.in_(ids))
            .group_by(AssetEngagement.asset_id)
        ).all()
    )
    return {
        item.stage: tuple(
            EvidenceAsset(
                slug=titles[asset_id][0],
                title=titles[asset_id][1],
                weight=round(weight, 2),
                depth=float(depths.get(asset_id) or 0.0),
                acts=acts,
            )
            for asset_id, weight, acts in item.top
            if asset_id in titles
        )
        for item in evidence
    }


def view(session: Session, lead: Lead, model: Model, at: datetime | None = None) -> LeadView:
    """The lead with its verdicts evaluated now (engagement and evidence decayed to ``at``)."""
    at = at or utcnow()
    found = verdicts(session, lead, model, at)
    evidence = _evidence_assets(session, lead.id, found.stage.evidence)
    chosen = next(e for e in found.stage.evidence if e.stage == found.stage.stage)
    return LeadView(
        lead=lead,
        profile=profile(session, lead.id),
        verdicts=found,
        evidence=evidence,
        explanation=explain(
            found.stage.stage, found.stage.confidence, evidence[chosen.stage], chosen.hints
        ),
        reasons=reasons(evidence[chosen.stage], chosen.hints),
        at=at,
    )
