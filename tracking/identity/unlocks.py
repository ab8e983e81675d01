"""Unlocks: the gated assets a lead has unlocked, on every device they identify on; and the
one asset a browser unlocked for itself alone with a claim (an email it has not proven yet,
``tracking.identity.claims``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import dialect_insert, utcnow
from tracking.models import IdentityClaim, LeadChange, Unlock, Visitor
from tracking.pipeline import changelog


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


@dataclass(frozen=True, slots=True)
class Unlocker:
    """Who holds the unlock of an asset on a browser: the browser's lead (``lead_id``), or,
    after a claim, the browser alone (``visitor_id``), which sees that asset and nothing else
    of the lead's."""

    lead_id: int | None = None
    visitor_id: str | None = None


def is_claimed(session: Session, visitor_id: str, asset_id: int) -> bool:
    """Whether this browser unlocked the asset with a claim (verified or not)."""
    return (
        session.scalar(
            select(IdentityClaim.id)
            .where(IdentityClaim.visitor_id == visitor_id, IdentityClaim.asset_id == asset_id)
            .limit(1)
        )
        is not None
    )


def unlocker(session: Session, visitor_id: str | None, asset_id: int) -> Unlocker | None:
    """Who unlocked the asset for this browser: its lead, else its claim; None: locked."""
    return unlockers(session, [(visitor_id, asset_id)])[0]


def unlockers(session: Session, asked: Sequence[tuple[str | None, int]]) -> list[Unlocker | None]:
    """``unlocker`` for many (browser, asset) pairs at once, in three statements whatever
    their number (gated asset pages asking at the same moment are read together,
    ``portal.batched``): the browsers' active leads, those leads' unlocks of the assets, and
    the browsers' claims of them."""
    visitors = sorted({visitor_id for visitor_id, _ in asked if visitor_id})
    if not visitors:
        return [None] * len(asked)
    assets = sorted({asset_id for _, asset_id in asked})
    connection = session.connection()
    leads: dict[str, int] = {
        visitor_id: lead_id
        for visitor_id, lead_id in connection.execute(_ACTIVE_LEADS, {"visitors": visitors})
        if lead_id is not None
    }
    unlocked: set[tuple[int, int]] = set()
    if leads:
        unlocked = {
            (lead_id, asset_id)
            for lead_id, asset_id in connection.execute(
                _UNLOCKED, {"leads": sorted(set(leads.values())), "assets": assets}
            )
        }
    claimed = {
        (visitor_id, asset_id)
        for visitor_id, asset_id in connection.execute(
            _CLAIMED, {"visitors": visitors, "assets": assets}
        )
    }
    found: list[Unlocker | None] = []
    for visitor_id, asset_id in asked:
        lead_id = leads.get(visitor_id) if visitor_id else None
        if lead_id is not None and (lead_id, asset_id) in unlocked:
            found.append(Unlocker(lead_id=lead_id))
        elif (visitor_id, asset_id) in claimed:
            found.append(Unlocker(visitor_id=visitor_id))
        else:
            found.append(None)
    return found


_ACTIVE_LEADS = select(Visitor.id, Visitor.lead_id).where(
    Visitor.id.in_(bindparam("visitors", expanding=True)),
    Visitor.retired_at.is_(None),
    Visitor.lead_id.is_not(None),
)
_UNLOCKED = select(Unlock.lead_id, Unlock.asset_id).where(
    Unlock.lead_id.in_(bindparam("leads", expanding=True)),
    Unlock.asset_id.in_(bindparam("assets", expanding=True)),
)
_CLAIMED = (
    select(IdentityClaim.visitor_id, IdentityClaim.asset_id)
    .where(
        IdentityClaim.visitor_id.in_(bindparam("visitors", expanding=True)),
        IdentityClaim.asset_id.in_(bindparam("assets", expanding=True)),
    )
    .distinct()
)
