"""Leads in the JSON API: the filtered list, one lead, lifecycle moves (the Lead shape of
CONTRACT.md is built by ``tracking.reporting.lead_document``, which webhooks share)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import FromQuery, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import utcnow
from content.printable import unprintable
from portal.db import Database
from portal.routes.api_common import (
    Cursor,
    LeadId,
    Limit,
    decode_cursor,
    encode_cursor,
    error_responses,
    in_row_range,
)
from tracking.models import Lead
from tracking.pipeline import leadstate
from tracking.reporting.lead_document import LeadRead, lead_read
from tracking.rules.config import Model
from tracking.rules.profiling import InvalidAnswer, normalize_email
from tracking.rules.scoring import Lifecycle


class LeadList(msgspec.Struct):
    items: list[LeadRead]
    next_cursor: str | None


LifecycleName = Literal["subscriber", "lead", "mql", "sql", "opportunity", "customer", "recycled"]


class LifecycleWrite(msgspec.Struct):
    """Move a lead by hand: ``sql`` (sales accepts), ``recycled`` (back to nurturing),
    ``opportunity`` or ``customer``."""

    to: Literal["sql", "recycled", "opportunity", "customer"]
    reason: Annotated[str, msgspec.Meta(min_length=1, pattern=r"\S")]
    """Why (kept in the lead's change log; longer than 500 characters is cut)."""


def _lead_or_404(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id) if in_row_range(lead_id) else None
    if lead is None:
        raise NotFoundException(f"no lead {lead_id}")
    return lead


@get(
    "/leads/{lead_id:int}",
    sync_to_thread=True,
    summary="One lead",
    responses=error_responses(404),
)
def get_lead(
    lead_id: LeadId, database: NamedDependency[Database], model: NamedDependency[Model]
) -> LeadRead:
    """The lead with its verdicts as they stand now (engagement decayed to this moment)."""
    with database.read() as session:
        return lead_read(session, _lead_or_404(session, lead_id), model)


def _moment(value: str) -> datetime:
    """An ISO-8601 time with a zone (a bare number is not a time, whatever parsers allow)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationException("updated_since must be an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise ValidationException("updated_since needs a time zone")
    return moment


@get("/leads", sync_to_thread=True, summary="Leads, filtered", responses=error_responses())
def list_leads(
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    email: Annotated[
        str | None,
        QueryParameter(format=OpenAPIFormat.EMAIL, description="The lead with this address."),
    ] = None,
    stage: Annotated[
        str | None, QueryParameter(description="A journey stage of the model.")
    ] = None,
    lifecycle: FromQuery[LifecycleName | None] = None,
    grade: FromQuery[Literal["A", "B", "C", "D", "E"] | None] = None,
    updated_since: Annotated[
        str | None,
        QueryParameter(
            format=OpenAPIFormat.DATE_TIME,
            description="Leads active at or after this ISO-8601 time (with a time zone).",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> LeadList:
    """Leads in the order they were created; filters combine; ``next_cursor`` pages on."""
    query = select(Lead).where(Lead.id > decode_cursor(cursor)).order_by(Lead.id).limit(limit + 1)
    if email:
        try:
            query = query.where(Lead.email == normalize_email(email))
        except InvalidAnswer as exc:
            raise ValidationException(str(exc)) from None
    for column, value in (
        (Lead.journey_stage, stage),
        (Lead.lifecycle, lifecycle),
        (Lead.grade, grade),
    ):
        if value:
            query = query.where(column == value)
    if updated_since is not None:
        query = query.where(Lead.last_activity_at >= _moment(updated_since))
    with database.read() as session:
        found = list(session.scalars(query))
        items = [lead_read(session, lead, model) for lead in found[:limit]]
    more = len(found) > limit
    return LeadList(items=items, next_cursor=encode_cursor(found[limit - 1].id) if more else None)


@post(
    "/leads/{lead_id:int}/lifecycle",
    sync_to_thread=True,
    summary="Move a lead's lifecycle",
    status_code=200,
    responses=error_responses(404, 409, 422),
)
def move_lifecycle(
    lead_id: LeadId,
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    data: JSONBody[LifecycleWrite],
) -> LeadRead:
    """Sales accepts (sql), sends back (recycled), or marks an opportunity or customer."""
    reason = data.reason.strip()
    if not reason:
        raise ValidationException("reason is required")
    problem = unprintable(reason, multiline=True)
    if problem:  # well-formed JSON, refused content: 422 like the events import
        raise HTTPException(status_code=422, detail=f"reason contains {problem}")
    with database.write() as session:
        lead = _lead_or_404(session, lead_id)
        try:
            leadstate.set_lifecycle(session, lead, Lifecycle(data.to), reason[:500], utcnow())
            leadstate.evaluate(session, lead, model)  # e.g. a customer is now in that stage
        except ValueError as refused:
            raise HTTPException(status_code=409, detail=str(refused)) from None
        session.flush()
        return lead_read(session, lead, model)


ROUTES = [get_lead, list_leads, move_lifecycle]
