"""The README's first command: `serve --demo` prints the URL and a staff login that works."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.servers import LEADSHELF, free_port, wait_until_healthy
from tests.support import TEST_SECRET_KEYS, csrf_token_from

pytestmark = pytest.mark.e2e


def test_demo_server_prints_url_and_a_working_staff_login(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "LEADSHELF_DATA_DIR": str(tmp_path / "data"),
        "LEADSHELF_SECRET_KEYS": ",".join(TEST_SECRET_KEYS),
    }
    env.pop("LEADSHELF_DATABASE_URL", None)
    process = subprocess.Popen(
        [LEADSHELF, "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        while line and not line.startswith("Leadshelf is running"):
            line = process.stdout.readline()  # the demo import's progress bar comes first
        banner = [line] + [process.stdout.readline() for _ in range(4)]
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process)  # type: ignore[arg-type]
        assert banner[0].startswith(f"Leadshelf is running at {url}")
        password = re.search(r"password (\S+)\)", banner[1])
        assert password is not None, banner
        assert (tmp_path / "data" / "leadshelf.db").exists()
        emails = [line.split()[1] for line in banner[2:5]]
        assert [line.split()[0] for line in banner[2:5]] == ["admin", "editor", "marketer"]

        with httpx.Client(base_url=url) as browser:
            token = csrf_token_from(browser.get("/console/login").text)
            response = browser.post(
                "/console/login",
                data={"email": emails[0], "password": password.group(1), "_csrf_token": token},
            )
            assert response.status_code == 303
            console = browser.get("/console")
            assert console.status_code == 200
            assert emails[0] in console.text
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
