"""Visits kept by ingestion on SQLite and PostgreSQL: a visit per 30 minutes and per campaign,
in the transaction of the page views, with the known lead's first and latest visit."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from portal.db import Database
from tests.factories import make_asset
from tracking import events
from tracking.identity.identify import get_or_create_lead
from tracking.models import Lead, Visitor
from tracking.pipeline.ingest import store
from tracking.sources.arrivals import arrival
from tracking.sources.models import Visit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWN = {"library.pipewise.example"}
SPRING = "/library?utm_source=linkedin&utm_medium=social&utm_campaign=spring"
AUTUMN = "/library?utm_source=linkedin&utm_medium=social&utm_campaign=autumn"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def page(
    visitor: str, minutes: float, url: str = "/library", referer: str | None = None
) -> events.PageView:
    return events.PageView(
        visitor_id=visitor,
        path=url.split("?")[0],
        occurred_at=at(minutes),
        arrival=arrival(url, referer, OWN),
    )


def ingest(db: Database, *groups: Sequence[events.TrackedEvent]) -> None:
    with db.write() as session:
        store(session, groups, now=at(1000))


def visits_of(db: Database, visitor: str | None = None) -> list[Visit]:
    query = select(Visit).order_by(Visit.started_at, Visit.id)
    if visitor is not None:
        query = query.where(Visit.visitor_id == visitor)
    with db.read() as session:
        return list(session.scalars(query))


def browser(db: Database, visitor: str) -> Visitor:
    with db.read() as session:
        row = session.get(Visitor, visitor)
    assert row is not None
    return row


def lead_of(db: Database, lead_id: int) -> Lead:
    with db.read() as session:
        lead = session.get(Lead, lead_id)
    assert lead is not None
    return lead


def test_the_first_page_starts_a_visit_with_its_source(db: Database) -> None:
    ingest(db, [page("v1", 0, SPRING, "https://www.linkedin.com/")])
    (visit,) = visits_of(db)
    assert (visit.source, visit.medium, visit.campaign, visit.channel) == (
        "linkedin",
        "social",
        "spring",
        "social",
    )
    assert visit.referrer == "www.linkedin.com"
    assert visit.landing == SPRING
    assert visit.started_at == at(0)
    assert visit.lead_id is None
    row = browser(db, "v1")
    assert (row.visit_id, row.last_seen_at) == (visit.id, at(0))


def test_pages_within_30_minutes_continue_the_visit(db: Database) -> None:
    ingest(db, [page("v1", 0, SPRING)])
    ingest(db, [page("v1", 10, "/library/guide", "https://library.pipewise.example/library")])
    ingest(db, [page("v1", 39)])  # 29 minutes after the last page, 39 after the first
    (visit,) = visits_of(db)
    assert visit.campaign == "spring"  # an internal page changes nothing of the source
    assert browser(db, "v1").last_seen_at == at(39)


def test_a_page_after_30_quiet_minutes_starts_a_new_visit(db: Database) -> None:
    ingest(db, [page("v1", 0, SPRING)])
    ingest(db, [page("v1", 5)])
    ingest(db, [page("v1", 35, "/", "https://www.google.de/")])
    first, second = visits_of(db)
    assert first.last_at == at(5)  # closed at its last page
    assert (second.source, second.medium, second.channel) == ("google", "organic", "search")
    assert second.started_at == at(35)
    assert browser(db, "v1").visit_id == second.id


def test_a_new_campaign_starts_a_new_visit_at_once(db: Database) -> None:
    ingest(db, [page("v1", 0, SPRING)])
    ingest(db, [page("v1", 2, SPRING)])  # a reload of the same campaign link
    ingest(db, [page("v1", 3, AUTUMN)])
    assert [v.campaign for v in visits_of(db)] == ["spring", "autumn"]


def test_one_batch_plans_each_browser_in_time_order(db: Database) -> None:
    ingest(
        db,
        [page("v1", 0, SPRING), page("v2", 1, "/", "https://www.bing.com/")],
        [page("v1", 4), page("v1", 6, AUTUMN), page("v1", 50)],
    )
    assert [(v.visitor_id, v.campaign, v.source) for v in visits_of(db)] == [
        ("v1", "spring", "linkedin"),
        ("v2", "", "bing"),
        ("v1", "autumn", "linkedin"),
        ("v1", "", "direct"),
    ]
    spring, _, autumn, direct = visits_of(db)
    assert (spring.last_at, autumn.last_at) == (at(4), at(6))
    assert browser(db, "v1").visit_id == direct.id


def test_events_other_than_pages_start_no_visit(db: Database) -> None:
    asset = make_asset(db)
    ingest(
        db,
        [
            events.ReadProgress(visitor_id="v1", asset_id=asset.id, seconds=20, depth=0.5),
            events.PageView(visitor_id="v1", path="/"),  # recorded without an arrival
        ],
    )
    assert visits_of(db) == []
    assert browser(db, "v1").visit_id is None


def test_a_known_browsers_visits_are_its_leads(db: Database) -> None:
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "ada@example.com", T0)
        session.add(Visitor(id="v1", lead_id=lead.id))
        lead_id = lead.id
    ingest(db, [page("v1", 0, SPRING)])
    ingest(db, [page("v1", 10)])
    ingest(db, [page("v1", 60, AUTUMN)])
    first, latest = visits_of(db)
    assert {first.lead_id, latest.lead_id} == {lead_id}
    found = lead_of(db, lead_id)
    assert (found.first_visit_id, found.latest_visit_id) == (first.id, latest.id)


@contextmanager
def statements_on(db: Database) -> Iterator[list[str]]:
    """The SQL statements run on the database meanwhile."""
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *rest: object) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_page_of_a_continuing_visit_writes_only_its_browsers_last_page(db: Database) -> None:
    ingest(db, [page("v1", 0, SPRING), page("v2", 0)])
    with statements_on(db) as seen:
        ingest(db, [page("v1", 5), page("v2", 6)])
    writes = [s for s in seen if s.startswith(("insert", "update", "delete"))]
    assert [s for s in writes if s.startswith(("insert into visit ", "update visit "))] == []
    visitor_updates = [s for s in writes if s.startswith("update visitor ")]
    assert len(visitor_updates) == 1  # one statement for the batch's browsers
    assert browser(db, "v2").last_seen_at == at(6)


def test_batches_side_by_side_give_a_new_browser_one_visit(db: Database) -> None:
    """Two writers (two web processes) store the first pages of the same browsers at once:
    the second waits for the first's rows and continues its visits (no deadlock, no twin)."""
    with db.write() as session:
        lead, _ = get_or_create_lead(session, "ada@example.com", T0)
        session.add(Visitor(id="known", lead_id=lead.id))
        lead_id = lead.id
    browsers = ["known", "v1", "v2", "v3"]
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            mine = browsers[n:] + browsers[:n]  # each writer lists them in its own order
            ingest(db, [page(visitor, n * 0.1, SPRING) for visitor in mine])
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(v.visitor_id for v in visits_of(db)) == browsers
    (visit,) = visits_of(db, "known")
    assert lead_of(db, lead_id).first_visit_id == visit.id
