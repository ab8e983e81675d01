"""Programs as data: every step, trigger and goal kind is read; every fault is refused with
the field it is in; what is written back reads back the same (a property test)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.programs.definition import (
    EXIT,
    NEXT,
    SET_FIELDS,
    AbMode,
    AbTest,
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
    from_yaml,
    parse,
    to_data,
    to_yaml,
)
from nurture.programs.templates import TEMPLATES, template, template_text


def program(**changes: Any) -> dict[str, Any]:
    """A valid program mapping with one step of each kind; ``changes`` replace top keys."""
    data: dict[str, Any] = {
        "name": "Welcome",
        "description": "For new subscribers",
        "trigger": {"kind": "subscribed"},
        "reentry": False,
        "goals": [{"kind": "stage", "value": "decision"}, {"kind": "demo"}],
        "steps": [
            {
                "id": "hello",
                "send": {
                    "subjects": ["Welcome, {{ first_name | there }}", "Your reading list"],
                    "ab": {"mode": "test", "share": 20, "decide_after_hours": 24},
                    "preheader": "What to read first",
                    "body": "Hi {{ first_name | there }},\n\n{{ next_best_content 3 }}\n",
                },
            },
            {"id": "pause", "wait": {"days": 3}},
            {"id": "fork", "branch": {"if": {"stage": "decision"}, "then": "tell", "else": "next"}},
            {"id": "mark", "set": {"field": "lifecycle", "value": "mql"}},
            {"id": "tell", "notify": {"to": "sales@example.com", "note": "Read the guide"}},
            {"id": "done", "exit": {}},
        ],
    }
    data.update(changes)
    return data


def with_step(number: int, step: dict[str, Any]) -> dict[str, Any]:
    data = program()
    data["steps"][number] = step
    return data


def fault(data: Any) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        parse(data)
    return caught.value


# ---- reading every kind --------------------------------------------------------------------


def test_a_program_with_every_step_kind_reads_as_data() -> None:
    definition = parse(program())
    assert definition.name == "Welcome"
    assert definition.trigger == Trigger(TriggerKind.SUBSCRIBED)
    assert definition.goals == (Goal(GoalKind.STAGE, "decision"), Goal(GoalKind.DEMO))
    assert [step.kind for step in definition.steps] == [
        "send", "wait", "branch", "set", "notify", "exit",
    ]  # fmt: skip
    send = definition.steps[0].action
    assert send == Send(
        subjects=("Welcome, {{ first_name | there }}", "Your reading list"),
        body="Hi {{ first_name | there }},\n\n{{ next_best_content 3 }}\n",
        preheader="What to read first",
        ab=AbTest(AbMode.TEST, 20, 24),
    )
    assert definition.steps[1].action == Wait(days=3)
    assert definition.steps[2].action == Branch(
        Condition(ConditionKind.STAGE, "decision"), then="tell", otherwise=NEXT
    )
    assert definition.steps[3].action == SetField("lifecycle", "mql")
    assert definition.steps[4].action == Notify("sales@example.com", "Read the guide")
    assert definition.steps[5].action == Exit()
    assert definition.index("tell") == 4
    assert [step.id for step in definition.sends()] == ["hello"]


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ({"kind": "subscribed"}, Trigger(TriggerKind.SUBSCRIBED)),
        ({"kind": "stage", "value": "decision"}, Trigger(TriggerKind.STAGE, "decision")),
        ({"kind": "lifecycle", "value": "recycled"}, Trigger(TriggerKind.LIFECYCLE, "recycled")),
        ({"kind": "unlocked", "value": "pricing-guide"},
         Trigger(TriggerKind.UNLOCKED, "pricing-guide")),
        ({"kind": "unlocked", "value": "kind:webinar"},
         Trigger(TriggerKind.UNLOCKED, "kind:webinar")),
        ({"kind": "webinar_attended"}, Trigger(TriggerKind.WEBINAR_ATTENDED)),
        ({"kind": "webinar_missed", "value": "q3-demo"},
         Trigger(TriggerKind.WEBINAR_MISSED, "q3-demo")),
        ({"kind": "grade", "value": "b"}, Trigger(TriggerKind.GRADE, "B")),
        ({"kind": "inactive", "days": 60}, Trigger(TriggerKind.INACTIVE, days=60)),
        ({"kind": "MANUAL"}, Trigger(TriggerKind.MANUAL)),
    ],
)  # fmt: skip
def test_every_trigger_kind_reads(trigger: dict[str, Any], expected: Trigger) -> None:
    assert parse(program(trigger=trigger)).trigger == expected


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ({"kind": "stage", "value": "decision"}, Goal(GoalKind.STAGE, "decision")),
        ({"kind": "lifecycle", "value": "sql"}, Goal(GoalKind.LIFECYCLE, "sql")),
        ({"kind": "demo"}, Goal(GoalKind.DEMO)),
        ({"kind": "unlocked", "value": "pricing-guide"}, Goal(GoalKind.UNLOCKED, "pricing-guide")),
        ({"kind": "unsubscribed"}, Goal(GoalKind.UNSUBSCRIBED)),
    ],
)
def test_every_goal_kind_reads(goal: dict[str, Any], expected: Goal) -> None:
    assert parse(program(goals=[goal])).goals == (expected,)
    assert expected.label().startswith(expected.on.value)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"stage": "consideration"}, Condition(ConditionKind.STAGE, "consideration")),
        ({"grade": ["b", "A"]}, Condition(ConditionKind.GRADE, "A B")),
        ({"grade": "B, a"}, Condition(ConditionKind.GRADE, "A B")),
        ({"lifecycle": "mql"}, Condition(ConditionKind.LIFECYCLE, "mql")),
        ({"topic": "pipeline"}, Condition(ConditionKind.TOPIC, "pipeline")),
        ({"opened": True}, Condition(ConditionKind.OPENED, "yes")),
        ({"opened": False}, Condition(ConditionKind.OPENED, "no")),
        ({"clicked": "yes"}, Condition(ConditionKind.CLICKED, "yes")),
        ({"clicked": None}, Condition(ConditionKind.CLICKED, "yes")),
        ({"read": "pricing-guide"}, Condition(ConditionKind.READ, "pricing-guide")),
    ],
)
def test_every_branch_condition_reads(condition: dict[str, Any], expected: Condition) -> None:
    step = {"id": "fork", "branch": {"if": condition, "then": "exit"}}
    branch = parse(with_step(2, step)).steps[2].action
    assert branch == Branch(expected, then=EXIT, otherwise=NEXT)


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        ({"days": 2}, Wait(days=2)),
        ({"days": 1, "hours": 12}, Wait(days=1.5)),
        ({"hours": 6}, Wait(days=0.25)),
        ({"weekday": "Tuesday", "hour": 10}, Wait(weekday=1, hour=10)),
        ({"weekday": "friday"}, Wait(weekday=4, hour=9)),
        ({"days": 7, "weekday": "monday", "hour": 8}, Wait(days=7, weekday=0, hour=8)),
    ],
)
def test_every_wait_reads(wait: dict[str, Any], expected: Wait) -> None:
    assert parse(with_step(1, {"id": "pause", "wait": wait})).steps[1].action == expected


def test_a_single_subject_is_no_test_and_several_subjects_split_by_default() -> None:
    one = parse(with_step(0, {"id": "hello", "send": {"subject": "Hi", "body": "Text"}}))
    assert one.steps[0].action == Send(("Hi",), "Text")
    two = parse(with_step(0, {"id": "hello", "send": {"subjects": ["A", "B"], "body": "Text"}}))
    action = two.steps[0].action
    assert isinstance(action, Send)
    assert action.ab == AbTest(AbMode.SPLIT)
    assert action.variants == 2


@pytest.mark.parametrize("field", SET_FIELDS)
def test_every_settable_field_reads(field: str) -> None:
    value = "customer" if field == "lifecycle" else "Acme"
    step = {"id": "mark", "set": {"field": field, "value": value}}
    assert parse(with_step(3, step)).steps[3].action == SetField(field, value)


# ---- faults, each where it is --------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change of the program at a dotted path (``steps.1.wait.days``); ``...`` deletes."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        key: Any = int(last) if last.isdigit() else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return change


FAULTS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("no name", _set("name", "  "), "name", "is required"),
    ("name too long", _set("name", "x" * 121), "name", "longer than 120"),
    ("name not text", _set("name", ["a"]), "name", "must be text"),
    ("unknown top key", _set("owner", "me"), "program", "unknown key 'owner'"),
    ("no steps", _set("steps", []), "steps", "at least one step"),
    ("steps not a list", _set("steps", {"id": "x"}), "steps", "at least one step"),
    ("trigger unknown", _set("trigger", {"kind": "visited"}), "trigger.kind", "not one of"),
    ("trigger missing", _set("trigger", ...), "trigger.kind", "not one of"),
    ("trigger not a mapping", _set("trigger", "subscribed"), "trigger", "must be a mapping"),
    ("trigger unknown key", _set("trigger.when", "now"), "trigger", "unknown key 'when'"),
    ("stage trigger no value", _set("trigger", {"kind": "stage"}), "trigger.value",
     "is required"),
    ("grade trigger C", _set("trigger", {"kind": "grade", "value": "C"}), "trigger.value",
     "A or B"),
    ("inactive no days", _set("trigger", {"kind": "inactive"}), "trigger.days",
     "must be a number"),
    ("inactive zero days", _set("trigger", {"kind": "inactive", "days": 0}), "trigger.days",
     "between 1 and 3650"),
    ("goals not a list", _set("goals", {"kind": "demo"}), "goals", "must be a list"),
    ("goal unknown", _set("goals.1", {"kind": "party"}), "goals[1].kind", "not one of"),
    ("goal no value", _set("goals.0", {"kind": "lifecycle"}), "goals[0].value", "is required"),
    ("goal unknown key", _set("goals.1.value2", "x"), "goals[1]", "unknown key 'value2'"),
    ("reentry text", _set("reentry", "yes please"), "reentry", "true or false"),
    ("language", _set("language", "fr"), "language", "en or de"),
    ("step not a mapping", _set("steps.2", "fork"), "steps[2]", "must be a mapping"),
    ("step no id", _set("steps.1.id", ...), "steps[1].id", "is required"),
    ("step bad id", _set("steps.1.id", "Pause 1"), "steps[1].id", "lower-case"),
    ("step id next", _set("steps.1.id", "next"), "steps[1].id", "not 'next'"),
    ("step two actions", _set("steps.1.exit", {}), "steps[1]", "a step is one of"),
    ("step unknown action", _set("steps.5", {"id": "done", "stop": {}}), "steps[5]",
     "a step is one of"),
    ("duplicate id", _set("steps.3.id", "pause"), "steps[3].id", "'pause' is used twice"),
    ("wait days text", _set("steps.1.wait.days", "three"), "steps[1].wait.days",
     "must be a number"),
    ("wait days bool", _set("steps.1.wait.days", True), "steps[1].wait.days",
     "must be a number"),
    ("wait days negative", _set("steps.1.wait.days", -1), "steps[1].wait.days",
     "between 0 and 365"),
    ("wait nothing", _set("steps.1.wait", {}), "steps[1].wait", "wait for days"),
    ("wait unknown key", _set("steps.1.wait.weeks", 1), "steps[1].wait", "unknown key 'weeks'"),
    ("wait weekday", _set("steps.1.wait", {"weekday": "someday", "hour": 9}),
     "steps[1].wait.weekday", "must be one of"),
    ("wait hour without weekday", _set("steps.1.wait", {"hour": 9}), "steps[1].wait.weekday",
     "must be one of"),
    ("wait hour 24", _set("steps.1.wait", {"weekday": "monday", "hour": 24}),
     "steps[1].wait.hour", "between 0 and 23"),
    ("send no subject", _set("steps.0.send.subjects", []), "steps[0].send.subjects",
     "at least one subject"),
    ("send five subjects", _set("steps.0.send.subjects", list("abcde")),
     "steps[0].send.subjects", "at most 4"),
    ("send same subjects", _set("steps.0.send.subjects", ["Hi", " Hi "]),
     "steps[0].send.subjects", "the same"),
    ("send empty subject", _set("steps.0.send.subjects", ["Hi", ""]),
     "steps[0].send.subjects[1]", "is required"),
    ("send no body", _set("steps.0.send.body", " \n "), "steps[0].send.body", "is required"),
    ("send unknown key", _set("steps.0.send.from", "me"), "steps[0].send", "unknown key 'from'"),
    ("ab one subject", _set("steps.0.send.subjects", ["Hi"]), "steps[0].send.ab",
     "2 to 4 subject lines"),
    ("ab mode", _set("steps.0.send.ab.mode", "bandit"), "steps[0].send.ab.mode", "not one of"),
    ("ab share", _set("steps.0.send.ab.share", 1), "steps[0].send.ab.share", "between 2 and 100"),
    ("ab hours", _set("steps.0.send.ab.decide_after_hours", 0),
     "steps[0].send.ab.decide_after_hours", "between 1 and 720"),
    ("branch to unknown", _set("steps.2.branch.then", "nowhere"), "steps[2].branch",
     "'nowhere', which is no step"),
    ("branch back", _set("steps.2.branch.else", "hello"), "steps[2].branch",
     "branches go forward only"),
    ("branch to itself", _set("steps.2.branch.then", "fork"), "steps[2].branch",
     "branches go forward only"),
    ("branch no condition", _set("steps.2.branch.if", {}), "steps[2].branch.if",
     "one condition"),
    ("branch two conditions", _set("steps.2.branch.if", {"stage": "x", "grade": "A"}),
     "steps[2].branch.if", "one condition"),
    ("branch unknown condition", _set("steps.2.branch.if", {"weather": "fine"}),
     "steps[2].branch.if", "not one of"),
    ("branch grade F", _set("steps.2.branch.if", {"grade": "A F"}), "steps[2].branch.if.grade",
     "grades are A"),
    ("branch empty value", _set("steps.2.branch.if", {"stage": ""}), "steps[2].branch.if.stage",
     "is required"),
    ("set unknown field", _set("steps.3.set.field", "email"), "steps[3].set.field",
     "must be one of"),
    ("set lifecycle", _set("steps.3.set.value", "lost"), "steps[3].set.value", "must be one of"),
    ("set no value", _set("steps.3.set.value", ""), "steps[3].set.value", "is required"),
    ("notify no address", _set("steps.4.notify.to", "sales"), "steps[4].notify.to",
     "not an email address"),
    ("notify two addresses", _set("steps.4.notify.to", "a@b.example, c@d.example"),
     "steps[4].notify.to", "not an email address"),
    ("notify unknown key", _set("steps.4.notify.cc", "x@y.example"), "steps[4].notify",
     "unknown key 'cc'"),
    ("exit not a mapping", _set("steps.5.exit", "now"), "steps[5].exit", "must be a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [pytest.param(change, where, problem, id=label) for label, change, where, problem in FAULTS],
)
def test_a_fault_is_refused_where_it_is(
    change: Callable[[dict[str, Any]], None], where: str, problem: str
) -> None:
    data = copy.deepcopy(program())
    change(data)
    error = fault(data)
    assert error.where == where
    assert problem in error.problem
    assert str(error) == f"{where}: {error.problem}"


MERGE_FAULTS = [
    ("subjects.0", "Hi {{ firstname }}", "steps[0].send.subjects[0]", "unknown field"),
    ("subjects.1", "{{ next_best_content 3 }}", "steps[0].send.subjects[1]", "in the body"),
    ("subjects.0", "Hi {{ company acme }}", "steps[0].send.subjects[0]", "takes no words"),
    ("preheader", "For {{ comapny }}", "steps[0].send.preheader", "unknown field"),
    ("preheader", "{{ asset guide }}", "steps[0].send.preheader", "in the body"),
    ("body", "Hi {{ first_name | there }}\n{{ nbc 3 }}", "steps[0].send.body", "unknown field"),
    ("body", "Read {{ next_best_content 3 }} now", "steps[0].send.body", "line of its own"),
    ("body", "{{ next_best_content 7 }}", "steps[0].send.body", "1 to 6"),
    ("body", "{{ next_best_content three }}", "steps[0].send.body", "1 to 6"),
    ("body", "{{ next_best_content 2 3 }}", "steps[0].send.body", "one number"),
    ("body", "{{ latest_in_topic }}", "steps[0].send.body", "latest_in_topic TOPIC-SLUG"),
    ("body", "{{ asset }}", "steps[0].send.body", "asset ASSET-SLUG"),
    ("body", "Hi {{ first-name }},", "steps[0].send.body", "not a merge field"),
    ("body", "Hi {{ first_name ,\nthanks", "steps[0].send.body", "not a merge field"),
    ("subjects.0", "Hi {{first name}}", "steps[0].send.subjects[0]", "unknown field"),
]


@pytest.mark.parametrize(("key", "text", "where", "problem"), MERGE_FAULTS)
def test_a_merge_field_or_block_that_cannot_be_filled_is_refused(
    key: str, text: str, where: str, problem: str
) -> None:
    data = program()
    _set(f"steps.0.send.{key}", text)(data)
    error = fault(data)
    assert (error.where, problem in error.problem) == (where, True), error


def test_a_body_with_every_block_and_field_is_accepted() -> None:
    body = (
        "Hi {{ first_name | there }} {{last_name}} of {{ company | your team }},\n"
        "{{ job_title }} {{ industry }} {{ country | }}\n"
        "{{ next_best_content }}\n"
        "  {{ latest_in_topic pipeline 2 }}  \n"
        "{{ asset pricing-guide }}\n"
        "Plain braces { like this } stay text.\n"
    )
    data = program()
    data["steps"][0]["send"]["body"] = body
    action = parse(data).steps[0].action
    assert isinstance(action, Send)
    assert action.body == body


def test_a_document_that_is_no_mapping_is_refused() -> None:
    assert fault(["name"]).problem == "must be a mapping (key: value)"


# ---- YAML ----------------------------------------------------------------------------------


def test_yaml_syntax_errors_name_their_line() -> None:
    text = "name: Broken\ntrigger: {kind: subscribed}\nsteps:\n  - id: a\n   exit: {}\n"
    with pytest.raises(DefinitionError) as caught:
        from_yaml(text)
    assert caught.value.where == "line 5"
    assert "not valid YAML" in caught.value.problem
    with pytest.raises(DefinitionError) as caught:
        from_yaml('name: "never closed\nsteps: []\n')
    assert caught.value.where.startswith("line ")


def test_a_fault_in_the_second_program_of_a_file_names_it() -> None:
    first = to_yaml([(parse(program()), None)])
    second = to_yaml([(parse(program(name="Other")), None)]).replace("days: 3", "days: x")
    with pytest.raises(DefinitionError) as caught:
        from_yaml(first + "---\n" + second)
    assert caught.value.where == "program 2, steps[1].wait.days"


def test_two_programs_of_one_name_in_a_file_are_refused() -> None:
    text = to_yaml([(parse(program()), None), (parse(program()), None)])
    with pytest.raises(DefinitionError) as caught:
        from_yaml(text)
    assert caught.value.where == "program 2"
    assert "named twice" in caught.value.problem


def test_an_empty_file_and_a_wrong_status_are_refused() -> None:
    with pytest.raises(DefinitionError, match="holds no program"):
        from_yaml("# nothing\n")
    with pytest.raises(DefinitionError) as caught:
        from_yaml(to_yaml([(parse(program()), None)]) + "status: running\n")
    assert caught.value.where == "program 1.status"


def test_the_status_a_file_names_is_read() -> None:
    text = to_yaml([(parse(program()), "active"), (parse(program(name="B")), None)])
    assert [status for _definition, status in from_yaml(text)] == ["active", None]
    assert "status: active" in text


def test_yaml_keeps_a_body_readable() -> None:
    text = to_yaml([(parse(program()), None)])
    assert "body: |\n" in text
    assert "      {{ next_best_content 3 }}\n" in text


# ---- round trips ---------------------------------------------------------------------------

PLAIN = st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="{}")
"""Text a marketer may type: no surrogates or control characters (refused, tested apart)."""
SLUG = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)


def _stripped(size: int, *, alphabet: st.SearchStrategy[str] = PLAIN) -> st.SearchStrategy[str]:
    return (
        st.text(alphabet, min_size=1, max_size=size)
        .map(str.strip)
        .filter(bool)
    )  # fmt: skip


TAGS = st.sampled_from(
    ["{{ first_name | there }}", "{{ company }}", "{{country|}}", "{{ last_name | friend }}"]
)
BLOCK_LINES = st.sampled_from(
    ["{{ next_best_content 3 }}", "{{ latest_in_topic pipeline 2 }}", "{{ asset guide }}"]
)


@st.composite
def subjects(draw: st.DrawFn) -> tuple[str, ...]:
    count = draw(st.integers(1, 4))
    lines = draw(
        st.lists(
            st.tuples(_stripped(60), st.one_of(st.just(""), TAGS)).map(lambda p: f"{p[0]} {p[1]}"),
            min_size=count, max_size=count, unique_by=str.strip,
        )
    )  # fmt: skip
    return tuple(line.strip() for line in lines)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    lines = draw(
        st.lists(
            st.one_of(st.text(PLAIN.filter(lambda c: c not in "\r\n\x85\u2028\u2029")),
                      TAGS, BLOCK_LINES),
            min_size=1, max_size=6,
        )
    )  # fmt: skip
    body = "\n".join(lines) + draw(st.sampled_from(["", "\n"]))
    return body if body.strip() else "Hello"


@st.composite
def sends(draw: st.DrawFn) -> Send:
    lines = draw(subjects())
    ab = None
    if len(lines) > 1:
        ab = AbTest(
            draw(st.sampled_from(list(AbMode))),
            draw(st.integers(2, 100)),
            draw(st.integers(1, 720)),
        )
    preheader = draw(st.one_of(st.just(""), _stripped(80)))
    return Send(lines, draw(bodies()), preheader, ab)


@st.composite
def waits(draw: st.DrawFn) -> Wait:
    days = draw(st.one_of(st.integers(0, 365).map(float), st.floats(0, 365)))
    if draw(st.booleans()) or days == 0:
        return Wait(days, draw(st.integers(0, 6)), draw(st.integers(0, 23)))
    return Wait(days)


def conditions() -> st.SearchStrategy[Condition]:
    grades = st.sets(st.sampled_from("ABCDE"), min_size=1).map(lambda s: " ".join(sorted(s)))
    return st.one_of(
        st.builds(Condition, st.sampled_from([ConditionKind.OPENED, ConditionKind.CLICKED]),
                  st.sampled_from(["yes", "no"])),
        st.builds(Condition, st.just(ConditionKind.GRADE), grades),
        st.builds(Condition, st.sampled_from([ConditionKind.STAGE, ConditionKind.LIFECYCLE,
                                              ConditionKind.TOPIC, ConditionKind.READ]),
                  _stripped(40)),
    )  # fmt: skip


def set_fields() -> st.SearchStrategy[SetField]:
    return st.one_of(
        st.builds(SetField, st.just("lifecycle"), st.sampled_from(["mql", "sql", "recycled"])),
        st.builds(SetField, st.sampled_from(SET_FIELDS[1:]), _stripped(40)),
    )


def notifies() -> st.SearchStrategy[Notify]:
    address = st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True)
    note = st.one_of(st.just(""), st.text(PLAIN, max_size=80).filter(str.strip))
    return st.builds(Notify, address, note)


@st.composite
def steps(draw: st.DrawFn) -> tuple[Step, ...]:
    ids = draw(
        st.lists(
            st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True).filter(
                lambda name: name not in (NEXT, EXIT)
            ),
            min_size=1, max_size=7, unique=True,
        )
    )  # fmt: skip
    found = []
    for number, step_id in enumerate(ids):
        targets = st.sampled_from([NEXT, EXIT, *ids[number + 1 :]])
        action = draw(
            st.one_of(
                sends(), waits(), set_fields(), notifies(), st.just(Exit()),
                st.builds(Branch, conditions(), targets, targets),
            )
        )  # fmt: skip
        found.append(Step(step_id, action))
    return tuple(found)


def triggers() -> st.SearchStrategy[Trigger]:
    value = _stripped(40)
    return st.one_of(
        st.builds(Trigger, st.sampled_from([TriggerKind.SUBSCRIBED, TriggerKind.MANUAL])),
        st.builds(Trigger, st.sampled_from([TriggerKind.STAGE, TriggerKind.LIFECYCLE,
                                            TriggerKind.UNLOCKED]), value),
        st.builds(Trigger, st.sampled_from([TriggerKind.WEBINAR_ATTENDED,
                                            TriggerKind.WEBINAR_MISSED]),
                  st.one_of(st.just(""), SLUG)),
        st.builds(Trigger, st.just(TriggerKind.GRADE), st.sampled_from("AB")),
        st.builds(Trigger, st.just(TriggerKind.INACTIVE), st.just(""), st.integers(1, 3650)),
    )  # fmt: skip


def goals() -> st.SearchStrategy[Goal]:
    return st.one_of(
        st.builds(Goal, st.sampled_from([GoalKind.STAGE, GoalKind.LIFECYCLE, GoalKind.UNLOCKED]),
                  _stripped(40)),
        st.builds(Goal, st.sampled_from([GoalKind.DEMO, GoalKind.UNSUBSCRIBED])),
    )  # fmt: skip


definitions = st.builds(
    Definition,
    name=_stripped(120),
    trigger=triggers(),
    steps=steps(),
    goals=st.lists(goals(), max_size=3).map(tuple),
    description=st.one_of(st.just(""), st.text(PLAIN, max_size=200).filter(str.strip)),
    reentry=st.booleans(),
    language=st.sampled_from(["", "en", "de"]),
)


@settings(max_examples=100, deadline=None)
@given(definitions)
def test_what_to_data_writes_parse_reads_back(definition: Definition) -> None:
    assert parse(to_data(definition)) == definition


@settings(max_examples=40, deadline=None)
@given(st.lists(definitions, min_size=1, max_size=2, unique_by=lambda d: d.name),
       st.lists(st.sampled_from([None, *Status]), min_size=2, max_size=2))  # fmt: skip
def test_what_to_yaml_writes_from_yaml_reads_back(
    programs: list[Definition], statuses: list[Status | None]
) -> None:
    pairs = [
        (definition, status.value if status else None)
        for definition, status in zip(programs, statuses, strict=False)
    ]
    assert from_yaml(to_yaml(pairs)) == pairs


def test_a_weekday_wait_and_a_fractional_wait_read_back() -> None:
    definition = parse(
        with_step(1, {"id": "pause", "wait": {"days": 1, "hours": 6, "weekday": "sunday"}})
    )
    assert definition.steps[1].action == Wait(1.25, 6, 9)
    assert from_yaml(to_yaml([(definition, None)]))[0][0] == definition


# ---- the built-in templates ----------------------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_parses_and_reads_back(name: str) -> None:
    found = template(name)
    assert found
    for definition in found:
        assert definition.sends()
        assert parse(to_data(definition)) == definition
    assert [d for d, _ in from_yaml(to_yaml([(d, None) for d in found]))] == found
    assert template_text(name).startswith("#")


def test_the_welcome_template_is_three_to_five_mails() -> None:
    (welcome,) = template("welcome")
    assert 3 <= len(welcome.sends()) <= 5
    assert welcome.trigger.on is TriggerKind.SUBSCRIBED


def test_an_unknown_template_is_named() -> None:
    with pytest.raises(LookupError, match="welcome"):
        template("newsletter")


ONE_STEP = {"id": "a", "send": {"subject": "Hi\nthere", "body": "x"}}


@pytest.mark.parametrize(
    ("field", "data", "said"),
    [
        ("name", {"name": "Wel\x00come"}, "control character U+0000"),
        ("description", {"description": "Four mails\x85over two weeks"}, "U+0085"),
        ("steps[0].send.subjects[0]", {"steps": [ONE_STEP]}, "line break U+000A"),
    ],
)
def test_control_characters_are_refused_where_they_are(
    field: str, data: dict[str, Any], said: str
) -> None:
    base = {"name": "Welcome", "trigger": {"kind": "manual"},
            "steps": [{"id": "a", "send": {"subject": "Hi", "body": "Hello"}}]}  # fmt: skip
    with pytest.raises(DefinitionError) as refused:
        parse({**base, **data})
    assert refused.value.where == field
    assert said in refused.value.problem
