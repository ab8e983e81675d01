"""The live server the e2e tests drive and the browser they drive it with: the server's
profiling model (``E2E_MODEL``), what a test knows of a running server (``LiveServer``),
``serve`` to start another one, and ``new_context``, a browser profile that looks like a
person at a desktop. The fixtures built on them are in ``tests/e2e/conftest.py``."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext
from sqlalchemy.engine import make_url

from tests.servers import LEADSHELF, serving
from tests.support import STAFF_PASSWORD, TEST_SECRET_KEYS, fresh_postgres_database
from tracking.rules.config import DEFAULT_FIELDS

ADMIN_EMAIL = "e2e-admin@example.com"

# Headless Chromium announces itself as "HeadlessChrome", which crawler detection rightly
# takes for a bot: no visitor cookie, no gate forms. The tests play a person at a desktop.
DESKTOP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)

MIN_FILL_SECONDS = 0.5
"""Gate forms sent back faster than this are refused (2 s by default; shorter keeps tests fast)."""
PROFILE_FIELDS = ("first_name", "last_name", "company", "job_title")
"""The only catalogue fields the e2e model keeps: the first gate asks email and the names, the
second company and job title, and from the third on a known prospect unlocks in one click."""
E2E_MODEL = "\n".join(
    [
        f"[profiling]\nmin_fill_seconds = {MIN_FILL_SECONDS}",
        *(
            f"[profiling.fields.{spec.name}]\nenabled = false"
            for spec in DEFAULT_FIELDS
            if spec.name not in PROFILE_FIELDS
        ),
    ]
)
"""The server's model file (``LEADSHELF_MODEL``)."""


@dataclass(frozen=True)
class LiveServer:
    url: str
    backend: str
    env: Mapping[str, str]
    """The server's environment, for running other ``leadshelf`` commands against its data."""
    admin_email: str = ADMIN_EMAIL
    password: str = STAFF_PASSWORD


def add_staff(env: Mapping[str, str], email: str, role: str, name: str) -> str:
    """Add a staff member (password ``STAFF_PASSWORD``) with ``leadshelf user add`` to the data
    of the server ``env`` describes; returns the email."""
    subprocess.run(
        [LEADSHELF, "user", "add", email, "--role", role, "--name", name],
        input=f"{STAFF_PASSWORD}\n".encode(),
        env=dict(env),
        check=True,
        capture_output=True,
    )
    return email


def prepared_env(data_dir: Path, backend: str, *, database: str, **settings: str) -> dict[str, str]:
    """The environment of a server of a test's own: its data dir, test keys and the e2e model,
    a fresh PostgreSQL database named ``database`` (on that backend), the e2e admin and the
    demo library loaded; ``settings`` add ``LEADSHELF_*`` variables (``SMTP_URL="…"``).
    No other ``LEADSHELF_*`` variable of the test run leaks in, so the server's links point
    at the address it listens on."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADSHELF_")},
        "LEADSHELF_DATA_DIR": str(data_dir),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_MODEL": str(data_dir / "model.toml"),
        **{f"LEADSHELF_{name}": value for name, value in settings.items()},
    }
    database_url = copy_demo_data(data_dir, backend, database=database)
    if database_url:
        env["LEADSHELF_DATABASE_URL"] = database_url
    return env


_demo_data: dict[str, tuple[Path, str]] = {}


def copy_demo_data(data_dir: Path, backend: str, *, database: str) -> str | None:
    """Fill ``data_dir`` with the e2e model, the e2e admin and the demo library; on PostgreSQL
    also a fresh database named ``database`` holding them, whose URL is returned.

    ``leadshelf user add`` and ``leadshelf demo`` load them once a process and backend, into
    a folder and database of their own; every server starts from a copy (the two commands
    take 8 s of CPU, a copy a fraction of a second)."""
    if backend not in _demo_data:
        _demo_data[backend] = _load_demo_data(backend)
    folder, template = _demo_data[backend]
    shutil.copytree(folder, data_dir, dirs_exist_ok=True)
    if backend == "postgresql":
        return fresh_postgres_database(database, template=template)
    return None


def _load_demo_data(backend: str) -> tuple[Path, str]:
    folder = Path(tempfile.mkdtemp(prefix="leadshelf-e2e-demo-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    model = folder / "model.toml"
    model.write_text(E2E_MODEL, encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADSHELF_")},
        "LEADSHELF_DATA_DIR": str(folder),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
        "LEADSHELF_MODEL": str(model),
    }
    template = ""
    if backend == "postgresql":
        env["LEADSHELF_DATABASE_URL"] = url = fresh_postgres_database("e2e_demo_data")
        template = make_url(url).database or ""
    add_staff(env, ADMIN_EMAIL, "admin", "Erin Admin")
    # the demo library: open, soft and gated assets, with PDFs, for the prospect's flows
    subprocess.run([LEADSHELF, "demo"], env=env, check=True, capture_output=True)
    return folder, template


@contextmanager
def serve(env: Mapping[str, str]) -> Iterator[str]:
    """Run ``leadshelf serve`` with this environment on a free port; yield its URL."""
    with serving(env, "--host", "127.0.0.1") as url:
        yield url


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A fresh browser profile (its own cookies, so its own visitor) that looks like a person's."""
    return browser.new_context(
        viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_USER_AGENT, **options
    )
