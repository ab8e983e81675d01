"""``leadshelf bounces serve``: the SMTP receiver of the VERP return path.

Every message Leadshelf sends has the envelope sender ``bounces+TOKEN@domain`` and (marketing
mail) a List-Unsubscribe ``mailto:unsubscribe+TOKEN@domain``. Route those addresses to this
receiver (an MX of its own, or a transport map on the MX in front, e.g. Postfix
``bounces+*`` and ``unsubscribe+*`` to ``smtp:[127.0.0.1]:2525``) and DSNs, ARF complaints
and unsubscribe mails put addresses on the suppression list.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from content.orm import SessionSource, utcnow
from nurture.mail import bounces as bounce_reports
from portal.cli_support import CliError, open_database, settings_for

logger = logging.getLogger("leadshelf.bounces")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
"""A report encloses at most the original message; anything larger is refused at DATA."""


class BounceHandler:
    """The aiosmtpd handler: accepts mail to any address and applies what it reports.

    Mail is accepted even when it names no message of ours (never bounce a bounce); only a
    database failure answers 451, so the reporting server tries again later.
    """

    def __init__(self, database: SessionSource, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        if not raw and isinstance(envelope.content, bytes):
            raw = envelope.content
        recipients = [str(address) for address in envelope.rcpt_tos]
        try:
            received = await asyncio.to_thread(self.apply, recipients, raw)
        except Exception:
            logger.exception("could not record mail to %s", ", ".join(recipients))
            return "451 4.3.0 Could not record this report now; try again later"
        if received.unsubscribed or received.bounced:
            logger.info(
                "unsubscribed %s; bounces %s; %d ignored",
                list(received.unsubscribed),
                list(received.bounced),
                received.ignored,
            )
        return "250 2.0.0 Report accepted"

    def apply(self, recipients: list[str], raw: bytes) -> bounce_reports.Received:
        with self.database.write() as session:
            return bounce_reports.receive(session, recipients, raw, self.clock())


def receiver(database: SessionSource, host: str, port: int) -> Controller:
    """The receiver, not yet started (``start()`` / ``stop()``)."""
    return Controller(
        BounceHandler(database),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        server_hostname="leadshelf-bounces",
    )


@click.group(help="Bounces: the receiver of DSNs and complaints (VERP return path).")
def bounces() -> None:
    pass


@bounces.command(
    help="Run an SMTP server that receives DSNs and ARF complaints sent to bounces+TOKEN@… and "
    "List-Unsubscribe mail sent to unsubscribe+TOKEN@…, and puts the addresses they name on the "
    "suppression list. Runs until Ctrl-C or SIGTERM."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    settings = settings_for(ctx)
    database = open_database(settings)
    controller = receiver(database, host, port)
    try:
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc}") from None
        click.echo(
            f"Bounce receiver listening on {host}:{port}. Stop with Ctrl-C or SIGTERM.", err=True
        )
        _wait_for_signal()
        controller.stop()
        click.echo("Bounce receiver stopped.", err=True)
    finally:
        database.dispose()


def _wait_for_signal() -> None:
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
