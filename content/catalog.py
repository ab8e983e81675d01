"""What prospects see: live assets, faceted browsing and search, home sections, related assets.

Every view may be for a reader of one language (``reader``): then it shows one version of each
piece (``content.translations``: the one in the reader's language, else the original) and
lists the reader's language first; topics are named in that language. A view that picks a
language (``?language=en``) shows every asset in it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, selectinload

from content.facets import LIBRARY_ORDER, Shelf, count_view
from content.models import (
    KIND_LABELS,
    LANGUAGES,
    Asset,
    AssetSlug,
    ContentChange,
    Kind,
    Status,
    Topic,
    asset_topic,
)
from content.search.query import Found, SearchFilters
from content.taxonomy import DEFAULT_STAGES, STAGE_LABELS
from content.translations import shown_in

PER_PAGE = 12
FACETS = ("kind", "stage", "topic", "language")
Search = Callable[[str, SearchFilters | None], Found]
"""What the library asks of the search index: every live asset found, best first
(``SearchIndex.rank``); snippets are made for the page shown only."""


@dataclass(frozen=True, slots=True)
class BrowseQuery:
    """A library view: what the URL's query string asks for."""

    q: str = ""
    kind: str | None = None
    stage: str | None = None
    topic: str | None = None
    language: str | None = None
    page: int = 1
    reader: str | None = None
    """The reader's language (the page's, not part of the URL): one version of each piece, the
    reader's language first, topics named in it. None: every asset, as stored."""

    def url(self, **changes: Any) -> str:
        """The /library URL for this view with some parameters changed (page resets to 1)."""
        changed = replace(self, **({"page": 1} | changes))
        params = [
            (name, str(getattr(changed, name)))
            for name in ("q", *FACETS, "page")
            if getattr(changed, name) not in (None, "", 1)
        ]
        return "/library" + (f"?{urlencode(params)}" if params else "")


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(slots=True)
class BrowseResult:
    query: BrowseQuery
    items: list[Asset]
    total: int
    pages: int
    facets: dict[str, list[FacetValue]]
    snippets: dict[int, str] = field(default_factory=dict)
    suggestion: str | None = None


def live() -> ColumnElement[bool]:
    return Asset.status == Status.PUBLISHED.value


def _for_reader(session: Session, reader: str | None) -> list[ColumnElement[bool]]:
    """The condition that keeps one version of each piece for a reader of ``reader``."""
    return [shown_in(session, reader)] if reader else []


def _newest(reader: str | None) -> tuple[Any, ...]:
    """The library's order: the reader's language first, featured, then newest."""
    first = (case((Asset.language == reader, 0), else_=1),) if reader else ()
    return (*first, *LIBRARY_ORDER)


@dataclass(frozen=True, slots=True)
class BrowsePage:
    """Everything about a library view except the loaded assets: what the cache keeps."""

    query: BrowseQuery
    page_ids: list[int]
    total: int
    pages: int
    facets: dict[str, list[FacetValue]]
    snippets: dict[int, str]
    suggestion: str | None


def browse(session: Session, query: BrowseQuery, search: Search | None = None) -> BrowseResult:
    """One page of live assets matching the query, with facet counts and search snippets."""
    return _with_cards(session, browse_page(session, query, search))


def _with_cards(session: Session, page: BrowsePage) -> BrowseResult:
    return BrowseResult(
        query=page.query,
        items=load_cards(session, page.page_ids),
        total=page.total,
        pages=page.pages,
        facets=page.facets,
        snippets={i: s for i, s in page.snippets.items() if i in page.page_ids},
        suggestion=page.suggestion,
    )


def browse_page(
    session: Session,
    query: BrowseQuery,
    search: Search | None = None,
    shelf: Shelf | None = None,
    version: int | None = None,
) -> BrowsePage:
    """The ids, counts and facets of a library view (the expensive part of ``browse``).

    Counted in memory from ``shelf``'s rows at content ``version`` (a fresh read of every
    asset without a shelf); a search contributes its ranking and the page's snippets only.
    """
    head = content_version(session) if version is None else version
    snapshot = (shelf or Shelf()).snapshot(session, head)
    ranking: list[int] | None = None
    found: Found | None = None
    suggestion = None
    if query.q.strip() and search is not None:
        found = search(query.q, None)
        ranking = list(found.asset_ids)
        suggestion = found.suggestion
        # A piece found in any language, in theirs (repeats are counted once by count_view).
        if query.reader and not query.language and snapshot.has_translations:
            ranking = snapshot.with_versions(ranking)
    topics = _topics(session)
    slugs = {slug: topic_id for topic_id, (slug, _, _) in topics.items()}
    chosen = {name: getattr(query, name) for name in FACETS if getattr(query, name)}
    by_value = {n: (slugs.get(v, -1) if n == "topic" else v) for n, v in chosen.items()}
    # A picked language shows all of it; else one version of each piece for the reader. The
    # language filter's own counts are what picking each language would show.
    reader = query.reader if not query.language else None
    view = count_view(snapshot, by_value, reader, query.reader, ranking, FACETS)
    facets = {
        name: _facet_values(name, view.counts[name], chosen.get(name), query.reader, topics)
        for name in FACETS
    }
    total = view.total
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, query.page), pages)
    page_ids = view.ids((page - 1) * PER_PAGE, page * PER_PAGE)
    return BrowsePage(
        query=replace(query, page=page),
        page_ids=page_ids,
        total=total,
        pages=pages,
        facets=facets,
        snippets=found.snippets(page_ids) if found is not None else {},
        suggestion=suggestion,
    )


def content_version(session: Session) -> int:
    """The head of the content change log: any change that can alter a page moves it."""
    return session.scalar(select(func.max(ContentChange.seq))) or 0


class CatalogCache:
    """Library views and home sections by query, valid while the content version is unchanged.

    Publishing, editing, unpublishing and scheduled publication all append to
    the change log, so a new version makes every entry stale at once. Holds
    ids and counts only; the few assets a page shows are loaded per request.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._entries: OrderedDict[object, tuple[object, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.shelf = Shelf()
        """The assets' rows the views are counted from, kept up to the change log."""

    def browse(
        self,
        session: Session,
        query: BrowseQuery,
        search: Search | None,
        search_version: int = 0,
    ) -> BrowseResult:
        """``search_version`` is the index's position; search results go stale when it moves."""
        version = (content_version(session), search_version if query.q.strip() else 0)
        page = self._get(query, version)
        if page is None:
            page = browse_page(session, query, search, self.shelf, version[0])
            self._put(query, version, page)
        return _with_cards(session, page)

    def home(self, session: Session, reader: str | None = None) -> HomeSections:
        version = content_version(session)
        ids = self._get(("home", reader), version)
        if ids is None:
            ids = home_ids(session, reader=reader, shelf=self.shelf, version=version)
            self._put(("home", reader), version, ids)
        return _home_with_cards(session, ids)

    def _get(self, key: object, version: object) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def _put(self, key: object, version: object, value: Any) -> None:
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def load_cards(session: Session, ids: Sequence[int]) -> list[Asset]:
    """Assets with what a card shows, in the order of ``ids``."""
    if not ids:
        return []
    rows = session.scalars(
        select(Asset).where(Asset.id.in_(ids)).options(selectinload(Asset.topics))
    ).all()
    by_id = {asset.id: asset for asset in rows}
    return [by_id[i] for i in ids if i in by_id]


def _topics(session: Session) -> dict[int, tuple[str, str, dict[str, str] | None]]:
    """Every topic: id → (slug, label, labels per language)."""
    rows = session.execute(select(Topic.id, Topic.slug, Topic.label, Topic.labels))
    return {topic_id: (slug, label, labels) for topic_id, slug, label, labels in rows}


def _facet_values(
    name: str,
    counts: Mapping[str | int, int],
    selected: str | None,
    reader: str | None,
    topics: Mapping[int, tuple[str, str, dict[str, str] | None]],
) -> list[FacetValue]:
    """A facet's values with their counts, in the facet's order (topics: most assets first)."""
    if name == "topic":
        rows = [
            (slug, (labels or {}).get(reader or "") or label, counts[topic_id])
            for topic_id, (slug, label, labels) in topics.items()
            if counts.get(topic_id)
        ]
        rows.sort(key=lambda row: (-row[2], row[1].lower()))
    else:
        named = {str(value): count for value, count in counts.items() if count}
        rows = [(v, _label(name, v), named[v]) for v in _order(name) if v in named]
        rows += [(v, v, c) for v, c in named.items() if v not in _order(name)]
    values = [FacetValue(value, label, count, value == selected) for value, label, count in rows]
    if selected and not any(v.selected for v in values):
        values.append(FacetValue(selected, _label(name, selected), 0, True))
    return values


def _order(name: str) -> list[str]:
    if name == "kind":
        return [k.value for k in Kind]
    if name == "stage":
        return [s.name for s in DEFAULT_STAGES]
    return list(LANGUAGES)


def _label(name: str, value: str) -> str:
    if name == "kind":
        return KIND_LABELS.get(Kind(value), value) if value in Kind.__members__.values() else value
    if name == "stage":
        return STAGE_LABELS.get(value, value)
    if name == "language":
        return LANGUAGES.get(value, value)
    return value


def find_live(session: Session, slug: str) -> Asset | None:
    return session.scalar(
        select(Asset)
        .where(Asset.slug == slug, live())
        .options(selectinload(Asset.topics), selectinload(Asset.personas))
    )


def current_slug(session: Session, old_slug: str) -> str | None:
    """The present slug of an asset that used to be at ``old_slug``."""
    return session.scalar(
        select(Asset.slug)
        .join(AssetSlug, AssetSlug.asset_id == Asset.id)
        .where(AssetSlug.slug == old_slug)
    )


def related(
    session: Session, asset: Asset, limit: int = 3, reader: str | None = None
) -> list[Asset]:
    """Live assets sharing the most topics with ``asset``, newest first among equals; for a
    ``reader``, one version of each piece, theirs first; never a version of ``asset`` itself
    (its page links its translations on its own)."""
    topic_ids = [t.id for t in asset.topics]
    if not topic_ids:
        return []
    piece = asset.translation_of_id or asset.id
    overlap = func.count(asset_topic.c.topic_id).label("overlap")
    first = (case((Asset.language == reader, 0), else_=1),) if reader else ()
    ranked = (
        select(Asset.id)
        .join(asset_topic, asset_topic.c.asset_id == Asset.id)
        .where(
            live(),
            Asset.id != piece,
            (Asset.translation_of_id.is_(None)) | (Asset.translation_of_id != piece),
            asset_topic.c.topic_id.in_(topic_ids),
            *_for_reader(session, reader),
        )
        .group_by(Asset.id, Asset.published_at, Asset.language)
        .order_by(overlap.desc(), *first, Asset.published_at.desc())
        .limit(limit)
    )
    return load_cards(session, list(session.scalars(ranked)))


@dataclass(slots=True)
class HomeSections:
    featured: list[Asset]
    by_stage: list[tuple[str, str, list[Asset]]]
    topics: list[FacetValue]


@dataclass(frozen=True, slots=True)
class HomeIds:
    featured: list[int]
    by_stage: list[tuple[str, str, list[int]]]
    topics: list[FacetValue]


def home_sections(session: Session, per_stage: int = 3, reader: str | None = None) -> HomeSections:
    """What the home page shows: featured picks, the newest per stage, and topics by size."""
    return _home_with_cards(session, home_ids(session, per_stage, reader))


def _home_with_cards(session: Session, ids: HomeIds) -> HomeSections:
    return HomeSections(
        load_cards(session, ids.featured),
        [(name, label, load_cards(session, stage_ids)) for name, label, stage_ids in ids.by_stage],
        ids.topics,
    )


def home_ids(
    session: Session,
    per_stage: int = 3,
    reader: str | None = None,
    shelf: Shelf | None = None,
    version: int | None = None,
) -> HomeIds:
    shown = [live(), *_for_reader(session, reader)]
    featured_ids = list(
        session.scalars(select(Asset.id).where(*shown).order_by(*_newest(reader)).limit(6))
    )
    first = (case((Asset.language == reader, 0), else_=1),) if reader else ()
    by_stage = []
    for stage in DEFAULT_STAGES:
        ids = list(
            session.scalars(
                select(Asset.id)
                .where(*shown, Asset.stage == stage.name)
                .order_by(*first, Asset.published_at.desc(), Asset.id.desc())
                .limit(per_stage)
            )
        )
        if ids:
            by_stage.append((stage.name, stage.label, ids))
    head = content_version(session) if version is None else version
    snapshot = (shelf or Shelf()).snapshot(session, head)
    counts = count_view(snapshot, {}, reader, reader, None, ["topic"]).counts["topic"]
    topics = _facet_values("topic", counts, None, reader, _topics(session))[:8]
    return HomeIds(featured_ids, by_stage, topics)
