"""The app's background housekeeping tick (pruning, quiet leads, retention)."""

from __future__ import annotations

import threading
import time

import pytest

from portal import app as app_module
from portal.db import Database
from portal.ratelimit import KEEP_SECONDS, RateCounter
from portal.settings import Settings
from tracking.rules.config import Model


def stale_window_count(db: Database) -> int:
    with db.read() as session:
        return session.query(RateCounter).count()


@pytest.mark.parametrize("seconds_since_boot", [5.0, 599.0, 10_000.0])
def test_first_tick_prunes_at_once_whatever_the_machine_uptime(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, seconds_since_boot: float
) -> None:
    """time.monotonic() counts from boot: a machine up for less than the prune interval must
    still get its first pass on the first tick, not ten minutes later."""
    with db.write() as session:
        old_window = int(time.time()) - KEEP_SECONDS - 3600
        session.add(RateCounter(key="gate:198.51.100.7", window_start=old_window, hits=3))
    monkeypatch.setattr(app_module.time, "monotonic", lambda: seconds_since_boot)
    tick = app_module._housekeeping(db, settings, Model())

    tick()

    assert stale_window_count(db) == 0


def test_later_ticks_wait_for_the_interval(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [5.0]
    monkeypatch.setattr(app_module.time, "monotonic", lambda: clock[0])
    tick = app_module._housekeeping(db, settings, Model())
    tick()
    with db.write() as session:
        session.add(RateCounter(key="gate:198.51.100.8", window_start=1, hits=1))

    clock[0] += 60
    tick()
    assert stale_window_count(db) == 1

    clock[0] += app_module.PRUNE_EVERY_SECONDS
    tick()
    assert stale_window_count(db) == 0


def test_the_search_thread_never_reads_pdfs(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading one PDF may take 30 s; on the search index's thread it held up search sync."""
    calls: list[str] = []
    monkeypatch.setattr(
        app_module, "extract_pending_texts", lambda *args, **kwargs: calls.append("read") or 0
    )
    app_module._housekeeping(db, settings, Model())()
    assert calls == []

    app_module._text_extraction(db, settings, threading.Event())()
    assert calls == ["read"]
