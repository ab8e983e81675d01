"""Words the domain packages say to people, marked for translation without knowing languages.

``content``, ``tracking`` and ``nurture`` never import ``portal``, so they cannot translate;
they write English and mark it: ``N_("…")`` on a text (it returns it unchanged; Babel's
extraction finds it), ``Said(N_("Enter at most %(limit)s topics"), limit=5)`` for a text with
values. ``str(said)`` is the English; the portal shows ``portal.i18n.say(said)``, the text in
the reader's language with the values filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """Mark ``message`` for translation; translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True, init=False)
class Said:
    """A marked English text with ``%(name)s`` placeholders and their values."""

    text: str
    values: dict[str, Any] = field(default_factory=dict)

    def __init__(self, text: str, /, **values: Any) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "values", values)

    def __str__(self) -> str:
        return self.text % self.values if self.values else self.text
