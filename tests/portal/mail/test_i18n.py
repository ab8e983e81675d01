"""Mail in English and German: a message is written in its language from the gettext catalog
(``tests/portal/test_i18n_catalog.py`` checks that every marked text has its German), every
kind of mail reads wholly in that language, and rendering one leaves the language of the
request or job around it as it was."""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2
import jinja2.meta
import pytest
from markupsafe import Markup
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from portal import catalogs, i18n
from portal.mail.render import MailRenderer, contexts, environment
from portal.resources import resource_path
from tests.portal.mail.mailing import outside_outbox, parsed, text_of

PLACEHOLDER = re.compile(r"%\(\w+\)s")
NUMBERS = {"days": 7, "hours": 48, "minutes": 45}
"""Values a template counts with (``{% trans count=days %}``)."""


def test_a_trans_block_reads_in_the_current_language_and_escapes_its_values() -> None:
    template = "{% trans %}Test message from {{ brand }}{% endtrans %}"
    html, text = environment(html=True), environment(html=False)
    with i18n.using("de"):
        assert html.from_string(template).render(brand="A & B") == "Testnachricht von A &amp; B"
        assert text.from_string(template).render(brand="A & B") == "Testnachricht von A & B"
    with i18n.using("en"):
        assert html.from_string(template).render(brand="A") == "Test message from A"


def test_plurals_take_the_form_the_catalog_gives_for_the_count() -> None:
    template = (
        "{% trans count=n %}The download link works for {{ count }} day, on any device."
        "{% pluralize %}The download link works for {{ count }} days, on any device.{% endtrans %}"
    )
    env = environment(html=False)
    with i18n.using("de"):
        german = [env.from_string(template).render(n=n) for n in (1, 7)]
    with i18n.using("en"):
        english = [env.from_string(template).render(n=n) for n in (1, 7)]
    assert german == [
        "Der Download-Link ist 1 Tag gültig, auf jedem Gerät.",
        "Der Download-Link ist 7 Tage gültig, auf jedem Gerät.",
    ]
    assert english == [
        "The download link works for 1 day, on any device.",
        "The download link works for 7 days, on any device.",
    ]


@pytest.mark.parametrize(
    ("code", "language"),
    [("de", "de"), ("de-AT", "de"), ("de_CH", "de"), ("DE", "de"), ("en", "en"),
     ("en-GB", "en"), ("fr", "en"), ("", "en")],
)  # fmt: skip
def test_the_language_of_a_message_picks_its_words(
    render: MailRenderer, code: str, language: str
) -> None:
    received = parsed(render(None, outside_outbox(code)))  # type: ignore[arg-type]
    assert received.message["Content-Language"] == language
    assert HTMLParser(received.part("html")).css_first("html").attributes["lang"] == language
    assert (
        received.subject
        == {
            "de": "Testnachricht von Pipewise",
            "en": "Test message from Pipewise",
        }[language]
    )


def test_a_mail_keeps_its_language_whatever_the_request_around_it_speaks(
    render: MailRenderer,
) -> None:
    """A console page in German queues or previews an English lead's mail: the mail reads
    English, and the page goes on in German."""
    with i18n.using("de"):
        received = parsed(render(None, outside_outbox("en")))  # type: ignore[arg-type]
        assert i18n.current() == "de"
        assert i18n.gettext("Unsubscribe") == "Abmelden"
    assert received.subject == "Test message from Pipewise"
    assert "This message shows that Leadshelf can send" in text_of(received)


# --- every kind of mail, wholly in its language ------------------------------------------------


@functools.cache
def mail_texts() -> list[tuple[str, str]]:
    """(English, German) of every text the mail templates mark, plural forms too."""
    german = i18n.read_catalog("de")
    pairs: list[tuple[str, str]] = []
    for message in catalogs.extract():
        if not any(path.startswith("templates/email/") for path, _ in message.locations):
            continue
        entry = german.get(message.id, message.context)
        assert entry is not None, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        pairs.extend(zip(ids, strings, strict=True))
    return pairs


def fragments(text: str) -> list[str]:
    """The literal pieces of a text between its placeholders that are long enough to be
    unmistakably that language's (a name like "Webinar" is the same in both)."""
    return [piece.strip() for piece in PLACEHOLDER.split(text) if len(piece.strip()) >= 12]


def kind_values(render: MailRenderer, kind: str, language: str, *, filled: bool) -> dict[str, Any]:
    """Values for every name the kind's template uses: ``filled`` shows its optional parts
    (a first name, an asset title …), else they are left out."""
    source = (resource_path("templates") / "email" / f"{kind}.html").read_text()
    names = jinja2.meta.find_undeclared_variables(environment().parse(source))
    values: dict[str, Any] = {
        **render.common(outside_outbox(language)),
        "marketing": True,
        "unsubscribe_url": "https://portal.example/email/unsubscribe?t=x",
        "preferences_url": "https://portal.example/email/preferences?t=x",
    }
    for name in names - set(values):
        if name in NUMBERS:
            values[name] = NUMBERS[name]
        elif name == "body_html":
            values[name] = Markup("<p>Body</p>")
        else:
            values[name] = "Ada" if filled else ""
    return values


def readable(html: str, text: str, subject: str) -> str:
    """What the reader sees of a mail: subject, the HTML part's text, the plain text."""
    seen = HTMLParser(html).body
    assert seen is not None
    return "\n".join((subject, seen.text(separator=" "), text))


@pytest.mark.parametrize("kind", sorted(contexts()))
@pytest.mark.parametrize("filled", [True, False], ids=["filled", "bare"])
def test_every_kind_of_mail_reads_wholly_in_its_language(
    render: MailRenderer, kind: str, filled: bool
) -> None:
    german = readable(*render.parts(kind, kind_values(render, kind, "de", filled=filled)))
    english = readable(*render.parts(kind, kind_values(render, kind, "en", filled=filled)))
    english_left = sorted(
        {piece for en, de in mail_texts() if en != de for piece in fragments(en) if piece in german}
    )
    german_in_english = sorted(
        {
            piece
            for en, de in mail_texts()
            if en != de
            for piece in fragments(de)
            if piece in english
        }
    )
    assert english_left == []
    assert german_in_english == []
    assert german != english
