"""Reading a program from the plain mapping of a YAML file or the console's form, every
field checked: a fault is refused with where it is (``steps[2].wait.days: must be a number``),
so a wrong file changes nothing stored."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import yaml

from content.printable import unprintable_said
from content.words import N_, Said
from nurture.programs import merge
from nurture.programs.shape import (
    EXIT,
    LIFECYCLES_SET,
    MAX_VARIANTS,
    NAME_MAX,
    NEXT,
    SET_FIELDS,
    STEP_ID,
    WEEKDAYS,
    AbMode,
    AbTest,
    Action,
    Branch,
    Condition,
    ConditionKind,
    Definition,
    DefinitionError,
    Exit,
    Goal,
    GoalKind,
    Notify,
    Send,
    SetField,
    Status,
    Step,
    Trigger,
    TriggerKind,
    Wait,
)


def _text(value: Any, where: str, *, required: bool = False, limit: int = 10_000) -> str:
    if value is None:
        value = ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise DefinitionError(where, Said(N_("must be text")))
    value = value.strip() if limit <= NAME_MAX * 4 else value
    if required and not value.strip():
        raise DefinitionError(where, Said(N_("is required")))
    if len(value) > limit:
        raise DefinitionError(where, Said(N_("is longer than %(limit)s characters"), limit=limit))
    # Control characters would not survive YAML (U+0085 reads back as a line break) and
    # have no business in a mail; line breaks and tabs only where text may span lines.
    problem = unprintable_said(value, multiline=limit > NAME_MAX * 4)
    if problem:
        raise DefinitionError(where, Said(N_("contains %(problem)s"), problem=problem))
    return str(value)


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DefinitionError(where, Said(N_("must be a number")))
    if not low <= value <= high:
        raise DefinitionError(
            where,
            Said(N_("must be between %(low)s and %(high)s"), low=f"{low:g}", high=f"{high:g}"),
        )
    return float(value)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DefinitionError(where, Said(N_("must be a mapping (key: value)")))
    return value


def _one_of(names: Sequence[str]) -> Said:
    return Said(N_("must be one of: %(names)s"), names=", ".join(names))


def _choice(value: Any, kind: type[StrEnum], where: str) -> Any:
    try:
        return kind(str(value).strip().lower())
    except ValueError:
        names = ", ".join(member.value for member in kind)
        raise DefinitionError(
            where, Said(N_("%(value)s is not one of: %(names)s"), value=repr(value), names=names)
        ) from None


def _unknown(data: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    extra = sorted(set(data) - set(known))
    if extra:
        raise DefinitionError(
            where,
            Said(
                N_("unknown key %(key)s (known: %(known)s)"),
                key=repr(extra[0]),
                known=", ".join(known),
            ),
        )


def parse_trigger(data: Any, where: str = "trigger") -> Trigger:
    data = _mapping(data, where)
    _unknown(data, ("kind", "value", "days"), where)
    on = _choice(data.get("kind"), TriggerKind, f"{where}.kind")
    value = _text(data.get("value"), f"{where}.value", limit=200)
    days = 0
    if on is TriggerKind.INACTIVE:
        days = int(_number(data.get("days"), f"{where}.days", 1, 3650))
    if on in (TriggerKind.STAGE, TriggerKind.LIFECYCLE, TriggerKind.UNLOCKED) and not value:
        raise DefinitionError(
            f"{where}.value", Said(N_("is required for a %(kind)s trigger"), kind=on.value)
        )
    if on is TriggerKind.GRADE and value.upper() not in ("A", "B"):
        raise DefinitionError(f"{where}.value", Said(N_("must be A or B")))
    if on is TriggerKind.GRADE:
        value = value.upper()
    return Trigger(on, value, days)


def parse_goal(data: Any, where: str) -> Goal:
    data = _mapping(data, where)
    _unknown(data, ("kind", "value"), where)
    on = _choice(data.get("kind"), GoalKind, f"{where}.kind")
    value = _text(data.get("value"), f"{where}.value", limit=200)
    if on in (GoalKind.STAGE, GoalKind.LIFECYCLE, GoalKind.UNLOCKED) and not value:
        raise DefinitionError(
            f"{where}.value", Said(N_("is required for a %(kind)s goal"), kind=on.value)
        )
    return Goal(on, value)


def parse_condition(data: Any, where: str) -> Condition:
    data = _mapping(data, where)
    if len(data) != 1:
        names = ", ".join(kind.value for kind in ConditionKind)
        raise DefinitionError(where, Said(N_("must name one condition (%(names)s)"), names=names))
    ((key, value),) = data.items()
    on = _choice(key, ConditionKind, where)
    if isinstance(value, (list, tuple)):
        value = " ".join(str(item) for item in value)
    if on in (ConditionKind.OPENED, ConditionKind.CLICKED):
        value = "yes" if value in (True, "yes", "true", None, "") else "no"
    text = _text(value, f"{where}.{key}", required=True, limit=200)
    if on is ConditionKind.GRADE:
        text = " ".join(sorted(set(text.upper().replace(",", " ").split())))
        if not set(text.split()) <= set("ABCDE"):
            raise DefinitionError(f"{where}.{key}", Said(N_("grades are A, B, C, D and E")))
    return Condition(on, text)


def parse_send(data: Any, where: str) -> Send:
    data = _mapping(data, where)
    _unknown(data, ("subjects", "subject", "body", "preheader", "ab"), where)
    subjects = data.get("subjects", data.get("subject"))
    if isinstance(subjects, str):
        subjects = [subjects]
    if not isinstance(subjects, (list, tuple)) or not subjects:
        raise DefinitionError(f"{where}.subjects", Said(N_("needs at least one subject line")))
    if len(subjects) > MAX_VARIANTS:
        raise DefinitionError(
            f"{where}.subjects", Said(N_("at most %(max)s variants"), max=MAX_VARIANTS)
        )
    lines = tuple(
        _text(line, f"{where}.subjects[{number}]", required=True, limit=200)
        for number, line in enumerate(subjects)
    )
    if len(set(lines)) != len(lines):
        raise DefinitionError(f"{where}.subjects", Said(N_("two variants are the same")))
    body = _text(data.get("body"), f"{where}.body", required=True, limit=50_000)
    for number, line in enumerate(lines):
        _merge_check(line, f"{where}.subjects[{number}]", blocks_allowed=False)
    _merge_check(body, f"{where}.body", blocks_allowed=True)
    preheader = _text(data.get("preheader"), f"{where}.preheader", limit=200)
    _merge_check(preheader, f"{where}.preheader", blocks_allowed=False)
    ab = None
    if data.get("ab") is not None:
        if len(lines) < 2:
            raise DefinitionError(f"{where}.ab", Said(N_("an A/B test needs 2 to 4 subject lines")))
        ab = parse_ab(data["ab"], f"{where}.ab")
    elif len(lines) > 1:
        ab = AbTest()
    return Send(lines, body, preheader, ab)


def _merge_check(text: str, where: str, *, blocks_allowed: bool) -> None:
    try:
        merge.check(text, blocks_allowed=blocks_allowed)
    except merge.MergeError as exc:
        raise DefinitionError(where, exc.said) from None


def parse_ab(data: Any, where: str) -> AbTest:
    data = _mapping(data, where)
    _unknown(data, ("mode", "share", "decide_after_hours"), where)
    mode = _choice(data.get("mode", "split"), AbMode, f"{where}.mode")
    share = int(_number(data.get("share", 20), f"{where}.share", 2, 100))
    hours = int(_number(data.get("decide_after_hours", 24), f"{where}.decide_after_hours", 1, 720))
    return AbTest(mode, share, hours)


def parse_wait(data: Any, where: str) -> Wait:
    data = _mapping(data, where)
    _unknown(data, ("days", "hours", "weekday", "hour"), where)
    days = _number(data.get("days", 0), f"{where}.days", 0, 365)
    days += _number(data.get("hours", 0), f"{where}.hours", 0, 24 * 365) / 24
    weekday = hour = None
    if data.get("weekday") is not None or data.get("hour") is not None:
        name = str(data.get("weekday", "")).strip().lower()
        if name not in WEEKDAYS:
            raise DefinitionError(f"{where}.weekday", _one_of(WEEKDAYS))
        weekday = WEEKDAYS.index(name)
        hour = int(_number(data.get("hour", 9), f"{where}.hour", 0, 23))
    if days == 0 and weekday is None:
        raise DefinitionError(
            where, Said(N_("wait for days (days: 2) or until a weekday and hour"))
        )
    return Wait(days, weekday, hour)


def parse_branch(data: Any, where: str) -> Branch:
    data = _mapping(data, where)
    _unknown(data, ("if", "then", "else"), where)
    condition = parse_condition(data.get("if"), f"{where}.if")
    then = _text(data.get("then", NEXT), f"{where}.then", limit=40) or NEXT
    otherwise = _text(data.get("else", NEXT), f"{where}.else", limit=40) or NEXT
    return Branch(condition, then, otherwise)


def parse_set(data: Any, where: str) -> SetField:
    data = _mapping(data, where)
    _unknown(data, ("field", "value"), where)
    name = _text(data.get("field"), f"{where}.field", required=True, limit=40)
    if name not in SET_FIELDS:
        raise DefinitionError(f"{where}.field", _one_of(SET_FIELDS))
    value = _text(data.get("value"), f"{where}.value", required=True, limit=200)
    if name == "lifecycle" and value not in LIFECYCLES_SET:
        raise DefinitionError(f"{where}.value", _one_of(LIFECYCLES_SET))
    return SetField(name, value)


def parse_notify(data: Any, where: str) -> Notify:
    data = _mapping(data, where)
    _unknown(data, ("to", "note"), where)
    to = _text(data.get("to"), f"{where}.to", required=True, limit=254)
    if not re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+", to):
        raise DefinitionError(
            f"{where}.to", Said(N_("%(address)s is not an email address"), address=repr(to))
        )
    return Notify(to, _text(data.get("note"), f"{where}.note", limit=500))


def parse_exit(data: Any, where: str) -> Exit:
    _mapping(data, where)
    return Exit()


_PARSERS: dict[str, Callable[[Any, str], Action]] = {
    "send": parse_send,
    "wait": parse_wait,
    "branch": parse_branch,
    "set": parse_set,
    "notify": parse_notify,
    "exit": parse_exit,
}


def parse_step(data: Any, where: str) -> Step:
    data = _mapping(data, where)
    step_id = _text(data.get("id"), f"{where}.id", required=True, limit=40)
    if not STEP_ID.match(step_id) or step_id in (NEXT, EXIT):
        raise DefinitionError(
            f"{where}.id",
            Said(
                N_("%(id)s: use lower-case letters, digits, - and _ (not 'next' or 'exit')"),
                id=repr(step_id),
            ),
        )
    actions = [key for key in data if key != "id"]
    if len(actions) != 1 or actions[0] not in _PARSERS:
        raise DefinitionError(
            where, Said(N_("a step is one of: %(names)s"), names=", ".join(_PARSERS))
        )
    name = actions[0]
    return Step(step_id, _PARSERS[name](data[name], f"{where}.{name}"))


def parse(data: Any) -> Definition:
    """A program from the mapping of a YAML file (or the console's form)."""
    data = _mapping(data, "")
    known = ("name", "description", "trigger", "reentry", "goals", "steps", "language", "status")
    _unknown(data, known, "program")
    name = _text(data.get("name"), "name", required=True, limit=NAME_MAX)
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or not steps_data:
        raise DefinitionError("steps", Said(N_("a program needs at least one step")))
    steps = tuple(parse_step(item, f"steps[{number}]") for number, item in enumerate(steps_data))
    seen: set[str] = set()
    for number, step in enumerate(steps):
        if step.id in seen:
            raise DefinitionError(
                f"steps[{number}].id", Said(N_("%(id)s is used twice"), id=repr(step.id))
            )
        seen.add(step.id)
    position = {step.id: number for number, step in enumerate(steps)}
    for number, step in enumerate(steps):
        if isinstance(step.action, Branch):
            for target in (step.action.then, step.action.otherwise):
                if target not in seen and target not in (NEXT, EXIT):
                    raise DefinitionError(
                        f"steps[{number}].branch",
                        Said(N_("goes to %(target)s, which is no step"), target=repr(target)),
                    )
                if target in position and position[target] <= number:
                    raise DefinitionError(
                        f"steps[{number}].branch",
                        Said(
                            N_("goes back to %(target)s: branches go forward only (no loops)"),
                            target=repr(target),
                        ),
                    )
    goals_data = data.get("goals") or []
    if not isinstance(goals_data, list):
        raise DefinitionError("goals", Said(N_("must be a list")))
    goals = tuple(parse_goal(item, f"goals[{number}]") for number, item in enumerate(goals_data))
    reentry = data.get("reentry", False)
    if not isinstance(reentry, bool):
        raise DefinitionError("reentry", Said(N_("must be true or false")))
    language = _text(data.get("language"), "language", limit=5).lower()
    if language not in ("", "en", "de"):
        raise DefinitionError("language", Said(N_("must be en or de (or left out)")))
    return Definition(
        name=name,
        trigger=parse_trigger(data.get("trigger")),
        steps=steps,
        goals=goals,
        description=_text(data.get("description"), "description", limit=1000),
        reentry=reentry,
        language=language,
    )


def from_yaml(text: str) -> list[tuple[Definition, str | None]]:
    """Every program of a YAML file, with the status it names (None: keep the stored one)."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        raise DefinitionError(
            where, Said(N_("not valid YAML: %(problem)s"), problem=getattr(exc, "problem", exc))
        ) from None
    if not documents:
        raise DefinitionError("", Said(N_("the file holds no program")))
    found = []
    names: set[str] = set()
    for number, document in enumerate(documents):
        try:
            definition = parse(document)
        except DefinitionError as exc:
            prefix = f"program {number + 1}" if len(documents) > 1 else ""
            raise DefinitionError(
                ", ".join(part for part in (prefix, exc.where) if part), exc.said
            ) from None
        if definition.name in names:
            raise DefinitionError(
                f"program {number + 1}",
                Said(N_("%(name)s is named twice"), name=repr(definition.name)),
            )
        names.add(definition.name)
        status = document.get("status") if isinstance(document, Mapping) else None
        if status is not None:
            status = _choice(status, Status, f"program {number + 1}.status").value
        found.append((definition, status))
    return found
