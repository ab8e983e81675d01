"""Identity is proven by email, not typed.

Anyone can type anyone's address into a form, so a typed email only speaks for its lead on
a browser that already does: the browser that created the lead, or one linked by a click on
a "continue on this device" link from the lead's inbox. Every other browser that types a
known email makes a *claim* (``IdentityClaim``):

- it reads the asset it asked for, on this browser only (``unlocks.is_claimed``);
- it is not personalised: it stays anonymous, so no greeting, none of the lead's unlocks,
  answers or history, and its own events stay on its anonymous visitor;
- its answers and its ticked consent box wait on the claim, unverified; the lead's known
  answers are never overwritten by a claim;
- the caller mails the lead the "continue on this device" link (``verify`` is its click).

A claim is also what makes the lead's inbox the proof: ``verify`` links the browser that
clicks (as ``identify`` does: its anonymous history stitched, a fresh visitor id), applies
the claim's answers to the fields the lead does not know yet, unlocks the claimed asset for
the lead, and asks the consent if the box was ticked (double opt-in: another mail).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from content.models import Asset
from tracking.identity import consent as consents
from tracking.identity import identify
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source
from tracking.identity.identify import Identification
from tracking.identity.unlocks import unlock
from tracking.identity.visitors import ensure_visitor, new_visitor_id
from tracking.lead_profile import profile
from tracking.models import IdentityClaim, Lead, Visitor
from tracking.rules.config import Model

SALES_REF = "talk-to-sales"
"""Where a claim without an asset came from (the "Talk to sales" form)."""


@dataclass(frozen=True, slots=True)
class Claimed:
    """A form sent with the email of a lead this browser does not speak for."""

    claim_id: int
    lead_id: int
    visitor_id: str
    """The browser's visitor id the claim is bound to."""
    fresh_visitor: bool
    """The browser had no usable id and got this one now: the caller sets its cookie."""


@dataclass(frozen=True, slots=True)
class Continued:
    """A "continue on this device" link was clicked: the browser now speaks for the lead."""

    lead_id: int
    visitor_id: str
    """The browser's new visitor id."""
    asset_id: int | None
    """The claimed asset, now unlocked for the lead (None: a "Talk to sales" claim)."""
    first_unlock: bool
    first_click: bool
    """False when the link was clicked before (its answers and consent were applied then)."""
    consent_to_confirm: int | None
    """The pending consent whose confirmation mail must go (the claim's box was ticked)."""


def answers_to_apply(known: Mapping[str, str], answers: Mapping[str, str]) -> dict[str, str]:
    """The claim's answers a verified click may store: only fields the lead has no value for
    (a claim never overwrites what the lead told us), never the email, never empty."""
    return {
        name: value
        for name, value in answers.items()
        if name != "email" and value and not known.get(name)
    }


def identify_or_claim(
    session: Session,
    *,
    visitor_id: str | None,
    email: str,
    answers: Mapping[str, str],
    consent: ConsentText | None,
    source: Source,
    now: datetime,
    model: Model | None,
    asset_id: int | None,
    language: str = "",
) -> Identification | Claimed:
    """A form's email: a new lead, or the browser's own lead, identifies the browser as
    ``identify.identify`` does; any other known lead gets a claim (module docstring).

    Deciding after ``get_or_create_lead`` keeps two browsers that type one new email at the
    same moment apart: the one that created the lead speaks for it, the other claims.
    """
    old = identify.lock_visitor(session, visitor_id, now) if visitor_id else None
    lead, created = identify.get_or_create_lead(session, email, now)
    if created or identify.speaks_for(old, lead.id):
        return identify.link_browser(
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
    return _claim(session, old, lead, answers, consent is not None, asset_id, now)


def _claim(
    session: Session,
    browser: Visitor | None,
    lead: Lead,
    answers: Mapping[str, str],
    consent_ticked: bool,
    asset_id: int | None,
    now: datetime,
) -> Claimed:
    """Record the claim, bound to the browser's id (a fresh anonymous id when it has none)."""
    if browser is not None and browser.retired_at is None:
        visitor_id, fresh = browser.id, False
    else:
        visitor_id, fresh = new_visitor_id(), True
        ensure_visitor(session, visitor_id, now)
    stored = {name: value for name, value in answers.items() if name != "email"}
    claim = _open_claim(session, visitor_id, lead.id, asset_id)
    if claim is None:
        claim = IdentityClaim(
            visitor_id=visitor_id,
            lead_id=lead.id,
            asset_id=asset_id,
            answers=stored,
            consent_ticked=consent_ticked,
            created_at=now,
        )
        session.add(claim)
    else:  # the same browser asks again: one claim, with the latest answers
        claim.answers = {**claim.answers, **stored}
        claim.consent_ticked = claim.consent_ticked or consent_ticked
    session.flush()
    return Claimed(claim.id, lead.id, visitor_id, fresh_visitor=fresh)


def _open_claim(
    session: Session, visitor_id: str, lead_id: int, asset_id: int | None
) -> IdentityClaim | None:
    """This browser's unverified claim on this lead and asset, if it made one before."""
    same_asset = (
        IdentityClaim.asset_id.is_(None) if asset_id is None else IdentityClaim.asset_id == asset_id
    )
    return session.scalars(
        select(IdentityClaim)
        .where(
            IdentityClaim.visitor_id == visitor_id,
            IdentityClaim.lead_id == lead_id,
            IdentityClaim.verified_at.is_(None),
            same_asset,
        )
        .order_by(IdentityClaim.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def verify(
    session: Session,
    claim_id: int,
    lead_id: int,
    *,
    visitor_id: str | None,
    now: datetime,
    model: Model,
) -> Continued | None:
    """The click on a claim's "continue on this device" link, from the browser ``visitor_id``
    (None: a browser without an id); None when no such claim of this lead exists (erased).

    The link may be clicked again within its lifetime (another device of the same person):
    each click links the browser that clicks; the answers and the consent only the first.
    """
    claim = session.get(IdentityClaim, claim_id)
    lead = session.get(Lead, lead_id)
    if claim is None or lead is None or claim.lead_id != lead_id:
        return None
    first = _mark_verified(session, claim_id, now)
    asset = session.get(Asset, claim.asset_id) if claim.asset_id is not None else None
    answers = answers_to_apply(profile(session, lead_id), claim.answers) if first else {}
    # The claim keeps no language of its own: its asset's (the language its page spoke unless
    # the reader switched), else the lead's.
    language = asset.language if asset is not None else lead.language
    wording = (
        consents.wording(model.profiling, language) if first and claim.consent_ticked else None
    )
    found = identify.identify(
        session,
        visitor_id=visitor_id,
        email=lead.email,
        answers=answers,
        consent=wording,
        source=Source("form", asset.slug if asset is not None else SALES_REF),
        now=now,
        model=model,
        language=language,
    )
    first_unlock = unlock(session, lead_id, asset.id, now) if asset is not None else False
    return Continued(
        lead_id=lead_id,
        visitor_id=found.visitor_id,
        asset_id=asset.id if asset is not None else None,
        first_unlock=first_unlock,
        first_click=first,
        consent_to_confirm=found.consent_to_confirm,
    )


def _mark_verified(session: Session, claim_id: int, now: datetime) -> bool:
    """Mark the claim verified; True for the first click (two clicks at once: one is first)."""
    result = session.execute(
        update(IdentityClaim)
        .where(IdentityClaim.id == claim_id, IdentityClaim.verified_at.is_(None))
        .values(verified_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
