"""A place in the lead list: the cursor its pages are cut by (keyset pagination).

A cursor names one lead by its value in the list's sort order and its id (ties in the sort are
broken by id), plus the row number it had when the page was shown. The next page is the leads
after it in that order, read from the sort's ``(column, id)`` index as one range, so the last
page costs what the first does; the row number only numbers the page ("leads 451-500"), it
never decides which leads are on it. In the URL a cursor is an opaque token (``after=`` or
``before=``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import datetime

SortValue = datetime | int | float | str
MAX_ROW = 1_000_000_000
MAX_ID = 2**63 - 1
MAX_TOKEN = 1_200
"""The longest token read (a 254-character email or a 200-character name fits)."""
MAX_TEXT = 300


class CursorRefused(ValueError):
    """The token was not made by ``Cursor.token`` for this sort order (or was altered)."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """One lead's place in one sort order of the list."""

    sort: str
    value: SortValue
    lead_id: int
    row: int
    """The lead's row number (1 = first) in the list when the cursor was made."""

    @property
    def token(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([self.sort, value, self.lead_id, self.row], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def __str__(self) -> str:
        return self.token


def read_cursor(token: str, sort: str, kind: type[SortValue]) -> Cursor:
    """The cursor a token names, for a list sorted by ``sort`` on values of type ``kind``."""
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        named, value, lead_id, row = json.loads(raw)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise CursorRefused("not a cursor") from None
    if named != sort:
        raise CursorRefused("a cursor of another sort order")
    if not (_whole(lead_id) and 0 < lead_id <= MAX_ID and _whole(row) and 0 < row <= MAX_ROW):
        raise CursorRefused("a cursor with an impossible id or row")
    return Cursor(sort, _value(value, kind), lead_id, row)


def _whole(number: object) -> bool:
    return isinstance(number, int) and not isinstance(number, bool)


def _value(value: object, kind: type[SortValue]) -> SortValue:
    if kind is datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise CursorRefused("a cursor with a malformed time") from None
        if moment.tzinfo is not None:
            return moment
    elif kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value):
            return float(value)
    elif kind is int and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) < 2**63:
            return value
    elif kind is str and isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    raise CursorRefused("a cursor whose value does not fit the sort order")
