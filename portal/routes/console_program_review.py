"""Console → Programs → a program's weekly review (and its CSV): per program and step, the week
reviewed beside the week before, a chart over 12 weeks, and the A/B test of each send step.
The figures are ``nurture.programs.review``'s."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from babel import dates as babel_dates
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from content.orm import utcnow
from nurture.programs import review as reviewing
from portal import charts, i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.routes.console import console_page
from portal.routes.console_program_page import status_label
from tracking.rules.config import Model

WEEK_TEXT_MAX = 20
MINUS = "\u2212"
NOT_KNOWN = "\u2013"


def _week(text: str, now: datetime) -> tuple[date | None, str | None]:
    """The week asked for in the URL (None: the running one), or why it cannot be shown."""
    if not text.strip():
        return None, None
    try:
        return reviewing.parse_week(text[:WEEK_TEXT_MAX], now), None
    except ValueError as refused:
        reason = i18n.say(refused.args[0]) if refused.args else str(refused)
        return None, i18n.gettext("%(reason)s. Showing the running week instead.", reason=reason)


def _review(database: Database, model: Model, program_id: int, week: date | None,
            now: datetime) -> reviewing.Review:  # fmt: skip
    with database.read() as session:
        try:
            if not 0 < program_id < 2**31:
                raise LookupError(program_id)
            return reviewing.review(session, program_id, now=now, stages=model.stages, week=week)
        except LookupError:
            raise NotFoundException(f"no program {program_id}") from None


def day_and_month(day: date) -> str:
    """A day without its year, as the reader writes it ("23 Nov", "23. Nov.")."""
    return babel_dates.format_skeleton("MMMd", day, locale=i18n.locale())


def weekly_chart(review: reviewing.Review) -> charts.Chart:
    """Sent, human opens, clicks and goal conversions over the weeks shown."""
    return charts.lines(
        i18n.gettext(
            "%(program)s: %(count)s weeks to %(week)s",
            program=review.name,
            count=len(review.weeks),
            week=reviewing.week_name(review.weeks[-1]),
        ),
        [day_and_month(monday) for monday in review.weeks],
        {
            i18n.gettext("Sent"): [week.sent for week in review.totals],
            i18n.gettext("Human opens"): [week.opens for week in review.totals],
            i18n.gettext("Clicks"): [week.clicks for week in review.totals],
            i18n.gettext("Goal conversions"): [week.conversions for week in review.totals],
        },
        label_header=i18n.gettext("Week of"),
    )


def verdict_words(test: reviewing.AbLine) -> str:
    """An A/B test's verdict in the reader's language and number format (a stored verdict in
    other words: as stored)."""
    if test.facts is None:
        return test.explanation
    said = i18n.say(
        test.facts.said(
            number=lambda value: i18n.format_number(value, 4), percent=i18n.format_percent
        )
    )
    return said[:1].upper() + said[1:]


def step_words(step: reviewing.StepLine | reviewing.AbLine) -> str:
    """A step's label in the reader's language."""
    return i18n.say(step.said) if step.said is not None else step.label


def csv_titles() -> list[str]:
    """The review CSV's columns titled for a spreadsheet reader, in the reader's language
    (``?header=labels``; the plain file keeps the machine names)."""
    return [
        i18n.pgettext("column", "Week"),
        i18n.pgettext("column", "Week start"),
        i18n.pgettext("column", "Step"),
        i18n.pgettext("column", "Step label"),
    ] + [i18n.gettext(label) for _, label in reviewing.FIGURES]


def change(now: int | None, before: int | None) -> str:
    """The change from the week before, signed (``+3``, ``MINUS 2``, ``0``), or an en dash when
    either is not known."""
    if now is None or before is None:
        return NOT_KNOWN
    difference = now - before
    if difference == 0:
        return "0"
    return f"+{difference}" if difference > 0 else f"{MINUS}{-difference}"


class ProgramReviewController(Controller):
    path = PROGRAMS.url + "/{program_id:int}"
    guards = [requires_role(*PROGRAMS.roles)]
    include_in_schema = False

    @get("/review", sync_to_thread=True)
    def page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        program_id: FromPath[int],
        week: FromQuery[str] = "",
    ) -> Template:
        now = utcnow()
        chosen, problem = _week(week, now)
        review = _review(database, model, program_id, chosen, now)
        shown = review.weeks[-1]
        page = console_page(
            request,
            "console/program_review.html",
            review=review,
            chart=weekly_chart(review),
            figures=[(name, i18n.gettext(label)) for name, label in reviewing.FIGURES],
            verdict_words=verdict_words,
            step_words=step_words,
            status_label=status_label,
            change=change,
            week_name=reviewing.week_name,
            week_start_text=day_and_month(shown),
            week_end_text=i18n.format_date(datetime.combine(shown + timedelta(days=6), time())),
            earlier=reviewing.week_name(shown - timedelta(days=7)),
            later=None if review.current_week else reviewing.week_name(shown + timedelta(days=7)),
            problem=problem,
            request_week=week[:WEEK_TEXT_MAX],
            now=now,
        )
        if problem:
            page.status_code = 400
        return page

    @get("/review.csv", sync_to_thread=True)
    def export(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        program_id: FromPath[int],
        week: FromQuery[str] = "",
    ) -> Response[str]:
        """Every figure per week and step of the weeks the page shows, as CSV."""
        now = utcnow()
        chosen, problem = _week(week, now)
        if problem:
            return Response(problem, status_code=400, media_type="text/plain; charset=utf-8")
        review = _review(database, model, program_id, chosen, now)
        name = f"program-{review.program_id}-review-{reviewing.week_name(review.weeks[-1])}.csv"
        return Response(
            reviewing.csv_text(
                review,
                i18n.say,
                csv_titles() if request.query_params.get("header") == "labels" else None,
            ),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


ROUTES: list[Any] = [ProgramReviewController]
