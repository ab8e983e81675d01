"""Costly read-only figures computed off the request path.

A ``Snapshots`` keeps the last value computed for each key (a dashboard
period). A request gets that value at once, however busy the database is; only
a key nobody asked for yet, or one whose snapshot is older than ``max_age``
(the refresher stopped), is computed on the request. The dashboard-snapshots job
(``Snapshots.refresh``) recomputes, every ``fresh_for`` seconds, the keys someone looked at lately,
and forgets the ones nobody did. Pages show when their figures were taken.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from content.orm import utcnow

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[V]):
    value: V
    taken_at: datetime
    """Wall-clock time (UTC) the figures were computed."""
    built: float
    """Monotonic time the figures were computed."""


class Snapshots(Generic[K, V]):
    """The last value of ``compute(key)`` per key; see the module docstring."""

    def __init__(
        self,
        compute: Callable[[K], V],
        *,
        fresh_for: float = 60.0,
        max_age: float = 600.0,
        forget_after: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.compute = compute
        self.fresh_for = fresh_for
        self.max_age = max_age
        self.forget_after = forget_after
        self.clock = clock
        self._values: dict[K, Snapshot[V]] = {}
        self._asked: dict[K, float] = {}
        self._locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: K) -> Snapshot[V]:
        """The key's snapshot; computed now only when there is none or it is too old."""
        now = self.clock()
        self._asked[key] = now
        found = self._values.get(key)
        if found is not None and now - found.built <= self.max_age:
            return found
        return self._take(key, older_than=now - self.max_age)

    def refresh(self) -> int:
        """Recompute the snapshots older than ``fresh_for`` of keys asked for lately; forget
        keys nobody asked for in ``forget_after``. Returns how many were recomputed."""
        now = self.clock()
        recomputed = 0
        for key, asked in list(self._asked.items()):
            if now - asked > self.forget_after:
                with self._guard:
                    self._asked.pop(key, None)
                    self._values.pop(key, None)
                continue
            found = self._values.get(key)
            if found is None or now - found.built >= self.fresh_for:
                self._take(key, older_than=now - self.fresh_for)
                recomputed += 1
        return recomputed

    def _take(self, key: K, older_than: float) -> Snapshot[V]:
        """Compute the key once even when several threads ask at the same time."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            found = self._values.get(key)
            if found is not None and found.built > older_than:
                return found  # another thread computed it while this one waited
            taken_at = utcnow()
            value = self.compute(key)
            snapshot = Snapshot(value, taken_at, self.clock())
            self._values[key] = snapshot
            return snapshot
