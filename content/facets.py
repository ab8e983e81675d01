"""Library views counted in memory: one row per asset, kept in step with the content change log.

A library view (``content.catalog.browse_page``) needs, for the live assets that match it: the
count per kind, stage, topic and language, the total, and one page in order. Asking the
database for that is four GROUP BYs over every live asset (plus the search hits as an IN list)
on every view; here the few columns those need are read once into a ``Snapshot`` and counted
in Python. A ``Shelf`` keeps the newest snapshot: when the change log has moved it reads only
the assets the new changes name (everything that can change a view logs a change: publishing,
editing, scheduled publication, relabelled topics), so it costs one small query per change,
not per view.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from operator import attrgetter

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Asset, ContentChange, Status, asset_topic
from content.translations import expand_versions, hidden_versions

FULL_READ_AFTER = 500
"""More changed assets than this since the last snapshot: read every asset again."""


@dataclass(frozen=True, slots=True)
class Row:
    """What a library view needs of one asset (any status)."""

    id: int
    live: bool
    kind: str
    stage: str
    language: str
    topics: tuple[int, ...]
    translation_of_id: int | None
    featured: bool
    published_at: datetime | None


class Snapshot:
    """Every asset's row at one position of the change log, and what is derived from them."""

    def __init__(self, seq: int, rows: Mapping[int, Row]) -> None:
        self.seq = seq
        self.rows = rows
        self.live = [row for row in rows.values() if row.live]
        self.live_rows = {row.id: row for row in self.live}
        self._by_root: dict[int, list[int]] = {}
        for row in sorted(self.live, key=lambda r: r.id):
            self._by_root.setdefault(row.translation_of_id or row.id, []).append(row.id)
        self._originals = {
            row.id: row.translation_of_id for row in rows.values() if row.translation_of_id
        }
        """Each translation's original (an asset not listed is an original itself)."""
        self._hidden: dict[str, frozenset[int]] = {}
        self._newest: dict[str | None, list[Row]] = {}

    def hidden(self, reader: str | None) -> frozenset[int]:
        """Live versions a reader of ``reader`` is not shown (``translations.shown_in``)."""
        if not reader:
            return frozenset()
        if reader not in self._hidden:
            versions = [(r.id, r.translation_of_id, r.language) for r in self.live]
            self._hidden[reader] = frozenset(hidden_versions(versions, reader))
        return self._hidden[reader]

    def newest(self, reader: str | None) -> list[Row]:
        """Live assets in the library's order: the reader's language first, featured, newest."""
        if reader not in self._newest:
            ordered = sorted(self.live, key=lambda r: (_time(r.published_at), r.id), reverse=True)
            ordered.sort(
                key=lambda r: (reader is not None and r.language != reader, not r.featured)
            )
            self._newest[reader] = ordered
        return self._newest[reader]

    def with_versions(self, ranked: Sequence[int]) -> list[int]:
        """``translations.with_versions`` from the rows at hand."""
        if not self._originals:  # nothing is translated: each piece has one version
            return list(dict.fromkeys(ranked))
        return expand_versions(ranked, self._originals, self._by_root)


def _time(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else float("-inf")


@dataclass(frozen=True, slots=True)
class View:
    """A library view counted: the matching ids in order, and each facet's counts."""

    ids: list[int]
    counts: dict[str, Counter[str | int]]


def count_view(
    snapshot: Snapshot,
    chosen: Mapping[str, str | int],
    reader: str | None,
    order_reader: str | None,
    ranking: Sequence[int] | None,
    facets: Iterable[str],
) -> View:
    """The live assets matching ``chosen`` (facet → value), shown to ``reader`` (one version of
    each piece; None: all), in ``ranking``'s order or else the library's order for
    ``order_reader``, and per facet the counts under every other choice (the language facet's
    without the one-version rule: what picking each language would show)."""
    if ranking is None:
        candidates = snapshot.newest(order_reader)
    else:
        candidates = list(filter(None, map(snapshot.live_rows.get, dict.fromkeys(ranking))))
    hidden = snapshot.hidden(reader)
    tests = {name: _test(name, value) for name, value in chosen.items()}
    counts: dict[str, Counter[str | int]] = {}
    for facet in facets:
        others = [test for name, test in tests.items() if name != facet]
        kept = _kept(candidates, hidden if facet != "language" else frozenset(), others)
        if facet == "topic":
            counts[facet] = Counter(chain.from_iterable(map(_TOPICS, kept)))
        else:
            counts[facet] = Counter(map(attrgetter(facet), kept))
    ids = [row.id for row in _kept(candidates, hidden, list(tests.values()))]
    return View(ids, counts)


_TOPICS = attrgetter("topics")


def _kept(rows: list[Row], hidden: frozenset[int], tests: list[Callable[[Row], bool]]) -> list[Row]:
    """``rows`` not hidden that pass every test (the common cases without a loop of tests)."""
    if hidden:
        rows = [row for row in rows if row.id not in hidden]
    for test in tests:
        rows = list(filter(test, rows))
    return rows


def _test(facet: str, value: str | int) -> Callable[[Row], bool]:
    if facet == "topic":
        return lambda row: value in row.topics
    get = attrgetter(facet)
    return lambda row: get(row) == value


class Shelf:
    """The newest ``Snapshot``, brought up to the change log's head when a view asks for it.

    Safe for many threads: a snapshot never changes; a newer one replaces it whole.
    """

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self, session: Session, head: int) -> Snapshot:
        """The rows as of change ``head`` (the content version ``session`` sees)."""
        current = self._snapshot
        if current is not None and current.seq == head:
            return current
        with self._lock:
            current = self._snapshot
            if current is not None and current.seq == head:
                return current
            fresh = _advance(session, current, head)
            if current is None or fresh.seq >= current.seq:
                self._snapshot = fresh
            return fresh


def _advance(session: Session, current: Snapshot | None, head: int) -> Snapshot:
    if current is not None and head > current.seq:
        changed = set(
            session.scalars(
                select(ContentChange.asset_id)
                .where(ContentChange.seq > current.seq, ContentChange.seq <= head)
                .limit(FULL_READ_AFTER + 1)
            )
        )
        if len(changed) <= FULL_READ_AFTER:
            rows = dict(current.rows)
            for asset_id in changed:
                rows.pop(asset_id, None)
            rows.update(read_rows(session, changed))
            return Snapshot(head, rows)
    return Snapshot(head, read_rows(session, None))


def read_rows(session: Session, asset_ids: Collection[int] | None) -> dict[int, Row]:
    """The rows of ``asset_ids`` (None: every asset) as the database holds them now."""
    assets = select(
        Asset.id,
        Asset.status,
        Asset.kind,
        Asset.stage,
        Asset.language,
        Asset.translation_of_id,
        Asset.featured,
        Asset.published_at,
    )
    topics = select(asset_topic.c.asset_id, asset_topic.c.topic_id)
    if asset_ids is not None:
        if not asset_ids:
            return {}
        assets = assets.where(Asset.id.in_(sorted(asset_ids)))
        topics = topics.where(asset_topic.c.asset_id.in_(sorted(asset_ids)))
    by_asset: dict[int, list[int]] = {}
    for asset_id, topic_id in session.execute(topics):
        by_asset.setdefault(asset_id, []).append(topic_id)
    live = Status.PUBLISHED.value
    return {
        asset_id: Row(
            asset_id,
            status == live,
            kind,
            stage,
            language,
            tuple(sorted(by_asset.get(asset_id, ()))),
            translation_of_id,
            bool(featured),
            published_at,
        )
        for asset_id, status, kind, stage, language, translation_of_id, featured, published_at in (
            session.execute(assets)
        )
    }
