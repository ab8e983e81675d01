"""(filled in by its feature)"""

from __future__ import annotations

from portal.mail.kinds import ContextFunction

CONTEXTS: dict[str, ContextFunction] = {}
