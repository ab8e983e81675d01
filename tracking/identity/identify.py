"""How a visitor becomes a lead, and which lead a browser speaks for.

Identification happens in the caller's one write transaction: the lead is
created or updated, the browser gets a fresh visitor id linked to the lead
(the old id is retired, so a planted or shared cookie never speaks for
anyone), the old id's anonymous events move to the lead, and the form
submission and unlock are recorded. Two identified leads are never merged:
a browser linked to lead A that submits as B belongs to B from then on,
and A keeps everything that was A's.

``identify`` links whichever browser it is given: the public forms call it only when the
email is new or the browser already speaks for that lead. A typed email of someone else's
lead proves nothing; ``tracking.identity.claims`` records a claim instead, and only a click
on the "continue on this device" link from that inbox calls ``identify``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import dialect_insert, utcnow
from tracking import folding
from tracking.accounts import membership
from tracking.identity import consent as consents
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source, record_facts
from tracking.identity.stitch import stitch
from tracking.identity.visitors import ensure_visitor, new_visitor_id
from tracking.lead_profile import profile
from tracking.models import Lead, LeadChange, Visitor
from tracking.pipeline import changelog
from tracking.pipeline.leadstate import merge_visitor
from tracking.rules.config import Model
from tracking.sources.stitching import carried_visit, refresh_lead_visits, stitch_visits


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
    consent_to_confirm: int | None = None
    """The pending consent whose confirmation mail must go (the box was ticked)."""


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


def get_or_create_lead(session: Session, email: str, now: datetime) -> tuple[Lead, bool]:
    """The lead with this (normalized) email, created if new; safe when many submit at once.

    The row is locked for the rest of the transaction (PostgreSQL), so two
    submissions for one lead update its profile one after the other. A new lead joins the
    account of its company domain (``tracking.accounts.membership``).
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
    if created_id is not None:
        membership.note_email(session, lead, now)
    return lead, created_id is not None


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
    language: str = "",
) -> Identification:
    """Make the browser's visitor a known lead (see the module docstring for the rules).

    ``email`` must be normalized; ``consent`` is the wording when the person
    ticked the opt-in box, else None (an unticked box withdraws nothing): it is
    asked (double opt-in), and the result names the consent to confirm by mail.
    ``language`` (``en``/``de``) becomes the lead's mail language if it has none.
    """
    now = now or utcnow()
    # The browser's row first, then the lead: ingestion locks in the same order (no deadlock).
    old = lock_visitor(session, visitor_id, now) if visitor_id else None
    lead, created = get_or_create_lead(session, email, now)
    return link_browser(
        session,
        old,
        lead,
        created=created,
        answers=answers,
        consent=consent,
        source=source,
        now=now,
        model=model,
        language=language,
    )


def link_browser(
    session: Session,
    old: Visitor | None,
    lead: Lead,
    *,
    created: bool,
    answers: Mapping[str, str],
    consent: ConsentText | None,
    source: Source,
    now: datetime,
    model: Model | None = None,
    language: str = "",
) -> Identification:
    """``identify`` once the browser's row (``old``, locked) and the lead are in hand: store
    the answers, ask consent, retire the old id and give the browser a fresh one."""
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
    if language and not lead.language:
        lead.language = language
    asked = (
        consents.ask(session, lead, consent, source=source, now=now, language=lead.language)
        if consent is not None
        else None
    )
    visit_id, last_seen = carried_visit(old, lead.id) if old is not None else (None, None)
    if old is not None:
        _retire(session, old, lead, now, model)
    fresh_id = new_visitor_id()
    session.add(
        Visitor(
            id=fresh_id,
            lead_id=lead.id,
            created_at=now,
            identified_at=now,
            visit_id=visit_id,  # the visit goes on under the fresh id
            last_seen_at=last_seen,
        )
    )
    lead.last_activity_at = now
    session.flush()
    return Identification(
        lead_id=lead.id,
        visitor_id=fresh_id,
        created=created,
        changed_fields=changed,
        consent_to_confirm=asked.id if asked is not None else None,
    )


TIME_ZONE_FIELD = "tz"
"""The public forms' hidden field that ``static/js/timezone.js`` fills with the browser's zone."""


def browser_time_zone(raw: str | None) -> str:
    """The IANA zone a browser reported (``Europe/Berlin``), or "" for anything else: a bad
    value is ignored, never the visitor's error (the zone only times program mails)."""
    name = (raw or "").strip()
    if not name or len(name) > 64:
        return ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ""
    return name


def note_time_zone(session: Session, lead_id: int, raw: str | None) -> None:
    """Keep the zone the lead's own browser sent with a form (the latest wins); a program's
    "wait until Tuesday 10:00" is read in it."""
    zone = browser_time_zone(raw)
    lead = session.get(Lead, lead_id) if zone else None
    if lead is not None and lead.time_zone != zone:
        lead.time_zone = zone


def speaks_for(visitor: Visitor | None, lead_id: int) -> bool:
    """Whether this browser's (current) id speaks for the lead: the browser that created it,
    or one that identified with proof (a "continue on this device" link)."""
    return visitor is not None and visitor.retired_at is None and visitor.lead_id == lead_id


def lock_visitor(session: Session, visitor_id: str, now: datetime) -> Visitor:
    """The browser's row (created if unseen), locked for the rest of the transaction."""
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
        if stitch_visits(session, old.id, lead.id):
            refresh_lead_visits(session, lead)
        if model is not None:
            merge_visitor(session, old.id, lead, model)
        old.lead_id = lead.id
        old.identified_at = now
    old.retired_at = now
