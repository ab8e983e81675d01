"""The demo mailbox, ``/console/mailbox``: every mail the ``serve --demo`` catcher caught, for
any signed-in staff member to open and click through (``portal/demo_mail.py``).

Without a catcher for this server (mail goes to ``LEADSHELF_SMTP_URL``, or waits for one)
the page answers 404 and says where mail goes instead. A mail's HTML is shown in an iframe
from its own route, sandboxed twice (the iframe's ``sandbox`` attribute and the response's
CSP ``sandbox``), never with scripts: a mail is content from outside, read as a mail
client would.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy import select

from nurture.mail.models import MailMessage
from nurture.mail.smtp import MailSettingError, parse_smtp_url
from portal import demo_mail
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import ALL_ROLES, nav_for
from portal.db import Database
from portal.demo_mail import Mailbox
from portal.settings import Settings

MAILBOX_URL = "/console/mailbox"
PHONE_WIDTH = 375
"""The narrow view's frame width in CSS pixels (a phone's mail client)."""

FRAME_POLICY = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src http: https: data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
"""The CSP of a mail's HTML: no scripts, no forms, nothing but images and inline styles
loaded; links may open new tabs (which leave the sandbox, so the portal page they open works
as usual); only console pages may frame it."""


def _page(
    request: Request[StaffPrincipal, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A console page with the menu; no menu entry is current (the mailbox link in the
    layout marks itself), so Overview, whose URL prefixes every console path, is not."""
    staff = request.user
    nav = [replace(link, active=False) for link in nav_for(staff.role, request.url.path)]
    return Template(
        template,
        context={"staff": staff, "nav": nav, **context},
        media_type=MediaType.HTML,
        status_code=status_code,
    )


def _mailbox(settings: Settings) -> Mailbox:
    mailbox = demo_mail.mailbox_for(settings.data_dir, settings.smtp_url)
    if mailbox is None:
        raise NotFoundException("this server has no demo mailbox")
    return mailbox


def _kinds(database: Database, message_ids: list[str]) -> dict[str, str]:
    """Each caught mail's kind, from the outbox row with its Message-ID (mail sent by
    something else, ``leadshelf mail test`` included, may have none)."""
    wanted = [value for value in message_ids if value]
    if not wanted:
        return {}
    with database.read() as session:
        rows = session.execute(
            select(MailMessage.message_id, MailMessage.kind).where(
                MailMessage.message_id.in_(wanted)
            )
        )
        return {message_id: kind for message_id, kind in rows}


def _where_mail_goes(smtp_url: str) -> str:
    """The SMTP server this process sends to, without its password."""
    if not smtp_url:
        return ""
    try:
        return parse_smtp_url(smtp_url).describe()
    except MailSettingError:
        return "LEADSHELF_SMTP_URL"


def _download_name(filename: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._") or "attachment"


class MailboxController(Controller):
    """The caught mails: the list, one mail, its HTML for the frame, its attachments."""

    path = MAILBOX_URL
    guards = [requires_role(*ALL_ROLES)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def mailbox(
        self,
        request: Request[StaffPrincipal, Any, Any],
        settings: NamedDependency[Settings],
        database: NamedDependency[Database],
    ) -> Template:
        mailbox = demo_mail.mailbox_for(settings.data_dir, settings.smtp_url)
        if mailbox is None:
            return _page(
                request,
                "console/mailbox_off.html",
                status_code=404,
                smtp_server=_where_mail_goes(settings.smtp_url),
            )
        mails = mailbox.latest()
        return _page(
            request,
            "console/mailbox.html",
            mails=mails,
            kinds=_kinds(database, [mail.message_id for mail in mails]),
            catcher=settings.smtp_url,
            keep=mailbox.keep,
        )

    @get("/{mail_id:str}", sync_to_thread=True)
    def mail(
        self,
        request: Request[StaffPrincipal, Any, Any],
        settings: NamedDependency[Settings],
        database: NamedDependency[Database],
        mail_id: FromPath[str],
        width: FromQuery[str] = "",
    ) -> Template:
        opened = _mailbox(settings).open(mail_id)
        if opened is None:
            raise NotFoundException("no such mail in the demo mailbox")
        kind = _kinds(database, [opened.summary.message_id]).get(opened.summary.message_id)
        return _page(
            request,
            "console/mailbox_mail.html",
            mail=opened,
            kind=kind,
            narrow=width == "phone",
            phone_width=PHONE_WIDTH,
        )

    @get("/{mail_id:str}/html", sync_to_thread=True)
    def mail_html(
        self, settings: NamedDependency[Settings], mail_id: FromPath[str]
    ) -> Response[str]:
        opened = _mailbox(settings).open(mail_id)
        if opened is None or opened.html is None:
            raise NotFoundException("no such mail, or it has no HTML part")
        return Response(
            demo_mail.framed_html(opened.html),
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": FRAME_POLICY,
                "X-Frame-Options": "SAMEORIGIN",
                "Referrer-Policy": "no-referrer",
            },
        )

    @get("/{mail_id:str}/attachments/{index:int}", sync_to_thread=True)
    def attachment(
        self,
        settings: NamedDependency[Settings],
        mail_id: FromPath[str],
        index: FromPath[int],
    ) -> Response[bytes]:
        opened = _mailbox(settings).open(mail_id)
        if opened is None or not 0 <= index < len(opened.attachments):
            raise NotFoundException("no such attachment")
        attached = opened.attachments[index]
        filename = _download_name(attached.filename)
        return Response(
            attached.data,
            media_type=attached.content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Content-Security-Policy": "sandbox; default-src 'none'",
            },
        )


ROUTES: list[Any] = [MailboxController]
