"""Leads in the JSON API: the filtered list, one lead, lifecycle moves (the Lead shape of
CONTRACT.md is built by ``tracking.lead_document``, which webhooks share)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import utcnow
from portal.db import Database
from tracking import leadstate, trails
from tracking.lead_document import LeadRead, lead_read
from tracking.models import Lead
from tracking.profiling import InvalidAnswer, normalize_email
from tracking.scoring import Lifecycle

MAX_PAGE = 200


class LeadList(msgspec.Struct):
    items: list[LeadRead]
    next_cursor: str | None


class LifecycleWrite(msgspec.Struct):
    """Move a lead by hand: ``sql`` (sales accepts), ``recycled`` (back to nurturing),
    ``opportunity`` or ``customer``."""

    to: Literal["sql", "recycled", "opportunity", "customer"]
    reason: str


def _lead_or_404(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id) if trails.valid_id(lead_id) else None
    if lead is None:
        raise NotFoundException(f"no lead {lead_id}")
    return lead


@get("/leads/{lead_id:int}", sync_to_thread=True, summary="One lead")
def get_lead(lead_id: FromPath[int], state: State) -> LeadRead:
    """The lead with its verdicts as they stand now (engagement decayed to this moment)."""
    database: Database = state.db
    with database.read() as session:
        return lead_read(session, _lead_or_404(session, lead_id), state.model)


def _cursor(value: str | None) -> int:
    if not value:
        return 0
    try:
        lead_id = int(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        lead_id = 0
    if not trails.valid_id(lead_id):
        raise ValidationException("cursor is not valid; start again without one")
    return lead_id


@get("/leads", sync_to_thread=True, summary="Leads, filtered")
def list_leads(
    state: State,
    email: FromQuery[str | None] = None,
    stage: FromQuery[str | None] = None,
    lifecycle: FromQuery[str | None] = None,
    grade: FromQuery[str | None] = None,
    updated_since: FromQuery[datetime | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
    cursor: FromQuery[str | None] = None,
) -> LeadList:
    """Leads in the order they were created; filters combine; ``next_cursor`` pages on."""
    query = select(Lead).where(Lead.id > _cursor(cursor)).order_by(Lead.id).limit(limit + 1)
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
        if updated_since.tzinfo is None:
            raise ValidationException("updated_since needs a time zone")
        query = query.where(Lead.last_activity_at >= updated_since)
    database: Database = state.db
    with database.read() as session:
        found = list(session.scalars(query))
        items = [lead_read(session, lead, state.model) for lead in found[:limit]]
    more = len(found) > limit
    next_cursor = (
        base64.urlsafe_b64encode(str(found[limit - 1].id).encode()).decode() if more else None
    )
    return LeadList(items=items, next_cursor=next_cursor)


@post(
    "/leads/{lead_id:int}/lifecycle",
    sync_to_thread=True,
    summary="Move a lead's lifecycle",
    status_code=200,
)
def move_lifecycle(
    lead_id: FromPath[int], state: State, data: JSONBody[LifecycleWrite]
) -> Response[Any]:
    """Sales accepts (sql), sends back (recycled), or marks an opportunity or customer."""
    reason = data.reason.strip()
    if not reason:
        raise ValidationException("reason is required")
    database: Database = state.db
    with database.write() as session:
        lead = _lead_or_404(session, lead_id)
        try:
            leadstate.set_lifecycle(session, lead, Lifecycle(data.to), reason[:500], utcnow())
            leadstate.evaluate(session, lead, state.model)  # e.g. a customer is now in that stage
        except ValueError as refused:
            return Response({"error": "Conflict", "detail": str(refused)}, status_code=409)
        session.flush()
        return Response(lead_read(session, lead, state.model))


ROUTES = [get_lead, list_leads, move_lifecycle]
