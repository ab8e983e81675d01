"""Plain text for the search index (from Markdown bodies and PDFs) and safe HTML snippets of it."""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pypdf import PdfReader

from content.printable import printable_text

logger = logging.getLogger(__name__)

# The same dialect content.markdown renders, so the index sees what visitors read.
# html=False: raw HTML in a body stays literal text, exactly as the page shows it.
_markdown = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False}
).enable(["table", "strikethrough"])
_INLINE_TEXT = {"text", "code_inline", "image", "html_inline"}
_CODE_BLOCKS = {"fence", "code_block", "html_block"}
_SPACES = re.compile(r"[^\S\n]+")
_HYPHENATED = re.compile(r"(\w)-\n(\w)")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def markdown_to_text(markdown: str) -> str:
    """The words of a Markdown body without markup: one paragraph, heading or cell per block.

    Link targets and image URLs are left out; image alt texts and code are kept.
    """
    blocks: list[str] = []
    for token in _markdown.parse(markdown or ""):
        if token.type == "inline":
            blocks.append(_inline_text(token.children or []))
        elif token.type in _CODE_BLOCKS:
            blocks.append(token.content)
    cleaned = (_SPACES.sub(" ", block).strip() for block in blocks)
    return "\n\n".join(block for block in cleaned if block)


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in _INLINE_TEXT:
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
    return "".join(parts)


class PdfText(NamedTuple):
    """The text of a PDF as far as it was read: ``pages_read`` of ``pages``; ``cut`` when the
    text was shortened to the character cap."""

    text: str
    pages: int
    pages_read: int
    cut: bool


def read_pdf_text(
    data: bytes, max_pages: int | None = None, max_chars: int | None = None
) -> PdfText:
    """The text of a PDF, from at most ``max_pages`` pages and cut to ``max_chars`` characters.

    Raises whatever pypdf raises on a broken file, and ValueError on an encrypted one.
    """
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("the PDF is encrypted")
    pages = len(reader.pages)
    texts: list[str] = []
    length, read = 0, 0
    for page in reader.pages[: max_pages if max_pages is not None else pages]:
        read += 1
        text = _clean_pdf_text(page.extract_text() or "")
        if text:
            texts.append(text)
            length += len(text) + 2
        if max_chars is not None and length > max_chars:
            break
    text = "\n\n".join(texts)
    if max_chars is None or len(text) <= max_chars:
        return PdfText(text, pages, read, False)
    return PdfText(text[: _word_end(text, max_chars, 0)].rstrip(), pages, read, True)


def pdf_text_and_pages(data: bytes) -> tuple[str, int]:
    """(text, page count) of a PDF; ("", 0) when it cannot be read (broken, encrypted, not a PDF).

    Unbounded: files from outside are read through ``content.extraction``, in a child
    process with a time and memory limit.
    """
    try:
        text, pages, _, _ = read_pdf_text(data)
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        logger.info("PDF text extraction failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return "", 0
    return text, pages


def _clean_pdf_text(text: str) -> str:
    # NUL bytes occur in extracted text and PostgreSQL refuses them in text columns; other
    # control characters and lone surrogates (from broken font maps) are no text either.
    text = printable_text(text.replace("\x00", ""), " ")
    text = _HYPHENATED.sub(r"\1\2", text)
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


# Snippets: a window of text around the first match, escaped, matches in <mark>.

# A word as the search index tokenizes it ("e.g" and "v2.1" stay whole).
WORD = re.compile(r"\w+(?:\.\w+)*")
SNIPPET_CHARS = 240
SNIPPET_LEAD_IN = 60
LEAD_CHARS = 200
_WHITESPACE = re.compile(r"\s+")
_ELLIPSIS = "\u2026"


def snippet_html(text: str, is_match: Callable[[str], bool], width: int = SNIPPET_CHARS) -> str:
    """Safe HTML: about ``width`` characters of ``text`` from just before its first matching word.

    Every word ``is_match`` accepts within the window is wrapped in ``<mark>``;
    all of ``text`` is escaped. Returns "" when no word matches.
    """
    first = next((word for word in WORD.finditer(text) if is_match(word.group())), None)
    if first is None:
        return ""
    start = _word_start(text, max(0, first.start() - SNIPPET_LEAD_IN), first.start())
    end = _word_end(text, max(start + width, first.end()), first.end())
    parts: list[str] = []
    position = start
    for word in WORD.finditer(text, first.start(), end):
        if is_match(word.group()):
            parts.append(html.escape(text[position : word.start()]))
            parts.append(f"<mark>{html.escape(word.group())}</mark>")
            position = word.end()
    parts.append(html.escape(text[position:end]))
    return _with_ellipses("".join(parts), start > 0, end < len(text))


def lead_html(text: str, width: int = LEAD_CHARS) -> str:
    """Safe HTML: the first ``width`` or so characters of ``text``, cut at a word boundary."""
    end = _word_end(text, width, 0)
    return _with_ellipses(html.escape(text[:end]), False, end < len(text))


def _word_start(text: str, at: int, limit: int) -> int:
    if at == 0:
        return 0
    space = _WHITESPACE.search(text, at, limit)
    return space.end() if space else limit


def _word_end(text: str, at: int, minimum: int) -> int:
    if at >= len(text):
        return len(text)
    space = max(text.rfind(" ", minimum, at + 1), text.rfind("\n", minimum, at + 1))
    return space if space >= minimum else at


def _with_ellipses(fragment: str, before: bool, after: bool) -> str:
    fragment = _WHITESPACE.sub(" ", fragment).strip()
    if not fragment:
        return ""
    return f"{_ELLIPSIS} " * before + fragment + f" {_ELLIPSIS}" * after
