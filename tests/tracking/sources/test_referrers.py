"""Referrers classified offline: search engines, social networks, webmails, other sites, us."""

from __future__ import annotations

import pytest

from tracking.sources.referrers import Kind, Referrer, classify, referrer_host, source_kind

OWN = {"library.pipewise.example"}


@pytest.mark.parametrize(
    ("referer", "expected"),
    [
        # search engines, whatever their country domain
        ("https://www.google.com/", Referrer("www.google.com", "google", Kind.SEARCH)),
        (
            "https://www.google.co.uk/search?q=x",
            Referrer("www.google.co.uk", "google", Kind.SEARCH),
        ),
        ("https://www.google.de/", Referrer("www.google.de", "google", Kind.SEARCH)),
        ("https://www.bing.com/search?q=lead", Referrer("www.bing.com", "bing", Kind.SEARCH)),
        ("https://duckduckgo.com/", Referrer("duckduckgo.com", "duckduckgo", Kind.SEARCH)),
        ("https://search.yahoo.co.jp/", Referrer("search.yahoo.co.jp", "yahoo", Kind.SEARCH)),
        ("https://www.ecosia.org/", Referrer("www.ecosia.org", "ecosia", Kind.SEARCH)),
        ("https://search.brave.com/", Referrer("search.brave.com", "brave", Kind.SEARCH)),
        # social networks, their short links and apps
        ("https://www.linkedin.com/", Referrer("www.linkedin.com", "linkedin", Kind.SOCIAL)),
        ("https://lnkd.in/abc", Referrer("lnkd.in", "linkedin", Kind.SOCIAL)),
        ("https://www.xing.com/", Referrer("www.xing.com", "xing", Kind.SOCIAL)),
        ("https://l.facebook.com/l.php", Referrer("l.facebook.com", "facebook", Kind.SOCIAL)),
        ("https://t.co/x1", Referrer("t.co", "x", Kind.SOCIAL)),
        ("https://twitter.com/", Referrer("twitter.com", "x", Kind.SOCIAL)),
        ("https://x.com/pipewise", Referrer("x.com", "x", Kind.SOCIAL)),
        ("https://www.youtube.com/watch", Referrer("www.youtube.com", "youtube", Kind.SOCIAL)),
        ("https://youtu.be/a", Referrer("youtu.be", "youtube", Kind.SOCIAL)),
        (
            "https://news.ycombinator.com/",
            Referrer("news.ycombinator.com", "hackernews", Kind.SOCIAL),
        ),
        (
            "android-app://com.linkedin.android/",
            Referrer("com.linkedin.android", "linkedin", Kind.SOCIAL),
        ),
        # webmails and mail apps
        ("https://mail.google.com/mail/u/0/", Referrer("mail.google.com", "gmail", Kind.EMAIL)),
        ("https://outlook.live.com/", Referrer("outlook.live.com", "outlook", Kind.EMAIL)),
        ("https://outlook.office.com/", Referrer("outlook.office.com", "outlook", Kind.EMAIL)),
        ("https://de.mail.yahoo.com/", Referrer("de.mail.yahoo.com", "yahoo.com", Kind.EMAIL)),
        ("https://navigator.gmx.net/", Referrer("navigator.gmx.net", "gmx", Kind.EMAIL)),
        ("https://email.t-online.de/", Referrer("email.t-online.de", "t-online.de", Kind.EMAIL)),
        (
            "android-app://com.google.android.gm",
            Referrer("com.google.android.gm", "gmail", Kind.EMAIL),
        ),
        # another site: named by its registrable domain
        (
            "https://blog.example.co.uk/post",
            Referrer("blog.example.co.uk", "example.co.uk", Kind.OTHER),
        ),
        (
            "http://partner.example:8080/x",
            Referrer("partner.example", "partner.example", Kind.OTHER),
        ),
        ("http://10.0.0.7/intranet", Referrer("10.0.0.7", "10.0.0.7", Kind.OTHER)),
        (
            "android-app://com.example.reader/",
            Referrer("com.example.reader", "com.example.reader", Kind.OTHER),
        ),
        ("HTTPS://WWW.LinkedIn.COM./feed", Referrer("www.linkedin.com", "linkedin", Kind.SOCIAL)),
        # us, and nothing usable
        ("https://library.pipewise.example/library", Referrer(kind=Kind.INTERNAL)),
        ("https://library.pipewise.example:443/x", Referrer(kind=Kind.INTERNAL)),
        (None, Referrer()),
        ("", Referrer()),
        ("   ", Referrer()),
        ("not a url", Referrer()),
        ("ftp://files.example.com/", Referrer()),
        ("javascript:alert(1)", Referrer()),
        ("http://[::1", Referrer()),
        ("http://exa mple.com/", Referrer()),
        ("http://bad\x00host.com/", Referrer()),
        ("https://" + "a" * 250 + ".com/", Referrer()),
    ],
)
def test_a_referrer_is_named_and_classified(referer: str | None, expected: Referrer) -> None:
    assert classify(referer, OWN) == expected


def test_the_own_hosts_match_whatever_their_case() -> None:
    assert classify("https://library.pipewise.example/", {"Library.Pipewise.Example"}).kind is (
        Kind.INTERNAL
    )
    assert classify("https://www.pipewise.example/", OWN).kind is Kind.OTHER  # our main site


def test_the_host_is_read_without_port_or_trailing_dot() -> None:
    assert referrer_host("https://WWW.Example.com.:8443/a?b") == ("https", "www.example.com")
    assert referrer_host("mailto:someone@example.com") == ("", "")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("linkedin", Kind.SOCIAL),
        ("twitter", Kind.SOCIAL),
        ("x", Kind.SOCIAL),
        ("google", Kind.SEARCH),
        ("gmail", Kind.EMAIL),
        ("www.linkedin.com", Kind.SOCIAL),
        ("newsletter", Kind.OTHER),
        ("partner.example", Kind.OTHER),
        ("", Kind.NONE),
    ],
)
def test_a_campaign_source_names_a_known_place(source: str, kind: Kind) -> None:
    assert source_kind(source) is kind
