"""Writing a program back as the mapping ``reading`` reads (``parse(to_data(p)) == p``, a
property test checks it) and as readable YAML (``leadshelf programs export``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from nurture.programs.shape import (
    WEEKDAYS,
    Action,
    Branch,
    Definition,
    Notify,
    Send,
    SetField,
    Wait,
)


def _action_data(action: Action) -> dict[str, Any]:
    if isinstance(action, Send):
        send: dict[str, Any] = {"subjects": list(action.subjects)}
        if action.preheader:
            send["preheader"] = action.preheader
        if action.ab is not None and action.variants > 1:
            send["ab"] = {
                "mode": action.ab.mode.value,
                "share": action.ab.share,
                "decide_after_hours": action.ab.decide_after_hours,
            }
        send["body"] = action.body
        return {"send": send}
    if isinstance(action, Wait):
        wait: dict[str, Any] = {}
        if action.days:
            wait["days"] = int(action.days) if float(action.days).is_integer() else action.days
        if action.weekday is not None:
            wait["weekday"] = WEEKDAYS[action.weekday]
            wait["hour"] = action.hour
        return {"wait": wait}
    if isinstance(action, Branch):
        condition = {action.condition.on.value: action.condition.value}
        return {"branch": {"if": condition, "then": action.then, "else": action.otherwise}}
    if isinstance(action, SetField):
        return {"set": {"field": action.field, "value": action.value}}
    if isinstance(action, Notify):
        notify = {"to": action.to}
        if action.note:
            notify["note"] = action.note
        return {"notify": notify}
    return {"exit": {}}


def to_data(definition: Definition, status: str | None = None) -> dict[str, Any]:
    """The mapping ``parse`` reads (keys in a stable, readable order)."""
    trigger: dict[str, Any] = {"kind": definition.trigger.on.value}
    if definition.trigger.value:
        trigger["value"] = definition.trigger.value
    if definition.trigger.days:
        trigger["days"] = definition.trigger.days
    data: dict[str, Any] = {"name": definition.name}
    if status is not None:
        data["status"] = status
    if definition.description:
        data["description"] = definition.description
    if definition.language:
        data["language"] = definition.language
    data["trigger"] = trigger
    data["reentry"] = definition.reentry
    data["goals"] = [
        {"kind": goal.on.value, **({"value": goal.value} if goal.value else {})}
        for goal in definition.goals
    ]
    data["steps"] = [{"id": step.id, **_action_data(step.action)} for step in definition.steps]
    return data


class _Dumper(yaml.SafeDumper):
    pass


def _text_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text_representer)


def to_yaml(definitions: Sequence[tuple[Definition, str | None]]) -> str:
    """One program, or several as YAML documents separated by ``---``."""
    return yaml.dump_all(
        [to_data(definition, status) for definition, status in definitions],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
