"""Console → Programs → a program's weekly review (and its CSV): per program and step, the week
reviewed beside the week before, a chart over 12 weeks, and the A/B test of each send step.
The figures are ``nurture.programs.review``'s."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from content.orm import utcnow
from nurture.programs import review as reviewing
from portal import charts
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.routes.console import console_page
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
        return None, f"{refused}. Showing the running week instead."


def _review(database: Database, model: Model, program_id: int, week: date | None,
            now: datetime) -> reviewing.Review:  # fmt: skip
    with database.read() as session:
        try:
            if not 0 < program_id < 2**31:
                raise LookupError(program_id)
            return reviewing.review(session, program_id, now=now, stages=model.stages, week=week)
        except LookupError:
            raise NotFoundException(f"no program {program_id}") from None


def weekly_chart(review: reviewing.Review) -> charts.Chart:
    """Sent, human opens, clicks and goal conversions over the weeks shown."""
    return charts.lines(
        f"{review.name}: {len(review.weeks)} weeks to {reviewing.week_name(review.weeks[-1])}",
        [f"{monday:%-d %b}" for monday in review.weeks],
        {
            "Sent": [week.sent for week in review.totals],
            "Human opens": [week.opens for week in review.totals],
            "Clicks": [week.clicks for week in review.totals],
            "Goal conversions": [week.conversions for week in review.totals],
        },
        label_header="Week of",
    )


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
            figures=reviewing.FIGURES,
            change=change,
            week_name=reviewing.week_name,
            week_end=shown + timedelta(days=6),
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
            reviewing.csv_text(review),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


ROUTES: list[Any] = [ProgramReviewController]
