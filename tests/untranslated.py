"""Which English texts of the catalog a German page still shows: the check behind the German
page tests, over HTTP (``tests/portal/test_public_german.py``) and in Chromium
(``tests/e2e/test_german_journey.py``).

Every marked English text whose German differs becomes a pattern (its placeholders match any
text, its inline HTML is dropped); a page fails for each text node, each element's whole text
and each text attribute (``placeholder``, ``aria-label``, ``title``, ``alt``, a button's value,
the description) that reads exactly like one of them. What the page marks as another language
(``lang="en"`` around an English asset's title and summary) is not the page's own words and is
skipped, as are scripts and styles. Words German writes alike ("Webinar", "Status") cannot
fail, and neither can a title that merely contains an English word.
"""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser

from portal import i18n

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TAG = re.compile(r"<[^>]+>")
TEXT_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt", "label")
SKIPPED = {"script", "style", "template", "noscript", "code", "pre"}
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


def _shown(text: str) -> str:
    return " ".join(TAG.sub("", text).split())


@functools.cache
def english_patterns(lang: str = "de") -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each English text of the catalog whose ``lang`` translation differs, as a pattern."""
    found: dict[str, re.Pattern[str]] = {}
    for entry in i18n.read_catalog(lang):
        if not entry.id or not entry.string:
            continue
        ids = (entry.id,) if isinstance(entry.id, str) else tuple(entry.id)
        strings = (entry.string,) if isinstance(entry.string, str) else tuple(entry.string)
        translated = {_shown(text) for text in strings if text}
        for english in ids:
            shown = _shown(english)
            words = re.findall(r"[A-Za-z]+", PLACEHOLDER.sub(" ", shown))
            if shown in translated or not words:
                continue
            if PLACEHOLDER.search(shown) and max(len(word) for word in words) < 4:
                continue  # "%(first)s and %(last)s" would read every sentence with an "and"
            pieces = [re.escape(piece) for piece in PLACEHOLDER.split(shown)]
            found[shown] = re.compile(r".+?".join(pieces))
    return tuple(found.items())


class _PageTexts(HTMLParser):
    """The texts of a page in its own language: text nodes, element texts, text attributes."""

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.texts: list[str] = []
        self.open: list[tuple[str, str, bool, list[str]]] = []
        """(tag, language, skipped, text parts) of each open element."""

    def _context(self) -> tuple[str, bool]:
        if not self.open:
            return self.lang, False
        _, lang, skipped, _ = self.open[-1]
        return lang, skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name: value or "" for name, value in attrs}
        lang, skipped = self._context()
        lang = (names.get("lang") or lang).split("-")[0].lower()
        skipped = skipped or tag in SKIPPED
        if lang == self.lang and not skipped:
            for name in TEXT_ATTRIBUTES:
                if names.get(name):
                    self.texts.append(names[name])
            if tag == "meta" and names.get("name") == "description":
                self.texts.append(names.get("content", ""))
            if tag == "input" and names.get("type") in ("submit", "button"):
                self.texts.append(names.get("value", ""))
        if tag not in VOID:
            self.open.append((tag, lang, skipped, []))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _, _, _ in self.open):
            return
        while self.open:
            open_tag, lang, skipped, parts = self.open.pop()
            if lang == self.lang and not skipped:
                self.texts.append("".join(parts))
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        lang, skipped = self._context()
        if skipped:
            return
        if lang != self.lang:
            return  # another language's words (an English asset's title): not the page's
        self.texts.append(data)
        for _, open_lang, _, parts in self.open:
            if open_lang == lang:
                parts.append(data)


def page_texts(page: str, lang: str = "de") -> set[str]:
    """The texts a reader of ``lang`` sees on the page, whitespace collapsed."""
    parser = _PageTexts(lang)
    parser.feed(page)
    parser.close()
    return {" ".join(text.split()) for text in parser.texts} - {""}


def untranslated(page: str, lang: str = "de") -> list[str]:
    """The page's texts that read like English from the catalog: "text (as msgid)"."""
    found = []
    for text in sorted(page_texts(page, lang)):
        for english, pattern in english_patterns(lang):
            if pattern.fullmatch(text):
                found.append(f"{text!r} (as {english!r})")
                break
    return found
