"""Erasing a lead everywhere nurture keeps it, in the same transaction as tracking's erasure:
queued and sent webhook bodies carry the Lead document, and the mail outbox, bounces and
suppression entries carry the address, so they go too.

One thing stays: the address itself on the suppression list, reason ``erased``, with no
detail and no link to any message, so no mail ever goes there again. Art. 17(3) GDPR lets a
controller keep what it needs to honour an objection to direct marketing (Art. 21(3)), and
data-protection authorities name a suppression list as the way to do it; keeping only the
address is the minimum that works. A hash of it would not be much safer (addresses are easy
to guess, so a hash is still personal data) and every send would have to look up both forms.
If the person later asks to hear from us again, an admin lifts the entry with a reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture.mail import suppression
from nurture.mail.models import (
    MailAddress,
    MailBounce,
    MailMessage,
    Suppression,
    SuppressionReason,
)
from nurture.models import WebhookDelivery
from tracking.identity import leadadmin
from tracking.models import Lead, LeadChange

CHUNK = 500


def erase_lead(session: Session, lead_id: int, now: datetime | None = None) -> bool:
    """Erase the lead's personal data (``tracking.identity.leadadmin.erase``), every webhook
    delivery made from its changes and every mail record of its address, which stays
    suppressed as ``erased``; False when there is no such lead."""
    now = now or utcnow()
    address = session.scalar(select(Lead.email).where(Lead.id == lead_id))
    if address is None:
        return False
    seqs = list(session.scalars(select(LeadChange.seq).where(LeadChange.lead_id == lead_id)))
    for start in range(0, len(seqs), CHUNK):
        session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.change_seq.in_(seqs[start : start + CHUNK])
            )
        )
    _forget_mail(session, lead_id, address)
    erased = leadadmin.erase(session, lead_id, now)
    suppression.suppress(session, address, SuppressionReason.ERASED, now)
    return erased


def _forget_mail(session: Session, lead_id: int, address: str) -> None:
    """The address's bounces, suppression history, sending state and messages (their
    subjects and parameters are about the person; one still queued is never sent)."""
    session.execute(delete(MailBounce).where(MailBounce.address == address))
    session.execute(delete(Suppression).where(Suppression.address == address))
    session.execute(delete(MailAddress).where(MailAddress.address == address))
    session.execute(
        delete(MailMessage).where(
            or_(MailMessage.lead_id == lead_id, MailMessage.to_address == address)
        )
    )
