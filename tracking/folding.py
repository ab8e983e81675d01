"""The lead list's search text: email, name and company folded so that case and accents
do not matter ("MÜLLER", "müller" and "muller" all find "Müller").

Pure: the lead row stores ``search_text(email, name, company)`` and the console folds
what the marketer typed with the same ``fold``, so one ``LIKE`` on one column answers a
search, and a trigram index can serve it on PostgreSQL. Changing ``fold`` changes what
is stored: a migration must then fill ``lead.search_text`` again.
"""

from __future__ import annotations

import unicodedata

SEPARATOR = "\n"
"""Between the folded fields. ``fold`` turns control characters into spaces, so a folded
query never contains it and never matches across two fields."""

LETTERS = str.maketrans(
    {
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    }
)
"""Latin letters NFKD leaves whole (ligatures, letters with a stroke), spelled as people
type them on a keyboard without them."""


def fold(text: str) -> str:
    """``text`` without case and accents: compatibility-decomposed (NFKD), case-folded,
    combining marks dropped, the few undecomposable Latin letters spelled out, control
    characters (tabs, newlines) made spaces."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = (
        " " if unicodedata.category(c) == "Cc" else c
        for c in decomposed
        if not unicodedata.combining(c)
    )
    return "".join(kept).translate(LETTERS)


def search_text(email: str, name: str, company: str) -> str:
    """What the lead row stores for the lead list's search."""
    return SEPARATOR.join(fold(part) for part in (email, name, company))
