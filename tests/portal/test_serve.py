"""The real ``leadshelf serve`` as a subprocess, on SQLite and PostgreSQL: a port that is taken
gets one line on stderr and a non-zero exit (never "running at"), and without
``LEADSHELF_BASE_URL`` the links it writes (a webinar's .ics) carry the port it listens on."""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from portal.db import Database
from tests.e2e.live import prepared_env
from tests.servers import LEADSHELF, serving
from tests.support import TEST_SECRET_KEYS

WEBINAR = "progressive-profiling-webinar"  # in the demo library


@pytest.fixture
def environment(db: Database, tmp_path: Path) -> dict[str, str]:
    """``leadshelf``'s environment: the test database, a data dir, no base URL."""
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
    }
    for name in ("LEADSHELF_BASE_URL", "LEADSHELF_CONFIG", "LEADSHELF_MODEL"):
        env.pop(name, None)
    return env


def test_a_taken_port_gets_the_error_only(environment: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            [LEADSHELF, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert finished.returncode != 0
    assert "running at" not in finished.stdout + finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert f"127.0.0.1:{port}" in lines[0]
    assert "in use" in lines[0].lower()


@pytest.fixture
def demo_environment(backend: str, tmp_path: Path) -> dict[str, str]:
    """A server's environment with the demo library (a copy: ``leadshelf demo`` takes 8 s of
    CPU, done once a test process), a database of its own and no base URL."""
    return prepared_env(tmp_path / "data", backend, database="serve")


def calendar_file(url: str) -> str:
    with urllib.request.urlopen(f"{url}/library/{WEBINAR}/calendar.ics") as response:  # noqa: S310
        return str(response.read().decode())


def test_without_a_base_url_links_carry_the_port_it_listens_on(
    demo_environment: dict[str, str], tmp_path: Path
) -> None:
    with serving(demo_environment, cwd=tmp_path, timeout=60) as url:
        ics = calendar_file(url)
    assert f"URL:{url}/library/{WEBINAR}" in ics
    assert ":8000" not in ics


def test_a_base_url_that_is_set_still_wins(
    demo_environment: dict[str, str], tmp_path: Path
) -> None:
    demo_environment["LEADSHELF_BASE_URL"] = "https://content.example.com"
    with serving(demo_environment, "--host", "0.0.0.0", cwd=tmp_path, timeout=60) as url:  # noqa: S104
        ics = calendar_file(url)
    assert f"URL:https://content.example.com/library/{WEBINAR}" in ics
