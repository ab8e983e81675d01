"""Deals as integrators and marketers see them: the Deal document the API answers and the
``deal.changed`` webhook carries, and the rows of a lead's or an account's deals in the console
(``templates/console/_deals.html``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.deals.models import Deal
from tracking.models import Lead
from tracking.rules.deals import amount_label, amount_text

MAX_SHOWN = 100
"""Deals a console page lists (newest first); a lead or account with more is rare."""


class DealRead(msgspec.Struct):
    """A deal from the CRM: ``amount`` is a string with two decimals (``"12000.50"``), exact;
    ``lead`` and ``account`` are ids or null; ``closed_at`` is null while the deal is open."""

    id: int
    external_id: str
    lead: int | None
    account: int | None
    name: str
    amount: str
    currency: str
    stage: Literal["open", "won", "lost"]
    created_at: datetime
    closed_at: datetime | None
    updated_at: datetime


def deal_read(deal: Deal) -> DealRead:
    return DealRead(
        id=deal.id,
        external_id=deal.external_id,
        lead=deal.lead_id,
        account=deal.account_id,
        name=deal.name,
        amount=amount_text(deal.amount_minor),
        currency=deal.currency,
        stage=deal.stage,  # type: ignore[arg-type]  # the API keeps it to these three
        created_at=deal.created_at,
        closed_at=deal.closed_at,
        updated_at=deal.updated_at,
    )


@dataclass(frozen=True, slots=True)
class DealRow:
    """One deal on a console page: its amount as read (``EUR 12,000.50``), its lead if any,
    and when its lead goes back to nurturing while that is still to come."""

    id: int
    external_id: str
    name: str
    amount: str
    stage: str
    created_at: datetime
    closed_at: datetime | None
    recycle_at: datetime | None
    lead_id: int | None
    lead_email: str | None
    amount_minor: int = 0
    """The amount in hundredths, and its ``currency``: for pages that write it the reader's
    way (``12.500,50 €``)."""
    currency: str = ""


def _rows(session: Session, *where: object) -> list[DealRow]:
    found = session.execute(
        select(Deal, Lead.email)
        .outerjoin(Lead, Lead.id == Deal.lead_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(Deal.created_at.desc(), Deal.id.desc())
        .limit(MAX_SHOWN)
    )
    return [
        DealRow(
            id=deal.id,
            external_id=deal.external_id,
            name=deal.name,
            amount=amount_label(deal.amount_minor, deal.currency),
            stage=deal.stage,
            created_at=deal.created_at,
            closed_at=deal.closed_at,
            recycle_at=deal.recycle_at,
            lead_id=deal.lead_id,
            lead_email=email,
            amount_minor=deal.amount_minor,
            currency=deal.currency,
        )
        for deal, email in found
    ]


def deals_of_lead(session: Session, lead_id: int) -> list[DealRow]:
    """The lead's deals, newest first."""
    return _rows(session, Deal.lead_id == lead_id)


def deals_of_account(session: Session, account_id: int) -> list[DealRow]:
    """The account's deals, its people's and those posted for the account alone, newest first."""
    return _rows(session, Deal.account_id == account_id)
