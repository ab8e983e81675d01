"""Deals the CRM posts: kept by their external id, tied to a known lead (by id or email) or an
account, and moving the lead's lifecycle (``scoring.deal_lifecycle``): an opportunity, a
customer when won, and back to nurturing (``recycled``) some time after a lost deal unless
another deal of the lead is open or won by then.

A change of a deal with a lead is logged in the lead's change log (kind ``deal``, ``new`` the
deal's id, ``old`` the stage before), before the lifecycle moves it makes, so webhooks and
programs see both in order. Deals never create leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import SessionSource, dialect_insert, utcnow
from tracking.accounts.models import Account
from tracking.deals.models import Deal
from tracking.models import Lead, LeadChange
from tracking.pipeline import changelog, leadstate
from tracking.rules import scoring
from tracking.rules.config import Model
from tracking.rules.deals import DealRefused, amount_label
from tracking.rules.profiling import InvalidAnswer, normalize_email
from tracking.rules.scoring import Lifecycle

MAX_ROW_ID = 2**31 - 1
CLOSED = ("won", "lost")
VERBS = {"open": "opened", "won": "won", "lost": "lost"}


class DealNotFound(LookupError):
    """The lead or account a post names does not exist (deals never create leads)."""


@dataclass(frozen=True, slots=True)
class DealPost:
    """A deal as the CRM posts it, its fields already checked by ``tracking.rules.deals``.
    At least one of ``lead_id``, ``email`` and ``account_id``; times are None when left out."""

    external_id: str
    name: str
    amount_minor: int
    currency: str
    stage: str
    lead_id: int | None = None
    email: str | None = None
    account_id: int | None = None
    created_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """What a post did: the deal as it stands, whether it is new or changed, and the stage it
    had before (None for a new deal)."""

    deal: Deal
    created: bool
    changed: bool
    previous_stage: str | None


def post(
    session: Session, posted: DealPost, model: Model, recycle_after: timedelta, now: datetime
) -> Posted:
    """Create or update the deal ``posted.external_id`` names; an identical repeat changes
    nothing. Raises ``DealNotFound`` for an unknown lead or account, ``DealRefused`` for
    fields that do not fit together."""
    lead = _lead_of(session, posted)
    account_id = _account_of(session, posted, lead)
    deal, created = _deal_for_update(session, posted.external_id, now)
    previous_stage = None if created else deal.stage
    created_at, closed_at = _times(posted, deal if not created else None, now)
    wanted = {
        "lead_id": lead.id if lead is not None else None,
        "account_id": account_id,
        "name": posted.name,
        "amount_minor": posted.amount_minor,
        "currency": posted.currency,
        "stage": posted.stage,
        "created_at": created_at,
        "closed_at": closed_at,
    }
    changed = created or any(getattr(deal, key) != value for key, value in wanted.items())
    if not changed:
        return Posted(deal, created=False, changed=False, previous_stage=previous_stage)
    moved = created or deal.stage != posted.stage or deal.lead_id != wanted["lead_id"]
    for key, value in wanted.items():
        setattr(deal, key, value)
    deal.updated_at = now
    deal.recycle_at = _recycle_at(deal, moved, recycle_after)
    session.flush()
    if lead is not None:
        _log(session, lead, deal, previous_stage, moved, model, now)
    return Posted(deal, created=created, changed=True, previous_stage=previous_stage)


def _lead_of(session: Session, posted: DealPost) -> Lead | None:
    """The lead the post names, locked (its lifecycle may move); 404s for nobody."""
    if posted.lead_id is not None and posted.email is not None:
        raise DealRefused("lead", "give the lead's id or its email, not both")
    lead_id = posted.lead_id
    if posted.email is not None:
        try:
            email = normalize_email(posted.email)
        except InvalidAnswer as exc:
            raise DealRefused("email", str(exc)) from None
        lead_id = session.scalar(select(Lead.id).where(Lead.email == email))
        if lead_id is None:
            raise DealNotFound(f"no lead with the address {email} (deals never create leads)")
    if lead_id is None:
        if posted.account_id is None:
            raise DealRefused("lead", "give the deal's lead (lead or email) or its account")
        return None
    lead = (
        session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
        if 0 < lead_id <= MAX_ROW_ID
        else None
    )
    if lead is None:
        raise DealNotFound(f"no lead {lead_id}")
    return lead


def _account_of(session: Session, posted: DealPost, lead: Lead | None) -> int | None:
    """The account the post names, else the lead's own account."""
    if posted.account_id is None:
        return lead.account_id if lead is not None else None
    if not 0 < posted.account_id <= MAX_ROW_ID or session.get(Account, posted.account_id) is None:
        raise DealNotFound(f"no account {posted.account_id}")
    return posted.account_id


def _deal_for_update(session: Session, external_id: str, now: datetime) -> tuple[Deal, bool]:
    """The deal with this external id, locked, made (empty) if new; safe when the CRM posts
    the same deal twice at once."""
    created_id = session.scalar(
        dialect_insert(session)(Deal)
        .values(external_id=external_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Deal.external_id])
        .returning(Deal.id)
    )
    deal = session.scalar(
        select(Deal)
        .where(Deal.external_id == external_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert deal is not None
    return deal, created_id is not None


def _times(
    posted: DealPost, before: Deal | None, now: datetime
) -> tuple[datetime, datetime | None]:
    """The deal's created and closed times: as posted, else as stored, else now (a new deal
    closed earlier than now was created no later than it closed)."""
    if posted.stage == "open":
        if posted.closed_at is not None:
            raise DealRefused("closed_at", "an open deal has no closed_at")
        closed_at = None
    elif posted.closed_at is not None:
        closed_at = posted.closed_at
    elif before is not None and before.stage in CLOSED and before.closed_at is not None:
        closed_at = before.closed_at
    else:
        closed_at = now
    if posted.created_at is not None:
        created_at = posted.created_at
    elif before is not None:
        created_at = before.created_at
    else:
        created_at = min(now, closed_at) if closed_at is not None else now
    if closed_at is not None and closed_at < created_at:
        raise DealRefused("closed_at", "is before the deal's created_at")
    return created_at, closed_at


def _recycle_at(deal: Deal, moved: bool, recycle_after: timedelta) -> datetime | None:
    """When a lost deal's lead goes back to nurturing: set when the deal is lost (or names
    another lead), kept across other edits, moved with ``closed_at`` while still due."""
    if deal.stage != "lost" or deal.lead_id is None or deal.closed_at is None:
        return None
    if moved or deal.recycle_at is not None:
        return deal.closed_at + recycle_after
    return None  # recycled (or spared) already: editing the deal does not do it again


def _log(
    session: Session,
    lead: Lead,
    deal: Deal,
    previous_stage: str | None,
    moved: bool,
    model: Model,
    now: datetime,
) -> None:
    """The deal's entry in its lead's change log, then the lifecycle moves it makes."""
    label = amount_label(deal.amount_minor, deal.currency)
    changelog.append(
        session,
        LeadChange(
            lead_id=lead.id, at=now, kind="deal", old=previous_stage, new=str(deal.id),
            reason=f"deal {deal.external_id} {deal.stage}: {deal.name} ({label})",
        ),
    )  # fmt: skip
    if not moved:
        return
    targets = scoring.deal_lifecycle(Lifecycle(lead.lifecycle), deal.stage)
    for target in targets:
        reason = f"deal {deal.external_id} {VERBS[deal.stage]}"
        leadstate.move_lifecycle(session, lead, target, reason, now)
    if targets:
        leadstate.evaluate(session, lead, model, now)  # a customer's journey stage, say


def recycle_due(
    database: SessionSource,
    model: Model,
    now: datetime | None = None,
    limit: int = 200,
) -> int:
    """Send the leads of lost deals whose delay is over back to nurturing, a batch at a time;
    returns how many leads were recycled. A lead with another open or won deal by then, or one
    already nurtured or a customer, stays where it is; either way the deal is done."""
    recycled = 0
    while True:
        at = now or utcnow()
        with database.read() as session:
            due = session.execute(
                select(Deal.id, Deal.lead_id)
                .where(Deal.recycle_at <= at)
                .order_by(Deal.recycle_at, Deal.id)
                .limit(limit)
            ).all()
        if not due:
            return recycled
        with database.write() as session:
            recycled += _recycle(session, [(row.id, row.lead_id) for row in due], model, at)
        if len(due) < limit:
            return recycled


def _recycle(
    session: Session, due: list[tuple[int, int | None]], model: Model, now: datetime
) -> int:
    # The leads first, in id order, then their deals: the order posting a deal takes, and
    # the change log's table lock comes after both.
    lead_ids = sorted({lead_id for _, lead_id in due if lead_id is not None})
    leads = {
        lead.id: lead
        for lead in session.scalars(
            select(Lead)
            .where(Lead.id.in_(lead_ids))
            .order_by(Lead.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    deals = session.scalars(
        select(Deal)
        .where(Deal.id.in_([deal_id for deal_id, _ in due]), Deal.recycle_at <= now)
        .order_by(Deal.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    recycled = 0
    for deal in deals:
        deal.recycle_at = None
        lead = leads.get(deal.lead_id) if deal.lead_id is not None else None
        if lead is None or deal.stage != "lost":
            continue
        others = session.scalar(
            select(Deal.id)
            .where(Deal.lead_id == lead.id, Deal.id != deal.id, Deal.stage.in_(("open", "won")))
            .limit(1)
        )
        if not scoring.recycled_after_lost(Lifecycle(lead.lifecycle), others is not None):
            continue
        closed = deal.closed_at.date().isoformat() if deal.closed_at else "earlier"
        reason = f"deal {deal.external_id} lost on {closed}: back to nurturing"
        leadstate.move_lifecycle(session, lead, Lifecycle.RECYCLED, reason, now)
        leadstate.evaluate(session, lead, model, now)
        recycled += 1
    return recycled
