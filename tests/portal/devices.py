"""Several browsers on one test client: each device keeps its own cookies (visitor id, CSRF
token), swapped in while it is used. One app serves them all, as one server serves a laptop
and a phone (a second ``TestClient`` of the same app would start the app twice)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from litestar import Litestar
from litestar.testing import TestClient


class Devices:
    """``with devices.on("phone") as phone: phone.get(...)``: requests as that browser."""

    def __init__(self, client: TestClient[Litestar]) -> None:
        self.client = client
        self.jars: dict[str, httpx.Cookies] = {}

    @contextmanager
    def on(self, name: str) -> Iterator[TestClient[Litestar]]:
        outside = httpx.Cookies(self.client.cookies)
        self.client.cookies = self.jars.get(name, httpx.Cookies())
        try:
            yield self.client
        finally:
            self.jars[name] = httpx.Cookies(self.client.cookies)
            self.client.cookies = outside
