"""Ingestion through a real ``leadshelf serve`` process: nothing acknowledged is ever lost.

Runs on SQLite and PostgreSQL (a database of its own beside the test database).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from content.editing import save_asset, validate_draft
from content.publishing import publish
from portal.db import Database
from portal.migrate import upgrade_to_head
from tests.servers import free_port
from tests.support import TEST_SECRET_KEYS, backends, fresh_postgres_database, run_in_own_loop
from tracking.models import Event

LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"}
SLUG = "durable-guide"


@dataclass
class Server:
    url: str
    database_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [LEADSHELF, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail("leadshelf serve did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(params=backends())
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "postgresql":
        url = fresh_postgres_database("durability")
    else:
        url = f"sqlite:///{tmp_path / 'durability.db'}"
    database = Database(url)
    upgrade_to_head(database)
    draft, errors = validate_draft(
        {"title": "Durable guide", "slug": SLUG, "kind": "article", "stage": "awareness"}
    )
    assert draft is not None, errors
    with database.write() as session:
        publish(session, save_asset(session, draft, "test@example.com"), "test@example.com")
    database.dispose()
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": url,
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_BEACON_PER_MINUTE": "100000",
    }
    running = Server(url="", database_url=url, env=env)
    running.start()
    yield running
    running.stop()


def stored_uids(database_url: str) -> set[str]:
    database = Database(database_url)
    with database.read() as session:
        uids = set(session.scalars(select(Event.uid).where(Event.uid.is_not(None))))
    database.dispose()
    return uids


class Browser:
    """A keep-alive HTTP/1.1 connection of one browser, lean enough that fifty of them in one
    test process load the server rather than themselves (httpx spent ~1 ms a request)."""

    def __init__(self, url: str) -> None:
        self.host, port = url.removeprefix("http://").split(":")
        self.port = int(port)
        self.cookie = ""

    async def __aenter__(self) -> Browser:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        """The response's status (its body is read and dropped); OSError once the server is
        gone, ``asyncio.IncompleteReadError`` when it closed the connection mid-answer."""
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"User-Agent: {BROWSER['User-Agent']}\r\nCookie: {self.cookie}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "set-cookie" and value.strip().startswith("ls_visitor="):
                self.cookie = value.strip().split(";")[0]
            elif name.lower() == "transfer-encoding":
                raise ValueError(f"{method} {path}: a chunked answer (this client reads lengths)")
        await self.reader.readexactly(length)
        return int(status.split()[1])


async def reader(url: str, events: int, acked: list[str], stop: asyncio.Event) -> None:
    """One browser: opens the asset, then sends beacons and remembers every acknowledged id."""
    try:
        async with Browser(url) as browser:
            assert await browser.request("GET", f"/library/{SLUG}") == 200
            assert browser.cookie, "the asset page gave the browser no visitor id"
            for _ in range(events):
                if stop.is_set():
                    return
                uid = uuid.uuid4().hex
                body = json.dumps(
                    {"type": "read_progress", "asset": SLUG, "seconds": 5, "id": uid}
                ).encode()
                if await browser.request("POST", "/t", body) == 204:
                    acked.append(uid)
    except (OSError, asyncio.IncompleteReadError):
        return  # the server is gone: the beacon in flight was never acknowledged


def test_fifty_concurrent_readers_times_two_hundred_beacons_store_exactly_ten_thousand(
    server: Server,
) -> None:
    acked: list[str] = []

    async def main() -> None:
        stop = asyncio.Event()
        await asyncio.gather(*(reader(server.url, 200, acked, stop) for _ in range(50)))

    run_in_own_loop(main)
    assert len(acked) == 10_000
    database = Database(server.database_url)
    with database.read() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.type == "read_progress")
            )
            == 10_000
        )
    database.dispose()
    assert stored_uids(server.database_url) >= set(acked)


async def killed_under_load(
    server: Server, acked: list[str], kill: Callable[[], Awaitable[None]]
) -> None:
    """Twenty readers send beacons; once 500 are acknowledged ``kill`` runs, then they stop."""
    stop = asyncio.Event()
    load = asyncio.gather(*(reader(server.url, 100_000, acked, stop) for _ in range(20)))
    deadline = time.monotonic() + 60  # readers that all stopped early fail the test, not hang it
    while len(acked) < 500 and not load.done() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert len(acked) >= 500, "the readers stopped before 500 beacons were acknowledged"
    await kill()
    stop.set()
    await load


def test_every_acknowledged_event_survives_a_sigkill_during_load(server: Server) -> None:
    acked: list[str] = []

    async def kill() -> None:
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGKILL)

    run_in_own_loop(lambda: killed_under_load(server, acked, kill))
    assert server.process is not None
    server.process.wait(timeout=10)
    assert server.process.returncode == -signal.SIGKILL
    stored = stored_uids(server.database_url)
    lost = set(acked) - stored
    assert len(acked) >= 500
    assert lost == set()
    if "sqlite" in server.database_url:
        # The database opens cleanly after the crash (WAL recovery).
        database = Database(server.database_url)
        with database.read() as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        database.dispose()


def children(pid: int) -> list[int]:
    """The event writer processes ``pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == pid and b"tracking.pipeline.writer_child" in command:
                found.append(int(entry.name))
    return found


def test_every_acknowledged_event_survives_the_event_writer_process_killed_during_load(
    server: Server,
) -> None:
    acked: list[str] = []
    after_kill: list[int] = []

    async def kill() -> None:
        assert server.process is not None
        writers = children(server.process.pid)
        assert writers, "leadshelf serve runs an event writer process"
        for pid in writers:
            os.kill(pid, signal.SIGKILL)
        killed_at = len(acked)
        deadline = time.monotonic() + 60
        while len(acked) < killed_at + 1000 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # the server keeps storing and answering
        after_kill.append(len(acked) - killed_at)

    run_in_own_loop(lambda: killed_under_load(server, acked, kill))
    assert after_kill[0] >= 1000
    assert set(acked) - stored_uids(server.database_url) == set()
    assert server.process is not None
    assert server.process.poll() is None  # the web process lived on
    deadline = time.monotonic() + 10  # and the writer job starts a new writer process
    while not children(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert children(server.process.pid)
