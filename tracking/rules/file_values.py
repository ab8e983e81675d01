"""Reading typed values out of the model file, each refused with its dotted key and the reason.

Shared by the two model-file parsers (``config_file`` for the file and its
``[profiling]`` section, ``scoring_file`` for ``[scoring]``), so neither imports
the other's helpers. Each reader takes the value and its dotted key
(``profiling.fields.budget.priority``) and raises ``ModelError`` naming that key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from tracking.rules.config import ModelError

_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(key: str, name: str) -> str:
    part = name if _BARE_KEY.fullmatch(name) else f'"{name}"'
    return f"{key}.{part}" if key else part


def _check_keys(table: Mapping[str, Any], key: str, known: tuple[str, ...]) -> None:
    for name in table:
        if name not in known:
            raise ModelError(f"{_join(key, name)}: unknown key (known: {', '.join(sorted(known))})")


def _table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelError(f"{key}: expected a table")
    return value


def _int(value: Any, key: str, low: int, high: int | None = None) -> int:
    # bool is an int subclass in Python; `true` is never a count
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelError(f"{key}: expected an integer")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ModelError(f"{key}: expected an integer {bounds}, got {value}")
    return value


def _number(value: Any, key: str, high: float | None = None, *, positive: bool = False) -> float:
    """A finite number of at least 0 (above 0 when ``positive``), at most ``high`` if given."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ModelError(f"{key}: expected a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise ModelError(f"{key}: expected a finite number")
    if number < 0 or (positive and number == 0) or (high is not None and number > high):
        raise ModelError(f"{key}: {_bounds(high, positive=positive)}, got {value}")
    return number


def _bounds(high: float | None, *, positive: bool) -> str:
    if high is None:
        return "must be above 0" if positive else "must not be negative"
    return f"must be above 0 and at most {high:g}" if positive else f"must be from 0 to {high:g}"


def _text(value: Any, key: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or not (empty or value.strip()):
        raise ModelError(f"{key}: expected a {'' if empty else 'non-empty '}string")
    return value


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ModelError(f"{key}: expected true or false")


def _names(value: Any, key: str) -> list[str]:
    if not isinstance(value, list):
        raise ModelError(f"{key}: expected a list of strings")
    names = [_text(item, f"{key}[{index}]") for index, item in enumerate(value)]
    for name in names:
        if names.count(name) > 1:
            raise ModelError(f"{key}: {name!r} is listed twice")
    return names


def _stage(value: Any, key: str, stages: tuple[str, ...]) -> str:
    stage = _text(value, key)
    if stage not in stages:
        raise ModelError(f"{key}: {stage!r} is not a stage (stages: {', '.join(stages)})")
    return stage
