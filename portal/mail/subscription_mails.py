"""The mails of subscribing: the double opt-in confirmation (``opt_in``), queued by
``portal.mail.form_mails.confirm_subscription`` in the transaction that asked for consent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.mail.i18n import Entry
from portal.mail.kinds import ContextFunction, KindContext
from portal.mail.links import OPT_IN_DAYS
from tracking.lead_profile import profile
from tracking.models import Consent


def opt_in(context: KindContext) -> Mapping[str, Any]:
    """The confirmation link of the consent the lead asked for (``params["consent"]``), and the
    wording it agreed to (gone when the consent was erased: the link then confirms nothing)."""
    message = context.message
    assert message.lead_id is not None
    consent_id = int(message.params["consent"])
    consent = context.session.get(Consent, consent_id)
    return {
        "confirm_url": context.links.confirm(message.lead_id, consent_id),
        "days": OPT_IN_DAYS,
        "first_name": profile(context.session, message.lead_id).get("first_name", ""),
        "consent_text": consent.text if consent is not None else "",
    }


CONTEXTS: dict[str, ContextFunction] = {"opt_in": opt_in}

GERMAN: Mapping[str, Entry] = {
    "Hi %(first_name)s,": "Hallo %(first_name)s,",
    "Hi,": "Hallo,",
    "Please confirm your subscription": "Bitte bestätigen Sie Ihr Abonnement",
    "One click and you get new resources and invitations from %(brand)s.": (
        "Ein Klick, und Sie erhalten neue Inhalte und Einladungen von %(brand)s."
    ),
    "You asked to receive new resources and event invitations from %(brand)s by email. "
    "Please confirm with one click:": (
        "Sie möchten neue Inhalte und Einladungen zu Veranstaltungen von %(brand)s per E-Mail "
        "erhalten. Bitte bestätigen Sie das mit einem Klick:"
    ),
    "Confirm my subscription": "Abonnement bestätigen",
    "What you agreed to:": "Ihre Einwilligung:",
    "The link works for %(count)s day. If you did not ask for this, just ignore this email: "
    "we will not subscribe you, and you will not hear from us again.": (
        "Der Link ist %(count)s Tag gültig. Wenn Sie das nicht angefordert haben, ignorieren "
        "Sie diese E-Mail einfach: Wir melden Sie nicht an, und Sie hören nichts mehr von uns.",
        "Der Link ist %(count)s Tage gültig. Wenn Sie das nicht angefordert haben, ignorieren "
        "Sie diese E-Mail einfach: Wir melden Sie nicht an, und Sie hören nichts mehr von uns.",
    ),
    "You get this email because this address was entered in a form on the website of "
    "%(brand)s, with the box for email ticked.": (
        "Sie erhalten diese E-Mail, weil diese Adresse auf der Website von %(brand)s in ein "
        "Formular eingetragen und das Häkchen für E-Mails gesetzt wurde."
    ),
}
"""The German of ``opt_in.html`` (``portal.mail.render`` merges it into the catalog)."""
