"""Mail in the JSON API: bounces, complaints and unsubscribes reported by a mail provider's
webhook (for senders whose bounces never reach ``leadshelf bounces serve``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
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
from nurture.mail import provider_events
from portal.db import Database
from portal.routes.api_common import error_responses

FIELDS = {
    "type": "`bounce`: the mail could not be delivered; `complaint`: the reader marked it as "
    "spam; `unsubscribe`: the reader left through the provider's own link.",
    "email": "The recipient's address.",
    "bounce_type": "Required for a bounce, refused otherwise: `hard` suppresses the address at "
    "once (no mail goes there any more), `soft` after 3 soft bounces in a row.",
    "message_id": "The Message-ID header of our mail, if the provider passes it on: links the "
    "event to the message, and a repeat of it is recorded once.",
    "at": "When it happened (ISO-8601 with a time zone, at most a year ago); default now. Give it "
    "(or `message_id`) so a retried webhook is recorded once.",
    "detail": "The provider's words (e.g. `550 5.1.1 user unknown`), shown in the console.",
}
"""What each field of an event means, as the OpenAPI document says it."""


class EmailEventWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One bounce, complaint or unsubscribe as the provider reports it (see ``FIELDS``)."""

    type: Literal["bounce", "complaint", "unsubscribe"]
    email: Annotated[str, msgspec.Meta(max_length=254)]
    bounce_type: Literal["hard", "soft"] | None = None
    message_id: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    at: datetime | None = None
    detail: Annotated[str, msgspec.Meta(max_length=provider_events.MAX_DETAIL)] | None = None


class EmailEventsWrite(msgspec.Struct, forbid_unknown_fields=True):
    """1 to 1,000 events; all or nothing."""

    events: Annotated[
        list[EmailEventWrite],
        msgspec.Meta(min_length=1, max_length=provider_events.MAX_EVENTS),
    ]


class EmailEventsAccepted(msgspec.Struct):
    """How many events were accepted, and how many of them had been recorded before."""

    accepted: int
    duplicates: int


def _nullable(schema: Schema, name: str) -> Schema:
    return Schema(one_of=[schema, Schema(type=OpenAPIType.NULL)], description=FIELDS[name])


def _events_body() -> RequestBody:
    """The body as documented: Litestar's generator leaves out the formats and the refusal of
    unknown keys, so the document is spelled out to say exactly what the handler takes."""
    text = OpenAPIType.STRING
    event = Schema(
        type=OpenAPIType.OBJECT,
        required=["email", "type"],
        properties={
            "type": Schema(type=text, enum=list(provider_events.TYPES), description=FIELDS["type"]),
            "email": Schema(
                type=text,
                format=OpenAPIFormat.EMAIL,
                max_length=254,
                description=FIELDS["email"],
            ),
            "bounce_type": _nullable(
                Schema(type=text, enum=list(provider_events.BOUNCE_TYPES)), "bounce_type"
            ),
            "message_id": _nullable(Schema(type=text, max_length=200), "message_id"),
            "at": _nullable(Schema(type=text, format=OpenAPIFormat.DATE_TIME), "at"),
            "detail": _nullable(Schema(type=text, max_length=provider_events.MAX_DETAIL), "detail"),
        },
        additional_properties=False,
    )
    body = Schema(
        type=OpenAPIType.OBJECT,
        required=["events"],
        properties={
            "events": Schema(
                type=OpenAPIType.ARRAY,
                items=event,
                min_items=1,
                max_items=provider_events.MAX_EVENTS,
            )
        },
        additional_properties=False,
    )
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=body)}, required=True)


@dataclass
class EmailEventsOperation(Operation):
    """The OpenAPI operation of the provider events call, with its request body spelled out."""

    def __post_init__(self) -> None:
        self.request_body = _events_body()


@post(
    "/email/events",
    sync_to_thread=True,
    summary="Report bounces, complaints and unsubscribes from a mail provider",
    status_code=200,
    operation_class=EmailEventsOperation,
    responses=error_responses(422),
)
def email_events(
    database: NamedDependency[Database], data: JSONBody[EmailEventsWrite]
) -> EmailEventsAccepted:
    """Puts addresses on the suppression list, like bounces that come back by mail: a hard
    bounce or a complaint stops all mail to the address, an unsubscribe stops marketing mail,
    soft bounces count towards 3 in a row. Refused events are listed by index with the reason
    (422) and none is stored. Needs a write token."""
    received = [
        provider_events.ProviderEvent(
            type=event.type,
            email=event.email,
            bounce_type=event.bounce_type,
            message_id=event.message_id,
            at=event.at,
            detail=event.detail,
        )
        for event in data.events
    ]
    try:
        checked = provider_events.check(received, utcnow())
    except provider_events.EventsRefused as refused:
        raise HTTPException(status_code=422, extra={"events": refused.errors}) from None
    with database.write() as session:
        applied = provider_events.apply(session, checked)
    return EmailEventsAccepted(accepted=applied.accepted, duplicates=applied.duplicates)


ROUTES = [email_events]
