"""Console reports: the funnel dashboard (marketers, admins), content analytics (editors too:
only aggregate figures, no personal data), and the sales handoff queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from content.orm import utcnow
from content.words import N_
from nurture import handoff
from portal import charts, i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import CONTENT_ANALYTICS, DASHBOARD, HANDOFF
from portal.console_words import day_label, field_label, lifecycle_label
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.routes.console_leads import journey_label, reason_from, reason_problem
from portal.snapshots import Snapshots
from tracking.models import Lead
from tracking.reporting import analytics
from tracking.reporting.analytics import AssetSort, Period
from tracking.rules.config import Model
from tracking.rules.scoring import Lifecycle

PERIODS = {
    "7": N_("Last 7 days"),
    "30": N_("Last 30 days"),
    "90": N_("Last 90 days"),
    "365": N_("Last 12 months"),
}
"""The periods of the picker (days: label); the picker shows each label in the reader's words."""
DEFAULT_PERIOD = "30"

ASSET_SORTS = {
    "title": N_("title"),
    "views": N_("views"),
    "readers": N_("unique visitors"),
    "unlocks": N_("unlocks"),
    "conversion": N_("conversion"),
    "downloads": N_("downloads"),
    "time": N_("engaged time"),
    "completion": N_("completion"),
    "influenced": N_("leads influenced"),
    "before_mql": N_("reads before MQL"),
}
"""The content analytics table's orders (``AssetSort``), as its chart and caption name them."""


@dataclass(frozen=True, slots=True)
class DashboardView:
    """A period's dashboard figures with their charts in each language, rendered once per
    snapshot (off the request path), so staff of either language get theirs at once."""

    board: analytics.Dashboard
    charts_by_language: dict[str, list[charts.Chart]]

    @property
    def charts(self) -> list[charts.Chart]:
        """The charts in the language of the request."""
        return self.charts_by_language[i18n.current()]


class HandoffDecision(msgspec.Struct, kw_only=True):
    """Sales' answer on a waiting lead: ``accept`` or ``recycle`` (which needs a reason)."""

    do: str = ""
    reason: str = ""


def dashboard_snapshots(database: Database, model: Model) -> Snapshots[int, DashboardView]:
    """The dashboard per period (days), computed off the request path (``portal.snapshots``):
    at 100,000 leads a period's queries and charts take 0.15 to 0.4 s."""

    def compute(days: int) -> DashboardView:
        with database.read() as session:
            board = analytics.dashboard(session, model, Period.last_days(days, utcnow().date()))
        drawn = {}
        for lang in i18n.LANGUAGES:
            with i18n.using(lang):
                drawn[lang] = _dashboard_charts(board, model)
        return DashboardView(board, drawn)

    return Snapshots(compute, fresh_for=60.0)


def _chosen(request: Request[Any, Any, Any]) -> str:
    """The period picked in the URL (``days``), or the default one."""
    chosen = request.query_params.get("days", DEFAULT_PERIOD)
    return chosen if chosen in PERIODS else DEFAULT_PERIOD


def _period(request: Request[Any, Any, Any]) -> tuple[str, Period]:
    chosen = _chosen(request)
    return chosen, Period.last_days(int(chosen), utcnow().date())


class ReportsController(Controller):
    path = "/console"
    include_in_schema = False

    @get("/dashboard", guards=[requires_role(*DASHBOARD.roles)], sync_to_thread=True)
    def dashboard(
        self,
        request: Request[StaffPrincipal, Any, Any],
        model: NamedDependency[Model],
        dashboards: NamedDependency[Snapshots[int, DashboardView]],
    ) -> Template:
        chosen = _chosen(request)
        snapshot = dashboards.get(int(chosen))
        return console_page(
            request,
            "console/dashboard.html",
            board=snapshot.value.board,
            charts=snapshot.value.charts,
            taken_at=snapshot.taken_at,
            refreshed_every=round(dashboards.fresh_for),
            periods=PERIODS,
            chosen=chosen,
            stage_label=journey_label(model),
        )

    @get("/analytics", guards=[requires_role(*CONTENT_ANALYTICS.roles)], sync_to_thread=True)
    def assets(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
    ) -> Template:
        chosen, period = _period(request)
        sort = request.query_params.get("sort", AssetSort.VIEWS.value)
        sort = sort if sort in AssetSort.__members__.values() else AssetSort.VIEWS.value
        order = request.query_params.get("order", "asc" if sort == "title" else "desc")
        with database.read() as session:
            figures = analytics.asset_figures(session, period, AssetSort(sort), order != "asc")
            as_of = analytics.lead_stats_as_of(session)
        top = figures[:15]
        chart = charts.bars(
            i18n.gettext(
                "%(period)s: %(sort)s by asset (top %(count)s)",
                period=i18n.gettext(PERIODS[chosen]),
                sort=i18n.gettext(ASSET_SORTS.get(sort, sort)),
                count=len(top),
            ),
            [a.title for a in top],
            {
                i18n.gettext("Views"): [a.views for a in top],
                i18n.gettext("Unlocks"): [a.unlocks for a in top],
                i18n.gettext("Downloads"): [a.downloads for a in top],
            },
            horizontal=True,
            label_header=i18n.gettext("Asset"),
        )
        return console_page(
            request,
            "console/analytics.html",
            figures=figures,
            chart=chart,
            periods=PERIODS,
            chosen=chosen,
            sort=sort,
            sort_words=ASSET_SORTS,
            order=order,
            as_of=as_of,
            stage_label=journey_label(model),
            link=lambda **changes: urlencode(
                {"days": chosen, "sort": sort, "order": order, **changes}
            ),
        )

    @get("/handoff", guards=[requires_role(*HANDOFF.roles)], sync_to_thread=True)
    def handoff_queue(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
    ) -> Template:
        with database.write() as session:  # the queue catches up with the change log first
            handoff.catch_up(session)
        with database.read() as session:
            waiting = handoff.queue(session, model)
            done = handoff.recent(session, limit=20)
        return console_page(
            request,
            "console/handoff.html",
            waiting=waiting,
            done=done,
            notice=request.query_params.get("done"),
            problem=request.query_params.get("problem"),
        )

    @post("/handoff/{lead_id:int}", guards=[requires_role(*HANDOFF.roles)])
    async def decide(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        model: NamedDependency[Model],
        lead_id: FromPath[int],
        data: Annotated[HandoffDecision, FormBody],
    ) -> Response[Any]:
        """Accept (sql) or send back (recycled, a reason required) one waiting lead."""
        target = {"accept": Lifecycle.SQL, "recycle": Lifecycle.RECYCLED}.get(data.do)
        reason = reason_from(data.reason)
        if target is None:
            return _queue(problem=i18n.gettext("Choose accept or send back."))
        if refused := reason_problem(data.reason):
            return _queue(problem=refused)
        if target is Lifecycle.RECYCLED and not reason:
            return _queue(problem=i18n.gettext("Say why the lead goes back to nurturing."))
        actor = request.user.email
        said = reason or "accepted by sales"

        def work() -> tuple[bool, str]:
            with database.write() as session:
                lead = session.get(Lead, lead_id)
                if lead is None:
                    raise NotFoundException(f"no lead {lead_id}")
                try:
                    handoff.move(session, lead, target, f"{said} ({actor})", model)
                except ValueError as refused:
                    return False, i18n.gettext("Not allowed: %(why)s.", why=refused)
                return True, lead.email

        moved, said_back = await to_thread.run_sync(work)
        if not moved:
            return _queue(problem=said_back)
        if target is Lifecycle.SQL:
            return _queue(done=i18n.gettext("%(email)s accepted as SQL", email=said_back))
        return _queue(done=i18n.gettext("%(email)s sent back to nurturing", email=said_back))


def _queue(**query: str) -> Redirect:
    return Redirect(f"/console/handoff?{urlencode(query)}", status_code=303)


def _dashboard_charts(board: analytics.Dashboard, model: Model) -> list[charts.Chart]:
    """The dashboard's charts in the current language."""
    _ = i18n.gettext
    stage_label = journey_label(model)
    stages = [step.label for step in board.stage_funnel]
    days = [day_label(day) for day, _count in board.new_leads]
    leads = _("Leads")
    return [
        charts.bars(
            _("Leads that reached each journey stage"),
            [stage_label(s) for s in stages],
            {leads: [step.count for step in board.stage_funnel]},
            label_header=_("Stage"),
        ),
        charts.bars(
            _("Leads that ever reached each lifecycle step"),
            [_lifecycle_label(step.label) for step in board.lifecycle_funnel],
            {leads: [step.count for step in board.lifecycle_funnel]},
            label_header=_("Lifecycle"),
        ),
        charts.lines(
            _("New leads, MQLs and SQLs per day"),
            days,
            {
                _("New leads"): [v for _day, v in board.new_leads],
                _("MQLs"): [v for _day, v in board.new_mqls],
                _("SQLs"): [v for _day, v in board.new_sqls],
            },
        ),
        charts.bars(
            _("Median days in each stage before moving on"),
            [stage_label(s) for s in model.stages],
            {_("Days"): [_round(board.median_days.get(s)) for s in model.stages]},
            label_header=_("Stage"),
        ),
        charts.bars(
            _("Top assets (views, unlocks and downloads)"),
            [title for _id, title, _count in board.top_assets],
            {_("Touches"): [count for _id, _title, count in board.top_assets]},
            horizontal=True,
            label_header=_("Asset"),
        ),
        charts.bars(
            _("Top topics (views, unlocks and downloads)"),
            [
                board.topic_labels.get(label, {}).get(i18n.current()) or label
                for label, _count in board.top_topics
            ],
            {_("Touches"): [count for _label, count in board.top_topics]},
            horizontal=True,
            label_header=_("Topic"),
        ),
        charts.bars(
            _("Gate form questions: asked and answered"),
            [field_label(f.field) for f in board.fields],
            {
                _("Asked"): [f.asked for f in board.fields],
                _("Answered"): [f.answered for f in board.fields],
            },
            label_header=_("Field"),
        ),
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _lifecycle_label(step: str) -> str:
    """A lifecycle step as the charts name it ("MQL", "Customer"; German "MQL", "Kunde")."""
    label = lifecycle_label(step)
    return label.upper() if step in {"mql", "sql"} else label[:1].upper() + label[1:]
