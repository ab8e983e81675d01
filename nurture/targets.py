"""Webhook targets and SSRF: only public addresses, unless an operator allows some networks.

A URL is checked when it is saved (so the admin hears at once) and again at
every delivery, where the host name is resolved and the request is sent to
the very address that was checked (no second lookup a rebinding DNS server
could answer differently). An IPv6 address that stands for an IPv4 address
(IPv4-mapped, NAT64, 6to4, ...) is judged as that IPv4 address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from content.words import N_, Said

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message (a ``Said``: ``str()`` is its English) says
    why in an admin's words."""


BAD_PORT = N_("the URL's port is not a number from 1 to 65535")


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


# IPv6 ranges whose last 32 bits are an IPv4 address the packet ends up at (RFC 4291, 6052,
# 6145); 6to4 (RFC 3056) carries it in bits 16-47 instead (``IPv6Address.sixtofour``).
_IPV4_IN_LOW_BITS = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "::/96")
)
# Local-use NAT64 (RFC 8215): the operator chooses the prefix length, so where the IPv4
# address sits cannot be known; refused unless the operator allows it.
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, IPv4-translated (SIIT),
    NAT64 well-known prefix, IPv4-compatible or 6to4; None for any other address."""
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) <= 1:  # :: and ::1 are themselves, not IPv4-compatible addresses
        return None
    if any(address in network for network in _IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why this address may not be contacted (in English), or None."""
    said = address_refusal_said(address, allowed)
    return str(said) if said is not None else None


def address_refusal_said(address: IPAddress, allowed: Sequence[IPNetwork]) -> Said | None:
    """Why this address may not be contacted, or None.

    An IPv6 address that stands for an IPv4 address is judged as that IPv4
    address, so ``64:ff9b::10.0.0.1`` is as private as 10.0.0.1 and an allowed
    IPv4 network lets its IPv6 forms through too.
    """
    if any(address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            if any(inner in network for network in allowed):
                return None
            kind = _refused_kind(inner)
            if kind is None:
                return None
            return Said(N_("%(address)s embeds %(inner)s, %(kind)s"), address=str(address),
                        inner=str(inner), kind=Said(kind))  # fmt: skip
        if address in _NAT64_LOCAL_USE:
            return Said(
                N_("%(address)s is a local-use IPv4/IPv6 translation address (64:ff9b:1::/48)"),
                address=str(address),
            )
    kind = _refused_kind(address)
    return (
        Said(N_("%(address)s is %(kind)s"), address=str(address), kind=Said(kind)) if kind else None
    )


def _refused_kind(address: IPAddress) -> str | None:
    """What makes an address unfit for webhooks (``"a private address"``), or None."""
    if address.is_unspecified:
        return N_("the unspecified address")
    if address.is_loopback:
        return N_("a loopback address")
    if address.is_link_local:
        return N_("a link-local address")
    if address.is_multicast:
        return N_("a multicast address")
    if address.is_private:
        return N_("a private address")
    if not address.is_global:
        return N_("a reserved address")
    return None


def split_url(url: str) -> SplitResult:
    """The URL's parts, refusing what no webhook needs (other schemes, credentials, fragments)."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise TargetRefused(Said(N_("the URL must be 1 to %(max)s characters"), max=MAX_URL_LENGTH))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(Said(N_("only http:// and https:// URLs can receive webhooks")))
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise TargetRefused(Said(BAD_PORT)) from None
    if not host:
        raise TargetRefused(Said(N_("the URL has no host")))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(
            Said(N_("credentials do not belong in the URL; receivers check the signature"))
        )
    if port == 0:
        raise TargetRefused(Said(BAD_PORT))
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
            raise TargetRefused(
                Said(N_("%(host)s does not resolve (%(problem)s)"), host=host, problem=str(exc))
            ) from None
        if not addresses:
            raise TargetRefused(Said(N_("%(host)s does not resolve"), host=host))
    for raw in addresses:
        refused = address_refusal_said(ipaddress.ip_address(raw.split("%", 1)[0]), allowed)
        if refused:
            raise TargetRefused(
                refused if literal is not None else Said(N_("%(host)s: %(refused)s"), host=host,
                                                         refused=refused)
            )  # fmt: skip
    return Target(url=parts.geturl(), host=host, port=port, address=addresses[0])
