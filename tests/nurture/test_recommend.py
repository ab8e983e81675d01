"""Recommendation rules with plain data: stage fit, fast lane, signals, diversity and reasons."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.ranking import (
    MAX_PER_KIND,
    Audience,
    Candidate,
    Read,
    ReaderContext,
    content_fast_lane,
    decision_stage,
    personas_from_title,
    rank,
    stage_fit,
)
from tracking.pipeline.audience import co_reading
from tracking.rules.config import Model, ScoringModel

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
MODEL = Model()


def asset(
    slug: str, stage: str = "awareness", kind: str = "article", **fields: object
) -> Candidate:
    values: dict[str, object] = {"title": slug.replace("-", " ").title(), "published_at": OLD}
    values.update(fields)
    return Candidate(slug=slug, kind=kind, stage=stage, **values)  # type: ignore[arg-type]


def read(slug: str, weight: float = 5.0, topics: tuple[str, ...] = (), **fields: object) -> Read:
    return Read(slug, fields.pop("title", slug.title()), weight, topics, **fields)  # type: ignore[arg-type]


def slugs(recommendations: list) -> list[str]:  # type: ignore[type-arg]
    return [r.slug for r in recommendations]


STRANGER = ReaderContext("awareness")
NOBODY = Audience()


# --- stage fit ---------------------------------------------------------------------------------


def test_the_current_stage_and_the_next_one_fit_and_the_current_weighs_more() -> None:
    fit = stage_fit(ReaderContext("awareness"), MODEL)
    assert set(fit) == {"awareness", "consideration"}
    assert fit["awareness"] > fit["consideration"] > 0


def test_a_customer_gets_customer_content_only() -> None:
    assert set(stage_fit(ReaderContext("customer"), MODEL)) == {"customer"}


def test_the_content_fast_lane_skips_ahead_to_decision() -> None:
    fast = ReaderContext("awareness", fast_lane=True)
    fit = stage_fit(fast, MODEL)
    assert max(fit, key=fit.__getitem__) == "decision"
    assert "awareness" not in fit
    candidates = [
        asset("basics", kind="video"),
        asset("compare", "consideration", "ebook"),
        asset("pricing", "decision", "datasheet"),
    ]
    ranked = rank(candidates, fast, NOBODY, MODEL, NOW)
    assert slugs(ranked) == ["pricing", "compare", "basics"]
    assert ranked[0].reason == "For readers ready to decide"


def test_the_fast_lane_means_nothing_once_in_decision() -> None:
    fit = stage_fit(ReaderContext("decision", fast_lane=True), MODEL)
    assert fit["decision"] == 1.0
    assert set(fit) == {"decision", "customer"}


def test_decision_evidence_opens_the_fast_lane_at_half_the_decision_threshold() -> None:
    threshold = MODEL.scoring.stage_thresholds["decision"]
    assert content_fast_lane("awareness", threshold / 2, MODEL)
    assert not content_fast_lane("awareness", threshold / 2 - 0.01, MODEL)
    assert not content_fast_lane("awareness", 0.0, MODEL)
    assert not content_fast_lane("decision", 100.0, MODEL)
    assert not content_fast_lane("customer", 100.0, MODEL)


def test_stage_names_come_from_the_model() -> None:
    aida = dataclasses.replace(
        Model(),
        stages=("attention", "interest", "desire", "action"),
        stage_labels={"attention": "Attention", "interest": "Interest", "desire": "Desire",
                      "action": "Action"},
        scoring=dataclasses.replace(ScoringModel(), customer_stage="",
                                    stage_thresholds={"action": 12.0}),
    )  # fmt: skip
    assert decision_stage(aida) == "action"
    assert decision_stage(MODEL) == "decision"
    assert set(stage_fit(ReaderContext("interest"), aida)) == {"interest", "desire"}
    reader = ReaderContext("interest", reads=(read("x"),))
    candidates = [asset("a", "attention"), asset("d", "desire")]
    ranked = rank(candidates, reader, Audience(readers={"d": 3}), aida, NOW)
    assert ranked[0].slug == "d"
    assert ranked[0].reason == "A next step: Desire"


def test_other_stages_only_fill_what_the_fitting_ones_cannot_nearest_first() -> None:
    candidates = [
        asset("aw-1", "awareness"),
        asset("dec-1", "decision", "datasheet"),
        asset("con-1", "consideration", "whitepaper"),
        asset("cus-1", "customer", "checklist"),
    ]
    reader = ReaderContext("consideration")
    assert slugs(rank(candidates, reader, NOBODY, MODEL, NOW, limit=2)) == ["con-1", "dec-1"]
    assert slugs(rank(candidates, reader, NOBODY, MODEL, NOW, limit=4))[2:] == ["aw-1", "cus-1"]


# --- consumed, diversity, limit ----------------------------------------------------------------


def test_consumed_and_read_assets_are_never_offered() -> None:
    candidates = [asset("a"), asset("b"), asset("c"), asset("d")]
    reader = ReaderContext("awareness", reads=(read("a"),), consumed=frozenset({"b"}))
    assert slugs(rank(candidates, reader, NOBODY, MODEL, NOW, limit=10)) == ["c", "d"]


def test_at_most_two_of_one_kind_even_when_they_score_best() -> None:
    candidates = [asset(f"article-{i}", kind="article", featured=True) for i in range(5)]
    candidates.append(asset("a-checklist", kind="checklist"))
    ranked = rank(candidates, STRANGER, NOBODY, MODEL, NOW)
    assert [r.kind for r in ranked].count("article") == MAX_PER_KIND
    assert "a-checklist" in slugs(ranked)


def test_a_short_list_when_diversity_leaves_nothing_else() -> None:
    candidates = [asset(f"article-{i}") for i in range(5)]
    assert len(rank(candidates, STRANGER, NOBODY, MODEL, NOW, limit=3)) == 2
    assert rank(candidates, STRANGER, NOBODY, MODEL, NOW, limit=0) == []


# --- signals and reasons -----------------------------------------------------------------------


def test_topic_affinity_ranks_the_readers_topic_first_with_the_read_as_reason() -> None:
    candidates = [
        asset("crm-compare", "consideration", "whitepaper", topics=("crm",)),
        asset("scoring-compare", "consideration", "webinar", topics=("lead-scoring",)),
    ]
    reader = ReaderContext(
        "consideration", reads=(read("intro", topics=("lead-scoring",), title="Scoring 101"),)
    )
    ranked = rank(candidates, reader, NOBODY, MODEL, NOW)
    assert slugs(ranked) == ["scoring-compare", "crm-compare"]
    assert ranked[0].reason == "Because you read 'Scoring 101'"


def test_recent_reads_weigh_more_than_faded_ones() -> None:
    candidates = [
        asset("on-crm", topics=("crm",), kind="video"),
        asset("on-scoring", topics=("lead-scoring",), kind="ebook"),
    ]
    reader = ReaderContext(
        "awareness",
        reads=(read("old", 0.5, ("crm",)), read("fresh", 6.0, ("lead-scoring",), title="Fresh")),
    )
    assert slugs(rank(candidates, reader, NOBODY, MODEL, NOW)) == ["on-scoring", "on-crm"]


def test_co_reading_says_who_went_on_to_read_it() -> None:
    candidates = [asset("next-up", kind="video"), asset("other", kind="ebook")]
    audience = Audience(readers={"next-up": 4, "other": 4}, co_reading={"intro": {"next-up": 0.6}})
    reader = ReaderContext("awareness", reads=(read("intro", title="Intro guide"),))
    ranked = rank(candidates, reader, audience, MODEL, NOW)
    assert ranked[0].slug == "next-up"
    assert ranked[0].reason == "Readers of 'Intro guide' went on to read this"


def test_weak_co_reading_is_noise() -> None:
    audience = Audience(co_reading={"intro": {"next-up": 0.01}})
    reader = ReaderContext("awareness", reads=(read("intro", title="Intro guide"),))
    ranked = rank([asset("next-up")], reader, audience, MODEL, NOW)
    assert "went on" not in ranked[0].reason


def test_persona_from_reads_and_job_title() -> None:
    labels = {"sales-leader": "Sales leader", "marketing-ops": "Marketing Ops"}
    assert personas_from_title("Head of Sales DACH", labels) == {"sales-leader": 1.0}
    assert personas_from_title("Marketing Operations Manager", labels) == {"marketing-ops": 1.0}
    assert personas_from_title("CFO", labels) == {}
    candidates = [
        asset("for-ops", kind="video", personas=("marketing-ops",)),
        asset("for-sales", kind="ebook", personas=("sales-leader",)),
    ]
    reader = ReaderContext("awareness", consumed=frozenset({"x"}), personas={"sales-leader": 1.0})
    ranked = rank(candidates, reader, NOBODY, MODEL, NOW)
    assert ranked[0].slug == "for-sales"
    assert ranked[0].reason == "Written for people in your role"


def test_a_stranger_gets_popular_and_featured_first_stage_content() -> None:
    candidates = [
        asset("popular", kind="video"),
        asset("quiet", kind="ebook"),
        asset("picked", kind="checklist", featured=True),
        asset("deep-dive", "decision", "datasheet"),
    ]
    audience = Audience(readers={"popular": 40, "quiet": 1, "deep-dive": 90})
    ranked = rank(candidates, STRANGER, audience, MODEL, NOW)
    assert slugs(ranked) == ["popular", "picked", "quiet"]
    assert ranked[0].reason == "Popular with new readers"
    assert ranked[1].reason == "Picked by our editors"
    assert not STRANGER.personal


def test_new_assets_say_so() -> None:
    candidates = [
        asset("brand-new", published_at=NOW - timedelta(days=2)),
        asset("old", kind="ebook"),
    ]
    ranked = rank(candidates, STRANGER, NOBODY, MODEL, NOW)
    assert ranked[0].slug == "brand-new"
    assert ranked[0].reason == "New in the library"


def test_popular_at_the_readers_stage() -> None:
    reader = ReaderContext("consideration", reads=(read("x"),))
    ranked = rank([asset("c", "consideration")], reader, Audience(readers={"c": 9}), MODEL, NOW)
    assert ranked[0].reason == "Popular with readers at your stage"


# --- co-reading table --------------------------------------------------------------------------


def test_co_reading_counts_readers_who_opened_y_within_the_next_three() -> None:
    readers, shares = co_reading([[1, 2, 3, 4, 5], [1, 3], [2, 1, 1]])
    assert readers == {1: 3, 2: 2, 3: 2, 4: 1, 5: 1}
    assert shares[1] == {2: 1 / 3, 3: 2 / 3, 4: 1 / 3}  # 5 is four steps after 1
    assert shares[2][1] == 0.5


# --- properties --------------------------------------------------------------------------------

STAGES = st.sampled_from(MODEL.stages)
KINDS = st.sampled_from(("article", "webinar", "ebook", "video"))
TOPICS = st.lists(st.sampled_from(("t1", "t2", "t3")), max_size=2, unique=True).map(tuple)
CANDIDATES = st.lists(
    st.builds(
        asset,
        slug=st.text("abcdef", min_size=1, max_size=4),
        stage=STAGES,
        kind=KINDS,
        topics=TOPICS,
        featured=st.booleans(),
    ),
    max_size=14,
    unique_by=lambda c: c.slug,
)
READERS = st.builds(
    ReaderContext,
    stage=STAGES,
    fast_lane=st.booleans(),
    reads=st.lists(
        st.builds(read, st.text("abcdef", min_size=1, max_size=4), st.floats(0, 20), TOPICS),
        max_size=4,
    ).map(tuple),
    consumed=st.frozensets(st.text("abcdef", min_size=1, max_size=4), max_size=5),
)


@settings(max_examples=300, deadline=None)
@given(CANDIDATES, READERS, st.integers(0, 6))
def test_ranking_properties(candidates: list[Candidate], reader: ReaderContext, limit: int) -> None:
    audience = Audience(
        readers={c.slug: len(c.slug) for c in candidates},
        co_reading={r.slug: {c.slug: 0.5 for c in candidates[:2]} for r in reader.reads},
    )
    ranked = rank(candidates, reader, audience, MODEL, NOW, limit)
    consumed = reader.consumed | {r.slug for r in reader.reads}
    assert len(ranked) <= limit
    assert not consumed & set(slugs(ranked)), "never an asset already consumed"
    assert all(
        [r.kind for r in ranked].count(kind) <= MAX_PER_KIND for kind in {r.kind for r in ranked}
    )
    assert len(set(slugs(ranked))) == len(ranked)
    assert all(r.reason for r in ranked)
    assert ranked == rank(list(reversed(candidates)), reader, audience, MODEL, NOW, limit)
    fit = stage_fit(reader, MODEL)
    outside = [r for r in ranked if r.stage not in fit]
    if outside:  # only when no fitting, unconsumed asset of a kind with room was left out
        kinds = {r.kind: [x.kind for x in ranked].count(r.kind) for r in ranked}
        left = [
            c
            for c in candidates
            if c.stage in fit and c.slug not in consumed and c.slug not in slugs(ranked)
        ]
        assert all(kinds.get(c.kind, 0) >= MAX_PER_KIND for c in left)


@pytest.mark.parametrize("stage", MODEL.stages)
def test_every_reason_is_short(stage: str) -> None:
    candidates = [asset(f"{s}-{k}", s, k) for s in MODEL.stages for k in ("video", "ebook")]
    reader = ReaderContext(stage, reads=(read("x", title="A rather long title of a guide"),))
    for recommendation in rank(candidates, reader, Audience(), MODEL, NOW, limit=8):
        assert 0 < len(recommendation.reason) <= 80
