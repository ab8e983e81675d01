"""What each kind of mail needs besides the common context: one function per kind, reading
the database at send time (so a mail shows the asset's current title, the lead's name …).

The kinds live with the feature that sends them (``subscription_mails``, ``identity_mails``,
``webinar_mails``), each with a ``CONTEXTS`` mapping; ``portal.mail.render`` gathers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from nurture.mail.sender import Outgoing
from nurture.recommendations import AudienceCache
from portal.mail.links import Links
from tracking.rules.config import Model


@dataclass(frozen=True, slots=True)
class KindContext:
    """What a kind's function gets: the session, the message and the link builder."""

    session: Session
    message: Outgoing
    links: Links
    model: Model | None = None
    """The journey model (program mails' content blocks rank with it); None: the built-in."""
    audience: AudienceCache | None = None
    """The renderer's reading aggregates for "next best content" (built once, rebuilt when
    reading has grown; None: built for this mail alone, 0.1 s at 20,000 reading rows)."""


ContextFunction = Callable[[KindContext], Mapping[str, Any]]


def test_mail(context: KindContext) -> Mapping[str, Any]:
    """``leadshelf mail test``: proves the server, the sender and the signature work."""
    return {}
