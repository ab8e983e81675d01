"""``leadshelf mail test ADDRESS`` against a real SMTP server: the mail arrives, the dialogue
is printed, and every way it can fail ends with one clear line and status 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from nurture.mail.models import MailMessage
from portal.cli import main
from portal.db import Database
from tests.mailbox import SmtpSink, dkim_key
from tests.servers import free_port

Run = Callable[..., Result]


@pytest.fixture
def run(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke ``leadshelf`` with the test database and the mail sender of Pipewise."""
    monkeypatch.chdir(tmp_path)  # no stray ./leadshelf.toml
    base_env: dict[str, str | None] = {
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": "cli-test-secret-key-0123456789",
        "LEADSHELF_MAIL_FROM": "Pipewise <news@pipewise.example>",
        "LEADSHELF_SMTP_URL": None,
        "LEADSHELF_DKIM_KEY_FILE": None,
        "LEADSHELF_DKIM_SELECTOR": None,
        "LEADSHELF_DEFAULT_LANGUAGE": None,
        "LEADSHELF_CONFIG": None,
    }

    def invoke(*args: str, **env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**base_env, **env})

    return invoke


def failure(result: Result) -> str:
    """The one line a failed command printed on stderr (no traceback)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"crashed with {result.exception!r}"
    (line,) = result.stderr.strip().splitlines()
    return line


def outbox_size(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(MailMessage)) or 0


def test_a_test_mail_arrives_and_the_dialogue_is_printed(
    run: Run, smtp_sink: SmtpSink, db: Database
) -> None:
    result = run("mail", "test", "ops@pipewise.example", LEADSHELF_SMTP_URL=smtp_sink.url)
    assert result.exit_code == 0, result.output
    (received,) = smtp_sink.wait_for(1)
    assert received.rcpt_to == ("ops@pipewise.example",)
    assert received.subject == "Test message from Pipewise"
    assert received.mail_from.startswith("bounces+")

    lines = result.stdout.splitlines()
    assert lines[0] == f"Server: smtp://127.0.0.1:{smtp_sink.port}"
    assert lines[1].startswith("  CONNECT: 220 ")
    assert lines[2].startswith("  EHLO: 250 ")
    assert lines[3] == "  DATA: 250 Message accepted for delivery"
    assert f"Message-ID: {received.message['Message-ID']}" in lines
    assert "From: Pipewise <news@pipewise.example>" in lines
    assert lines[-1] == "The server accepted the test mail to ops@pipewise.example."
    assert outbox_size(db) == 0  # straight to the server, not through the outbox


def test_in_german_when_that_is_the_default_language(run: Run, smtp_sink: SmtpSink) -> None:
    result = run(
        "mail",
        "test",
        "ops@pipewise.example",
        LEADSHELF_SMTP_URL=smtp_sink.url,
        LEADSHELF_DEFAULT_LANGUAGE="de",
    )
    assert result.exit_code == 0, result.output
    (received,) = smtp_sink.wait_for(1)
    assert received.subject == "Testnachricht von Pipewise"


def test_starttls_and_auth_show_in_the_dialogue(run: Run, tmp_path: Path) -> None:
    sink = SmtpSink.secured(tmp_path, "mailer", "s3cret").start()
    try:
        result = run("mail", "test", "ops@pipewise.example", LEADSHELF_SMTP_URL=sink.url)
        assert result.exit_code == 0, result.output
        assert len(sink.wait_for(1)) == 1
    finally:
        sink.stop()
    steps = [line.split(":")[0].strip() for line in result.stdout.splitlines()[1:6]]
    assert steps == ["CONNECT", "EHLO", "STARTTLS", "AUTH", "DATA"]
    assert "  AUTH: 235 2.7.0 Authentication successful" in result.stdout.splitlines()
    assert "with STARTTLS" in result.stdout.splitlines()[0]
    assert "s3cret" not in result.stdout


def test_the_test_mail_is_signed_when_dkim_is_set(
    run: Run, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    key, _record = dkim_key(tmp_path)
    result = run(
        "mail",
        "test",
        "ops@pipewise.example",
        LEADSHELF_SMTP_URL=smtp_sink.url,
        LEADSHELF_DKIM_KEY_FILE=str(key),
        LEADSHELF_DKIM_SELECTOR="mail",
    )
    assert result.exit_code == 0, result.output
    (received,) = smtp_sink.wait_for(1)
    assert "d=pipewise.example" in str(received.message["DKIM-Signature"])
    assert (
        "DKIM: signed for pipewise.example with selector mail "
        "(public key in DNS at mail._domainkey.pipewise.example)"
    ) in result.stdout.splitlines()


def test_without_smtp_settings_it_says_so(run: Run) -> None:
    assert failure(run("mail", "test", "ops@pipewise.example")) == (
        "Error: LEADSHELF_SMTP_URL is not set: there is no SMTP server to send through"
    )


def test_an_unreachable_server_is_named(run: Run) -> None:
    port = free_port()  # nothing listens there
    result = run(
        "mail", "test", "ops@pipewise.example", LEADSHELF_SMTP_URL=f"smtp://127.0.0.1:{port}"
    )
    line = failure(result)
    assert line.startswith(f"Error: no test mail sent: cannot connect to 127.0.0.1:{port}: ")
    assert "refused" in line.lower()


def test_a_refused_mail_shows_the_reply(run: Run, smtp_sink: SmtpSink) -> None:
    smtp_sink.script("554 5.7.1 relay access denied")
    result = run("mail", "test", "ops@pipewise.example", LEADSHELF_SMTP_URL=smtp_sink.url)
    assert failure(result) == (
        "Error: the server did not take the test mail: DATA 554 5.7.1 relay access denied"
    )
    assert "  DATA: 554 5.7.1 relay access denied" in result.stdout.splitlines()


def test_a_refused_recipient_shows_the_rcpt_reply(run: Run, smtp_sink: SmtpSink) -> None:
    smtp_sink.refuse_recipient("nobody@pipewise.example", "550 5.1.1 no such user")
    result = run("mail", "test", "nobody@pipewise.example", LEADSHELF_SMTP_URL=smtp_sink.url)
    assert failure(result) == (
        "Error: the server did not take the test mail: RCPT 550 5.1.1 no such user"
    )


def test_wrong_credentials_show_the_auth_refusal(run: Run, tmp_path: Path) -> None:
    sink = SmtpSink.secured(tmp_path, "mailer", "right").start()
    try:
        wrong = sink.url.replace("mailer:right@", "mailer:wrong@")
        result = run("mail", "test", "ops@pipewise.example", LEADSHELF_SMTP_URL=wrong)
    finally:
        sink.stop()
    assert failure(result).startswith("Error: no test mail sent: AUTH refused: 535 ")
    assert any(line.startswith("  AUTH: 535") for line in result.stdout.splitlines())
    assert sink.messages == []


def test_a_malformed_address_is_refused(run: Run, smtp_sink: SmtpSink) -> None:
    line = failure(run("mail", "test", "not-an-address", LEADSHELF_SMTP_URL=smtp_sink.url))
    assert line == "Error: not an email address: 'not-an-address'"
    assert smtp_sink.messages == []


def test_a_dkim_key_file_that_is_no_key_is_named(
    run: Run, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    wrong = tmp_path / "dkim.pem"
    wrong.write_text("not a key\n")
    result = run(
        "mail",
        "test",
        "ops@pipewise.example",
        LEADSHELF_SMTP_URL=smtp_sink.url,
        LEADSHELF_DKIM_KEY_FILE=str(wrong),
        LEADSHELF_DKIM_SELECTOR="mail",
    )
    assert failure(result).startswith(f"Error: dkim_key_file: {wrong} is not a PEM RSA private key")
    assert smtp_sink.messages == []
