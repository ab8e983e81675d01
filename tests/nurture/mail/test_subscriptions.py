"""The reader's side of subscribing: the rules of the preference center, and what unsubscribing,
confirming, saving preferences and a marketer's withdrawal write (consent and suppression
list together)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nurture.mail import subscriptions, suppression
from nurture.mail.models import SuppressionReason
from nurture.mail.subscriptions import Change, Preferences
from portal.db import Database
from tests.nurture.mail.subscribers import (
    T0,
    WORDING,
    ask,
    change_kinds,
    consents_of,
    entries,
    lead_of,
    mail_to,
    new_lead,
    subscribed,
)
from tracking.identity.consent import Confirmation
from tracking.models import Lead

ADA = "ada@example.com"

# --- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "wants_mail", "expected"),
    [
        ("confirmed", True, Change.KEEP),
        ("pending", True, Change.KEEP),  # the confirmation click is still to come
        ("none", True, Change.RESUBSCRIBE),
        ("withdrawn", True, Change.RESUBSCRIBE),
        ("confirmed", False, Change.UNSUBSCRIBE),
        ("pending", False, Change.UNSUBSCRIBE),
        ("none", False, Change.KEEP),
        ("withdrawn", False, Change.KEEP),
    ],
)
def test_what_a_preference_choice_does(status: str, wants_mail: bool, expected: Change) -> None:
    assert subscriptions.subscription_change(status, wants_mail) is expected


KNOWN = ["crm", "lead-scoring", "nurturing"]


@pytest.mark.parametrize(
    ("ticked", "stored"),
    [
        (["nurturing", "crm"], ["crm", "nurturing"]),  # the library's order
        (["lead-scoring"], ["lead-scoring"]),
        (KNOWN, []),  # all of them: every topic, new ones too
        ([], []),  # none: every topic (no mail at all is the unsubscribe choice)
        (["crm", "deleted-topic"], ["crm"]),
        (["deleted-topic"], []),
        (["crm", "crm"], ["crm"]),
    ],
)
def test_chosen_topics(ticked: list[str], stored: list[str]) -> None:
    assert subscriptions.chosen_topics(ticked, KNOWN) == stored


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ([], set(KNOWN)),
        (["crm"], {"crm"}),
        (["crm", "deleted-topic"], {"crm"}),
        (["deleted-topic"], set(KNOWN)),
    ],
)
def test_shown_topics(stored: list[str], shown: set[str]) -> None:
    assert subscriptions.shown_topics(stored, KNOWN) == shown


def test_a_choice_outside_the_allowed_keeps_what_stands() -> None:
    assert subscriptions.choice("weekly", subscriptions.FREQUENCIES, "all") == "weekly"
    assert subscriptions.choice("daily", subscriptions.FREQUENCIES, "monthly") == "monthly"
    assert subscriptions.choice("", subscriptions.LANGUAGES, "de") == "de"


def test_the_strongest_suppression_is_reported() -> None:
    assert subscriptions.strongest([]) is None
    unsubscribed = ("unsubscribed", T0)
    bounced = ("hard_bounce", T0 + timedelta(days=1))
    assert subscriptions.strongest([unsubscribed, bounced]) == bounced
    assert subscriptions.strongest([unsubscribed, ("unsubscribed", T0 + timedelta(1))]) == (
        unsubscribed
    )
    assert subscriptions.strongest([bounced, ("complaint", T0)]) == ("complaint", T0)


# --- unsubscribe -----------------------------------------------------------------------------


def test_unsubscribing_withdraws_consent_suppresses_and_logs_once(db: Database) -> None:
    lead_id = subscribed(db)
    message_id = mail_to(db, lead_id, ADA)
    at = T0 + timedelta(days=3)
    with db.write() as session:
        left = subscriptions.unsubscribe(session, ADA, now=at, message_id=message_id)
    assert (left.lead_id, left.withdrew, left.suppressed, left.already) == (
        lead_id,
        True,
        True,
        False,
    )
    lead = lead_of(db, lead_id)
    assert (lead.consent_status, lead.marketing_consent, lead.marketing_consent_at) == (
        "withdrawn",
        False,
        at,
    )
    withdrawal = consents_of(db, lead_id)[-1]
    assert (withdrawal.granted, withdrawal.status, withdrawal.source) == (
        False,
        "withdrawn",
        "unsubscribe",
    )
    assert withdrawal.source_ref == f"message {message_id}"
    assert withdrawal.text == "Unsubscribed with the link in an email."
    (entry,) = entries(db, ADA)
    assert (entry.reason, entry.message_id, entry.created_at) == ("unsubscribed", message_id, at)
    assert change_kinds(db, lead_id) == ["subscribed", "unsubscribed"]

    with db.write() as session:
        again = subscriptions.unsubscribe(session, ADA, now=at + timedelta(hours=1))
    assert again.already
    assert len(consents_of(db, lead_id)) == 2
    assert len(entries(db, ADA)) == 1
    assert change_kinds(db, lead_id) == ["subscribed", "unsubscribed"]


def test_an_address_without_a_lead_is_suppressed(db: Database) -> None:
    with db.write() as session:
        left = subscriptions.unsubscribe(session, "list@example.org", now=T0)
    assert (left.lead_id, left.withdrew, left.suppressed) == (None, False, True)
    assert [e.reason for e in entries(db, "list@example.org")] == ["unsubscribed"]


def test_a_message_that_no_longer_exists_is_not_named(db: Database) -> None:
    lead_id = subscribed(db)
    with db.write() as session:
        subscriptions.unsubscribe(session, ADA, now=T0, message_id=987_654)
    (entry,) = entries(db, ADA)
    assert entry.message_id is None
    assert consents_of(db, lead_id)[-1].source_ref == ""


def test_a_pending_consent_is_withdrawn_too(db: Database) -> None:
    lead_id = new_lead(db)
    ask(db, lead_id)
    with db.write() as session:
        assert subscriptions.unsubscribe(session, ADA, now=T0 + timedelta(hours=1)).withdrew
    assert lead_of(db, lead_id).consent_status == "withdrawn"


def test_unsubscribing_a_bounced_address_still_tells_the_crm(db: Database) -> None:
    lead_id = subscribed(db)
    with db.write() as session:
        suppression.suppress(session, ADA, SuppressionReason.HARD_BOUNCE, T0, detail="550")
    with db.write() as session:
        left = subscriptions.unsubscribe(session, ADA, now=T0 + timedelta(days=1))
    assert (left.withdrew, left.suppressed) == (True, False)
    assert [e.reason for e in entries(db, ADA)] == ["hard_bounce"]
    assert change_kinds(db, lead_id) == ["subscribed", "email_bounced", "unsubscribed"]


# --- confirming again ------------------------------------------------------------------------


def test_a_new_confirmation_lifts_the_old_unsubscribe_but_not_a_bounce(db: Database) -> None:
    lead_id = subscribed(db)
    with db.write() as session:
        subscriptions.unsubscribe(session, ADA, now=T0 + timedelta(days=1))
    consent_id = ask(db, lead_id, T0 + timedelta(days=2))
    with db.write() as session:
        suppression.suppress(
            session, ADA, SuppressionReason.COMPLAINT, T0 + timedelta(days=2), detail="arf"
        )
    at = T0 + timedelta(days=3)
    with db.write() as session:
        outcome = subscriptions.confirm(
            session, lead_id, consent_id, now=at, ip="203.0.113.9", user_agent="Mail/2"
        )
    assert outcome is Confirmation.CONFIRMED
    unsubscribed, complaint = entries(db, ADA)
    assert (unsubscribed.reason, unsubscribed.lifted_at, unsubscribed.lifted_by) == (
        "unsubscribed",
        at,
        "double opt-in",
    )
    assert f"consent {consent_id} confirmed" in unsubscribed.lift_reason
    assert (complaint.reason, complaint.lifted_at) == ("complaint", None)
    assert lead_of(db, lead_id).consent_status == "confirmed"


def test_a_confirmation_that_does_not_subscribe_lifts_nothing(db: Database) -> None:
    lead_id = new_lead(db)
    consent_id = ask(db, lead_id)
    with db.write() as session:
        subscriptions.unsubscribe(session, ADA, now=T0 + timedelta(hours=1))
    with db.write() as session:
        outcome = subscriptions.confirm(session, lead_id, consent_id, now=T0 + timedelta(hours=2))
    assert outcome is Confirmation.SUPERSEDED
    assert [(e.reason, e.lifted_at) for e in entries(db, ADA)] == [("unsubscribed", None)]


# --- preferences -----------------------------------------------------------------------------


def save(db: Database, lead_id: int, chosen: Preferences) -> subscriptions.Saved:
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return subscriptions.save_preferences(
            session, lead, chosen, wording=WORDING, now=T0 + timedelta(days=5)
        )


def test_saving_preferences_stores_the_choices(db: Database) -> None:
    lead_id = subscribed(db)
    saved = save(db, lead_id, Preferences(("crm",), "weekly", "de", wants_mail=True))
    assert saved == subscriptions.Saved(Change.KEEP)
    lead = lead_of(db, lead_id)
    assert (lead.mail_topics, lead.mail_frequency, lead.language, lead.consent_status) == (
        ["crm"],
        "weekly",
        "de",
        "confirmed",
    )


def test_leaving_from_the_preference_center_unsubscribes(db: Database) -> None:
    lead_id = subscribed(db)
    saved = save(db, lead_id, Preferences((), "all", "en", wants_mail=False))
    assert saved.change is Change.UNSUBSCRIBE
    assert saved.unsubscribed is not None
    assert saved.unsubscribed.withdrew
    withdrawal = consents_of(db, lead_id)[-1]
    assert (withdrawal.source, withdrawal.text) == (
        "preferences",
        "Unsubscribed from all marketing email in the preference center.",
    )
    assert [e.detail for e in entries(db, ADA)] == ["preference center"]


def test_coming_back_from_the_preference_center_asks_again(db: Database) -> None:
    lead_id = subscribed(db)
    save(db, lead_id, Preferences((), "all", "en", wants_mail=False))
    saved = save(db, lead_id, Preferences((), "monthly", "en", wants_mail=True))
    assert saved.change is Change.RESUBSCRIBE
    assert saved.consent_to_confirm is not None
    asked = consents_of(db, lead_id)[-1]
    assert (asked.id, asked.status, asked.source, asked.text) == (
        saved.consent_to_confirm,
        "pending",
        "preferences",
        WORDING.text,
    )
    lead = lead_of(db, lead_id)
    assert (lead.consent_status, lead.marketing_consent, lead.mail_frequency) == (
        "pending",
        False,
        "monthly",
    )


# --- a marketer withdraws --------------------------------------------------------------------


def test_a_marketer_withdraws_with_a_reason(db: Database) -> None:
    lead_id = subscribed(db)
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        left = subscriptions.withdraw_for(
            session, lead, by="mia@pipewise.example", reason="  Asked by\nphone ", now=T0
        )
    assert left is not None
    assert left.withdrew
    withdrawal = consents_of(db, lead_id)[-1]
    assert (withdrawal.source, withdrawal.source_ref, withdrawal.text) == (
        "console",
        "mia@pipewise.example",
        "Asked by phone",
    )
    (entry,) = entries(db, ADA)
    assert entry.detail == "withdrawn in the console by mia@pipewise.example: Asked by phone"
    assert change_kinds(db, lead_id)[-1] == "unsubscribed"


def test_nothing_to_withdraw_for_a_lead_that_never_subscribed(db: Database) -> None:
    lead_id = new_lead(db)
    with db.write() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        assert subscriptions.withdraw_for(session, lead, by="mia", reason="x", now=T0) is None
    assert entries(db, ADA) == []


# --- the Lead document's "suppressed" --------------------------------------------------------


def test_suppressed_of_reports_the_entry_in_force(db: Database) -> None:
    with db.write() as session:
        suppression.suppress(session, ADA, SuppressionReason.UNSUBSCRIBED, T0)
        suppression.suppress(session, ADA, SuppressionReason.HARD_BOUNCE, T0 + timedelta(1))
        suppression.suppress(session, "bo@example.com", SuppressionReason.COMPLAINT, T0)
    with db.write() as session:
        (bo_entry,) = subscriptions.entries_for(session, "bo@example.com")
        suppression.lift(session, bo_entry.id, by="admin", reason="asked us", now=T0)
    with db.read() as session:
        found = subscriptions.suppressed_of(session, [ADA, "bo@example.com", "cy@example.com"])
    assert set(found) == {ADA}
    assert (found[ADA].reason, found[ADA].at) == ("hard_bounce", T0 + timedelta(1))
