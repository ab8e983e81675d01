"""Snapshots: costly figures served at once, recomputed in the background, never twice at once."""

from __future__ import annotations

import threading
import time

from portal.snapshots import Snapshots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(clock: Clock) -> tuple[Snapshots[int, str], list[int]]:
    computed: list[int] = []

    def compute(days: int) -> str:
        computed.append(days)
        return f"{days} days, version {len(computed)}"

    return Snapshots(compute, fresh_for=60, max_age=600, forget_after=3600, clock=clock), computed


def test_the_first_request_computes_and_later_ones_get_the_snapshot() -> None:
    clock = Clock()
    snapshots, computed = counting(clock)
    first = snapshots.get(30)
    clock.now += 300  # stale for the refresher, still served to requests
    again = snapshots.get(30)
    assert first.value == again.value == "30 days, version 1"
    assert computed == [30]
    assert snapshots.get(7).value == "7 days, version 2"  # each period has its own


def test_the_refresher_recomputes_what_was_asked_for_once_it_is_older_than_fresh_for() -> None:
    clock = Clock()
    snapshots, computed = counting(clock)
    snapshots.get(30)
    assert snapshots.refresh() == 0  # fresh
    clock.now += 61
    assert snapshots.refresh() == 1
    assert snapshots.get(30).value == "30 days, version 2"
    assert computed == [30, 30]


def test_a_snapshot_older_than_max_age_is_computed_on_the_request() -> None:
    clock = Clock()
    snapshots, computed = counting(clock)
    snapshots.get(30)
    clock.now += 601  # no refresher ran
    assert snapshots.get(30).value == "30 days, version 2"
    assert computed == [30, 30]


def test_keys_nobody_looked_at_for_an_hour_are_forgotten() -> None:
    clock = Clock()
    snapshots, computed = counting(clock)
    snapshots.get(365)
    clock.now += 3601
    assert snapshots.refresh() == 0
    assert computed == [365]
    assert snapshots.get(365).value == "365 days, version 2"  # computed again when asked


def test_threads_asking_for_a_missing_snapshot_at_once_share_one_computation() -> None:
    started = threading.Event()
    calls: list[int] = []

    def slow(days: int) -> int:
        calls.append(days)
        started.set()
        time.sleep(0.2)
        return days * 2

    snapshots: Snapshots[int, int] = Snapshots(slow)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(snapshots.get(30).value)) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == [60, 60, 60, 60]
    assert calls == [30]
