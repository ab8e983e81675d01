"""Reading the model from a TOML file (``LEADSHELF_MODEL``), refusing wrong keys by name.

``LEADSHELF_MODEL`` names a TOML file. Every key it sets replaces the default;
a wrong key or value is refused with the file, the dotted key path and the reason
(``model.toml: profiling.fields.budget.priority: expected an integer``)::

    stages = ["awareness", "consideration", "decision", "customer"]   # optional
    [stage_labels]               # by stage; only the stages given change
    awareness = "Getting started"
    [profiling]
    max_questions = 2            # N: email (when unknown) + at most N other fields, 0..10
    min_fill_seconds = 2         # faster submissions are treated as bots
    submissions_per_ip = 30      # gate submissions per address per window
    rate_window_seconds = 600
    consent_version = "2026-11"  # the English consent text's version …
    consent_text = "…"           # … and wording
    [profiling.consent_translations.de]  # the German wording, with a version of its own
    version = "2026-12-de"
    text = "Ja, …"
    [profiling.required]         # by content kind; replaces that kind's default list
    webinar = ["first_name", "last_name"]
    [profiling.required_assets]  # by asset slug; replaces the kind's list for that asset
    "pricing-guide" = ["company"]
    [profiling.fields.budget]    # override a field (only the keys given change) or add one
    label = "Budget"
    type = "select"              # text, textarea, tel, select, country
    options = [["none", "No budget yet"], ["planned", "Planned"], ["approved", "Approved"]]
    priority = 100               # lower is asked first
    from_stage = "consideration" # omit or "" to ask from the start
    bant = true
    max_length = 200
    [profiling.fields.phone]
    enabled = false              # removes the field from the catalogue
    [scoring]
    half_life_days = 21          # engagement and stage evidence halve per quiet period, > 0
    seconds_points = 0.05        # points per engaged reading second
    depth_bonus = [[0.5, 2.0], [0.9, 2.0]]  # [depth in (0, 1], points], depths increasing
    mql_min_fit = 40             # MQL: fit (0..100) and engagement both reach these …
    mql_min_engagement = 15
    mql_decision_min_fit = 25    # … or the lead is in the decision stage with this fit
    recycle_cooloff_days = 30    # a recycled lead is an MQL again only after this
    fit_bands = [60, 30]         # [high, medium], 0..100, high above medium
    engagement_bands = [25, 8]
    grade_matrix = ["ABC", "BCD", "CDE"]  # rows: fit high..low; letters: engagement high..low
    [scoring.event_points]       # by event type (DESIGN.md's names); the others keep theirs
    download = 4
    [scoring.stage_thresholds]   # evidence a stage needs; the others keep theirs
    decision = 12
    [[scoring.profile_hints]]    # an answer that counts as stage evidence; replaces all hints
    field = "timeframe"
    value = "0-3m"
    stage = "decision"
    points = 10
    [scoring.fit_rules.company_size]  # fit points by answer ("*": any); replaces the field's
    "1000+" = 20
    [scoring.qualifying]         # hoped-for answers by field ("*": any); replaces the field's
    budget = ["approved", "planned"]
    [[scoring.milestones]]       # replaces all milestones
    name = "read_3_decision"     # like a field name, unique
    label = "Read 3 decision assets"
    stage = "decision"           # assets of this stage read to `depth` (0..1, default 0.5) …
    count = 3                    # how many (default 1)
    [[scoring.milestones]]
    name = "first_download"
    label = "Downloaded an asset"
    event = "download"           # … or events of this type

A consent text changed in English but not given in German is shown in English on German
pages too (the built-in German translates the built-in English only).
A new field needs a ``label`` and a name like ``[a-z][a-z0-9_]{0,39}``. Answers named
in ``fit_rules``, ``qualifying`` and ``profile_hints`` must be options of select fields.
Each stage gets a label and a threshold: the built-in ones for the four built-in stage
names, else its capitalised name and 0 (any evidence places a lead there; set one).
The first stage needs no evidence, so its threshold is 0. Built-in hints and milestones
for stages the model no longer has are dropped. ``true``/``false`` is never a number.
The key figures of Console → KPIs (their names and units: ``tracking.rules.kpis``)::

    [kpis]                       # Console → KPIs (format: tracking.rules.kpis)
    period = "month"
    [[kpis.figures]]
    figure = "mqls"
    goal = 120
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from content.models import LANGUAGES, Kind
from tracking.rules.config import (
    DEFAULT_FIELDS,
    DEFAULT_REQUIRED_BY_KIND,
    EMAIL_FIELD,
    STAGES,
    ConsentWording,
    FieldSpec,
    FieldType,
    Model,
    ModelError,
    ProfilingModel,
    default_model,
)
from tracking.rules.file_values import (
    _FIELD_NAME,
    _check_keys,
    _flag,
    _int,
    _join,
    _names,
    _number,
    _stage,
    _table,
    _text,
)
from tracking.rules.kpis import KpiModel
from tracking.rules.kpis_file import parse_kpis
from tracking.rules.scoring_file import parse_scoring


def load_model(path: Path | None) -> Model:
    """The model from a TOML file (None: the default); ModelError names the file and key."""
    if path is None:
        return default_model()
    try:
        with path.open("rb") as model_file:
            data = tomllib.load(model_file)
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: not valid TOML ({exc})") from None
    try:
        return parse_model(data)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def parse_model(data: Mapping[str, Any]) -> Model:
    """The model from parsed TOML; ModelError starts with the dotted key path."""
    _check_keys(data, "", ("stages", "stage_labels", "profiling", "scoring", "kpis"))
    stages = _stages(data["stages"]) if "stages" in data else STAGES
    profiling = _profiling(_table(data.get("profiling", {}), "profiling"), stages)
    return dataclasses.replace(
        Model(),
        stages=stages,
        stage_labels=_stage_labels(data.get("stage_labels", {}), stages),
        profiling=profiling,
        scoring=parse_scoring(data.get("scoring", {}), stages, profiling.fields),
        kpis=parse_kpis(data["kpis"]) if "kpis" in data else KpiModel(),
    )


# --- names and stages ---------------------------------------------------------------------

_STAGE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_ASSET_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_RESERVED_FIELDS = ("email", "consent_marketing")
_ASKABLE_TYPES = tuple(t.value for t in FieldType if t is not FieldType.EMAIL)


def _stages(value: Any) -> tuple[str, ...]:
    stages = _names(value, "stages")
    if not stages:
        raise ModelError("stages: needs at least one stage")
    for index, stage in enumerate(stages):
        if not _STAGE_NAME.fullmatch(stage):
            raise ModelError(f"stages[{index}]: {stage!r} is not a name like 'consideration'")
    return tuple(stages)


def _stage_labels(value: Any, stages: tuple[str, ...]) -> Mapping[str, str]:
    """A label for every stage: the one given, the built-in one, else the capitalised name."""
    given: dict[str, str] = {}
    for stage, label in _table(value, "stage_labels").items():
        key = _join("stage_labels", stage)
        given[_stage(stage, key, stages)] = _text(label, key)
    builtin = Model().stage_labels
    return MappingProxyType(
        {
            stage: given.get(stage)
            or builtin.get(stage)
            or re.sub(r"[_-]+", " ", stage).capitalize()
            for stage in stages
        }
    )


# --- the [profiling] section --------------------------------------------------------------

_SCALARS: dict[str, Callable[[Any, str], object]] = {
    "max_questions": lambda value, key: _int(value, key, 0, 10),
    "min_fill_seconds": _number,
    "submissions_per_ip": lambda value, key: _int(value, key, 1),
    "rate_window_seconds": lambda value, key: _int(value, key, 1),
    "consent_version": _text,
    "consent_text": _text,
}


def _profiling(table: dict[str, Any], stages: tuple[str, ...]) -> ProfilingModel:
    _check_keys(
        table,
        "profiling",
        (*_SCALARS, "consent_translations", "required", "required_assets", "fields"),
    )
    changes: dict[str, object] = {
        name: parse(table[name], f"profiling.{name}")
        for name, parse in _SCALARS.items()
        if name in table
    }
    if "consent_translations" in table:
        changes["consent_translations"] = _consent_translations(table["consent_translations"])
    elif "consent_text" in table or "consent_version" in table:
        # the built-in German says what the built-in English says, not what replaced it
        changes["consent_translations"] = MappingProxyType({})
    fields = _fields(_table(table.get("fields", {}), "profiling.fields"), stages)
    names = {spec.name for spec in fields}
    by_kind = dict(DEFAULT_REQUIRED_BY_KIND)
    by_kind.update(_required(table.get("required", {}), "profiling.required", kinds=True))
    by_asset = _required(table.get("required_assets", {}), "profiling.required_assets", kinds=False)
    for section, required in (("required", by_kind), ("required_assets", by_asset)):
        for owner, listed in required.items():
            _check_required(listed, _join(f"profiling.{section}", owner), names)
    return dataclasses.replace(
        ProfilingModel(),
        fields=fields,
        required_by_kind=MappingProxyType(by_kind),
        required_by_asset=MappingProxyType(by_asset),
        **changes,  # type: ignore[arg-type]
    )


_TRANSLATED = tuple(code for code in LANGUAGES if code != "en")


def _consent_translations(value: Any) -> Mapping[str, ConsentWording]:
    key = "profiling.consent_translations"
    wordings: dict[str, ConsentWording] = {}
    for language, entry in _table(value, key).items():
        entry_key = _join(key, language)
        if language not in _TRANSLATED:
            raise ModelError(f"{entry_key}: not a language (languages: {', '.join(_TRANSLATED)})")
        entry = _table(entry, entry_key)
        _check_keys(entry, entry_key, ("text", "version"))
        for name in ("text", "version"):
            if name not in entry:
                raise ModelError(f"{entry_key}.{name}: missing")
        wordings[language] = ConsentWording(
            version=_text(entry["version"], f"{entry_key}.version"),
            text=_text(entry["text"], f"{entry_key}.text"),
        )
    return MappingProxyType(wordings)


def _required(value: Any, key: str, *, kinds: bool) -> dict[str, tuple[str, ...]]:
    known_kinds = tuple(kind.value for kind in Kind)
    required: dict[str, tuple[str, ...]] = {}
    for owner, listed in _table(value, key).items():
        owner_key = _join(key, owner)
        if kinds and owner not in known_kinds:
            raise ModelError(f"{owner_key}: unknown content kind (kinds: {', '.join(known_kinds)})")
        if not kinds and not _ASSET_SLUG.fullmatch(owner):
            raise ModelError(f"{owner_key}: not an asset slug like 'pricing-guide'")
        required[owner] = tuple(_names(listed, owner_key))
    return required


def _check_required(listed: tuple[str, ...], key: str, names: set[str]) -> None:
    for name in listed:
        if name == EMAIL_FIELD.name:
            raise ModelError(f"{key}: email is always asked first; do not list it")
        if name not in names:
            raise ModelError(f"{key}: {name!r} is not a field of the catalogue")


# --- [profiling.fields.NAME] ----------------------------------------------------------------


def _options(value: Any, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise ModelError(f"{key}: expected a list of [value, label] pairs")
    options: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        pair = [item, item] if isinstance(item, str) else item
        if not isinstance(pair, list) or len(pair) != 2:
            raise ModelError(f"{item_key}: expected a [value, label] pair")
        option = (_text(pair[0], item_key).strip(), _text(pair[1], item_key))
        if any(option[0] == seen for seen, _ in options):
            raise ModelError(f"{key}: duplicate option value {option[0]!r}")
        options.append(option)
    return tuple(options)


def _field_type(value: Any, key: str) -> FieldType:
    if value not in _ASKABLE_TYPES:
        raise ModelError(f"{key}: expected one of {', '.join(_ASKABLE_TYPES)}")
    return FieldType(value)


_FIELD_KEYS: dict[str, Callable[[Any, str], object]] = {
    "label": _text,
    "type": _field_type,
    "options": _options,
    "priority": lambda value, key: _int(value, key, 0),
    "from_stage": lambda value, key: _text(value, key, empty=True).strip() or None,
    "bant": _flag,
    "max_length": lambda value, key: _int(value, key, 1, 10_000),
}


def _fields(table: dict[str, Any], stages: tuple[str, ...]) -> tuple[FieldSpec, ...]:
    catalogue = {spec.name: spec for spec in DEFAULT_FIELDS}
    for name, entry in table.items():
        key = _join("profiling.fields", name)
        entry = _table(entry, key)
        _check_keys(entry, key, (*_FIELD_KEYS, "enabled"))
        if name in _RESERVED_FIELDS:
            raise ModelError(f"{key}: {name} is not a configurable profile field")
        if not _flag(entry.get("enabled", True), f"{key}.enabled"):
            if catalogue.pop(name, None) is None:
                raise ModelError(f"{key}.enabled: there is no field {name!r} to disable")
            continue
        if name not in catalogue and not _FIELD_NAME.fullmatch(name):
            raise ModelError(f"{key}: a field name is lower-case letters, digits and _ (max 40)")
        if name not in catalogue and "label" not in entry:
            raise ModelError(f"{key}.label: a new field needs a label")
        catalogue[name] = _field(catalogue.get(name) or FieldSpec(name, ""), entry, key)
    for spec in catalogue.values():
        if spec.from_stage is not None and spec.from_stage not in stages:
            raise ModelError(
                f"profiling.fields.{spec.name}.from_stage: {spec.from_stage!r} is not a stage "
                f"(stages: {', '.join(stages)})"
            )
    return tuple(catalogue.values())


def _field(base: FieldSpec, entry: dict[str, Any], key: str) -> FieldSpec:
    changes = {
        name: parse(entry[name], f"{key}.{name}")
        for name, parse in _FIELD_KEYS.items()
        if name in entry
    }
    spec = dataclasses.replace(base, **changes)  # type: ignore[arg-type]
    if spec.type is not FieldType.SELECT and "options" not in entry:
        spec = dataclasses.replace(spec, options=())  # a former select turned into text
    if spec.type is FieldType.SELECT and not spec.options:
        raise ModelError(f"{key}.options: a select field needs options")
    if spec.type is not FieldType.SELECT and spec.options:
        raise ModelError(f"{key}.options: only select fields have options")
    return spec
