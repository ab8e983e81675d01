"""Fit, engagement, grade, category, milestones, MQL and lifecycle rules, with their reasons."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tracking.rules.config import DEFAULT_FIT_RULES, Milestone, ScoringModel
from tracking.rules.journey import Accumulator, JourneyState, Touch, apply
from tracking.rules.scoring import (
    Category,
    FitScore,
    Lifecycle,
    LifecycleFacts,
    category,
    engagement,
    fit,
    grade,
    is_mql,
    manual_lifecycle,
    milestones,
    next_lifecycle,
)

SCORING = ScoringModel(half_life_days=30.0)  # the reference half-life of the tables below
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)

# --- fit -----------------------------------------------------------------------------------------

# fmt: off
FIT_TABLE = [
    ("budget", "approved", 20), ("budget", "planned", 12), ("budget", "none", 0),
    ("authority", "decision_maker", 20), ("authority", "influencer", 12),
    ("authority", "user", 4),
    ("need", "Consolidate our marketing tools", 15), ("need", "x", 15),
    ("timeframe", "0-3m", 15), ("timeframe", "3-6m", 10), ("timeframe", "6-12m", 5),
    ("timeframe", "12m+", 0), ("timeframe", "unknown", 0),
    ("company_size", "1-9", 0), ("company_size", "10-49", 6), ("company_size", "50-249", 12),
    ("company_size", "250-999", 15), ("company_size", "1000+", 15),
    ("job_title", "Head of Marketing", 5), ("industry", "Logistics", 5),
    ("project", "yes", 5), ("project", "no", 0),
]
# fmt: on


def test_the_fit_table_covers_every_rule() -> None:
    table = {(name, answer) for name, answer, _ in FIT_TABLE}
    for name, rules in DEFAULT_FIT_RULES.items():
        for answer in rules:
            assert answer == "*" or (name, answer) in table


@pytest.mark.parametrize(("name", "answer", "points"), FIT_TABLE)
def test_each_answer_earns_its_fit_points(name: str, answer: str, points: int) -> None:
    assert fit({name: answer}, SCORING) == FitScore(points, ((name, answer, float(points)),))


@pytest.mark.parametrize(
    ("profile", "score"),
    [
        pytest.param({}, 0, id="nothing"),
        pytest.param({"budget": "lots"}, 0, id="unknown-budget"),
        pytest.param({"company_size": "5000"}, 0, id="unknown-size"),
        pytest.param({"timeframe": "someday", "authority": "ceo"}, 0, id="unknown-answers"),
        pytest.param({"budget": ""}, 0, id="empty-answer"),
        pytest.param(
            {"email": "ada@example.com", "first_name": "Ada", "company": "Acme", "country": "DE"},
            0,
            id="fields-without-rules",
        ),
    ],
)
def test_answers_the_rules_do_not_know_earn_nothing(profile: dict[str, str], score: int) -> None:
    assert fit(profile, SCORING).score == score


def test_breakdown_lists_the_answers_in_rule_order() -> None:
    profile = {
        "email": "ada@example.com",
        "first_name": "Ada",
        "company": "Acme",
        "job_title": "CMO",
        "budget": "planned",
        "timeframe": "12m+",
    }
    assert fit(profile, SCORING) == FitScore(
        17, (("budget", "planned", 12.0), ("timeframe", "12m+", 0.0), ("job_title", "CMO", 5.0))
    )


def test_a_perfect_profile_scores_100() -> None:
    profile = {
        "budget": "approved",
        "authority": "decision_maker",
        "need": "Fewer tools",
        "timeframe": "0-3m",
        "company_size": "1000+",
        "job_title": "CMO",
        "industry": "Logistics",
        "project": "yes",
    }
    result = fit(profile, SCORING)
    assert result.score == 100
    assert [name for name, _, _ in result.breakdown] == list(DEFAULT_FIT_RULES)
    bant = sum(p for name, _, p in result.breakdown if name in {"budget", "authority", "need"})
    assert bant + dict((n, p) for n, _, p in result.breakdown)["timeframe"] == 70


def test_typical_profiles() -> None:
    influencer = {"authority": "influencer", "company_size": "50-249", "industry": "Retail"}
    assert fit(influencer, SCORING).score == 29
    planner = {"budget": "planned", "authority": "decision_maker", "timeframe": "3-6m"}
    assert fit(planner, SCORING).score == 42


def test_fit_is_capped_at_100() -> None:
    scoring = dataclasses.replace(
        SCORING, fit_rules={"need": {"*": 80}, "budget": {"approved": 50, "planned": 30}}
    )
    result = fit({"need": "x", "budget": "approved"}, scoring)
    assert result == FitScore(100, (("need", "x", 80.0), ("budget", "approved", 50.0)))
    assert fit({"need": "x"}, scoring).score == 80


def test_an_exact_answer_beats_the_star_rule() -> None:
    scoring = dataclasses.replace(SCORING, fit_rules={"industry": {"*": 5, "Manufacturing": 10}})
    assert fit({"industry": "Manufacturing"}, scoring).score == 10
    assert fit({"industry": "Retail"}, scoring).score == 5


# --- engagement ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accumulator", "score"),
    [
        pytest.param(Accumulator(), 0.0, id="nothing"),
        pytest.param(Accumulator(12.0, NOW), 12.0, id="fresh"),
        pytest.param(Accumulator(20.0, NOW - timedelta(days=30)), 10.0, id="one-half-life"),
        pytest.param(Accumulator(20.0, NOW - timedelta(days=90)), 2.5, id="three-half-lives"),
        pytest.param(Accumulator(10.0, NOW - timedelta(days=10)), 7.94, id="rounded-to-2"),
        pytest.param(Accumulator(5.0, NOW + timedelta(days=3)), 5.0, id="later-never-grows"),
    ],
)
def test_engagement_is_decayed_to_now(accumulator: Accumulator, score: float) -> None:
    assert engagement(JourneyState(engagement=accumulator), NOW, SCORING) == score


def test_engagement_of_a_trail() -> None:
    state = apply(
        JourneyState(),
        [
            Touch("webinar_attend", NOW - timedelta(days=60), 21, "decision"),
            Touch("download", NOW - timedelta(days=30), 11, "consideration"),
            Touch("page_view", NOW),
        ],
        SCORING,
    )
    assert engagement(state, NOW, SCORING) == 4.7  # 10/4 + 4/2 + 0.2
    assert engagement(state, NOW + timedelta(days=30), SCORING) == 2.35


# --- grade ---------------------------------------------------------------------------------------

# fmt: off
GRADE_TABLE = [
    pytest.param(60, 25, "A", "fit high (60), engagement high (25)", id="high-high"),
    pytest.param(60, 8, "B", "fit high (60), engagement medium (8)", id="high-medium"),
    pytest.param(60, 7.99, "C", "fit high (60), engagement low (7.99)", id="high-low"),
    pytest.param(59.99, 25, "B", "fit medium (59.99), engagement high (25)", id="medium-high"),
    pytest.param(59.99, 24.99, "C", "fit medium (59.99), engagement medium (24.99)",
                 id="medium-medium"),
    pytest.param(59.99, 7.99, "D",
                 "fit medium (59.99), engagement low (7.99); next: raise interest",
                 id="medium-low"),
    pytest.param(29.99, 25, "C", "fit low (29.99), engagement high (25)", id="low-high"),
    pytest.param(29.99, 8, "D",
                 "fit low (29.99), engagement medium (8); next: complete the profile",
                 id="low-medium"),
    pytest.param(100, 310.5, "A", "fit high (100), engagement high (310.5)", id="top"),
    pytest.param(45, 0, "D", "fit medium (45), engagement low (0); next: raise interest",
                 id="no-interest"),
    pytest.param(0, 12, "D", "fit low (0), engagement medium (12); next: complete the profile",
                 id="no-profile"),
]
# fmt: on


@pytest.mark.parametrize(("fit_score", "engagement_score", "letter", "reason"), GRADE_TABLE)
def test_grade(fit_score: float, engagement_score: float, letter: str, reason: str) -> None:
    assert grade(fit_score, engagement_score, SCORING) == (letter, reason)


def test_grade_e_thin_profile_and_no_interest() -> None:
    letter, reason = grade(29.99, 7.99, SCORING)
    assert letter == "E"
    assert reason.startswith("fit low (29.99), engagement low (7.99); next: ")


def test_grade_with_custom_bands_and_matrix() -> None:
    scoring = dataclasses.replace(
        SCORING,
        fit_bands=(80.0, 50.0),
        engagement_bands=(40.0, 20.0),
        grade_matrix=("AAB", "BBC", "CDE"),
    )
    assert grade(79, 40, scoring) == ("B", "fit medium (79), engagement high (40)")
    assert grade(80, 19.99, scoring) == ("B", "fit high (80), engagement low (19.99)")
    assert grade(49, 20, scoring) == (
        "D",
        "fit low (49), engagement medium (20); next: complete the profile",
    )


# --- category ------------------------------------------------------------------------------------

IDENTITY = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
BANT_ANSWERS = {
    "budget": "planned",
    "authority": "decision_maker",
    "need": "Consolidate our marketing tools",
    "timeframe": "6-12m",
}

# fmt: off
CATEGORY_TABLE = [
    pytest.param({}, 0, Category.KNOWN, "identified", id="nothing"),
    pytest.param({"email": "ada@example.com"}, 1, Category.KNOWN, "identified", id="one-asset"),
    pytest.param(IDENTITY, 1, Category.KNOWN, "identified", id="names-do-not-count"),
    pytest.param({"email": "ada@example.com"}, 2, Category.TWO_TOUCH, "engaged with 2 assets",
                 id="two-assets"),
    pytest.param(IDENTITY, 7, Category.TWO_TOUCH, "engaged with 7 assets", id="seven-assets"),
    pytest.param(IDENTITY | {"company": "Acme"}, 0, Category.PROFILING_QUESTION,
                 "answered: company", id="one-extra-answer"),
    pytest.param(IDENTITY | {"job_title": "CMO", "country": "DE"}, 5,
                 Category.PROFILING_QUESTION, "answered: country, job_title",
                 id="profiling-beats-two-touch"),
    pytest.param({"company_size": "1-9"}, 0, Category.PROFILING_QUESTION,
                 "answered: company_size", id="unhoped-size"),
    pytest.param({"authority": "user", "budget": "none", "timeframe": "12m+"}, 0,
                 Category.PROFILING_QUESTION, "answered: authority, budget, timeframe",
                 id="unhoped-bant-answers"),
    pytest.param({"project": "no"}, 0, Category.PROFILING_QUESTION, "answered: project",
                 id="no-project"),
    pytest.param({"authority": "decision_maker"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: authority", id="decision-maker"),
    pytest.param({"authority": "influencer"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: authority", id="influencer"),
    pytest.param(IDENTITY | {"budget": "planned", "company": "Acme"}, 3,
                 Category.QUALIFIED_QUESTION, "qualifying answer: budget", id="budget-planned"),
    pytest.param({"company_size": "50-249"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: company_size", id="size-50-249"),
    pytest.param({"project": "yes", "company_size": "1000+"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: company_size, project", id="reason-lists-the-fields"),
    pytest.param(BANT_ANSWERS | {"timeframe": "12m+"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: authority, budget, need", id="bant-but-12m-plus"),
    pytest.param(BANT_ANSWERS | {"timeframe": "unknown"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: authority, budget, need", id="bant-but-timeframe-unknown"),
    pytest.param(BANT_ANSWERS | {"budget": "none"}, 0, Category.QUALIFIED_QUESTION,
                 "qualifying answer: authority, need, timeframe", id="bant-but-no-budget"),
    pytest.param({k: v for k, v in BANT_ANSWERS.items() if k != "need"}, 0,
                 Category.QUALIFIED_QUESTION, "qualifying answer: authority, budget, timeframe",
                 id="bant-but-need-missing"),
    pytest.param(BANT_ANSWERS, 0, Category.BANT,
                 "qualifying answers to budget, authority, need and timeframe", id="bant"),
    pytest.param(IDENTITY | BANT_ANSWERS | {"budget": "approved", "timeframe": "0-3m",
                                            "authority": "influencer", "project": "no"}, 9,
                 Category.BANT, "qualifying answers to budget, authority, need and timeframe",
                 id="bant-top-of-the-ladder"),
]
# fmt: on


@pytest.mark.parametrize(("profile", "assets", "rung", "reason"), CATEGORY_TABLE)
def test_category(profile: dict[str, str], assets: int, rung: Category, reason: str) -> None:
    assert category(profile, assets, SCORING) == (rung, reason)


def test_category_with_custom_qualifying_answers() -> None:
    scoring = dataclasses.replace(
        SCORING, qualifying={**SCORING.qualifying, "industry": ("Manufacturing",)}
    )
    assert category({"industry": "Manufacturing"}, 0, scoring) == (
        Category.QUALIFIED_QUESTION,
        "qualifying answer: industry",
    )
    assert category({"industry": "Retail"}, 0, scoring) == (
        Category.PROFILING_QUESTION,
        "answered: industry",
    )
    assert category({"industry": "Manufacturing"}, 0, SCORING)[0] == Category.PROFILING_QUESTION


# --- milestones ----------------------------------------------------------------------------------


def counted(**counts: int) -> JourneyState:
    return JourneyState(counts=counts)


# fmt: off
MILESTONE_TABLE = [
    pytest.param(counted(), {}, (), id="nothing"),
    pytest.param(counted(asset_view=12, read_progress=40), {}, (), id="views-are-no-milestone"),
    pytest.param(counted(download=1), {}, ("first_download",), id="first-download"),
    pytest.param(counted(download=5), {}, ("first_download",), id="many-downloads"),
    pytest.param(counted(webinar_register=1), {}, ("webinar_registered",), id="registered"),
    pytest.param(counted(webinar_attend=2, webinar_register=1, download=1), {},
                 ("first_download", "webinar_registered", "webinar_attended"),
                 id="model-order"),
    pytest.param(counted(), {"consideration": {0.5: 2}}, (), id="two-consideration-reads"),
    pytest.param(counted(), {"consideration": {0.5: 3}}, ("read_3_consideration",),
                 id="three-consideration-reads"),
    pytest.param(counted(), {"decision": {0.5: 4, 0.9: 1}}, ("read_3_decision",),
                 id="four-decision-reads"),
    pytest.param(counted(), {"awareness": {0.5: 10}}, (), id="awareness-reads-no-milestone"),
    pytest.param(counted(download=1), {"consideration": {0.5: 3}, "decision": {0.5: 3}},
                 ("first_download", "read_3_consideration", "read_3_decision"), id="several"),
]
# fmt: on


@pytest.mark.parametrize(("state", "reads", "reached"), MILESTONE_TABLE)
def test_milestones(
    state: JourneyState, reads: dict[str, dict[float, int]], reached: tuple[str, ...]
) -> None:
    assert milestones(state, reads, SCORING) == reached


def test_milestones_from_a_trail() -> None:
    state = apply(JourneyState(), [Touch("download", NOW, 21, "decision")] * 2, SCORING)
    assert milestones(state, {}, SCORING) == ("first_download",)


def test_custom_milestones() -> None:
    scoring = dataclasses.replace(
        SCORING,
        milestones=(
            Milestone("two_downloads", "Downloaded two assets", event="download", count=2),
            Milestone("deep_reader", "Read a decision asset to 90 %", stage="decision", depth=0.9),
        ),
    )
    assert milestones(counted(download=1), {"decision": {0.5: 1}}, scoring) == ()
    assert milestones(counted(download=2), {"decision": {0.9: 1}}, scoring) == (
        "two_downloads",
        "deep_reader",
    )


# --- MQL -----------------------------------------------------------------------------------------

# fmt: off
MQL_TABLE = [
    pytest.param(40, 15, "awareness", True, "fit 40 ≥ 40 and engagement 15 ≥ 15", id="both-edges"),
    pytest.param(72, 31.5, "consideration", True, "fit 72 ≥ 40 and engagement 31.5 ≥ 15",
                 id="both-high"),
    pytest.param(39.99, 100, "awareness", False, "", id="fit-just-short"),
    pytest.param(100, 14.99, "consideration", False, "", id="engagement-just-short"),
    pytest.param(25, 0, "decision", True, "decision stage with fit 25 ≥ 25", id="decision-edge"),
    pytest.param(24.99, 14.99, "decision", False, "", id="decision-fit-just-short"),
    pytest.param(39, 0, "consideration", False, "", id="consideration-no-decision-branch"),
    pytest.param(50, 20, "decision", True, "fit 50 ≥ 40 and engagement 20 ≥ 15",
                 id="first-branch-explains-first"),
    pytest.param(0, 0, "awareness", False, "", id="nothing"),
]
# fmt: on


@pytest.mark.parametrize(("fit_score", "engagement_score", "stage", "mql", "reason"), MQL_TABLE)
def test_is_mql(
    fit_score: float, engagement_score: float, stage: str, mql: bool, reason: str
) -> None:
    assert is_mql(fit_score, engagement_score, stage, SCORING) == (mql, reason)


def test_is_mql_with_custom_thresholds() -> None:
    scoring = dataclasses.replace(
        SCORING, mql_min_fit=60.0, mql_min_engagement=5.0, mql_decision_min_fit=50.0
    )
    assert is_mql(60, 5, "awareness", scoring) == (True, "fit 60 ≥ 60 and engagement 5 ≥ 5")
    assert is_mql(45, 30, "awareness", scoring) == (False, "")
    assert is_mql(45, 0, "decision", scoring) == (False, "")


# --- lifecycle -----------------------------------------------------------------------------------

MQL_REASON = "fit 45 ≥ 40 and engagement 20 ≥ 15"
FAST_LANE = "timeframe 0-3m"
TO_MQL = (Lifecycle.MQL, MQL_REASON)
TO_SQL = (Lifecycle.SQL, f"sales fast lane: {FAST_LANE}")


def facts(
    current: Lifecycle,
    *,
    mql: bool = False,
    fast_lane: bool = False,
    changed_days_ago: float | None = None,
) -> LifecycleFacts:
    return LifecycleFacts(
        current=current,
        mql=mql,
        mql_reason=MQL_REASON if mql else "",
        sales_fast_lane=fast_lane,
        fast_lane_reason=FAST_LANE if fast_lane else "",
        changed_at=None if changed_days_ago is None else NOW - timedelta(days=changed_days_ago),
        now=NOW,
    )


L = Lifecycle

# fmt: off
LIFECYCLE_TABLE = [
    pytest.param(facts(L.SUBSCRIBER, mql=True), TO_MQL, id="subscriber-to-mql"),
    pytest.param(facts(L.LEAD, mql=True, changed_days_ago=0), TO_MQL, id="lead-to-mql"),
    pytest.param(facts(L.SUBSCRIBER), None, id="subscriber-stays"),
    pytest.param(facts(L.LEAD, changed_days_ago=400), None, id="lead-stays"),
    pytest.param(facts(L.MQL, mql=True), None, id="mql-stays-mql"),
    pytest.param(facts(L.MQL), None, id="mql-no-longer-holding-stays"),
    pytest.param(facts(L.SUBSCRIBER, fast_lane=True), TO_SQL, id="fast-lane-from-subscriber"),
    pytest.param(facts(L.LEAD, fast_lane=True, mql=True), TO_SQL, id="fast-lane-from-lead"),
    pytest.param(facts(L.MQL, fast_lane=True, mql=True), TO_SQL, id="fast-lane-from-mql"),
    pytest.param(facts(L.RECYCLED, fast_lane=True, changed_days_ago=45), TO_SQL,
                 id="fast-lane-from-recycled"),
    pytest.param(facts(L.SQL, mql=True, fast_lane=True), None, id="sql-never-automatic"),
    pytest.param(facts(L.OPPORTUNITY, mql=True, fast_lane=True), None,
                 id="opportunity-never-automatic"),
    pytest.param(facts(L.CUSTOMER, mql=True, fast_lane=True), None,
                 id="customer-never-automatic"),
    pytest.param(facts(L.RECYCLED, mql=True, changed_days_ago=1), None, id="recycled-yesterday"),
    pytest.param(facts(L.RECYCLED, mql=True, changed_days_ago=29.99), None,
                 id="recycled-within-cooloff"),
    pytest.param(facts(L.RECYCLED, mql=True, changed_days_ago=30), TO_MQL,
                 id="recycled-cooloff-over"),
    pytest.param(facts(L.RECYCLED, mql=True, changed_days_ago=90), TO_MQL,
                 id="recycled-long-ago"),
    pytest.param(facts(L.RECYCLED, mql=True), TO_MQL, id="recycled-at-unknown-time"),
    pytest.param(facts(L.RECYCLED, changed_days_ago=90), None, id="recycled-not-mql-stays"),
]
# fmt: on


@pytest.mark.parametrize(("lifecycle_facts", "move"), LIFECYCLE_TABLE)
def test_next_lifecycle(
    lifecycle_facts: LifecycleFacts, move: tuple[Lifecycle, str] | None
) -> None:
    assert next_lifecycle(lifecycle_facts, SCORING) == move


def test_recycle_cooloff_is_the_models() -> None:
    scoring = dataclasses.replace(SCORING, recycle_cooloff_days=7.0)
    assert next_lifecycle(facts(L.RECYCLED, mql=True, changed_days_ago=6), scoring) is None
    assert next_lifecycle(facts(L.RECYCLED, mql=True, changed_days_ago=7), scoring) == TO_MQL


# fmt: off
ALLOWED_MOVES = [
    (L.SUBSCRIBER, L.SQL), (L.LEAD, L.SQL), (L.MQL, L.SQL), (L.RECYCLED, L.SQL),
    (L.MQL, L.RECYCLED), (L.SQL, L.RECYCLED), (L.OPPORTUNITY, L.RECYCLED),
    (L.MQL, L.OPPORTUNITY), (L.SQL, L.OPPORTUNITY), (L.LEAD, L.OPPORTUNITY),
    (L.RECYCLED, L.OPPORTUNITY),
    (L.SUBSCRIBER, L.CUSTOMER), (L.LEAD, L.CUSTOMER), (L.MQL, L.CUSTOMER), (L.SQL, L.CUSTOMER),
    (L.OPPORTUNITY, L.CUSTOMER), (L.RECYCLED, L.CUSTOMER),
]
REFUSED_MOVES = [
    (L.LEAD, L.MQL, "mql is set by the rules, not by hand"),
    (L.SQL, L.MQL, "mql is set by the rules, not by hand"),
    (L.CUSTOMER, L.MQL, "mql is set by the rules, not by hand"),
    (L.MQL, L.LEAD, "lead is set by the rules, not by hand"),
    (L.SUBSCRIBER, L.LEAD, "lead is set by the rules, not by hand"),
    (L.LEAD, L.SUBSCRIBER, "subscriber is set by the rules, not by hand"),
    (L.CUSTOMER, L.SQL, "customer leads cannot become sql"),
    (L.CUSTOMER, L.RECYCLED, "customer leads cannot become recycled"),
    (L.CUSTOMER, L.OPPORTUNITY, "customer leads cannot become opportunity"),
    (L.CUSTOMER, L.CUSTOMER, "customer leads cannot become customer"),
    (L.SUBSCRIBER, L.RECYCLED, "subscriber leads cannot become recycled"),
    (L.LEAD, L.RECYCLED, "lead leads cannot become recycled"),
    (L.SUBSCRIBER, L.OPPORTUNITY, "subscriber leads cannot become opportunity"),
    (L.RECYCLED, L.RECYCLED, "recycled leads cannot become recycled"),
]
# fmt: on


@pytest.mark.parametrize(("current", "target"), ALLOWED_MOVES)
def test_manual_moves_sales_may_make(current: Lifecycle, target: Lifecycle) -> None:
    assert manual_lifecycle(current, target) is None


@pytest.mark.parametrize(("current", "target", "message"), REFUSED_MOVES)
def test_manual_moves_refused(current: Lifecycle, target: Lifecycle, message: str) -> None:
    assert manual_lifecycle(current, target) == message


@pytest.mark.parametrize(
    ("current", "target"),
    [(L.OPPORTUNITY, L.SQL), (L.SQL, L.SQL), (L.OPPORTUNITY, L.OPPORTUNITY)],
)
def test_manual_moves_refused_backwards_or_in_place(current: Lifecycle, target: Lifecycle) -> None:
    message = manual_lifecycle(current, target)
    assert message is not None
    assert message.endswith(f"cannot become {target.value}")


def test_fit_exactly_at_the_medium_band_edge_is_medium() -> None:
    letter, reason = grade(30, 25, ScoringModel())
    assert (letter, reason) == ("B", "fit medium (30), engagement high (25)")


def test_an_e_lead_weak_on_both_needs_interest_and_a_profile() -> None:
    assert grade(0, 0, ScoringModel()) == (
        "E",
        "fit low (0), engagement low (0); next: raise interest and complete the profile",
    )


def test_answers_the_fit_rules_do_not_know_are_not_in_the_breakdown() -> None:
    scored = fit({"budget": "lots", "authority": "decision_maker"}, ScoringModel())
    assert scored.breakdown == (("authority", "decision_maker", 20.0),)
    assert scored.score == 20
