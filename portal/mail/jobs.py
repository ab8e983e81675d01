"""The mail jobs the runner runs (listed in ``portal.jobs``): sending the outbox, and queueing
webinar mail when it is due. The work itself belongs to ``nurture.mail``; this module builds
it from the settings and says what a pass did."""

from __future__ import annotations

import threading
from datetime import timedelta

from content.orm import utcnow
from nurture.mail import dkim, webinars
from nurture.mail import sender as sending
from nurture.mail.sender import MailSender
from nurture.mail.smtp import parse_sender, parse_smtp_url
from portal.background import Backlog, older_than, when
from portal.db import Database
from portal.mail.render import MailRenderer
from portal.settings import Settings, SettingsError
from portal.signing import Signer
from tracking.rules.config import Model

BEHIND_AFTER = timedelta(minutes=5)
"""Mail due for this long and not sent makes /healthz degraded."""


def mail_sender(
    settings: Settings,
    database: Database,
    signer: Signer,
    stopping: threading.Event | None = None,
    model: Model | None = None,
) -> MailSender:
    """The mail send job's worker for these settings (SMTP unset: it sends nothing); with
    ``dkim_key_file`` and ``dkim_selector`` every mail is signed (the key is read here, once)."""
    sender = parse_sender(settings.mail_from)
    try:
        render = dkim.signing_if_set(
            MailRenderer(settings, signer, model=model),
            settings.dkim_key_file,
            settings.dkim_selector,
            sender.domain,
        )
    except dkim.DkimKeyError as exc:
        raise SettingsError(str(exc)) from None
    return MailSender(
        database,
        render,
        parse_smtp_url(settings.smtp_url) if settings.smtp_url else None,
        sender,
        postal_address=settings.postal_address,
        per_second=settings.mail_per_second,
        stopping=stopping,
    )


def sent(mailer: MailSender) -> str | None:
    """One pass of the send job, and what it did in words (None: nothing was due)."""
    done = mailer.run_once()
    if not done.total:
        return None
    parts = ["SMTP server unreachable"] if done.unreachable else []
    parts.append(f"{done.sent} sent")
    parts += [
        f"{count} {what}"
        for count, what in (
            (done.retried, "to retry"),
            (done.bounced, "bounced"),
            (done.skipped, "skipped"),
        )
        if count
    ]
    return ", ".join(parts)


def queue_webinar_mail(database: Database, settings: Settings) -> str | None:
    """Reads what is due first: an idle minute takes no write lock."""
    now = utcnow()
    with database.read() as session:
        due = webinars.find_due(session, now)
    if not due:
        return None
    with database.write() as session:
        queued = webinars.queue(
            session,
            due,
            now,
            domain=parse_sender(settings.mail_from).domain,
            default_language=settings.default_language,
        )
    return ", ".join(f"{count} {kind}" for kind, count in sorted(queued.counts.items()) if count)


def backlog(database: Database, settings: Settings) -> Backlog:
    """What waits in the outbox, and why when SMTP is not set."""
    with database.read() as session:
        waiting = sending.backlog(session, utcnow())
    if not waiting.waiting:
        return Backlog("nothing waiting")
    summary = f"{waiting.waiting} message(s) waiting"
    if not settings.smtp_url:
        summary += " (LEADSHELF_SMTP_URL is not set: mail waits until it is)"
    elif waiting.oldest_due is not None:
        summary += f"; due since {when(waiting.oldest_due)}"
    return Backlog(summary, behind=older_than(waiting.oldest_due, BEHIND_AFTER))
