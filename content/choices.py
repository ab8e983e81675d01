"""Fields picked from a menu (type, stage, access, language) and what to say when a value
is not on it, in the words the reader knows: the menu's labels for an editor, the values
an import file spells out for a file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Choice:
    """A menu field: its name, what the form calls it, and its options (value → how the
    person filling it in knows that option)."""

    field: str
    noun: str
    options: Mapping[str, str]
    default: str = ""


def menu(labels: Mapping[Any, str], allowed: Iterable[Any], *, labelled: bool) -> dict[str, str]:
    """The options of a menu: each allowed value named by its label, or by itself."""
    return {v: labels.get(v, v) if labelled else v for v in map(str, allowed)}


def choice_problem(choice: Choice, value: str) -> str | None:
    """Why ``value`` is not one of the choice's options, or None when it is."""
    if value in choice.options:
        return None
    article = "an" if choice.noun[:1] in "aeiou" else "a"
    options = or_list(list(choice.options.values()))
    if value == "":
        return f"Choose {article} {choice.noun}: {options}."
    return f"{value!r} is not {article} {choice.noun} we offer. Choose {options}."


def or_list(words: list[str]) -> str:
    """ "A, B or C" """
    return f"{', '.join(words[:-1])} or {words[-1]}" if len(words) > 1 else "".join(words)
