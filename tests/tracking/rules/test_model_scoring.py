"""The journey/scoring part of the model file: stage labels and the ``[scoring]`` section."""

from __future__ import annotations

import dataclasses
import textwrap
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import tracking.rules.config_file
from tracking.rules.config import (
    DEFAULT_EVENT_POINTS,
    DEFAULT_FIT_RULES,
    DEFAULT_MILESTONES,
    DEFAULT_QUALIFYING,
    Milestone,
    Model,
    ModelError,
    ProfileHint,
    ScoringModel,
    default_model,
)
from tracking.rules.config_file import load_model, parse_model
from tracking.rules.scoring import fit, grade, qualifying


def load(tmp_path: Path, text: str) -> Model:
    path = tmp_path / "model.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_model(path)


def plain(value: Any) -> Any:
    """Mappings as dicts (nested), to compare with literals."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    return value


def attr(model: Model, path: str) -> Any:
    value: Any = model
    for name in path.split("."):
        value = getattr(value, name)
    return plain(value)


DEFAULT = default_model()
THREE_STAGES = 'stages = ["awareness", "consideration", "decision"]\n'
AIDA_FIELDS = "".join(
    f'[profiling.fields.{name}]\nfrom_stage = "{stage}"\n'
    for name, stage in [
        ("need", "interest"),
        ("timeframe", "interest"),
        ("budget", "desire"),
        ("authority", "desire"),
        ("project", "action"),
        ("phone", "action"),
    ]
)
AIDA = f'stages = ["attention", "interest", "desire", "action"]\n{AIDA_FIELDS}'


def test_defaults_are_kept_when_nothing_is_given() -> None:
    assert parse_model({}) == parse_model({"scoring": {}, "stage_labels": {}}) == DEFAULT
    assert DEFAULT.scoring == ScoringModel()


def test_documented_example_is_valid() -> None:
    """The TOML example of the module docstring parses (the default values, mostly)."""
    doc = tracking.rules.config_file.__doc__ or ""
    example = textwrap.dedent(doc.split("::\n", 1)[1].split("\n\n", 1)[0])
    model = parse_model(tomllib.loads(example))
    scoring = model.scoring
    assert model.stage_labels["awareness"] == "Getting started"
    assert model.stage_labels["decision"] == "Decision"
    assert scoring.profile_hints == (ProfileHint("timeframe", "0-3m", "decision", 10.0),)
    assert scoring.milestones == (
        Milestone("read_3_decision", "Read 3 decision assets", stage="decision", count=3),
        Milestone("first_download", "Downloaded an asset", event="download"),
    )
    assert dict(scoring.fit_rules["company_size"]) == {"1000+": 20.0}
    assert scoring.qualifying["budget"] == ("approved", "planned")
    assert scoring.grade_matrix == DEFAULT.scoring.grade_matrix
    assert (scoring.half_life_days, scoring.fit_bands) == (21.0, (60.0, 30.0))


# --- good overrides: the values named change, every other scoring value keeps its default ----

# fmt: off
GOOD = [
    pytest.param("[scoring]\nhalf_life_days = 14", {"scoring.half_life_days": 14.0},
                 id="half-life"),
    pytest.param("[scoring]\nhalf_life_days = 0.5\nseconds_points = 0",
                 {"scoring.half_life_days": 0.5, "scoring.seconds_points": 0.0},
                 id="seconds-points-zero"),
    pytest.param("[scoring]\ndepth_bonus = [[0.25, 1], [0.5, 1.5], [1, 3]]",
                 {"scoring.depth_bonus": ((0.25, 1.0), (0.5, 1.5), (1.0, 3.0))},
                 id="depth-bonus"),
    pytest.param("[scoring]\ndepth_bonus = []", {"scoring.depth_bonus": ()},
                 id="depth-bonus-none"),
    pytest.param("[scoring]\nmql_min_fit = 50\nmql_min_engagement = 20.5\n"
                 "mql_decision_min_fit = 0\nrecycle_cooloff_days = 0",
                 {"scoring.mql_min_fit": 50.0, "scoring.mql_min_engagement": 20.5,
                  "scoring.mql_decision_min_fit": 0.0, "scoring.recycle_cooloff_days": 0.0},
                 id="mql-rule"),
    pytest.param("[scoring]\nfit_bands = [100, 0]\nengagement_bands = [40, 10]",
                 {"scoring.fit_bands": (100.0, 0.0), "scoring.engagement_bands": (40.0, 10.0)},
                 id="bands"),
    pytest.param('[scoring]\ngrade_matrix = ["AAB", "BBC", "CDE"]',
                 {"scoring.grade_matrix": ("AAB", "BBC", "CDE")}, id="grade-matrix"),
    pytest.param('[scoring]\ngrade_matrix = ["AAA", "CCC", "EEE"]',
                 {"scoring.grade_matrix": ("AAA", "CCC", "EEE")}, id="grade-by-fit-only"),
    pytest.param("[scoring.event_points]\ndownload = 5\npage_view = 0",
                 {"scoring.event_points": {**DEFAULT_EVENT_POINTS, "download": 5.0,
                                           "page_view": 0.0}}, id="event-points-merge"),
    pytest.param("[scoring.stage_thresholds]\ndecision = 20\nawareness = 0",
                 {"scoring.stage_thresholds": {"awareness": 0.0, "consideration": 8.0,
                                               "decision": 20.0, "customer": 15.0}},
                 id="threshold-merge"),
    pytest.param('[[scoring.profile_hints]]\nfield = "company_size"\nvalue = "1000+"\n'
                 'stage = "decision"\npoints = 3\n'
                 '[[scoring.profile_hints]]\nfield = "need"\nvalue = "a new CRM"\n'
                 'stage = "consideration"\npoints = 2.5',
                 {"scoring.profile_hints": (ProfileHint("company_size", "1000+", "decision", 3.0),
                                            ProfileHint("need", "a new CRM", "consideration",
                                                        2.5))},
                 id="hints-replace"),
    pytest.param("[scoring]\nprofile_hints = []", {"scoring.profile_hints": ()},
                 id="hints-none"),
    pytest.param('[scoring.fit_rules.company_size]\n"1000+" = 20\n"*" = 2',
                 {"scoring.fit_rules": {**plain(DEFAULT_FIT_RULES),
                                        "company_size": {"1000+": 20.0, "*": 2.0}}},
                 id="fit-rules-replace-one-field"),
    pytest.param("[scoring.fit_rules.industry]\n[scoring.fit_rules.phone]\n'*' = 3",
                 {"scoring.fit_rules": {**{k: v for k, v in plain(DEFAULT_FIT_RULES).items()
                                           if k != "industry"}, "phone": {"*": 3.0}}},
                 id="fit-rules-drop-and-add"),
    pytest.param('[scoring.qualifying]\nbudget = ["approved"]\njob_title = ["*"]\n'
                 "timeframe = []",
                 {"scoring.qualifying": {**{k: v for k, v in DEFAULT_QUALIFYING.items()
                                            if k != "timeframe"},
                                         "budget": ("approved",), "job_title": ("*",)}},
                 id="qualifying"),
    pytest.param('[[scoring.milestones]]\nname = "attended_twice"\nlabel = "Attended 2 webinars"\n'
                 'event = "webinar_attend"\ncount = 2\n'
                 '[[scoring.milestones]]\nname = "deep_reader"\n'
                 'label = "Read 2 assets to the end"\n'
                 'stage = "consideration"\ndepth = 0.9\ncount = 2\n'
                 '[[scoring.milestones]]\nname = "opened_decision"\n'
                 'label = "Opened a decision asset"\n'
                 'stage = "decision"\ndepth = 0',
                 {"scoring.milestones": (
                     Milestone("attended_twice", "Attended 2 webinars", event="webinar_attend",
                               count=2),
                     Milestone("deep_reader", "Read 2 assets to the end", stage="consideration",
                               depth=0.9, count=2),
                     Milestone("opened_decision", "Opened a decision asset", stage="decision",
                               depth=0.0))},
                 id="milestones-replace"),
    pytest.param("[scoring]\nmilestones = []", {"scoring.milestones": ()}, id="milestones-none"),
    pytest.param('[stage_labels]\nawareness = "Getting started"',
                 {"stage_labels": {"awareness": "Getting started",
                                   "consideration": "Consideration", "decision": "Decision",
                                   "customer": "Customer"}}, id="stage-label"),
    pytest.param('stages = ["awareness", "consideration", "evaluation", "decision", "customer"]',
                 {"stages": ("awareness", "consideration", "evaluation", "decision", "customer"),
                  "stage_labels": {"awareness": "Awareness", "consideration": "Consideration",
                                   "evaluation": "Evaluation", "decision": "Decision",
                                   "customer": "Customer"},
                  "scoring.stage_thresholds": {"awareness": 0.0, "consideration": 8.0,
                                               "evaluation": 0.0, "decision": 12.0,
                                               "customer": 15.0}},
                 id="stage-added-needs-no-evidence"),
    pytest.param('stages = ["awareness", "consideration", "evaluation", "decision", "customer"]\n'
                 '[stage_labels]\nevaluation = "Shortlisting"\n'
                 "[scoring.stage_thresholds]\nevaluation = 9",
                 {"stages": ("awareness", "consideration", "evaluation", "decision", "customer"),
                  "stage_labels": {"awareness": "Awareness", "consideration": "Consideration",
                                   "evaluation": "Shortlisting", "decision": "Decision",
                                   "customer": "Customer"},
                  "scoring.stage_thresholds": {"awareness": 0.0, "consideration": 8.0,
                                               "evaluation": 9.0, "decision": 12.0,
                                               "customer": 15.0}},
                 id="stage-added-with-threshold"),
    pytest.param(THREE_STAGES,
                 {"stages": ("awareness", "consideration", "decision"),
                  "stage_labels": {"awareness": "Awareness", "consideration": "Consideration",
                                   "decision": "Decision"},
                  "scoring.stage_thresholds": {"awareness": 0.0, "consideration": 8.0,
                                               "decision": 12.0}},
                 id="stage-removed"),
    pytest.param(AIDA + "[scoring.stage_thresholds]\ninterest = 4\ndesire = 8\naction = 12",
                 {"stages": ("attention", "interest", "desire", "action"),
                  "stage_labels": {"attention": "Attention", "interest": "Interest",
                                   "desire": "Desire", "action": "Action"},
                  "scoring.stage_thresholds": {"attention": 0.0, "interest": 4.0,
                                               "desire": 8.0, "action": 12.0},
                  "scoring.profile_hints": (),
                  "scoring.milestones": tuple(m for m in DEFAULT_MILESTONES if m.event)},
                 id="aida-drops-builtin-stage-hints-and-milestones"),
    pytest.param('stages = ["pre_sale", "consideration", "decision", "customer"]',
                 {"stages": ("pre_sale", "consideration", "decision", "customer"),
                  "stage_labels": {"pre_sale": "Pre sale", "consideration": "Consideration",
                                   "decision": "Decision", "customer": "Customer"},
                  "scoring.stage_thresholds": {"pre_sale": 0.0, "consideration": 8.0,
                                               "decision": 12.0, "customer": 15.0}},
                 id="new-first-stage"),
    pytest.param('stages = ["consideration", "decision", "customer"]',
                 {"stages": ("consideration", "decision", "customer"),
                  "stage_labels": {"consideration": "Consideration", "decision": "Decision",
                                   "customer": "Customer"},
                  "scoring.stage_thresholds": {"consideration": 0.0, "decision": 12.0,
                                               "customer": 15.0}},
                 id="first-stage-needs-no-evidence"),
    pytest.param('[profiling.fields.budget]\noptions = [["none", "No"], ["signed", "Signed"]]\n'
                 '[scoring.fit_rules.budget]\nsigned = 25\nnone = 0\n'
                 '[scoring.qualifying]\nbudget = ["signed"]',
                 {"scoring.fit_rules": {**plain(DEFAULT_FIT_RULES),
                                        "budget": {"signed": 25.0, "none": 0.0}},
                  "scoring.qualifying": {**DEFAULT_QUALIFYING, "budget": ("signed",)}},
                 id="answers-of-overridden-options"),
    pytest.param('[profiling.fields.crm]\nlabel = "CRM"\ntype = "select"\n'
                 'options = ["salesforce", "hubspot", "other"]\n'
                 '[scoring.fit_rules.crm]\nsalesforce = 10\n'
                 '[scoring.qualifying]\ncrm = ["salesforce", "hubspot"]',
                 {"scoring.fit_rules": {**plain(DEFAULT_FIT_RULES), "crm": {"salesforce": 10.0}},
                  "scoring.qualifying": {**DEFAULT_QUALIFYING, "crm": ("salesforce", "hubspot")}},
                 id="new-select-field"),
    pytest.param('[profiling.fields.timeframe]\ntype = "text"\n'
                 '[scoring.fit_rules.timeframe]\n"this quarter" = 15',
                 {"scoring.fit_rules": {**plain(DEFAULT_FIT_RULES),
                                        "timeframe": {"this quarter": 15.0}}},
                 id="select-turned-text-takes-any-answer"),
]
# fmt: on


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_good_override(tmp_path: Path, text: str, expected: dict[str, Any]) -> None:
    model = load(tmp_path, text)
    for path, value in expected.items():
        assert attr(model, path) == value, path
    kept = ["stages", "stage_labels"]
    kept += [f"scoring.{field.name}" for field in dataclasses.fields(ScoringModel)]
    for path in kept:
        if path not in expected:
            assert attr(model, path) == attr(DEFAULT, path), f"{path} keeps its default"


def test_overrides_are_immutable(tmp_path: Path) -> None:
    model = load(
        tmp_path,
        """
        [stage_labels]
        awareness = "Getting started"
        [scoring.event_points]
        download = 5
        [scoring.fit_rules.company_size]
        "1000+" = 20
        [scoring.qualifying]
        budget = ["approved"]
        """,
    )
    mappings: list[Mapping[str, Any]] = [
        model.stage_labels,
        model.scoring.event_points,
        model.scoring.stage_thresholds,
        model.scoring.fit_rules,
        model.scoring.fit_rules["company_size"],
        model.scoring.qualifying,
    ]
    for mapping in mappings:
        with pytest.raises(TypeError):
            mapping["x"] = 1  # type: ignore[index]


def test_scoring_rules_use_the_overrides(tmp_path: Path) -> None:
    scoring = load(
        tmp_path,
        """
        [scoring]
        fit_bands = [50, 20]
        grade_matrix = ["AAB", "BBC", "CDE"]
        [scoring.fit_rules.company_size]
        "1000+" = 40
        "*" = 5
        [scoring.qualifying]
        company_size = ["*"]
        """,
    ).scoring
    assert fit({"company_size": "1000+"}, scoring).score == 40
    assert fit({"company_size": "1-9"}, scoring).score == 5
    assert qualifying("company_size", "1-9", scoring)
    assert grade(55, 10, scoring)[0] == "A"  # fit high, engagement medium


# --- wrong files ------------------------------------------------------------------------

EVENTS = (
    "page_view, asset_view, read_progress, download, search, gate_view, form_submit, unlock, "
    "webinar_register, webinar_attend, cta_click, email_click, demo_request"
)
STAGES = "stages: awareness, consideration, decision, customer"
FIELDS = "fields: first_name, last_name, company, job_title, company_size, industry, country"
HINT = '[[scoring.profile_hints]]\nfield = "timeframe"\nvalue = "0-3m"\nstage = "decision"\n'
MILESTONE = '[[scoring.milestones]]\nname = "m"\nlabel = "M"\n'

# fmt: off
WRONG = [
    pytest.param("scoring = 3", "scoring: expected a table", id="scoring-not-table"),
    pytest.param("[scoring]\ncolour = 1",
                 "scoring.colour: unknown key (known: customer_stage, depth_bonus, "
                 "engagement_bands, event_points, fit_bands, fit_rules, grade_matrix, "
                 "half_life_days, milestones, "
                 "mql_decision_min_fit, mql_min_engagement, mql_min_fit, profile_hints, "
                 "qualifying, recycle_cooloff_days, seconds_points, stage_thresholds)",
                 id="scoring-key"),
    pytest.param("[scoring]\nhalf_life_days = 0", "scoring.half_life_days: must be above 0, got 0",
                 id="half-life-zero"),
    pytest.param("[scoring]\nhalf_life_days = true", "scoring.half_life_days: expected a number",
                 id="half-life-bool"),
    pytest.param("[scoring]\nhalf_life_days = nan",
                 "scoring.half_life_days: expected a finite number", id="half-life-nan"),
    pytest.param("[scoring]\nhalf_life_days = inf",
                 "scoring.half_life_days: expected a finite number", id="half-life-inf"),
    pytest.param("[scoring]\nhalf_life_days = 1" + "0" * 400,
                 "scoring.half_life_days: expected a finite number", id="half-life-huge"),
    pytest.param('[scoring]\nhalf_life_days = "30"', "scoring.half_life_days: expected a number",
                 id="half-life-string"),
    pytest.param("[scoring]\nseconds_points = -0.1",
                 "scoring.seconds_points: must not be negative, got -0.1",
                 id="seconds-points-negative"),
    pytest.param("[scoring]\nmql_min_fit = 101",
                 "scoring.mql_min_fit: must be from 0 to 100, got 101", id="mql-fit-over-100"),
    pytest.param("[scoring]\nmql_decision_min_fit = -1",
                 "scoring.mql_decision_min_fit: must be from 0 to 100, got -1",
                 id="mql-decision-fit-negative"),
    pytest.param("[scoring]\nmql_min_engagement = false",
                 "scoring.mql_min_engagement: expected a number", id="mql-engagement-bool"),
    pytest.param("[scoring]\nrecycle_cooloff_days = -30",
                 "scoring.recycle_cooloff_days: must not be negative, got -30",
                 id="cooloff-negative"),
    pytest.param("[scoring]\ndepth_bonus = 0.5",
                 "scoring.depth_bonus: expected a list of [depth, points] pairs",
                 id="depth-bonus-not-list"),
    pytest.param("[scoring]\ndepth_bonus = [[0.5]]",
                 "scoring.depth_bonus[0]: expected a [depth, points] pair",
                 id="depth-bonus-single"),
    pytest.param("[scoring]\ndepth_bonus = [0.5, 2]",
                 "scoring.depth_bonus[0]: expected a [depth, points] pair", id="depth-bonus-flat"),
    pytest.param("[scoring]\ndepth_bonus = [[0, 2]]",
                 "scoring.depth_bonus[0][0]: must be above 0 and at most 1, got 0",
                 id="depth-zero"),
    pytest.param("[scoring]\ndepth_bonus = [[0.5, 2], [1.5, 2]]",
                 "scoring.depth_bonus[1][0]: must be above 0 and at most 1, got 1.5",
                 id="depth-over-one"),
    pytest.param("[scoring]\ndepth_bonus = [[0.9, 2], [0.5, 2]]",
                 "scoring.depth_bonus[1][0]: depths must increase, but 0.5 follows 0.9",
                 id="depths-decreasing"),
    pytest.param("[scoring]\ndepth_bonus = [[0.5, 2], [0.5, 1]]",
                 "scoring.depth_bonus[1][0]: depths must increase, but 0.5 follows 0.5",
                 id="depths-repeated"),
    pytest.param("[scoring]\ndepth_bonus = [[0.5, -2]]",
                 "scoring.depth_bonus[0][1]: must not be negative, got -2",
                 id="depth-points-negative"),
    pytest.param("[scoring]\ndepth_bonus = [[true, 2]]",
                 "scoring.depth_bonus[0][0]: expected a number", id="depth-bool"),
    pytest.param("[scoring]\nfit_bands = [30, 60]",
                 "scoring.fit_bands: high (30) must be above medium (60)", id="fit-bands-order"),
    pytest.param("[scoring]\nfit_bands = [120, 30]",
                 "scoring.fit_bands[0]: must be from 0 to 100, got 120", id="fit-band-over-100"),
    pytest.param("[scoring]\nfit_bands = [60]",
                 "scoring.fit_bands: expected [high, medium], two numbers", id="fit-bands-one"),
    pytest.param('[scoring]\nfit_bands = [60, "30"]', "scoring.fit_bands[1]: expected a number",
                 id="fit-band-string"),
    pytest.param("[scoring]\nengagement_bands = [8, 8]",
                 "scoring.engagement_bands: high (8) must be above medium (8)",
                 id="engagement-bands-equal"),
    pytest.param("[scoring]\nengagement_bands = [25, -1]",
                 "scoring.engagement_bands[1]: must not be negative, got -1",
                 id="engagement-band-negative"),
    pytest.param('[scoring]\ngrade_matrix = ["ABC", "BCD"]',
                 "scoring.grade_matrix: expected 3 rows (fit high, medium, low)",
                 id="grade-matrix-two-rows"),
    pytest.param('[scoring]\ngrade_matrix = "ABC"',
                 "scoring.grade_matrix: expected 3 rows", id="grade-matrix-string"),
    pytest.param('[scoring]\ngrade_matrix = ["ABC", "BCF", "CDE"]',
                 "scoring.grade_matrix[1]: expected 3 letters from A to E (engagement high, "
                 "medium, low), got 'BCF'", id="grade-letter-f"),
    pytest.param('[scoring]\ngrade_matrix = ["ABC", "bcd", "CDE"]',
                 "scoring.grade_matrix[1]: expected 3 letters from A to E", id="grade-lower-case"),
    pytest.param('[scoring]\ngrade_matrix = ["ABC", "BCDE", "CDE"]',
                 "scoring.grade_matrix[1]: expected 3 letters from A to E", id="grade-four"),
    pytest.param('[scoring]\ngrade_matrix = ["ABC", 3, "CDE"]',
                 "scoring.grade_matrix[1]: expected 3 letters from A to E (engagement high, "
                 "medium, low), got 3", id="grade-row-number"),
    pytest.param('[scoring]\ngrade_matrix = ["CBA", "CCD", "CDE"]',
                 "scoring.grade_matrix[0]: 'CBA' grades a lead better as its engagement drops",
                 id="grade-row-reversed"),
    pytest.param('[scoring]\ngrade_matrix = ["BCD", "ABC", "CDE"]',
                 "scoring.grade_matrix[1]: 'ABC' grades a lead better than the row above ('BCD') "
                 "though its fit is lower", id="grade-rows-reversed"),
    pytest.param("[scoring]\nevent_points = 3", "scoring.event_points: expected a table",
                 id="event-points-not-table"),
    pytest.param("[scoring.event_points]\npageview = 1",
                 "scoring.event_points.pageview: unknown key (known: asset_view, cta_click, "
                 "demo_request, download, email_click, form_submit, gate_view, page_view, "
                 "read_progress, search, unlock, webinar_attend, webinar_register)",
                 id="event-unknown"),
    pytest.param("[scoring.event_points]\ndownload = -1",
                 "scoring.event_points.download: must not be negative, got -1",
                 id="event-points-negative"),
    pytest.param("[scoring.event_points]\ndownload = true",
                 "scoring.event_points.download: expected a number", id="event-points-bool"),
    pytest.param("[scoring.stage_thresholds]\npurchase = 5",
                 f"scoring.stage_thresholds.purchase: 'purchase' is not a stage ({STAGES})",
                 id="threshold-unknown-stage"),
    pytest.param(THREE_STAGES + "[scoring.stage_thresholds]\ncustomer = 15",
                 "scoring.stage_thresholds.customer: 'customer' is not a stage (stages: "
                 "awareness, consideration, decision)", id="threshold-removed-stage"),
    pytest.param("[scoring.stage_thresholds]\ndecision = -1",
                 "scoring.stage_thresholds.decision: must not be negative, got -1",
                 id="threshold-negative"),
    pytest.param("[scoring.stage_thresholds]\nawareness = 3",
                 "scoring.stage_thresholds.awareness: the first stage needs no evidence (every "
                 "lead starts there); expected 0, got 3", id="threshold-first-stage"),
    pytest.param("[scoring]\nprofile_hints = 3",
                 "scoring.profile_hints: expected an array of tables ([[scoring.profile_hints]])",
                 id="hints-not-list"),
    pytest.param("[scoring]\nprofile_hints = [1]", "scoring.profile_hints[0]: expected a table",
                 id="hint-not-table"),
    pytest.param(HINT, "scoring.profile_hints[0].points: missing (a hint needs field, value, "
                 "stage, points)", id="hint-without-points"),
    pytest.param(HINT + "points = 10\nweight = 2",
                 "scoring.profile_hints[0].weight: unknown key (known: field, points, stage, "
                 "value)", id="hint-key"),
    pytest.param(HINT.replace("timeframe", "shoe_size") + "points = 1",
                 f"scoring.profile_hints[0].field: 'shoe_size' is not a field of the catalogue "
                 f"({FIELDS}", id="hint-unknown-field"),
    pytest.param(HINT.replace("timeframe", "email") + "points = 1",
                 "scoring.profile_hints[0].field: 'email' is not a field of the catalogue",
                 id="hint-email"),
    pytest.param(HINT.replace("0-3m", "soon") + "points = 1",
                 "scoring.profile_hints[0].value: 'soon' is not an option of timeframe (one of "
                 "0-3m, 3-6m, 6-12m, 12m+, unknown)", id="hint-answer"),
    pytest.param(HINT.replace("0-3m", "*") + "points = 1",
                 'scoring.profile_hints[0].value: a hint names one answer; "*" is not one',
                 id="hint-any-answer"),
    pytest.param(HINT.replace('"decision"', '"purchase"') + "points = 1",
                 f"scoring.profile_hints[0].stage: 'purchase' is not a stage ({STAGES})",
                 id="hint-stage"),
    pytest.param(HINT + "points = true", "scoring.profile_hints[0].points: expected a number",
                 id="hint-points-bool"),
    pytest.param(HINT + "points = 10\n" + HINT + "points = 4",
                 "scoring.profile_hints[1]: repeats scoring.profile_hints[0]",
                 id="hint-repeated"),
    pytest.param('[scoring.fit_rules.timeframe]\n"0-3m" = 15\nsoon = 10',
                 'scoring.fit_rules.timeframe."soon": \'soon\' is not an option of timeframe '
                 '(one of 0-3m, 3-6m, 6-12m, 12m+, unknown; "*" for any answer)',
                 id="fit-answer"),
    pytest.param('[scoring.fit_rules.shoe_size]\n"*" = 5',
                 f"scoring.fit_rules.shoe_size: 'shoe_size' is not a field of the catalogue "
                 f"({FIELDS}", id="fit-unknown-field"),
    pytest.param('[profiling.fields.phone]\nenabled = false\n[scoring.fit_rules.phone]\n"*" = 5',
                 "scoring.fit_rules.phone: 'phone' is not a field of the catalogue",
                 id="fit-disabled-field"),
    pytest.param('[scoring.fit_rules.company_size]\n"1000+" = true',
                 'scoring.fit_rules.company_size."1000+": expected a number', id="fit-bool"),
    pytest.param('[scoring.fit_rules.company_size]\n"1000+" = -5',
                 'scoring.fit_rules.company_size."1000+": must not be negative, got -5',
                 id="fit-negative"),
    pytest.param("[scoring.fit_rules]\nbudget = 20", "scoring.fit_rules.budget: expected a table",
                 id="fit-not-table"),
    pytest.param('[scoring.fit_rules.job_title]\n" " = 5',
                 'scoring.fit_rules.job_title." ": expected a non-empty answer',
                 id="fit-empty-answer"),
    pytest.param('[scoring.qualifying]\nbudget = ["approved", "soon"]',
                 "scoring.qualifying.budget[1]: 'soon' is not an option of budget (one of none, "
                 'planned, approved; "*" for any answer)', id="qualifying-answer"),
    pytest.param('[profiling.fields.budget]\noptions = [["none", "No"], ["planned", "Planned"]]\n'
                 '[scoring.qualifying]\nbudget = ["approved"]',
                 "scoring.qualifying.budget[0]: 'approved' is not an option of budget (one of "
                 "none, planned;", id="qualifying-answer-of-overridden-options"),
    pytest.param('[scoring.qualifying]\nbudget = "approved"',
                 "scoring.qualifying.budget: expected a list of strings", id="qualifying-not-list"),
    pytest.param('[scoring.qualifying]\nbudget = ["approved", "approved"]',
                 "scoring.qualifying.budget: 'approved' is listed twice", id="qualifying-twice"),
    pytest.param('[scoring.qualifying]\nbudget = ["approved", 3]',
                 "scoring.qualifying.budget[1]: expected a non-empty string",
                 id="qualifying-number"),
    pytest.param('[scoring.qualifying]\nshoe_size = ["*"]',
                 "scoring.qualifying.shoe_size: 'shoe_size' is not a field of the catalogue",
                 id="qualifying-unknown-field"),
    pytest.param("[scoring]\nmilestones = 3",
                 "scoring.milestones: expected an array of tables ([[scoring.milestones]])",
                 id="milestones-not-list"),
    pytest.param('[[scoring.milestones]]\nname = "m"\nevent = "download"',
                 "scoring.milestones[0].label: missing (a milestone needs name, label)",
                 id="milestone-without-label"),
    pytest.param(MILESTONE + 'event = "download"\nstage = "decision"',
                 "scoring.milestones[0]: counts either assets read (stage) or events (event), "
                 "not both", id="milestone-both"),
    pytest.param(MILESTONE + "count = 2",
                 "scoring.milestones[0]: counts either assets read (stage) or events (event), "
                 "not neither", id="milestone-neither"),
    pytest.param(MILESTONE + 'event = "downloaded"',
                 f"scoring.milestones[0].event: 'downloaded' is not an event type (one of "
                 f"{EVENTS})", id="milestone-event"),
    pytest.param(MILESTONE + 'event = "download"\ndepth = 0.5',
                 "scoring.milestones[0].depth: only a stage milestone has a depth",
                 id="milestone-event-depth"),
    pytest.param(MILESTONE + 'stage = "decision"\ndepth = 1.5',
                 "scoring.milestones[0].depth: must be from 0 to 1, got 1.5",
                 id="milestone-depth"),
    pytest.param(MILESTONE + 'stage = "purchase"',
                 f"scoring.milestones[0].stage: 'purchase' is not a stage ({STAGES})",
                 id="milestone-stage"),
    pytest.param(MILESTONE + 'event = "download"\ncount = 0',
                 "scoring.milestones[0].count: expected an integer of at least 1, got 0",
                 id="milestone-count-zero"),
    pytest.param(MILESTONE + 'event = "download"\ncount = true',
                 "scoring.milestones[0].count: expected an integer", id="milestone-count-bool"),
    pytest.param(MILESTONE + 'event = "download"\ncount = 2.0',
                 "scoring.milestones[0].count: expected an integer", id="milestone-count-float"),
    pytest.param(MILESTONE.replace('"m"', '"Read 3"') + 'event = "download"',
                 "scoring.milestones[0].name: 'Read 3' is not a name like 'read_3_decision'",
                 id="milestone-name"),
    pytest.param(MILESTONE + 'event = "download"\n' + MILESTONE + 'event = "unlock"',
                 "scoring.milestones[1].name: 'm' is already the name of scoring.milestones[0]",
                 id="milestone-names-repeated"),
    pytest.param(MILESTONE + 'event = "download"\npoints = 3',
                 "scoring.milestones[0].points: unknown key (known: count, depth, event, label, "
                 "name, stage)", id="milestone-key"),
    pytest.param('[stage_labels]\npurchase = "Purchase"',
                 f"stage_labels.purchase: 'purchase' is not a stage ({STAGES})",
                 id="label-unknown-stage"),
    pytest.param('[stage_labels]\nawareness = ""',
                 "stage_labels.awareness: expected a non-empty string", id="label-empty"),
    pytest.param("[stage_labels]\nawareness = 3",
                 "stage_labels.awareness: expected a non-empty string", id="label-number"),
    pytest.param('stage_labels = "Awareness"', "stage_labels: expected a table",
                 id="labels-not-table"),
    pytest.param("[profiling]\nmin_fill_seconds = nan",
                 "profiling.min_fill_seconds: expected a finite number", id="profiling-nan"),
]
# fmt: on


@pytest.mark.parametrize(("text", "message"), WRONG)
def test_wrong_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ModelError) as refused:
        load(tmp_path, text)
    assert str(refused.value).startswith(f"{tmp_path / 'model.toml'}: {message}")
