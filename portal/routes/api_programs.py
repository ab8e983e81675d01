"""Programs in the JSON API: list them, and add leads to one ("added by API" trigger)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import JSONBody, Parameter
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture.programs import store
from nurture.programs.definition import parse
from nurture.programs.models import Enrollment, EnrollmentStatus, Program, ProgramVersion
from portal.db import Database
from portal.routes.api_common import (
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    error_responses,
    in_row_range,
)
from tracking.models import Lead
from tracking.rules.profiling import InvalidAnswer, normalize_email

BY = "api"
"""How an enrollment made through the API is recorded (``Enrollment.entered_by``)."""

ProgramId = Annotated[int, Parameter(description="A program's `id` (no program: 404).")]
ProgramStatus = Literal["draft", "active", "paused", "archived"]


class TriggerRead(msgspec.Struct):
    """What enters leads: ``kind`` (``subscribed``, ``stage``, ``manual`` …), its ``value``
    (a stage, a lifecycle, an asset slug or ``kind:KIND``, a grade, a webinar) and, for
    ``inactive``, the ``days`` without engagement."""

    kind: str
    value: str
    days: int


class ProgramRead(msgspec.Struct):
    """A program as it stands: its current version (the one new leads enter) and how many
    leads are in it now, in any version."""

    id: int
    name: str
    status: ProgramStatus
    version: int
    trigger: TriggerRead
    leads_active: int


class ProgramList(msgspec.Struct):
    """A page of programs in the order they were created; pass ``next_cursor`` back."""

    items: list[ProgramRead]
    next_cursor: str | None


class EnrollmentWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The lead to add: its ``lead`` id or its ``email``, one of them."""

    lead: int | msgspec.UnsetType = msgspec.UNSET
    email: Annotated[str, msgspec.Meta(max_length=254)] | msgspec.UnsetType = msgspec.UNSET


class EnrollmentRead(msgspec.Struct):
    """A lead in a program: the version it entered (it finishes that one) and since when."""

    program: int
    lead: int
    version: int
    entered_at: datetime
    status: Literal["active", "completed", "converted", "exited"]


def _program_reads(session: Session, programs: list[Program]) -> list[ProgramRead]:
    ids = [program.id for program in programs]
    active: dict[int, int] = dict(
        session.execute(
            select(Enrollment.program_id, func.count())
            .where(
                Enrollment.program_id.in_(ids),
                Enrollment.status == EnrollmentStatus.ACTIVE.value,
            )
            .group_by(Enrollment.program_id)
        ).all()
    )
    definitions: dict[int, dict[str, Any]] = dict(
        session.execute(
            select(ProgramVersion.program_id, ProgramVersion.definition)
            .join(
                Program,
                and_(
                    Program.id == ProgramVersion.program_id,
                    Program.version == ProgramVersion.version,
                ),
            )
            .where(Program.id.in_(ids))
        ).all()
    )
    reads = []
    for program in programs:
        trigger = parse(definitions[program.id]).trigger
        reads.append(
            ProgramRead(
                id=program.id,
                name=program.name,
                status=program.status,  # type: ignore[arg-type]  # the column holds Status values
                version=program.version,
                trigger=TriggerRead(kind=trigger.on.value, value=trigger.value, days=trigger.days),
                leads_active=active.get(program.id, 0),
            )
        )
    return reads


@get(
    "/programs",
    sync_to_thread=True,
    summary="Nurture programs",
    description="Every program in the order it was created: its status (`draft`, `active`, "
    "`paused`, `archived`), current version (the one new leads enter), trigger and how many "
    "leads are in it now; `next_cursor` pages on.",
    responses=error_responses(),
)
def list_programs(
    database: NamedDependency[Database], limit: Limit = 50, cursor: Cursor = None
) -> ProgramList:
    """Every program with its trigger and the leads in it now, a page at a time."""
    query = (
        select(Program)
        .where(Program.id > decode_cursor(cursor))
        .order_by(Program.id)
        .limit(limit + 1)
    )
    with database.read() as session:
        found = list(session.scalars(query))
        items = _program_reads(session, found[:limit])
    more = len(found) > limit
    return ProgramList(
        items=items, next_cursor=encode_cursor(found[limit - 1].id) if more else None
    )


def _enrollment_body() -> RequestBody:
    """The body as documented: one of ``lead`` and ``email``, nothing else (Litestar's
    generator would allow both, neither and unknown keys)."""
    body = Schema(
        type=OpenAPIType.OBJECT,
        properties={
            "lead": Schema(type=OpenAPIType.INTEGER, description="The lead's `id`."),
            "email": Schema(
                type=OpenAPIType.STRING,
                format=OpenAPIFormat.EMAIL,
                max_length=254,
                description="The lead's address (a lead the portal knows).",
            ),
        },
        one_of=[Schema(required=["lead"]), Schema(required=["email"])],
        additional_properties=False,
    )
    return RequestBody(content={"application/json": OpenAPIMediaType(schema=body)}, required=True)


@dataclass
class EnrollmentOperation(Operation):
    """The OpenAPI operation of adding a lead, with its request body spelled out."""

    def __post_init__(self) -> None:
        self.request_body = _enrollment_body()


def _lead_of(session: Session, data: EnrollmentWrite) -> Lead:
    """The lead the body names (400 for neither or both, 404 for nobody)."""
    if isinstance(data.lead, int) == isinstance(data.email, str):
        raise ValidationException("give the lead's id as 'lead' or its address as 'email'")
    if isinstance(data.lead, int):
        lead = session.get(Lead, data.lead) if in_row_range(data.lead) else None
        if lead is None:
            raise NotFoundException(f"no lead {data.lead}")
        return lead
    assert isinstance(data.email, str)
    try:
        email = normalize_email(data.email)
    except InvalidAnswer as exc:
        raise ValidationException(f"email: {exc}") from None
    lead = session.scalar(select(Lead).where(Lead.email == email))
    if lead is None:
        raise NotFoundException(f"no lead with the address {email}")
    return lead


@post(
    "/programs/{program_id:int}/enrollments",
    sync_to_thread=True,
    summary="Add a lead to a program",
    description="Enters the lead (by `lead` id or `email`) into the program's current version "
    "now, as the console's Add leads does; a lead that left may enter again. 409 when the lead "
    "is in the program already, or the program is a draft or archived (it takes nobody). Needs "
    "a write token.",
    status_code=201,
    operation_class=EnrollmentOperation,
    responses=error_responses(404, 409),
)
def add_enrollment(
    program_id: ProgramId,
    database: NamedDependency[Database],
    data: JSONBody[EnrollmentWrite],
) -> EnrollmentRead:
    """Add a lead by hand (the "added by API" trigger); answers the new enrollment."""
    now = utcnow()
    with database.write() as session:
        program = session.get(Program, program_id) if in_row_range(program_id) else None
        if program is None:
            raise NotFoundException(f"no program {program_id}")
        lead = _lead_of(session, data)
        try:
            entered = store.add_leads(session, program, [lead.id], by=BY, now=now)
        except ValueError as refused:
            raise HTTPException(status_code=409, detail=str(refused)) from None
        if not entered:
            raise HTTPException(
                status_code=409, detail=f"lead {lead.id} is in the program {program.name!r} already"
            )
        enrollment = session.scalars(
            select(Enrollment).where(
                Enrollment.program_id == program.id,
                Enrollment.lead_id == lead.id,
                Enrollment.status == EnrollmentStatus.ACTIVE.value,
            )
        ).one()
        return EnrollmentRead(
            program=program.id,
            lead=lead.id,
            version=enrollment.version,
            entered_at=enrollment.entered_at,
            status=enrollment.status,  # type: ignore[arg-type]  # an EnrollmentStatus value
        )


ROUTES = [list_programs, add_enrollment]
