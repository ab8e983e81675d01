"""DKIM signatures: every mail signed for the sender's domain when ``LEADSHELF_DKIM_KEY_FILE``
and ``LEADSHELF_DKIM_SELECTOR`` are set.

The key is read and checked once when the sender is built, so a wrong file stops the process
at start-up instead of failing every message. ``signing`` wraps any renderer: the signature
covers the headers a receiver shows or acts on (From, To, Subject, Date, Message-ID, the
List-Unsubscribe pair that one-click unsubscribe relies on, the MIME headers) with
relaxed/relaxed canonicalisation, which survives the header refolding and whitespace changes
relays make.

dkimpy parses the message, canonicalises it, hashes the signed headers and folds the
``DKIM-Signature`` header; OpenSSL (``cryptography``) makes the RSA signature over that hash.
dkimpy's own signer does the RSA step with Python's ``pow``, 5.7 of the 8.9 ms a mail took
on the send path (bench/README.md); OpenSSL takes about 0.3 ms. RSASSA-PKCS1-v1_5 is
deterministic, so the header is byte for byte what ``dkim.DKIM.sign`` writes
(tests/nurture/mail/test_dkim.py checks it).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy
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
POLICY = CanonicalizationPolicy.from_c_value(b"/".join(CANONICALIZE))
HEADER_NAME = b"DKIM-Signature"
MINIMUM_BITS = 1024
"""RFC 8301: signers MUST use at least 1024 bits, and receivers (dkimpy's verify among them)
treat shorter keys as no signature at all."""


class DkimKeyError(ValueError):
    """The key file is not a usable PEM RSA private key; the message names the file."""


@dataclass(frozen=True, slots=True)
class DkimKey:
    """What a signature needs: the private key, the selector and the signing domain (``d=``),
    whose DNS holds the public key at ``SELECTOR._domainkey.DOMAIN``."""

    private_key: rsa.RSAPrivateKey
    selector: str
    domain: str


def load_key(path: Path, selector: str, domain: str) -> DkimKey:
    """Read the PEM private key once (PKCS#1 or PKCS#8, unencrypted) and check that it is an
    RSA key long enough for receivers to accept its signatures."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"dkim_key_file: cannot read {path}: {exc.strerror or exc}") from None
    not_rsa = f"dkim_key_file: {path} is not a PEM RSA private key"
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise DkimKeyError(f"{not_rsa} without a passphrase (it is encrypted)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise DkimKeyError(not_rsa) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.removesuffix("PrivateKey")
        raise DkimKeyError(f"{not_rsa} (it holds a key of type {kind}, not RSA)")
    if key.key_size < MINIMUM_BITS:
        raise DkimKeyError(
            f"dkim_key_file: {path} holds a {key.key_size}-bit RSA key; receivers ignore "
            f"signatures with fewer than {MINIMUM_BITS} bits (2048 is usual)"
        )
    if not selector.strip():
        raise DkimKeyError("dkim_selector: empty")
    return DkimKey(key, selector.strip(), domain.lower())


def sign(message: bytes, key: DkimKey, *, now: float | None = None) -> bytes:
    """The message with its ``DKIM-Signature`` header on top (``t=`` is ``now``, default the
    current time)."""
    headers, body = dkim.rfc822_parse(message)
    present = {name.lower() for name, _value in headers}
    covered = [name for name in SIGNED_HEADERS if name in present] + [b"from"]
    domain = key.domain.encode()
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"/".join(CANONICALIZE)),
        (b"d", domain),
        (b"i", b"@" + domain),
        (b"q", b"dns/txt"),
        (b"s", key.selector.encode()),
        (b"t", str(int(time.time() if now is None else now)).encode()),
        (b"h", b" : ".join(covered)),
        (b"bh", base64.b64encode(hashlib.sha256(POLICY.canonicalize_body(body)).digest())),
        # As dkimpy does: a placeholder long enough to put b= on a line of its own, so the
        # real value changes no whitespace before it.
        (b"b", b"0" * 60),
    ]
    header_hash = hashlib.sha256()
    # dkimpy takes out the placeholder (b= is hashed empty) and hashes the DKIM-Signature
    # header last, without its line break.
    dkim.hash_headers(
        header_hash,
        POLICY,
        POLICY.canonicalize_headers(headers),
        covered,
        (HEADER_NAME, b" " + _folded(fields, b"")),
        {},
    )
    signature = key.private_key.sign(
        header_hash.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
    )
    fields[-1] = (b"b", base64.b64encode(signature))
    return HEADER_NAME + b": " + _folded(fields, b"\r\n") + message


def _folded(fields: Sequence[tuple[bytes, bytes]], end: bytes) -> bytes:
    """The tag list folded at 72 columns the way dkimpy folds it."""
    value: bytes = dkim.fold(
        b"; ".join(b"=".join(field) for field in fields) + end, namelen=len(HEADER_NAME)
    )
    return value


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
