"""Visits kept by ingestion, in the transaction of the page views that start or continue them.

A batch's page views that carry an ``Arrival`` (the pages a browser loaded) are planned per
browser with the new-visit rule (``arrivals.starts_visit``), in time order: a page that
starts a visit inserts one (the visit the browser had is closed: its ``last_at`` becomes the
browser's last page), a page that continues one only moves the browser's ``last_seen_at``
(one row update per browser and batch, in one statement; the current visit's last page is
its browser's ``last_seen_at``). A visit of a known browser gets its lead, and the lead its
latest visit (and its first, if it had none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Table, bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable

from tracking.models import Lead, Visitor
from tracking.sources.arrivals import Arrival, CurrentVisit, starts_visit
from tracking.sources.models import Visit

VISIT_TABLE: Table = Visit.__table__  # type: ignore[assignment]
VISITOR_TABLE: Table = Visitor.__table__  # type: ignore[assignment]
LEAD_TABLE: Table = Lead.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Browser:
    """A browser's row as a batch with page views finds it (locked)."""

    lead_id: int | None
    visit_id: int | None
    current: CurrentVisit | None


@dataclass(frozen=True, slots=True)
class Page:
    """A page view of a batch that carries where it came from."""

    visitor_id: str
    lead_id: int | None
    at: datetime
    arrival: Arrival


@dataclass(slots=True)
class Plan:
    """What a batch's pages write: new visits (as rows; their ids come from the insert),
    visits they close, and each browser's and lead's visit afterwards. A visit is an ``int``
    (stored) or an index into ``new`` wrapped as ``NewVisit``."""

    new: list[dict[str, Any]] = field(default_factory=list)
    closed: dict[int, datetime] = field(default_factory=dict)
    browsers: dict[str, tuple[int | NewVisit, datetime]] = field(default_factory=dict)
    leads: dict[int, tuple[NewVisit, NewVisit]] = field(default_factory=dict)
    """Per lead: its earliest and latest visit started by this batch."""


@dataclass(frozen=True, slots=True)
class NewVisit:
    index: int


def visit_row(page: Page) -> dict[str, Any]:
    """The ``visit`` row a page starts."""
    arrival = page.arrival
    return {
        "visitor_id": page.visitor_id,
        "lead_id": page.lead_id,
        "started_at": page.at,
        "last_at": page.at,
        "source": arrival.source,
        "medium": arrival.medium,
        "campaign": arrival.campaign,
        "term": arrival.term,
        "content": arrival.content,
        "referrer": arrival.referrer,
        "channel": arrival.channel.value,
        "click_id": arrival.click_id,
        "landing": arrival.landing,
    }


def plan(pages: Iterable[Page], browsers: Mapping[str, Browser]) -> Plan:
    """Which pages start visits and which continue them (pure: plain values in and out)."""
    by_browser: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        by_browser[page.visitor_id].append(page)
    result = Plan()
    for visitor_id in sorted(by_browser):
        known = browsers.get(visitor_id, Browser(None, None, None))
        _plan_browser(result, known, sorted(by_browser[visitor_id], key=lambda p: p.at))
    return result


def _plan_browser(result: Plan, browser: Browser, pages: list[Page]) -> None:
    current = browser.current if browser.visit_id is not None else None
    visit: int | NewVisit | None = browser.visit_id
    for page in pages:
        if starts_visit(current, page.arrival, page.at):
            if isinstance(visit, int) and current is not None and current.last_page_at:
                result.closed[visit] = current.last_page_at
            visit = NewVisit(len(result.new))
            result.new.append(visit_row(page))
            if page.lead_id is not None:
                first, _ = result.leads.get(page.lead_id, (visit, visit))
                result.leads[page.lead_id] = (first, visit)
            current = CurrentVisit(page.arrival.campaign_key, page.at)
            continue
        assert current is not None  # a page without a visit starts one
        seen = current.last_page_at
        current = CurrentVisit(current.campaign_key, max(seen, page.at) if seen else page.at)
        if isinstance(visit, NewVisit):
            result.new[visit.index]["last_at"] = current.last_page_at
    if isinstance(visit, int | NewVisit) and current is not None and current.last_page_at:
        result.browsers[pages[0].visitor_id] = (visit, current.last_page_at)


@dataclass(frozen=True, slots=True)
class _Statements:
    browsers: Executable
    current_visits: Executable
    insert_visits: Executable
    close_visits: Executable
    move_browsers: Executable
    lock_leads: Executable
    lead_visits: Executable


@cache
def statements() -> _Statements:
    """The statements, built once (the same on both backends; SQLite ignores the locks)."""
    visitors, visits, leads = VISITOR_TABLE.c, VISIT_TABLE.c, LEAD_TABLE.c
    batch_visit = bindparam("b_visit", type_=Integer)
    return _Statements(
        # FOR NO KEY UPDATE (PostgreSQL): the batch writes these rows; an identification of
        # one of these browsers waits for the batch, or the batch for it. In id order, so
        # two batches cannot deadlock. Their visits are read after the lock is granted (a
        # join would show a row that waited the visit it had before).
        browsers=select(visitors.id, visitors.lead_id, visitors.visit_id, visitors.last_seen_at)
        .where(visitors.id.in_(bindparam("ids", expanding=True)))
        .order_by(visitors.id)
        .with_for_update(key_share=True),
        current_visits=select(visits.id, visits.source, visits.medium, visits.campaign).where(
            visits.id.in_(bindparam("ids", expanding=True))
        ),
        insert_visits=VISIT_TABLE.insert().returning(visits.id, sort_by_parameter_order=True),
        close_visits=update(VISIT_TABLE)
        .where(visits.id == bindparam("b_id"))
        .values(last_at=bindparam("b_last")),
        move_browsers=update(VISITOR_TABLE)
        .where(visitors.id == bindparam("b_id"))
        .values(visit_id=batch_visit, last_seen_at=bindparam("b_seen")),
        lock_leads=select(leads.id)
        .where(leads.id.in_(bindparam("ids", expanding=True)))
        .order_by(leads.id)
        .with_for_update(),
        lead_visits=update(LEAD_TABLE)
        .where(leads.id == bindparam("b_id"))
        .values(
            first_visit_id=func.coalesce(leads.first_visit_id, bindparam("b_first", type_=Integer)),
            latest_visit_id=batch_visit,
        ),
    )


def pages_of(arrived: Iterable[tuple[Mapping[str, Any], Arrival]]) -> list[Page]:
    """The pages of stored event rows (after their visitors' leads are attached) with their
    arrivals."""
    return [Page(row["visitor_id"], row["lead_id"], row["occurred_at"], a) for row, a in arrived]


def browsers(connection: Connection, visitor_ids: Sequence[str]) -> dict[str, Browser]:
    """The browsers' rows with their current visits, locked for the batch."""
    sql = statements()
    rows = list(connection.execute(sql.browsers, {"ids": list(visitor_ids)}))
    wanted = sorted({visit_id for _, _, visit_id, _ in rows if visit_id is not None})
    keys = (
        {i: (s, m, c) for i, s, m, c in connection.execute(sql.current_visits, {"ids": wanted})}
        if wanted
        else {}
    )
    found: dict[str, Browser] = {}
    for visitor_id, lead_id, visit_id, last_seen in rows:
        key = keys.get(visit_id) if visit_id is not None else None
        current = CurrentVisit(key, last_seen) if key is not None else None
        found[visitor_id] = Browser(lead_id, visit_id if current else None, current)
    return found


def record(
    connection: Connection,
    pages: Sequence[Page],
    found: Mapping[str, Browser],
    batch_leads: Iterable[int],
) -> None:
    """Write what the batch's pages do to their browsers' visits (see the module docstring).

    ``batch_leads`` are the leads the batch's events belong to: when a visit starts for a
    known lead they are locked first, all in id order, so this and the batch's scoring lock
    leads in one order (two batches cannot deadlock)."""
    if not pages:
        return
    sql = statements()
    todo = plan(pages, found)
    ids: list[int] = []
    if todo.new:
        ids = list(connection.execute(sql.insert_visits, todo.new).scalars())

    def stored(visit: int | NewVisit) -> int:
        return ids[visit.index] if isinstance(visit, NewVisit) else visit

    if todo.closed:
        connection.execute(
            sql.close_visits,
            [{"b_id": visit, "b_last": at} for visit, at in sorted(todo.closed.items())],
        )
    connection.execute(
        sql.move_browsers,
        [
            {"b_id": visitor_id, "b_visit": stored(visit), "b_seen": seen}
            for visitor_id, (visit, seen) in sorted(todo.browsers.items())
        ],
    )
    if todo.leads:
        connection.execute(sql.lock_leads, {"ids": sorted({*batch_leads, *todo.leads})})
        connection.execute(
            sql.lead_visits,
            [
                {"b_id": lead_id, "b_first": stored(first), "b_visit": stored(latest)}
                for lead_id, (first, latest) in sorted(todo.leads.items())
            ],
        )
