"""DKIM: mail arrives signed for the sender's domain, and the signature verifies with dkimpy
against the public key a receiver would find in DNS (a key made by openssl for the test). The
RSA step runs in OpenSSL; the header it yields is byte for byte what dkimpy's own signer
writes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim.util import parse_tag_value
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from nurture.mail import dkim
from nurture.mail.models import MailCategory
from portal.app import create_app
from portal.db import Database
from portal.settings import Settings, SettingsError
from tests.mailbox import Received, SmtpSink, dkim_key, send_mail
from tests.nurture.mail.sending import queue, subscribed_lead
from tests.support import app_for

SELECTOR = "mail2026"
DOMAIN = "pipewise.example"


@dataclass(frozen=True)
class SigningKey:
    path: Path
    record: str

    def dns(self) -> Callable[..., bytes | None]:
        """What a resolver answers: the TXT record at ``SELECTOR._domainkey.DOMAIN.`` only."""

        def txt(name: bytes, timeout: float = 5) -> bytes | None:
            if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode():
                return self.record.encode()
            return None

        return txt

    def verifies(self, raw: bytes) -> bool:
        return bool(dkimpy.verify(raw, dnsfunc=self.dns()))


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey(*dkim_key(tmp_path_factory.mktemp("dkim")))


def signature_tags(raw: bytes) -> dict[bytes, bytes]:
    header = raw.split(b"\r\n\r\n", 1)[0]
    unfolded = header.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    (line,) = [x for x in unfolded.split(b"\r\n") if x.lower().startswith(b"dkim-signature:")]
    tags: dict[bytes, bytes] = parse_tag_value(line.split(b":", 1)[1])
    return tags


def signed_headers(raw: bytes) -> list[str]:
    value = signature_tags(raw)[b"h"].decode()
    return [name.strip() for name in value.split(":")]


def a_mail(
    subject: str = "Your copy of the Pricing guide",
    text: str = "Hallo Ann, hier ist Ihr Exemplar. Grüße aus Hamburg",
    **extra: str,
) -> bytes:
    mail = EmailMessage()
    mail["Subject"] = subject
    mail["From"] = f"Pipewise <news@{DOMAIN}>"
    mail["To"] = "ann@example.com"
    mail["Date"] = "Wed, 25 Nov 2026 09:00:00 +0000"
    mail["Message-ID"] = f"<abc123@{DOMAIN}>"
    for name, value in extra.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    mail.add_alternative("<p>Hallo Ann, hier ist Ihr Exemplar.</p>", subtype="html")
    return mail.as_bytes(policy=SMTP)


def test_a_signed_mail_verifies_and_covers_the_headers_receivers_act_on(key: SigningKey) -> None:
    raw = dkim.sign(
        a_mail(
            List_Unsubscribe="<https://portal.example/email/unsubscribe?t=x>",
            List_Unsubscribe_Post="List-Unsubscribe=One-Click",
        ),
        dkim.load_key(key.path, SELECTOR, DOMAIN),
    )
    assert key.verifies(raw)
    tags = signature_tags(raw)
    assert (tags[b"d"], tags[b"s"], tags[b"c"], tags[b"a"]) == (
        DOMAIN.encode(),
        SELECTOR.encode(),
        b"relaxed/relaxed",
        b"rsa-sha256",
    )
    assert signed_headers(raw) == [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "mime-version",
        "content-type",
        "from",
    ]


@pytest.mark.parametrize(
    ("original", "changed"),
    [
        (b"Subject: Your copy", b"Subject: Free money"),
        (b"Hallo Ann", b"Hallo Bob"),
        (b"To: ann@example.com", b"To: bob@example.com"),
    ],
)
def test_a_changed_header_or_body_breaks_the_signature(
    key: SigningKey, original: bytes, changed: bytes
) -> None:
    raw = dkim.sign(a_mail(), dkim.load_key(key.path, SELECTOR, DOMAIN))
    assert original in raw
    assert not key.verifies(raw.replace(original, changed, 1))


def test_a_second_from_added_on_the_way_breaks_the_signature(key: SigningKey) -> None:
    raw = dkim.sign(a_mail(), dkim.load_key(key.path, SELECTOR, DOMAIN))
    head, body = raw.split(b"\r\n\r\n", 1)
    assert not key.verifies(head + b"\r\nFrom: Mallory <m@evil.example>\r\n\r\n" + body)


def test_relaxed_canonicalisation_survives_whitespace_changes_by_relays(key: SigningKey) -> None:
    raw = dkim.sign(a_mail(), dkim.load_key(key.path, SELECTOR, DOMAIN))
    respaced = raw.replace(b"Subject: Your copy", b"subject:   Your   copy", 1)
    assert key.verifies(respaced)


def signed_by_dkimpy(message: bytes, key: SigningKey) -> bytes:
    """What dkimpy's own signer (pure-Python RSA) makes of ``message``: the reference."""
    present = {name.lower() for name, _value in dkimpy.rfc822_parse(message)[0]}
    header: bytes = dkimpy.DKIM(message).sign(
        SELECTOR.encode(),
        DOMAIN.encode(),
        key.path.read_bytes(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h for h in dkim.SIGNED_HEADERS if h in present] + [b"from"],
    )
    return header + message


def assert_signed_as_dkimpy_signs(message: bytes, key: SigningKey) -> None:
    reference = signed_by_dkimpy(message, key)
    ours = dkim.sign(
        message,
        dkim.load_key(key.path, SELECTOR, DOMAIN),
        now=int(signature_tags(reference)[b"t"]),
    )
    assert ours == reference
    assert key.verifies(ours)


@pytest.mark.parametrize(
    "message",
    [
        a_mail(),
        a_mail(
            List_Unsubscribe="<https://portal.example/email/unsubscribe?t=x>",
            List_Unsubscribe_Post="List-Unsubscribe=One-Click",
        ),
        a_mail(subject="Ihr Exemplar: Preisleitfaden für Vertriebsteams " * 4, text=""),
        a_mail().replace(b"\r\n", b"\n"),
    ],
    ids=["transactional", "marketing", "long-subject-empty-body", "bare-lf"],
)
def test_the_signature_is_byte_for_byte_what_dkimpy_signs(message: bytes, key: SigningKey) -> None:
    assert_signed_as_dkimpy_signs(message, key)


@settings(max_examples=25, deadline=None)
@given(subject=st.text(min_size=1, max_size=200), text=st.text(max_size=400))
def test_any_subject_and_body_sign_as_dkimpy_signs(
    key: SigningKey, subject: str, text: str
) -> None:
    one_line = " ".join(subject.split()) or "x"
    assert_signed_as_dkimpy_signs(a_mail(subject=one_line, text=text), key)


def write_key(
    path: Path,
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    form: serialization.PrivateFormat,
    passphrase: bytes = b"",
) -> Path:
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, form, encryption))
    return path


def test_pkcs1_and_pkcs8_key_files_both_sign(tmp_path: Path, key: SigningKey) -> None:
    pkcs8 = dkim.load_key(key.path, SELECTOR, DOMAIN)
    pkcs1 = write_key(
        tmp_path / "rsa.pem",
        pkcs8.private_key,
        serialization.PrivateFormat.TraditionalOpenSSL,
    )
    assert pkcs1.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert key.verifies(dkim.sign(a_mail(), dkim.load_key(pkcs1, SELECTOR, DOMAIN)))


def test_keys_receivers_would_not_accept_are_refused_at_start_up(
    tmp_path: Path, key: SigningKey
) -> None:
    short = tmp_path / "short.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(short), "512"], check=True, capture_output=True
    )
    with pytest.raises(dkim.DkimKeyError, match=r"short\.pem holds a 512-bit RSA key"):
        dkim.load_key(short, SELECTOR, DOMAIN)
    edwards = write_key(
        tmp_path / "ed25519.pem",
        ed25519.Ed25519PrivateKey.generate(),
        serialization.PrivateFormat.PKCS8,
    )
    with pytest.raises(dkim.DkimKeyError, match=r"not a PEM RSA private key .*Ed25519, not RSA"):
        dkim.load_key(edwards, SELECTOR, DOMAIN)
    locked = write_key(
        tmp_path / "locked.pem",
        dkim.load_key(key.path, SELECTOR, DOMAIN).private_key,
        serialization.PrivateFormat.PKCS8,
        passphrase=b"secret",
    )
    with pytest.raises(dkim.DkimKeyError, match="without a passphrase"):
        dkim.load_key(locked, SELECTOR, DOMAIN)


def test_a_key_file_that_is_no_private_key_is_refused_with_its_name(tmp_path: Path) -> None:
    wrong = tmp_path / "not-a-key.pem"
    wrong.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    with pytest.raises(dkim.DkimKeyError, match=r"not-a-key\.pem is not a PEM RSA private key"):
        dkim.load_key(wrong, SELECTOR, DOMAIN)
    with pytest.raises(dkim.DkimKeyError, match="cannot read"):
        dkim.load_key(tmp_path / "missing.pem", SELECTOR, DOMAIN)


@pytest.fixture
def signing_client(mail_settings: Settings, key: SigningKey) -> Iterator[TestClient[Litestar]]:
    settings = mail_settings.with_overrides(dkim_key_file=key.path, dkim_selector=SELECTOR)
    with app_for(settings) as built, TestClient(built) as client:
        yield client


def received_by(sink: SmtpSink, address: str) -> Received:
    sink.wait_for(1)
    (mail,) = sink.to(address)
    return mail


def test_the_send_job_signs_transactional_mail(
    signing_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    key: SigningKey,
) -> None:
    queue(db, "ann@example.com")
    send_mail(signing_client)
    mail = received_by(smtp_sink, "ann@example.com")
    assert key.verifies(mail.raw)
    assert "list-unsubscribe" not in signed_headers(mail.raw)


def test_the_send_job_signs_marketing_mail_with_its_unsubscribe_headers(
    signing_client: TestClient[Litestar],
    smtp_sink: SmtpSink,
    db: Database,
    key: SigningKey,
) -> None:
    lead = subscribed_lead(db, "ann@example.com")
    queue(db, "ann@example.com", category=MailCategory.MARKETING, lead_id=lead)
    send_mail(signing_client)
    mail = received_by(smtp_sink, "ann@example.com")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert key.verifies(mail.raw)
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_headers(mail.raw))


def test_a_wrong_key_file_stops_the_app_at_start_up(
    mail_settings: Settings, tmp_path: Path
) -> None:
    wrong = tmp_path / "dkim.pem"
    wrong.write_text("not a key")
    settings = mail_settings.with_overrides(dkim_key_file=wrong, dkim_selector=SELECTOR)
    with pytest.raises(SettingsError, match="is not a PEM RSA private key"):
        create_app(settings)
