"""What the public forms say, in the reader's language: the messages next to refused answers
(``tracking.rules.profiling`` writes them as marked English) and the consent text the form
shows (with its version and language, as the consent record keeps them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from content.words import Said
from portal import i18n
from tracking.identity import consent as consents
from tracking.identity.consent import ConsentText
from tracking.rules.config import ProfilingModel
from tracking.rules.profiling import FieldLabel, mid_sentence


def said(message: Said | str) -> str:
    """A form's message in the current language; a field's label inside it is the reader's
    label (and English writes it in lower case mid-sentence: "your job title")."""
    if isinstance(message, Said) and any(
        isinstance(v, FieldLabel) for v in message.values.values()
    ):
        values: dict[str, Any] = {
            name: _label(value) if isinstance(value, FieldLabel) else value
            for name, value in message.values.items()
        }
        return i18n.say(Said(message.text, **values))
    return i18n.say(message)


def _label(label: FieldLabel) -> str:
    shown = i18n.gettext(label.text)
    return mid_sentence(shown) if i18n.current() == "en" else shown


def errors_shown(errors: Mapping[str, Said | str]) -> dict[str, str]:
    """Each refused field's message, by field name, in the current language."""
    return {name: said(message) for name, message in errors.items()}


def consent_shown(profiling: ProfilingModel) -> ConsentText:
    """The consent box's text for a form in the current language (its own translation with its
    own version, else the English)."""
    return consents.wording(profiling, i18n.current())
