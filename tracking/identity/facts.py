"""Profile facts: what a lead told us, each value with its source and time.

A new value wins and the old one stays as history, so every fact can say where
it came from. Name and company are copied onto the lead row for lists and search.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.lead_profile import profile
from tracking.models import Lead, ProfileFact


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact or consent came from: ``form`` (ref: asset slug), ``import`` or ``api``."""

    kind: str
    ref: str = ""


def record_facts(
    session: Session, lead_id: int, values: Mapping[str, str], source: Source, now: datetime
) -> tuple[str, ...]:
    """Store new field values (a new value wins, the old one is kept as history).

    Returns the fields whose value changed; repeating a known value records nothing.
    """
    if not values:
        return ()
    current = {
        fact.field: fact
        for fact in session.scalars(
            select(ProfileFact).where(
                ProfileFact.lead_id == lead_id,
                ProfileFact.superseded_at.is_(None),
                ProfileFact.field.in_(values),
            )
        )
    }
    changed = []
    for field, value in values.items():
        old = current.get(field)
        if old is not None and old.value == value:
            continue
        if old is not None:
            old.superseded_at = now
            session.flush()  # the partial unique index allows one current value per field
        session.add(
            ProfileFact(
                lead_id=lead_id,
                field=field,
                value=value,
                source=source.kind,
                source_ref=source.ref[:200],
                recorded_at=now,
            )
        )
        changed.append(field)
    session.flush()
    if LISTED_FIELDS.intersection(changed):
        refresh_listed(session, lead_id)
    return tuple(changed)


LISTED_FIELDS = frozenset({"first_name", "last_name", "company"})


def refresh_listed(session: Session, lead_id: int) -> None:
    """Copy the name and company onto the lead row, where lists show and search them."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        return
    known = profile(session, lead_id)
    lead.name = " ".join(v for v in (known.get("first_name"), known.get("last_name")) if v)[:200]
    lead.company = known.get("company", "")[:200]
