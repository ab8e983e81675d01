"""Concurrent write transactions: throughput, latency and lock errors per backend.

Each of T threads runs M write transactions that read first and then insert
(the pattern that makes SQLite fail with "database is locked" when a deferred
transaction upgrades its lock). Leadshelf's ``Database.write()`` begins with
``BEGIN IMMEDIATE``; the baseline uses plain deferred transactions.

Run: make bench   (or .venv/bin/python bench/bench_db_writes.py)
PostgreSQL too: LEADSHELF_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1/DB
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from portal.accounts.models import LoginAttempt
from portal.db import Database
from portal.migrate import upgrade_to_head

THREADS = int(os.environ.get("BENCH_THREADS", "8"))
TRANSACTIONS = int(os.environ.get("BENCH_TRANSACTIONS", "200"))


def run(
    label: str, database: Database, begin: Callable[[], AbstractContextManager[Session]]
) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine: list[float] = []
        for i in range(TRANSACTIONS):
            started = time.perf_counter()
            try:
                with begin() as session:
                    session.scalar(select(func.count()).select_from(LoginAttempt))
                    session.add(LoginAttempt(email=f"w{n}-{i}@bench", ip="127.0.0.1"))
            except Exception as exc:
                with lock:
                    errors.append(str(exc).splitlines()[0])
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    total = THREADS * TRANSACTIONS
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    print(
        f"{label:<34} {total:>6} tx  {len(latencies) / elapsed:>8.0f} tx/s  "
        f"p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  errors {len(errors)}"
        + (f"  (e.g. {errors[0]!r})" if errors else "")
    )
    with database.write_connection() as connection:
        connection.execute(text("DELETE FROM login_attempt"))


def deferred(database: Database) -> Callable[[], AbstractContextManager[Session]]:
    @contextmanager
    def begin() -> Iterator[Session]:
        with Session(database.engine, expire_on_commit=False) as session, session.begin():
            yield session

    return begin


def main() -> None:
    print(f"{THREADS} threads x {TRANSACTIONS} write transactions (read, then insert)")
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{tmp}/bench.db")
        upgrade_to_head(database)
        run("sqlite  Database.write() IMMEDIATE", database, database.write)
        run("sqlite  deferred BEGIN (baseline)", database, deferred(database))
        database.dispose()
    url = os.environ.get("LEADSHELF_TEST_POSTGRES_URL")
    if url:
        database = Database(url.replace("postgresql://", "postgresql+psycopg://", 1))
        upgrade_to_head(database)
        run("postgresql  Database.write()", database, database.write)
        database.dispose()


if __name__ == "__main__":
    main()
