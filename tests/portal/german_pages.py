"""Console pages read for their language: the texts a reader sees on a page, and those the
German catalog has in the other language (English left on a German page, German on an
English one). Compared with the catalog, not with a list of expected words, so a text marked
and translated later is checked too."""

from __future__ import annotations

import functools
import re

from selectolax.lexbor import LexborHTMLParser

from portal import i18n

SKIPPED = {"script", "style", "code", "pre", "textarea", "svg", "head"}
"""Elements whose text is no reader-facing wording (machine names, typed text)."""
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


@functools.cache
def _wording() -> tuple[dict[str, str], dict[str, str]]:
    """English → German and German → English, for every catalog entry whose German differs
    and whose words can stand on a page as they are (no placeholders, no markup)."""
    english, german = {}, {}
    for entry in i18n.read_catalog("de"):
        if not entry.id or not isinstance(entry.id, str) or not isinstance(entry.string, str):
            continue
        if not entry.string or entry.string == entry.id or PLACEHOLDER.search(entry.id):
            continue
        english[entry.id] = entry.string
        german[entry.string] = entry.id
    return english, german


def _shown(tree: LexborHTMLParser) -> list[str]:
    """Every text a reader sees on the page, whitespace collapsed: text nodes outside
    ``SKIPPED`` elements and the attributes screen readers and tooltips read."""
    found = []
    body = tree.body
    assert body is not None
    for node in body.traverse(include_text=True):
        if node.tag != "-text":
            continue
        parent, skipped = node.parent, False
        while parent is not None and parent.tag != "body":
            skipped = skipped or parent.tag in SKIPPED
            parent = parent.parent
        text = " ".join((node.text_content or "").split())
        if text and not skipped:
            found.append(text)
    for element in body.css(",".join(f"[{name}]" for name in ATTRIBUTES)):
        for name in ATTRIBUTES:
            value = " ".join((element.attributes.get(name) or "").split())
            if value:
                found.append(value)
    return found


def untranslated(tree: LexborHTMLParser) -> list[str]:
    """Texts on a German page that the catalog has in German: a whole text that is an English
    message (unless it is the German of another one too, as "Download" is), or a sentence of
    one inside a longer text."""
    english, german = _wording()
    shown = _shown(tree)
    page = " ".join(shown)
    whole = [text for text in shown if text in english and text not in german]
    sentences = [
        message
        for message in english
        if len(message) >= 30 and "<" not in message and message in page
    ]
    return sorted(set(whole + sentences))


@functools.cache
def _english() -> frozenset[str]:
    """Every English message of the catalog, those written the same in German too."""
    return frozenset(
        entry.id for entry in i18n.read_catalog("de") if entry.id and isinstance(entry.id, str)
    )


def german_on(tree: LexborHTMLParser) -> list[str]:
    """Texts on an English page that are the catalog's German for something (and no English
    message: "MQL" is both)."""
    _, german = _wording()
    return sorted(
        {
            text
            for text in _shown(tree)
            if text in german and text not in _english() and not text.isupper()  # "MQL"
        }
    )
