"""Unlocks: the gated assets a lead has unlocked, on every device they identify on; and the
one asset a browser unlocked for itself alone with a claim (an email it has not proven yet,
``tracking.identity.claims``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, select
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
    """Who unlocked the asset for this browser: its lead, else its claim; None: locked.

    One statement (a gated asset page asks on every view): the browser's active lead, whether
    that lead unlocked the asset, and whether the browser claimed it."""
    if not visitor_id:
        return None
    lead_id, unlocked, claimed = session.execute(
        _UNLOCKER, {"visitor_id": visitor_id, "asset_id": asset_id}
    ).one()
    if lead_id is not None and unlocked:
        return Unlocker(lead_id=lead_id)
    if claimed:
        return Unlocker(visitor_id=visitor_id)
    return None


_ACTIVE_LEAD = (
    select(Visitor.lead_id)
    .where(Visitor.id == bindparam("visitor_id"), Visitor.retired_at.is_(None))
    .scalar_subquery()
)
_UNLOCKER = select(
    _ACTIVE_LEAD,
    exists().where(Unlock.lead_id == _ACTIVE_LEAD, Unlock.asset_id == bindparam("asset_id")),
    exists().where(
        IdentityClaim.visitor_id == bindparam("visitor_id"),
        IdentityClaim.asset_id == bindparam("asset_id"),
    ),
)
