"""Identity: leads, their profile facts and consent, unlocks, and how a visitor becomes a lead.

Identification happens in the caller's one write transaction: the lead is
created or updated, the browser gets a fresh visitor id linked to the lead
(the old id is retired, so a planted or shared cookie never speaks for
anyone), the old id's anonymous events move to the lead, and the form
submission and unlock are recorded. Two identified leads are never merged:
a browser linked to lead A that submits as B belongs to B from then on,
and A keeps everything that was A's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import dialect_insert, utcnow
from tracking import folding
from tracking.identity.visitors import ensure_visitor, new_visitor_id
from tracking.lead_profile import profile
from tracking.models import (
    AssetEngagement,
    Consent,
    Event,
    Lead,
    LeadChange,
    ProfileFact,
    Unlock,
    Visitor,
)
from tracking.pipeline import changelog
from tracking.rules.config import Model


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact or consent came from: ``form`` (ref: asset slug), ``import`` or ``api``."""

    kind: str
    ref: str = ""


@dataclass(frozen=True, slots=True)
class ConsentText:
    """The consent wording shown, and its version."""

    version: str
    text: str


@dataclass(frozen=True, slots=True)
class KnownLead:
    """What the portal needs about the lead a browser speaks for."""

    id: int
    email: str
    profile: Mapping[str, str]
    journey_stage: str
    marketing_consent: bool

    @property
    def first_name(self) -> str | None:
        return self.profile.get("first_name") or None

    @property
    def known_fields(self) -> frozenset[str]:
        return frozenset({"email", *self.profile})


@dataclass(frozen=True, slots=True)
class Identification:
    """The outcome of an identification: the lead and the browser's new visitor id."""

    lead_id: int
    visitor_id: str
    created: bool
    changed_fields: tuple[str, ...]


def known_lead(session: Session, visitor_id: str | None) -> KnownLead | None:
    """The lead this browser speaks for, or None (anonymous, unknown or retired visitor id)."""
    if not visitor_id:
        return None
    lead = session.scalar(
        select(Lead)
        .join(Visitor, Visitor.lead_id == Lead.id)
        .where(Visitor.id == visitor_id, Visitor.retired_at.is_(None))
    )
    if lead is None:
        return None
    return KnownLead(
        id=lead.id,
        email=lead.email,
        profile=profile(session, lead.id),
        journey_stage=lead.journey_stage,
        marketing_consent=lead.marketing_consent,
    )


def lead_by_email(session: Session, email: str) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.email == email))


def get_or_create_lead(session: Session, email: str, now: datetime) -> tuple[Lead, bool]:
    """The lead with this (normalized) email, created if new; safe when many submit at once.

    The row is locked for the rest of the transaction (PostgreSQL), so two
    submissions for one lead update its profile one after the other.
    """
    insert = dialect_insert(session)
    created_id = session.scalar(
        insert(Lead)
        .values(
            email=email,
            search_text=folding.search_text(email, "", ""),
            created_at=now,
            last_activity_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Lead.email])
        .returning(Lead.id)
    )
    lead = session.scalar(
        select(Lead)
        .where(Lead.email == email)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert lead is not None
    return lead, created_id is not None


def record_facts(
    session: Session, lead_id: int, values: Mapping[str, str], source: Source, now: datetime
) -> tuple[str, ...]:
    """Store new field values (a new value wins, the old one is kept as history).

    Returns the fields whose value changed; repeating a known value records nothing.
    """
    if not values:
        return ()
    current = {
        fact.field: fact
        for fact in session.scalars(
            select(ProfileFact).where(
                ProfileFact.lead_id == lead_id,
                ProfileFact.superseded_at.is_(None),
                ProfileFact.field.in_(values),
            )
        )
    }
    changed = []
    for field, value in values.items():
        old = current.get(field)
        if old is not None and old.value == value:
            continue
        if old is not None:
            old.superseded_at = now
            session.flush()  # the partial unique index allows one current value per field
        session.add(
            ProfileFact(
                lead_id=lead_id,
                field=field,
                value=value,
                source=source.kind,
                source_ref=source.ref[:200],
                recorded_at=now,
            )
        )
        changed.append(field)
    session.flush()
    if LISTED_FIELDS.intersection(changed):
        refresh_listed(session, lead_id)
    return tuple(changed)


LISTED_FIELDS = frozenset({"first_name", "last_name", "company"})


def refresh_listed(session: Session, lead_id: int) -> None:
    """Copy the name and company onto the lead row, where lists show and search them."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return
    known = profile(session, lead_id)
    lead.name = " ".join(v for v in (known.get("first_name"), known.get("last_name")) if v)[:200]
    lead.company = known.get("company", "")[:200]


def record_consent(
    session: Session,
    lead: Lead,
    *,
    granted: bool,
    wording: ConsentText,
    source: Source,
    now: datetime,
) -> None:
    """Store a marketing consent decision with the text the person saw; the lead reflects it."""
    session.add(
        Consent(
            lead_id=lead.id,
            purpose="marketing",
            granted=granted,
            text_version=wording.version,
            text=wording.text,
            source=source.kind,
            source_ref=source.ref[:200],
            recorded_at=now,
        )
    )
    lead.marketing_consent = granted
    lead.marketing_consent_at = now


def consents(session: Session, lead_id: int) -> list[Consent]:
    """The lead's consent decisions, newest first."""
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.lead_id == lead_id)
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        )
    )


def stitch(session: Session, visitor_id: str, lead_id: int) -> int:
    """Move a visitor's anonymous events and aggregates to a lead; returns how many events moved.

    Only rows without a lead move, so stitching twice changes nothing and
    another lead's history is never touched.
    """
    result = session.execute(
        update(Event)
        .where(Event.visitor_id == visitor_id, Event.lead_id.is_(None))
        .values(lead_id=lead_id)
    )
    session.execute(
        update(AssetEngagement)
        .where(AssetEngagement.visitor_id == visitor_id, AssetEngagement.lead_id.is_(None))
        .values(lead_id=lead_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def identify(
    session: Session,
    *,
    visitor_id: str | None,
    email: str,
    answers: Mapping[str, str],
    consent: ConsentText | None,
    source: Source,
    now: datetime | None = None,
    model: Model | None = None,
) -> Identification:
    """Make the browser's visitor a known lead (see the module docstring for the rules).

    ``email`` must be normalized; ``consent`` is the wording when the person
    ticked the opt-in box, else None (an unticked box withdraws nothing).
    """
    now = now or utcnow()
    # The browser's row first, then the lead: ingestion locks in the same order (no deadlock).
    old = _lock_visitor(session, visitor_id, now) if visitor_id else None
    lead, created = get_or_create_lead(session, email, now)
    if created:
        changelog.append(
            session,
            LeadChange(
                lead_id=lead.id,
                at=now,
                kind="identified",
                new=lead.lifecycle,
                reason=f"{source.kind} on {source.ref}" if source.ref else source.kind,
            ),
        )
    changed = record_facts(session, lead.id, answers, source, now)
    if consent is not None and not lead.marketing_consent:
        record_consent(session, lead, granted=True, wording=consent, source=source, now=now)
    if old is not None:
        _retire(session, old, lead, now, model)
    fresh_id = new_visitor_id()
    session.add(Visitor(id=fresh_id, lead_id=lead.id, created_at=now, identified_at=now))
    lead.last_activity_at = now
    session.flush()
    return Identification(
        lead_id=lead.id, visitor_id=fresh_id, created=created, changed_fields=changed
    )


def _lock_visitor(session: Session, visitor_id: str, now: datetime) -> Visitor:
    ensure_visitor(session, visitor_id, now)
    old = session.get(Visitor, visitor_id, with_for_update=True, populate_existing=True)
    assert old is not None
    return old


def _retire(session: Session, old: Visitor, lead: Lead, now: datetime, model: Model | None) -> None:
    """Retire the browser's old id; if it was anonymous, its history becomes the lead's."""
    if old.retired_at is not None:
        return
    if old.lead_id is None:
        stitch(session, old.id, lead.id)
        if model is not None:
            from tracking.pipeline.leadstate import merge_visitor  # leadstate builds on this module

            merge_visitor(session, old.id, lead, model)
        old.lead_id = lead.id
        old.identified_at = now
    old.retired_at = now


def forget(session: Session, visitor_id: str, now: datetime | None = None) -> None:
    """ "Not you?": this browser id stops speaking for its lead (its history stays the lead's)."""
    session.execute(
        update(Visitor)
        .where(Visitor.id == visitor_id, Visitor.retired_at.is_(None))
        .values(retired_at=now or utcnow())
    )


def unlock(session: Session, lead_id: int, asset_id: int, now: datetime | None = None) -> bool:
    """Unlock an asset for a lead; True when it was not unlocked before.

    A first unlock is logged as an ``unlocked`` change (new: the asset id,
    reason: its slug then) in the same transaction, so the nurturing core
    hears of it like of any other change.
    """
    now = now or utcnow()
    insert = dialect_insert(session)
    unlocked = session.scalar(
        insert(Unlock)
        .values(lead_id=lead_id, asset_id=asset_id, unlocked_at=now)
        .on_conflict_do_nothing(index_elements=[Unlock.lead_id, Unlock.asset_id])
        .returning(Unlock.asset_id)
    )
    if unlocked is None:
        return False
    slug = session.scalar(select(Asset.slug).where(Asset.id == asset_id)) or ""
    changelog.append(
        session,
        LeadChange(lead_id=lead_id, at=now, kind="unlocked", new=str(asset_id), reason=slug),
    )
    return True


def is_unlocked(session: Session, lead_id: int, asset_id: int) -> bool:
    return session.get(Unlock, (lead_id, asset_id)) is not None


def unlocked_stages(session: Session, lead_id: int) -> list[str]:
    """The stages of the assets a lead has unlocked (a signal of how far their interest goes)."""
    return list(
        session.scalars(
            select(Asset.stage)
            .join(Unlock, Unlock.asset_id == Asset.id)
            .where(Unlock.lead_id == lead_id)
            .distinct()
        )
    )
