"""The mails of subscribing: the double opt-in confirmation (``opt_in``), queued by
``portal.mail.form_mails.confirm_subscription`` in the transaction that asked for consent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.mail.kinds import ContextFunction, KindContext
from portal.mail.links import OPT_IN_DAYS
from tracking.lead_profile import profile
from tracking.models import Consent


def opt_in(context: KindContext) -> Mapping[str, Any]:
    """The confirmation link of the consent the lead asked for (``params["consent"]``), and the
    wording it agreed to (gone when the consent was erased: the link then confirms nothing)."""
    message = context.message
    assert message.lead_id is not None
    consent_id = int(message.params["consent"])
    consent = context.session.get(Consent, consent_id)
    return {
        "confirm_url": context.links.confirm(message.lead_id, consent_id),
        "days": OPT_IN_DAYS,
        "first_name": profile(context.session, message.lead_id).get("first_name", ""),
        "consent_text": consent.text if consent is not None else "",
    }


CONTEXTS: dict[str, ContextFunction] = {"opt_in": opt_in}
