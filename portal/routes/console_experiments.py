"""Console → Content intelligence → Gate experiments: editors start an experiment on a gated or
soft asset, end it, or end it and apply the winner in one click; marketers read the reports.
The public side (which arm a browser sees) is in ``portal.routes.gate``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from content.orm import utcnow
from nurture.intelligence import experiments, experiments_report
from nurture.intelligence.models import GateExperiment
from nurture.intelligence.rules import Arm, Verdict
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.models import Role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import CONTENT_INTELLIGENCE as INTELLIGENCE
from portal.db import Database
from portal.routes.console import FormBody, console_page

EXPERIMENTS_URL = f"{INTELLIGENCE.url}/experiments"
EDITORS = (Role.ADMIN, Role.EDITOR)


class StartForm(msgspec.Struct, kw_only=True):
    """A new experiment: the asset, the open share in per cent, the window in days."""

    asset: str = ""
    open_share: str = "50"
    window_days: str = "90"


class ApplyForm(msgspec.Struct, kw_only=True):
    arm: str = ""


def _number(text: str) -> int | None:
    text = text.strip().rstrip("%").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _list_page(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    *,
    form: StartForm | None = None,
    problem: str = "",
    status_code: int = 200,
) -> Template:
    asset_id = _number(request.query_params.get("asset", "") or (form.asset if form else ""))
    with database.read() as session:
        listed = experiments.experiments_of(session, asset_id)
        testable = experiments.testable_assets(session)
        session.expunge_all()
    page = console_page(
        request,
        "console/experiments.html",
        listed=listed,
        testable=testable,
        form=form or StartForm(asset=str(asset_id or "")),
        problem=problem,
        may_edit=request.user.role in EDITORS,
        asset_id=asset_id,
        low=experiments.MIN_SHARE,
        high=experiments.MAX_SHARE,
    )
    page.status_code = status_code
    return page


@get(
    EXPERIMENTS_URL,
    guards=[requires_role(*INTELLIGENCE.roles)],
    include_in_schema=False,
    sync_to_thread=True,
)
def experiments_page(
    request: Request[StaffPrincipal, Any, Any], database: NamedDependency[Database]
) -> Template:
    """Running and ended gate experiments (one asset's with ``?asset=``), and for editors the
    form that starts one."""
    return _list_page(request, database)


@post(
    EXPERIMENTS_URL,
    guards=[requires_role(*EDITORS)],
    include_in_schema=False,
    sync_to_thread=True,
)
def start_experiment(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    data: Annotated[StartForm, FormBody],
) -> Response[Any]:
    """Start an experiment; wrong input is named (400), a second one on the asset refused
    (409), the form kept."""
    share, days, asset_id = (
        _number(data.open_share),
        _number(data.window_days),
        _number(data.asset),
    )
    problem = ""
    if asset_id is None:
        problem = i18n.gettext("Choose a published asset.")
    elif share is None:
        problem = i18n.gettext(
            "The open share must be between %(low)s %% and %(high)s %%.",
            low=experiments.MIN_SHARE,
            high=experiments.MAX_SHARE,
        )
    elif days is None:
        problem = i18n.gettext(
            "The window must be between 1 and %(days)s days.", days=experiments.MAX_WINDOW_DAYS
        )
    if problem:
        return _list_page(request, database, form=data, problem=problem, status_code=400)
    assert asset_id is not None
    assert share is not None
    assert days is not None
    try:
        with database.write() as session:
            started = experiments.start(
                session, asset_id, share, days, request.user.email, utcnow()
            )
            # no browser has seen it yet: zeros until the job's next pass
            experiments_report.store(session, started.id, experiments_report.tally([]), utcnow())
            experiment_id = started.id
    except experiments.Refused as refused:
        return _list_page(
            request,
            database,
            form=data,
            problem=i18n.say(refused.said),
            status_code=409 if refused.conflict else 400,
        )
    return Redirect(f"{EXPERIMENTS_URL}/{experiment_id}?done=started", status_code=303)


def verdict_sentence(label: str, found: Verdict) -> str:
    """A clear sentence only when one arm won; else how many readers each arm has so far."""
    if found.winner is None:
        return i18n.gettext(
            "No clear difference yet (%(open)s readers open, %(gated)s gated).",
            open=i18n.format_number(found.open.trials),
            gated=i18n.format_number(found.gated.trials),
        )
    won, lost = (found.open, found.gated) if found.winner is Arm.OPEN else (found.gated, found.open)
    values = {
        "metric": i18n.gettext(label),
        "won": i18n.format_percent(won.rate, 1),
        "lost": i18n.format_percent(lost.rate, 1),
        "p": (
            f"< {i18n.format_number(0.001, 3)}"
            if found.p_value < 0.001
            else f"= {i18n.format_number(found.p_value, 3)}"
        ),
    }
    if found.winner is Arm.OPEN:
        return i18n.gettext(
            "The open asset wins on %(metric)s: %(won)s against %(lost)s with the gate (p %(p)s).",
            **values,
        )
    return i18n.gettext(
        "The gate wins on %(metric)s: %(won)s against %(lost)s open (p %(p)s).", **values
    )


def _report_page(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    experiment_id: int,
    *,
    problem: str = "",
    status_code: int = 200,
) -> Template:
    with database.read() as session:
        experiment = session.get(GateExperiment, experiment_id) if experiment_id < 2**31 else None
        if experiment is None:
            raise NotFoundException(f"no experiment {experiment_id}")
        found = experiments_report.report(session, experiment)
        asset = experiment.asset_id
        listed = experiments.experiments_of(session, asset)
        title = next((a.title for e, a in listed if e.id == experiment_id), "")
        session.expunge_all()
    done = {
        "started": i18n.gettext("The experiment runs: new browsers get their arm from now on."),
        "ended": i18n.gettext("The experiment has ended: everyone sees the asset's gate again."),
        "applied": i18n.gettext("The experiment has ended and its winner is applied."),
    }.get(request.query_params.get("done", ""), "")
    page = console_page(
        request,
        "console/experiment.html",
        experiment=found.experiment,
        report=found,
        title=title,
        sentences=[(label, v, verdict_sentence(label, v)) for label, v in found.verdicts],
        may_edit=request.user.role in EDITORS,
        problem=problem,
        done=done,
    )
    page.status_code = status_code
    return page


@get(
    f"{EXPERIMENTS_URL}/{{experiment_id:int}}",
    guards=[requires_role(*INTELLIGENCE.roles)],
    include_in_schema=False,
    sync_to_thread=True,
)
def experiment_page(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    experiment_id: FromPath[int],
) -> Template:
    """One experiment's report: per arm readers, engaged time, form submissions, new leads and
    the milestones reached within the window, each share with its interval and verdict."""
    return _report_page(request, database, experiment_id)


def _finish(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    experiment_id: int,
    apply: Arm | None,
) -> Response[Any]:
    try:
        with database.write() as session:
            experiments.end(session, experiment_id, request.user.email, utcnow(), apply)
    except experiments.Refused as refused:
        if not refused.conflict:
            raise NotFoundException(f"no experiment {experiment_id}") from None
        return _report_page(
            request, database, experiment_id, problem=i18n.say(refused.said), status_code=409
        )
    # the figures as it ended, read apart from the write (seconds at many exposures)
    experiments_report.refresh(database.read, database.write, experiment_id, utcnow())
    done = "applied" if apply is not None else "ended"
    return Redirect(f"{EXPERIMENTS_URL}/{experiment_id}?done={done}", status_code=303)


@post(
    f"{EXPERIMENTS_URL}/{{experiment_id:int}}/end",
    guards=[requires_role(*EDITORS)],
    include_in_schema=False,
    sync_to_thread=True,
)
def end_experiment(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    experiment_id: FromPath[int],
) -> Response[Any]:
    """End it: everyone sees the asset's gate again, the figures stay."""
    return _finish(request, database, experiment_id, None)


@post(
    f"{EXPERIMENTS_URL}/{{experiment_id:int}}/apply",
    guards=[requires_role(*EDITORS)],
    include_in_schema=False,
    sync_to_thread=True,
)
def apply_winner(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    experiment_id: FromPath[int],
    data: Annotated[ApplyForm, FormBody],
) -> Response[Any]:
    """End it and apply an arm: ``open`` opens the asset, ``gated`` keeps its gate."""
    if data.arm not in {arm.value for arm in Arm}:
        return _report_page(
            request,
            database,
            experiment_id,
            problem=i18n.gettext("Choose the arm to apply: open or gated."),
            status_code=400,
        )
    return _finish(request, database, experiment_id, Arm(data.arm))


ROUTES: list[Any] = [
    experiments_page,
    start_experiment,
    experiment_page,
    end_experiment,
    apply_winner,
]
