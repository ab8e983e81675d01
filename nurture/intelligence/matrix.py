"""The gap matrix as the console shows it: the cells the ``content-intelligence`` job wrote
for one dimension and language, laid out by stage and topic (or persona), and the gaps
ranked (``rules.ranked_gaps``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from content.models import Persona, Topic
from content.taxonomy import label_in
from content.words import N_, Said
from nurture.intelligence.gaps import ALL, DIMENSIONS
from nurture.intelligence.models import ContentCell
from nurture.intelligence.rules import Cell, ranked_gaps

GAPS_SHOWN = 10


class BadChoice(ValueError):
    """A dimension or language the matrix does not have; ``said`` names it."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


@dataclass(frozen=True, slots=True)
class MatrixView:
    dimension: str
    language: str
    languages: list[str]
    """The library's languages with cells (ALL first)."""
    stages: list[str]
    keys: list[tuple[str, str]]
    """(slug, label) of every topic or persona with a cell, by label."""
    cells: dict[tuple[str, str], Cell]
    gaps: list[Cell]
    computed_at: datetime | None

    def cell(self, stage: str, key: str) -> Cell:
        return self.cells.get((stage, key)) or Cell(stage, key)


def choose(dimension: str, language: str, languages: Sequence[str]) -> tuple[str, str]:
    """The dimension and language asked for ("" reads topic and the whole library), or
    ``BadChoice`` naming what was wrong."""
    dimension = dimension or DIMENSIONS[0]
    language = language or ALL
    if dimension not in DIMENSIONS:
        raise BadChoice(
            Said(
                N_("Show by: expected one of %(choices)s, not “%(got)s”"),
                choices=", ".join(DIMENSIONS),
                got=dimension[:40],
            )
        )
    if language not in languages:
        raise BadChoice(
            Said(
                N_("Language: expected one of %(choices)s, not “%(got)s”"),
                choices=", ".join(languages),
                got=language[:40],
            )
        )
    return dimension, language


def languages(session: Session) -> list[str]:
    found = set(session.scalars(select(ContentCell.language).distinct()))
    return [ALL, *sorted(found - {ALL})]


def read_matrix(
    session: Session,
    dimension: str,
    language: str,
    stages: Sequence[str],
    label_language: str,
    known_languages: Sequence[str] | None = None,
) -> MatrixView:
    """The cells of one dimension and language, with labels in ``label_language`` (a topic's
    or persona's own label there, else its English one)."""
    rows = session.scalars(
        select(ContentCell).where(
            ContentCell.dimension == dimension, ContentCell.language == language
        )
    ).all()
    cells = {
        (row.stage, row.key): Cell(
            stage=row.stage,
            topic=row.key,
            assets=row.assets,
            readers=row.readers,
            engaged_minutes=row.engaged_seconds / 60,
            stalled=row.stalled,
            stalled_here=row.stalled_here,
            exhausted=row.exhausted,
        )
        for row in rows
    }
    named: Sequence[Topic | Persona] = session.scalars(
        select(Topic) if dimension == "topic" else select(Persona)
    ).all()
    labels = {row.slug: label_in(row, label_language) for row in named}
    keys = sorted({key for _, key in cells}, key=lambda slug: (labels.get(slug) or slug).lower())
    computed = session.scalar(select(func.max(ContentCell.computed_at)))
    known = list(known_languages) if known_languages is not None else languages(session)
    return MatrixView(
        dimension=dimension,
        language=language,
        languages=known,
        stages=list(stages),
        keys=[(slug, labels.get(slug, slug)) for slug in keys],
        cells=cells,
        gaps=ranked_gaps(cells.values())[:GAPS_SHOWN],
        computed_at=computed,
    )
