"""Console → Attribution: which content, sources, campaigns and programs created leads, MQLs,
SQLs, opportunities, customers, pipeline and revenue, under the model and window chosen on the
page (the URL keeps them), with CSV. The figures are ``nurture.attribution.report``'s, read
from the rollups the ``attribution`` job keeps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from litestar.response import Response, Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Topic
from content.orm import utcnow
from content.taxonomy import label_in
from content.words import N_
from nurture.attribution import report as reporting
from nurture.attribution.rollup import MONEY
from nurture.attribution.rules import MODEL_LABELS, WINDOWS, AttributionModel, month_of
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import ATTRIBUTION
from portal.db import Database
from portal.routes.console import console_page
from portal.routes.console_program_views import stage_labeler
from portal.settings import Settings
from portal.templating import kind_label
from tracking.rules.config import Model

DEFAULT_MONTHS = 6
MAX_MONTHS = 36
PATH_MILESTONES = (("mql", N_("MQL")), ("sql", N_("SQL")), ("opportunity", N_("Opportunity")),
                   ("customer", N_("Customer")), ("created", N_("Lead created")))  # fmt: skip
"""The milestones whose paths the page shows, with their names (marked)."""


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
        problems.append(i18n.gettext("There is no view %(view)s; showing assets.",
                                     view=repr(view[:20])))  # fmt: skip
        chosen_view = reporting.View.ASSET
    try:
        chosen_model = AttributionModel(model or "w")
    except ValueError:
        problems.append(i18n.gettext("There is no model %(model)s; showing W-shaped.",
                                     model=repr(model[:20])))  # fmt: skip
        chosen_model = AttributionModel.W_SHAPED
    chosen_window = int(window) if window.isdigit() and int(window) in WINDOWS else 90
    if window and str(chosen_window) != window:
        problems.append(
            i18n.gettext(
                "The window must be one of %(windows)s days; showing 90.",
                windows=", ".join(map(str, WINDOWS)),
            )
        )
    last = month_of(now)
    first = reporting.months_back(last, DEFAULT_MONTHS - 1)
    try:
        first = reporting.parse_month(start) if start else first
        last = reporting.parse_month(end) if end else last
    except ValueError as refused:
        reason = i18n.say(refused.args[0]) if refused.args else str(refused)
        problems.append(
            i18n.gettext(
                "%(reason)s; showing the last %(count)s months.",
                reason=reason,
                count=DEFAULT_MONTHS,
            )
        )
        last = month_of(now)
        first = reporting.months_back(last, DEFAULT_MONTHS - 1)
    if first > last:
        problems.append(i18n.gettext("The first month comes after the last; they were swapped."))
        first, last = last, first
    if reporting.months_back(last, MAX_MONTHS - 1) > first:
        problems.append(
            i18n.gettext(
                "At most %(count)s months at once; showing the last %(count)s.", count=MAX_MONTHS
            )
        )
        first = reporting.months_back(last, MAX_MONTHS - 1)
    chosen_milestone = milestone if milestone in dict(PATH_MILESTONES) else "mql"
    chosen_figure = figure if figure in dict(reporting.COLUMNS[1:]) else "mql"
    return Choice(chosen_view, chosen_model, chosen_window, (first, last), chosen_milestone,
                  chosen_figure, tuple(problems))  # fmt: skip


@dataclass(frozen=True, slots=True)
class ViewWords:
    """How the page's sentences name the chosen view and the touches it counts."""

    singular: str
    """"asset", "source" …: "Per asset"."""
    plural: str
    """"assets", "sources" …: "Which assets created leads …"."""
    touch: str
    """"content read", "source" …: "With no source in the window"."""
    touches: str
    """"content read", "sources" …: "shared among the sources in the window"."""


def view_words(view: reporting.View) -> ViewWords:
    singular = {
        "asset": i18n.pgettext("attribution view", "asset"),
        "kind": i18n.pgettext("attribution view", "kind"),
        "topic": i18n.pgettext("attribution view", "topic"),
        "stage": i18n.pgettext("attribution view", "stage"),
        "source": i18n.pgettext("attribution view", "source"),
        "campaign": i18n.pgettext("attribution view", "campaign"),
        "program": i18n.pgettext("attribution view", "program"),
    }
    plural = {
        "asset": i18n.pgettext("attribution view", "assets"),
        "kind": i18n.pgettext("attribution view", "kinds"),
        "topic": i18n.pgettext("attribution view", "topics"),
        "stage": i18n.pgettext("attribution view", "stages"),
        "source": i18n.pgettext("attribution view", "sources"),
        "campaign": i18n.pgettext("attribution view", "campaigns"),
        "program": i18n.pgettext("attribution view", "programs"),
    }
    touch = {
        "content": i18n.pgettext("attribution touch", "content read"),
        "source": i18n.pgettext("attribution touch", "source"),
        "campaign": i18n.pgettext("attribution touch", "campaign"),
        "program": i18n.pgettext("attribution touch", "program"),
    }
    family = view.family
    touches = i18n.gettext("content read") if family == "content" else plural[family]
    return ViewWords(singular[view.value], plural[view.value], touch[family], touches)


def labeller(
    view: reporting.View, model: Model, topics: Mapping[str, str] | None = None
) -> Callable[[str, str], str]:
    """Each line's label (by its key and the report's label) in the reader's language: kinds
    and stages by the vocabulary, topics by their label in that language (``topics``, by
    slug), the report's own placeholders ("(no topic)") translated, titles and names as they
    are."""
    stage = stage_labeler(model)
    fixed = {
        reporting.DELETED_ASSET: i18n.gettext(reporting.DELETED_ASSET),
        reporting.NO_TOPIC: i18n.gettext(reporting.NO_TOPIC),
    }

    def label(key: str, shown: str) -> str:
        if shown in fixed:
            return fixed[shown]
        if view is reporting.View.KIND:
            return kind_label(key)
        if view is reporting.View.STAGE:
            return stage(key)
        if view is reporting.View.TOPIC and topics:
            return topics.get(key, shown)
        if view is reporting.View.PROGRAM and shown == reporting.DELETED_PROGRAM % {"id": key}:
            return i18n.gettext(reporting.DELETED_PROGRAM, id=key)
        return shown

    return label


def topic_labels(session: Session, view: reporting.View) -> dict[str, str]:
    """Each topic's label in the reader's language, by slug (only for the topic view)."""
    if view is not reporting.View.TOPIC:
        return {}
    return {topic.slug: label_in(topic, i18n.current()) for topic in session.scalars(select(Topic))}


def csv_titles(currency: str) -> list[str]:
    """The CSV's columns titled for a spreadsheet reader, in the reader's language (the file
    ``?header=labels`` gives; the plain one keeps the machine names)."""
    return [
        i18n.pgettext("column", "View"),
        i18n.pgettext("column", "Key"),
        i18n.pgettext("column", "Label"),
        i18n.pgettext("column", "Model"),
        i18n.pgettext("column", "Window (days)"),
        i18n.pgettext("column", "From"),
        i18n.pgettext("column", "To"),
    ] + [
        i18n.gettext(title) + (f" ({currency})" if name in MONEY else "")
        for name, title in reporting.COLUMNS
    ]


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
        model: NamedDependency[Model],
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
            topics = topic_labels(session, choice.view)
        page = console_page(
            request,
            "console/attribution.html",
            choice=choice,
            report=found,
            timings=timings,
            paths=paths,
            comparison=comparison,
            views=[(view, i18n.gettext(view.label)) for view in reporting.View],
            view_label=i18n.gettext(choice.view.label),
            view_words=view_words(choice.view),
            models={model: i18n.gettext(label) for model, label in MODEL_LABELS.items()},
            windows=WINDOWS,
            columns=[(name, i18n.gettext(label)) for name, label in reporting.COLUMNS],
            money=MONEY,
            path_milestones=[(value, i18n.gettext(label)) for value, label in PATH_MILESTONES],
            line_label=labeller(choice.view, model, topics),
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
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        model: NamedDependency[Model],
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
            topics = topic_labels(session, choice.view)
        label = labeller(choice.view, model, topics)
        name = (
            f"attribution-{choice.view.value}-{choice.model.value}-{choice.window}d-"
            f"{reporting.month_name(choice.months[0])}-{reporting.month_name(choice.months[1])}.csv"
        )
        return Response(
            reporting.csv_text(
                found,
                settings.report_currency,
                lambda line: label(line.key, line.label),
                csv_titles(settings.report_currency)
                if request.query_params.get("header") == "labels"
                else None,
            ),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


ROUTES: list[Any] = [AttributionController]
