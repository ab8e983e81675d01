"""Progressive profiling: which fields a gate form asks, and how its answers are cleaned.

Pure functions over plain values and the model (no I/O, no database), so the
rules can be tested exhaustively; ``tracking.identity.gate_forms`` loads and persists around them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from content.printable import unprintable_said
from content.words import N_, Said
from tracking.rules.config import EMAIL_FIELD, FieldSpec, FieldType, GatePolicy, Model


class InvalidAnswer(ValueError):
    """An answer the form refuses; ``said`` is the message shown next to the field (marked for
    translation; ``str()`` of the error is its English)."""

    def __init__(self, said: Said | str) -> None:
        self.said = said if isinstance(said, Said) else Said(said)
        super().__init__(str(self.said))


@dataclass(frozen=True, slots=True)
class FieldLabel:
    """A field's label inside a message ("Please enter your job title."): the portal shows it
    in the reader's language; English writes it in lower case mid-sentence (``str``)."""

    text: str

    def __str__(self) -> str:
        return mid_sentence(self.text)


def mid_sentence(label: str) -> str:
    """An English label as it reads inside a sentence: "Job title" becomes "job title", but
    "CRM system" keeps its capitals."""
    label = label.strip()
    if len(label) > 1 and not label[1].isupper():
        return label[0].lower() + label[1:]
    return label


EMAIL_EXAMPLE_MESSAGE = N_("Enter an email address like name@company.com.")
CHOOSE_OPTION_MESSAGE = N_("Please choose one of the options.")

# The bidi embedding/override/isolate marks, which can make a name display as something
# else, are dropped (control characters are refused before, see ``content.printable``).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_PHONE_CHARACTERS = re.compile(r"[0-9 +\-()/]+")
_PHONE_DIGITS = (6, 20)


def fields_to_ask(
    known: Collection[str], policy: GatePolicy, stage: str, model: Model
) -> tuple[FieldSpec, ...]:
    """The fields one gate form asks, in the order it shows them.

    Email comes first while it is unknown: it identifies the lead and is not
    counted against the budget. Then up to ``policy.max_questions`` other fields:
    the policy's required fields that are still unknown (in their given order,
    even when the lead's stage has not reached their ``from_stage``), then the
    unknown catalogue fields by priority (ties keep catalogue order) whose
    ``from_stage`` the lead's ``stage`` has reached. A known field is never
    asked again, so each form asks a little more and the profile grows.
    """
    asked = [] if EMAIL_FIELD.name in known else [EMAIL_FIELD]
    catalogue = {spec.name: spec for spec in model.profiling.fields}
    required = [catalogue[name] for name in policy.required if name in catalogue]
    reached = model.stage_index(stage)
    by_priority = [
        spec
        for spec in sorted(model.profiling.fields, key=lambda spec: spec.priority)
        if spec.from_stage is None or model.stage_index(spec.from_stage) <= reached
    ]
    chosen: dict[str, FieldSpec] = {}
    for spec in (*required, *by_priority):
        if len(chosen) >= policy.max_questions:
            break
        if spec.name not in known:
            chosen.setdefault(spec.name, spec)
    return (*asked, *chosen.values())


def normalize_email(raw: str) -> str:
    """The address in canonical form, or InvalidAnswer; syntax only, no DNS lookups.

    The whole address is lower-cased: people type it in varying case, and we treat
    the mailbox as case-insensitive as every big provider does, so one person stays
    one lead whichever way they typed it.
    """
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidAnswer(EMAIL_EXAMPLE_MESSAGE) from None
    return checked.normalized.lower()


def clean_answers(
    raw: Mapping[str, str], asked: Sequence[FieldSpec]
) -> tuple[dict[str, str], dict[str, Said]]:
    """The cleaned values and the error messages, both by field name, for the asked fields.

    Every asked field must be answered; keys of ``raw`` that were not asked are
    ignored, so a browser cannot set facts the form did not offer.
    """
    values: dict[str, str] = {}
    errors: dict[str, Said] = {}
    for spec in asked:
        try:
            values[spec.name] = clean_answer(spec, raw.get(spec.name) or "")
        except InvalidAnswer as refused:
            errors[spec.name] = refused.said
    return values, errors


def clean_answer(spec: FieldSpec, raw: str) -> str:
    """One answer trimmed and checked against its field, or InvalidAnswer with the message."""
    # Tabs and line breaks are ordinary whitespace here (single-line answers collapse them).
    problem = unprintable_said(raw, multiline=True)
    if problem is not None:
        raise InvalidAnswer(Said(N_("Please remove %(problem)s."), problem=problem))
    if spec.type is FieldType.EMAIL:
        if not raw.strip():
            raise InvalidAnswer(missing_message(spec))
        return normalize_email(raw)
    value = _clean_text(raw, multiline=spec.type is FieldType.TEXTAREA)
    if not value:
        raise InvalidAnswer(missing_message(spec))
    if spec.type is FieldType.SELECT:
        if value not in {option for option, _ in spec.options}:
            raise InvalidAnswer(CHOOSE_OPTION_MESSAGE)
        return value
    if len(value) > spec.max_length:
        raise InvalidAnswer(
            Said(N_("Please keep this to %(limit)s characters or fewer."), limit=spec.max_length)
        )
    if spec.type is FieldType.TEL:
        _check_phone(value)
    return value


def missing_message(spec: FieldSpec) -> Said:
    """What to say when a field is left empty, worded from its type and label."""
    if spec.type is FieldType.SELECT:
        return Said(N_("Please choose an option."))
    if spec.label.rstrip().endswith("?"):
        return Said(N_("Please answer this question."))
    return Said(N_("Please enter your %(label)s."), label=FieldLabel(spec.label))


def _clean_text(raw: str, *, multiline: bool) -> str:
    text = _BIDI.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    if not multiline:
        return " ".join(text.split())
    lines = (" ".join(line.split()) for line in text.split("\n"))
    # keep paragraphs, but not a screenful of empty lines
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _check_phone(value: str) -> None:
    if not _PHONE_CHARACTERS.fullmatch(value):
        raise InvalidAnswer(N_("Please use only digits, spaces and + - ( ) / in a phone number."))
    digits = sum(character.isdigit() for character in value)
    low, high = _PHONE_DIGITS
    if not low <= digits <= high:
        raise InvalidAnswer(
            Said(
                N_("Please enter a phone number with %(low)s to %(high)s digits."),
                low=low,
                high=high,
            )
        )
