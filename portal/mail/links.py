"""The signed links mail carries, and what each token holds (the routes under /email/ read
them back). One purpose per kind of link, so a token never works for another."""

from __future__ import annotations

from urllib.parse import urlencode

from portal.signing import Purpose, Signer

OPT_IN_DAYS = 7
"""A double opt-in confirmation link works this long."""
CONTINUE_HOURS = 48
""""Continue on this device" works this long."""


class Links:
    """Absolute URLs under ``base_url`` with signed tokens."""

    def __init__(self, signer: Signer, base_url: str) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    def url(self, path: str, **query: str) -> str:
        return f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    def confirm(self, lead_id: int, consent_id: int) -> str:
        """Double opt-in: ``GET /email/confirm?t=`` (expires after ``OPT_IN_DAYS``)."""
        return self.url(
            "/email/confirm", t=self.signer.sign(Purpose.OPT_IN, {"l": lead_id, "c": consent_id})
        )

    def unsubscribe(self, address: str, message_id: int | None = None) -> str:
        """``/email/unsubscribe?t=`` (never expires: an old mail's link must still work)."""
        token = self.signer.sign(Purpose.UNSUBSCRIBE, {"a": address, "m": message_id})
        return self.url("/email/unsubscribe", t=token)

    def preferences(self, lead_id: int) -> str:
        """The preference center, ``/email/preferences?t=`` (never expires)."""
        return self.url(
            "/email/preferences", t=self.signer.sign(Purpose.PREFERENCES, {"l": lead_id})
        )

    def continue_here(self, claim_id: int, lead_id: int) -> str:
        """ "Continue on this device": ``/email/continue?t=`` (expires after ``CONTINUE_HOURS``)."""
        token = self.signer.sign(Purpose.EMAIL_LINK, {"c": claim_id, "l": lead_id})
        return self.url("/email/continue", t=token)
