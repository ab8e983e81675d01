"""Engagement from mail: a followed link and a loaded open pixel, recorded on the message and
on the lead's trail.

A click sets the message's ``clicked_at`` (and ``opened_at``: whoever clicked has read it),
counts as a sign of life for the address (``suppression.showed_life``) and becomes an
``email_click`` event; a link to an asset page of the library makes the event a touch on that
asset, so the click weighs for scoring and journey inference like a visit of the asset.
A machine's click (``machine_click``: a corporate link scanner such as Safe Links follows
every link as the mail arrives) still gets its redirect but is kept for the record only:
``machine: true``, no touch, no ``clicked_at``, no score.

An open is a person's or a machine's (``machine_open``): a privacy proxy that fetches every
image as the mail arrives (Apple Mail Privacy Protection), an image proxy, or anything that
asks within seconds of delivery. Both are kept as ``email_open`` events (``machine: true`` on
the machine's), but only a person's open sets ``opened_at``, shows life and counts as the
lead's activity; opens never earn points (``tracking.rules.journey.UNSCORED``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.catalog import live
from content.models import Asset, AssetSlug
from nurture.mail import suppression
from nurture.mail.models import MailMessage
from tracking.events import EmailClick, EmailOpen
from tracking.pipeline import ingest
from tracking.rules.config import Model

MACHINE_OPEN_WITHIN = timedelta(seconds=10)
"""An open this soon after the server accepted the mail is a machine's: no person has found,
opened and displayed it yet (scanners and prefetching proxies ask at once)."""

PROXY_AGENTS = (
    ("GoogleImageProxy", "Google image proxy"),
    ("YahooMailProxy", "Yahoo image proxy"),
)
"""User-agent marks of the image proxies of webmail providers: (mark, who)."""

APPLE_AGENT = "Mozilla/5.0"
"""The bare user agent Apple Mail Privacy Protection's prefetcher sends."""

APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"),)
"""Apple's own address block, where its mail proxies fetch from."""


def machine_open(
    sent_at: datetime | None, at: datetime, user_agent: str, address: str
) -> str | None:
    """Why an open at ``at`` is a machine's, or None when it reads as a person's.

    ``sent_at`` is when the SMTP server accepted the mail (None: not recorded yet, so the
    pixel was fetched before the mail was even delivered); ``address`` the client's IP.
    """
    if sent_at is None or at - sent_at < MACHINE_OPEN_WITHIN:
        return f"within {MACHINE_OPEN_WITHIN.seconds} s of delivery"
    agent = user_agent.strip()
    for mark, who in PROXY_AGENTS:
        if mark.lower() in agent.lower():
            return who
    if agent == APPLE_AGENT or _in_networks(address, APPLE_NETWORKS):
        return "Apple Mail Privacy Protection"
    if not agent:
        return "no user agent"
    return None


SCANNER_AGENTS = (
    ("BingPreview", "Microsoft link preview"),
    ("Barracuda", "Barracuda link scanner"),
    ("Mimecast", "Mimecast link scanner"),
    ("Proofpoint", "Proofpoint link scanner"),
    ("urldefense", "Proofpoint link scanner"),
    ("Symantec", "Symantec link scanner"),
    ("python-requests", "a script"),
    ("curl/", "a script"),
    ("Go-http-client", "a script"),
)
"""User-agent marks of link scanners and scripts: (mark, who)."""


def machine_click(sent_at: datetime | None, at: datetime, user_agent: str) -> str | None:
    """Why a click at ``at`` is a machine's, or None when it reads as a person's: a security
    scanner follows every link within seconds of delivery (Microsoft Safe Links, gateways),
    or announces itself; a person needs longer to find, open and read the mail."""
    if sent_at is None or at - sent_at < MACHINE_OPEN_WITHIN:
        return f"within {MACHINE_OPEN_WITHIN.seconds} s of delivery"
    agent = user_agent.strip()
    if not agent:
        return "no user agent"
    for mark, who in SCANNER_AGENTS:
        if mark.lower() in agent.lower():
            return who
    return None


def _in_networks(
    address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


_ASSET_PATH = re.compile(r"/library/([^/]+)(?:/.*)?")


def asset_slug(target: str, base_url: str) -> str | None:
    """The slug of the library asset a link leads to (its page, file or download), or None
    for any other page and for other sites."""
    link, base = urlsplit(target), urlsplit(base_url)
    if (link.scheme, link.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return None
    path = link.path
    prefix = base.path.rstrip("/")
    if prefix:
        if not path.startswith(prefix + "/"):
            return None
        path = path[len(prefix) :]
    found = _ASSET_PATH.fullmatch(path)
    return unquote(found.group(1)) if found else None


def asset_id(session: Session, slug: str) -> int | None:
    """The live asset at ``slug``, or at the slug it had before a rename."""
    found = session.scalar(select(Asset.id).where(Asset.slug == slug, live()))
    if found is not None:
        return found
    return session.scalar(
        select(Asset.id)
        .join(AssetSlug, AssetSlug.asset_id == Asset.id)
        .where(AssetSlug.slug == slug, live())
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a click or an open did: whether its message exists, and the event (if any)."""

    found: bool
    event: bool = False
    machine: str | None = None


def record_click(
    session: Session,
    message_id: int,
    target: str,
    now: datetime,
    *,
    base_url: str,
    model: Model | None = None,
    user_agent: str = "",
) -> Recorded:
    """A link of message ``message_id`` to ``target`` was followed (the caller's transaction)."""
    message = session.get(MailMessage, message_id, with_for_update=True)
    if message is None:
        return Recorded(found=False)
    machine = machine_click(message.sent_at, now, user_agent)
    if machine is None:
        message.clicked_at = message.clicked_at or now
        message.opened_at = message.opened_at or now
        suppression.showed_life(session, message.to_address)
    if message.lead_id is None:
        return Recorded(found=True, machine=machine)
    slug = asset_slug(target, base_url) if machine is None else None
    event = EmailClick(
        lead_id=message.lead_id,
        asset_id=asset_id(session, slug) if slug else None,
        occurred_at=now,
        message=message.id,
        kind=message.kind,
        target=target[:2000],
        machine=True if machine is not None else None,
        reason=machine or "",
    )
    # A machine's click is kept for the record only: no touch, no lead state.
    ingest.record(session, [event], now, model=model if machine is None else None)
    return Recorded(found=True, event=True, machine=machine)


def record_open(
    session: Session,
    message_id: int,
    now: datetime,
    *,
    user_agent: str,
    address: str,
    model: Model | None = None,
) -> Recorded:
    """The open pixel of message ``message_id`` was loaded (the caller's transaction)."""
    message = session.get(MailMessage, message_id, with_for_update=True)
    if message is None:
        return Recorded(found=False)
    machine = machine_open(message.sent_at, now, user_agent, address)
    if machine is None:
        message.opened_at = message.opened_at or now
        suppression.showed_life(session, message.to_address)
    if message.lead_id is None:
        return Recorded(found=True, machine=machine)
    event = EmailOpen(
        lead_id=message.lead_id,
        occurred_at=now,
        message=message.id,
        kind=message.kind,
        machine=machine is not None,
        reason=machine or "",
    )
    # A machine's open is kept for the record only: no lead state, no "last activity".
    ingest.record(session, [event], now, model=model if machine is None else None)
    return Recorded(found=True, event=True, machine=machine)
