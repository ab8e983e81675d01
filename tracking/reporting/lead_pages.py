"""The lead list's pages, cut by cursors (keyset pagination).

The next page starts after the last lead shown in the sort order (``lead_cursor``), read from
that sort's ``(column, id)`` index, so a deep page costs what the first does. An old
``page=N`` link still opens page N (its first lead found by counting index entries once, then
the same cursors). The count of matching leads stops at ``COUNT_CAP``; the row numbers come
with the cursors, kept within what the count knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_
from sqlalchemy.orm import Session, defer

from tracking.models import Lead
from tracking.reporting.lead_cursor import MAX_ROW, Cursor
from tracking.reporting.leadlist import (
    COUNT_CAP,
    PER_PAGE,
    SORT_COLUMNS,
    LeadFilter,
    Sort,
    narrowed,
)
from tracking.sources.lead_sources import LeadSources, sources_of


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _ordered(query: Select[Any], view: LeadFilter, backward: bool = False) -> Select[Any]:
    column = SORT_COLUMNS[view.sort]
    if view.descending != backward:
        return query.order_by(column.desc(), Lead.id.desc())
    return query.order_by(column.asc(), Lead.id.asc())


def _beyond(view: LeadFilter, cursor: Cursor, backward: bool = False) -> ColumnElement[bool]:
    """The leads after ``cursor`` in the view's order (before it when ``backward``): one
    range of the sort's ``(column, id)`` index."""
    column = SORT_COLUMNS[view.sort]
    pair = tuple_(column, Lead.id)
    place = tuple_(literal(cursor.value, column.type), literal(cursor.lead_id, Lead.id.type))
    return pair < place if view.descending != backward else pair > place


@dataclass(frozen=True, slots=True)
class LeadPage:
    leads: list[Lead]
    total: int
    """Matching leads, counted up to ``COUNT_CAP`` (``capped`` says when there are more)."""
    capped: bool
    first_row: int
    """The first shown lead's row number in the list (0 when none is shown)."""
    per_page: int = PER_PAGE
    view: LeadFilter = field(default_factory=LeadFilter)
    """The view as shown; its ``after`` or ``before`` is this page's place (its address)."""
    sources: dict[int, LeadSources] = field(default_factory=dict)
    """Each shown lead's first and latest visit."""
    previous: Cursor | None = None
    """The first lead shown, when leads come before it (the "Previous" link's ``before``)."""
    next: Cursor | None = None
    """The last lead shown, when leads follow it (the "Next" link's ``after``)."""

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.leads) - 1 if self.leads else 0

    @property
    def page(self) -> int:
        return (self.first_row - 1) // self.per_page + 1 if self.first_row else 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page), self.page)


def count(session: Session, view: LeadFilter, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many leads match, counted up to ``cap`` + 1 so a huge list stays cheap."""
    matching = narrowed(select(Lead.id), view).limit(cap + 1).subquery()
    found = session.scalar(select(func.count()).select_from(matching)) or 0
    return min(found, cap), found > cap


def _page_query(view: LeadFilter, dialect: str, capped: bool, *columns: Any) -> Select[Any]:
    """The matching leads (or ``columns`` of them); the list never shows a lead's journey
    state or milestones, the widest columns, so they are not read."""
    query = (
        select(*columns)
        if columns
        else select(Lead).options(
            defer(Lead.journey, raiseload=True), defer(Lead.milestones, raiseload=True)
        )
    )
    if view.q and dialect == "sqlite" and not capped:
        # SQLite cannot tell how many leads a search matches, so it walks the sort order
        # until a page is full: through every lead when few or none match. The count says
        # they are few, so it collects them through the search column's index first.
        return query.where(Lead.id.in_(narrowed(select(Lead.id), view)))
    return narrowed(query, view)


def page(session: Session, view: LeadFilter, per_page: int = PER_PAGE) -> LeadPage:
    """One page of the matching leads in the chosen order: the first, the one after
    ``view.after``, the one before ``view.before``, or (an old link) page ``view.page``."""
    total, capped = count(session, view)
    dialect = _dialect(session)
    if view.after is None and view.before is None and view.page > 1:
        view = _from_number(session, view, per_page, total, capped)
    base = _page_query(view, dialect, capped)
    if view.before is not None:
        leads, earlier = _read(session, base, view, per_page, view.before, backward=True)
        if earlier:
            first_row = view.before.row - len(leads)
            counted, around = (total, capped), (True, True)
            return _shown(session, view, leads, counted, first_row, around, per_page)
        view = view.whole  # nothing comes before them: that is the first page
    leads, later = _read(session, base, view, per_page, view.after)
    first_row = view.after.row + 1 if view.after else 1
    around = (view.after is not None, later)
    return _shown(session, view, leads, (total, capped), first_row, around, per_page)


def _read(
    session: Session,
    base: Select[Any],
    view: LeadFilter,
    per_page: int,
    cursor: Cursor | None,
    backward: bool = False,
) -> tuple[list[Lead], bool]:
    """A page of leads from ``cursor`` on (back from it when ``backward``), in the view's
    order, and whether more follow in the direction read."""
    query = base if cursor is None else base.where(_beyond(view, cursor, backward))
    leads = list(session.scalars(_ordered(query, view, backward).limit(per_page + 1)))
    more = len(leads) > per_page
    del leads[per_page:]
    return (leads[::-1] if backward else leads), more


def _shown(
    session: Session,
    view: LeadFilter,
    leads: list[Lead],
    counted: tuple[int, bool],
    first_row: int,
    around: tuple[bool, bool],
    per_page: int,
) -> LeadPage:
    """The page with its row numbers kept within what the count knows, and the cursors of
    the pages around it (``around``: whether leads come before and after these)."""
    (total, capped), (earlier, later) = counted, around
    if not leads:  # a link past the end of a list that shrank since
        return LeadPage([], total, capped, 0, per_page, view)
    first_row = _row_of_first(first_row, len(leads), counted, around)
    last_row = first_row + len(leads) - 1
    if capped and last_row >= total:  # past the count: this far at least, all when at the end
        total, capped = last_row, later
    sort = view.sort.value
    return LeadPage(
        leads,
        total,
        capped,
        first_row,
        per_page,
        view,
        sources_of(session, leads),
        previous=_cursor_of(leads[0], sort, first_row) if earlier else None,
        next=_cursor_of(leads[-1], sort, last_row) if later else None,
    )


def _row_of_first(
    carried: int, shown: int, counted: tuple[int, bool], around: tuple[bool, bool]
) -> int:
    """The first lead's row number: the cursor's (leads may have moved since it was made),
    but on a counted list never past its end, and exact on the last page."""
    (total, capped), (earlier, later) = counted, around
    if not earlier:
        return 1
    if not capped:
        last_start = total - shown + (0 if later else 1)
        carried = min(carried, last_start) if later else last_start
    return max(carried, 2)


def _cursor_of(lead: Lead, sort: str, row: int) -> Cursor:
    value = getattr(lead, SORT_COLUMNS[Sort(sort)].key)
    return Cursor(sort, value, lead.id, row)


def _from_number(
    session: Session, view: LeadFilter, per_page: int, total: int, capped: bool
) -> LeadFilter:
    """An old ``page=N`` link as a cursor: the lead just before page N, found by counting the
    sort index's entries once (past the end of the list: its last page)."""
    pages = max(1, -(-total // per_page))
    number = view.page if capped else min(view.page, pages)
    place = _place(session, view, (number - 1) * per_page, capped)
    if place is None and capped:  # past the end of a list longer than the count goes
        total, _ = count(session, view, cap=MAX_ROW)
        number = min(view.page, max(1, -(-total // per_page)))
        place = _place(session, view, (number - 1) * per_page, capped)
    return replace(view.whole, after=place)


def _place(session: Session, view: LeadFilter, row: int, capped: bool) -> Cursor | None:
    """The cursor of the lead at ``row`` in the view's order (None before the first)."""
    if row < 1:
        return None
    column = SORT_COLUMNS[view.sort]
    query = _page_query(view, _dialect(session), capped, column, Lead.id)
    found = session.execute(_ordered(query, view).offset(row - 1).limit(1)).first()
    return Cursor(view.sort.value, found[0], found[1], row) if found else None
