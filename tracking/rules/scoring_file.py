"""The ``[scoring]`` section of the model file (the format is in ``tracking.rules.config_file``).

Scalars replace their default. Tables keyed by event type or stage merge over the
defaults; a field's ``fit_rules`` or ``qualifying`` entry replaces that field's; the
``profile_hints`` and ``milestones`` arrays replace the whole default list. What the
section names is checked against the model it belongs to: stages against ``stages``,
fields and select answers against the profile field catalogue (after ``[profiling]``),
events against ``tracking.events.EventType``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from tracking.events import EventType
from tracking.rules.config import (
    DEFAULT_EVENT_POINTS,
    DEFAULT_FIT_RULES,
    DEFAULT_MILESTONES,
    DEFAULT_PROFILE_HINTS,
    DEFAULT_QUALIFYING,
    DEFAULT_STAGE_THRESHOLDS,
    FieldSpec,
    FieldType,
    Milestone,
    ModelError,
    ProfileHint,
    ScoringModel,
)
from tracking.rules.file_values import (
    _FIELD_NAME,
    _check_keys,
    _int,
    _join,
    _names,
    _number,
    _stage,
    _table,
    _text,
)
from tracking.rules.journey import UNSCORED

EVENT_TYPES: tuple[str, ...] = tuple(
    event.value for event in EventType if event.value not in UNSCORED
)
"""The event types a model may give points or count in a milestone (opens are no evidence)."""
ANY_ANSWER = "*"
GRADES = "ABCDE"

_Catalogue = Mapping[str, FieldSpec]


def parse_scoring(
    value: Any, stages: tuple[str, ...], fields: tuple[FieldSpec, ...]
) -> ScoringModel:
    """The scoring model from the ``[scoring]`` table of a model with these stages and fields."""
    table = _table(value, "scoring")
    _check_keys(table, "scoring", (*_SCALARS, *_SECTIONS))
    catalogue = {spec.name: spec for spec in fields}
    scalars = {
        name: parse(table[name], f"scoring.{name}")
        for name, parse in _SCALARS.items()
        if name in table
    }
    hints = table.get("profile_hints")
    milestones = table.get("milestones")
    return dataclasses.replace(
        ScoringModel(),
        event_points=_event_points(table.get("event_points", {})),
        stage_thresholds=_thresholds(table.get("stage_thresholds", {}), stages),
        profile_hints=(
            tuple(hint for hint in DEFAULT_PROFILE_HINTS if hint.stage in stages)
            if hints is None
            else _profile_hints(hints, stages, catalogue)
        ),
        fit_rules=_fit_rules(table.get("fit_rules", {}), catalogue),
        qualifying=_qualifying(table.get("qualifying", {}), catalogue),
        milestones=(
            tuple(m for m in DEFAULT_MILESTONES if m.stage is None or m.stage in stages)
            if milestones is None
            else _milestones(milestones, stages)
        ),
        **scalars,  # type: ignore[arg-type]
    )


# --- scalars --------------------------------------------------------------------------------


def _depth_bonus(value: Any, key: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list):
        raise ModelError(f"{key}: expected a list of [depth, points] pairs")
    pairs: list[tuple[float, float]] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        if not isinstance(item, list) or len(item) != 2:
            raise ModelError(f"{item_key}: expected a [depth, points] pair")
        depth = _number(item[0], f"{item_key}[0]", 1, positive=True)
        if pairs and depth <= pairs[-1][0]:
            raise ModelError(
                f"{item_key}[0]: depths must increase, but {depth:g} follows {pairs[-1][0]:g}"
            )
        pairs.append((depth, _number(item[1], f"{item_key}[1]")))
    return tuple(pairs)


def _bands(value: Any, key: str, high: float | None) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ModelError(f"{key}: expected [high, medium], two numbers")
    top = _number(value[0], f"{key}[0]", high)
    medium = _number(value[1], f"{key}[1]", high)
    if top <= medium:
        raise ModelError(f"{key}: high ({top:g}) must be above medium ({medium:g})")
    return top, medium


def _grade_matrix(value: Any, key: str) -> tuple[str, str, str]:
    """Rows fit high, medium, low; letters engagement high, medium, low; never better lower."""
    if not isinstance(value, list) or len(value) != 3:
        raise ModelError(
            f'{key}: expected 3 rows (fit high, medium, low) like ["ABC", "BCD", "CDE"]'
        )
    rows: list[str] = []
    for index, row in enumerate(value):
        row_key = f"{key}[{index}]"
        if not isinstance(row, str) or len(row) != 3 or any(grade not in GRADES for grade in row):
            raise ModelError(
                f"{row_key}: expected 3 letters from A to E (engagement high, medium, low), "
                f"got {row!r}"
            )
        if list(row) != sorted(row):
            raise ModelError(f"{row_key}: {row!r} grades a lead better as its engagement drops")
        if rows and any(lower < upper for lower, upper in zip(row, rows[-1], strict=True)):
            raise ModelError(
                f"{row_key}: {row!r} grades a lead better than the row above ({rows[-1]!r}) "
                "though its fit is lower"
            )
        rows.append(row)
    return rows[0], rows[1], rows[2]


_SCALARS: dict[str, Callable[[Any, str], object]] = {
    "half_life_days": lambda value, key: _number(value, key, positive=True),
    "seconds_points": _number,
    "depth_bonus": _depth_bonus,
    "mql_min_fit": lambda value, key: _number(value, key, 100),
    "mql_min_engagement": _number,
    "mql_decision_min_fit": lambda value, key: _number(value, key, 100),
    "recycle_cooloff_days": _number,
    "fit_bands": lambda value, key: _bands(value, key, 100),
    "engagement_bands": lambda value, key: _bands(value, key, None),
    "grade_matrix": _grade_matrix,
    "customer_stage": lambda value, key: _text(value, key, empty=True),
}
_SECTIONS = (
    "event_points",
    "stage_thresholds",
    "profile_hints",
    "fit_rules",
    "qualifying",
    "milestones",
)


# --- tables by event type and by stage ------------------------------------------------------


def _event_points(value: Any) -> Mapping[str, float]:
    key = "scoring.event_points"
    table = _table(value, key)
    for name in table:
        _scorable(name, _join(key, name))
    _check_keys(table, key, EVENT_TYPES)
    points = dict(DEFAULT_EVENT_POINTS)
    points.update({name: _number(given, _join(key, name)) for name, given in table.items()})
    return MappingProxyType(points)


def _scorable(event: str, key: str) -> None:
    if event in UNSCORED:
        raise ModelError(
            f"{key}: {event} is never scored (most opens are a mail client's privacy proxy "
            "loading the pixel, not a person); score the clicks instead (email_click)"
        )


def _thresholds(value: Any, stages: tuple[str, ...]) -> Mapping[str, float]:
    """Every stage's threshold: given, else built-in for the built-in names, else 0."""
    key = "scoring.stage_thresholds"
    given: dict[str, float] = {}
    for stage, points in _table(value, key).items():
        stage_key = _join(key, stage)
        given[_stage(stage, stage_key, stages)] = _number(points, stage_key)
    first = stages[0]
    if given.get(first, 0.0) != 0:
        raise ModelError(
            f"{_join(key, first)}: the first stage needs no evidence (every lead starts there); "
            f"expected 0, got {given[first]:g}"
        )
    thresholds = {
        stage: given.get(stage, DEFAULT_STAGE_THRESHOLDS.get(stage, 0.0)) for stage in stages
    }
    thresholds[first] = 0.0
    return MappingProxyType(thresholds)


# --- tables by profile field ----------------------------------------------------------------


def _catalogue_field(name: Any, key: str, catalogue: _Catalogue) -> FieldSpec:
    spec = catalogue.get(_text(name, key))
    if spec is None:
        raise ModelError(
            f"{key}: {name!r} is not a field of the catalogue (fields: {', '.join(catalogue)})"
        )
    return spec


def _check_answer(answer: str, key: str, spec: FieldSpec, *, any_answer: bool) -> None:
    """A select field's answer is one of its options; "*" stands for any answer if allowed."""
    if any_answer and answer == ANY_ANSWER:
        return
    if not answer.strip():
        raise ModelError(f"{key}: expected a non-empty answer")
    allowed = [option for option, _ in spec.options]
    if spec.type is FieldType.SELECT and answer not in allowed:
        anything = f'; "{ANY_ANSWER}" for any answer' if any_answer else ""
        raise ModelError(
            f"{key}: {answer!r} is not an option of {spec.name} "
            f"(one of {', '.join(allowed)}{anything})"
        )


def _answer_key(key: str, answer: str) -> str:
    """Answers are values: always quoted, ``scoring.fit_rules.timeframe."0-3m"``."""
    return f"{key}.{json.dumps(answer, ensure_ascii=False)}"


def _fit_rules(value: Any, catalogue: _Catalogue) -> Mapping[str, Mapping[str, float]]:
    key = "scoring.fit_rules"
    rules = dict(DEFAULT_FIT_RULES)
    for name, answers in _table(value, key).items():
        field_key = _join(key, name)
        spec = _catalogue_field(name, field_key, catalogue)
        points: dict[str, float] = {}
        for answer, given in _table(answers, field_key).items():
            answer_key = _answer_key(field_key, answer)
            _check_answer(answer, answer_key, spec, any_answer=True)
            points[answer] = _number(given, answer_key)
        if points:
            rules[name] = MappingProxyType(points)
        else:  # an empty table: the field earns no fit
            rules.pop(name, None)
    return MappingProxyType(rules)


def _qualifying(value: Any, catalogue: _Catalogue) -> Mapping[str, tuple[str, ...]]:
    key = "scoring.qualifying"
    qualifying = dict(DEFAULT_QUALIFYING)
    for name, answers in _table(value, key).items():
        field_key = _join(key, name)
        spec = _catalogue_field(name, field_key, catalogue)
        listed = _names(answers, field_key)
        for index, answer in enumerate(listed):
            _check_answer(answer, f"{field_key}[{index}]", spec, any_answer=True)
        if listed:
            qualifying[name] = tuple(listed)
        else:  # an empty list: no answer to this field qualifies
            qualifying.pop(name, None)
    return MappingProxyType(qualifying)


# --- arrays of tables -----------------------------------------------------------------------


def _tables(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ModelError(f"{key}: expected an array of tables ([[{key}]])")
    return [_table(item, f"{key}[{index}]") for index, item in enumerate(value)]


def _require(entry: Mapping[str, Any], key: str, names: tuple[str, ...], what: str) -> None:
    for name in names:
        if name not in entry:
            raise ModelError(f"{key}.{name}: missing ({what} needs {', '.join(names)})")


_HINT_KEYS = ("field", "value", "stage", "points")


def _profile_hints(
    value: Any, stages: tuple[str, ...], catalogue: _Catalogue
) -> tuple[ProfileHint, ...]:
    key = "scoring.profile_hints"
    hints: list[ProfileHint] = []
    for index, entry in enumerate(_tables(value, key)):
        hint_key = f"{key}[{index}]"
        hint = _profile_hint(entry, hint_key, stages, catalogue)
        for seen, other in enumerate(hints):
            if (other.field, other.value, other.stage) == (hint.field, hint.value, hint.stage):
                raise ModelError(f"{hint_key}: repeats {key}[{seen}]")
        hints.append(hint)
    return tuple(hints)


def _profile_hint(
    entry: dict[str, Any], key: str, stages: tuple[str, ...], catalogue: _Catalogue
) -> ProfileHint:
    _check_keys(entry, key, _HINT_KEYS)
    _require(entry, key, _HINT_KEYS, "a hint")
    spec = _catalogue_field(entry["field"], f"{key}.field", catalogue)
    answer = _text(entry["value"], f"{key}.value")
    if answer == ANY_ANSWER:
        raise ModelError(f'{key}.value: a hint names one answer; "{ANY_ANSWER}" is not one')
    _check_answer(answer, f"{key}.value", spec, any_answer=False)
    stage = _stage(entry["stage"], f"{key}.stage", stages)
    return ProfileHint(spec.name, answer, stage, _number(entry["points"], f"{key}.points"))


_MILESTONE_KEYS = ("name", "label", "stage", "depth", "event", "count")


def _milestones(value: Any, stages: tuple[str, ...]) -> tuple[Milestone, ...]:
    key = "scoring.milestones"
    milestones: list[Milestone] = []
    for index, entry in enumerate(_tables(value, key)):
        milestone = _milestone(entry, f"{key}[{index}]", stages)
        for seen, other in enumerate(milestones):
            if other.name == milestone.name:
                raise ModelError(
                    f"{key}[{index}].name: {milestone.name!r} is already the name of {key}[{seen}]"
                )
        milestones.append(milestone)
    return tuple(milestones)


def _milestone(entry: dict[str, Any], key: str, stages: tuple[str, ...]) -> Milestone:
    _check_keys(entry, key, _MILESTONE_KEYS)
    _require(entry, key, ("name", "label"), "a milestone")
    name = _text(entry["name"], f"{key}.name")
    if not _FIELD_NAME.fullmatch(name):
        raise ModelError(
            f"{key}.name: {name!r} is not a name like 'read_3_decision' "
            "(lower-case letters, digits and _, max 40)"
        )
    label = _text(entry["label"], f"{key}.label")
    count = _int(entry.get("count", 1), f"{key}.count", 1)
    if ("stage" in entry) == ("event" in entry):
        which = "both" if "stage" in entry else "neither"
        raise ModelError(f"{key}: counts either assets read (stage) or events (event), not {which}")
    if "event" in entry:
        if "depth" in entry:
            raise ModelError(f"{key}.depth: only a stage milestone has a depth")
        event = _text(entry["event"], f"{key}.event")
        _scorable(event, f"{key}.event")
        if event not in EVENT_TYPES:
            raise ModelError(
                f"{key}.event: {event!r} is not an event type (one of {', '.join(EVENT_TYPES)})"
            )
        return Milestone(name, label, event=event, count=count)
    stage = _stage(entry["stage"], f"{key}.stage", stages)
    depth = _number(entry.get("depth", 0.5), f"{key}.depth", 1)
    return Milestone(name, label, stage=stage, depth=depth, count=count)
