"""``leadshelf mail test ADDRESS``: send one mail through the configured SMTP server now and
show how the server answered, so an operator can check the settings before real mail waits.

The test mail is rendered and signed exactly like the send job's mail (``templates/email/
test.html``, DKIM when set) but goes straight to the server: no outbox row, no lead, no
retries. The dialogue goes to stdout; a failure ends with one line on stderr and status 1.
"""

from __future__ import annotations

import secrets
from email.utils import parseaddr

import click

from content.orm import utcnow
from nurture.mail import dkim
from nurture.mail.models import MailCategory
from nurture.mail.outbox import new_message_id
from nurture.mail.sender import Outgoing, Render, return_path
from nurture.mail.smtp import (
    MailSettingError,
    Reply,
    Sender,
    SessionFailed,
    connect,
    parse_sender,
    parse_smtp_url,
)
from portal.cli_support import CliError, first_line, open_database, settings_for
from portal.mail.render import MailRenderer
from portal.settings import Settings
from portal.signing import Signer, load_secret_keys


@click.group(help="Mail: send a test message through the configured SMTP server.")
def mail() -> None:
    pass


@mail.command(
    "test",
    help="Send a test mail to ADDRESS through LEADSHELF_SMTP_URL now (not through the outbox) "
    "and print the server's answers: greeting, EHLO, STARTTLS, AUTH, and the reply to the mail.",
)
@click.argument("address")
@click.pass_context
def mail_test(ctx: click.Context, address: str) -> None:
    settings = settings_for(ctx)
    recipient = _recipient(address)
    if not settings.smtp_url:
        raise CliError("LEADSHELF_SMTP_URL is not set: there is no SMTP server to send through")
    try:
        server = parse_smtp_url(settings.smtp_url)
        sender = parse_sender(settings.mail_from)
        render = _renderer(settings, sender)
    except (MailSettingError, dkim.DkimKeyError) as exc:
        raise CliError(str(exc)) from None
    message = _test_message(recipient, sender, settings.default_language)
    database = open_database(settings)
    try:
        with database.read() as session:
            rendered = render(session, message)
    except Exception as exc:
        raise CliError(f"the test mail could not be rendered: {first_line(exc)}") from None
    finally:
        database.dispose()

    click.echo(f"Server: {server.describe()}")
    try:
        connection = connect(server)
    except SessionFailed as exc:
        _echo_dialogue(exc.dialogue)
        raise CliError(f"no test mail sent: {exc.reason}") from None
    try:
        reply = connection.send(return_path(message.verp, sender), recipient, rendered.data)
    finally:
        connection.close()
    _echo_dialogue(connection.dialogue)
    click.echo(f"  {_answer(reply)}")
    click.echo(f"Message-ID: {message.message_id}")
    click.echo(f"From: {sender.header()}")
    click.echo(f"DKIM: {_dkim_state(settings, sender)}")
    if not reply.accepted:
        raise CliError(f"the server did not take the test mail: {reply.describe()}")
    click.echo(f"The server accepted the test mail to {recipient}.")


def _recipient(address: str) -> str:
    _, parsed = parseaddr(address)
    local, _, domain = parsed.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in parsed):
        raise CliError(f"not an email address: {address!r}")
    return parsed


def _renderer(settings: Settings, sender: Sender) -> Render:
    """The send job's renderer: the same templates and the same DKIM signature."""
    return dkim.signing_if_set(
        MailRenderer(settings, Signer(load_secret_keys(settings))),
        settings.dkim_key_file,
        settings.dkim_selector,
        sender.domain,
    )


def _test_message(recipient: str, sender: Sender, language: str) -> Outgoing:
    return Outgoing(
        id=0,
        claim="",
        message_id=new_message_id(sender.domain),
        verp=secrets.token_hex(12),
        lead_id=None,
        to=recipient,
        kind="test",
        category=MailCategory.TRANSACTIONAL,
        language=language,
        params={},
        attempts=1,
        created_at=utcnow(),
    )


def _echo_dialogue(lines: list[str]) -> None:
    for line in lines:
        click.echo(f"  {line}")


def _answer(reply: Reply) -> str:
    if reply.code is None:
        return f"{reply.step or 'SEND'}: no answer ({reply.text})"
    return f"{reply.step}: {reply.code} {reply.text}".strip()


def _dkim_state(settings: Settings, sender: Sender) -> str:
    if settings.dkim_key_file is None or not settings.dkim_selector:
        return "not signed (LEADSHELF_DKIM_KEY_FILE and LEADSHELF_DKIM_SELECTOR are not set)"
    return (
        f"signed for {sender.domain} with selector {settings.dkim_selector} (public key in DNS "
        f"at {settings.dkim_selector}._domainkey.{sender.domain})"
    )
