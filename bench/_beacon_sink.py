"""The beacon's ceiling: ``leadshelf serve``'s own app, answering ``POST /t`` without storing.

``bench/ingest.py`` starts this beside the real server: the same app factory, middleware,
cookie check, body parsing, rate limit and asset lookup, with the event writer's
``record`` answering at once instead of after the commit. What the real server does less
than this is the price of storing.

Run: .venv/bin/python -m bench._beacon_sink PORT WORKERS
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from litestar import Litestar

from portal import listening
from portal.app import create_app_from_env
from tracking.events import TrackedEvent
from tracking.pipeline.group_commit import Ingestor


async def _dropped(self: Ingestor, events: Sequence[TrackedEvent]) -> int:
    return len(events)


def create_app() -> Litestar:
    """The app of ``leadshelf serve`` whose event writer stores nothing."""
    Ingestor.record = _dropped  # type: ignore[method-assign]
    return create_app_from_env()


def main(port: int, workers: int) -> None:
    options: dict[str, Any] = {"factory": True, "workers": workers, "log_level": "warning"}
    sock = listening.bind("127.0.0.1", port)
    listening.serve(sock, app="bench._beacon_sink:create_app", **options)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
