"""Webhook targets and SSRF: only public addresses, unless an operator allows some networks.

A URL is checked when it is saved (so the admin hears at once) and again at
every delivery, where the host name is resolved and the request is sent to
the very address that was checked (no second lookup a rebinding DNS server
could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why in an admin's words."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    host: str
    port: int
    address: str


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, 10.1.0.0/16"`` as networks (ValueError names a bad entry)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not a network such as 10.0.0.0/8") from None
    return tuple(networks)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def address_refusal(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why this address may not be contacted, or None."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is a reserved address"
    return None


def split_url(url: str) -> SplitResult:
    """The URL's parts, refusing what no webhook needs (other schemes, credentials, fragments)."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL must be 1 to {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("only http:// and https:// URLs can receive webhooks")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise TargetRefused("the URL's port is not a number from 1 to 65535") from None
    if not host:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials do not belong in the URL; receivers check the signature")
    if port == 0:
        raise TargetRefused("the URL's port is not a number from 1 to 65535")
    return parts


def check(url: str, allowed: Sequence[IPNetwork], resolve: Resolver = system_resolver) -> Target:
    """Resolve the URL's host and check every address; the first one is the one to use."""
    parts = split_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise TargetRefused(f"{host} does not resolve ({exc})") from None
        if not addresses:
            raise TargetRefused(f"{host} does not resolve")
    for raw in addresses:
        refused = address_refusal(ipaddress.ip_address(raw.split("%", 1)[0]), allowed)
        if refused:
            raise TargetRefused(refused if literal is not None else f"{host}: {refused}")
    return Target(url=parts.geturl(), host=host, port=port, address=addresses[0])
