"""Programs in the JSON API: list them, and add leads to one ("added by API" trigger)."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
