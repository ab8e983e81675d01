"""The lead list's pages cut by cursors, on SQLite and PostgreSQL: walking Next (and back with
Previous) visits every matching lead exactly once in every sort order and direction, with
many ties, with filters, with a capped count, and while leads change between pages; row
numbers; old ``page=N`` links; cursors in the URL, and refused ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from litestar.datastructures import MultiDict
from sqlalchemy import delete, inspect, select, update

from portal.db import Database
from portal.migrate import alembic_config
from tracking.models import LIST_SORT_COLUMNS, Lead
from tracking.reporting import lead_pages, leadlist
from tracking.reporting.lead_cursor import Cursor
from tracking.reporting.lead_pages import LeadPage, page
from tracking.reporting.leadlist import (
    CURSOR_REFUSED,
    BadCursor,
    LeadFilter,
    Sort,
    narrowed,
    parse_filter,
)
from tracking.rules.config import Model
from tracking.rules.scoring import Category, Lifecycle

MODEL = Model()
CHOICES: dict[str, Any] = {
    "stage": MODEL.stages,
    "lifecycle": tuple(v.value for v in Lifecycle),
    "grade": tuple("ABCDE"),
    "category": tuple(v.value for v in Category),
}
PER_PAGE = 4
START = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
SORTS = [(sort, descending) for sort in Sort for descending in (True, False)]


@pytest.fixture
def crowd(db: Database) -> list[int]:
    """Thirty-seven leads whose every sort value is shared by many (ties broken by id): three
    fit scores, two engagements, three names and companies (one empty), four moments."""
    with db.write() as session:
        leads = [
            Lead(
                email=f"p{n:02d}@{'acme' if n % 3 else 'initech'}.example",
                name=("", "Ann Berg", "Bob Chan")[n % 3],
                company=("Acme", "", "Initech")[n % 3],
                grade="AB"[n % 2],
                fit_score=(0, 50, 100)[n % 3],
                engagement=(0.0, 2.5)[n % 2],
                created_at=START - timedelta(days=n % 4),
                last_activity_at=START + timedelta(microseconds=n % 4),
            )
            for n in range(37)
        ]
        session.add_all(leads)
        session.flush()
        return [lead.id for lead in leads]


def ordered_ids(db: Database, view: LeadFilter) -> list[int]:
    """The whole list in the view's order, read at once (what the pages must add up to)."""
    with db.read() as session:
        query = lead_pages._ordered(narrowed(select(Lead.id), view), view)
        return list(session.scalars(query))


def walk(db: Database, view: LeadFilter, per_page: int = PER_PAGE) -> list[LeadPage]:
    """Every page from the first, following Next until there is none."""
    pages = []
    with db.read() as session:
        shown = page(session, view, per_page=per_page)
    pages.append(shown)
    while shown.next is not None:
        assert len(pages) < 100, "the pages never end"
        with db.read() as session:
            shown = page(session, replace(view, after=shown.next), per_page=per_page)
        pages.append(shown)
    return pages


def ids(pages: list[LeadPage]) -> list[int]:
    return [lead.id for shown in pages for lead in shown.leads]


@pytest.mark.parametrize(("sort", "descending"), SORTS)
def test_next_visits_every_lead_once_in_each_order(
    db: Database, crowd: list[int], sort: Sort, descending: bool
) -> None:
    view = LeadFilter(sort=sort, descending=descending)
    pages = walk(db, view)
    assert ids(pages) == ordered_ids(db, view)
    assert sorted(ids(pages)) == sorted(crowd)
    assert len(pages) == 10  # 37 leads, 4 a page
    assert [(p.first_row, p.last_row) for p in pages] == [
        (row, min(row + 3, 37)) for row in range(1, 38, 4)
    ]
    assert [p.page for p in pages] == list(range(1, 11))
    assert {(p.total, p.capped, p.pages) for p in pages} == {(37, False, 10)}
    assert pages[0].previous is None
    assert all(p.previous is not None for p in pages[1:])


@pytest.mark.parametrize(("sort", "descending"), SORTS)
def test_previous_walks_back_through_the_same_pages(
    db: Database, crowd: list[int], sort: Sort, descending: bool
) -> None:
    view = LeadFilter(sort=sort, descending=descending)
    forward = walk(db, view)
    shown = forward[-1]
    backward = [shown]
    while shown.previous is not None:
        with db.read() as session:
            shown = page(session, replace(view, before=shown.previous), per_page=PER_PAGE)
        backward.append(shown)
    backward.reverse()
    # Going back, the pages end where the later ones start; the first holds what the first
    # page holds (here the 37th lead makes the pages fall as going forward).
    assert ids(backward) == ids(forward)
    assert [(p.first_row, p.last_row) for p in backward] == [
        (p.first_row, p.last_row) for p in forward
    ]
    assert backward[0].view.before is None  # the start is the plain first page
    assert backward[0].next is not None


@pytest.mark.parametrize(
    "values",
    [
        {"grade": ("A",)},
        {"q": "ann"},  # few matches on SQLite: collected through the search index first
        {"fit_min": 50, "engagement_max": 1.0},
        {"created_from": (START - timedelta(days=1)).date()},
    ],
)
@pytest.mark.parametrize("sort", [Sort.LAST_ACTIVITY, Sort.FIT, Sort.NAME])
def test_filters_hold_on_every_page(
    db: Database, crowd: list[int], values: dict[str, Any], sort: Sort
) -> None:
    view = LeadFilter(sort=sort, descending=sort in leadlist.DESCENDING_FIRST, **values)
    expected = ordered_ids(db, view)
    assert 0 < len(expected) < len(crowd)
    pages = walk(db, view)
    assert ids(pages) == expected
    assert pages[-1].last_row == pages[-1].total == len(expected)


def test_a_capped_count_still_pages_to_the_end_and_then_knows_the_total(
    db: Database, crowd: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = lead_pages.count
    monkeypatch.setattr(
        lead_pages, "count", lambda session, view, cap=10: counted(session, view, cap=cap)
    )
    view = LeadFilter(sort=Sort.FIT)
    pages = walk(db, view)
    assert ids(pages) == ordered_ids(db, view)
    assert (pages[0].total, pages[0].capped) == (10, True)
    assert (pages[5].first_row, pages[5].total, pages[5].capped) == (21, 24, True)
    assert (pages[-1].last_row, pages[-1].total, pages[-1].capped) == (37, 37, False)


def test_leads_changing_between_pages_are_never_shown_twice_unless_they_moved(
    db: Database, crowd: list[int]
) -> None:
    """Engagement sorted, highest first: between pages readers gain engagement (moving up,
    past pages already shown), others drop, one is erased and new ones arrive. Every lead
    that did not change is shown exactly once and the walk still ends."""
    view = LeadFilter(sort=Sort.ENGAGEMENT)
    seen: list[int] = []
    changed: set[int] = set()
    with db.read() as session:
        shown = page(session, view, per_page=PER_PAGE)
    step = 0
    while True:
        seen.extend(lead.id for lead in shown.leads)
        if shown.next is None:
            break
        unseen = [lead_id for lead_id in crowd if lead_id not in seen and lead_id not in changed]
        with db.write() as session:
            if step % 3 == 0 and unseen:  # an unseen lead reads on: it moves to the top
                session.execute(update(Lead).where(Lead.id == unseen[-1]).values(engagement=9))
                changed.add(unseen[-1])
            if step % 3 == 1 and seen:  # a shown lead drops below the page being read
                session.execute(update(Lead).where(Lead.id == seen[0]).values(engagement=-1))
                changed.add(seen[0])
            if step % 3 == 2 and unseen:  # an unseen lead is erased
                session.execute(delete(Lead).where(Lead.id == unseen[0]))
                changed.add(unseen[0])
            session.add(Lead(email=f"new{step}@example.org", engagement=1.0))
        step += 1
        with db.read() as session:
            shown = page(session, replace(view, after=shown.next), per_page=PER_PAGE)
    assert changed
    assert step > 5
    unchanged = [lead_id for lead_id in crowd if lead_id not in changed]
    assert {lead_id: seen.count(lead_id) for lead_id in unchanged} == dict.fromkeys(unchanged, 1)


def test_an_old_page_number_opens_the_same_page_as_walking_there(
    db: Database, crowd: list[int]
) -> None:
    view = LeadFilter(sort=Sort.COMPANY, descending=True, grade=("B",))
    pages = walk(db, view)
    for number, walked in enumerate(pages, 1):
        with db.read() as session:
            opened = page(session, replace(view, page=number), per_page=PER_PAGE)
        assert [lead.id for lead in opened.leads] == [lead.id for lead in walked.leads]
        assert (opened.first_row, opened.page, opened.next) == (
            walked.first_row,
            walked.page,
            walked.next,
        )
        assert opened.view.page == 1  # the page says where it is by a cursor from now on
    with db.read() as session:
        beyond = page(session, replace(view, page=999), per_page=PER_PAGE)
    assert [lead.id for lead in beyond.leads] == [lead.id for lead in pages[-1].leads]


def test_a_link_past_the_end_of_a_list_that_shrank_shows_no_leads_and_no_next(
    db: Database, crowd: list[int]
) -> None:
    view = LeadFilter(sort=Sort.FIT)
    last = walk(db, view)[-1]
    assert last.next is None
    assert last.leads
    beyond = Cursor("fit", -5, 10**6, 38)
    with db.read() as session:
        found = page(session, replace(view, after=beyond), per_page=PER_PAGE)
    assert (found.leads, found.next, found.first_row, found.total) == ([], None, 0, 37)


def sort_indexes(db: Database) -> dict[str, list[str | None]]:
    found = inspect(db.engine).get_indexes("lead")
    return {
        index["name"]: index["column_names"]
        for index in found
        if index["name"]
        and index["name"].startswith(("ix_lead_created", "ix_lead_last", "ix_lead_fit"))
    }


def test_the_migration_indexes_every_sort_with_the_id_and_goes_back(
    db: Database, crowd: list[int]
) -> None:
    config = alembic_config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "07583d875eab-1")  # just before the sort indexes
    try:
        assert sort_indexes(db) == {
            "ix_lead_created_at": ["created_at"],
            "ix_lead_last_activity_at": ["last_activity_at"],
        }
        view = LeadFilter(sort=Sort.FIT)
        assert ids(walk(db, view)) == ordered_ids(db, view)  # right, if slower, without them
    finally:
        with db.write_connection() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    indexes = {
        index["name"]: index["column_names"] for index in inspect(db.engine).get_indexes("lead")
    }
    for column in LIST_SORT_COLUMNS:
        assert indexes[f"ix_lead_{column}_id"] == [column, "id"]
    assert "ix_lead_created_at" not in indexes
    assert "ix_lead_last_activity_at" not in indexes


# cursors in the URL


def test_cursors_round_trip_through_the_query_string(db: Database, crowd: list[int]) -> None:
    for sort, descending in SORTS:
        view = LeadFilter(sort=sort, descending=descending, grade=("A",))
        second = walk(db, view)[1]
        assert second.next is not None
        assert second.previous is not None
        for placed in (replace(view, after=second.next), replace(view, before=second.previous)):
            assert parse_filter(MultiDict(placed.query_items()), CHOICES) == placed


@pytest.mark.parametrize(
    "pairs",
    [
        [("after", "garbage!")],
        [("after", "WyJmaXQiLDEwLDEsMV0")],  # ["fit",10,1,1]: a cursor of another sort
        [("sort", "fit"), ("before", "WyJmaXQiLCJ0ZW4iLDEsMV0")],  # ["fit","ten",1,1]
        [("sort", "fit"), ("after", "WyJmaXQiLDEwLDAsMV0")],  # ["fit",10,0,1]: no such id
        [("sort", "fit"), ("after", "WyJmaXQiLDEwLDEsMV0"), ("before", "WyJmaXQiLDEwLDEsMV0")],
        [("sort", "created"), ("after", "WyJjcmVhdGVkIiwiMjAyNi0wMS0wMSIsMSwxXQ")],  # naive
        [("sort", "engagement"), ("after", "WyJlbmdhZ2VtZW50IixJbmZpbml0eSwxLDFd")],  # infinity
        [("after", "x" * 5000)],
    ],
)
def test_a_cursor_that_cannot_be_read_is_refused_and_the_rest_of_the_view_kept(
    pairs: list[tuple[str, str]],
) -> None:
    with pytest.raises(BadCursor) as refused:
        parse_filter(MultiDict([("grade", "A"), *pairs]), CHOICES)
    assert str(refused.value) == CURSOR_REFUSED
    assert refused.value.view.grade == ("A",)
    assert (refused.value.view.after, refused.value.view.before) == (None, None)
