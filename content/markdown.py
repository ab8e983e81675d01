"""Markdown bodies rendered to sanitized HTML: nothing an editor types runs in a browser."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "s", "del",
    "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody",
    "tr", "th", "td", "sup", "sub", "mark", "abbr",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
    "ol": {"start"},
}
_URL_SCHEMES = {"http", "https", "mailto"}

# html=False: raw HTML in Markdown is shown as text, not parsed; nh3 is the second wall.
_markdown = MarkdownIt(
    "commonmark", {"html": False, "linkify": False, "typographer": False}
).enable(["table", "strikethrough"])


def render_markdown(source: str) -> str:
    """Safe HTML for a Markdown body (headings start at h2: the page title is the h1)."""
    html = _markdown.render(source or "")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return sanitize_html(html)


def sanitize_html(html: str) -> str:
    """Keep only a small allowlist of tags, attributes and URL schemes."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener nofollow ugc",
        strip_comments=True,
    )


def word_count(text: str) -> int:
    return len(text.split())


def reading_minutes(words: int, pdf_pages: int | None = None) -> int:
    """Minutes to read: 230 words a minute, or 3 minutes a PDF page when the PDF is longer."""
    from_words = -(-words // 230)
    from_pages = 3 * (pdf_pages or 0)
    return max(1, from_words, from_pages)
