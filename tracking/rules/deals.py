"""What a deal posted by the CRM must be, pure: an external id, a name, an amount kept exactly
in hundredths, an ISO 4217 currency, a stage and times with a zone.

Each check returns the clean value or raises ``DealRefused`` naming the field, so the API can
answer with every refused part (``tests/tracking/rules/test_deal_rules.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from content.printable import unprintable

MAX_EXTERNAL_ID = 200
MAX_NAME = 300
MAX_AMOUNT_MINOR = 10**14 - 1
"""999,999,999,999.99: a trillion less a cent, in any currency (sums of many deals stay far
within a 64-bit integer on both backends)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a posted time may be (the CRM's clock may run a little ahead)."""
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class DealRefused(ValueError):
    """A posted field Leadshelf cannot keep: ``field`` names it, the message says why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(why)
        self.field = field
        self.why = why


def external_id(value: str) -> str:
    """The CRM's id of the deal, kept exactly: 1 to 200 printable characters."""
    if not value.strip():
        raise DealRefused("external_id", "must not be empty")
    if len(value) > MAX_EXTERNAL_ID:
        raise DealRefused("external_id", f"is longer than {MAX_EXTERNAL_ID} characters")
    problem = unprintable(value)
    if problem:
        raise DealRefused("external_id", f"contains {problem}")
    return value


def name(value: str) -> str:
    """The deal's name as a marketer reads it (surrounding blanks dropped), 1 to 300
    characters on one line."""
    problem = unprintable(value)
    if problem:
        raise DealRefused("name", f"contains {problem}")
    value = value.strip()
    if not value:
        raise DealRefused("name", "must not be empty")
    if len(value) > MAX_NAME:
        raise DealRefused("name", f"is longer than {MAX_NAME} characters")
    return value


def amount_minor(value: Decimal) -> int:
    """The amount in hundredths (``12000.5`` → 1200050), exactly: a finite, non-negative
    number with at most two decimals (``1.230`` is 1.23; ``1.234`` is refused), below a
    trillion."""
    if not value.is_finite():
        raise DealRefused("amount", "must be a number")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if sign and any(digits):
        raise DealRefused("amount", "must not be negative")
    shift = exponent + 2  # the power of ten of the last digit, counted in hundredths
    if shift < 0:
        if any(digits[shift:]):
            raise DealRefused("amount", "has more than two decimals")
        digits, shift = digits[:shift], 0
    significant = "".join(map(str, digits)).lstrip("0")
    if len(significant) + shift > len(str(MAX_AMOUNT_MINOR)):
        raise DealRefused("amount", "is a trillion or more")
    return int(significant + "0" * shift) if significant else 0


def amount_text(minor: int) -> str:
    """Hundredths as the API writes an amount: ``"12000.50"`` (a string, exact)."""
    return f"{minor // 100}.{minor % 100:02d}"


def amount_label(minor: int, currency: str) -> str:
    """An amount as the console shows it: ``EUR 12,000.50``."""
    return f"{currency} {minor // 100:,}.{minor % 100:02d}"


def currency(value: str) -> str:
    """An ISO 4217 code: three letters, upper-cased (``eur`` → ``EUR``)."""
    if not _CURRENCY.fullmatch(value):
        raise DealRefused("currency", "must be an ISO 4217 code of three letters, like EUR")
    return value.upper()


def moment(field: str, value: str, now: datetime) -> datetime:
    """An ISO 8601 time with a zone, in UTC; not later than a few minutes from now."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DealRefused(field, "must be an ISO 8601 time, like 2026-11-24T10:00:00Z") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise DealRefused(field, "needs a time zone (Z or an offset such as +01:00)")
    try:
        at = parsed.astimezone(UTC)
    except OverflowError:
        raise DealRefused(field, "is out of range") from None
    if at > now + CLOCK_SKEW:
        raise DealRefused(field, "is in the future")
    return at
