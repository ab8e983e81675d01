"""Console → Content intelligence: where the library has gaps (the gap matrix the
``content-intelligence`` job keeps), for editors, marketers and admins."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template
from sqlalchemy import select

from content.models import Asset, Topic
from content.orm import utcnow
from nurture.intelligence import fading, matrix, process
from nurture.intelligence.gaps import ALL
from nurture.intelligence.rules import Cell
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.models import Role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import CONTENT_INTELLIGENCE as INTELLIGENCE
from portal.console_nav import LEADS
from portal.db import Database
from portal.routes.console import FormBody, console_page
from portal.routes.console_leads import journey_label
from portal.templating import topic_label
from tracking.rules.config import Model


def gap_sentence(cell: Cell, dimension: str, label: str, stage: str) -> str:
    """The gap in one plain sentence: "23 leads interested in energy monitoring stall in
    consideration; there is 1 consideration asset on that topic and they have read it"."""
    n = cell.stalled_here
    if dimension == "topic":
        who = i18n.ngettext(
            "%(num)s lead interested in %(key)s stalls in %(stage)s",
            "%(num)s leads interested in %(key)s stall in %(stage)s",
            n,
            key=label,
            stage=stage,
        )
        if cell.assets:
            what = i18n.ngettext(
                "there is %(num)s %(stage)s asset on that topic",
                "there are %(num)s %(stage)s assets on that topic",
                cell.assets,
                stage=stage,
            )
        else:
            what = i18n.gettext("there is no %(stage)s asset on that topic", stage=stage)
    else:
        who = i18n.ngettext(
            "%(num)s lead of the persona %(key)s stalls in %(stage)s",
            "%(num)s leads of the persona %(key)s stall in %(stage)s",
            n,
            key=label,
            stage=stage,
        )
        if cell.assets:
            what = i18n.ngettext(
                "there is %(num)s %(stage)s asset for that persona",
                "there are %(num)s %(stage)s assets for that persona",
                cell.assets,
                stage=stage,
            )
        else:
            what = i18n.gettext("there is no %(stage)s asset for that persona", stage=stage)
    if not cell.assets:
        read = ""
    elif cell.exhausted == n:
        read = i18n.ngettext("and they have read it", "and they have read them all", cell.assets)
    elif cell.exhausted:
        read = i18n.ngettext(
            "and %(num)s of them has read all of it",
            "and %(num)s of them have read all of it",
            cell.exhausted,
        )
    else:
        read = i18n.gettext("and each of them has something left to read there")
    return i18n.gettext("%(who)s; %(what)s %(read)s", who=who, what=what, read=read).strip()


def _in_sentence(label: str) -> str:
    """A stage's label inside a sentence: lower case in English, as written in German (its
    nouns keep their capital)."""
    return label if i18n.current() == "de" else label.lower()


@get(
    INTELLIGENCE.url,
    guards=[requires_role(*INTELLIGENCE.roles)],
    include_in_schema=False,
    sync_to_thread=True,
)
def intelligence_page(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    model: NamedDependency[Model],
) -> Template:
    problem = ""
    with database.read() as session:
        known = matrix.languages(session)
        try:
            dimension, language = matrix.choose(
                request.query_params.get("by", ""),
                request.query_params.get("language", ""),
                known,
            )
        except matrix.BadChoice as refused:
            dimension, language, problem = "topic", ALL, i18n.say(refused.said)
        view = matrix.read_matrix(session, dimension, language, model.stages, i18n.current(), known)
    stage_label = journey_label(model)
    labels = dict(view.keys)
    page = console_page(
        request,
        "console/intelligence.html",
        view=view,
        problem=problem,
        stage_label=stage_label,
        sentence=lambda cell: gap_sentence(
            cell,
            view.dimension,
            labels.get(cell.topic, cell.topic),
            _in_sentence(stage_label(cell.stage)),
        ),
        all_languages=ALL,
        may_see_leads=request.user.role in LEADS.roles,
    )
    page.status_code = 400 if problem else 200
    return page


FADING_URL = f"{INTELLIGENCE.url}/fading"
EDITORS = (Role.ADMIN, Role.EDITOR)


class SnoozeForm(msgspec.Struct, kw_only=True):
    """Why a flag may rest, and for how long."""

    reason: str = ""
    days: str = "90"


def _fading_page(
    request: Request[StaffPrincipal, Any, Any],
    database: Database,
    model: Model,
    *,
    problem: str = "",
    form_asset: int | None = None,
    form: SnoozeForm | None = None,
) -> Template:
    with database.read() as session:
        found = fading.flags(session, utcnow())
        session.expunge_all()
    page = console_page(
        request,
        "console/fading.html",
        flags=found,
        stage_label=journey_label(model),
        may_snooze=request.user.role in EDITORS,
        snooze_days=fading.SNOOZE_DAYS,
        problem=problem,
        form_asset=form_asset,
        form=form or SnoozeForm(),
        done=request.query_params.get("done", ""),
    )
    page.status_code = 422 if problem else 200
    return page


@get(
    FADING_URL,
    guards=[requires_role(*INTELLIGENCE.roles)],
    include_in_schema=False,
    sync_to_thread=True,
)
def fading_page(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    model: NamedDependency[Model],
) -> Template:
    """Assets whose reading fell clearly below their own start or their peers, and assets
    whose webinar date or title year has passed."""
    return _fading_page(request, database, model)


@post(
    f"{FADING_URL}/{{asset_id:int}}/snooze",
    guards=[requires_role(*EDITORS)],
    include_in_schema=False,
    sync_to_thread=True,
)
def snooze_flag(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    asset_id: FromPath[int],
    data: Annotated[SnoozeForm, FormBody],
) -> Response[Any]:
    """Rest an asset's flag for 30, 90 or 365 days with a reason; a missing reason or an
    unknown length is named and the form kept."""
    reason = " ".join(data.reason.split())
    problem = ""
    if not reason:
        problem = i18n.gettext("Say why the flag may rest (it is shown beside it).")
    elif len(reason) > 300:
        problem = i18n.gettext("The reason is too long: at most 300 characters.")
    elif not data.days.isdigit() or int(data.days) not in fading.SNOOZE_DAYS:
        problem = i18n.gettext("Choose how long the flag rests: 30, 90 or 365 days.")
    if problem:
        return _fading_page(
            request, database, model, problem=problem, form_asset=asset_id, form=data
        )
    with database.write() as session:
        if asset_id >= 2**31 or session.get(Asset, asset_id) is None:
            raise NotFoundException(f"no asset {asset_id}")
        fading.snooze(session, asset_id, reason, int(data.days), request.user.email, utcnow())
    return Redirect(f"{FADING_URL}?done=snoozed#flag-{asset_id}", status_code=303)


@get(
    f"{INTELLIGENCE.url}/process",
    guards=[requires_role(*INTELLIGENCE.roles)],
    include_in_schema=False,
    sync_to_thread=True,
)
def process_page(
    request: Request[StaffPrincipal, Any, Any],
    database: NamedDependency[Database],
    model: NamedDependency[Model],
) -> Template:
    """How leads that reached decision in the last 180 days got there, for the library or a
    topic: assets read, which, in which order, and each stage's time, as the
    content-intelligence job last computed it."""
    topic = request.query_params.get("topic", "").strip()
    with database.read() as session:
        topics = [
            (topic.slug, topic_label(topic))
            for topic in session.scalars(select(Topic).order_by(Topic.label))
        ]
        known = {slug for slug, _ in topics}
        problem = ""
        if topic and topic not in known:
            problem = i18n.gettext("There is no topic “%(topic)s”.", topic=topic[:80])
            topic = ""
        view = process.read_process(session, topic)
    page = console_page(
        request,
        "console/process.html",
        view=view,
        topic=topic,
        topics=topics,
        problem=problem,
        stage_label=journey_label(model),
        days=process.DAYS,
        most_leads=process.MOST_LEADS,
    )
    page.status_code = 400 if problem else 200
    return page


ROUTES: list[Any] = [intelligence_page, fading_page, snooze_flag, process_page]
