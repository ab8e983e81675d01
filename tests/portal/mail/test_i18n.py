"""Mail in English and German: every text a mail template marks for translation has its
German, and the language of a message picks the catalog."""

from __future__ import annotations

import pytest

from portal.mail import i18n
from portal.mail.render import environment, kind_catalogs
from portal.resources import resource_path


def _marked() -> list[tuple[str, str]]:
    """(template, message id) of every marked text of the mail templates."""
    env = environment("de")
    found: list[tuple[str, str]] = []
    for path in sorted((resource_path("templates") / "email").iterdir()):
        if path.suffix not in (".html", ".txt"):
            continue
        source = path.read_text(encoding="utf-8")
        for _line, _function, message in env.extract_translations(source):  # type: ignore[attr-defined]
            ids = message if isinstance(message, tuple) else (message,)
            found.extend((path.name, msgid) for msgid in ids[:1] if msgid)
    return found


def test_every_marked_text_of_the_mail_templates_has_its_german() -> None:
    german: dict[str, i18n.Entry] = dict(i18n.GERMAN)
    for messages in kind_catalogs():
        german.update(messages)
    marked = _marked()
    assert ("layout.html", "Unsubscribe") in marked
    missing = sorted({f"{name}: {msgid!r}" for name, msgid in marked if msgid not in german})
    assert missing == []


def test_a_trans_block_reads_in_the_message_language() -> None:
    template = "{% trans %}Test message from {{ brand }}{% endtrans %}"
    assert environment("de").from_string(template).render(brand="A & B") == (
        "Testnachricht von A &amp; B"
    )
    assert environment("de", html=False).from_string(template).render(brand="A & B") == (
        "Testnachricht von A & B"
    )
    assert environment("en").from_string(template).render(brand="A") == "Test message from A"


def test_plurals_take_the_pair_of_the_catalog() -> None:
    catalog = i18n.Catalog({"%(count)s day": ("%(count)s Tag", "%(count)s Tage")})
    template = "{% trans count=n %}{{ count }} day{% pluralize %}{{ count }} days{% endtrans %}"
    env = environment("en")
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    rendered = [env.from_string(template).render(n=n) for n in (1, 7)]
    assert rendered == ["1 Tag", "7 Tage"]
    assert catalog.ngettext("untranslated", "untranslated ones", 2) == "untranslated ones"


@pytest.mark.parametrize(
    ("code", "language"),
    [("de", "de"), ("de-AT", "de"), ("de_CH", "de"), ("DE", "de"), ("en", "en"),
     ("en-GB", "en"), ("fr", "en"), ("", "en"), (None, "en")],
)  # fmt: skip
def test_the_language_of_a_message(code: str | None, language: str) -> None:
    assert i18n.language(code) == language
