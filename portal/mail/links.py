"""The signed links mail carries, and what each token holds (the routes under /email/ read
them back). One purpose per kind of link, so a token never works for another.

Tracking: ``click`` wraps a link of a message in ``/email/click?t=`` (the token holds the
message and the target, so only links a message contained redirect: no open redirect);
``open_pixel`` is the message's ``/email/open?t=`` image. Neither expires: an old mail's
links keep working. Links to the portal's own ``/email/`` pages (confirm, continue,
unsubscribe, preferences) are never wrapped (``tracked``): they are signed already, act on
the reader's consent or identity, and must work exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from portal.signing import ExpiredToken, InvalidToken, Purpose, Signer

OPT_IN_DAYS = 7
"""A double opt-in confirmation link works this long."""
CONTINUE_HOURS = 48
""""Continue on this device" works this long."""


class Links:
    """Absolute URLs under ``base_url`` with signed tokens."""

    def __init__(self, signer: Signer, base_url: str) -> None:
        self.signer = signer
        self.base_url = base_url.rstrip("/")

    @property
    def own_pages(self) -> str:
        """The prefix of the portal's /email/ pages, whose links are never wrapped."""
        return f"{self.base_url}/email/"

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

    def tracked(self, url: str) -> bool:
        """Whether a link in a mail is wrapped in a click URL: every http(s) link except the
        portal's own /email/ pages."""
        return url.startswith(("http://", "https://")) and not url.startswith(self.own_pages)

    def click(self, message_id: int, target: str) -> str:
        """``/email/click?t=``: records the click on message ``message_id``, then redirects."""
        token = self.signer.sign(Purpose.EMAIL_CLICK, {"m": message_id, "u": target})
        return self.url("/email/click", t=token)

    def open_pixel(self, message_id: int) -> str:
        """``/email/open?t=``: the 1x1 image whose loading records an open."""
        return self.url("/email/open", t=self.signer.sign(Purpose.EMAIL_OPEN, {"m": message_id}))


@dataclass(frozen=True, slots=True)
class Click:
    """What a click URL's token holds: the message and where its link pointed."""

    message_id: int
    target: str


def read_click(signer: Signer, token: str) -> Click | None:
    """The click a token stands for; None when it is forged, altered or not a click token."""
    value = _unsign(signer, Purpose.EMAIL_CLICK, token)
    if not isinstance(value, dict):
        return None
    message_id, target = _an_id(value.get("m")), value.get("u")
    if message_id is None or not isinstance(target, str):
        return None
    if urlsplit(target).scheme not in ("http", "https"):
        return None  # never signed so, but a redirect must never leave http(s)
    return Click(message_id, target)


def read_open(signer: Signer, token: str) -> int | None:
    """The message an open pixel's token names, or None."""
    value = _unsign(signer, Purpose.EMAIL_OPEN, token)
    return _an_id(value.get("m")) if isinstance(value, dict) else None


def _unsign(signer: Signer, purpose: Purpose, token: str) -> Any:
    if not token or len(token) > 8000:
        return None
    try:
        return signer.unsign(purpose, token)
    except InvalidToken:
        return None


def _an_id(value: Any) -> int | None:
    """A message id as signed (a positive int), or None."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


class BadLink(Exception):
    """A token that is forged, cut off, or holds something no link of ours holds."""


def read_opt_in(signer: Signer, token: str, *, expired_ok: bool = False) -> tuple[int, int]:
    """(lead, consent) of a confirmation link; ``ExpiredToken`` after ``OPT_IN_DAYS``
    (``expired_ok`` reads an expired one anyway: only to speak the reader's language)."""
    max_age = None if expired_ok else OPT_IN_DAYS * 24 * 3600
    value = _checked(signer, Purpose.OPT_IN, token, max_age)
    if not isinstance(value, dict):
        raise BadLink()
    lead_id, consent_id = _an_id(value.get("l")), _an_id(value.get("c"))
    if lead_id is None or consent_id is None:
        raise BadLink()
    return lead_id, consent_id


def read_unsubscribe(signer: Signer, token: str) -> tuple[str, int | None]:
    """(address, message id or None) of an unsubscribe link (these never expire)."""
    value = _checked(signer, Purpose.UNSUBSCRIBE, token, None)
    if not isinstance(value, dict):
        raise BadLink()
    address, message = value.get("a"), value.get("m")
    if not isinstance(address, str) or not 0 < len(address) <= 254:
        raise BadLink()
    if message is not None and _an_id(message) is None:
        raise BadLink()
    return address, message


def read_preferences(signer: Signer, token: str) -> int:
    """The lead of a preference center link (these never expire)."""
    value = _checked(signer, Purpose.PREFERENCES, token, None)
    lead_id = _an_id(value.get("l")) if isinstance(value, dict) else None
    if lead_id is None:
        raise BadLink()
    return lead_id


def _checked(signer: Signer, purpose: Purpose, token: str, max_age: int | None) -> Any:
    """The signed value; ``BadLink`` when forged or cut off, ``ExpiredToken`` when too old."""
    if not token or len(token) > 4000:
        raise BadLink()
    try:
        return signer.unsign(purpose, token, max_age=max_age)
    except ExpiredToken:
        raise
    except InvalidToken:
        raise BadLink() from None


def preferences_path(signer: Signer, lead_id: int) -> str:
    """The preference center of a lead, as a path on this site (forms post to 'self')."""
    return Links(signer, "").preferences(lead_id)


def read_continue(signer: Signer, token: str) -> tuple[int, int] | str:
    """(claim id, lead id) of a valid "continue on this device" link, else why not:
    ``expired`` (after ``CONTINUE_HOURS``) or ``invalid``."""
    try:
        value = _checked(signer, Purpose.EMAIL_LINK, token, CONTINUE_HOURS * 3600)
    except ExpiredToken:
        return "expired"
    except BadLink:
        return "invalid"
    if not isinstance(value, dict):
        return "invalid"
    claim_id, lead_id = _an_id(value.get("c")), _an_id(value.get("l"))
    if claim_id is None or lead_id is None:
        return "invalid"
    return claim_id, lead_id
