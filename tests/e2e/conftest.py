"""End-to-end fixtures: the real ``leadshelf serve`` on a free port, driven by Debian's Chromium.

The server runs once per database backend (SQLite, and PostgreSQL in its own
database when ``LEADSHELF_TEST_POSTGRES_URL`` is set). Chromium must be at
/usr/bin/chromium (``make browser`` installs it); a missing browser fails the
run rather than skipping it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal.settings import Settings
from tests.conftest import STAFF_PASSWORD, TEST_SECRET_KEYS, backends, postgres_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))
ADMIN_EMAIL = "e2e-admin@example.com"


@dataclass(frozen=True)
class LiveServer:
    url: str
    backend: str
    admin_email: str = ADMIN_EMAIL
    password: str = STAFF_PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_postgres_database(suffix: str) -> str:
    """Create (or re-create) a database beside the test database and return its URL."""
    url = make_url(Settings(database_url=postgres_url() or "").resolved_database_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"leadshelf serve exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"leadshelf serve did not answer on {url} within {timeout} s")


@pytest.fixture(scope="session", params=backends())
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_BASE_URL": "http://127.0.0.1:8000",
    }
    env.pop("LEADSHELF_DATABASE_URL", None)
    if request.param == "postgresql":
        env["LEADSHELF_DATABASE_URL"] = fresh_postgres_database("e2e")
    subprocess.run(
        [LEADSHELF, "user", "add", ADMIN_EMAIL, "--role", "admin", "--name", "Erin Admin"],
        input=f"{STAFF_PASSWORD}\n".encode(),
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [LEADSHELF, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process)
        yield LiveServer(url=url, backend=request.param)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make browser` (apt-get install chromium)")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
