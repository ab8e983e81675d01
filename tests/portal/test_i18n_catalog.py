"""The German catalog is complete and every template's text is marked for translation.

Two failures this guards against, both invisible in English: a text marked in code or a
template (``_("…")``, ``{% trans %}``) that the German catalog lacks (or has only as a fuzzy
guess, or with other placeholders), and text written into a template without a mark, which no
catalog can ever translate. Run ``make messages`` after marking, then write the German in
``portal/locale/de/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from portal import catalogs, i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path.relative_to(ROOT / "templates").as_posix()
    for pattern in ("**/*.html", "**/*.txt")
    for path in (ROOT / "templates").glob(pattern)
)

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@functools.cache
def marked() -> dict[str, set[str]]:
    """Every marked message id (the singular of a plural) and the files marking it."""
    found: dict[str, set[str]] = {}
    for message in catalogs.extract():
        if message.id:
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            key = f"{message.context}\x04{msgid}" if message.context else msgid
            found.setdefault(key, set()).update(path for path, _ in message.locations)
    return found


def test_the_catalog_marks_texts_in_code_and_templates() -> None:
    assert len(marked()) > 100
    assert "Unsubscribe" in marked()


TRANSLATED = i18n.LANGUAGES[1:]
"""Every language but English, whose texts are the message ids."""


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_marked_text_has_its_translation(lang: str) -> None:
    catalog = i18n.read_catalog(lang)
    missing = []
    for msgid, files in sorted(marked().items()):
        context, _, bare = msgid.rpartition("\x04")
        entry = catalog.get(bare, context=context or None)
        strings = () if entry is None else (
            (entry.string,) if isinstance(entry.string, str) else entry.string
        )  # fmt: skip
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"{bare!r} ({', '.join(sorted(files))})")
    assert not missing, f"{len(missing)} text(s) without {lang}:\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders_of_the_english(lang: str) -> None:
    wrong = []
    for entry in i18n.read_catalog(lang):
        if not entry.id or not entry.string:
            continue
        ids = (entry.id,) if isinstance(entry.id, str) else entry.id
        strings = (entry.string,) if isinstance(entry.string, str) else entry.string
        wanted = set().union(*(PLACEHOLDER.findall(text) for text in ids)) - {"num"}
        for text in strings:
            if text and set(PLACEHOLDER.findall(text)) - {"num"} != wanted:
                wrong.append(f"{ids[0]!r} -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_german_texts_are_read_from_the_catalog() -> None:
    with i18n.using("de"):
        assert i18n.gettext("Unsubscribe") == "Abmelden"
    with i18n.using("en"):
        assert i18n.gettext("Unsubscribe") == "Unsubscribe"
    assert "de" in TRANSLATED


# --- unmarked text in templates ---------------------------------------------------------------

TEXT_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "label"}
SKIPPED_ELEMENTS = {"script", "style", "code", "pre", "kbd", "samp", "svg"}
WORD = re.compile(r"[A-Za-zÄÖÜäöüß]{2,}")
SAME_IN_BOTH = {
    # names and codes a German page writes as they are
    "CSV", "JSON", "API", "UTM", "URL", "URLs", "HTML", "YAML", "SMTP", "DKIM", "ID", "OK",
    "MQL", "MQLs", "SQL", "SQLs", "BANT", "IP", "UTC", "PDF", "Leadshelf", "htmx", "Webhook",
    "Webhooks", "ICS", "Status", "Name", "Account", "Accounts", "Lead", "Leads", "Details",
    "Deutsch", "English", "CRM", "LinkedIn", "Google",
}  # fmt: skip
EXPRESSION = "\x00"


def skeleton(source: str, env: jinja2.Environment) -> str:
    """The template's literal text outside ``{% trans %}`` blocks, each expression, tag and
    comment replaced by a NUL (what a reader sees that no catalog translates)."""
    parts: list[str] = []
    depth = 0
    tokens = [token for token in env.lex(source) if token[1] != "whitespace"]
    for index, (_line, kind, value) in enumerate(tokens):
        if kind == "name" and index and tokens[index - 1][1] == "block_begin":
            if value == "trans":
                depth += 1
            elif value == "endtrans":
                depth -= 1
        if kind == "data" and depth == 0:
            parts.append(value)
        elif kind in ("variable_begin", "block_begin"):
            parts.append(EXPRESSION)
    return "".join(parts)


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_ELEMENTS:
            self.skipping += 1
        names = dict(attrs)
        for name, value in attrs:
            if value and (
                name in TEXT_ATTRIBUTES
                or (name == "content" and names.get("name") == "description")
                or (name == "value" and names.get("type") in ("submit", "button"))
            ):
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_ELEMENTS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.found.append(data)


def unmarked(source: str, env: jinja2.Environment) -> Iterator[str]:
    parser = _Texts()
    parser.feed(skeleton(source, env))
    for text in parser.found:
        for piece in text.split(EXPRESSION):
            words = [word for word in WORD.findall(piece) if word not in SAME_IN_BOTH]
            if words:
                yield " ".join(piece.split())


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_templates_text_is_marked_for_translation(name: str) -> None:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    source = (ROOT / "templates" / name).read_text()
    found = sorted(set(unmarked(source, env)))
    assert not found, f"templates/{name}: text not marked for translation:\n" + "\n".join(found)
