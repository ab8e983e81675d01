"""Helpers every template may call: labels for the domain vocabulary and date formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from content.models import KIND_LABELS, LANGUAGES, Kind
from content.taxonomy import STAGE_LABELS
from portal import i18n


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[Kind(kind)]
    except ValueError:
        return kind


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def language_label(code: str) -> str:
    return LANGUAGES.get(code, code)


def _utc(moment: datetime) -> datetime:
    # Stored datetimes are aware UTC; a naive one can only be UTC, never server-local time.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_date(moment: datetime | None) -> str:
    """A day in the current language ("5 Dec 2026", "05.12.2026"), as of UTC."""
    return i18n.format_date(_utc(moment)) if moment else ""


def format_datetime_utc(moment: datetime | None) -> str:
    """A moment in UTC in the current language ("5 Dec 2026, 10:00 UTC")."""
    return i18n.format_datetime(_utc(moment)) if moment else ""


def template_helpers() -> dict[str, Callable[..., Any]]:
    return {
        "kind_label": kind_label,
        "stage_label": stage_label,
        "language_label": language_label,
        "format_date": format_date,
        "format_datetime_utc": format_datetime_utc,
    }
