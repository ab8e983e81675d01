"""Leads written straight as rows, for the reports over them: five known leads with every
list column set (``LEADS``), a lead row of any shape (``add_lead``) and a line of its change
log (``change``). Used by the reporting tests and the console pages that show the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from portal.db import Database
from tracking.models import Lead, LeadChange


def moment(text: str) -> datetime:
    """An ISO date or time, in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


LEADS: list[dict[str, Any]] = [
    dict(
        email="ada@acme.example", name="Ada Lovelace", company="Acme",
        journey_stage="decision", lifecycle="mql", grade="A", category="bant",
        fit_score=80, engagement=40.5, stage_confidence=0.78,
        created_at=moment("2026-01-10T08:00:00"), last_activity_at=moment("2026-03-02T23:59:59"),
        marketing_consent=True, consent_status="confirmed",
    ),
    dict(
        email="bob@stone.example", name="Bob Stone", company="Stone_Works",
        journey_stage="consideration", lifecycle="lead", grade="B", category="two_touch",
        fit_score=45, engagement=20.0,
        created_at=moment("2026-02-01T00:00:00"), last_activity_at=moment("2026-03-01T00:00:00"),
    ),
    dict(
        email="cy@globex.example", name="Cy Sure", company="Globex 100% Sure",
        journey_stage="awareness", lifecycle="subscriber", grade="E", category="known",
        fit_score=0, engagement=0.0,
        created_at=moment("2026-02-15T23:59:59"), last_activity_at=moment("2026-02-16T10:00:00"),
    ),
    dict(
        email="dee@initech.example", name="", company="",
        journey_stage="decision", lifecycle="sql", grade="B", category="qualified_question",
        fit_score=60, engagement=20.0,
        created_at=moment("2026-02-16T00:00:00"), last_activity_at=moment("2026-03-03T00:00:00"),
    ),
    dict(
        email="eve@corp.example", name="Eve Adams", company="Big ACME Corp",
        journey_stage="customer", lifecycle="customer", grade="C", category="profiling_question",
        fit_score=30, engagement=5.25,
        created_at=moment("2025-12-31T23:59:59"), last_activity_at=moment("2026-01-05T12:00:00"),
    ),
]  # fmt: skip
"""ada, bob, cy, dee and eve: leads across the stages, lifecycles, grades and categories."""


def add_leads(db: Database) -> dict[str, int]:
    """The five ``LEADS``, by the part of their email before the @."""
    ids = {}
    with db.write() as session:
        for values in LEADS:
            lead = Lead(**values)
            session.add(lead)
            session.flush()
            ids[values["email"].split("@")[0]] = lead.id
    return ids


def add_lead(session: Any, email: str, *, created: datetime, **values: Any) -> int:
    lead = Lead(email=email, created_at=created, last_activity_at=created, **values)
    session.add(lead)
    session.flush()
    return lead.id


def change(session: Any, lead_id: int, kind: str, old: str | None, new: str, at: datetime,
           dwell: float | None = None) -> None:  # fmt: skip
    session.add(
        LeadChange(lead_id=lead_id, kind=kind, old=old, new=new, at=at, dwell_seconds=dwell)
    )
