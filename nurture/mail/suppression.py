"""The suppression list and bounces: who no mail goes to, and how bounces put them there.

Every entry is logged on the lead's change log (``email_bounced``, ``unsubscribed``),
so the webhook relay tells CRMs (``email.bounced``, ``lead.unsubscribed``) like any other
change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import dialect_insert
from nurture.mail.models import MailAddress, MailBounce, Suppression, SuppressionReason
from nurture.mail.rules import soft_bounce_suppresses
from tracking.models import Lead, LeadChange
from tracking.pipeline import changelog

CHANGE_KINDS = {
    SuppressionReason.HARD_BOUNCE: "email_bounced",
    SuppressionReason.COMPLAINT: "email_bounced",
    SuppressionReason.UNSUBSCRIBED: "unsubscribed",
}
"""The lead change an entry logs (erasure logs nothing: the lead is gone)."""


def active(session: Session, address: str) -> Suppression | None:
    """The address's entry in force (the oldest), or None."""
    return session.scalar(
        select(Suppression)
        .where(Suppression.address == address, Suppression.lifted_at.is_(None))
        .order_by(Suppression.id)
        .limit(1)
    )


def active_reasons(session: Session, addresses: list[str]) -> dict[str, SuppressionReason]:
    """The reason in force for each of these addresses that is suppressed."""
    if not addresses:
        return {}
    rows = session.execute(
        select(Suppression.address, Suppression.reason)
        .where(Suppression.address.in_(addresses), Suppression.lifted_at.is_(None))
        .order_by(Suppression.id.desc())
    )
    return {address: SuppressionReason(reason) for address, reason in rows}


def suppress(
    session: Session,
    address: str,
    reason: SuppressionReason,
    now: datetime,
    *,
    detail: str = "",
    message_id: int | None = None,
) -> bool:
    """Put the address on the list (True), unless an entry is already in force (False).

    An unsubscribe on top of a bounce adds nothing; a bounce or complaint on top of an
    unsubscribe is added, since it also stops transactional mail.
    """
    current = active(session, address)
    if current is not None and (
        current.reason != SuppressionReason.UNSUBSCRIBED.value
        or reason is SuppressionReason.UNSUBSCRIBED
    ):
        return False
    session.add(
        Suppression(
            address=address,
            reason=reason.value,
            detail=detail[:2000],
            message_id=message_id,
            created_at=now,
        )
    )
    kind = CHANGE_KINDS.get(reason)
    lead_id = session.scalar(select(Lead.id).where(Lead.email == address))
    if kind is not None and lead_id is not None:
        changelog.append(
            session,
            LeadChange(lead_id=lead_id, at=now, kind=kind, new=reason.value, reason=detail[:500]),
        )
    session.flush()
    return True


LIFT_REASON_MAX = 500
"""The longest reason kept for lifting an entry."""


def entries(session: Session, search: str = "", limit: int = 100) -> list[Suppression]:
    """The entries in force, newest first; ``search`` keeps addresses containing it."""
    query = select(Suppression).where(Suppression.lifted_at.is_(None))
    needle = search.strip().lower()
    if needle:
        query = query.where(Suppression.address.contains(needle, autoescape=True))
    return list(session.scalars(query.order_by(Suppression.id.desc()).limit(limit)))


def lifted(session: Session, search: str = "", limit: int = 20) -> list[Suppression]:
    """Entries an admin lifted, the latest first: who, when and why."""
    query = select(Suppression).where(Suppression.lifted_at.is_not(None))
    needle = search.strip().lower()
    if needle:
        query = query.where(Suppression.address.contains(needle, autoescape=True))
    return list(session.scalars(query.order_by(Suppression.lifted_at.desc()).limit(limit)))


def lift(session: Session, suppression_id: int, *, by: str, reason: str, now: datetime) -> bool:
    """Lift an entry (an admin, with a reason); the row stays as history. False: not in force."""
    entry = session.get(Suppression, suppression_id, with_for_update=True)
    if entry is None or entry.lifted_at is not None:
        return False
    entry.lifted_at = now
    entry.lifted_by = by
    entry.lift_reason = reason
    if entry.reason in (SuppressionReason.HARD_BOUNCE.value, SuppressionReason.COMPLAINT.value):
        state = session.get(MailAddress, entry.address)
        if state is not None:
            state.soft_bounces = 0
    return True


def record_bounce(
    session: Session,
    address: str,
    kind: str,
    source: str,
    now: datetime,
    *,
    status: str = "",
    detail: str = "",
    message_id: int | None = None,
) -> SuppressionReason | None:
    """Store a bounce or complaint and apply the rules; returns the suppression it caused.

    ``kind``: ``hard`` suppresses at once, ``complaint`` too, ``soft`` after
    ``rules.SOFT_BOUNCES_SUPPRESS`` in a row. The same bounce told twice (a DSN resent, a
    provider's webhook retried, a delay warning after another for one message) is recorded
    once: a message counts once towards the soft bounces in a row.
    """
    if told_before(session, address, kind, source, now, message_id):
        return None
    session.add(
        MailBounce(
            address=address,
            message_id=message_id,
            kind=kind,
            source=source,
            status=status[:20],
            detail=detail[:2000],
            at=now,
        )
    )
    state = _address_state(session, address)
    state.last_bounce_at = now
    reason: SuppressionReason | None = None
    if kind == "hard":
        reason = SuppressionReason.HARD_BOUNCE
    elif kind == "complaint":
        reason = SuppressionReason.COMPLAINT
    else:
        state.soft_bounces += 1
        if soft_bounce_suppresses(state.soft_bounces):
            reason = SuppressionReason.HARD_BOUNCE
            detail = f"{state.soft_bounces} soft bounces in a row; last: {detail}"
    if reason is None:
        return None
    suppress(session, address, reason, now, detail=detail, message_id=message_id)
    return reason


def told_before(
    session: Session,
    address: str,
    kind: str,
    source: str,
    at: datetime,
    message_id: int | None,
) -> bool:
    """Whether this bounce is stored already: of this kind for the same message, or (no message
    known) from the same source at the same moment (``ix_mail_bounce_address`` finds both)."""
    query = select(MailBounce.id).where(MailBounce.address == address, MailBounce.kind == kind)
    if message_id is not None:
        query = query.where(MailBounce.message_id == message_id)
    else:
        query = query.where(MailBounce.at == at, MailBounce.source == source)
    session.flush()
    return session.scalar(query.limit(1)) is not None


def showed_life(session: Session, address: str) -> None:
    """A click or human open: the soft bounces in a row start again from zero."""
    state = session.get(MailAddress, address)
    if state is not None and state.soft_bounces:
        state.soft_bounces = 0


def _address_state(session: Session, address: str) -> MailAddress:
    insert = dialect_insert(session)
    session.execute(
        insert(MailAddress)
        .values(address=address, soft_bounces=0)
        .on_conflict_do_nothing(index_elements=[MailAddress.address])
    )
    state = session.get(MailAddress, address, with_for_update=True, populate_existing=True)
    assert state is not None
    return state
