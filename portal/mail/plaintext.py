"""The plain-text part of a mail, from its HTML body: the same words, links written out.

Used for a kind whose template has no ``text`` block, so the two parts cannot drift apart.
Blocks (paragraphs, headings, list items) become paragraphs; a link becomes
"label (URL)", and a link that is a block of its own (a button) "label:" with the URL on the
next line, where a reader can click or copy it. Images are left out (the text part has no
logo); line breaks are kept.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "tr"}
    | {"blockquote", "hr", "section", "header", "footer"}
)
SKIPPED = frozenset({"style", "script", "head", "title"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.words: list[str] = []
        self.links: list[tuple[str, str]] = []  # (label, url) of this block
        self.other_words = False  # the block has words outside its links
        self.href: str | None = None
        self.label: list[str] = []
        self.skipping = 0
        self.bullet = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in BLOCKS:
            self.flush()
            self.bullet = "- " if tag == "li" else ""
        elif tag == "br":
            self._write("\n")
        elif tag == "a":
            self.href = dict(attrs).get("href") or ""
            self.label = []

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.flush()
        elif tag == "a" and self.href is not None:
            label = _SPACES.sub(" ", "".join(self.label)).strip()
            href, self.href = self.href, None
            if href.startswith(("http://", "https://", "mailto:")) and href != label:
                self.links.append((label, href))
                self.words.append(f"{label} ({href})" if label else href)
            else:
                self.words.append(label)
                self.other_words = self.other_words or bool(label)

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._write(data)

    def _write(self, text: str) -> None:
        if self.href is not None:
            self.label.append(text)
            return
        self.words.append(text)
        if text.strip():
            self.other_words = True

    def flush(self) -> None:
        if len(self.links) == 1 and not self.other_words:
            label, href = self.links[0]
            text = f"{label}:\n{href}" if label else href
        else:
            lines = "".join(self.words).split("\n")
            text = "\n".join(_SPACES.sub(" ", line).strip() for line in lines).strip()
        if text:
            self.blocks.append(self.bullet + text)
        self.words, self.links, self.other_words, self.bullet = [], [], False, ""


def html_to_text(html: str) -> str:
    """The text of an HTML fragment, one paragraph per block, links written out."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser.flush()
    text = ""
    for block in parser.blocks:
        if text:
            # list items stay together; every other block is a paragraph of its own
            text += (
                "\n"
                if block.startswith("- ") and text.rsplit("\n", 1)[-1].startswith("- ")
                else "\n\n"
            )
        text += block
    return text
