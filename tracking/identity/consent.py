"""Marketing consent with double opt-in: each decision stored with the wording the person saw,
its source, language and time; a grant counts only once the confirmation link is clicked.

Ticking the box asks (``ask``): a ``pending`` record and the lead's ``consent_status``
``pending``; the caller queues the confirmation mail in the same transaction. The click
confirms (``confirm``): the record keeps when and from where; the lead is subscribed
(``marketing_consent``) and a ``subscribed`` change is logged for the nurturing core. A
withdrawal (unsubscribe, preference center, a marketer) is a record of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.identity.facts import Source
from tracking.models import Consent, Lead, LeadChange
from tracking.pipeline import changelog
from tracking.rules.config import ProfilingModel


class ConsentStatus(StrEnum):
    """Where the lead's marketing consent stands (the Lead JSON's ``consent.status``)."""

    NONE = "none"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"


class Confirmation(StrEnum):
    """What a click on a confirmation link did."""

    CONFIRMED = "confirmed"
    ALREADY = "already"
    """The lead was subscribed already (a second click, or confirmed by another mail)."""
    SUPERSEDED = "superseded"
    """The lead withdrew after this confirmation was asked: the old link no longer subscribes."""
    UNKNOWN = "unknown"
    """No such pending consent for this lead (erased, or a forged pair)."""


@dataclass(frozen=True, slots=True)
class ConsentText:
    """The consent wording shown, its version and the language it is written in."""

    version: str
    text: str
    language: str = ""


def wording(profiling: ProfilingModel, language: str) -> ConsentText:
    """The consent text a form in ``language`` shows (``ProfilingModel.consent_wording``):
    its own translation with its own version, else the English."""
    written_in, shown = profiling.consent_wording(language)
    return ConsentText(shown.version, shown.text, written_in)


def ask(
    session: Session,
    lead: Lead,
    wording: ConsentText,
    *,
    source: Source,
    now: datetime,
    language: str = "",
) -> Consent | None:
    """Record a ticked box as a pending grant; returns it (its confirmation mail must go), or
    None when the lead is subscribed already. The record keeps the wording's language
    (``language`` for a wording that does not say)."""
    if lead.consent_status == ConsentStatus.CONFIRMED.value:
        return None
    consent = Consent(
        lead_id=lead.id,
        purpose="marketing",
        granted=True,
        status=ConsentStatus.PENDING.value,
        text_version=wording.version,
        text=wording.text,
        language=wording.language or language,
        source=source.kind,
        source_ref=source.ref[:200],
        recorded_at=now,
    )
    session.add(consent)
    lead.consent_status = ConsentStatus.PENDING.value
    session.flush()
    return consent


def confirm(
    session: Session,
    lead_id: int,
    consent_id: int,
    *,
    now: datetime,
    ip: str = "",
    user_agent: str = "",
) -> Confirmation:
    """The confirmation link was clicked: subscribe the lead (see ``Confirmation``)."""
    lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
    consent = session.get(Consent, consent_id, with_for_update=True)
    if lead is None or consent is None or consent.lead_id != lead_id or not consent.granted:
        return Confirmation.UNKNOWN
    if lead.consent_status == ConsentStatus.CONFIRMED.value:
        return Confirmation.ALREADY
    withdrawn_since = session.scalar(
        select(Consent.id).where(
            Consent.lead_id == lead_id,
            Consent.status == ConsentStatus.WITHDRAWN.value,
            Consent.recorded_at > consent.recorded_at,
        )
    )
    if withdrawn_since is not None:
        return Confirmation.SUPERSEDED
    consent.status = ConsentStatus.CONFIRMED.value
    consent.confirmed_at = now
    consent.confirmed_ip = ip[:64]
    consent.confirmed_user_agent = user_agent[:300]
    lead.consent_status = ConsentStatus.CONFIRMED.value
    lead.marketing_consent = True
    lead.marketing_consent_at = now
    changelog.append(
        session,
        LeadChange(
            lead_id=lead_id,
            at=now,
            kind="subscribed",
            new=ConsentStatus.CONFIRMED.value,
            reason=f"double opt-in confirmed ({consent.source_ref or consent.source})",
        ),
    )
    return Confirmation.CONFIRMED


def withdraw(
    session: Session,
    lead: Lead,
    *,
    source: Source,
    now: datetime,
    wording: ConsentText | None = None,
) -> bool:
    """Withdraw marketing consent (True), or nothing to withdraw (False: none or withdrawn).
    ``wording`` is what the person saw when withdrawing (a form's text), if any."""
    if lead.consent_status in (ConsentStatus.NONE.value, ConsentStatus.WITHDRAWN.value):
        return False
    session.add(
        Consent(
            lead_id=lead.id,
            purpose="marketing",
            granted=False,
            status=ConsentStatus.WITHDRAWN.value,
            text_version=wording.version if wording else "withdrawal",
            text=wording.text if wording else "Marketing consent withdrawn.",
            language=wording.language if wording else "",
            source=source.kind,
            source_ref=source.ref[:200],
            recorded_at=now,
        )
    )
    lead.consent_status = ConsentStatus.WITHDRAWN.value
    lead.marketing_consent = False
    lead.marketing_consent_at = now
    return True


def consents(session: Session, lead_id: int) -> list[Consent]:
    """The lead's consent decisions, newest first."""
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.lead_id == lead_id)
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        )
    )
