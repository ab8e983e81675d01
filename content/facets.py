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
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Asset, ContentChange, Status, asset_topic
from content.translations import expand_versions, hidden_versions

FULL_READ_AFTER = 500
"""More changed assets than this since the last snapshot: read every asset again."""

LIBRARY_ORDER = (Asset.featured.desc(), Asset.published_at.desc(), Asset.id.desc())
"""The library's order (a reader's language goes first before it: ``Snapshot.newest``)."""

FACET_FIELDS = ("kind", "stage", "language", "topic")
_BINARY_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


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


class Snapshot:
    """Every asset's row at one position of the change log, and what is derived from them.

    Each live asset has a bit (its place in the library's order); a facet value is the set of
    its assets' bits, so a count is an AND of a few integers and a ``bit_count``.
    """

    def __init__(self, seq: int, rows: Mapping[int, Row], order: Sequence[int]) -> None:
        """``order``: the live assets' ids in ``LIBRARY_ORDER``."""
        self.seq = seq
        self.rows = rows
        self.live_rows = {i: rows[i] for i in order if i in rows and rows[i].live}
        self._position = {asset_id: n for n, asset_id in enumerate(self.live_rows)}
        self._places = [len(self._position)] * (max(rows, default=0) + 1)
        """``_position`` as a list by asset id (the place past the end: not live)."""
        for asset_id, place in self._position.items():
            self._places[asset_id] = place
        self.every = (1 << len(self._position)) - 1
        self.bits = _value_bits(list(self.live_rows.values()))
        self._by_root: dict[int, list[int]] = {}
        for asset_id in sorted(self.live_rows):
            row = self.live_rows[asset_id]
            self._by_root.setdefault(row.translation_of_id or row.id, []).append(row.id)
        self._originals = {
            row.id: row.translation_of_id for row in rows.values() if row.translation_of_id
        }
        """Each translation's original (an asset not listed is an original itself)."""
        self._shown: dict[str, int] = {}
        self._newest: dict[str | None, list[int]] = {}

    def shown(self, reader: str | None) -> int:
        """The live assets a reader of ``reader`` is shown (``translations.shown_in``)."""
        if reader is None:
            return self.every
        if reader not in self._shown:
            live = self.live_rows.values()
            hidden = hidden_versions(
                ((r.id, r.translation_of_id, r.language) for r in live), reader
            )
            self._shown[reader] = self.every & ~self.of(hidden)
        return self._shown[reader]

    def newest(self, reader: str | None) -> list[int]:
        """Live assets in the library's order, those in the reader's language first."""
        if reader not in self._newest:
            rows = self.live_rows.values()
            self._newest[reader] = [r.id for r in rows if r.language == reader] + [
                r.id for r in rows if r.language != reader
            ]
        return self._newest[reader]

    def of(self, asset_ids: Iterable[int]) -> int:
        """The bits of those ``asset_ids`` that are live."""
        size = len(self._position)
        ids = asset_ids if isinstance(asset_ids, list | tuple) else list(asset_ids)
        if not size or not ids:
            return 0
        # A byte per place (the one past the end for ids not live), set by C loops, then read
        # as the digits of a binary number (place 0 the lowest bit).
        found = bytearray(size + 1)
        try:
            deque(map(found.__setitem__, map(self._places.__getitem__, ids), repeat(1)), 0)
        except IndexError:  # an id newer than the rows (asset ids are never negative)
            found[:] = bytes(size + 1)
            places = map(self._position.get, ids, repeat(size))
            deque(map(found.__setitem__, places, repeat(1)), maxlen=0)
        del found[size]
        found.reverse()
        return int(found.translate(_BINARY_DIGITS), 2)

    def has(self, bits: int, asset_id: int) -> bool:
        place = self._position.get(asset_id)
        return place is not None and bool(bits >> place & 1)

    @property
    def has_translations(self) -> bool:
        """Whether any asset translates another (else ``with_versions`` only drops repeats)."""
        return bool(self._originals)

    def with_versions(self, ranked: Sequence[int]) -> list[int]:
        """``translations.with_versions`` from the rows at hand."""
        if not self._originals:  # nothing is translated: each piece has one version
            return list(dict.fromkeys(ranked))
        return expand_versions(ranked, self._originals, self._by_root)


def _value_bits(live: list[Row]) -> dict[str, dict[str | int, int]]:
    """Per facet, per value: the bits of the live assets (in this order) that have it."""
    size = (len(live) + 7) // 8
    found: dict[str, dict[str | int, bytearray]] = {facet: {} for facet in FACET_FIELDS}
    for place, row in enumerate(live):
        byte, bit = place >> 3, 1 << (place & 7)
        for facet, value in (("kind", row.kind), ("stage", row.stage), ("language", row.language)):
            values = found[facet]
            if value not in values:
                values[value] = bytearray(size)
            values[value][byte] |= bit
        for topic in row.topics:
            if topic not in found["topic"]:
                found["topic"][topic] = bytearray(size)
            found["topic"][topic][byte] |= bit
    return {
        facet: {value: int.from_bytes(bits, "little") for value, bits in values.items()}
        for facet, values in found.items()
    }


@dataclass(frozen=True, slots=True)
class View:
    """A library view counted: how many assets match, each facet's counts, and the matching
    assets in order a page at a time (``ids``)."""

    total: int
    counts: dict[str, dict[str | int, int]]
    matching: int
    order: list[int]
    snapshot: Snapshot

    def ids(self, start: int, stop: int) -> list[int]:
        """The matching assets from place ``start`` up to ``stop`` (a page)."""
        page: list[int] = []
        seen = 0
        has, matching = self.snapshot.has, self.matching
        listed: set[int] = set()  # an id twice in the order counts once, where first
        for asset_id in self.order:
            if asset_id in listed:
                continue
            listed.add(asset_id)
            if has(matching, asset_id):
                if seen >= start:
                    page.append(asset_id)
                seen += 1
                if seen >= stop:
                    break
        return page


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
        base, order = snapshot.every, snapshot.newest(order_reader)
    else:
        order = list(ranking)  # ids twice: once, as ``View.ids`` reads it
        base = snapshot.of(order)
    shown = snapshot.shown(reader)
    tests = {name: snapshot.bits[name].get(value, 0) for name, value in chosen.items()}
    counts: dict[str, dict[str | int, int]] = {}
    for facet in facets:
        mask = base & (shown if facet != "language" else snapshot.every)
        for name, bits in tests.items():
            if name != facet:
                mask &= bits
        in_view = (
            (value, (mask & bits).bit_count()) for value, bits in snapshot.bits[facet].items()
        )
        counts[facet] = {value: count for value, count in in_view if count}
    matching = base & shown
    for bits in tests.values():
        matching &= bits
    return View(matching.bit_count(), counts, matching, order, snapshot)


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
            return Snapshot(head, rows, read_order(session))
    return Snapshot(head, read_rows(session, None), read_order(session))


def read_order(session: Session) -> list[int]:
    """The live assets' ids in the library's order."""
    live = Asset.status == Status.PUBLISHED.value
    return list(session.scalars(select(Asset.id).where(live).order_by(*LIBRARY_ORDER)))


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
        )
        for asset_id, status, kind, stage, language, translation_of_id, featured in (
            session.execute(assets)
        )
    }
