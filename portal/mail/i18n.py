"""The words of mail in the reader's language: gettext catalogs for Jinja's i18n extension.

Templates mark their English text (``{% trans %}…{% endtrans %}``, ``_("…")``); the
English text is the message id, and a catalog maps it to German. The catalogs are Python
mappings so a fresh clone needs no compile step; they follow gettext's shape (``%(name)s``
placeholders, a (singular, plural) pair for ``{% pluralize %}``), so a later move to Babel
``.po`` files is ``pybabel extract`` plus copying these entries.

``GERMAN`` holds the layout's and the shared words; a kind module (``subscription_mails`` …)
may add its own ``GERMAN`` mapping, which ``portal.mail.render`` merges in.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Mapping

LANGUAGES = ("en", "de")
"""The languages mail is written in; anything else reads English."""

Entry = str | tuple[str, str]
"""A translation, or the (singular, plural) pair of a ``{% pluralize %}`` message."""

GERMAN: Mapping[str, Entry] = {
    # layout.html / layout.txt
    "Unsubscribe": "Abmelden",
    "Choose what you get": "Auswahl ändern",
    "You get this email because you subscribed to news from %(brand)s as %(address)s.": (
        "Sie erhalten diese E-Mail, weil Sie Neuigkeiten von %(brand)s "
        "an %(address)s abonniert haben."
    ),
    # test.html (leadshelf mail test)
    "Test message from %(brand)s": "Testnachricht von %(brand)s",
    "This message shows that Leadshelf can send through this server.": (
        "Diese Nachricht zeigt, dass Leadshelf über diesen Server senden kann."
    ),
    "Open the library": "Zur Bibliothek",
}


class Catalog(gettext.NullTranslations):
    """Translations from a mapping (message id → text); a missing entry reads in English."""

    def __init__(self, messages: Mapping[str, Entry]) -> None:
        super().__init__()
        self.messages = dict(messages)

    def gettext(self, message: str) -> str:
        found = self.messages.get(message)
        return found if isinstance(found, str) else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        found = self.messages.get(msgid1)
        if isinstance(found, tuple):
            return found[0] if n == 1 else found[1]
        return msgid1 if n == 1 else msgid2


def language(code: str | None) -> str:
    """The mail language for a lead's or message's language code (``de-AT`` reads German)."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else "en"


def catalog(code: str, extra: Iterable[Mapping[str, Entry]] = ()) -> gettext.NullTranslations:
    """The translations of one language: the shared words plus the kinds' own (``extra``)."""
    if language(code) != "de":
        return gettext.NullTranslations()
    merged: dict[str, Entry] = dict(GERMAN)
    for messages in extra:
        merged.update(messages)
    return Catalog(merged)
