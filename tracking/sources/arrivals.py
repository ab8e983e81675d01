"""Where a page view came from, and whether it starts a new visit.

Pure: a page's address, its ``Referer`` header and the portal's own host names in, an
``Arrival`` out (UTM parameters, an ad click id, the classified referrer, the channel, the
source and medium); and the new-visit rule over plain values. Text from outside is bounded
to its column, stripped of control characters, and identifiers (source, medium, campaign)
are in lower case so ``LinkedIn`` and ``linkedin`` are one source.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from tracking.sources.referrers import Kind, Referrer, classify, source_kind

VISIT_GAP = timedelta(minutes=30)
"""A page this long after the browser's last page starts a new visit."""

QUERY_MAX = 4096
"""Only this much of a page's query string is read."""
LIMITS = {"source": 100, "medium": 100, "campaign": 200, "term": 200, "content": 200}
"""The longest kept value of each UTM parameter (``visit``'s column lengths)."""
CLICK_ID_MAX = 200
LANDING_MAX = 300

CLICK_IDS = {"gclid": "google", "msclkid": "bing", "li_fat_id": "linkedin"}
"""Ad click ids and the network that adds each to its ads' links."""
_CLICK_ID_VALUE = re.compile(r"[A-Za-z0-9._~-]+")


class Channel(StrEnum):
    """The kind of way a visit arrived."""

    SEARCH = "search"
    SOCIAL = "social"
    EMAIL = "email"
    REFERRAL = "referral"
    """Another site, or a campaign link whose medium names none of the others."""
    PAID = "paid"
    """An ad: a click id, or a paid ``utm_medium`` (cpc, ppc, paid …)."""
    DIRECT = "direct"


PAID_MEDIUMS = frozenset(
    {"cpc", "ppc", "cpm", "cpv", "cpa", "paid", "sem", "display", "banner", "retargeting"}
)
MEDIUM_CHANNELS = {
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "e_mail": Channel.EMAIL,
    "newsletter": Channel.EMAIL,
    "social": Channel.SOCIAL,
    "social-media": Channel.SOCIAL,
    "social_media": Channel.SOCIAL,
    "social-network": Channel.SOCIAL,
    "social_network": Channel.SOCIAL,
    "sm": Channel.SOCIAL,
    "organic": Channel.SEARCH,
    "search": Channel.SEARCH,
    "referral": Channel.REFERRAL,
}
"""``utm_medium`` values that name a channel (paid ones are ``PAID_MEDIUMS`` and any
starting with ``paid``: ``paid_social``, ``paidsearch``)."""

KIND_CHANNELS = {
    Kind.SEARCH: Channel.SEARCH,
    Kind.SOCIAL: Channel.SOCIAL,
    Kind.EMAIL: Channel.EMAIL,
    Kind.OTHER: Channel.REFERRAL,
}
CHANNEL_MEDIUMS = {
    Channel.SEARCH: "organic",
    Channel.SOCIAL: "social",
    Channel.EMAIL: "email",
    Channel.REFERRAL: "referral",
}
"""The medium a visit without ``utm_medium`` gets from what its referrer is."""

DIRECT_SOURCE, NO_MEDIUM = "direct", "none"


@dataclass(frozen=True, slots=True)
class Arrival:
    """What a page's address and referrer say about where the browser came from: the fields
    of ``tracking.sources.models.Visit``. ``tagged`` when the address names a campaign (a
    UTM parameter or a click id)."""

    source: str = DIRECT_SOURCE
    medium: str = NO_MEDIUM
    campaign: str = ""
    term: str = ""
    content: str = ""
    referrer: str = ""
    channel: Channel = Channel.DIRECT
    click_id: str = ""
    landing: str = ""
    tagged: bool = False

    @property
    def campaign_key(self) -> tuple[str, str, str]:
        """Source, medium and campaign: a tagged page with another key starts a new visit."""
        return self.source, self.medium, self.campaign


def clean(text: str, limit: int, *, lower: bool = False) -> str:
    """``text`` on one line, without control or format characters, at most ``limit`` long."""
    if text.isascii() and text.isprintable():  # the usual case, without a look at each one
        single = " ".join(text.split())
        return (single.lower() if lower else single)[:limit].strip()
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in text
        if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn")
    )
    single = " ".join(kept.split())
    return (single.lower() if lower else single)[:limit].strip()


def query_values(query: str) -> dict[str, str]:
    """The first value of each parameter of a query string, by lower-case name."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(query[:QUERY_MAX], keep_blank_values=False):
        found.setdefault(name.lower(), value)
    return found


def utm_values(params: dict[str, str]) -> dict[str, str]:
    """The UTM parameters (``source`` … ``content``), cleaned; the empty ones left out."""
    values = {
        name: clean(params.get(f"utm_{name}", ""), limit, lower=name not in ("term", "content"))
        for name, limit in LIMITS.items()
    }
    return {name: value for name, value in values.items() if value}


def click_id(params: dict[str, str]) -> tuple[str, str]:
    """The first ad click id as (``name:value``, network); empty when there is none or its
    value is not a plain token."""
    for name, network in CLICK_IDS.items():
        value = params.get(name, "").strip()
        if value and _CLICK_ID_VALUE.fullmatch(value):
            return f"{name}:{value}"[:CLICK_ID_MAX], network
    return "", ""


def landing_page(path: str, query: str) -> str:
    """The path and query of a page, cleaned and bounded."""
    page = path or "/"
    if query:
        page = f"{page}?{query}"
    return clean(page, LANDING_MAX)


def medium_channel(medium: str) -> Channel | None:
    """The channel a ``utm_medium`` names, if it names one."""
    if medium in PAID_MEDIUMS or medium.startswith("paid"):
        return Channel.PAID
    return MEDIUM_CHANNELS.get(medium)


def implied_channel(utm: dict[str, str], referrer: Referrer) -> Channel | None:
    """The channel the referrer implies, else the one a known ``utm_source`` implies."""
    if referrer.kind in KIND_CHANNELS:
        return KIND_CHANNELS[referrer.kind]
    named = source_kind(utm.get("source", ""))
    return KIND_CHANNELS[named] if named in (Kind.SEARCH, Kind.SOCIAL, Kind.EMAIL) else None


def channel_of(utm: dict[str, str], clicked: str, referrer: Referrer) -> Channel:
    """Paid first (a click id or a paid medium), then what the medium says, then what the
    referrer or a known ``utm_source`` is; other campaign links are referrals."""
    if clicked:
        return Channel.PAID
    named = medium_channel(utm.get("medium", ""))
    if named is not None:
        return named
    implied = implied_channel(utm, referrer)
    if implied is not None:
        return implied
    return Channel.REFERRAL if utm else Channel.DIRECT


def medium_of(utm: dict[str, str], clicked: str, referrer: Referrer) -> str:
    """``utm_medium``, else ``cpc`` for an ad's click, else what the referrer (or a known
    ``utm_source``) is: ``organic``, ``social``, ``email``, ``referral``; else ``none``."""
    if "medium" in utm:
        return utm["medium"]
    if clicked:
        return "cpc"
    implied = implied_channel(utm, referrer)
    return CHANNEL_MEDIUMS[implied] if implied is not None else NO_MEDIUM


def arrival(page_url: str, referer: str | None, own_hosts: Collection[str] = ()) -> Arrival:
    """Where a page view at ``page_url`` (an absolute address or a path with its query) came
    from, given its ``Referer`` header and the portal's own host names."""
    try:
        parts = urlsplit(page_url[: QUERY_MAX * 2])
        path, query = parts.path, parts.query
    except ValueError:
        path, query = "/", ""
    params = query_values(query)
    utm = utm_values(params)
    clicked, network = click_id(params)
    referrer = classify(referer, own_hosts)
    source = utm.get("source") or network or referrer.name or DIRECT_SOURCE
    return Arrival(
        source=clean(source, LIMITS["source"], lower=True),
        medium=medium_of(utm, clicked, referrer),
        campaign=utm.get("campaign", ""),
        term=utm.get("term", ""),
        content=utm.get("content", ""),
        referrer=referrer.host,
        channel=channel_of(utm, clicked, referrer),
        click_id=clicked,
        landing=landing_page(path, query),
        tagged=bool(utm or clicked),
    )


@dataclass(frozen=True, slots=True)
class CurrentVisit:
    """A browser's current visit as the new-visit rule sees it."""

    campaign_key: tuple[str, str, str]
    last_page_at: datetime | None
    """The browser's latest page (None: not known, so the next page starts a visit)."""


def starts_visit(current: CurrentVisit | None, page: Arrival, at: datetime) -> bool:
    """Whether a page at ``at`` starts a new visit: the browser has none, its last page was
    ``VISIT_GAP`` or more ago, or the page names a campaign other than the visit's."""
    if current is None or current.last_page_at is None:
        return True
    if at - current.last_page_at >= VISIT_GAP:
        return True
    return page.tagged and page.campaign_key != current.campaign_key
