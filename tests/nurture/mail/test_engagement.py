"""The rules of engagement from mail: which opens are a machine's, which links lead to an
asset of the library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nurture.mail.engagement import MACHINE_OPEN_WITHIN, asset_slug, machine_click, machine_open

SENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = SENT + timedelta(hours=2)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"


@pytest.mark.parametrize(
    ("sent_at", "at", "agent", "address", "machine"),
    [
        pytest.param(SENT, LATER, FIREFOX, "198.51.100.7", None, id="a-person-in-a-browser"),
        pytest.param(SENT, LATER, OUTLOOK, "198.51.100.7", None, id="a-person-in-outlook"),
        pytest.param(SENT, LATER, FIREFOX, "2001:db8::1", None, id="a-person-on-ipv6"),
        pytest.param(SENT, LATER, FIREFOX, "unknown", None, id="no-address-known"),
        pytest.param(SENT, SENT + MACHINE_OPEN_WITHIN, FIREFOX, "198.51.100.7", None,
                     id="just-late-enough"),
        pytest.param(SENT, SENT + timedelta(seconds=3), FIREFOX, "198.51.100.7",
                     "within 10 s of delivery", id="seconds-after-delivery"),
        pytest.param(SENT, SENT - timedelta(seconds=1), FIREFOX, "198.51.100.7",
                     "within 10 s of delivery", id="before-delivery"),
        pytest.param(None, LATER, FIREFOX, "198.51.100.7", "within 10 s of delivery",
                     id="delivery-not-recorded-yet"),
        pytest.param(SENT, LATER, GMAIL, "66.249.84.1", "Google image proxy", id="gmail"),
        pytest.param(SENT, LATER, YAHOO, "98.136.1.1", "Yahoo image proxy", id="yahoo"),
        pytest.param(SENT, LATER, "Mozilla/5.0", "104.28.1.1", "Apple Mail Privacy Protection",
                     id="apple-agent"),
        pytest.param(SENT, LATER, FIREFOX, "17.58.101.3", "Apple Mail Privacy Protection",
                     id="apple-network"),
        pytest.param(SENT, LATER, "", "198.51.100.7", "no user agent", id="no-agent"),
    ],
)  # fmt: skip
def test_machine_open(
    sent_at: datetime | None, at: datetime, agent: str, address: str, machine: str | None
) -> None:
    assert machine_open(sent_at, at, agent, address) == machine


SAFE_LINKS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) BingPreview/1.0b"


@pytest.mark.parametrize(
    ("sent_at", "at", "agent", "machine"),
    [
        pytest.param(SENT, LATER, FIREFOX, None, id="a-person-in-a-browser"),
        pytest.param(SENT, SENT + MACHINE_OPEN_WITHIN, FIREFOX, None, id="just-late-enough"),
        pytest.param(SENT, SENT + timedelta(seconds=2), FIREFOX, "within 10 s of delivery",
                     id="a-scanner-as-the-mail-arrives"),
        pytest.param(None, LATER, FIREFOX, "within 10 s of delivery",
                     id="delivery-not-recorded-yet"),
        pytest.param(SENT, LATER, SAFE_LINKS, "Microsoft link preview", id="bing-preview"),
        pytest.param(SENT, LATER, "Mimecast-Scanner/2.1", "Mimecast link scanner",
                     id="mimecast"),
        pytest.param(SENT, LATER, "python-requests/2.32", "a script", id="a-script"),
        pytest.param(SENT, LATER, "  ", "no user agent", id="no-agent"),
        pytest.param(SENT, LATER, OUTLOOK, None, id="outlook-opens-the-browser"),
    ],
)  # fmt: skip
def test_machine_click(
    sent_at: datetime | None, at: datetime, agent: str, machine: str | None
) -> None:
    assert machine_click(sent_at, at, agent) == machine


BASE = "https://content.pipewise.example"


@pytest.mark.parametrize(
    ("target", "base", "slug"),
    [
        (f"{BASE}/library/pricing-guide", BASE, "pricing-guide"),
        (f"{BASE}/library/pricing-guide?utm_source=mail", BASE, "pricing-guide"),
        (f"{BASE}/library/pricing-guide/download?t=abc", BASE, "pricing-guide"),
        (f"{BASE}/library/pricing-guide#faq", BASE + "/", "pricing-guide"),
        ("https://CONTENT.pipewise.example/library/caf%C3%A9", BASE, "café"),
        (f"{BASE}/library", BASE, None),
        (f"{BASE}/library/", BASE, None),
        (f"{BASE}/", BASE, None),
        (f"{BASE}/email/preferences?t=x", BASE, None),
        ("https://evil.example/library/pricing-guide", BASE, None),
        ("http://content.pipewise.example/library/pricing-guide", BASE, None),
        ("https://pipewise.example/portal/library/a", "https://pipewise.example/portal", "a"),
        ("https://pipewise.example/library/a", "https://pipewise.example/portal", None),
    ],
)
def test_asset_slug(target: str, base: str, slug: str | None) -> None:
    assert asset_slug(target, base) == slug
