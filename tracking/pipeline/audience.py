"""The recommendation audience: readers per asset and co-reading, kept in shared tables.

Every process ranks from the same rows (``nurture.recommendations`` reads them), so nothing
is built per process and no request waits for a build. How they stay current: whatever
changes a reader's trail (ingestion opening a new asset, stitching, merging, erasure)
marks that reader in ``audience_dirty`` in its own transaction; the
``recommendation-audience`` job (one process at a time) recomputes only those readers'
trails, takes away what each counted before (its trail as kept in ``audience_reader``) and
adds what it counts now. The work follows the readers who changed, never the whole history.

A reader is a lead (all its browsers as one) or an anonymous browser; its trail is the assets
it engaged with (``asset_engagement``) in the order first opened.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ForeignKey, String, Table, Text, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.expression import Executable

from content.orm import Base, SessionSource
from tracking.models import AssetEngagement
from tracking.pipeline import bulk

CO_READING_WINDOW = 3
"""A reader "went on to read" Y after X when Y is among the next three assets they opened."""
CHUNK = 500
"""Readers recomputed per write transaction (keeps each one short: SQLite's writer waits)."""

Trail = Sequence[int]
"""One reader's assets in the order first opened."""


class AudienceReader(Base):
    """One reader's trail as the audience counts it now (what to take away when it changes)."""

    __tablename__ = "audience_reader"

    reader: Mapped[str] = mapped_column(String(40), primary_key=True)
    """``l:<lead id>`` or ``v:<visitor id>`` (a browser without a lead)."""
    assets: Mapped[str] = mapped_column(Text)
    """Asset ids in first-opened order, comma-separated."""


class AudienceAsset(Base):
    """How many readers engaged with an asset."""

    __tablename__ = "audience_asset"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    readers: Mapped[int]


class AudiencePair(Base):
    """How many readers of ``asset_id`` opened ``later_id`` among the next assets they opened."""

    __tablename__ = "audience_pair"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    later_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True
    )
    readers: Mapped[int]


class AudienceDirty(Base):
    """A reader whose trail changed and is not yet counted again (the job's queue)."""

    __tablename__ = "audience_dirty"

    id: Mapped[int] = mapped_column(primary_key=True)
    reader: Mapped[str] = mapped_column(String(40))


class AudienceState(Base):
    """One row: the generation, moved by every job pass that changed a count (caches key on it)."""

    __tablename__ = "audience_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(default=0)


READER: Table = AudienceReader.__table__  # type: ignore[assignment]
ASSET: Table = AudienceAsset.__table__  # type: ignore[assignment]
PAIR: Table = AudiencePair.__table__  # type: ignore[assignment]
DIRTY: Table = AudienceDirty.__table__  # type: ignore[assignment]
STATE: Table = AudienceState.__table__  # type: ignore[assignment]


def reader_of(lead_id: int | None, visitor_id: str) -> str:
    """The reader an engagement row counts for: its lead, else its browser."""
    return f"l:{lead_id}" if lead_id is not None else f"v:{visitor_id}"


def co_reading(
    trails: Iterable[Iterable[int]], window: int = CO_READING_WINDOW
) -> tuple[dict[int, int], dict[int, dict[int, float]]]:
    """Readers per asset, and X → Y → the share of X's readers who opened Y within the next
    ``window`` assets they opened. Each trail is one reader's assets in first-opened order."""
    readers: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    for trail in trails:
        _count(list(dict.fromkeys(trail)), readers, pairs, 1, window)
    shares: dict[int, dict[int, float]] = defaultdict(dict)
    for (x, y), count in pairs.items():
        shares[x][y] = count / readers[x]
    return dict(readers), dict(shares)


def _count(
    trail: Trail,
    readers: Counter[int],
    pairs: Counter[tuple[int, int]],
    sign: int,
    window: int = CO_READING_WINDOW,
) -> None:
    """Add (``sign`` 1) or take away (-1) what one reader's trail counts."""
    for at, asset_id in enumerate(trail):
        readers[asset_id] += sign
        for later in trail[at + 1 : at + 1 + window]:
            pairs[(asset_id, later)] += sign


def mark(connection: Connection | Session, readers: Iterable[str]) -> None:
    """Queue readers whose trail changed for the job (in the caller's transaction; one
    statement that returns nothing, so it may run in ``bulk.pipelined``)."""
    if isinstance(connection, Session):
        connection = connection.connection()
    rows = [{"reader": reader} for reader in sorted(set(readers))]
    _marking(connection.dialect.name).run(connection, rows)


@cache
def _marking(dialect: str) -> bulk.Rows:
    return bulk.rows(dialect, DIRTY, ("reader",))


def changed(
    deltas: Iterable[Mapping[str, Any]], stored: Mapping[tuple[str, int], tuple[datetime, Any]]
) -> set[str]:
    """The readers a batch of engagement upserts changes: a (browser, asset) first seen, first
    seen earlier than stored, or a row that now gains its lead. ``stored`` holds each existing
    row's ``first_at`` and ``lead_id``."""
    readers: set[str] = set()
    for delta in deltas:
        key = (delta["visitor_id"], delta["asset_id"])
        found = stored.get(key)
        if found is None:
            readers.add(reader_of(delta["lead_id"], key[0]))
            continue
        first_at, lead_id = found
        if lead_id is None and delta["lead_id"] is not None:
            readers.update((reader_of(None, key[0]), reader_of(delta["lead_id"], key[0])))
        elif delta["first_at"] < first_at:
            readers.add(reader_of(lead_id, key[0]))
    return readers


def trails_of(connection: Connection | Session, readers: Collection[str]) -> dict[str, list[int]]:
    """The current trails of these readers (a reader without engagement has none)."""
    leads = sorted(int(r[2:]) for r in readers if r.startswith("l:"))
    visitors = sorted(r[2:] for r in readers if r.startswith("v:"))
    rows: list[Any] = []
    if leads:
        rows += connection.execute(_statements().lead_rows, {"ids": leads}).all()
    if visitors:
        rows += connection.execute(_statements().visitor_rows, {"ids": visitors}).all()
    by_reader: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for lead_id, visitor_id, asset_id, first_at in rows:
        by_reader[reader_of(lead_id, visitor_id)].append((first_at, asset_id))
    return {
        reader: list(dict.fromkeys(asset_id for _, asset_id in sorted(found)))
        for reader, found in by_reader.items()
    }


@dataclass(frozen=True, slots=True)
class _Statements:
    lead_rows: Executable
    visitor_rows: Executable
    stored: Executable


@cache
def _statements() -> _Statements:
    e = AssetEngagement
    columns = (e.lead_id, e.visitor_id, e.asset_id, e.first_at)
    return _Statements(
        lead_rows=select(*columns).where(e.lead_id.in_(bindparam("ids", expanding=True))),
        visitor_rows=select(*columns).where(
            e.visitor_id.in_(bindparam("ids", expanding=True)), e.lead_id.is_(None)
        ),
        stored=select(READER.c.reader, READER.c.assets).where(
            READER.c.reader.in_(bindparam("ids", expanding=True))
        ),
    )


@cache
def _upserts(dialect: str) -> tuple[Executable, Executable]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    assets, pairs = insert(ASSET), insert(PAIR)
    return (
        assets.on_conflict_do_update(
            index_elements=["asset_id"],
            set_={"readers": ASSET.c.readers + assets.excluded.readers},
        ),
        pairs.on_conflict_do_update(
            index_elements=["asset_id", "later_id"],
            set_={"readers": PAIR.c.readers + pairs.excluded.readers},
        ),
    )


def _stored(session: Session, readers: Collection[str]) -> dict[str, list[int]]:
    found = session.execute(_statements().stored, {"ids": sorted(readers)})
    return {reader: [int(a) for a in assets.split(",") if a] for reader, assets in found}


def apply(session: Session, chunk: int = CHUNK) -> int:
    """Count the next ``chunk`` queued readers again (the caller's write transaction);
    returns how many queue entries it took (0: nothing was waiting)."""
    queued = session.execute(
        select(DIRTY.c.id, DIRTY.c.reader).order_by(DIRTY.c.id).limit(chunk)
    ).all()
    if not queued:
        return 0
    readers = {reader for _, reader in queued}
    before = _stored(session, readers)
    now = trails_of(session, readers)
    asset_counts: Counter[int] = Counter()
    pair_counts: Counter[tuple[int, int]] = Counter()
    moved = [r for r in sorted(readers) if before.get(r, []) != now.get(r, [])]
    for reader in moved:
        _count(before.get(reader, []), asset_counts, pair_counts, -1)
        _count(now.get(reader, []), asset_counts, pair_counts, 1)
    _store_counts(session, asset_counts, pair_counts)
    if moved:
        session.execute(delete(READER).where(READER.c.reader.in_(moved)))
        kept = [
            {"reader": r, "assets": ",".join(map(str, now[r])) if r in now else ""}
            for r in moved
            if now.get(r)
        ]
        if kept:
            session.execute(READER.insert(), kept)
        _next_generation(session)
    session.execute(delete(DIRTY).where(DIRTY.c.id.in_([entry_id for entry_id, _ in queued])))
    return len(queued)


def _store_counts(session: Session, assets: Counter[int], pairs: Counter[tuple[int, int]]) -> None:
    upsert_assets, upsert_pairs = _upserts(session.get_bind().dialect.name)
    asset_rows = [{"asset_id": a, "readers": n} for a, n in sorted(assets.items()) if n]
    pair_rows = [
        {"asset_id": x, "later_id": y, "readers": n} for (x, y), n in sorted(pairs.items()) if n
    ]
    if asset_rows:
        session.execute(upsert_assets, asset_rows)
        touched = [row["asset_id"] for row in asset_rows]
        session.execute(delete(ASSET).where(ASSET.c.asset_id.in_(touched), ASSET.c.readers <= 0))
    if pair_rows:
        session.execute(upsert_pairs, pair_rows)
        firsts = sorted({row["asset_id"] for row in pair_rows})
        session.execute(delete(PAIR).where(PAIR.c.asset_id.in_(firsts), PAIR.c.readers <= 0))


def _next_generation(session: Session) -> None:
    moved = session.execute(update(STATE).values(generation=STATE.c.generation + 1))
    if not getattr(moved, "rowcount", 0):
        session.execute(STATE.insert().values(id=1, generation=1))


def catch_up(
    database: SessionSource, chunk: int = CHUNK, stopping: threading.Event | None = None
) -> int:
    """The job: count every queued reader again, a chunk per transaction; returns how many
    queue entries it took."""
    done = 0
    while stopping is None or not stopping.is_set():
        with database.write() as session:
            took = apply(session, chunk)
        done += took
        if took < chunk:
            break
    return done


def rebuild(session: Session) -> int:
    """Forget every count and queue every reader that has engagement (after an upgrade, or a
    repair); the job then counts them all again. Returns how many readers were queued."""
    for table in (PAIR, ASSET, READER, DIRTY):
        session.execute(delete(table))
    e = AssetEngagement
    found = session.execute(select(e.lead_id, e.visitor_id).distinct())
    readers = {reader_of(lead_id, visitor_id) for lead_id, visitor_id in found}
    mark(session, readers)
    return len(readers)


_GENERATION = select(STATE.c.generation).where(STATE.c.id == 1)
_READERS = select(ASSET.c.asset_id, ASSET.c.readers)


def generation(session: Session) -> int:
    """The audience's generation now (0 before the first count; asked on every ranking)."""
    return session.execute(_GENERATION).scalar() or 0


def readers_per_asset(session: Session) -> dict[int, int]:
    """Readers per asset as counted now."""
    return {a: n for a, n in session.execute(_READERS)}


def pairs_after(session: Session, asset_ids: Collection[int]) -> dict[int, dict[int, int]]:
    """For each of these assets, the assets its readers opened next, with how many did."""
    found: dict[int, dict[int, int]] = {a: {} for a in asset_ids}
    if asset_ids:
        rows = session.execute(
            select(PAIR.c.asset_id, PAIR.c.later_id, PAIR.c.readers).where(
                PAIR.c.asset_id.in_(sorted(asset_ids))
            )
        )
        for x, y, n in rows:
            found[x][y] = n
    return found


def recount(session: Session) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Readers per asset and reader counts per pair from every engagement row, in one pass
    (the reference the kept counts must equal; slow on a large history)."""
    e = AssetEngagement
    rows = session.execute(select(e.lead_id, e.visitor_id, e.asset_id, e.first_at))
    by_reader: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for lead_id, visitor_id, asset_id, first_at in rows:
        by_reader[reader_of(lead_id, visitor_id)].append((first_at, asset_id))
    assets: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    for found in by_reader.values():
        _count(list(dict.fromkeys(a for _, a in sorted(found))), assets, pairs, 1)
    return dict(assets), dict(pairs)


def counted(session: Session) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Readers per asset and per pair as the tables hold them now."""
    pairs = session.execute(select(PAIR.c.asset_id, PAIR.c.later_id, PAIR.c.readers))
    return readers_per_asset(session), {(x, y): n for x, y, n in pairs}


__all__ = [
    "CO_READING_WINDOW",
    "apply",
    "catch_up",
    "changed",
    "co_reading",
    "counted",
    "generation",
    "mark",
    "pairs_after",
    "readers_per_asset",
    "rebuild",
    "recount",
    "trails_of",
]
