"""The journey and profiling model: sound defaults in code (`model_file` reads overrides).

The journey/scoring parts (event points, half-life, thresholds, fit rules,
grade matrix, MQL rule) join this model with the scoring issue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from content.models import Kind
from content.words import N_
from tracking.rules.kpis import KpiModel


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

EMAIL_FIELD = FieldSpec("email", N_("Business email"), FieldType.EMAIL, priority=0, max_length=254)
"""Asked first whenever it is unknown; it identifies the lead, so it is not in the catalogue."""


# fmt: off
DEFAULT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("first_name", N_("First name"), priority=10, max_length=80),
    FieldSpec("last_name", N_("Last name"), priority=20, max_length=80),
    FieldSpec("company", N_("Company"), priority=30),
    FieldSpec("job_title", N_("Job title"), priority=40),
    # ranges are written with an en dash; the stored values keep the hyphen
    FieldSpec("company_size", N_("Company size"), FieldType.SELECT, priority=50, options=(
        ("1-9", N_("1\N{EN DASH}9 employees")),
        ("10-49", N_("10\N{EN DASH}49 employees")),
        ("50-249", N_("50\N{EN DASH}249 employees")),
        ("250-999", N_("250\N{EN DASH}999 employees")),
        ("1000+", N_("1,000 or more employees")),
    )),
    FieldSpec("industry", N_("Industry"), priority=60, max_length=120),
    FieldSpec("country", N_("Country"), FieldType.COUNTRY, priority=70, max_length=80),
    FieldSpec("need", N_("What challenge do you want to solve?"), FieldType.TEXTAREA,
              priority=80, from_stage="consideration", bant=True, max_length=1000),
    FieldSpec("timeframe", N_("When do you plan to decide?"), FieldType.SELECT, priority=90,
              options=(
        ("0-3m", N_("Within 3 months")), ("3-6m", N_("In 3\N{EN DASH}6 months")),
        ("6-12m", N_("In 6\N{EN DASH}12 months")), ("12m+", N_("In more than 12 months")),
        ("unknown", N_("Not sure yet")),
    ), from_stage="consideration", bant=True),
    FieldSpec("budget", N_("Is there a budget for this?"), FieldType.SELECT, priority=100,
              options=(
        ("none", N_("No budget yet")), ("planned", N_("Budget is planned")),
        ("approved", N_("Budget is approved")),
    ), from_stage="consideration", bant=True),
    FieldSpec("authority", N_("What is your role in the decision?"), FieldType.SELECT,
              priority=110,
              options=(("user", N_("I will use the solution")),
                       ("influencer", N_("I advise on the decision")),
                       ("decision_maker", N_("I make the decision"))),
              from_stage="consideration", bant=True),
    FieldSpec("project", N_("Is there a defined project?"), FieldType.SELECT, priority=120,
              options=(("yes", N_("Yes")), ("no", N_("Not yet"))), from_stage="decision",
              bant=True),
    FieldSpec("phone", N_("Phone number"), FieldType.TEL, priority=130, from_stage="decision",
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
class ConsentWording:
    """The marketing consent box's text in one language, and its version."""

    version: str
    text: str


CONSENT_VERSION = "2026-11"
CONSENT_TEXT = "Yes, email me new resources and event invitations. I can unsubscribe at any time."
DEFAULT_CONSENT_TRANSLATIONS: Mapping[str, ConsentWording] = MappingProxyType(
    {
        "de": ConsentWording(
            "2026-12-de",
            "Ja, senden Sie mir neue Inhalte und Einladungen zu Veranstaltungen per E-Mail. "
            "Ich kann mich jederzeit abmelden.",
        )
    }
)
"""The built-in consent text in German (legal wording: written, not translated per request)."""


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
    consent_version: str = CONSENT_VERSION
    """The version of the English consent text (a new wording gets a new version)."""
    consent_text: str = CONSENT_TEXT
    """The English wording of the marketing consent box."""
    consent_translations: Mapping[str, ConsentWording] = dataclasses.field(
        default_factory=lambda: DEFAULT_CONSENT_TRANSLATIONS
    )
    """The wording in the other languages (``de``), each with a version of its own. A page in
    a language without one shows the English wording."""

    def consent_wording(self, language: str) -> tuple[str, ConsentWording]:
        """The consent text a page in ``language`` shows: (the language it is written in, the
        wording): its translation when there is one, else the English."""
        translated = self.consent_translations.get(language)
        if translated is not None:
            return language, translated
        return "en", ConsentWording(self.consent_version, self.consent_text)

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


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


DEFAULT_EVENT_POINTS: Mapping[str, float] = _frozen(
    {
        "page_view": 0.2,
        "search": 0.5,
        "asset_view": 1.0,
        "gate_view": 0.0,
        "read_progress": 0.0,  # reading earns by engaged seconds and depth reached
        "cta_click": 1.0,
        "form_submit": 3.0,
        "unlock": 2.0,
        "download": 4.0,
        "webinar_register": 6.0,
        "webinar_attend": 10.0,
        "email_click": 2.0,
        "demo_request": 12.0,  # on a decision asset, enough on its own for the decision stage
    }
)
"""Points per event: a view is the lightest touch, asking to talk to sales the heaviest."""

DEFAULT_DEPTH_BONUS: tuple[tuple[float, float], ...] = ((0.5, 2.0), (0.9, 2.0))
"""(depth, points) earned once per browser and asset when its reading first reaches the depth:
reading half an asset adds 2, reading 90 % another 2."""

DEFAULT_STAGE_THRESHOLDS: Mapping[str, float] = _frozen(
    {"awareness": 0.0, "consideration": 8.0, "decision": 12.0, "customer": 15.0}
)
"""The evidence a stage needs before a lead is placed in it (the first stage needs none;
consideration needs more than one read of one asset)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ProfileHint:
    """A profile answer that counts as stage evidence (e.g. timeframe 0-3 months: decision)."""

    field: str
    value: str
    stage: str
    points: float


DEFAULT_PROFILE_HINTS: tuple[ProfileHint, ...] = (
    ProfileHint("timeframe", "0-3m", "decision", 10.0),
    ProfileHint("timeframe", "3-6m", "consideration", 6.0),
    ProfileHint("budget", "approved", "decision", 6.0),
    ProfileHint("budget", "planned", "consideration", 4.0),
    ProfileHint("project", "yes", "decision", 4.0),
)

DEFAULT_FIT_RULES: Mapping[str, Mapping[str, float]] = _frozen(
    {
        "budget": _frozen({"approved": 20, "planned": 12, "none": 0}),
        "authority": _frozen({"decision_maker": 20, "influencer": 12, "user": 4}),
        "need": _frozen({"*": 15}),
        "timeframe": _frozen({"0-3m": 15, "3-6m": 10, "6-12m": 5, "12m+": 0, "unknown": 0}),
        "company_size": _frozen({"1-9": 0, "10-49": 6, "50-249": 12, "250-999": 15, "1000+": 15}),
        "job_title": _frozen({"*": 5}),
        "industry": _frozen({"*": 5}),
        "project": _frozen({"yes": 5, "no": 0}),
    }
)
"""Fit points by profile answer ("*": any answer); BANT carries 70 of the 100 points."""

BANT_FIELDS = ("budget", "authority", "need", "timeframe")

DEFAULT_QUALIFYING: Mapping[str, tuple[str, ...]] = _frozen(
    {
        "budget": ("approved", "planned"),
        "authority": ("decision_maker", "influencer"),
        "need": ("*",),
        "timeframe": ("0-3m", "3-6m", "6-12m"),
        "company_size": ("50-249", "250-999", "1000+"),
        "project": ("yes",),
    }
)
"""The answers the company hopes for: one makes a qualified-question lead, qualifying
answers to all four BANT questions a BANT lead."""

DEFAULT_GRADE_MATRIX: tuple[str, str, str] = ("ABC", "BCD", "CDE")
"""Rows: fit high, medium, low; columns: engagement high, medium, low."""


@dataclasses.dataclass(frozen=True, slots=True)
class Milestone:
    """A named threshold a lead crosses once, e.g. "read 3 decision assets"."""

    name: str
    label: str
    event: str | None = None
    """Count events of this type (e.g. ``webinar_attend``) …"""
    stage: str | None = None
    """… or count assets of this stage read to at least ``depth``."""
    depth: float = 0.5
    count: int = 1


DEFAULT_MILESTONES: tuple[Milestone, ...] = (
    Milestone("first_download", "Downloaded an asset", event="download"),
    Milestone("webinar_registered", "Registered for a webinar", event="webinar_register"),
    Milestone("webinar_attended", "Attended a webinar", event="webinar_attend"),
    Milestone("read_3_consideration", "Read 3 consideration assets", stage="consideration",
              count=3),
    Milestone("read_3_decision", "Read 3 decision assets", stage="decision", count=3),
)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class ScoringModel:
    """How a trail becomes a stage, scores, a grade, a category and a lifecycle."""

    half_life_days: float = 21.0
    """Engagement and stage evidence halve after this many quiet days (three weeks: a stalled
    buyer's old research stops speaking for them within a couple of months)."""
    event_points: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: DEFAULT_EVENT_POINTS
    )
    seconds_points: float = 0.05
    """Points per engaged reading second (a minute of reading is worth 3)."""
    depth_bonus: tuple[tuple[float, float], ...] = DEFAULT_DEPTH_BONUS
    stage_thresholds: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: DEFAULT_STAGE_THRESHOLDS
    )
    profile_hints: tuple[ProfileHint, ...] = DEFAULT_PROFILE_HINTS
    fit_rules: Mapping[str, Mapping[str, float]] = dataclasses.field(
        default_factory=lambda: DEFAULT_FIT_RULES
    )
    qualifying: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=lambda: DEFAULT_QUALIFYING
    )
    fit_bands: tuple[float, float] = (60.0, 30.0)
    """Fit at or above the first is high, at or above the second medium, else low."""
    engagement_bands: tuple[float, float] = (25.0, 8.0)
    grade_matrix: tuple[str, str, str] = DEFAULT_GRADE_MATRIX
    mql_min_fit: float = 40.0
    mql_min_engagement: float = 15.0
    """MQL: fit and engagement both reach these …"""
    mql_decision_min_fit: float = 25.0
    """… or the lead is in the decision stage with at least this fit."""
    recycle_cooloff_days: float = 30.0
    """A recycled lead becomes an MQL again only after this many days."""
    milestones: tuple[Milestone, ...] = DEFAULT_MILESTONES
    customer_stage: str = "customer"
    """The stage a lead is in when (and only when) its lifecycle is customer; "" to infer it
    from reading like the others."""


@dataclasses.dataclass(frozen=True, slots=True)
class Model:
    """Everything configurable about journeys and leads."""

    stages: tuple[str, ...] = STAGES
    """Journey stages, earliest first."""
    stage_labels: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: _frozen(
            {"awareness": "Awareness", "consideration": "Consideration",
             "decision": "Decision", "customer": "Customer"}
        )
    )  # fmt: skip
    profiling: ProfilingModel = dataclasses.field(default_factory=ProfilingModel)
    scoring: ScoringModel = dataclasses.field(default_factory=ScoringModel)
    kpis: KpiModel = dataclasses.field(default_factory=KpiModel)
    """The key figures of Console → KPIs (``tracking.rules.kpis``)."""

    def stage_index(self, stage: str) -> int:
        """How far along ``stage`` is (0: the first); an unknown stage counts as the first."""
        try:
            return self.stages.index(stage)
        except ValueError:
            return 0


def default_model() -> Model:
    """The built-in model: four stages, the CONTRACT.md fields, two questions per form."""
    return Model()
