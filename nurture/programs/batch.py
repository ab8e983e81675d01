"""What a batch of due steps reads once for all its leads (instead of per lead), and the lead
rows it locks first on PostgreSQL so the change log's lock order holds (``steps`` uses both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.mail import suppression
from nurture.mail.models import (
    MailAddress,
    MailCategory,
    MailMessage,
    MailStatus,
    SuppressionReason,
)
from nurture.mail.rules import FREQUENCY_GAPS
from nurture.programs import rules
from nurture.programs.definition import Notify, SetField
from nurture.programs.models import Enrollment
from nurture.programs.pass_context import Definitions
from tracking.models import Lead


@dataclass(slots=True)
class BatchReads:
    """What the mail steps check about the batch's leads, read for all of them at once."""

    leads: dict[int, Lead] = field(default_factory=dict)
    suppressed: dict[str, SuppressionReason] = field(default_factory=dict)
    recent: dict[int, list[datetime]] = field(default_factory=dict)
    """Each lead's marketing mail of the longest window a check looks at (with this batch's)."""
    last_sent: dict[str, datetime] = field(default_factory=dict)
    """``MailAddress.last_sent_at`` of the leads whose frequency is limited."""


def lock_changing_leads(session: Session, definitions: Definitions, rows: list[Enrollment]) -> None:
    """Lock, in id order and before anything else, the leads a set or notify step may change.

    Those steps write the lead change log, whose writers take a table lock after locking their
    lead (``tracking.pipeline.changelog``): ingestion does so. A batch that took the table lock
    for one lead and then wanted another lead's row could deadlock with ingestion holding that
    row and waiting for the table. Taking the rows first keeps the one order everywhere."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's writers take turns
    changing = sorted(
        {
            enrollment.lead_id
            for enrollment in rows
            if any(
                isinstance(step.action, (SetField, Notify))
                for step in definitions(enrollment.program_id, enrollment.version).steps
            )
        }
    )
    if changing:
        session.execute(
            select(Lead.id).where(Lead.id.in_(changing)).order_by(Lead.id).with_for_update()
        )


def read_batch(session: Session, lead_ids: list[int], now: datetime) -> BatchReads:
    """Three or four queries for the batch instead of as many for each of its leads."""
    if not lead_ids:
        return BatchReads()
    leads = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))}
    addresses = sorted({lead.email for lead in leads.values()})
    found = BatchReads(leads, suppression.active_reasons(session, addresses))
    window = max(rules.CAP_WINDOW, *FREQUENCY_GAPS.values())
    for lead_id, created_at in session.execute(
        select(MailMessage.lead_id, MailMessage.created_at).where(
            MailMessage.lead_id.in_(lead_ids),
            MailMessage.category == MailCategory.MARKETING.value,
            MailMessage.created_at > now - window,
            MailMessage.status.not_in([MailStatus.SKIPPED.value, MailStatus.FAILED.value]),
        )
    ):
        if lead_id is not None:
            found.recent.setdefault(lead_id, []).append(created_at)
    limited = sorted(
        {lead.email for lead in leads.values() if lead.mail_frequency in FREQUENCY_GAPS}
    )
    if limited:
        found.last_sent = {
            address: sent
            for address, sent in session.execute(
                select(MailAddress.address, MailAddress.last_sent_at).where(
                    MailAddress.address.in_(limited)
                )
            )
            if sent is not None
        }
    return found
