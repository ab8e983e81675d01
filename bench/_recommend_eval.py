"""Recommendation hit rate on the simulated journeys (used by bench/journeys.py).

Before each simulated session the product's recommender, a popularity
baseline and a random pick each name three assets for the buyer (its lead,
or its browser while anonymous), from what the database holds at that
simulated moment. A hit: the first asset the buyer then opens that it had not
opened before is among the three. The buyers never see the lists (they pick
as the simulator says), so this measures prediction, not persuasion.

A fourth list is a ceiling, not a method: the three most read unread assets
of the stage the simulator has the buyer in (its truth, which no product
knows). The simulated buyers pick within a stage at random, whatever their
topic, so no ranking can do much better than that list.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import SessionSource
from nurture.ranking import DEFAULT_WEIGHTS, Audience, ReaderContext, Weights, rank
from nurture.recommendations import (
    AudienceCache,
    Catalog,
    lead_context,
    recommend_for_lead,
    recommend_for_visitor,
    visitor_context,
)
from tracking.pipeline import audience as audience_store
from tracking.rules.config import Model


@dataclass(slots=True)
class Guess:
    persona: str
    known: bool
    lists: dict[str, list[str]]
    before: frozenset[int]
    replay: tuple[ReaderContext, Audience, datetime] | None = None


@dataclass(slots=True)
class RecommendEval:
    """Collects the three lists before each session and scores them after it."""

    model: Model
    seed: int
    cache: AudienceCache = field(default_factory=AudienceCache)
    rng: random.Random = field(init=False)
    pending: dict[int, Guess] = field(default_factory=dict)
    hits: dict[str, list[tuple[str, bool, bool]]] = field(default_factory=lambda: defaultdict(list))
    """Method → (persona, known lead, hit) per scored session."""
    call_ms: list[float] = field(default_factory=list)
    slugs: dict[int, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    replays: list[tuple[tuple[ReaderContext, Audience, datetime], str]] = field(
        default_factory=list
    )
    catalog: Catalog | None = None
    counted: int = 0
    """Readers the audience job counted again (one per reader whose trail changed)."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed ^ 0x5EED)

    def catch_up(self, database: SessionSource) -> None:
        """What the recommendation-audience job does between requests (each session here)."""
        self.counted += audience_store.catch_up(database)

    def before(
        self,
        session: Session,
        number: int,
        persona: str,
        lead_id: int | None,
        visitor: str,
        touched: set[int],
        at: datetime,
        truth: str,
    ) -> None:
        if not self.slugs:
            rows = session.execute(select(Asset.id, Asset.slug, Asset.stage)).all()
            self.slugs = {asset_id: slug for asset_id, slug, _ in rows}
            self.stages = {slug: stage for _, slug, stage in rows}
        started = time.perf_counter()
        if lead_id is not None:
            found = recommend_for_lead(session, lead_id, self.model, at, cache=self.cache)
        else:
            found = recommend_for_visitor(session, visitor, self.model, at, cache=self.cache)
        self.call_ms.append((time.perf_counter() - started) * 1000)
        opened = {self.slugs[a] for a in touched}
        catalog = self.catalog = self.cache.catalog(session)
        reader = (
            lead_context(session, lead_id, catalog, self.model, at)
            if lead_id is not None
            else visitor_context(session, visitor, catalog, self.model, at)
        )
        reads = (r.slug for r in reader.reads) if reader is not None else ()
        audience = self.cache.audience(session, catalog, reads)
        readers = audience.readers
        unread = sorted(s for s in self.slugs.values() if s not in opened)
        popular_all = sorted(unread, key=lambda s: (-readers.get(s, 0), s))
        popular = popular_all[:3]
        self.pending[number] = Guess(
            persona,
            lead_id is not None,
            {
                "recommender": [r.slug for r in found],
                "popularity": popular,
                "random": self.rng.sample(unread, min(3, len(unread))),
                "ceiling": [s for s in popular_all if self.stages[s] == truth][:3],
            },
            frozenset(touched),
            (reader, audience, at) if reader is not None else None,
        )

    def after(self, number: int, touched: dict[int, str]) -> None:
        guess = self.pending.pop(number, None)
        if guess is None:
            return
        new = [a for a in touched if a not in guess.before]
        if not new:
            return
        target = self.slugs[new[0]]
        for method, names in guess.lists.items():
            self.hits[method].append((guess.persona, guess.known, target in names))
        if guess.replay is not None:
            self.replays.append((guess.replay, target))

    def replay(self, weights: Weights) -> float:
        """The recommender's hit rate on the captured sessions under other weights."""
        if not self.replays or self.catalog is None:
            return 0.0
        candidates = self.catalog.candidates
        hits = 0
        for (reader, audience, at), target in self.replays:
            found = rank(candidates, reader, audience, self.model, at, 3, weights)
            hits += any(r.slug == target for r in found)
        return hits / len(self.replays)

    def report(self) -> None:
        methods = ("recommender", "popularity", "random", "ceiling")

        def rate(method: str, keep: object = None) -> tuple[float, int]:
            rows = [h for h in self.hits[method] if keep is None or keep(h)]  # type: ignore[operator]
            return sum(h[2] for h in rows) / max(1, len(rows)), len(rows)

        print(
            "recommendations: hit rate at 3 for the next new asset a buyer opens"
            " (lists made before each session)"
        )
        print(f"  {'subjects':<30}" + "".join(f"{m:>13}" for m in methods) + f"{'n':>7}  ratio")
        groups: list[tuple[str, object]] = [
            ("all sessions", None),
            ("identified leads", lambda h: h[1]),
            ("anonymous browsers", lambda h: not h[1]),
        ]
        personas = sorted({h[0] for h in self.hits["recommender"]})
        groups += [(f"  {p}", lambda h, p=p: h[0] == p) for p in personas]
        for label, keep in groups:
            figures = [rate(m, keep) for m in methods]
            ratio = figures[0][0] / figures[1][0] if figures[1][0] else float("inf")
            print(
                f"  {label:<30}"
                + "".join(f"{value:>13.1%}" for value, _ in figures)
                + f"{figures[0][1]:>7}  {ratio:.2f}x popularity"
            )
        print(
            "  [aim: recommender ≥ 1.5x the popularity baseline; ceiling: the true stage's most"
            " read unread assets, which only the simulator knows]"
        )
        if self.call_ms:
            print(
                f"  recommend_for_lead/_visitor on this database: p50"
                f" {statistics.median(self.call_ms):.2f} ms, p90"
                f" {sorted(self.call_ms)[int(0.9 * len(self.call_ms))]:.2f} ms over"
                f" {len(self.call_ms)} calls; the audience job counted {self.counted:,} changed"
                " readers again"
            )


WEIGHT_VARIANTS: tuple[tuple[str, Weights], ...] = (
    ("default", DEFAULT_WEIGHTS),
    ("next stage 0.3", replace(DEFAULT_WEIGHTS, next_stage=0.3)),
    ("next stage 0.8", replace(DEFAULT_WEIGHTS, next_stage=0.8)),
    ("popularity 0.5", replace(DEFAULT_WEIGHTS, popularity=0.5)),
    ("popularity 1.0", replace(DEFAULT_WEIGHTS, popularity=1.0)),
    ("co-reading 0", replace(DEFAULT_WEIGHTS, co_reading=0.0)),
    ("co-reading 1.2", replace(DEFAULT_WEIGHTS, co_reading=1.2)),
    ("topic 0", replace(DEFAULT_WEIGHTS, topic=0.0)),
    ("topic 0.7", replace(DEFAULT_WEIGHTS, topic=0.7)),
    ("freshness 0", replace(DEFAULT_WEIGHTS, freshness=0.0, featured=0.0)),
)


def print_weight_sensitivity(evaluation: RecommendEval) -> None:
    print("recommendation weights (exploratory; the same captured sessions re-ranked):")
    for label, weights in WEIGHT_VARIANTS:
        print(f"  {label:<24} {evaluation.replay(weights):>7.1%}")
