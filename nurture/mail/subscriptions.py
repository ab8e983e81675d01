"""The reader's side of subscribing: unsubscribing, the preference center, confirming a
subscription, and a marketer withdrawing consent on the reader's behalf.

Consent (``tracking.identity.consent``) says whether the lead wants marketing mail; the
suppression list (``nurture.mail.suppression``) says which addresses no mail goes to. An
unsubscribe writes both, so the record of what the person decided and the sender's check
agree; a new subscription (always by double opt-in) confirms a fresh consent and lifts the
``unsubscribed`` entry the old unsubscribe left. The rules are pure functions at the top; the
service functions below load, call them and write in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.mail import suppression
from nurture.mail.models import MailMessage, Suppression, SuppressionReason
from tracking.identity import consent as consents
from tracking.identity.consent import Confirmation, ConsentStatus, ConsentText
from tracking.identity.facts import Source
from tracking.models import Lead, LeadChange
from tracking.pipeline import changelog
from tracking.reporting.lead_document import SuppressedRead

FREQUENCIES = ("all", "weekly", "monthly")
"""How often marketing mail may come (``lead.mail_frequency``)."""
LANGUAGES = ("en", "de")
"""The languages mail and the email pages are written in (``lead.language``)."""
REASON_MAX = 300
"""A marketer's reason for a withdrawal is kept up to this length (the record's text)."""
LEFT_BY_LINK = ConsentText("unsubscribe", "Unsubscribed with the link in an email.")
LEFT_IN_PREFERENCES = ConsentText(
    "preferences", "Unsubscribed from all marketing email in the preference center."
)
"""The withdrawal records' texts: what the reader did to leave."""


# --- rules ----------------------------------------------------------------------------------


class Change(StrEnum):
    """What saving the preference center does to the subscription."""

    KEEP = "keep"
    UNSUBSCRIBE = "unsubscribe"
    """Withdraw consent and put the address on the suppression list."""
    RESUBSCRIBE = "resubscribe"
    """Ask for consent again: a new double opt-in mail, never an instant subscription."""


def subscription_change(status: str, wants_mail: bool) -> Change:
    """The change a reader's choice makes, given the lead's ``consent_status``.

    Wanting mail while subscribed or waiting for the confirmation click changes nothing (the
    click is still to come); wanting it after withdrawing, or without ever consenting, asks
    again by double opt-in. Not wanting it unsubscribes whatever consent stands, pending too.
    """
    subscribed = status in (ConsentStatus.CONFIRMED.value, ConsentStatus.PENDING.value)
    if wants_mail:
        return Change.KEEP if subscribed else Change.RESUBSCRIBE
    return Change.UNSUBSCRIBE if subscribed else Change.KEEP


def chosen_topics(ticked: Iterable[str], known: Sequence[str]) -> list[str]:
    """The topics to store for the boxes ticked, in the library's order; ``[]`` means every
    topic (new ones included), which is what ticking all of them or none of them says."""
    wanted = set(ticked)
    chosen = [slug for slug in known if slug in wanted]
    return [] if len(chosen) in (0, len(known)) else chosen


def shown_topics(stored: Sequence[str], known: Sequence[str]) -> set[str]:
    """The boxes to tick for the stored choice (none stored: every topic)."""
    kept = {slug for slug in stored if slug in known}
    return kept or set(known)


def choice(value: str, allowed: Sequence[str], current: str) -> str:
    """A submitted choice if it is one of ``allowed``, else what stands (a forged or stale
    form changes nothing it cannot name)."""
    return value if value in allowed else current


def strongest(entries: Sequence[tuple[str, datetime]]) -> tuple[str, datetime] | None:
    """Of the (reason, since) entries in force, the one to report: a bounce, complaint or
    erasure stops all mail, so it wins over an unsubscribe; among equals, the oldest."""
    if not entries:
        return None
    return min(entries, key=lambda e: (e[0] == SuppressionReason.UNSUBSCRIBED.value, e[1]))


# --- services -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """What an unsubscribe did."""

    lead_id: int | None
    """The lead with this address (None: mail went to an address no lead has)."""
    withdrew: bool
    """A consent (confirmed or pending) was withdrawn."""
    suppressed: bool
    """The address was put on the suppression list now."""

    @property
    def already(self) -> bool:
        """Nothing changed: the reader had unsubscribed before (or never subscribed)."""
        return not (self.withdrew or self.suppressed)


def unsubscribe(
    session: Session,
    address: str,
    *,
    now: datetime,
    message_id: int | None = None,
    source: Source | None = None,
    detail: str = "",
    wording: ConsentText | None = None,
) -> Unsubscribed:
    """The reader leaves all marketing mail: the lead's consent is withdrawn (``source``,
    by default the unsubscribe link with the message in its ref) and the address goes on the
    suppression list as ``unsubscribed``, which logs the ``unsubscribed`` lead change.

    Works for an address without a lead (suppression only). ``message_id`` names the mail
    the link came from; a message that no longer exists is simply not named. ``wording`` is
    what the reader saw when leaving (the withdrawal record's text), if anything.
    """
    if message_id is not None and session.get(MailMessage, message_id) is None:
        message_id = None
    source = source or Source("unsubscribe", f"message {message_id}" if message_id else "")
    if wording is None and source.kind == "unsubscribe":
        wording = LEFT_BY_LINK
    lead = session.scalar(select(Lead).where(Lead.email == address).with_for_update())
    withdrew = lead is not None and consents.withdraw(
        session, lead, source=source, now=now, wording=wording
    )
    added = suppression.suppress(
        session,
        address,
        SuppressionReason.UNSUBSCRIBED,
        now,
        detail=detail or _detail(source),
        message_id=message_id,
    )
    if withdrew and not added and lead is not None:
        # The address was suppressed already (a bounce): suppress() logged nothing, yet the
        # consent changed, and CRMs must hear of it like of any unsubscribe.
        changelog.append(
            session,
            LeadChange(
                lead_id=lead.id,
                at=now,
                kind="unsubscribed",
                new=SuppressionReason.UNSUBSCRIBED.value,
                reason=_detail(source)[:500],
            ),
        )
    session.flush()
    return Unsubscribed(lead.id if lead else None, withdrew, added)


def _detail(source: Source) -> str:
    where = {"unsubscribe": "unsubscribe link", "preferences": "preference center"}
    told = where.get(source.kind, source.kind)
    return f"{told}: {source.ref}" if source.ref else told


def confirm(
    session: Session,
    lead_id: int,
    consent_id: int,
    *,
    now: datetime,
    ip: str = "",
    user_agent: str = "",
) -> Confirmation:
    """A confirmation link was clicked (``consent.confirm``). A new subscription outweighs an
    old unsubscribe: the address's ``unsubscribed`` entries are lifted (bounces, complaints
    and erasure stay: only an admin lifts those)."""
    outcome = consents.confirm(session, lead_id, consent_id, now=now, ip=ip, user_agent=user_agent)
    if outcome is Confirmation.CONFIRMED:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        for entry in session.scalars(
            select(Suppression).where(
                Suppression.address == lead.email,
                Suppression.reason == SuppressionReason.UNSUBSCRIBED.value,
                Suppression.lifted_at.is_(None),
            )
        ):
            suppression.lift(
                session,
                entry.id,
                by="double opt-in",
                reason=f"subscribed again (consent {consent_id} confirmed)",
                now=now,
            )
    return outcome


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the preference center submits, checked against what may be chosen."""

    topics: tuple[str, ...]
    """Topic slugs (empty: every topic)."""
    frequency: str
    language: str
    wants_mail: bool


@dataclass(frozen=True, slots=True)
class Saved:
    """What saving the preference center did."""

    change: Change
    consent_to_confirm: int | None = None
    """The pending consent whose double opt-in mail must go (``Change.RESUBSCRIBE``)."""
    unsubscribed: Unsubscribed | None = None


def save_preferences(
    session: Session,
    lead: Lead,
    chosen: Preferences,
    *,
    wording: ConsentText,
    now: datetime,
) -> Saved:
    """Store topics, frequency and language; unsubscribe or ask again as the reader chose.

    ``wording`` is the consent text a re-subscription is asked with (the site's current one).
    """
    lead.mail_topics = list(chosen.topics)
    lead.mail_frequency = chosen.frequency
    lead.language = chosen.language
    change = subscription_change(lead.consent_status, chosen.wants_mail)
    if change is Change.UNSUBSCRIBE:
        left = unsubscribe(
            session,
            lead.email,
            now=now,
            source=Source("preferences"),
            wording=LEFT_IN_PREFERENCES,
        )
        return Saved(change, unsubscribed=left)
    if change is Change.RESUBSCRIBE:
        return Saved(change, consent_to_confirm=resubscribe(session, lead, wording, now=now))
    return Saved(change)


def resubscribe(session: Session, lead: Lead, wording: ConsentText, *, now: datetime) -> int | None:
    """Ask again from the preference center (or the unsubscribed page's undo): a pending
    consent whose confirmation mail the caller queues; None when subscribed already."""
    asked = consents.ask(
        session, lead, wording, source=Source("preferences"), now=now, language=lead.language
    )
    return asked.id if asked is not None else None


def set_topics(lead: Lead, topics: Sequence[str]) -> None:
    """The topics picked on the confirmation page (``chosen_topics`` already applied)."""
    lead.mail_topics = list(topics)


def withdraw_for(
    session: Session, lead: Lead, *, by: str, reason: str, now: datetime
) -> Unsubscribed | None:
    """A marketer or admin withdraws the lead's consent on its behalf (a phone call, a letter):
    the record's text is the reason given; the address goes on the suppression list like any
    unsubscribe. None when there was no consent to withdraw."""
    if lead.consent_status not in (ConsentStatus.CONFIRMED.value, ConsentStatus.PENDING.value):
        return None
    text = " ".join(reason.split())[:REASON_MAX]
    return unsubscribe(
        session,
        lead.email,
        now=now,
        source=Source("console", by),
        detail=f"withdrawn in the console by {by}: {text}",
        wording=ConsentText("console", text),
    )


def suppressed_of(session: Session, addresses: Sequence[str]) -> dict[str, SuppressedRead]:
    """The Lead document's ``suppressed`` for each of these addresses that is suppressed."""
    if not addresses:
        return {}
    found: dict[str, list[tuple[str, datetime]]] = {}
    for address, reason, since in session.execute(
        select(Suppression.address, Suppression.reason, Suppression.created_at).where(
            Suppression.address.in_(list(addresses)), Suppression.lifted_at.is_(None)
        )
    ):
        found.setdefault(address, []).append((reason, since))
    reported = {address: strongest(entries) for address, entries in found.items()}
    return {
        address: SuppressedRead(reason=entry[0], at=entry[1])
        for address, entry in reported.items()
        if entry is not None
    }


def entries_for(session: Session, address: str) -> list[Suppression]:
    """Every suppression entry of the address, lifted ones too, newest first (the console)."""
    return list(
        session.scalars(
            select(Suppression)
            .where(Suppression.address == address)
            .order_by(Suppression.created_at.desc(), Suppression.id.desc())
        )
    )
