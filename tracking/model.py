"""The journey and profiling model: sound defaults in code (`model_file` reads overrides).

The journey/scoring parts (event points, half-life, thresholds, fit rules,
grade matrix, MQL rule) join this model with the scoring issue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from content.models import Kind


class ModelError(ValueError):
    """The model is wrong; the message names the dotted key path (and file) and the reason."""


class FieldType(StrEnum):
    EMAIL = "email"
    TEXT = "text"
    TEL = "tel"
    TEXTAREA = "textarea"
    SELECT = "select"
    COUNTRY = "country"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldSpec:
    """One profile field a gate form may ask (CONTRACT.md, "Profile fields")."""

    name: str
    label: str
    type: FieldType = FieldType.TEXT
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs for select fields, in display order."""
    priority: int = 100
    """Lower is asked first."""
    from_stage: str | None = None
    """Asked only once the lead's stage has reached this one (None: from the start)."""
    bant: bool = False
    """One of budget, authority, need, timeframe (and project): a qualifying question."""
    max_length: int = 200


@dataclasses.dataclass(frozen=True, slots=True)
class GatePolicy:
    """What one gate form may ask: its required fields and the question budget."""

    required: tuple[str, ...] = ()
    max_questions: int = 2


STAGES: tuple[str, ...] = ("awareness", "consideration", "decision", "customer")

EMAIL_FIELD = FieldSpec("email", "Business email", FieldType.EMAIL, priority=0, max_length=254)
"""Asked first whenever it is unknown; it identifies the lead, so it is not in the catalogue."""


_EN_DASH = "\N{EN DASH}"  # typography for ranges; the stored values keep the hyphen

# fmt: off
DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("first_name", "First name", priority=10, max_length=80),
    FieldSpec("last_name", "Last name", priority=20, max_length=80),
    FieldSpec("company", "Company", priority=30),
    FieldSpec("job_title", "Job title", priority=40),
    FieldSpec("company_size", "Company size", FieldType.SELECT, priority=50, options=(
        *((size, f"{size.replace('-', _EN_DASH)} employees")
          for size in ("1-9", "10-49", "50-249", "250-999")),
        ("1000+", "1,000 or more employees"),
    )),
    FieldSpec("industry", "Industry", priority=60, max_length=120),
    FieldSpec("country", "Country", FieldType.COUNTRY, priority=70, max_length=80),
    FieldSpec("need", "What challenge do you want to solve?", FieldType.TEXTAREA, priority=80,
              from_stage="consideration", bant=True, max_length=1000),
    FieldSpec("timeframe", "When do you plan to decide?", FieldType.SELECT, priority=90, options=(
        ("0-3m", "Within 3 months"), ("3-6m", f"In 3{_EN_DASH}6 months"),
        ("6-12m", f"In 6{_EN_DASH}12 months"), ("12m+", "In more than 12 months"),
        ("unknown", "Not sure yet"),
    ), from_stage="consideration", bant=True),
    FieldSpec("budget", "Is there a budget for this?", FieldType.SELECT, priority=100, options=(
        ("none", "No budget yet"), ("planned", "Budget is planned"),
        ("approved", "Budget is approved"),
    ), from_stage="consideration", bant=True),
    FieldSpec("authority", "What is your role in the decision?", FieldType.SELECT, priority=110,
              options=(("user", "I will use the solution"),
                       ("influencer", "I advise on the decision"),
                       ("decision_maker", "I make the decision")),
              from_stage="consideration", bant=True),
    FieldSpec("project", "Is there a defined project?", FieldType.SELECT, priority=120,
              options=(("yes", "Yes"), ("no", "Not yet")), from_stage="decision", bant=True),
    FieldSpec("phone", "Phone number", FieldType.TEL, priority=130, from_stage="decision",
              max_length=40),
)
# fmt: on
"""The profile field catalogue (all but email), in priority order."""

_Required = Mapping[str, tuple[str, ...]]
"""Required field names by content kind or by asset slug."""

DEFAULT_REQUIRED_BY_KIND: _Required = MappingProxyType(
    {Kind.WEBINAR.value: ("first_name", "last_name")}
)
"""A webinar registration needs a name to greet the attendee by."""


@dataclasses.dataclass(frozen=True, slots=True)
class ProfilingModel:
    """The field catalogue and the rules for gate forms."""

    fields: tuple[FieldSpec, ...] = DEFAULT_FIELDS
    max_questions: int = 2
    """N: a form asks the email (when unknown) plus at most N other fields."""
    required_by_kind: _Required = dataclasses.field(
        default_factory=lambda: DEFAULT_REQUIRED_BY_KIND
    )
    """Fields every asset of a kind requires (e.g. a webinar: first and last name)."""
    required_by_asset: _Required = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    """Fields one asset (by slug) requires; replaces its kind's list."""
    min_fill_seconds: float = 2.0
    """A form sent back faster than this is treated as a bot."""
    submissions_per_ip: int = 30
    """Gate form submissions one address may make per ``rate_window_seconds``."""
    rate_window_seconds: int = 600
    consent_version: str = "2026-11"
    consent_text: str = (
        "Yes, email me new resources and event invitations. I can unsubscribe at any time."
    )

    def policy_for(self, kind: str, slug: str) -> GatePolicy:
        """The gate policy of one asset: its own required list, else its kind's."""
        if slug in self.required_by_asset:
            required = self.required_by_asset[slug]
        else:
            required = self.required_by_kind.get(kind, ())
        return GatePolicy(required=tuple(required), max_questions=self.max_questions)

    def field(self, name: str) -> FieldSpec:
        """The field called ``name`` (``email`` included); KeyError when there is none."""
        if name == EMAIL_FIELD.name:
            return EMAIL_FIELD
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    """Everything configurable about journeys and leads; scoring parts join it later."""

    stages: tuple[str, ...] = STAGES
    """Journey stages, earliest first."""
    profiling: ProfilingModel = dataclasses.field(default_factory=ProfilingModel)

    def stage_index(self, stage: str) -> int:
        """How far along ``stage`` is (0: the first); an unknown stage counts as the first."""
        try:
            return self.stages.index(stage)
        except ValueError:
            return 0


def default_model() -> Model:
    """The built-in model: four stages, the CONTRACT.md fields, two questions per form."""
    return Model()
