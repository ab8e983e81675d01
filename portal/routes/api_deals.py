"""Deals in the JSON API: the CRM posts its outcomes (open, won, lost); the same external id
updates the deal. The work is ``tracking.identity.deals``; a deal without a lead has its
``deal.changed`` queued here, in the same transaction (``nurture.relay``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import msgspec
from litestar import Response, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import JSONBody

from content.orm import utcnow
from nurture.relay import queue_deal_without_lead
from portal.db import Database
from portal.routes.api_common import MAX_ROW_ID, ErrorRead, error_responses
from portal.settings import Settings
from tracking.identity import deals
from tracking.reporting.deals import DealRead, deal_read
from tracking.rules import deals as rules
from tracking.rules.config import Model

MAX_BODY_BYTES = 16 * 1024
"""A deal is a few hundred bytes; anything much larger is not one."""


class DealWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A deal as the CRM has it now. ``lead`` (id) or ``email`` names a known lead, ``account``
    an account; null is the same as leaving a key out."""

    external_id: str
    name: str
    amount: Decimal
    currency: str
    stage: Literal["open", "won", "lost"]
    lead: int | str | None = None
    email: str | None = None
    account: int | str | None = None
    created_at: str | None = None
    closed_at: str | None = None


def _id(field: str, value: int | str | None, refused: dict[str, str]) -> int | None:
    """A lead or account id given as a number or a string of digits (the Lead JSON's ids are
    strings)."""
    if value is None or isinstance(value, int):
        return value
    if value.isascii() and value.isdigit():
        return int(value)
    refused[field] = "must be an id: a number, or a string of digits"
    return None


def _checked(data: DealWrite, now: datetime) -> deals.DealPost:
    """The post with every field checked; 422 naming each refused one."""
    refused: dict[str, str] = {}

    def check(field_value: Callable[[], Any]) -> Any:
        try:
            return field_value()
        except rules.DealRefused as exc:
            refused[exc.field] = exc.why
            return None

    def moment(field: str, value: str | None) -> datetime | None:
        return None if value is None else check(lambda: rules.moment(field, value, now))

    post = deals.DealPost(
        external_id=check(lambda: rules.external_id(data.external_id)),
        name=check(lambda: rules.name(data.name)),
        amount_minor=check(lambda: rules.amount_minor(data.amount)),
        currency=check(lambda: rules.currency(data.currency)),
        stage=data.stage,
        lead_id=_id("lead", data.lead, refused),
        email=data.email,
        account_id=_id("account", data.account, refused),
        created_at=moment("created_at", data.created_at),
        closed_at=moment("closed_at", data.closed_at),
    )
    if refused:
        raise HTTPException(status_code=422, extra=refused)
    return post


def _nullable(schema: Schema) -> Schema:
    return Schema(one_of=[schema, Schema(type=OpenAPIType.NULL)])


def _deal_body() -> RequestBody:
    """The body as documented (Litestar's generator would not say that a deal needs a lead,
    an email or an account, nor that ids may be strings)."""
    an_id = Schema(
        one_of=[
            Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_ROW_ID),
            Schema(type=OpenAPIType.STRING, pattern="^[0-9]{1,10}$"),
        ]
    )
    moment = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME)
    body = Schema(
        type=OpenAPIType.OBJECT,
        required=["amount", "currency", "external_id", "name", "stage"],
        properties={
            "external_id": Schema(
                type=OpenAPIType.STRING,
                min_length=1,
                max_length=rules.MAX_EXTERNAL_ID,
                description="The CRM's id of the deal; posting it again updates the deal.",
            ),
            "lead": _nullable(an_id),
            "email": _nullable(
                Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.EMAIL, max_length=254)
            ),
            "account": _nullable(an_id),
            "name": Schema(type=OpenAPIType.STRING, min_length=1, max_length=rules.MAX_NAME),
            "amount": Schema(
                one_of=[
                    Schema(type=OpenAPIType.NUMBER, minimum=0),
                    Schema(type=OpenAPIType.STRING, pattern="^[0-9]{1,12}(\\.[0-9]{1,2})?$"),
                ],
                description="At most two decimals, below a trillion; kept exactly.",
            ),
            "currency": Schema(
                type=OpenAPIType.STRING, pattern="^[A-Za-z]{3}$", description="ISO 4217."
            ),
            "stage": Schema(type=OpenAPIType.STRING, enum=["open", "won", "lost"]),
            "created_at": _nullable(moment),
            "closed_at": _nullable(moment),
        },
        any_of=[
            Schema(required=["lead"]),
            Schema(required=["email"]),
            Schema(required=["account"]),
        ],
        additional_properties=False,
        description="Give the deal's lead (`lead` id or `email`, not both) or its `account`, "
        "or both.",
    )
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=body)}, required=True)


@dataclass
class DealOperation(Operation):
    """The OpenAPI operation of posting a deal, with its request body spelled out."""

    def __post_init__(self) -> None:
        self.request_body = _deal_body()


@post(
    "/deals",
    sync_to_thread=True,
    summary="Post a deal from the CRM",
    description="Creates the deal (201) or, for an `external_id` posted before, updates it "
    "(200; an identical repeat changes nothing). A deal moves its lead's lifecycle: a lead "
    "not yet an opportunity becomes one, a won deal makes it a customer, and a lost one sends "
    "it back to nurturing (`recycled`) `LEADSHELF_RECYCLE_LOST_AFTER_DAYS` after `closed_at` "
    "unless another of its deals is open or won by then. `closed_at` is left out for open "
    "deals and defaults to now for won and lost ones. An unknown lead, email or account is a "
    "404: deals never create leads. Needs a write token.",
    status_code=201,
    operation_class=DealOperation,
    request_max_body_size=MAX_BODY_BYTES,
    responses={
        200: ResponseSpec(
            data_container=DealRead,
            description="The deal was posted before: updated, or unchanged by an identical repeat.",
            generate_examples=False,
        ),
        413: ResponseSpec(
            data_container=ErrorRead,
            description=f"Request Entity Too Large: the body is over {MAX_BODY_BYTES} bytes.",
            generate_examples=False,
        ),
        **error_responses(404, 422),
    },
)
def post_deal(
    database: NamedDependency[Database],
    model: NamedDependency[Model],
    settings: NamedDependency[Settings],
    data: JSONBody[DealWrite],
) -> Response[DealRead]:
    """Create or update a deal by its external id; answers the deal as it stands."""
    now = utcnow()
    checked = _checked(data, now)
    recycle_after = timedelta(days=settings.recycle_lost_after_days)
    with database.write() as session:
        try:
            posted = deals.post(session, checked, model, recycle_after, now)
        except deals.DealNotFound as missing:
            raise NotFoundException(str(missing)) from None
        except rules.DealRefused as refused:
            raise HTTPException(status_code=422, extra={refused.field: refused.why}) from None
        if posted.changed and posted.deal.lead_id is None:
            queue_deal_without_lead(session, posted.deal, posted.previous_stage, now)
        document = deal_read(posted.deal)
    return Response(document, status_code=201 if posted.created else 200)


ROUTES = [post_deal]
