"""DKIM signatures (dkimpy): every mail signed for the sender's domain when
``LEADSHELF_DKIM_KEY_FILE`` and ``LEADSHELF_DKIM_SELECTOR`` are set.

The key is read and checked once when the sender is built, so a wrong file stops the process
at start-up instead of failing every message. ``signing`` wraps any renderer: the signature
covers the headers a receiver shows or acts on (From, To, Subject, Date, Message-ID, the
List-Unsubscribe pair that one-click unsubscribe relies on, the MIME headers) with
relaxed/relaxed canonicalisation, which survives the header refolding and whitespace changes
relays make.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key
from sqlalchemy.orm import Session

from nurture.mail.sender import Outgoing, Render, Rendered

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
)
"""Signed when the message has them; From is signed once more, so a second From added on the
way breaks the signature (RFC 6376 section 8.15)."""
CANONICALIZE = (b"relaxed", b"relaxed")


class DkimKeyError(ValueError):
    """The key file is not a PEM RSA private key; the message names the file."""


@dataclass(frozen=True, slots=True)
class DkimKey:
    """What a signature needs: the private key, the selector and the signing domain (``d=``),
    whose DNS holds the public key at ``SELECTOR._domainkey.DOMAIN``."""

    private_key: bytes
    selector: str
    domain: str


def load_key(path: Path, selector: str, domain: str) -> DkimKey:
    """Read the PEM private key once (PKCS#1 or PKCS#8) and check that dkimpy can use it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"dkim_key_file: cannot read {path}: {exc.strerror or exc}") from None
    try:
        parse_pem_private_key(data)
    except (UnparsableKeyError, ValueError, IndexError) as exc:
        raise DkimKeyError(
            f"dkim_key_file: {path} is not a PEM RSA private key ({str(exc).splitlines()[0]})"
        ) from None
    if not selector.strip():
        raise DkimKeyError("dkim_selector: empty")
    return DkimKey(data, selector.strip(), domain.lower())


def sign(message: bytes, key: DkimKey) -> bytes:
    """The message with its ``DKIM-Signature`` header on top."""
    signer = dkim.DKIM(message)
    present = {name.lower() for name, _value in signer.headers}
    headers = [name for name in SIGNED_HEADERS if name in present] + [b"from"]
    signature: bytes = signer.sign(
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=CANONICALIZE,
        include_headers=headers,
    )
    return signature + message


def signing(render: Render, key: DkimKey) -> Render:
    """A renderer whose every message is signed with ``key``."""

    def signed(session: Session, message: Outgoing) -> Rendered:
        rendered = render(session, message)
        return Rendered(subject=rendered.subject, data=sign(rendered.data, key))

    return signed


def signing_if_set(render: Render, key_file: Path | None, selector: str, domain: str) -> Render:
    """``render`` signed when both DKIM settings are given, unchanged when neither is."""
    if key_file is None or not selector:
        return render
    return signing(render, load_key(key_file, selector, domain))
