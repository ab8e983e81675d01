"""The ``[kpis]`` section of the model file (the format is in ``tracking.rules.kpis``)."""

from __future__ import annotations

from typing import Any

from tracking.rules.config import ModelError
from tracking.rules.file_values import _check_keys, _number, _table, _text
from tracking.rules.kpis import FIGURES, PERIODS, KpiModel, KpiSpec


def parse_kpis(value: Any) -> KpiModel:
    """The ``[kpis]`` table; ModelError names the dotted key."""
    table = _table(value, "kpis")
    _check_keys(table, "kpis", ("period", "figures"))
    period = _text(table.get("period", "month"), "kpis.period")
    if period not in PERIODS:
        raise ModelError(f"kpis.period: expected one of {', '.join(PERIODS)}, got {period!r}")
    if "figures" not in table:
        return KpiModel(period=period)
    entries = table["figures"]
    if not isinstance(entries, list) or not entries:
        raise ModelError("kpis.figures: expected a non-empty array of tables")
    specs = []
    for index, entry in enumerate(entries):
        key = f"kpis.figures[{index}]"
        found = _table(entry, key)
        _check_keys(found, key, ("figure", "goal", "label"))
        name = _text(found.get("figure"), f"{key}.figure")
        if name not in FIGURES:
            raise ModelError(f"{key}.figure: unknown figure {name!r} (one of {', '.join(FIGURES)})")
        goal = _number(found["goal"], f"{key}.goal") if "goal" in found else None
        if goal is not None and FIGURES[name].unit == "share" and goal > 1:
            raise ModelError(f"{key}.goal: a rate is a share from 0 to 1 (0.25 for 25 %)")
        specs.append(KpiSpec(name, goal, _text(found.get("label", ""), f"{key}.label", empty=True)))
    names = [spec.figure for spec in specs]
    for name in names:
        if names.count(name) > 1:
            raise ModelError(f"kpis.figures: {name!r} is listed twice")
    return KpiModel(period, tuple(specs))
