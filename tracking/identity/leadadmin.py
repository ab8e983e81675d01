"""What staff do to a lead as a whole: merge a duplicate into it, or erase it (GDPR).

Merging keeps everything of both (devices, events, aggregates, unlocks, profile
history, consent records, journey state) under the surviving lead, logs the
merge in its change log and re-evaluates it. Erasing deletes what identifies the
person (the lead row, its email, profile, consent records, unlocks and change
log) and keeps the behaviour anonymous: events and per-asset aggregates stay,
detached from any lead, so content analytics do not change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from content.orm import utcnow
from tracking.accounts import membership
from tracking.deals.models import Deal
from tracking.identity.facts import refresh_listed
from tracking.models import (
    AssetEngagement,
    Consent,
    Event,
    FunnelMilestone,
    Lead,
    LeadChange,
    ProfileFact,
    Unlock,
    Visitor,
)
from tracking.pipeline import audience, changelog, leadstate
from tracking.rules import journey
from tracking.rules.config import Model
from tracking.rules.journey import JourneyState
from tracking.sources.models import Visit
from tracking.sources.stitching import refresh_lead_visits


class MergeRefused(ValueError):
    """The merge cannot be done as asked; the message says why."""


def _locked(session: Session, *lead_ids: int) -> dict[int, Lead]:
    """Both leads, locked in id order on PostgreSQL so two merges cannot deadlock."""
    found = session.scalars(
        select(Lead).where(Lead.id.in_(lead_ids)).order_by(Lead.id).with_for_update()
    )
    return {lead.id: lead for lead in found}


def merge(
    session: Session,
    survivor_id: int,
    duplicate_id: int,
    model: Model,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Lead:
    """Fold the duplicate lead into the survivor; the duplicate's row is deleted."""
    if survivor_id == duplicate_id:
        raise MergeRefused("a lead cannot be merged into itself")
    now = now or utcnow()
    leads = _locked(session, survivor_id, duplicate_id)
    survivor, duplicate = leads.get(survivor_id), leads.get(duplicate_id)
    if survivor is None or duplicate is None:
        raise MergeRefused("one of the two leads no longer exists")
    # its history stays with it
    audience.mark(session, [audience.reader_of(i, "") for i in (survivor_id, duplicate_id)])
    for table in (Visitor, Event, AssetEngagement, LeadChange, FunnelMilestone, Visit, Deal):
        session.execute(
            update(table).where(table.lead_id == duplicate_id).values(lead_id=survivor_id)
        )
    _merge_unlocks(session, survivor_id, duplicate_id)
    _merge_facts(session, survivor_id, duplicate_id, now)
    session.execute(
        update(Consent).where(Consent.lead_id == duplicate_id).values(lead_id=survivor_id)
    )
    theirs, ours = duplicate.marketing_consent_at, survivor.marketing_consent_at
    if theirs is not None and (ours is None or theirs > ours):  # the newer decision stands
        survivor.marketing_consent = duplicate.marketing_consent
        survivor.marketing_consent_at = duplicate.marketing_consent_at
        survivor.consent_status = duplicate.consent_status
    survivor.journey = journey.merge(
        JourneyState.from_json(survivor.journey),
        JourneyState.from_json(duplicate.journey),
        model.scoring,
    ).to_json()
    survivor.created_at = min(survivor.created_at, duplicate.created_at)
    survivor.last_activity_at = max(survivor.last_activity_at, duplicate.last_activity_at)
    changelog.append(
        session,
        LeadChange(
            lead_id=survivor_id,
            at=now,
            kind="merged",
            old=None,
            new=f"lead {duplicate_id}",
            reason=f"{duplicate.email} merged in by {actor}: {reason}"[:1000],
        ),
    )
    membership.after_merge(session, survivor, duplicate)
    session.delete(duplicate)
    session.flush()
    refresh_lead_visits(session, survivor)  # the earliest first visit, the newest latest
    refresh_listed(session, survivor_id)
    leadstate.evaluate(session, survivor, model, now)
    return survivor


def _merge_unlocks(session: Session, survivor_id: int, duplicate_id: int) -> None:
    held = set(session.scalars(select(Unlock.asset_id).where(Unlock.lead_id == survivor_id)))
    for unlock in session.scalars(select(Unlock).where(Unlock.lead_id == duplicate_id)):
        if unlock.asset_id in held:
            session.delete(unlock)
        else:
            unlock.lead_id = survivor_id
    session.flush()


def _merge_facts(session: Session, survivor_id: int, duplicate_id: int, now: datetime) -> None:
    """The duplicate's values join the survivor's history; the survivor's current values win,
    and the duplicate's fill the fields the survivor never answered."""
    known = set(
        session.scalars(
            select(ProfileFact.field).where(
                ProfileFact.lead_id == survivor_id, ProfileFact.superseded_at.is_(None)
            )
        )
    )
    session.execute(
        update(ProfileFact)
        .where(
            ProfileFact.lead_id == duplicate_id,
            ProfileFact.superseded_at.is_(None),
            ProfileFact.field.in_(known),
        )
        .values(superseded_at=now)
    )
    session.execute(
        update(ProfileFact).where(ProfileFact.lead_id == duplicate_id).values(lead_id=survivor_id)
    )


def erase(session: Session, lead_id: int, now: datetime | None = None) -> bool:
    """Erase a lead's personal data; its behaviour stays as anonymous events and aggregates.
    Returns False when there is no such lead."""
    now = now or utcnow()
    lead = session.scalars(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
    if lead is None:
        return False
    # The lead's browsers are retired, so none of them speaks for anyone again.
    session.execute(
        update(Visitor).where(Visitor.lead_id == lead_id).values(lead_id=None, retired_at=now)
    )
    # Its reading counts again as its browsers' own, for recommendations too.
    browsers = session.scalars(
        select(AssetEngagement.visitor_id).where(AssetEngagement.lead_id == lead_id).distinct()
    )
    audience.mark(
        session,
        [audience.reader_of(lead_id, ""), *(audience.reader_of(None, v) for v in browsers)],
    )
    for table in (Event, AssetEngagement, Visit, Deal):
        session.execute(update(table).where(table.lead_id == lead_id).values(lead_id=None))
    for owned in (ProfileFact, Consent, Unlock, LeadChange, FunnelMilestone):
        session.execute(delete(owned).where(owned.lead_id == lead_id))
    membership.leave(session, lead)
    session.delete(lead)
    session.flush()
    return True
