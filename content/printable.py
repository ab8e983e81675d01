"""Printable text: what every text from outside must be before it is stored or shown.

A lone surrogate cannot be encoded as UTF-8 (it breaks JSON answers and the
database), PostgreSQL cannot store NUL in a text, and other control characters
hide or garble what a person reads. One pure check, used at every door: the
beacon, the forms, the JSON API, the importer and the URL of every request.
"""

from __future__ import annotations

import re
from typing import Any

from content.words import N_, Said

_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_WHITESPACE_NAMES = {"\t": "tab", "\n": "line break", "\r": "line break"}
_NAMES = {
    "surrogate": N_("the unpaired surrogate %(code)s at position %(position)s"),
    "control": N_("the control character %(code)s at position %(position)s"),
    "tab": N_("the tab %(code)s at position %(position)s"),
    "line break": N_("the line break %(code)s at position %(position)s"),
}


def unprintable(text: str, *, multiline: bool = False) -> str | None:
    """Why ``text`` cannot be kept as it is (the first refused character), or None.

    Refused: unpaired surrogates and control characters (C0, DEL, C1). Tab and
    line breaks are ordinary whitespace where a field may hold them (``multiline``:
    bodies, text areas, fields whose whitespace is collapsed anyway).
    The answer is a noun phrase that never contains the character itself, so it
    can be shown, logged or put in a URL: "the control character U+0000 at position 3".
    """
    said = unprintable_said(text, multiline=multiline)
    return str(said) if said is not None else None


def unprintable_said(text: str, *, multiline: bool = False) -> Said | None:
    """``unprintable`` as a marked text, for a reader who may read German."""
    found = (_MULTILINE if multiline else _SINGLE_LINE).search(text)
    if found is None:
        return None
    character = found.group()
    if "\ud800" <= character <= "\udfff":
        what = _NAMES["surrogate"]
    else:
        what = _NAMES[_WHITESPACE_NAMES.get(character, "control")]
    return Said(what, code=f"U+{ord(character):04X}", position=found.start() + 1)


def unprintable_json(value: Any, where: str) -> str | None:
    """The first text in decoded JSON (object keys and values, at any depth) that is not
    printable, as "WHERE.key[2] contains …", or None. Values may hold tabs and line breaks;
    keys may not. Walked without recursion, so deep nesting cannot exhaust the stack."""
    pending: list[tuple[Any, str]] = [(value, where)]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            problem = unprintable(item, multiline=True)
            if problem:
                return f"{path} contains {problem}"
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                problem = unprintable(key) if isinstance(key, str) else None
                if problem:
                    return f"a key of {path} contains {problem}"
                children.append((child, f"{path}.{key}"))
            pending.extend(reversed(children))
        elif isinstance(item, list | tuple):
            pending.extend(reversed([(child, f"{path}[{i}]") for i, child in enumerate(item)]))
    return None


def printable_text(text: str, replacement: str = "\ufffd") -> str:
    """``text`` with every refused character (tab and line breaks are kept) replaced."""
    return _MULTILINE.sub(replacement, text)


def printable_copy(value: Any) -> Any:
    """Decoded JSON with every refused character replaced by U+FFFD (keys and values alike).

    For text stored before it was checked at the door: showing it must not fail.
    """
    if isinstance(value, str):
        return printable_text(value)
    if isinstance(value, dict):
        return {
            _SINGLE_LINE.sub("\ufffd", k) if isinstance(k, str) else k: printable_copy(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [printable_copy(item) for item in value]
    return value
