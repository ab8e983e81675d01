"""Console → Email: the outbox in numbers, the latest messages and bounces, and the
suppression list, where an admin may lift an entry (with a reason, kept on the entry)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template

from content.orm import utcnow
from content.printable import unprintable
from nurture.mail import overview, suppression
from nurture.mail.models import Suppression
from nurture.mail.smtp import MailSettingError, parse_smtp_url
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.models import Role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import EMAIL
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.settings import Settings
from portal.templating import format_datetime_utc

SEARCH_MAX = 254


class LiftForm(msgspec.Struct, kw_only=True):
    """Lifting a suppression: why this address may get mail again."""

    reason: str = ""


def lift_problem(reason: str) -> str | None:
    """What is wrong with a lift reason as typed, or None."""
    _ = i18n.gettext
    if not reason.strip():
        return _(
            "Give a reason: it is kept with the entry, so others see why mail goes there again."
        )
    if len(reason.strip()) > suppression.LIFT_REASON_MAX:
        return _("Keep the reason under %(count)s characters.", count=suppression.LIFT_REASON_MAX)
    if problem := unprintable(reason, multiline=True):
        return _("The reason contains %(problem)s.", problem=problem)
    return None


def _lifted_already(entry: Suppression) -> str:
    assert entry.lifted_at is not None
    return i18n.gettext(
        "%(address)s was lifted already, by %(who)s on %(when)s.",
        address=entry.address,
        who=entry.lifted_by,
        when=format_datetime_utc(entry.lifted_at),
    )


def _sending(settings: Settings) -> dict[str, Any]:
    """Where mail goes, and what keeps it from going, as the page says it."""
    server, problem = "", ""
    if settings.smtp_url:
        try:
            server = parse_smtp_url(settings.smtp_url).describe()
        except MailSettingError as exc:  # refused at start-up already; said here all the same
            problem = str(exc)
    return {
        "smtp_server": server,
        "smtp_problem": problem,
        "mail_from": settings.mail_from,
        "postal_address": settings.postal_address.strip(),
    }


class EmailController(Controller):
    """Admins and marketers read the page; only admins lift suppressions."""

    path = EMAIL.url
    guards = [requires_role(*EMAIL.roles)]
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def index(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        q: FromQuery[str] = "",
        lifted: FromQuery[int | None] = None,
    ) -> Template:
        return _page(request, database, settings, q[:SEARCH_MAX], lifted_id=lifted)

    @post(
        "/suppressions/{entry_id:int}/lift",
        guards=[requires_role(Role.ADMIN)],
        sync_to_thread=True,
    )
    def lift(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        entry_id: FromPath[int],
        data: Annotated[LiftForm, FormBody],
    ) -> Response[Any]:
        """Lift an entry in force: mail may go to the address again; the row stays."""
        problem = lift_problem(data.reason)
        status = 400
        with database.write() as session:
            entry = session.get(Suppression, entry_id) if 0 < entry_id < 2**31 else None
            if entry is None:
                raise NotFoundException(f"no suppression {entry_id}")
            if entry.lifted_at is not None:
                status, problem = 409, _lifted_already(entry)
            elif problem is None:
                suppression.lift(
                    session,
                    entry_id,
                    by=request.user.email,
                    reason=" ".join(data.reason.split()),
                    now=utcnow(),
                )
        if problem is not None:
            page = _page(
                request, database, settings, "", lift_error=(entry_id, problem), reason=data.reason
            )
            page.status_code = status
            return page
        return Redirect(f"{EMAIL.url}?lifted={entry_id}#suppressions", status_code=303)


def _page(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    settings: Settings,
    search: str,
    *,
    lifted_id: int | None = None,
    **context: Any,
) -> Template:
    now: datetime = utcnow()
    with database.read() as session:
        figures = overview.outbox_figures(session, now)
        recent = overview.recent_messages(session)
        bounces = overview.recent_bounces(session)
        entries = suppression.entries(session, search)
        lifted = suppression.lifted(session, search)
        just_lifted = session.get(Suppression, lifted_id) if lifted_id else None
    notice = (
        i18n.gettext(
            "%(address)s may get mail again. The entry stays below with your reason.",
            address=just_lifted.address,
        )
        if just_lifted is not None and just_lifted.lifted_at is not None
        else None
    )
    return console_page(
        request,
        "console/email.html",
        figures=figures,
        period_days=overview.PERIOD.days,
        recent_messages=recent,
        bounces=bounces,
        entries=entries,
        lifted=lifted,
        search=search,
        notice=notice,
        can_lift=request.user.role is Role.ADMIN,
        now=now,
        **_sending(settings),
        **context,
    )


ROUTES: list[Any] = [EmailController]
