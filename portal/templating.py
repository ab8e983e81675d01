"""Helpers every template may call: labels for the domain vocabulary (in the reader's language)
and date formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from content.models import (
    GATE_LABELS,
    KIND_LABELS,
    LANGUAGES,
    STATUS_LABELS,
    Gate,
    Kind,
    Persona,
    Status,
    Topic,
)
from content.taxonomy import STAGE_LABELS, label_in
from portal import i18n

TRANSLATION_LINKS = {
    "en": i18n.N_("Also in English"),
    "de": i18n.N_("Also in German"),
}
"""The asset page's link to the same asset in another language, by that language."""


def kind_label(kind: str) -> str:
    """A kind as readers know it ("Case study", "Fallstudie"); an unknown one as stored."""
    try:
        return i18n.gettext(KIND_LABELS[Kind(kind)])
    except ValueError:
        return kind


def stage_label(stage: str) -> str:
    """A library stage ("Getting started", "Orientierung"); others capitalised as stored."""
    label = STAGE_LABELS.get(stage)
    return i18n.gettext(label) if label else stage.replace("_", " ").capitalize()


def gate_label(gate: str) -> str:
    try:
        return i18n.gettext(GATE_LABELS[Gate(gate)])
    except ValueError:
        return gate


def status_label(status: str) -> str:
    """An asset's status (draft, scheduled, published, archived) in the reader's words."""
    try:
        return i18n.gettext(STATUS_LABELS[Status(status)])
    except ValueError:
        return status


REVISION_ACTIONS = {
    "created": i18n.N_("created"),
    "edited": i18n.N_("edited"),
    "draft": i18n.N_("unpublished"),
    "scheduled": i18n.N_("scheduled"),
    "published": i18n.N_("published"),
    "archived": i18n.N_("archived"),
}
"""What a revision of an asset did (its ``action``), as its history says it."""


def revision_label(action: str) -> str:
    text = REVISION_ACTIONS.get(action)
    return i18n.gettext(text) if text else action


def language_label(code: str) -> str:
    """A language named in its own words ("Deutsch" on every page, as a language switch does)."""
    return LANGUAGES.get(code, code)


def translation_link(code: str) -> str:
    """ "Also in German" ("Auch auf Deutsch") for a link to the asset's version in ``code``."""
    text = TRANSLATION_LINKS.get(code)
    return i18n.gettext(text) if text else LANGUAGES.get(code, code)


def topic_label(topic: Topic | Persona) -> str:
    """A topic's or persona's label in the reader's language (the English one when it has
    none in that language)."""
    return label_in(topic, i18n.current())


def facet_label(name: str, value: str, label: str = "") -> str:
    """A library filter's option in the reader's words: ``label`` for topics (the catalog
    gives them in the reader's language already), the vocabulary's label otherwise."""
    if name == "kind":
        return kind_label(value)
    if name == "stage":
        return stage_label(value)
    if name == "language":
        return language_label(value)
    return label or value


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
        "gate_label": gate_label,
        "status_label": status_label,
        "revision_label": revision_label,
        "language_label": language_label,
        "translation_link": translation_link,
        "topic_label": topic_label,
        "persona_label": topic_label,
        "facet_label": facet_label,
        "say": i18n.say,
        "format_date": format_date,
        "format_datetime_utc": format_datetime_utc,
    }
