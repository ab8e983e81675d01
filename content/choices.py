"""Fields picked from a menu (type, stage, access, language) and what to say when a value
is not on it, in the words the reader knows: the menu's labels for an editor, the values
an import file spells out for a file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from content.words import N_, Said


@dataclass(frozen=True, slots=True)
class Choice:
    """A menu field: its name, what to say when it is empty or holds another value (marked
    texts with ``%(options)s``, and ``%(value)s`` for the other value), and its options
    (value → how the person filling it in knows that option)."""

    field: str
    missing: str
    unknown: str
    options: Mapping[str, str | Said]
    default: str = ""


def menu(
    labels: Mapping[Any, str], allowed: Iterable[Any], *, labelled: bool
) -> dict[str, str | Said]:
    """The options of a menu: each allowed value named by its label (a marked text, said in
    the reader's language), or by itself."""
    return {v: Said(labels[v]) if labelled and v in labels else v for v in map(str, allowed)}


def choice_problem(choice: Choice, value: str) -> Said | None:
    """Why ``value`` is not one of the choice's options, or None when it is."""
    if value in choice.options:
        return None
    options = or_list(list(choice.options.values()))
    if value == "":
        return Said(choice.missing, options=options)
    return Said(choice.unknown, value=value, options=options)


def or_list(words: Sequence[str | Said]) -> str | Said:
    """ "A, B or C" ("A, B oder C"): each word said in the reader's language when marked."""
    if len(words) < 2:
        return words[0] if words else ""
    head: str | Said = words[0]
    for word in words[1:-1]:
        head = Said(N_("%(list)s, %(item)s"), list=head, item=word)
    return Said(N_("%(list)s or %(item)s"), list=head, item=words[-1])
