"""The reader's pages behind the links in mail, through the browser's (and the mail client's)
eyes: confirming a subscription, unsubscribing (one button; RFC 8058 one-click POST), the
preference center; in the lead's language, personal and never cached."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from litestar import Litestar
from litestar.testing import TestClient
from selectolax.lexbor import LexborHTMLParser
from sqlalchemy import select

from content.models import Asset, Topic
from content.orm import utcnow
from nurture.mail.models import MailCategory
from portal.db import Database
from portal.mail.links import Links, read_preferences
from portal.mail.queue import mail_lead
from portal.settings import Settings
from portal.signing import Purpose, Signer
from tests.factories import make_asset
from tests.mailbox import Received, SmtpSink, send_mail
from tests.nurture.mail.subscribers import (
    T0,
    ask,
    consents_of,
    entries,
    lead_of,
    mail_to,
    messages,
    new_lead,
    subscribed,
)
from tests.portal.forms import submit
from tests.support import TEST_SECRET_KEYS, app_for, csrf_token_from, html

Client = TestClient[Litestar]
SIGNER = Signer(TEST_SECRET_KEYS)
LINKS = Links(SIGNER, "")
"""Links as paths on the test app (mail carries them absolute, under the base URL)."""
ADA = "ada@example.com"
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def topics(db: Database) -> list[Asset]:
    """Two published assets filing three topics (the picker offers the library's topics)."""
    return [
        make_asset(db, slug="scoring-guide", topics=["lead-scoring", "crm"]),
        make_asset(db, slug="nurture-guide", topics=["nurturing"]),
    ]


def page(response: Any, status: int = 200) -> LexborHTMLParser:
    assert response.status_code == status, response.text
    assert "no-store" in response.headers["cache-control"]
    tree = html(response.text)
    privacy = tree.css_first(".email-page__privacy a")
    assert privacy is not None
    assert privacy.attributes["href"] == "/privacy"
    return tree


def heading(tree: LexborHTMLParser) -> str:
    return tree.css_first("h1").text(strip=True)


def ticked(tree: LexborHTMLParser, name: str) -> set[str]:
    return {
        node.attributes.get("value") or ""
        for node in tree.css(f'input[name="{name}"]')
        if "checked" in node.attributes
    }


# --- confirm ----------------------------------------------------------------------------------


def test_ticking_the_box_mails_a_link_that_subscribes_without_identifying_the_browser(
    mail_client: Client, smtp_sink: SmtpSink, db: Database, topics: list[Asset]
) -> None:
    make_asset(db, slug="pricing-guide", gate="gated")
    response = submit(
        mail_client, "pricing-guide", consent=True, email=ADA, first_name="Ada", last_name="L"
    )
    assert response.status_code == 303
    send_mail(mail_client)
    (received,) = smtp_sink.wait_for(1)
    assert received.subject == "Please confirm your subscription"
    button = html(received.part("html")).css_first("a.button")
    assert button is not None
    link = urlsplit(button.attributes["href"] or "")
    assert link.path == "/email/confirm"
    assert "Yes, email me new resources" in received.part("plain")

    mail_client.cookies.clear()  # the mail is opened on another device
    tree = page(mail_client.get(f"{link.path}?{link.query}", headers={"User-Agent": "MailApp/2.0"}))
    assert heading(tree) == "You're subscribed"
    assert tree.css_first("html").attributes["lang"] == "en"
    (lead_id,) = {m.lead_id for m in messages(db)}
    assert lead_id is not None
    lead = lead_of(db, lead_id)
    assert (lead.consent_status, lead.marketing_consent) == ("confirmed", True)
    (record,) = consents_of(db, lead_id)
    assert (record.status, record.confirmed_ip, record.confirmed_user_agent) == (
        "confirmed",
        "testclient",
        "MailApp/2.0",
    )
    # The picker offers the library's topics, all ticked (every topic until one is chosen).
    offered = {n.attributes["value"] for n in tree.css('#email-topics input[name="topics"]')}
    assert offered == {"crm", "lead-scoring", "nurturing"} == ticked(tree, "topics")
    # The click proves the inbox, not who holds this browser: nothing greets it as Ada.
    home = mail_client.get("/")
    assert "Ada" not in home.text


def test_topics_picked_on_the_confirmation_page_are_kept(
    client: Client, db: Database, topics: list[Asset]
) -> None:
    lead_id = new_lead(db)
    confirm = client.get(LINKS.confirm(lead_id, ask(db, lead_id)))
    form = page(confirm).css_first("#email-topics-form")
    action = form.attributes["action"] or ""
    assert action.startswith("/email/preferences?t=")
    saved = client.post(
        action,
        data={
            "action": "topics",
            "topics": ["crm", "nurturing"],
            "_csrf_token": csrf_token_from(confirm.text),
        },
    )
    tree = page(saved)
    assert tree.css_first("#email-notice").text(strip=True) == "Saved your topics."
    assert lead_of(db, lead_id).mail_topics == ["crm", "nurturing"]
    assert ticked(tree, "topics") == {"crm", "nurturing"}


def test_a_second_click_says_so(client: Client, db: Database) -> None:
    lead_id = new_lead(db)
    url = LINKS.confirm(lead_id, ask(db, lead_id))
    page(client.get(url))
    tree = page(client.get(url))
    assert heading(tree) == "You're already subscribed"
    assert "your subscription was confirmed on" in tree.css_first(".lead").text()


def test_an_expired_link_explains_how_to_get_a_new_one_in_the_lead_language(
    client: Client, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_id = new_lead(db, language="de")
    consent_id = ask(db, lead_id)
    eight_days_ago = int(T0.timestamp()) - 8 * 86400
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: eight_days_ago)
        url = LINKS.confirm(lead_id, consent_id)
    tree = page(client.get(url), 410)
    assert heading(tree) == "Dieser Bestätigungslink ist abgelaufen"
    assert "7 Tage" in tree.css_first(".lead").text()
    assert "Häkchen" in tree.css_first("#email-link-problem").text()
    assert lead_of(db, lead_id).consent_status == "pending"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        SIGNER.sign(Purpose.PREFERENCES, {"l": 1, "c": 1}),  # another purpose
        SIGNER.sign(Purpose.OPT_IN, {"l": "1", "c": 1}),
        SIGNER.sign(Purpose.OPT_IN, [1, 1]),
    ],
    # Signed tokens carry the time: named ids keep both xdist workers' collections equal.
    ids=["empty", "garbage", "another-purpose", "lead-id-a-string", "not-an-object"],
)
def test_a_forged_link_is_refused(client: Client, db: Database, token: str) -> None:
    tree = page(client.get("/email/confirm", params={"t": token}), 400)
    assert heading(tree) == "This link is not valid"


def test_an_unknown_subscription_is_not_found(client: Client, db: Database) -> None:
    lead_id = new_lead(db)
    tree = page(client.get(LINKS.confirm(lead_id, 424242)), 404)
    assert heading(tree) == "We couldn't find this subscription"


def test_a_link_superseded_by_an_unsubscribe_does_not_subscribe(
    client: Client, db: Database
) -> None:
    lead_id = new_lead(db)
    url = LINKS.confirm(lead_id, ask(db, lead_id))
    client.post(LINKS.unsubscribe(ADA), content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    tree = page(client.get(url))
    assert heading(tree) == "This link no longer subscribes you"
    # The lead's own preference center (signed when the page was made: compare what it names,
    # not the token, whose timestamp may be a second later than one signed here).
    href = tree.css_first("#email-preferences-link").attributes["href"] or ""
    assert href.startswith("/email/preferences?t=")
    assert read_preferences(SIGNER, href.split("?t=", 1)[1]) == lead_id
    assert lead_of(db, lead_id).consent_status == "withdrawn"


def test_a_link_scanner_does_not_confirm(client: Client, db: Database) -> None:
    lead_id = new_lead(db, language="de")
    url = LINKS.confirm(lead_id, ask(db, lead_id))
    scanner = {
        "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    }
    tree = page(client.get(url, headers=scanner))
    assert heading(tree) == "Bitte öffnen Sie diesen Link im Browser"
    assert lead_of(db, lead_id).consent_status == "pending"
    assert heading(page(client.get(url))) == "Sie haben Ihr Abonnement bestätigt"


# --- unsubscribe ------------------------------------------------------------------------------


def test_the_unsubscribe_page_has_one_button_and_changes_nothing(
    client: Client, db: Database
) -> None:
    lead_id = subscribed(db)
    url = LINKS.unsubscribe(ADA, mail_to(db, lead_id, ADA))
    for _ in range(2):  # a link scanner, then the person
        tree = page(client.get(url))
    assert heading(tree) == "Unsubscribe from marketing email?"
    assert ADA in tree.css_first(".lead").text()
    (button,) = tree.css("main button")
    form = tree.css_first("#email-unsubscribe-form")
    assert (form.attributes["method"], form.attributes["action"]) == ("post", url)
    assert button.text(strip=True) == "Unsubscribe"
    assert lead_of(db, lead_id).consent_status == "confirmed"
    assert entries(db, ADA) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"content": "List-Unsubscribe=One-Click", "headers": ONE_CLICK}, id="form"),
        pytest.param({"files": {"List-Unsubscribe": (None, "One-Click")}}, id="multipart"),
    ],
)
def test_a_one_click_post_unsubscribes_at_once_with_no_page(
    client: Client, db: Database, body: dict[str, Any]
) -> None:
    lead_id = subscribed(db)
    message_id = mail_to(db, lead_id, ADA)
    assert not client.cookies  # a mail client: no cookie, no CSRF token
    response = client.post(LINKS.unsubscribe(ADA, message_id), **body)
    assert response.status_code == 200
    assert len(response.content) < 40
    assert "<html" not in response.text
    lead = lead_of(db, lead_id)
    assert (lead.consent_status, lead.marketing_consent) == ("withdrawn", False)
    withdrawal = consents_of(db, lead_id)[-1]
    assert (withdrawal.source, withdrawal.source_ref) == ("unsubscribe", f"message {message_id}")
    assert [(e.reason, e.message_id) for e in entries(db, ADA)] == [("unsubscribed", message_id)]


def test_the_button_unsubscribes_and_offers_preferences_and_an_undo(
    client: Client, db: Database
) -> None:
    lead_id = subscribed(db)
    url = LINKS.unsubscribe(ADA, mail_to(db, lead_id, ADA))
    client.get(url)
    tree = page(client.post(url))
    assert heading(tree) == "You're unsubscribed"
    assert "We won't send marketing email to ada@example.com any more." in tree.text()
    # The lead's own preference center (signed when the page was made: compare what it names,
    # not the token, whose timestamp may be a second later than one signed here).
    href = tree.css_first("#email-preferences-link").attributes["href"] or ""
    assert href.startswith("/email/preferences?t=")
    assert read_preferences(SIGNER, href.split("?t=", 1)[1]) == lead_id
    assert lead_of(db, lead_id).consent_status == "withdrawn"
    assert [e.reason for e in entries(db, ADA)] == ["unsubscribed"]

    undo = tree.css_first("#email-undo-form")
    action = undo.attributes["action"] or ""
    assert read_preferences(SIGNER, action.split("?t=", 1)[1]) == lead_id
    token = undo.css_first('input[name="_csrf_token"]').attributes["value"]
    again = page(
        client.post(
            LINKS.preferences(lead_id), data={"action": "resubscribe", "_csrf_token": token}
        )
    )
    assert again.css_first("#email-notice").text(strip=True) == (
        "We've sent an email to ada@example.com: click the link in it to confirm your subscription."
    )
    # Not an instant flip: a new double opt-in, mailed.
    lead = lead_of(db, lead_id)
    assert (lead.consent_status, lead.marketing_consent) == ("pending", False)
    assert [m.kind for m in messages(db)][-1] == "opt_in"


def test_unsubscribing_twice_says_nothing_changed(client: Client, db: Database) -> None:
    subscribed(db)
    url = LINKS.unsubscribe(ADA)
    client.post(url, content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    assert page(client.get(url)).css_first("#email-unsubscribe").attributes["data-state"] == (
        "already"
    )
    tree = page(client.post(url))
    assert "You had unsubscribed ada@example.com already" in tree.text()
    assert len(entries(db, ADA)) == 1


def test_an_address_without_a_lead_can_unsubscribe(client: Client, db: Database) -> None:
    url = LINKS.unsubscribe("list@example.org")
    client.get(url)
    tree = page(client.post(url))
    assert heading(tree) == "You're unsubscribed"
    assert tree.css_first("#email-preferences-link") is None
    assert tree.css_first("#email-undo-form") is None
    assert [e.reason for e in entries(db, "list@example.org")] == ["unsubscribed"]


def test_the_unsubscribe_page_speaks_the_lead_language(client: Client, db: Database) -> None:
    subscribed(db, language="de")
    tree = page(client.get(LINKS.unsubscribe(ADA)))
    assert heading(tree) == "Von Marketing-E-Mails abmelden?"
    assert tree.css_first("html").attributes["lang"] == "de"
    assert tree.css_first(".email-page").attributes["lang"] == "de"
    assert tree.css_first("main button").text(strip=True) == "Abmelden"
    assert tree.css_first(".email-page__privacy a").text() == "Datenschutzerklärung"


def test_a_forged_unsubscribe_changes_nothing(client: Client, db: Database) -> None:
    subscribed(db)
    forged = "/email/unsubscribe?t=" + SIGNER.sign(Purpose.PREFERENCES, {"a": ADA, "m": None})
    assert (
        client.post(forged, content="List-Unsubscribe=One-Click", headers=ONE_CLICK).status_code
        == 400
    )
    page(client.get(forged), 400)
    page(client.post(forged), 400)
    assert entries(db, ADA) == []


def test_only_the_unsubscribe_route_is_exempt_from_csrf(client: Client, db: Database) -> None:
    lead_id = subscribed(db)
    response = client.post(LINKS.preferences(lead_id), data={"action": "save", "mail": "no"})
    assert response.status_code == 403
    assert lead_of(db, lead_id).consent_status == "confirmed"


# --- preferences ------------------------------------------------------------------------------


def preferences(client: Client, lead_id: int) -> tuple[LexborHTMLParser, str]:
    response = client.get(LINKS.preferences(lead_id))
    return page(response), csrf_token_from(response.text)


def save(client: Client, lead_id: int, token: str, **fields: Any) -> LexborHTMLParser:
    return page(
        client.post(
            LINKS.preferences(lead_id), data={"action": "save", "_csrf_token": token, **fields}
        )
    )


def test_the_preference_center_shows_and_saves_the_choices(
    client: Client, db: Database, topics: list[Asset]
) -> None:
    lead_id = subscribed(db)
    tree, token = preferences(client, lead_id)
    assert heading(tree) == "Your email preferences"
    assert tree.css_first("#email-status").attributes["data-status"] == "confirmed"
    assert ticked(tree, "topics") == {"crm", "lead-scoring", "nurturing"}
    assert ticked(tree, "frequency") == {"all"}
    assert ticked(tree, "language") == {"en"}
    assert ticked(tree, "mail") == {"yes"}

    tree = save(
        client,
        lead_id,
        token,
        topics=["lead-scoring"],
        frequency="weekly",
        language="de",
        mail="yes",
    )
    # Saved in German: the page now speaks the chosen language.
    assert heading(tree) == "Ihre E-Mail-Einstellungen"
    assert tree.css_first("#email-notice").text(strip=True).startswith("Gespeichert.")
    assert (ticked(tree, "topics"), ticked(tree, "frequency"), ticked(tree, "language")) == (
        {"lead-scoring"},
        {"weekly"},
        {"de"},
    )
    lead = lead_of(db, lead_id)
    assert (lead.mail_topics, lead.mail_frequency, lead.language, lead.consent_status) == (
        ["lead-scoring"],
        "weekly",
        "de",
        "confirmed",
    )


def test_a_forged_choice_keeps_what_stands(client: Client, db: Database) -> None:
    lead_id = subscribed(db)
    _, token = preferences(client, lead_id)
    save(client, lead_id, token, frequency="hourly", language="fr", mail="yes")
    lead = lead_of(db, lead_id)
    assert (lead.mail_frequency, lead.language) == ("all", "en")


def test_leaving_and_coming_back_from_the_preference_center(client: Client, db: Database) -> None:
    lead_id = subscribed(db)
    _, token = preferences(client, lead_id)
    tree = save(client, lead_id, token, mail="no")
    assert tree.css_first("#email-notice").text(strip=True) == (
        "Saved. You're unsubscribed from all marketing email."
    )
    assert ticked(tree, "mail") == {"no"}
    assert lead_of(db, lead_id).consent_status == "withdrawn"
    assert [e.reason for e in entries(db, ADA)] == ["unsubscribed"]
    label = tree.css_first('input[name="mail"][value="yes"]').parent
    assert label is not None
    assert "we'll send you an email to confirm" in label.text()

    tree = save(client, lead_id, token, mail="yes")
    assert "click the link in it to confirm" in tree.css_first("#email-notice").text()
    assert lead_of(db, lead_id).consent_status == "pending"
    (opt_in,) = [m for m in messages(db) if m.kind == "opt_in"]
    assert (opt_in.to_address, opt_in.category) == (ADA, "transactional")
    # The new confirmation subscribes and lifts the unsubscribe.
    page(client.get(LINKS.confirm(lead_id, int(opt_in.params["consent"]))))
    assert lead_of(db, lead_id).consent_status == "confirmed"
    assert [e.lifted_by for e in entries(db, ADA)] == ["double opt-in"]


def test_coming_back_again_and_again_does_not_flood_the_inbox(client: Client, db: Database) -> None:
    """A forwarded newsletter carries the preference link: whoever holds it cannot make the
    reader's inbox fill with confirmation mails (the form mails' per-address limit)."""
    lead_id = subscribed(db)
    _, token = preferences(client, lead_id)
    notices = []
    for _ in range(4):
        save(client, lead_id, token, mail="no")
        notices.append(save(client, lead_id, token, mail="yes").css_first("#email-notice").text())
    assert ["click the link in it" in notice for notice in notices] == [True, True, True, False]
    assert "we did not send another" in notices[-1]
    assert [m.kind for m in messages(db)].count("opt_in") == 3


def test_preferences_of_an_erased_lead_are_gone(client: Client, db: Database) -> None:
    tree = page(client.get(LINKS.preferences(31337)), 404)
    assert heading(tree) == "These preferences no longer exist"
    forged = "/email/preferences?t=" + SIGNER.sign(Purpose.OPT_IN, {"l": 1})
    page(client.get(forged), 400)


# --- languages --------------------------------------------------------------------------------


def test_the_confirmation_page_speaks_the_lead_language_with_dates_as_it_writes_them(
    client: Client, db: Database
) -> None:
    lead_id = new_lead(db, language="de")
    url = LINKS.confirm(lead_id, ask(db, lead_id))
    first = page(client.get(url))
    assert heading(first) == "Sie haben Ihr Abonnement bestätigt"
    assert first.css_first("html").attributes["lang"] == "de"
    assert first.css_first(".email-page").attributes["lang"] == "de"
    assert first.css_first("#email-preferences-link").text(strip=True) == (
        "Weitere Einstellungen: wie oft, welche Sprache"
    )
    again = page(client.get(url))
    assert heading(again) == "Sie haben Ihr Abonnement bereits bestätigt"
    # German writes the day "05.12.2026"; the English page said "5 Dec 2026".
    assert re.search(r"am \d{2}\.\d{2}\.\d{4} bestätigt", again.css_first(".lead").text())


def test_an_english_lead_reads_english_pages_on_a_german_site(
    settings: Settings, db: Database
) -> None:
    lead_id = new_lead(db, language="en")
    url = LINKS.confirm(lead_id, ask(db, lead_id))
    with app_for(settings.with_overrides(default_language="de")) as built, TestClient(built) as c:
        confirmed = page(c.get(url, headers={"Accept-Language": "de-DE,de;q=0.9"}))
        forged = page(c.get("/email/confirm?t=forged"), 400)
    assert heading(confirmed) == "You're subscribed"
    assert confirmed.css_first(".email-page").attributes["lang"] == "en"
    assert confirmed.css_first(".lead").text().startswith("Thank you for confirming.")
    # A link that names no lead speaks the site's language.
    assert heading(forged) == "Dieser Link ist ungültig"


def test_a_link_that_names_no_lead_speaks_the_browsers_language(client: Client) -> None:
    tree = page(client.get("/email/confirm?t=forged", headers={"Accept-Language": "de"}), 400)
    assert heading(tree) == "Dieser Link ist ungültig"
    assert tree.css_first(".email-page").attributes["lang"] == "de"


def test_topics_are_offered_in_the_page_language(
    client: Client, db: Database, topics: list[Asset]
) -> None:
    with db.write() as session:
        scoring = session.scalars(select(Topic).where(Topic.slug == "lead-scoring")).one()
        scoring.labels = {"de": "Lead-Bewertung"}
    german, english = subscribed(db, language="de"), subscribed(db, "ben@example.com", "en")
    labels = {}
    for lead_id in (german, english):
        tree, _ = preferences(client, lead_id)
        labels[lead_id] = {
            node.css_first("input").attributes["value"]: node.text(strip=True)
            for node in tree.css("#email-topics label")
        }
    assert labels[german]["lead-scoring"] == "Lead-Bewertung"
    assert labels[english]["lead-scoring"] != "Lead-Bewertung"
    assert labels[german]["crm"] == labels[english]["crm"]  # no German label: the one it has


def test_changing_the_language_in_the_preference_center_changes_the_next_mail(
    mail_client: Client, smtp_sink: SmtpSink, db: Database, mail_settings: Settings
) -> None:
    lead_id = subscribed(db, language="en")
    tree, token = preferences(mail_client, lead_id)
    assert ticked(tree, "language") == {"en"}
    offered = {
        node.attributes["value"]: node.parent.text(strip=True) if node.parent else ""
        for node in tree.css('#email-language input[name="language"]')
    }
    assert offered == {"en": "English", "de": "Deutsch"}  # each in its own words
    assert tree.css_first("#email-language legend").text() == "Language of our emails"

    tree = save(mail_client, lead_id, token, language="de", mail="yes")
    assert heading(tree) == "Ihre E-Mail-Einstellungen"
    assert tree.css_first("#email-language legend").text() == "Sprache unserer E-Mails"
    assert tree.css_first(".email-page").attributes["lang"] == "de"
    assert lead_of(db, lead_id).language == "de"
    german = newsletter(mail_client, smtp_sink, db, mail_settings, lead_id, 1)
    assert german.subject == "Testnachricht von Pipewise"
    assert german.message["Content-Language"] == "de"
    assert "Abmelden: " in german.part("plain")
    # The page behind the mail's unsubscribe link speaks German too.
    unsubscribe = unsubscribe_link(german)
    assert heading(page(mail_client.get(unsubscribe))) == "Von Marketing-E-Mails abmelden?"

    tree = save(mail_client, lead_id, token, language="en", mail="yes")
    assert heading(tree) == "Your email preferences"
    english = newsletter(mail_client, smtp_sink, db, mail_settings, lead_id, 2)
    assert english.subject == "Test message from Pipewise"
    assert english.message["Content-Language"] == "en"


def test_a_reader_who_switched_the_language_keeps_it_on_a_german_leads_pages(
    client: Client, db: Database
) -> None:
    lead_id = subscribed(db, language="de")
    switched = page(client.get(LINKS.preferences(lead_id) + "&lang=en"))
    assert heading(switched) == "Your email preferences"
    assert switched.css_first("html").attributes["lang"] == "en"
    # The switch is the reader's for this browser (its cookie), not the lead's mail language.
    response = client.get(LINKS.preferences(lead_id))
    tree = page(response)
    assert heading(tree) == "Your email preferences"
    assert ticked(tree, "language") == {"de"}
    tree = save(client, lead_id, csrf_token_from(response.text), language="de", mail="yes")
    assert tree.css_first("#email-notice").text(strip=True).startswith("Saved.")
    assert lead_of(db, lead_id).language == "de"
    assert heading(page(client.get(LINKS.unsubscribe(ADA)))) == "Unsubscribe from marketing email?"
    # Switching back to German speaks German again, whatever the lead's language.
    again = page(client.get(LINKS.unsubscribe(ADA) + "&lang=de"))
    assert heading(again) == "Von Marketing-E-Mails abmelden?"


def newsletter(
    client: Client, sink: SmtpSink, db: Database, settings: Settings, lead_id: int, count: int
) -> Received:
    """A marketing mail to the lead, queued as a program queues one (in the lead's language)
    and received through the SMTP server; ``count`` mails have arrived with it."""
    with db.write() as session:
        mail_lead(session, settings, lead_id, "test", now=utcnow(), category=MailCategory.MARKETING)
    send_mail(client)
    return sink.wait_for(count)[count - 1]


def unsubscribe_link(received: Received) -> str:
    """The path and query of the mail's footer unsubscribe link (what the browser opens)."""
    (href,) = [
        a.attributes["href"] or ""
        for a in html(received.part("html")).css(".footer a")
        if "/email/unsubscribe" in (a.attributes["href"] or "")
    ]
    link = urlsplit(href)
    return f"{link.path}?{link.query}"


def test_nothing_is_cached_for_another_reader(client: Client, db: Database) -> None:
    lead_id = subscribed(db)
    for url in (LINKS.preferences(lead_id), LINKS.unsubscribe(ADA), "/email/confirm?t=x"):
        response = client.get(url)
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["x-robots-tag"] == "noindex"
