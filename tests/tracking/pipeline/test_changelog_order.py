"""The lead change log's sequence is its commit order, so a reader that has seen a number
never misses a lower one committed later (the webhook relay and the handoff queue rely on it)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from content.orm import utcnow
from portal.db import Database
from tests.tracking.reporting.leads import add_lead
from tracking.models import LeadChange
from tracking.pipeline import changelog


def entry(lead_id: int, new: str) -> LeadChange:
    return LeadChange(lead_id=lead_id, kind="milestone", new=new, at=utcnow())


def test_a_second_writer_of_the_log_waits_until_the_first_commits(db: Database) -> None:
    with db.write() as session:
        lead_id = add_lead(session, "ada@example.com", created=utcnow())
    order: list[str] = []
    second_started = threading.Event()

    def second_writer() -> None:
        with db.write() as session:
            second_started.set()
            changelog.append(session, entry(lead_id, "second"))
            session.flush()
        order.append("second committed")

    with db.write() as session:
        changelog.append(session, entry(lead_id, "first"))
        session.flush()
        writer = threading.Thread(target=second_writer)
        writer.start()
        second_started.wait(10)
        writer.join(0.5)  # it cannot take a number (or commit) while the first is open
        assert writer.is_alive()
        order.append("first committing")
    writer.join(10)
    assert order == ["first committing", "second committed"]
    with db.read() as session:
        logged = session.execute(select(LeadChange.new).order_by(LeadChange.seq)).scalars().all()
    assert logged == ["first", "second"]
