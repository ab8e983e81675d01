"""Console → KPIs: the few figures marketing and sales agreed on (the model file's ``[kpis]``),
this period so far against the period before and the goal."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from content.orm import utcnow
from nurture.attribution.kpis import kpis
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import KPIS
from portal.db import Database
from portal.routes.console import console_page
from portal.settings import Settings
from tracking.rules.config import Model


@get(KPIS.url, guards=[requires_role(*KPIS.roles)], include_in_schema=False, sync_to_thread=True)
def kpi_page(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    settings: NamedDependency[Settings],
    model: NamedDependency[Model],
) -> Template:
    now = utcnow()
    with database.read() as session:
        found = kpis(session, model.kpis, now, settings.report_currency)
    return console_page(
        request, "console/kpis.html", kpis=found, currency=settings.report_currency, now=now
    )


ROUTES: list[Any] = [kpi_page]
