"""Erasing a lead everywhere nurture keeps it: queued and sent webhook bodies carry the Lead
document, so they go too, in the same transaction as tracking's erasure."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nurture.models import WebhookDelivery
from tracking.identity import leadadmin
from tracking.models import LeadChange

CHUNK = 500


def erase_lead(session: Session, lead_id: int) -> bool:
    """Erase the lead's personal data (``tracking.identity.leadadmin.erase``) and every webhook
    delivery made from its changes; False when there is no such lead."""
    seqs = list(session.scalars(select(LeadChange.seq).where(LeadChange.lead_id == lead_id)))
    for start in range(0, len(seqs), CHUNK):
        session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.change_seq.in_(seqs[start : start + CHUNK])
            )
        )
    return leadadmin.erase(session, lead_id)
