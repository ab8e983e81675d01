"""The real ``leadshelf serve`` as a subprocess for tests: a free port, a server started and
waited for until it answers /healthz, stopped afterwards (the e2e suite and test_serve)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

LEADSHELF = str(Path(sys.executable).with_name("leadshelf"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Return once the server answers /healthz; fail the test if it exits or never answers."""
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


@contextmanager
def serving(
    env: Mapping[str, str], *args: str, cwd: Path | None = None, timeout: float = 30
) -> Iterator[str]:
    """``leadshelf serve --port PORT ARGS`` running until it answers /healthz; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [LEADSHELF, "serve", "--port", str(port), *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
