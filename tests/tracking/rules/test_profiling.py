"""Progressive profiling rules: which fields a form asks, and how answers are cleaned."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping

import pytest

from content.words import Said
from tracking.rules.config import (
    DEFAULT_FIELDS,
    EMAIL_FIELD,
    FieldSpec,
    FieldType,
    GatePolicy,
    Model,
    ProfilingModel,
    default_model,
)
from tracking.rules.config_file import parse_model
from tracking.rules.profiling import (
    CHOOSE_OPTION_MESSAGE,
    EMAIL_EXAMPLE_MESSAGE,
    InvalidAnswer,
    clean_answers,
    fields_to_ask,
    missing_message,
    normalize_email,
)

DEFAULT = default_model()
FIRMOGRAPHICS = frozenset(
    {"email", "first_name", "last_name", "company", "job_title", "company_size"}
    | {"industry", "country"}
)
BANT = frozenset({"need", "timeframe", "budget", "authority"})
EVERYTHING = frozenset({"email", *(spec.name for spec in DEFAULT_FIELDS)})


def with_priorities(**priorities: int) -> Model:
    """The default model with some fields' priorities changed."""
    fields = tuple(
        dataclasses.replace(spec, priority=priorities.get(spec.name, spec.priority))
        for spec in DEFAULT_FIELDS
    )
    return Model(profiling=ProfilingModel(fields=fields))


def policy(*required: str, n: int = 2) -> GatePolicy:
    return GatePolicy(required=required, max_questions=n)


NO_COMPANY = parse_model({"profiling": {"fields": {"company": {"enabled": False}}}})
WITH_CRM = parse_model(
    {"profiling": {"fields": {"crm": {"label": "Which CRM do you use?", "priority": 15}}}}
)
AIDA = parse_model(
    {
        "stages": ["attention", "interest", "desire", "action"],
        "profiling": {
            "fields": {name: {"from_stage": "interest"} for name in ("need", "timeframe", "budget")}
            | {name: {"from_stage": "desire"} for name in ("authority", "project", "phone")}
        },
    }
)

# fmt: off
TABLE = [
    pytest.param((), policy(), "awareness", DEFAULT,
                 ("email", "first_name", "last_name"), id="nothing-known"),
    pytest.param({"email"}, policy(), "awareness", DEFAULT,
                 ("first_name", "last_name"), id="email-known-not-asked-again"),
    pytest.param({"email", "first_name", "last_name"}, policy(), "awareness", DEFAULT,
                 ("company", "job_title"), id="names-known-next-by-priority"),
    pytest.param(EVERYTHING, policy(), "decision", DEFAULT, (), id="all-known-empty"),
    pytest.param(EVERYTHING - {"email"}, policy(), "decision", DEFAULT,
                 ("email",), id="all-known-but-email"),
    pytest.param(FIRMOGRAPHICS, policy(), "awareness", DEFAULT,
                 (), id="awareness-hides-bant"),
    pytest.param(FIRMOGRAPHICS, policy(), "consideration", DEFAULT,
                 ("need", "timeframe"), id="consideration-shows-bant-by-priority"),
    pytest.param(FIRMOGRAPHICS | {"need", "timeframe"}, policy(), "consideration", DEFAULT,
                 ("budget", "authority"), id="consideration-next-bant"),
    pytest.param(FIRMOGRAPHICS | BANT, policy(), "consideration", DEFAULT,
                 (), id="consideration-hides-project-and-phone"),
    pytest.param(FIRMOGRAPHICS | BANT, policy(), "decision", DEFAULT,
                 ("project", "phone"), id="decision-shows-project-and-phone"),
    pytest.param(FIRMOGRAPHICS, policy(), "decision", DEFAULT,
                 ("need", "timeframe"), id="decision-asks-bant-first-by-priority"),
    pytest.param(EVERYTHING - {"phone"}, policy(), "customer", DEFAULT,
                 ("phone",), id="customer-stage-is-past-decision"),
    pytest.param(FIRMOGRAPHICS, policy(), "no-such-stage", DEFAULT,
                 (), id="unknown-stage-counts-as-first"),
    pytest.param({"email"}, policy("company", "job_title"), "awareness", DEFAULT,
                 ("company", "job_title"), id="required-before-priority"),
    pytest.param({"email"}, policy("job_title", "company"), "awareness", DEFAULT,
                 ("job_title", "company"), id="required-in-given-order"),
    pytest.param((), policy("country", "industry", "company"), "awareness", DEFAULT,
                 ("email", "country", "industry"), id="required-beyond-n-truncated"),
    pytest.param({"email", "company"}, policy("company"), "awareness", DEFAULT,
                 ("first_name", "last_name"), id="required-already-known"),
    pytest.param({"email", "job_title"}, policy("company", "job_title"), "awareness", DEFAULT,
                 ("company", "first_name"), id="required-partly-known-then-priority"),
    pytest.param({"email"}, policy("budget"), "awareness", DEFAULT,
                 ("budget", "first_name"), id="required-asked-before-its-stage"),
    pytest.param({"email"}, policy("shoe_size", "company"), "awareness", DEFAULT,
                 ("company", "first_name"), id="required-not-in-catalogue-ignored"),
    pytest.param((), policy("email"), "awareness", DEFAULT,
                 ("email", "first_name", "last_name"), id="required-email-not-counted"),
    pytest.param({"email"}, policy("company", "company"), "awareness", DEFAULT,
                 ("company", "first_name"), id="required-twice-asked-once"),
    pytest.param((), policy(n=0), "decision", DEFAULT, ("email",), id="n0-only-email"),
    pytest.param({"email"}, policy(n=0), "decision", DEFAULT, (), id="n0-email-known-empty"),
    pytest.param((), policy("company", n=0), "awareness", DEFAULT,
                 ("email",), id="n0-required-waits"),
    pytest.param((), policy(n=1), "awareness", DEFAULT,
                 ("email", "first_name"), id="n1-one-question"),
    pytest.param((), policy(n=5), "awareness", DEFAULT,
                 ("email", "first_name", "last_name", "company", "job_title", "company_size"),
                 id="n5-five-questions"),
    pytest.param((), policy(n=10), "awareness", DEFAULT,
                 ("email", "first_name", "last_name", "company", "job_title", "company_size",
                  "industry", "country"), id="n10-capped-by-stage"),
    pytest.param(["email", "shoe_size", "consent_marketing"], policy(), "awareness", DEFAULT,
                 ("first_name", "last_name"), id="unknown-known-names-ignored"),
    pytest.param(["email", "first_name"], policy(), "awareness", DEFAULT,
                 ("last_name", "company"), id="known-as-a-list"),
    pytest.param({"email"}, policy(), "awareness", with_priorities(company=5, job_title=1),
                 ("job_title", "company"), id="custom-priorities-reordered"),
    pytest.param({"email"}, policy(), "awareness", with_priorities(job_title=10),
                 ("first_name", "job_title"), id="priority-tie-keeps-catalogue-order"),
    pytest.param({"email"}, policy(n=10), "consideration", with_priorities(need=1),
                 ("need", "first_name", "last_name", "company", "job_title", "company_size",
                  "industry", "country", "timeframe", "budget"), id="custom-bant-first"),
    pytest.param({"email", "first_name", "last_name"}, policy(), "awareness", NO_COMPANY,
                 ("job_title", "company_size"), id="disabled-field-never-asked"),
    pytest.param({"email", "first_name"}, policy(), "awareness", WITH_CRM,
                 ("crm", "last_name"), id="added-field-by-priority"),
    pytest.param(FIRMOGRAPHICS, policy(n=4), "interest", AIDA,
                 ("need", "timeframe", "budget"), id="custom-stages-interest"),
    pytest.param(FIRMOGRAPHICS | BANT, policy(), "action", AIDA,
                 ("project", "phone"), id="custom-stages-action"),
]
# fmt: on


@pytest.mark.parametrize(("known", "gate", "stage", "model", "expected"), TABLE)
def test_fields_to_ask(
    known: Collection[str], gate: GatePolicy, stage: str, model: Model, expected: tuple[str, ...]
) -> None:
    asked = fields_to_ask(known, gate, stage, model)
    assert tuple(spec.name for spec in asked) == expected


def test_fields_to_ask_gives_the_field_specs() -> None:
    asked = fields_to_ask((), GatePolicy(), "awareness", DEFAULT)
    profiling = DEFAULT.profiling
    assert asked == (EMAIL_FIELD, profiling.field("first_name"), profiling.field("last_name"))


def test_webinar_policy_asks_names_first() -> None:
    gate = DEFAULT.profiling.policy_for("webinar", "demo-webinar")
    known = {"email", "company", "job_title"}
    assert [spec.name for spec in fields_to_ask(known, gate, "decision", DEFAULT)] == [
        "first_name",
        "last_name",
    ]


# --- clean_answers ----------------------------------------------------------------------

F = DEFAULT.profiling.field


def english(
    cleaned: tuple[dict[str, str], Mapping[str, Said]],
) -> tuple[dict[str, str], dict[str, str]]:
    """The cleaned values and the error messages as an English reader sees them."""
    values, errors = cleaned
    return values, {name: str(said) for name, said in errors.items()}


def clean_one(name: str, raw: str) -> tuple[dict[str, str], dict[str, str]]:
    return english(clean_answers({name: raw}, [F(name)]))


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        pytest.param("company", "  ACME \t  GmbH  ", "ACME GmbH", id="trim-and-collapse"),
        pytest.param("company", "\u202eAcme\u202c", "Acme", id="bidi-override"),
        pytest.param("first_name", "Zoë\u00a0Ann", "Zoë Ann", id="no-break-space"),
        pytest.param(
            "need",
            "  Faster\r\nhandoff \r\n\r\n\r\n\r\nto  sales ",
            "Faster\nhandoff\n\nto sales",
            id="textarea-keeps-paragraphs",
        ),
        pytest.param("budget", " planned ", "planned", id="select-trimmed"),
        pytest.param("company_size", "1000+", "1000+", id="select-value"),
        pytest.param("country", "Deutschland", "Deutschland", id="country-free-text"),
        pytest.param("phone", "+49 (0)30 / 123-456", "+49 (0)30 / 123-456", id="phone"),
        pytest.param("phone", "123456", "123456", id="phone-six-digits"),
        pytest.param("phone", "+" + "1" * 20, "+" + "1" * 20, id="phone-twenty-digits"),
        pytest.param("email", "  Ada@Example.COM ", "ada@example.com", id="email-normalized"),
        pytest.param("company", "x" * 200, "x" * 200, id="at-max-length"),
    ],
)
def test_clean_answers_accepts(name: str, raw: str, expected: str) -> None:
    assert clean_one(name, raw) == ({name: expected}, {})


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        pytest.param("first_name", "", "Please enter your first name.", id="empty"),
        pytest.param("job_title", " \t\n", "Please enter your job title.", id="whitespace-only"),
        pytest.param(
            "company",
            "Ac\x00me\x1b Corp",
            "Please remove the control character U+0000 at position 3.",
            id="control-characters",
        ),
        pytest.param(
            "need",
            "Faster\n\x1b[31mhandoff",
            "Please remove the control character U+001B at position 8.",
            id="control-in-a-textarea",
        ),
        pytest.param(
            "email",
            "ada\x00@example.com",
            "Please remove the control character U+0000 at position 4.",
            id="control-in-an-email",
        ),
        pytest.param(
            "company",
            "Acme\udfff",
            "Please remove the unpaired surrogate U+DFFF at position 5.",
            id="lone-surrogate",
        ),
        pytest.param("need", "", "Please answer this question.", id="question-label"),
        pytest.param("budget", "", "Please choose an option.", id="select-empty"),
        pytest.param("email", "  ", "Please enter your business email.", id="email-empty"),
        pytest.param("budget", "lots", CHOOSE_OPTION_MESSAGE, id="select-not-an-option"),
        pytest.param("budget", "Budget is planned", CHOOSE_OPTION_MESSAGE, id="select-label"),
        pytest.param("budget", "PLANNED", CHOOSE_OPTION_MESSAGE, id="select-case"),
        pytest.param(
            "company", "x" * 201, "Please keep this to 200 characters or fewer.", id="too-long"
        ),
        pytest.param(
            "country",
            "y" * 81,
            "Please keep this to 80 characters or fewer.",
            id="country-too-long",
        ),
        pytest.param(
            "phone",
            "12345",
            "Please enter a phone number with 6 to 20 digits.",
            id="phone-too-few-digits",
        ),
        pytest.param(
            "phone",
            "1" * 21,
            "Please enter a phone number with 6 to 20 digits.",
            id="phone-too-many-digits",
        ),
        pytest.param(
            "phone",
            "call me 0301234",
            "Please use only digits, spaces and + - ( ) / in a phone number.",
            id="phone-letters",
        ),
        pytest.param("email", "ada@", EMAIL_EXAMPLE_MESSAGE, id="email-invalid"),
    ],
)
def test_clean_answers_refuses(name: str, raw: str, message: str) -> None:
    assert clean_one(name, raw) == ({}, {name: message})


def test_clean_answers_only_keeps_asked_fields() -> None:
    raw = {"email": "ada@example.com", "company": "ACME", "budget": "approved", "lead_id": "7"}
    values, errors = clean_answers(raw, [EMAIL_FIELD, F("company")])
    assert values == {"email": "ada@example.com", "company": "ACME"}
    assert errors == {}


def test_clean_answers_requires_every_asked_field() -> None:
    values, errors = english(
        clean_answers({"company": "ACME"}, [EMAIL_FIELD, F("company"), F("budget")])
    )
    assert values == {"company": "ACME"}
    assert errors == {
        "email": "Please enter your business email.",
        "budget": "Please choose an option.",
    }


def test_clean_answers_with_nothing_asked() -> None:
    assert clean_answers({"email": "x"}, []) == ({}, {})


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("CRM system", "Please enter your CRM system."),
        ("Website", "Please enter your website."),
        ("Which CRM do you use?", "Please answer this question."),
    ],
)
def test_missing_message_wording(label: str, message: str) -> None:
    assert str(missing_message(FieldSpec("extra", label))) == message


def test_custom_text_field_uses_its_max_length() -> None:
    spec = FieldSpec("crm", "CRM system", FieldType.TEXT, max_length=5)
    assert english(clean_answers({"crm": "HubSpot"}, [spec])) == (
        {},
        {"crm": "Please keep this to 5 characters or fewer."},
    )


# --- normalize_email ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada@Example.COM ", "ada@example.com"),
        ("ADA.LOVELACE+whitepapers@EXAMPLE.CO.UK", "ada.lovelace+whitepapers@example.co.uk"),
        ("jörg@Bücher.de", "jörg@bücher.de"),
    ],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada lovelace@example.com",
        "Ada <ada@example.com>",
        "ada@exam\nple.com",
        "ada@exa mple.com",
        "ada@" + "b" * 64 + ".com",
        "a" * 64 + "@" + ("b" * 60 + ".") * 4 + "com",
    ],
)
def test_normalize_email_refuses(raw: str) -> None:
    with pytest.raises(InvalidAnswer, match=re.escape(EMAIL_EXAMPLE_MESSAGE)):
        normalize_email(raw)


def test_invalid_answer_is_a_value_error() -> None:
    assert issubclass(InvalidAnswer, ValueError)
