"""DKIM: mail arrives signed for the sender's domain, and the signature verifies with dkimpy
against the public key a receiver would find in DNS (a key made by openssl for the test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import dkim as dkimpy
import pytest
from dkim.util import parse_tag_value
from litestar import Litestar
from litestar.testing import TestClient

from nurture.mail import dkim
from nurture.mail.models import MailCategory
from portal.app import create_app
from portal.db import Database
from portal.settings import Settings, SettingsError
from tests.mailbox import Received, SmtpSink, dkim_key, send_mail
from tests.nurture.mail.sending import queue, subscribed_lead

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


def a_mail(**extra: str) -> bytes:
    mail = EmailMessage()
    mail["Subject"] = "Your copy of the Pricing guide"
    mail["From"] = f"Pipewise <news@{DOMAIN}>"
    mail["To"] = "ann@example.com"
    mail["Date"] = "Wed, 25 Nov 2026 09:00:00 +0000"
    mail["Message-ID"] = f"<abc123@{DOMAIN}>"
    for name, value in extra.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Hallo Ann, hier ist Ihr Exemplar. Grüße aus Hamburg")
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
    with TestClient(create_app(settings)) as client:
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
