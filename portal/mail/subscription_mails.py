"""The mails of subscribing: the double opt-in confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.mail.kinds import ContextFunction, KindContext
from portal.mail.links import OPT_IN_DAYS
from tracking.lead_profile import profile


def opt_in(context: KindContext) -> Mapping[str, Any]:
    """The confirmation link of the consent the lead asked for (``params["consent"]``)."""
    message = context.message
    assert message.lead_id is not None
    return {
        "confirm_url": context.links.confirm(message.lead_id, int(message.params["consent"])),
        "days": OPT_IN_DAYS,
        "first_name": profile(context.session, message.lead_id).get("first_name", ""),
    }


CONTEXTS: dict[str, ContextFunction] = {"opt_in": opt_in}
