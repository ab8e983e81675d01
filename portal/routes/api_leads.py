"""Leads in the JSON API: the filtered list, one lead, lifecycle moves, recommendations (the
Lead shape of CONTRACT.md is built by ``tracking.reporting.lead_document``, which webhooks
share; the suppression list's part comes from ``nurture.mail.subscriptions``)."""

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
from nurture.mail.subscriptions import suppressed_of
from nurture.recommendations import AudienceCache, recommend_for_lead
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
from portal.routes.api_events import TrailAssetRead
from portal.settings import Settings
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


class RecommendationRead(msgspec.Struct):
    """An asset to offer the lead next, and why (the reason the portal shows the reader)."""

    asset: TrailAssetRead
    reason: str


class RecommendationList(msgspec.Struct):
    items: list[RecommendationRead]


MAX_RECOMMENDATIONS = 20


def _lead_or_404(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id) if in_row_range(lead_id) else None
    if lead is None:
        raise NotFoundException(f"no lead {lead_id}")
    return lead


def documents(
    session: Session, leads: list[Lead], model: Model, settings: Settings
) -> list[LeadRead]:
    """The Lead documents of these leads, with their addresses' suppression entries."""
    suppressed = suppressed_of(session, [lead.email for lead in leads])
    return [
        lead_read(
            session,
            lead,
            model,
            suppressed=suppressed.get(lead.email),
            default_language=settings.default_language,
        )
        for lead in leads
    ]


@get(
    "/leads/{lead_id:int}",
    sync_to_thread=True,
    summary="One lead",
    responses=error_responses(404),
)
def get_lead(
    lead_id: LeadId,
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    settings: NamedDependency[Settings],
) -> LeadRead:
    """The lead with its verdicts as they stand now (engagement decayed to this moment)."""
    with database.read() as session:
        (document,) = documents(session, [_lead_or_404(session, lead_id)], model, settings)
        return document


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
    settings: NamedDependency[Settings],
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
        items = documents(session, found[:limit], model, settings)
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
    settings: NamedDependency[Settings],
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
        (document,) = documents(session, [lead], model, settings)
        return document


@get(
    "/leads/{lead_id:int}/recommendations",
    sync_to_thread=True,
    summary="What to offer a lead next",
    responses=error_responses(404),
)
def lead_recommendations(
    lead_id: LeadId,
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    audience_cache: NamedDependency[AudienceCache],
    limit: Annotated[
        int,
        QueryParameter(
            ge=1, le=MAX_RECOMMENDATIONS, description=f"How many (1 to {MAX_RECOMMENDATIONS})."
        ),
    ] = 5,
) -> RecommendationList:
    """The next-best content for the lead, best first, with the reason for each: the same
    recommender as the portal's "Recommended for you", for mails other systems send."""
    with database.read() as session:
        _lead_or_404(session, lead_id)
        found = recommend_for_lead(session, lead_id, model, utcnow(), limit, cache=audience_cache)
    return RecommendationList(
        items=[
            RecommendationRead(
                asset=TrailAssetRead(item.slug, item.title, item.kind, item.stage),
                reason=item.reason,
            )
            for item in found
        ]
    )


ROUTES = [get_lead, list_leads, move_lifecycle, lead_recommendations]
