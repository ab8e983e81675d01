"""The words of the public email pages (confirm, unsubscribe, preferences) in English and German.

The pages are read by people who came from a mail, in the language the mail was written in
(the lead's, else the site's default), so they are translated already, before the portal's
own i18n. The English text is the message id and ``GERMAN`` maps it, with ``%(name)s``
placeholders, as gettext does: a later move to Babel catalogs is an extract and a copy.
Templates call ``_("…", name=value)``; Jinja escapes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

LANGUAGES = ("en", "de")

GERMAN: Mapping[str, str] = {
    # every page
    "Privacy policy": "Datenschutzerklärung",
    "Browse the library": "Zur Bibliothek",
    "Email preferences": "E-Mail-Einstellungen",
    # confirm
    "You're subscribed": "Sie haben Ihr Abonnement bestätigt",
    "Thank you for confirming. We'll email you new resources and event invitations; every "
    "email has a link to unsubscribe.": (
        "Danke für Ihre Bestätigung. Wir senden Ihnen neue Inhalte und Einladungen zu "
        "Veranstaltungen; jede E-Mail enthält einen Link zum Abmelden."
    ),
    "You're already subscribed": "Sie haben Ihr Abonnement bereits bestätigt",
    "Nothing more to do: your subscription was confirmed on %(date)s.": (
        "Es ist nichts weiter zu tun: Ihr Abonnement wurde am %(date)s bestätigt."
    ),
    "Nothing more to do: your subscription is confirmed.": (
        "Es ist nichts weiter zu tun: Ihr Abonnement ist bestätigt."
    ),
    "This link no longer subscribes you": "Dieser Link meldet Sie nicht mehr an",
    "You unsubscribed after asking for this confirmation, so we did not subscribe you again.": (
        "Sie haben sich abgemeldet, nachdem Sie diese Bestätigung angefordert hatten. "
        "Deshalb haben wir Sie nicht wieder angemeldet."
    ),
    "To subscribe again, open your email preferences: we'll send you a new confirmation email.": (
        "Um sich wieder anzumelden, öffnen Sie Ihre E-Mail-Einstellungen: Wir senden Ihnen "
        "eine neue Bestätigungs-E-Mail."
    ),
    "We couldn't find this subscription": "Wir haben dieses Abonnement nicht gefunden",
    "It may have been deleted at your request. To subscribe, tick the box for email on any "
    "form of this site.": (
        "Vielleicht wurde es auf Ihren Wunsch gelöscht. Um sich anzumelden, setzen Sie auf "
        "einem beliebigen Formular dieser Website das Häkchen für E-Mails."
    ),
    "This confirmation link has expired": "Dieser Bestätigungslink ist abgelaufen",
    "Confirmation links work for %(days)s days, so we did not subscribe you.": (
        "Bestätigungslinks sind %(days)s Tage gültig, deshalb haben wir Sie nicht angemeldet."
    ),
    "To get a new link, tick the box for email on any form of this site again: we'll send "
    "you a fresh confirmation email right away.": (
        "Für einen neuen Link setzen Sie auf einem beliebigen Formular dieser Website erneut "
        "das Häkchen für E-Mails: Wir senden Ihnen sofort eine neue Bestätigungs-E-Mail."
    ),
    "This link is not valid": "Dieser Link ist ungültig",
    "It may have been cut off by your email program. Copy the whole link from the email "
    "into your browser's address bar.": (
        "Vielleicht hat Ihr E-Mail-Programm ihn abgeschnitten. Kopieren Sie den vollständigen "
        "Link aus der E-Mail in die Adresszeile Ihres Browsers."
    ),
    "Which topics interest you?": "Welche Themen interessieren Sie?",
    "Leave every box ticked (or none) to get everything.": (
        "Lassen Sie alle Kästchen angekreuzt (oder keines), um alles zu erhalten."
    ),
    "Save topics": "Themen speichern",
    "More settings: how often, which language": "Weitere Einstellungen: wie oft, welche Sprache",
    # unsubscribe
    "Unsubscribe from marketing email?": "Von Marketing-E-Mails abmelden?",
    "We'll stop sending marketing email to %(address)s.": (
        "Danach senden wir keine Marketing-E-Mails mehr an %(address)s."
    ),
    "Emails you ask for yourself, such as a download link, still reach you.": (
        "E-Mails, die Sie selbst anfordern, etwa einen Download-Link, erhalten Sie weiterhin."
    ),
    "Unsubscribe": "Abmelden",
    "Rather choose topics or fewer emails?": "Lieber Themen wählen oder weniger E-Mails?",
    "You're unsubscribed": "Sie sind abgemeldet",
    "We won't send marketing email to %(address)s any more.": (
        "Wir senden keine Marketing-E-Mails mehr an %(address)s."
    ),
    "You had unsubscribed %(address)s already: nothing changed.": (
        "Sie hatten %(address)s bereits abgemeldet: Es hat sich nichts geändert."
    ),
    "Unsubscribed by mistake?": "Versehentlich abgemeldet?",
    "Subscribe again": "Wieder anmelden",
    "We'll send you an email to confirm first.": (
        "Wir senden Ihnen zuerst eine E-Mail zur Bestätigung."
    ),
    # preferences
    "Your email preferences": "Ihre E-Mail-Einstellungen",
    "For %(address)s.": "Für %(address)s.",
    "You're subscribed to marketing email.": "Sie erhalten Marketing-E-Mails.",
    "We're waiting for you to confirm your subscription: click the link in the email we "
    "sent you.": (
        "Wir warten auf Ihre Bestätigung: Klicken Sie auf den Link in der E-Mail, die wir "
        "Ihnen gesendet haben."
    ),
    "You're not subscribed to marketing email.": "Sie erhalten keine Marketing-E-Mails.",
    "Topics": "Themen",
    "How often": "Wie oft",
    "Every email we send": "Jede E-Mail, die wir versenden",
    "At most one email a week": "Höchstens eine E-Mail pro Woche",
    "At most one email a month": "Höchstens eine E-Mail pro Monat",
    "Language": "Sprache",
    "Marketing email": "Marketing-E-Mails",
    "Send me marketing email as chosen above": "Marketing-E-Mails wie oben gewählt senden",
    "Subscribe: we'll send you an email to confirm": (
        "Anmelden: Wir senden Ihnen eine E-Mail zur Bestätigung"
    ),
    "Unsubscribe from all marketing email": "Von allen Marketing-E-Mails abmelden",
    "Save preferences": "Einstellungen speichern",
    "Saved. Your choices apply from the next email we send.": (
        "Gespeichert. Ihre Auswahl gilt ab der nächsten E-Mail, die wir senden."
    ),
    "Saved. You're unsubscribed from all marketing email.": (
        "Gespeichert. Sie sind von allen Marketing-E-Mails abgemeldet."
    ),
    "Saved. We've sent an email to %(address)s: click the link in it to confirm your "
    "subscription.": (
        "Gespeichert. Wir haben eine E-Mail an %(address)s gesendet: Klicken Sie auf den Link "
        "darin, um Ihr Abonnement zu bestätigen."
    ),
    "We've sent an email to %(address)s: click the link in it to confirm your subscription.": (
        "Wir haben eine E-Mail an %(address)s gesendet: Klicken Sie auf den Link darin, um "
        "Ihr Abonnement zu bestätigen."
    ),
    "Saved your topics.": "Ihre Themen sind gespeichert.",
    "We sent several emails to %(address)s in the last hours, so we did not send another "
    "now: use the link in the last one, or try again later.": (
        "Wir haben in den letzten Stunden mehrere E-Mails an %(address)s gesendet und deshalb "
        "jetzt keine weitere: Nutzen Sie den Link in der letzten oder versuchen Sie es später."
    ),
    "Open this link in your browser": "Bitte öffnen Sie diesen Link im Browser",
    "This link confirms your subscription when you open it in your browser. Nothing has "
    "changed yet.": (
        "Dieser Link bestätigt Ihr Abonnement, wenn Sie ihn in Ihrem Browser öffnen. Bisher "
        "hat sich nichts geändert."
    ),
    "These preferences no longer exist": "Diese Einstellungen gibt es nicht mehr",
    "Your data may have been deleted at your request: we send you no email.": (
        "Ihre Daten wurden vielleicht auf Ihren Wunsch gelöscht: Wir senden Ihnen keine E-Mails."
    ),
}

Translate = Callable[..., str]


def language(code: str | None, default: str = "en") -> str:
    """The page language for a lead's or mail's language code (``de-AT`` reads German)."""
    for candidate in (code, default):
        base = (candidate or "").split("-")[0].split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return "en"


def translator(lang: str) -> Translate:
    """``_(text, **values)`` for templates: the text in ``lang`` with the values put in."""
    words: Mapping[str, str] = GERMAN if lang == "de" else {}

    def translate(text: str, **values: object) -> str:
        found = words.get(text, text)
        return found % values if values else found

    return translate


def day(moment: datetime | None, lang: str) -> str:
    """A date as the reader writes it: "5 Dec 2026", "5.12.2026"."""
    if moment is None:
        return ""
    return f"{moment:%-d.%-m.%Y}" if lang == "de" else f"{moment:%-d %b %Y}"
