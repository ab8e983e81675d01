"""The printable-text check every door uses, tested with plain data."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from content.printable import printable_copy, unprintable, unprintable_json

CONTROLS = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))]
WHITESPACE = ["\t", "\n", "\r"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Pricing guide",
        "Leitfäden für B2B — 2026 edition",
        "数据表 · データシート",
        "emoji 🚀 and a flag 🇩🇪",
        "\U0001f680",  # a character beyond the BMP is a proper surrogate pair, not a lone one
        "right-to-left \u05e9\u05dc\u05d5\u05dd",
        "non-breaking\u00a0space and zero\u200bwidth",
    ],
)
def test_ordinary_text_is_printable(text: str) -> None:
    assert unprintable(text) is None
    assert unprintable(text, multiline=True) is None


@pytest.mark.parametrize("character", [c for c in CONTROLS if c not in WHITESPACE])
def test_every_control_character_is_refused_on_one_line_and_on_many(character: str) -> None:
    code = f"U+{ord(character):04X}"
    assert unprintable(f"ab{character}c") == f"the control character {code} at position 3"
    assert unprintable(f"ab{character}c", multiline=True) == (
        f"the control character {code} at position 3"
    )


@pytest.mark.parametrize(
    ("character", "name"), [("\t", "tab"), ("\n", "line break"), ("\r", "line break")]
)
def test_tab_and_line_breaks_are_whitespace_only_where_a_field_holds_lines(
    character: str, name: str
) -> None:
    assert unprintable(f"first{character}second", multiline=True) is None
    assert unprintable(f"first{character}second") == (
        f"the {name} U+{ord(character):04X} at position 6"
    )


@pytest.mark.parametrize("surrogate", SURROGATES)
def test_an_unpaired_surrogate_is_refused(surrogate: str) -> None:
    code = f"U+{ord(surrogate):04X}"
    assert unprintable(surrogate) == f"the unpaired surrogate {code} at position 1"
    assert unprintable(f"x{surrogate}", multiline=True) == (
        f"the unpaired surrogate {code} at position 2"
    )


def test_the_first_refused_character_is_named() -> None:
    assert unprintable("ok\x1b\x00\udfff") == "the control character U+001B at position 3"


@given(st.text())
def test_the_verdict_matches_the_unicode_categories(text: str) -> None:
    refused = [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in WHITESPACE]
    assert (unprintable(text, multiline=True) is None) == (not refused)
    assert (unprintable(text) is None) == (not refused and not set(text) & set(WHITESPACE))


@given(st.text())
def test_printable_text_always_encodes_as_utf8_and_json(text: str) -> None:
    if unprintable(text) is None:
        text.encode("utf-8")
        assert json.loads(json.dumps(text, ensure_ascii=False)) == text
        assert "\x00" not in text


@given(st.text(min_size=1))
def test_the_reason_never_contains_the_refused_character(text: str) -> None:
    problem = unprintable(text)
    if problem is not None:
        assert unprintable(problem) is None
        assert problem.isascii()


# --- decoded JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"note": "fine", "lines": "one\ntwo\tthree"}, None),
        ([1, 2.5, True, None, {"a": []}], None),
        ("\udfff", "target contains the unpaired surrogate U+DFFF at position 1"),
        ({"note": "a\x00b"}, "target.note contains the control character U+0000 at position 2"),
        (
            {"utm": {"tags": ["ok", "bad\x07"]}},
            "target.utm.tags[1] contains the control character U+0007 at position 4",
        ),
        ({"bad\nkey": 1}, "a key of target contains the line break U+000A at position 4"),
        (
            {"deep": {"x\udfffy": "v"}},
            "a key of target.deep contains the unpaired surrogate U+DFFF at position 2",
        ),
        (
            {"first": "\x01", "second": "\x02"},
            "target.first contains the control character U+0001 at position 1",
        ),
    ],
)
def test_json_problems_name_the_path(value: object, expected: str | None) -> None:
    assert unprintable_json(value, "target") == expected


def test_deeply_nested_json_is_walked_without_recursion() -> None:
    value: object = "\x00"
    for _ in range(5000):
        value = [value]
    problem = unprintable_json(value, "p")
    assert problem is not None
    assert problem.startswith("p[0][0]")
    assert problem.endswith("contains the control character U+0000 at position 1")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_printable_json_always_serializes_as_utf8(value: object) -> None:
    if unprintable_json(value, "v") is None:
        json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_a_printable_copy_replaces_what_the_check_refuses() -> None:
    stored = {"target": "a\udfffb", "bad\nkey": ["x\x00", 1, None], "note": "line\nbreak\t"}
    assert printable_copy(stored) == {
        "target": "a\ufffdb",
        "bad\ufffdkey": ["x\ufffd", 1, None],
        "note": "line\nbreak\t",
    }


@given(json_values)
def test_a_printable_copy_is_printable_and_leaves_printable_json_alone(value: object) -> None:
    copy = printable_copy(value)
    assert unprintable_json(copy, "v") is None
    if unprintable_json(value, "v") is None:
        assert copy == value
