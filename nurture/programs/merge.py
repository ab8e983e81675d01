"""Merge fields and content blocks in a program mail's Markdown, pure.

A marketer writes plain Markdown with two kinds of tag (never Jinja: a mail body is data
anyone with the marketer role can change, and must not run code):

- **merge fields** anywhere in the subject or body: ``{{ first_name | there }}`` is the lead's
  first name, or "there" when it is not known. Fields: ``first_name``, ``last_name``,
  ``company``, ``job_title``, ``industry``, ``country``. Values are escaped, so a company
  named ``*Acme*`` stays ``*Acme*``;
- **content blocks**, each on a line of its own, resolved at send time for each lead:
  ``{{ next_best_content 3 }}`` (the recommender's top 3 the lead has not read, with the
  reason for each), ``{{ latest_in_topic pipeline 2 }}`` (the newest 2 of a topic, by slug),
  ``{{ asset pricing-guide }}`` (one asset, by slug).

``check`` finds every fault at save time (an unknown field or block, a count out of range),
so a mail with a typo is never stored; ``fill`` and ``split`` do the work at send time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from content.words import N_, Said

FIELDS = ("first_name", "last_name", "company", "job_title", "industry", "country")
BLOCKS = ("next_best_content", "latest_in_topic", "asset")
MAX_ITEMS = 6
TAG = re.compile(
    r"\{\{\s*(?P<name>[A-Za-z_]+)(?P<args>(?:\s+[^\s|}]+)*)\s*(?:\|(?P<fallback>[^}]*))?\}\}"
)
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~])")


@dataclass(frozen=True, slots=True)
class Block:
    """A content block: its name, the topic or asset slug it names, and how many items."""

    name: str
    slug: str = ""
    count: int = 1


class MergeError(ValueError):
    """A tag that cannot be filled; ``said`` is the marked text (``str()`` its English)."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


def _block(name: str, args: list[str]) -> Block:
    if name == "next_best_content":
        count = _count(args[0] if args else "3")
        if len(args) > 1:
            raise MergeError(Said(N_("{{ next_best_content N }} takes one number")))
        return Block(name, "", count)
    if name == "latest_in_topic":
        if not args or len(args) > 2:
            raise MergeError(Said(N_("write {{ latest_in_topic TOPIC-SLUG N }}")))
        return Block(name, args[0], _count(args[1] if len(args) > 1 else "3"))
    if len(args) != 1:
        raise MergeError(Said(N_("write {{ asset ASSET-SLUG }}")))
    return Block(name, args[0], 1)


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_ITEMS:
        raise MergeError(
            Said(
                N_("%(text)s: the number of items is 1 to %(max)s"), text=repr(text), max=MAX_ITEMS
            )
        )
    return int(text)


def check(text: str, *, blocks_allowed: bool) -> None:
    """Raise ``MergeError`` naming the first tag that cannot be filled."""
    for line in text.splitlines():
        for match in TAG.finditer(line):
            name = match["name"]
            args = match["args"].split()
            if name in FIELDS:
                if args:
                    raise MergeError(
                        Said(
                            N_("%(tag)s: a merge field takes no words (use | fallback)"),
                            tag=match[0],
                        )
                    )
                continue
            if name not in BLOCKS:
                known = ", ".join(FIELDS + BLOCKS)
                raise MergeError(
                    Said(
                        N_("%(tag)s: unknown field or block (known: %(known)s)"),
                        tag=match[0],
                        known=known,
                    )
                )
            if not blocks_allowed:
                raise MergeError(
                    Said(
                        N_("%(tag)s: content blocks go in the body, not the subject"), tag=match[0]
                    )
                )
            if line.strip() != match[0]:
                raise MergeError(
                    Said(N_("%(tag)s: a content block goes on a line of its own"), tag=match[0])
                )
            _block(name, args)
        rest = TAG.sub("", line)
        if "{{" in rest:
            # A tag with a typo would otherwise reach the reader as written.
            fragment = rest[rest.index("{{") :][:24].strip()
            raise MergeError(
                Said(
                    N_("%(fragment)s: not a merge field or block ({{ company | you }})"),
                    fragment=fragment,
                )
            )


def escape_markdown(value: str) -> str:
    return MARKDOWN_SPECIAL.sub(r"\\\1", value)


def fill(text: str, values: Mapping[str, str], *, markdown: bool) -> str:
    """Replace merge fields with the lead's values (or their fallbacks); block tags stay."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in FIELDS:
            return match[0]
        value = (values.get(name) or "").strip() or (match["fallback"] or "").strip()
        return escape_markdown(value) if markdown else value

    return " ".join(TAG.sub(replace, text).split()) if not markdown else TAG.sub(replace, text)


def split(body: str) -> list[str | Block]:
    """The body as Markdown chunks and the blocks between them, in order."""
    parts: list[str | Block] = []
    chunk: list[str] = []
    for line in body.splitlines():
        match = TAG.fullmatch(line.strip())
        if match is not None and match["name"] in BLOCKS:
            if chunk:
                parts.append("\n".join(chunk))
                chunk = []
            parts.append(_block(match["name"], match["args"].split()))
        else:
            chunk.append(line)
    if chunk:
        parts.append("\n".join(chunk))
    return parts
