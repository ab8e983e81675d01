"""Console → Programs → a program's weekly review (and its CSV): per program and step."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
