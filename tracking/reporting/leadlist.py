"""The console's lead list: filters, search, sorting, pages, and the full CSV export.

Everything filters on the lead row's stored verdicts (stage, grade, category,
lifecycle, fit, engagement as of its last evaluation), which ingestion and the
background task keep current, so a page is one indexed query however many
events there are. The list shows the same stored values it filters on.

Its pages (``lead_pages``) are cut by cursors (``lead_cursor``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.orm import Session, defer

from content.models import Topic, asset_topic
from content.orm import start_of
from content.words import N_, Said
from tracking.folding import fold
from tracking.models import AssetEngagement, Lead, ProfileFact, StalledLead
from tracking.reporting.lead_cursor import (
    Cursor,
    CursorRefused,
    SortValue,
    read_cursor,
)
from tracking.sources.arrivals import Channel
from tracking.sources.lead_sources import LeadSources, sources_of
from tracking.sources.models import Visit

PER_PAGE = 50
COUNT_CAP = 10_000
EXPORT_CHUNK = 2_000


class Sort(StrEnum):
    LAST_ACTIVITY = "last_activity"
    CREATED = "created"
    FIT = "fit"
    ENGAGEMENT = "engagement"
    EMAIL = "email"
    NAME = "name"
    COMPANY = "company"


SORT_COLUMNS = {
    Sort.LAST_ACTIVITY: Lead.last_activity_at,
    Sort.CREATED: Lead.created_at,
    Sort.FIT: Lead.fit_score,
    Sort.ENGAGEMENT: Lead.engagement,
    Sort.EMAIL: Lead.email,
    Sort.NAME: Lead.name,
    Sort.COMPANY: Lead.company,
}
DESCENDING_FIRST = {Sort.LAST_ACTIVITY, Sort.CREATED, Sort.FIT, Sort.ENGAGEMENT}
SORT_KINDS: dict[Sort, type[SortValue]] = {
    Sort.LAST_ACTIVITY: datetime,
    Sort.CREATED: datetime,
    Sort.FIT: int,
    Sort.ENGAGEMENT: float,
    Sort.EMAIL: str,
    Sort.NAME: str,
    Sort.COMPANY: str,
}
"""What a cursor of each sort holds (every sort column is NOT NULL, so a plain comparison
of ``(value, id)`` pairs seeks correctly)."""


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """One view of the lead list; every field round-trips through the URL's query string."""

    q: str = ""
    stage: tuple[str, ...] = ()
    lifecycle: tuple[str, ...] = ()
    grade: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    topic: str = ""
    fit_min: int | None = None
    fit_max: int | None = None
    engagement_min: float | None = None
    engagement_max: float | None = None
    active_from: date | None = None
    active_to: date | None = None
    created_from: date | None = None
    created_to: date | None = None
    channel: tuple[str, ...] = ()
    """The original source's channel (``search``, ``social`` …)."""
    source: str = ""
    """The original source (``linkedin``)."""
    campaign: str = ""
    """The original source's campaign."""
    stalled: str = ""
    """Stalled in a cell of the gap matrix: ``topic:consideration:energy`` (dimension, stage,
    topic or persona), as Console → Content intelligence links it."""
    sort: Sort = Sort.LAST_ACTIVITY
    descending: bool = True
    page: int = 1
    """A page number, as links made before cursors named pages (``page=N``)."""
    after: Cursor | None = None
    """The page starts after this lead (the "Next" link)."""
    before: Cursor | None = None
    """The page ends before this lead (the "Previous" link)."""

    def query_items(self, **changes: Any) -> list[tuple[str, str]]:
        """The filter as query-string pairs (defaults left out), with ``changes`` applied."""
        view = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        for item in fields(view):
            value = getattr(view, item.name)
            if item.name == "descending":
                if value != (view.sort in DESCENDING_FIRST):  # not the sort's natural direction
                    pairs.append(("order", "desc" if value else "asc"))
                continue
            if value == item.default or value in ((), "", None):
                continue
            if isinstance(value, tuple):
                pairs.extend((item.name, str(v)) for v in value)
            else:
                pairs.append((item.name, str(value)))
        return pairs

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (search or a filter)."""
        unsorted = replace(self, sort=Sort.LAST_ACTIVITY, descending=True, page=1)
        return replace(unsorted, after=None, before=None) != LeadFilter()

    @property
    def whole(self) -> LeadFilter:
        """The same view from its first page (what a filter, the export or a sort links to)."""
        return replace(self, page=1, after=None, before=None)


class BadFilter(ValueError):
    """A filter value that cannot be understood; the message names it (``said``: the same
    marked for translation, its field's label a ``Said`` too)."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


class BadCursor(BadFilter):
    """A page link's cursor that cannot be read (cut short, altered, or of another sort
    order); ``view`` is the rest of the link's view, from its first page."""

    def __init__(self, view: LeadFilter) -> None:
        super().__init__(Said(CURSOR_REFUSED))
        self.view = view


CURSOR_REFUSED = N_(
    "This page link is not valid (cut short, altered, or made for another sort order): "
    "the list starts again at its first page"
)


RANGE_LABELS = {
    "fit_min": N_("Fit score from"),
    "fit_max": N_("Fit score to"),
    "engagement_min": N_("Engagement from"),
    "engagement_max": N_("Engagement to"),
    "active_from": N_("Last active from"),
    "active_to": N_("Last active to"),
    "created_from": N_("First seen from"),
    "created_to": N_("First seen to"),
    "page": N_("Page"),
}
"""What the lead list's filter form calls each range field, for the messages about them."""

UNKNOWN_VALUE = {
    "stage": N_("unknown stage '%(value)s'"),
    "lifecycle": N_("unknown lifecycle '%(value)s'"),
    "grade": N_("unknown grade '%(value)s'"),
    "category": N_("unknown category '%(value)s'"),
}


def _number(name: str, raw: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise BadFilter(
            Said(
                N_("%(field)s must be a number, not '%(value)s'"),
                field=Said(RANGE_LABELS[name]),
                value=raw[:40],
            )
        ) from None


def _day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(
            Said(N_("%(field)s must be a date (YYYY-MM-DD)"), field=Said(RANGE_LABELS[name]))
        ) from None


STALLED_CELL = re.compile(r"(topic|persona):[\w-]{1,40}:[\w-]{1,80}")
"""A cell of the gap matrix as the lead list's ``stalled`` filter names it."""


def parse_filter(params: Any, choices: Mapping[str, Sequence[str]]) -> LeadFilter:
    """A ``LeadFilter`` from query parameters (a multi-dict); ``choices`` lists the values
    allowed for stage, lifecycle, grade and category. Unknown values raise ``BadFilter``."""
    values: dict[str, Any] = {"q": (params.get("q") or "").strip()[:200]}
    for name in ("stage", "lifecycle", "grade", "category"):
        picked = tuple(v for v in params.getall(name, []) if v)
        wrong = [v for v in picked if v not in choices[name]]
        if wrong:
            raise BadFilter(Said(UNKNOWN_VALUE[name], value=wrong[0][:40]))
        values[name] = picked
    values["topic"] = (params.get("topic") or "").strip()[:80]
    values["stalled"] = (params.get("stalled") or "").strip()[:140]
    if values["stalled"] and not STALLED_CELL.fullmatch(values["stalled"]):
        raise BadFilter(
            Said(N_("unknown gap matrix cell '%(value)s'"), value=values["stalled"][:40])
        )
    values["channel"] = tuple(v for v in params.getall("channel", []) if v)
    wrong = [v for v in values["channel"] if v not in Channel.__members__.values()]
    if wrong:
        raise BadFilter(Said(N_("unknown channel '%(value)s'"), value=wrong[0][:40]))
    for name in ("source", "campaign"):  # stored in lower case
        values[name] = " ".join((params.get(name) or "").split()).lower()[:200]
    for name, kind in (
        ("fit_min", int),
        ("fit_max", int),
        ("engagement_min", float),
        ("engagement_max", float),
    ):
        raw = (params.get(name) or "").strip()
        values[name] = _number(name, raw, kind) if raw else None
    for name in ("active_from", "active_to", "created_from", "created_to"):
        raw = (params.get(name) or "").strip()
        values[name] = _day(name, raw) if raw else None
    sort = params.get("sort") or Sort.LAST_ACTIVITY.value
    if sort not in Sort.__members__.values():
        raise BadFilter(Said(N_("cannot sort by '%(value)s'"), value=sort[:40]))
    values["sort"] = Sort(sort)
    order = params.get("order")
    values["descending"] = order != "asc" if order else Sort(sort) in DESCENDING_FIRST
    page = (params.get("page") or "1").strip()
    values["page"] = max(1, min(_number("page", page, int), 100_000))
    view = LeadFilter(**values)
    after, before = ((params.get(name) or "").strip() for name in ("after", "before"))
    if after and before:
        raise BadCursor(view)
    try:
        return replace(view, after=_cursor(after, view.sort), before=_cursor(before, view.sort))
    except CursorRefused:
        raise BadCursor(view) from None


def _cursor(token: str, sort: Sort) -> Cursor | None:
    return read_cursor(token, sort.value, SORT_KINDS[sort]) if token else None


def narrowed(query: Select[Any], view: LeadFilter) -> Select[Any]:
    """``query`` (over leads) narrowed to the leads the view's filters and search match."""
    for column, picked in (
        (Lead.journey_stage, view.stage),
        (Lead.lifecycle, view.lifecycle),
        (Lead.grade, view.grade),
        (Lead.category, view.category),
    ):
        if picked:
            query = query.where(column.in_(picked))
    ranges: tuple[tuple[Any, Any, Any], ...] = (
        (Lead.fit_score, view.fit_min, view.fit_max),
        (Lead.engagement, view.engagement_min, view.engagement_max),
    )
    for column, low, high in ranges:
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column <= high)
    spans: tuple[tuple[Any, date | None, date | None], ...] = (
        (Lead.last_activity_at, view.active_from, view.active_to),
        (Lead.created_at, view.created_from, view.created_to),
    )
    for column, first, last in spans:
        if first is not None:
            query = query.where(column >= start_of(first))
        if last is not None:
            query = query.where(column < start_of(last + timedelta(days=1)))
    if view.q:
        query = query.where(_matches(fold(view.q)))
    origin = _origin(view)
    if origin:
        query = query.where(Lead.first_visit_id.in_(select(Visit.id).where(*origin)))
    return _reading(query, view)


def _reading(query: Select[Any], view: LeadFilter) -> Select[Any]:
    """What the lead read: a topic, or the gap-matrix cell it stalls in."""
    if view.topic:
        query = query.where(
            exists(
                select(1)
                .select_from(AssetEngagement)
                .join(asset_topic, asset_topic.c.asset_id == AssetEngagement.asset_id)
                .join(Topic, Topic.id == asset_topic.c.topic_id)
                .where(AssetEngagement.lead_id == Lead.id, Topic.slug == view.topic)
            )
        )
    if view.stalled:
        dimension, stage, key = view.stalled.split(":", 2)
        query = query.where(
            Lead.id.in_(
                select(StalledLead.lead_id).where(
                    StalledLead.dimension == dimension,
                    StalledLead.stage == stage,
                    StalledLead.key == key,
                )
            )
        )
    return query


def _origin(view: LeadFilter) -> list[ColumnElement[bool]]:
    """What the lead's first visit must be (channel, source, campaign)."""
    found: list[ColumnElement[bool]] = []
    if view.channel:
        found.append(Visit.channel.in_(view.channel))
    if view.source:
        found.append(Visit.source == view.source)
    if view.campaign:
        found.append(Visit.campaign == view.campaign)
    return found


def _matches(folded: str) -> ColumnElement[bool]:
    """The lead's folded email, name or company contains ``folded`` (a folded query). On
    PostgreSQL a GIN trigram index serves the LIKE; on SQLite it scans the column's index."""
    return Lead.search_text.like(f"%{_escape_like(folded)}%", escape="\\")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


EXPORT_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "phone",
    "industry",
    "company_size",
    "budget",
    "authority",
    "need",
    "timeframe",
    "project",
)
SOURCE_FIELDS = (
    "at",
    "channel",
    "source",
    "medium",
    "campaign",
    "term",
    "content",
    "referrer",
    "click_id",
    "landing",
)
"""The columns of the lead's first and latest visit (``first_source``, ``latest_campaign`` …)."""
EXPORT_HEADER = (
    "id",
    "email",
    *EXPORT_FIELDS,
    "journey_stage",
    "stage_confidence",
    "fit_score",
    "engagement_score",
    "grade",
    "category",
    "lifecycle",
    "marketing_consent",
    "consent_status",
    "first_seen",
    "last_activity",
    *(f"{side}_{name}" for side in ("first", "latest") for name in SOURCE_FIELDS),
)


def export_rows(
    session_factory: Any, view: LeadFilter, chunk: int = EXPORT_CHUNK
) -> Iterator[list[str]]:
    """Every matching lead as CSV cells, oldest first, read in chunks (each its own short read
    transaction, so a long download never holds the database)."""
    yield list(EXPORT_HEADER)
    last_id = 0
    while True:
        with session_factory() as session:
            leads = list(
                session.scalars(
                    narrowed(select(Lead), view)
                    .options(defer(Lead.journey), defer(Lead.milestones))  # not exported
                    .where(Lead.id > last_id)
                    .order_by(Lead.id)
                    .limit(chunk)
                )
            )
            if not leads:
                return
            facts = _current_facts(session, [lead.id for lead in leads])
            sources = sources_of(session, leads)
        for lead in leads:
            row = [*_export_row(lead, facts.get(lead.id, {})), *_source_cells(sources[lead.id])]
            yield [safe_cell(value) for value in row]
        last_id = leads[-1].id


def _current_facts(session: Session, lead_ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    rows = session.execute(
        select(ProfileFact.lead_id, ProfileFact.field, ProfileFact.value).where(
            ProfileFact.lead_id.in_(lead_ids), ProfileFact.superseded_at.is_(None)
        )
    )
    for lead_id, name, value in rows:
        found.setdefault(lead_id, {})[name] = value
    return found


def _export_row(lead: Lead, facts: dict[str, str]) -> list[str]:
    return [
        str(lead.id),
        lead.email,
        *(facts.get(name, "") for name in EXPORT_FIELDS),
        lead.journey_stage,
        f"{lead.stage_confidence:.2f}",
        str(lead.fit_score),
        f"{lead.engagement:.1f}",
        lead.grade,
        lead.category,
        lead.lifecycle,
        "yes" if lead.marketing_consent else "no",
        lead.consent_status or "none",
        lead.created_at.isoformat(timespec="seconds"),
        lead.last_activity_at.isoformat(timespec="seconds"),
    ]


def _source_cells(sources: LeadSources) -> list[str]:
    cells: list[str] = []
    for visit in (sources.first, sources.latest):
        if visit is None:
            cells.extend("" for _ in SOURCE_FIELDS)
            continue
        cells.append(visit.started_at.isoformat(timespec="seconds"))
        cells.extend(str(getattr(visit, name)) for name in SOURCE_FIELDS[1:])
    return cells


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[\d\s().-]+")
"""Phone numbers and signed numbers: no formula can hide in them."""


def safe_cell(value: str) -> str:
    """A cell spreadsheet programs will not run as a formula (CSV injection); phone numbers
    such as "+49 30 1234" stay as they are."""
    if value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
