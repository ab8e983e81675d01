"""Stages, topics and personas: the managed vocabularies assets are filed under."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.models import Persona, Topic
from content.printable import unprintable_said
from content.words import N_, Said

_T = TypeVar("_T", Topic, Persona)


@dataclass(frozen=True, slots=True)
class StageInfo:
    """A journey stage as the library shows it (the scoring model may rename them later)."""

    name: str
    label: str
    blurb: str


DEFAULT_STAGES: tuple[StageInfo, ...] = (
    StageInfo(
        "awareness",
        N_("Getting started"),
        N_("New to the topic? Short, open reads on the basics."),
    ),
    StageInfo(
        "consideration",
        N_("Compare approaches"),
        N_("Guides and webinars that weigh the options."),
    ),
    StageInfo(
        "decision",
        N_("Decide"),
        N_("Checklists, datasheets and business cases to choose well."),
    ),
    StageInfo("customer", N_("For customers"), N_("Get more out of what you already run.")),
)
"""Labels and blurbs in English, marked; the portal shows them with ``_()``."""
STAGE_NAMES = tuple(s.name for s in DEFAULT_STAGES)
STAGE_LABELS = {s.name: s.label for s in DEFAULT_STAGES}

_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"}
)


def slugify(text: str, max_length: int = 100) -> str:
    """URL slug from a title: "Leitfäden für B2B" → "leitfaeden-fuer-b2b"."""
    text = text.translate(_GERMAN)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _SLUG_STRIP.sub("-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


ACRONYMS = {
    word.lower(): word
    for word in (
        "ABM",
        "AI",
        "API",
        "B2B",
        "B2C",
        "BANT",
        "CDP",
        "CMS",
        "CRM",
        "CTA",
        "CX",
        "DACH",
        "DSGVO",
        "ERP",
        "FAQ",
        "GDPR",
        "ICP",
        "KPI",
        "MQL",
        "PDF",
        "ROI",
        "RFP",
        "SaaS",
        "SDR",
        "SEO",
        "SMB",
        "SQL",
        "UX",
    )
}
"""Words a slug spells in lower case that a label spells as they are known."""
COMPOUND_ENDINGS = frozenset(("based", "driven", "led", "facing", "centric", "oriented", "powered"))
"""Second halves of compound adjectives: "account-based", "data-driven", "product-led"."""
LABEL_MAX = 120


def label_from_slug(slug: str) -> str:
    """A readable label for a slug: "account-based-marketing" → "Account-based marketing",
    "crm-integration" → "CRM integration"."""
    words: list[str] = []
    for word in slug.replace("_", "-").split("-"):
        if not word:
            continue
        if word in COMPOUND_ENDINGS and words:
            words[-1] += f"-{word}"
        else:
            words.append(word)
    return _sentence(words)


def _sentence(words: list[str]) -> str:
    """Words as a label: acronyms spelled as they are known, the first letter upper case."""
    label = " ".join(ACRONYMS.get(word, word) for word in words)
    return label[:1].upper() + label[1:]


def _old_label_from_slug(slug: str) -> str:
    """The label the first releases derived (acronyms lower-cased, compounds split)."""
    label = " ".join(slug.replace("_", "-").split("-"))
    return label[:1].upper() + label[1:]


def label_for(name: str) -> str:
    """The label of a topic or persona an editor names: their own words when they capitalised
    them ("CRM Integration"), else derived ("crm integration" → "CRM integration")."""
    written = " ".join(name.split())[:LABEL_MAX].strip()
    if written == slugify(written):
        return label_from_slug(written)
    if any(c.isupper() for c in written):
        return written
    return _sentence(written.split(" "))


def label_in(row: Topic | Persona, language: str) -> str:
    """A topic's or persona's label in ``language``: its own there, else the English one."""
    return (row.labels or {}).get(language) or row.label


def ensure_topics(session: Session, names: Iterable[str]) -> list[Topic]:
    """The topics named (by slug or label), creating missing ones with ``label_for`` the name."""
    return _ensure(session, Topic, names)


def ensure_personas(session: Session, names: Iterable[str]) -> list[Persona]:
    return _ensure(session, Persona, names)


def _ensure(session: Session, model: type[_T], names: Iterable[str]) -> list[_T]:
    wanted: dict[str, str] = {}
    for name in names:
        slug = slugify(name)
        if slug:
            wanted.setdefault(slug, name)
    if not wanted:
        return []
    existing = {
        row.slug: row for row in session.scalars(select(model).where(model.slug.in_(list(wanted))))
    }
    for slug, name in wanted.items():
        row = existing.get(slug)
        if row is None:
            row = model(slug=slug, label=label_for(name))
            session.add(row)
            existing[slug] = row
        elif row.label == _old_label_from_slug(slug):
            row.label = label_from_slug(slug)  # derived badly before; an editor's label stays
    session.flush()
    return [existing[slug] for slug in wanted]


def all_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(func.lower(Topic.label))))


def all_personas(session: Session) -> list[Persona]:
    return list(session.scalars(select(Persona).order_by(func.lower(Persona.label))))


class LabelError(ValueError):
    """A label that cannot be kept; ``said`` says why (``str()`` in English)."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


def clean_label(label: str, *, required: bool = True) -> str:
    """A label as it is kept (whitespace collapsed), or ``LabelError``; "" only when not
    ``required``."""
    problem = unprintable_said(label, multiline=True)  # whitespace is collapsed below
    if problem:
        raise LabelError(Said(N_("Remove %(problem)s from the label."), problem=problem))
    label = " ".join(label.split())
    if (required and not label) or len(label) > LABEL_MAX:
        raise LabelError(Said(N_("A label needs 1 to 120 characters.")))
    return label


def rename(
    session: Session,
    model: type[Topic] | type[Persona],
    slug: str,
    label: str,
    translated: Mapping[str, str] | None = None,
) -> list[int]:
    """Give a topic or persona a new label, and its labels in other languages
    (``translated``: language → label, "" to drop it and show the English one there);
    returns the ids of the assets filed under it."""
    from content.models import asset_persona, asset_topic

    label = clean_label(label)
    others = {lang: clean_label(text, required=False) for lang, text in (translated or {}).items()}
    row = cast(Topic | Persona | None, session.scalar(select(model).where(model.slug == slug)))
    if row is None:
        raise LookupError(slug)
    row.label = label
    if others:
        labels = {**(row.labels or {}), **others}
        row.labels = {lang: text for lang, text in labels.items() if text}  # a new dict: saved
    link = asset_topic if model is Topic else asset_persona
    column = link.c.topic_id if model is Topic else link.c.persona_id
    return list(session.scalars(select(link.c.asset_id).where(column == row.id)))


def set_labels(session: Session, model: type[_T], labels: Mapping[str, Mapping[str, str]]) -> int:
    """Labels in other languages for existing topics or personas (slug → language → label),
    e.g. from an import folder's ``labels.yaml``; a slug not in use yet is skipped. Returns
    how many rows changed."""
    rows = session.scalars(select(model).where(model.slug.in_(list(labels)))).all()
    changed = 0
    for row in rows:
        wanted = {
            lang: clean_label(text, required=False) for lang, text in labels[row.slug].items()
        }
        english = wanted.pop("en", "")
        merged = {lang: text for lang, text in {**(row.labels or {}), **wanted}.items() if text}
        if merged != (row.labels or {}) or (english and english != row.label):
            row.labels = merged
            row.label = english or row.label
            changed += 1
    return changed
