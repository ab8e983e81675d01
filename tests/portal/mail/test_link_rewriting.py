"""Which links of a mail are wrapped in a click URL, how the text part writes links out, and
which click tokens are honoured."""

from __future__ import annotations

import pytest

from portal.mail.links import Links, read_click, read_open
from portal.mail.plaintext import html_to_text
from portal.mail.render import rewrite_html, rewrite_text
from portal.signing import Purpose, Signer
from tests.support import TEST_SECRET_KEYS

SIGNER = Signer(TEST_SECRET_KEYS)
LINKS = Links(SIGNER, "https://content.pipewise.example/")


def _marked(url: str) -> str:
    return f"[{url}]" if LINKS.tracked(url) else url


@pytest.mark.parametrize(
    ("url", "tracked"),
    [
        ("https://content.pipewise.example/library/pricing-guide", True),
        ("https://analyst.example/report", True),
        ("http://analyst.example/report", True),
        ("https://content.pipewise.example/email/unsubscribe?t=x", False),
        ("https://content.pipewise.example/email/preferences?t=x", False),
        ("https://content.pipewise.example/email/confirm?t=x", False),
        ("https://content.pipewise.example/email/continue?t=x", False),
        ("https://content.pipewise.example/emails-we-sent", True),
        ("mailto:sales@pipewise.example", False),
        ("tel:+4940123", False),
        ("/library", False),
    ],
)
def test_which_links_are_tracked(url: str, tracked: bool) -> None:
    assert LINKS.tracked(url) is tracked


def test_html_links_are_rewritten_with_their_entities_read() -> None:
    document = (
        '<p><a class="button" href="https://a.example/x?b=1&amp;c=2">Go</a> '
        "<a href='https://b.example/'>B</a> "
        '<A HREF="https://content.pipewise.example/email/unsubscribe?t=u">Unsubscribe</A> '
        '<img src="https://cdn.example/logo.png"> <link href="https://c.example/s.css"></p>'
    )
    assert rewrite_html(document, _marked) == (
        '<p><a class="button" href="[https://a.example/x?b=1&amp;c=2]">Go</a> '
        "<a href='[https://b.example/]'>B</a> "
        '<A HREF="https://content.pipewise.example/email/unsubscribe?t=u">Unsubscribe</A> '
        '<img src="https://cdn.example/logo.png"> <link href="https://c.example/s.css"></p>'
    )


@pytest.mark.parametrize(
    ("text", "rewritten"),
    [
        ("Read: https://a.example/x?y=1", "Read: [https://a.example/x?y=1]"),
        ("See https://a.example/x.", "See [https://a.example/x]."),
        ("(https://a.example/x), then", "([https://a.example/x]), then"),
        ("https://en.example/wiki/A_(b)!", "[https://en.example/wiki/A_(b)]!"),
        ("<https://a.example/x>", "<[https://a.example/x]>"),
        ("Abmelden: https://content.pipewise.example/email/unsubscribe?t=u",
         "Abmelden: https://content.pipewise.example/email/unsubscribe?t=u"),
        ("no links at all", "no links at all"),
        ("ftp://a.example/x", "ftp://a.example/x"),
    ],
)  # fmt: skip
def test_text_links_are_rewritten_without_their_punctuation(text: str, rewritten: str) -> None:
    assert rewrite_text(text, _marked) == rewritten


def test_the_text_of_html_keeps_paragraphs_lists_and_links() -> None:
    text = html_to_text(
        "<h1>Hello &amp; welcome</h1>\n"
        '<p>Read the <a href="https://a.example/g?x=1&amp;y=2">pricing\n   guide</a> first.'
        "<br>Then ask us.</p>\n"
        '<p><a class="button" href="https://a.example/go">Confirm</a></p>'
        "<ul><li>One</li><li>Two <b>bold</b></li></ul>"
        '<p><a href="https://a.example/raw">https://a.example/raw</a></p>'
        '<p>Write to <a href="mailto:hi@a.example">us</a>. <img src="x.png" alt="logo"></p>'
        "<style>p { color: red }</style>"
    )
    assert text == (
        "Hello & welcome\n\n"
        "Read the pricing guide (https://a.example/g?x=1&y=2) first.\nThen ask us.\n\n"
        "Confirm:\nhttps://a.example/go\n\n"
        "- One\n- Two bold\n\n"
        "https://a.example/raw\n\n"
        "Write to us (mailto:hi@a.example)."
    )


def test_a_click_token_holds_its_message_and_target() -> None:
    url = LINKS.click(42, "https://analyst.example/report?y=1")
    assert url.startswith("https://content.pipewise.example/email/click?t=")
    click = read_click(SIGNER, url.split("t=", 1)[1])
    assert click is not None
    assert (click.message_id, click.target) == (42, "https://analyst.example/report?y=1")
    assert read_open(SIGNER, LINKS.open_pixel(42).split("t=", 1)[1]) == 42


@pytest.mark.parametrize(
    "value",
    [
        {"m": 1, "u": "javascript:alert(1)"},
        {"m": 1, "u": "//evil.example"},
        {"m": 0, "u": "https://a.example"},
        {"m": True, "u": "https://a.example"},
        {"m": "1", "u": "https://a.example"},
        {"m": 1},
        [1, "https://a.example"],
    ],
)
def test_click_tokens_that_do_not_hold_a_message_and_a_web_link_are_refused(value: object) -> None:
    assert read_click(SIGNER, SIGNER.sign(Purpose.EMAIL_CLICK, value)) is None


def test_tokens_of_other_purposes_or_keys_are_refused() -> None:
    target = {"m": 1, "u": "https://a.example"}
    assert read_click(SIGNER, SIGNER.sign(Purpose.EMAIL_OPEN, target)) is None
    assert read_click(SIGNER, SIGNER.sign(Purpose.EMAIL_LINK, target)) is None
    other = Signer(("another-secret-key-0123456789abcdef",))
    assert read_click(SIGNER, other.sign(Purpose.EMAIL_CLICK, target)) is None
    assert read_open(SIGNER, SIGNER.sign(Purpose.EMAIL_CLICK, {"m": 1})) is None
    assert read_click(SIGNER, "") is None
    assert read_click(SIGNER, "x" * 9000) is None
