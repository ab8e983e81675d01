"""Markdown bodies: nothing an editor types runs in a visitor's browser, and the basics render."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from selectolax.lexbor import LexborHTMLParser

from content.markdown import reading_minutes, render_markdown, sanitize_html

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![pic](javascript:alert(1))",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![pic](data:image/png;base64,iVBORw0KGgo=)",
    '<iframe src="https://evil.example"></iframe>',
    "<iframe src=javascript:alert(1)></iframe>",
    '<object data="evil.swf"></object><embed src="evil.swf">',
    "<style>body { background: url(javascript:alert(1)) }</style>",
    '<p style="color:red" onclick="alert(1)" onmouseover="alert(2)">hi</p>',
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">CLICK</math>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<form action=javascript:alert(1)><button>go</button></form>",
    "<base href=javascript:alert(1)//>",
    '<body onload="alert(1)">',
    "<template><script>alert(1)</script></template>",
    "**bold** <img src=x onerror=alert(1)> and [ok](https://example.com)",
]

FORBIDDEN_TAGS = ("script", "iframe", "object", "embed", "style")
FORBIDDEN_SCHEMES = ("javascript:", "vbscript:", "data:")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")

# Both walls: the Markdown renderer as pages use it, and the HTML sanitizer on its own.
RENDERERS: dict[str, Callable[[str], str]] = {
    "render_markdown": render_markdown,
    "sanitize_html": sanitize_html,
}


def _scheme_danger(url: str) -> bool:
    cleaned = _INVISIBLE.sub("", url).lower()
    return cleaned.startswith(FORBIDDEN_SCHEMES)


@pytest.mark.parametrize("renderer", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_renders_harmless(payload: str, renderer: Callable[[str], str]) -> None:
    tree = LexborHTMLParser(renderer(payload))
    for tag in FORBIDDEN_TAGS:
        assert tree.css(tag) == [], f"<{tag}> survived"
    for node in tree.css("*"):
        for name, value in node.attributes.items():
            assert not name.lower().startswith("on"), f"{name} survived on <{node.tag}>"
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                assert not _scheme_danger(value or ""), f"{name}={value!r} survived"


def test_raw_html_in_markdown_is_shown_as_text() -> None:
    tree = LexborHTMLParser(render_markdown("Before <b>bold</b> after"))
    paragraph = tree.css_first("p")
    assert paragraph is not None
    assert tree.css("b") == []
    assert paragraph.text() == "Before <b>bold</b> after"


def test_first_level_heading_becomes_h2() -> None:
    tree = LexborHTMLParser(render_markdown("# The guide\n\n## Part one\n\nText."))
    assert tree.css("h1") == []
    assert [h.text() for h in tree.css("h2")] == ["The guide", "Part one"]


def test_table_renders() -> None:
    source = "| Plan | Seats |\n|:-----|------:|\n| Team | 10 |\n| Pro | 50 |\n"
    tree = LexborHTMLParser(render_markdown(source))
    assert [th.text() for th in tree.css("table thead th")] == ["Plan", "Seats"]
    rows = [[td.text() for td in tr.css("td")] for tr in tree.css("table tbody tr")]
    assert rows == [["Team", "10"], ["Pro", "50"]]


def test_link_keeps_href_and_gets_nofollow() -> None:
    html = render_markdown('Read [the report](https://example.com/report?a=1&b=2 "Report").')
    link = LexborHTMLParser(html).css_first("a")
    assert link is not None
    assert link.attributes["href"] == "https://example.com/report?a=1&b=2"
    assert link.attributes["title"] == "Report"
    assert "nofollow" in (link.attributes.get("rel") or "").split()
    assert link.text() == "the report"


def test_mailto_link_is_kept() -> None:
    link = LexborHTMLParser(render_markdown("[Write us](mailto:hi@example.com)")).css_first("a")
    assert link is not None
    assert link.attributes["href"] == "mailto:hi@example.com"


def test_code_block_keeps_its_text_escaped() -> None:
    source = "```python\nif a < b:\n    print('<script>')\n```\n\nInline `x = 1`."
    tree = LexborHTMLParser(render_markdown(source))
    block = tree.css_first("pre code")
    assert block is not None
    assert block.text() == "if a < b:\n    print('<script>')\n"
    assert tree.css("script") == []
    assert [c.text() for c in tree.css("p code")] == ["x = 1"]


def test_lists_emphasis_and_images_render() -> None:
    source = "- **one**\n- *two*\n\n![Chart](https://example.com/chart.png)"
    tree = LexborHTMLParser(render_markdown(source))
    assert [li.text() for li in tree.css("ul li")] == ["one", "two"]
    assert tree.css_first("li strong") is not None
    image = tree.css_first("img")
    assert image is not None
    assert image.attributes["src"] == "https://example.com/chart.png"
    assert image.attributes["alt"] == "Chart"


def test_empty_body_renders_nothing() -> None:
    assert render_markdown("").strip() == ""


@pytest.mark.parametrize(
    ("words", "pages", "minutes"),
    [
        (0, None, 1),
        (1, None, 1),
        (230, None, 1),
        (231, None, 2),
        (2300, None, 10),
        (100, 4, 12),
        (4600, 2, 20),
        (0, 0, 1),
    ],
)
def test_reading_minutes(words: int, pages: int | None, minutes: int) -> None:
    assert reading_minutes(words, pages) == minutes
