"""What a program is made of, as data: its trigger, steps (send, wait, branch, set, notify,
exit) and goals, and the error a definition that cannot be stored raises. Read and written by
``reading`` and ``writing``; ``definition`` is the one place other modules import from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from content.words import Said

NAME_MAX = 120
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_VARIANTS = 4
NEXT = "next"
"""A branch target meaning "the step after the branch"."""
EXIT = "exit"
"""A branch target meaning "leave the program"."""


class DefinitionError(ValueError):
    """A program that cannot be stored: where the fault is and what is wrong (``problem`` in
    English, ``said`` the marked text the console shows in the reader's language)."""

    def __init__(self, where: str, problem: str | Said) -> None:
        self.where = where
        self.said = problem if isinstance(problem, Said) else Said(problem)
        self.problem = str(problem)
        super().__init__(f"{where}: {self.problem}" if where else self.problem)


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class TriggerKind(StrEnum):
    """What enters a lead into a program."""

    SUBSCRIBED = "subscribed"
    """Double opt-in confirmed."""
    STAGE = "stage"
    """Entered the journey stage ``value``."""
    LIFECYCLE = "lifecycle"
    """Lifecycle became ``value`` (mql, recycled, customer …)."""
    UNLOCKED = "unlocked"
    """Unlocked (or registered for) the asset with slug ``value``, or any asset of kind
    ``kind:KIND`` (``kind:webinar``: registered for a webinar)."""
    WEBINAR_ATTENDED = "webinar_attended"
    """Attended the webinar ``value`` (a slug; empty: any webinar)."""
    WEBINAR_MISSED = "webinar_missed"
    """Registered for the webinar ``value`` (empty: any) and did not attend; read once the
    webinar ended and its attendance could be known."""
    GRADE = "grade"
    """Grade reached ``value`` (A or B) or better."""
    INACTIVE = "inactive"
    """No engagement for ``days`` days (re-engagement)."""
    MANUAL = "manual"
    """Added by hand in the console or by the API only."""


class GoalKind(StrEnum):
    """What ends the program for a lead as a conversion."""

    STAGE = "stage"
    """Reached the journey stage ``value`` or a later one."""
    LIFECYCLE = "lifecycle"
    """Lifecycle became ``value``."""
    DEMO = "demo"
    """Booked a demo (the demo request form)."""
    UNLOCKED = "unlocked"
    """Unlocked the asset ``value``."""
    UNSUBSCRIBED = "unsubscribed"
    """Unsubscribed (ends the program; counted apart from conversions in the review)."""


class ConditionKind(StrEnum):
    STAGE = "stage"
    GRADE = "grade"
    """``value`` is a set of grades, written ``"A B"`` or ``[A, B]``."""
    LIFECYCLE = "lifecycle"
    TOPIC = "topic"
    """The lead reads in, or chose in the preference center, the topic ``value``."""
    OPENED = "opened"
    """Opened the previous mail of this program (human opens)."""
    CLICKED = "clicked"
    """Clicked a link in the previous mail of this program."""
    READ = "read"
    """Read the asset with slug ``value``."""


class AbMode(StrEnum):
    SPLIT = "split"
    """Every send picks a variant (even shares)."""
    TEST = "test"
    """``share`` % of the audience is split across the variants; the rest waits
    ``decide_after_hours`` and gets the winner (or, with no significant winner, an even split)."""


@dataclass(frozen=True, slots=True)
class Trigger:
    on: TriggerKind
    value: str = ""
    days: int = 0


@dataclass(frozen=True, slots=True)
class Goal:
    on: GoalKind
    value: str = ""

    def label(self) -> str:
        return f"{self.on.value} {self.value}".strip()


@dataclass(frozen=True, slots=True)
class Condition:
    on: ConditionKind
    value: str = ""


@dataclass(frozen=True, slots=True)
class AbTest:
    mode: AbMode = AbMode.SPLIT
    share: int = 20
    """TEST: per cent of the audience in the test."""
    decide_after_hours: int = 24


@dataclass(frozen=True, slots=True)
class Send:
    subjects: tuple[str, ...]
    body: str
    preheader: str = ""
    ab: AbTest | None = None

    @property
    def variants(self) -> int:
        return len(self.subjects)


@dataclass(frozen=True, slots=True)
class Wait:
    days: float = 0.0
    weekday: int | None = None
    """0 = Monday; with ``hour``: wait until that weekday and hour in the lead's time zone."""
    hour: int | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    condition: Condition
    then: str = NEXT
    otherwise: str = NEXT


@dataclass(frozen=True, slots=True)
class SetField:
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Notify:
    to: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Exit:
    pass


Action = Send | Wait | Branch | SetField | Notify | Exit
SET_FIELDS = ("lifecycle", "company", "job_title", "industry", "country", "phone")
"""Fields a ``set`` step may change (lifecycle through the same checks as the console)."""
LIFECYCLES_SET = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "recycled")


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    action: Action

    @property
    def kind(self) -> str:
        return _ACTION_NAMES[type(self.action)]


@dataclass(frozen=True, slots=True)
class Definition:
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    goals: tuple[Goal, ...] = ()
    description: str = ""
    reentry: bool = False
    language: str = ""
    """Empty: each lead's language decides nothing (one text); a fixed language otherwise."""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def index(self, step_id: str) -> int:
        for number, step in enumerate(self.steps):
            if step.id == step_id:
                return number
        raise KeyError(step_id)

    def sends(self) -> list[Step]:
        return [step for step in self.steps if isinstance(step.action, Send)]


_ACTION_NAMES: dict[type, str] = {
    Send: "send",
    Wait: "wait",
    Branch: "branch",
    SetField: "set",
    Notify: "notify",
    Exit: "exit",
}
