"""Where a referrer is: a search engine, a social network, a webmail, another site, or us.

Pure: a ``Referer`` header and the portal's own host names in, a ``Referrer`` out. Domains are
read with tldextract (``www.google.co.uk`` is Google, ``t.co`` is X) from the Public Suffix
List snapshot the package ships: never fetched (no network in production or CI) and never
cached on disk.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import tldextract

HOST_MAX = 253
"""The longest host name DNS allows (``visit.referrer``'s length)."""
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?")
_EXTRACT = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


class Kind(StrEnum):
    """What kind of place a referrer is."""

    NONE = "none"
    """No referrer (typed, bookmarked, an app that sends none) or one that cannot be read."""
    INTERNAL = "internal"
    """One of the portal's own pages."""
    SEARCH = "search"
    SOCIAL = "social"
    EMAIL = "email"
    """A webmail (or a mail app)."""
    OTHER = "other"
    """Another site."""


@dataclass(frozen=True, slots=True)
class Referrer:
    """A classified referrer: its host (``www.linkedin.com``; empty for none and for us), the
    name of a known one (``linkedin``) or else its registrable domain, and its kind."""

    host: str = ""
    name: str = ""
    kind: Kind = Kind.NONE


NONE = Referrer()

SEARCH_ENGINES = frozenset(
    {
        "google",
        "bing",
        "yahoo",
        "duckduckgo",
        "yandex",
        "baidu",
        "ecosia",
        "qwant",
        "startpage",
        "ask",
        "naver",
        "seznam",
        "aol",
    }
)
"""Search engines by the label before their public suffix (``google`` of ``google.de``)."""

SOCIAL_LABELS = frozenset({"facebook", "linkedin", "xing", "youtube", "pinterest", "reddit"})
"""Social networks that use country domains too (``linkedin.cn``, ``pinterest.de``)."""

KNOWN_DOMAINS: dict[str, tuple[str, Kind]] = {
    "lnkd.in": ("linkedin", Kind.SOCIAL),
    "fb.com": ("facebook", Kind.SOCIAL),
    "fb.me": ("facebook", Kind.SOCIAL),
    "messenger.com": ("facebook", Kind.SOCIAL),
    "instagram.com": ("instagram", Kind.SOCIAL),
    "x.com": ("x", Kind.SOCIAL),
    "twitter.com": ("x", Kind.SOCIAL),
    "t.co": ("x", Kind.SOCIAL),
    "youtu.be": ("youtube", Kind.SOCIAL),
    "tiktok.com": ("tiktok", Kind.SOCIAL),
    "threads.net": ("threads", Kind.SOCIAL),
    "bsky.app": ("bluesky", Kind.SOCIAL),
    "mastodon.social": ("mastodon", Kind.SOCIAL),
    "ycombinator.com": ("hackernews", Kind.SOCIAL),
    "quora.com": ("quora", Kind.SOCIAL),
    "slack.com": ("slack", Kind.SOCIAL),
    "t.me": ("telegram", Kind.SOCIAL),
    "whatsapp.com": ("whatsapp", Kind.SOCIAL),
    "vk.com": ("vk", Kind.SOCIAL),
    "gmx.net": ("gmx", Kind.EMAIL),
    "gmx.de": ("gmx", Kind.EMAIL),
    "gmx.com": ("gmx", Kind.EMAIL),
    "web.de": ("web.de", Kind.EMAIL),
}
"""Known sites by registrable domain."""

KNOWN_HOSTS: dict[str, tuple[str, Kind]] = {
    "mail.google.com": ("gmail", Kind.EMAIL),
    "inbox.google.com": ("gmail", Kind.EMAIL),
    "outlook.live.com": ("outlook", Kind.EMAIL),
    "outlook.office.com": ("outlook", Kind.EMAIL),
    "outlook.office365.com": ("outlook", Kind.EMAIL),
    "mail.yahoo.com": ("yahoo", Kind.EMAIL),
    "mail.aol.com": ("aol", Kind.EMAIL),
    "mail.proton.me": ("proton", Kind.EMAIL),
    "mail.zoho.com": ("zoho", Kind.EMAIL),
    "mail.zoho.eu": ("zoho", Kind.EMAIL),
    "search.brave.com": ("brave", Kind.SEARCH),
    # Android apps send ``android-app://PACKAGE`` as their referrer.
    "com.google.android.gm": ("gmail", Kind.EMAIL),
    "com.microsoft.office.outlook": ("outlook", Kind.EMAIL),
    "com.google.android.googlequicksearchbox": ("google", Kind.SEARCH),
    "com.linkedin.android": ("linkedin", Kind.SOCIAL),
    "com.facebook.katana": ("facebook", Kind.SOCIAL),
    "com.twitter.android": ("x", Kind.SOCIAL),
    "com.slack": ("slack", Kind.SOCIAL),
}
"""Known hosts that are not what their domain is (Gmail on google.com) and Android apps."""

WEBMAIL_LABELS = frozenset({"mail", "webmail", "email"})
"""Hosts under such a label are webmails (``webmail.example.net``, ``email.t-online.de``,
``de.mail.yahoo.com``)."""

ANDROID_APP = "android-app"


def referrer_host(referer: str | None) -> tuple[str, str]:
    """The scheme and host of a ``Referer`` header, the host in lower case without port or
    trailing dot; empty when there is none, or it is not an http(s) or Android app address,
    or not a host name."""
    text = (referer or "").strip()[:2048]
    if not text:
        return "", ""
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:  # a malformed address (an unclosed IPv6 bracket, a bad port)
        return "", ""
    if parts.scheme not in ("http", "https", ANDROID_APP):
        return "", ""
    host = host.rstrip(".")
    if not host or len(host) > HOST_MAX or not _HOST.fullmatch(host):
        return "", ""
    return parts.scheme, host


def classify(referer: str | None, own_hosts: Collection[str] = ()) -> Referrer:
    """Where this ``Referer`` header points: ``NONE`` for none, ``INTERNAL`` (without a host)
    for one of ``own_hosts``, else the host with its name and kind."""
    scheme, host = referrer_host(referer)
    if not host:
        return NONE
    if host in {h.lower() for h in own_hosts}:
        return Referrer(kind=Kind.INTERNAL)
    if host in KNOWN_HOSTS:
        name, kind = KNOWN_HOSTS[host]
        return Referrer(host, name, kind)
    if scheme == ANDROID_APP:  # a package name (com.example.app), not a domain
        return Referrer(host, host, Kind.OTHER)
    parts = _EXTRACT(host)
    domain = parts.top_domain_under_public_suffix
    if domain in KNOWN_DOMAINS:
        name, kind = KNOWN_DOMAINS[domain]
        return Referrer(host, name, kind)
    if domain and WEBMAIL_LABELS.intersection(parts.subdomain.split(".")):
        return Referrer(host, domain, Kind.EMAIL)
    if parts.suffix and parts.domain in SEARCH_ENGINES:
        return Referrer(host, parts.domain, Kind.SEARCH)
    if parts.suffix and parts.domain in SOCIAL_LABELS:
        return Referrer(host, parts.domain, Kind.SOCIAL)
    return Referrer(host, domain or host, Kind.OTHER)


SOURCE_ALIASES: dict[str, Kind] = {
    "twitter": Kind.SOCIAL,
    "fb": Kind.SOCIAL,
    "ig": Kind.SOCIAL,
    "li": Kind.SOCIAL,
}
KNOWN_NAMES: dict[str, Kind] = {
    **{name: Kind.SEARCH for name in SEARCH_ENGINES},
    **{name: Kind.SOCIAL for name in SOCIAL_LABELS},
    **dict(KNOWN_DOMAINS.values()),
    **dict(KNOWN_HOSTS.values()),
    **SOURCE_ALIASES,
}
"""What each known referrer name (and a few usual ``utm_source`` spellings) is."""


def source_kind(source: str) -> Kind:
    """What a campaign's ``utm_source`` names: a known referrer's name (``linkedin``) or a
    host (``www.linkedin.com``); ``OTHER`` for anything else, ``NONE`` for nothing."""
    if not source:
        return Kind.NONE
    if source in KNOWN_NAMES:
        return KNOWN_NAMES[source]
    if "." in source:
        found = classify(f"https://{source}/")
        return found.kind if found.kind is not Kind.NONE else Kind.OTHER
    return Kind.OTHER
