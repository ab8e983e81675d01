"""Console → Attribution: which content, sources, campaigns and programs created leads, MQLs,
SQLs, opportunities, customers, pipeline and revenue, under the model and window chosen on the
page (the URL keeps them), with CSV. The figures are ``nurture.attribution.report``'s, read
from the rollups the ``attribution`` job keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from litestar.response import Response, Template

from content.orm import utcnow
from nurture.attribution import report as reporting
from nurture.attribution.rollup import MONEY
from nurture.attribution.rules import MODEL_LABELS, WINDOWS, AttributionModel, month_of
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import ATTRIBUTION
from portal.db import Database
from portal.routes.console import console_page
from portal.settings import Settings

DEFAULT_MONTHS = 6
MAX_MONTHS = 36
PATH_MILESTONES = (("mql", "MQL"), ("sql", "SQL"), ("opportunity", "Opportunity"),
                   ("customer", "Customer"), ("created", "Lead created"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Choice:
    """What the page shows, read from the URL; ``problems`` says what was refused."""

    view: reporting.View
    model: AttributionModel
    window: int
    months: tuple[datetime, datetime]
    milestone: str
    figure: str
    problems: tuple[str, ...]

    def query(self, **changed: str) -> str:
        values = {
            "view": self.view.value,
            "model": self.model.value,
            "window": str(self.window),
            "from": reporting.month_name(self.months[0]),
            "to": reporting.month_name(self.months[1]),
            "milestone": self.milestone,
            "figure": self.figure,
            **changed,
        }
        return "&".join(f"{name}={value}" for name, value in values.items())


def choose(view: str, model: str, window: str, start: str, end: str, milestone: str,
           now: datetime, figure: str = "") -> Choice:  # fmt: skip
    """The choice from the URL's values; anything wrong falls back to its default and says so."""
    problems: list[str] = []
    try:
        chosen_view = reporting.View(view or "asset")
    except ValueError:
        problems.append(f"There is no view {view[:20]!r}; showing assets.")
        chosen_view = reporting.View.ASSET
    try:
        chosen_model = AttributionModel(model or "w")
    except ValueError:
        problems.append(f"There is no model {model[:20]!r}; showing W-shaped.")
        chosen_model = AttributionModel.W_SHAPED
    chosen_window = int(window) if window.isdigit() and int(window) in WINDOWS else 90
    if window and str(chosen_window) != window:
        problems.append(
            f"The window must be one of {', '.join(map(str, WINDOWS))} days; showing 90."
        )
    last = month_of(now)
    first = reporting.months_back(last, DEFAULT_MONTHS - 1)
    try:
        first = reporting.parse_month(start) if start else first
        last = reporting.parse_month(end) if end else last
    except ValueError as refused:
        problems.append(f"{refused}; showing the last {DEFAULT_MONTHS} months.")
        last = month_of(now)
        first = reporting.months_back(last, DEFAULT_MONTHS - 1)
    if first > last:
        problems.append("The first month comes after the last; they were swapped.")
        first, last = last, first
    if reporting.months_back(last, MAX_MONTHS - 1) > first:
        problems.append(f"At most {MAX_MONTHS} months at once; showing the last {MAX_MONTHS}.")
        first = reporting.months_back(last, MAX_MONTHS - 1)
    chosen_milestone = milestone if milestone in dict(PATH_MILESTONES) else "mql"
    chosen_figure = figure if figure in dict(reporting.COLUMNS[1:]) else "mql"
    return Choice(chosen_view, chosen_model, chosen_window, (first, last), chosen_milestone,
                  chosen_figure, tuple(problems))  # fmt: skip


def choice_from_query(
    view: FromQuery[str] = "",
    model_name: Annotated[str, QueryParameter(name="model")] = "",
    window: FromQuery[str] = "",
    start: Annotated[str, QueryParameter(name="from")] = "",
    end: Annotated[str, QueryParameter(name="to")] = "",
    milestone: FromQuery[str] = "",
    figure: FromQuery[str] = "",
) -> Choice:
    """The page's and the CSV's ``choice`` (a dependency): what the URL asks for."""
    return choose(view, model_name, window, start, end, milestone, utcnow(), figure)


class AttributionController(Controller):
    path = ATTRIBUTION.url
    guards = [requires_role(*ATTRIBUTION.roles)]
    include_in_schema = False
    dependencies = {"choice": Provide(choice_from_query, sync_to_thread=False)}

    @get("/", sync_to_thread=True)
    def page(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        choice: NamedDependency[Choice],
    ) -> Template:
        now = utcnow()
        with database.read() as session:
            found = reporting.report(
                session, choice.view, choice.model, choice.window, choice.months
            )
            timings = reporting.timings(session, choice.months)
            paths = reporting.paths(session, choice.milestone, choice.months, choice.window)
            comparison = reporting.compare(
                session, choice.view, choice.figure, choice.window, choice.months
            )
        page = console_page(
            request,
            "console/attribution.html",
            choice=choice,
            report=found,
            timings=timings,
            paths=paths,
            comparison=comparison,
            views=list(reporting.View),
            models=MODEL_LABELS,
            windows=WINDOWS,
            columns=reporting.COLUMNS,
            money=MONEY,
            path_milestones=PATH_MILESTONES,
            currency=settings.report_currency,
            month_name=reporting.month_name,
            now=now,
        )
        if choice.problems:
            page.status_code = 400
        return page

    @get("/report.csv", sync_to_thread=True)
    def export(
        self,
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        choice: NamedDependency[Choice],
    ) -> Response[str]:
        if choice.problems:
            return Response(
                " ".join(choice.problems), status_code=400, media_type="text/plain; charset=utf-8"
            )
        with database.read() as session:
            found = reporting.report(
                session, choice.view, choice.model, choice.window, choice.months
            )
        name = (
            f"attribution-{choice.view.value}-{choice.model.value}-{choice.window}d-"
            f"{reporting.month_name(choice.months[0])}-{reporting.month_name(choice.months[1])}.csv"
        )
        return Response(
            reporting.csv_text(found, settings.report_currency),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


ROUTES: list[Any] = [AttributionController]
