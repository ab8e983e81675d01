"""A program as data: its trigger, steps and goals, read from and written back to the plain
mapping a YAML file holds (``leadshelf programs export`` / ``import``, the console's editor).

Pure: parsing checks every field and says where a fault is (``steps[2].wait.days: must be a
number``), so a wrong file is refused with a message and nothing stored changes. ``to_data``
writes the same shape back, so ``parse(to_data(p)) == p`` (a property test checks it).

The YAML shape::

    name: Welcome
    description: Three to five mails over two weeks for new subscribers
    trigger: {kind: subscribed}              # or {kind: stage, value: decision} …
    reentry: false                         # may a lead that left enter again?
    goals:
      - {kind: stage, value: decision}
      - {kind: lifecycle, value: sql}
    steps:
      - id: hello
        send:
          subjects: ["Welcome, {{ first_name | there }}", "Your reading list"]
          ab: {mode: test, share: 20, decide_after_hours: 24}   # optional
          preheader: …
          body: |
            Markdown with merge fields and content blocks
      - id: pause
        wait: {days: 3}                    # or {weekday: tuesday, hour: 10}
      - id: fork
        branch: {if: {stage: decision}, then: pricing, else: next}
      - id: mark
        set: {field: lifecycle, value: mql}
      - id: tell-sales
        notify: {to: sales@example.com, note: "Read the pricing guide"}
      - id: done
        exit: {}

The types are in ``shape``, reading (``parse``, ``from_yaml``) in ``reading``, writing
(``to_data``, ``to_yaml``) in ``writing``; import them from here.
"""

from __future__ import annotations

from nurture.programs.reading import (
    from_yaml,
    parse,
    parse_ab,
    parse_branch,
    parse_condition,
    parse_exit,
    parse_goal,
    parse_notify,
    parse_send,
    parse_set,
    parse_step,
    parse_trigger,
    parse_wait,
)
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
from nurture.programs.writing import to_data, to_yaml

__all__ = [
    "EXIT",
    "LIFECYCLES_SET",
    "MAX_VARIANTS",
    "NAME_MAX",
    "NEXT",
    "SET_FIELDS",
    "STEP_ID",
    "WEEKDAYS",
    "AbMode",
    "AbTest",
    "Action",
    "Branch",
    "Condition",
    "ConditionKind",
    "Definition",
    "DefinitionError",
    "Exit",
    "Goal",
    "GoalKind",
    "Notify",
    "Send",
    "SetField",
    "Status",
    "Step",
    "Trigger",
    "TriggerKind",
    "Wait",
    "from_yaml",
    "parse",
    "parse_ab",
    "parse_branch",
    "parse_condition",
    "parse_exit",
    "parse_goal",
    "parse_notify",
    "parse_send",
    "parse_set",
    "parse_step",
    "parse_trigger",
    "parse_wait",
    "to_data",
    "to_yaml",
]
