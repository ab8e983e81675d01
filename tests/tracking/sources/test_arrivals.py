"""Where a page view came from, from its address and referrer, and when a page starts a new
visit: pure rules, plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.sources.arrivals import (
    LIMITS,
    Arrival,
    Channel,
    CurrentVisit,
    arrival,
    clean,
    starts_visit,
)

OWN = {"library.pipewise.example"}
LINKEDIN = "https://www.linkedin.com/"


def came(url: str, referer: str | None = None) -> tuple[str, str, str, Channel, str]:
    found = arrival(url, referer, OWN)
    return found.source, found.medium, found.campaign, found.channel, found.click_id


@pytest.mark.parametrize(
    ("url", "referer", "expected"),
    [
        # typed, bookmarked, or one of our own pages: direct
        ("/library", None, ("direct", "none", "", Channel.DIRECT, "")),
        (
            "/",
            "https://library.pipewise.example/library",
            ("direct", "none", "", Channel.DIRECT, ""),
        ),
        # the referrer alone
        ("/", "https://www.google.de/", ("google", "organic", "", Channel.SEARCH, "")),
        ("/", LINKEDIN, ("linkedin", "social", "", Channel.SOCIAL, "")),
        ("/", "https://mail.google.com/", ("gmail", "email", "", Channel.EMAIL, "")),
        ("/", "https://blog.example.org/a", ("example.org", "referral", "", Channel.REFERRAL, "")),
        # a campaign link: the UTM parameters win over the referrer
        (
            "/library?utm_source=linkedin&utm_medium=social&utm_campaign=q3-launch",
            LINKEDIN,
            ("linkedin", "social", "q3-launch", Channel.SOCIAL, ""),
        ),
        (
            "/?utm_source=Newsletter&utm_medium=Email&utm_campaign=March",
            None,
            ("newsletter", "email", "march", Channel.EMAIL, ""),
        ),
        (
            "/?utm_source=partner&utm_medium=affiliate",
            "https://partner.example/",
            ("partner", "affiliate", "", Channel.REFERRAL, ""),
        ),
        ("/?utm_source=linkedin", None, ("linkedin", "social", "", Channel.SOCIAL, "")),
        ("/?utm_source=newsletter", None, ("newsletter", "none", "", Channel.REFERRAL, "")),
        ("/?utm_campaign=spring", None, ("direct", "none", "spring", Channel.REFERRAL, "")),
        (
            "/?utm_source=google&utm_medium=organic",
            None,
            ("google", "organic", "", Channel.SEARCH, ""),
        ),
        # paid: a paid medium or an ad's click id, before anything else
        (
            "/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
            "https://www.google.com/",
            ("google", "cpc", "brand", Channel.PAID, ""),
        ),
        (
            "/?utm_source=linkedin&utm_medium=paid_social",
            None,
            ("linkedin", "paid_social", "", Channel.PAID, ""),
        ),
        ("/?utm_source=capterra&utm_medium=ppc", None, ("capterra", "ppc", "", Channel.PAID, "")),
        (
            "/?gclid=Cj0KCQ-abc_123",
            "https://www.google.com/",
            ("google", "cpc", "", Channel.PAID, "gclid:Cj0KCQ-abc_123"),
        ),
        ("/?msclkid=5d8e2f", None, ("bing", "cpc", "", Channel.PAID, "msclkid:5d8e2f")),
        (
            "/?li_fat_id=0b1c-2d3e",
            LINKEDIN,
            ("linkedin", "cpc", "", Channel.PAID, "li_fat_id:0b1c-2d3e"),
        ),
        (
            "/?utm_source=linkedin&utm_medium=social&li_fat_id=0b1c",
            LINKEDIN,
            ("linkedin", "social", "", Channel.PAID, "li_fat_id:0b1c"),
        ),
        # click ids that are no plain token are left out
        ("/?gclid=a%20b<script>", None, ("direct", "none", "", Channel.DIRECT, "")),
        ("/?gclid=", None, ("direct", "none", "", Channel.DIRECT, "")),
        # parameter names in any case; the first of a repeated one
        (
            "/?UTM_Source=LinkedIn&utm_source=xing",
            None,
            ("linkedin", "social", "", Channel.SOCIAL, ""),
        ),
        # an absolute address reads the same
        (
            "https://library.pipewise.example/library/guide?utm_source=xing&utm_medium=social",
            None,
            ("xing", "social", "", Channel.SOCIAL, ""),
        ),
    ],
)
def test_a_page_view_says_where_it_came_from(
    url: str, referer: str | None, expected: tuple[str, str, str, Channel, str]
) -> None:
    assert came(url, referer) == expected


def test_the_term_content_referrer_and_landing_page_are_kept() -> None:
    found = arrival(
        "/library/guide?utm_source=google&utm_medium=cpc&utm_term=Lead+Scoring&utm_content=Ad%20B",
        "https://www.google.com/search?q=secret",
        OWN,
    )
    assert (found.term, found.content) == ("Lead Scoring", "Ad B")  # free text keeps its case
    assert found.referrer == "www.google.com"  # the host only: never the search words
    assert found.landing == (
        "/library/guide?utm_source=google&utm_medium=cpc&utm_term=Lead+Scoring&utm_content=Ad%20B"
    )
    assert found.tagged


def test_an_untagged_page_names_no_campaign() -> None:
    assert not arrival("/library?q=scoring", LINKEDIN, OWN).tagged
    assert arrival("/?gclid=abc", None, OWN).tagged


def test_values_are_bounded_and_cleaned() -> None:
    found = arrival(
        "/?utm_source=" + "s" * 500 + "&utm_campaign=%E2%80%8Bspring%0A%09sale%E2%80%AE"
        "&utm_term=" + "t" * 500,
        None,
        OWN,
    )
    assert found.source == "s" * LIMITS["source"]
    assert found.campaign == "spring sale"  # line breaks, tabs, zero-width and bidi gone
    assert len(found.term) == LIMITS["term"]
    assert len(arrival("/" + "p" * 1000, None, OWN).landing) == 300


@pytest.mark.parametrize(
    ("text", "limit", "lower", "expected"),
    [
        ("  LinkedIn  ", 100, True, "linkedin"),
        ("Q3\x00Launch", 100, False, "Q3 Launch"),
        ("a\u2028b\u2029c", 100, False, "a b c"),
        ("no\u200bspace", 100, False, "nospace"),
        ("abc  def", 4, False, "abc"),  # cut, then no trailing space
        ("\x7f\x9f", 10, False, ""),
    ],
)
def test_clean_text(text: str, limit: int, lower: bool, expected: str) -> None:
    assert clean(text, limit, lower=lower) == expected


@given(url=st.text(max_size=300), referer=st.one_of(st.none(), st.text(max_size=300)))
def test_any_address_and_referrer_give_a_bounded_printable_arrival(
    url: str, referer: str | None
) -> None:
    found = arrival(url, referer, OWN)
    for name, limit in (*LIMITS.items(), ("referrer", 253), ("landing", 300), ("click_id", 200)):
        value = getattr(found, name)
        assert len(value) <= limit
        assert value == value.strip()
        assert all(c.isprintable() for c in value), (name, value)
    assert found.source
    assert found.medium
    assert found.channel in Channel


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TAGGED = arrival("/?utm_source=linkedin&utm_medium=social&utm_campaign=spring", None, OWN)
OTHER_CAMPAIGN = arrival("/?utm_source=linkedin&utm_medium=social&utm_campaign=autumn", None, OWN)
UNTAGGED = arrival("/library", LINKEDIN, OWN)
SPRING = CurrentVisit(("linkedin", "social", "spring"), T0)


@pytest.mark.parametrize(
    ("current", "page", "minutes", "starts"),
    [
        (None, UNTAGGED, 0, True),  # a browser without a visit
        (CurrentVisit(("direct", "none", ""), None), UNTAGGED, 0, True),  # last page unknown
        (SPRING, UNTAGGED, 29.9, False),  # within 30 minutes
        (SPRING, UNTAGGED, 30, True),  # 30 minutes of quiet
        (SPRING, UNTAGGED, 240, True),
        (SPRING, TAGGED, 5, False),  # the same campaign again (a reload)
        (SPRING, OTHER_CAMPAIGN, 5, True),  # another campaign
        (CurrentVisit(("direct", "none", ""), T0), TAGGED, 1, True),  # a campaign on a direct one
        (SPRING, arrival("/", "https://www.google.com/", OWN), 5, False),  # a referrer alone
        (SPRING, UNTAGGED, -5, False),  # a page stamped before the last one
    ],
)
def test_a_page_starts_a_visit_after_30_quiet_minutes_or_on_a_new_campaign(
    current: CurrentVisit | None, page: Arrival, minutes: float, starts: bool
) -> None:
    assert starts_visit(current, page, T0 + timedelta(minutes=minutes)) is starts
