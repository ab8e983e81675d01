"""Fixed-window rate limits kept in the database, so every worker process shares one count.

Used for public forms (gate submissions per address). Each hit is one upsert
on ``(key, window)``; windows older than a day are pruned by the app's tick.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from content.orm import Base, dialect_insert

KEEP_SECONDS = 24 * 3600


class RateCounter(Base):
    """How many hits one key (e.g. "gate:203.0.113.9") made in one time window."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, index=True
    )
    hits: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``hits`` per ``seconds`` for one key."""

    hits: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int
    """Seconds until the window ends (meaningful when not allowed)."""


def hit(session: Session, key: str, limit: Limit, now: float | None = None) -> Verdict:
    """Count one hit for ``key`` and say whether it is within the limit."""
    now = time.time() if now is None else now
    window = int(now // limit.seconds) * limit.seconds
    insert = dialect_insert(session)
    statement = insert(RateCounter).values(key=key[:160], window_start=window, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window_start],
        set_={"hits": RateCounter.hits + 1},
    )
    session.execute(statement)
    hits = session.scalar(
        select(RateCounter.hits).where(
            RateCounter.key == key[:160], RateCounter.window_start == window
        )
    )
    retry_after = max(1, int(window + limit.seconds - now))
    return Verdict(allowed=(hits or 0) <= limit.hits, retry_after=retry_after)


def prune(session: Session, now: float | None = None) -> int:
    """Forget windows older than a day; returns how many rows went."""
    now = time.time() if now is None else now
    result = session.execute(
        delete(RateCounter).where(RateCounter.window_start < now - KEEP_SECONDS)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class TokenBuckets:
    """In-memory token buckets per key (one process): for high-rate, low-stakes limits.

    Used for the tracking beacon, where a database round trip per request
    would cost more than the event itself. Each key may burst up to
    ``per_minute`` and refills at that rate.
    """

    def __init__(self, per_minute: int, max_keys: int = 200_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for ``key``; False when its bucket is empty."""
        now = time.monotonic() if now is None else now
        tokens, since = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - since) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._forget_full(now)
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they hold no information)."""
        for key, (tokens, since) in list(self._buckets.items()):
            if tokens + (now - since) * self.rate >= self.capacity:
                del self._buckets[key]
