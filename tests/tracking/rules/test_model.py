"""The journey/profiling model: its defaults and the TOML file that overrides them."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.models import Kind
from tracking.rules.config import (
    DEFAULT_FIELDS,
    EMAIL_FIELD,
    STAGES,
    ConsentWording,
    FieldSpec,
    FieldType,
    GatePolicy,
    Model,
    ModelError,
    ProfilingModel,
    default_model,
)
from tracking.rules.config_file import load_model, parse_model

CONTRACT_FIELDS = (
    "first_name", "last_name", "company", "job_title", "company_size", "industry", "country",
    "need", "timeframe", "budget", "authority", "project", "phone",
)  # fmt: skip
CONTRACT_OPTIONS = {
    "company_size": ("1-9", "10-49", "50-249", "250-999", "1000+"),
    "budget": ("none", "planned", "approved"),
    "authority": ("user", "influencer", "decision_maker"),
    "timeframe": ("0-3m", "3-6m", "6-12m", "12m+", "unknown"),
    "project": ("yes", "no"),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Model:
    return load_model(write(tmp_path, text))


# --- defaults ---------------------------------------------------------------------------


def test_default_model_shape() -> None:
    model = default_model()
    assert model == Model() == load_model(None)
    assert model.stages == STAGES == ("awareness", "consideration", "decision", "customer")
    profiling = model.profiling
    assert profiling.fields == DEFAULT_FIELDS
    assert tuple(spec.name for spec in profiling.fields) == CONTRACT_FIELDS
    assert profiling.max_questions == 2
    assert dict(profiling.required_by_kind) == {"webinar": ("first_name", "last_name")}
    assert dict(profiling.required_by_asset) == {}


def test_default_catalogue_is_in_priority_order() -> None:
    priorities = [spec.priority for spec in DEFAULT_FIELDS]
    assert priorities == sorted(priorities)
    assert len(set(priorities)) == len(priorities)


def test_default_select_options_match_the_contract() -> None:
    selects = {spec.name: spec for spec in DEFAULT_FIELDS if spec.type is FieldType.SELECT}
    assert {name: tuple(v for v, _ in spec.options) for name, spec in selects.items()} == (
        CONTRACT_OPTIONS
    )
    assert dict(selects["company_size"].options)["1-9"] == "1\N{EN DASH}9 employees"
    assert all(label for spec in selects.values() for _, label in spec.options)


def test_default_bant_questions_wait_for_consideration() -> None:
    stages = {spec.name: spec.from_stage for spec in DEFAULT_FIELDS if spec.from_stage}
    assert stages == {
        "need": "consideration",
        "timeframe": "consideration",
        "budget": "consideration",
        "authority": "consideration",
        "project": "decision",
        "phone": "decision",
    }
    bant = {spec.name for spec in DEFAULT_FIELDS if spec.bant}
    assert bant == {"need", "timeframe", "budget", "authority", "project"}
    assert default_model().profiling.field("need").type is FieldType.TEXTAREA
    assert default_model().profiling.field("phone").type is FieldType.TEL


def test_email_is_asked_separately() -> None:
    profiling = default_model().profiling
    assert "email" not in {spec.name for spec in profiling.fields}
    assert profiling.field("email") is EMAIL_FIELD
    assert EMAIL_FIELD.type is FieldType.EMAIL
    assert EMAIL_FIELD.max_length == 254


def test_field_lookup_refuses_unknown_names() -> None:
    with pytest.raises(KeyError):
        default_model().profiling.field("consent_marketing")


def test_policy_for_kind_and_asset() -> None:
    profiling = ProfilingModel(
        required_by_kind={"webinar": ("first_name", "last_name")},
        required_by_asset={"pricing-guide": ("company",), "open-webinar": ()},
        max_questions=3,
    )
    assert profiling.policy_for("webinar", "demo") == GatePolicy(("first_name", "last_name"), 3)
    assert profiling.policy_for(Kind.WEBINAR, "demo").required == ("first_name", "last_name")
    assert profiling.policy_for("whitepaper", "guide") == GatePolicy((), 3)
    assert profiling.policy_for("ebook", "pricing-guide").required == ("company",)
    assert profiling.policy_for("webinar", "open-webinar").required == ()


@pytest.mark.parametrize(
    ("stage", "index"),
    [("awareness", 0), ("consideration", 1), ("decision", 2), ("customer", 3), ("nope", 0)],
)
def test_stage_index(stage: str, index: int) -> None:
    assert default_model().stage_index(stage) == index


# --- overrides --------------------------------------------------------------------------


def test_empty_file_is_the_default(tmp_path: Path) -> None:
    assert load(tmp_path, "") == default_model()


def test_each_language_has_its_consent_text_with_its_own_version(tmp_path: Path) -> None:
    built_in = default_model().profiling
    language, german = built_in.consent_wording("de")
    assert language == "de"
    assert german.text.startswith("Ja, senden Sie mir")
    assert german.version != built_in.consent_version
    assert built_in.consent_wording("en") == (
        "en",
        ConsentWording(built_in.consent_version, built_in.consent_text),
    )
    own = load(
        tmp_path,
        """
        [profiling]
        consent_version = "2027-01"
        consent_text = "Send me news."
        [profiling.consent_translations.de]
        version = "2027-02-de"
        text = "Senden Sie mir Neuigkeiten."
        """,
    ).profiling
    assert own.consent_wording("de") == (
        "de",
        ConsentWording("2027-02-de", "Senden Sie mir Neuigkeiten."),
    )
    assert own.consent_wording("en") == ("en", ConsentWording("2027-01", "Send me news."))


def test_documented_example(tmp_path: Path) -> None:
    model = load(
        tmp_path,
        """
        stages = ["awareness", "consideration", "decision", "customer"]
        [profiling]
        max_questions = 3
        min_fill_seconds = 1.5
        submissions_per_ip = 10
        rate_window_seconds = 60
        consent_version = "2027-01"
        consent_text = "Send me news."
        [profiling.required]
        webinar = ["first_name", "last_name"]
        [profiling.required_assets]
        "pricing-guide" = ["company"]
        [profiling.fields.budget]
        label = "Budget"
        options = [["none", "No budget yet"], ["planned", "Planned"]]
        from_stage = ""
        [profiling.fields.phone]
        enabled = false
        """,
    )
    profiling = model.profiling
    assert (profiling.max_questions, profiling.min_fill_seconds) == (3, 1.5)
    assert (profiling.submissions_per_ip, profiling.rate_window_seconds) == (10, 60)
    assert (profiling.consent_version, profiling.consent_text) == ("2027-01", "Send me news.")
    # the built-in German translates the built-in English, not this one: German pages show it
    assert profiling.consent_wording("de") == ("en", ConsentWording("2027-01", "Send me news."))
    assert profiling.policy_for("ebook", "pricing-guide") == GatePolicy(("company",), 3)
    budget = profiling.field("budget")
    assert budget == FieldSpec(
        "budget",
        "Budget",
        FieldType.SELECT,
        (("none", "No budget yet"), ("planned", "Planned")),
        priority=100,
        from_stage=None,
        bant=True,
    )
    assert "phone" not in {spec.name for spec in profiling.fields}


def test_override_merges_with_the_default(tmp_path: Path) -> None:
    model = load(tmp_path, '[profiling.fields.company]\nlabel = "Organisation"\npriority = 5\n')
    company = model.profiling.field("company")
    default = default_model().profiling.field("company")
    assert company.label == "Organisation"
    assert company.priority == 5
    assert (company.type, company.max_length, company.from_stage) == (
        default.type,
        default.max_length,
        default.from_stage,
    )
    names = [spec.name for spec in model.profiling.fields]
    assert names == list(CONTRACT_FIELDS), "an override keeps the catalogue order"


def test_select_turned_into_text_drops_its_options(tmp_path: Path) -> None:
    model = load(tmp_path, '[profiling.fields.budget]\ntype = "text"\n')
    assert model.profiling.field("budget").options == ()


def test_new_field_is_added(tmp_path: Path) -> None:
    model = load(
        tmp_path,
        """
        [profiling.fields.crm]
        label = "Which CRM do you use?"
        type = "select"
        options = ["Salesforce", ["hubspot", "HubSpot"], "Other"]
        priority = 45
        """,
    )
    assert model.profiling.fields[-1] == FieldSpec(
        "crm",
        "Which CRM do you use?",
        FieldType.SELECT,
        (("Salesforce", "Salesforce"), ("hubspot", "HubSpot"), ("Other", "Other")),
        priority=45,
    )


def test_field_disabled(tmp_path: Path) -> None:
    model = load(tmp_path, "[profiling.fields.industry]\nenabled = false\n")
    assert "industry" not in {spec.name for spec in model.profiling.fields}
    with pytest.raises(KeyError):
        model.profiling.field("industry")


def test_required_merges_by_kind(tmp_path: Path) -> None:
    model = load(tmp_path, '[profiling.required]\nebook = ["company"]\n')
    assert dict(model.profiling.required_by_kind) == {
        "webinar": ("first_name", "last_name"),
        "ebook": ("company",),
    }
    cleared = load(tmp_path, "[profiling.required]\nwebinar = []\n")
    assert cleared.profiling.policy_for("webinar", "demo").required == ()


def test_disabled_name_fields_need_the_webinar_list_changed(tmp_path: Path) -> None:
    model = load(
        tmp_path,
        "[profiling.required]\nwebinar = []\n[profiling.fields.first_name]\nenabled = false\n",
    )
    assert "first_name" not in {spec.name for spec in model.profiling.fields}


def test_custom_stages(tmp_path: Path) -> None:
    fields = "".join(
        f'[profiling.fields.{name}]\nfrom_stage = "{stage}"\n'
        for name, stage in [
            ("need", "interest"),
            ("timeframe", "interest"),
            ("budget", "desire"),
            ("authority", "desire"),
            ("project", "action"),
            ("phone", "action"),
        ]
    )
    model = load(tmp_path, f'stages = ["attention", "interest", "desire", "action"]\n{fields}')
    assert model.stages == ("attention", "interest", "desire", "action")
    assert model.stage_index("desire") == 2
    assert model.profiling.field("project").from_stage == "action"


def test_models_are_immutable() -> None:
    model = default_model()
    with pytest.raises(TypeError):
        model.profiling.required_by_kind["ebook"] = ("company",)  # type: ignore[index]


# --- wrong files ------------------------------------------------------------------------

KINDS = ", ".join(kind.value for kind in Kind)

# fmt: off
WRONG = [
    pytest.param('colour = "red"',
                 "colour: unknown key (known: kpis, profiling, scoring, stage_labels, stages)",
                 id="top-key"),
    pytest.param("profiling = 3", "profiling: expected a table", id="profiling-not-table"),
    pytest.param("[profiling]\nmax_question = 2",
                 "profiling.max_question: unknown key (known: consent_text, "
                 "consent_translations, consent_version, fields, max_questions, "
                 "min_fill_seconds, rate_window_seconds, required, required_assets, "
                 "submissions_per_ip)", id="profiling-key"),
    pytest.param("[profiling.consent_translations.fr]\nversion = \"1\"\ntext = \"Oui\"",
                 "profiling.consent_translations.fr: not a language (languages: de)",
                 id="consent-language"),
    pytest.param("[profiling.consent_translations.de]\nversion = \"1\"",
                 "profiling.consent_translations.de.text: missing", id="consent-text-missing"),
    pytest.param("[profiling.consent_translations.de]\nversion = \"1\"\ntext = \"Ja\"\n"
                 "lang = \"de\"",
                 "profiling.consent_translations.de.lang: unknown key (known: text, version)",
                 id="consent-key"),
    pytest.param("[profiling]\nmax_questions = true",
                 "profiling.max_questions: expected an integer", id="bool-is-not-int"),
    pytest.param("[profiling]\nmax_questions = 2.0",
                 "profiling.max_questions: expected an integer", id="float-is-not-int"),
    pytest.param('[profiling]\nmax_questions = "2"',
                 "profiling.max_questions: expected an integer", id="string-is-not-int"),
    pytest.param("[profiling]\nmax_questions = 11",
                 "profiling.max_questions: expected an integer from 0 to 10, got 11",
                 id="max-questions-too-many"),
    pytest.param("[profiling]\nmax_questions = -1",
                 "profiling.max_questions: expected an integer from 0 to 10, got -1",
                 id="max-questions-negative"),
    pytest.param("[profiling]\nmin_fill_seconds = -1",
                 "profiling.min_fill_seconds: must not be negative, got -1",
                 id="min-fill-negative"),
    pytest.param("[profiling]\nmin_fill_seconds = false",
                 "profiling.min_fill_seconds: expected a number", id="min-fill-bool"),
    pytest.param("[profiling]\nsubmissions_per_ip = 0",
                 "profiling.submissions_per_ip: expected an integer of at least 1, got 0",
                 id="submissions-zero"),
    pytest.param("[profiling]\nrate_window_seconds = -600",
                 "profiling.rate_window_seconds: expected an integer of at least 1, got -600",
                 id="window-negative"),
    pytest.param('[profiling]\nconsent_text = " "',
                 "profiling.consent_text: expected a non-empty string", id="consent-text-empty"),
    pytest.param("[profiling]\nconsent_version = 2026",
                 "profiling.consent_version: expected a non-empty string", id="version-number"),
    pytest.param("stages = []", "stages: needs at least one stage", id="stages-empty"),
    pytest.param('stages = ["a", "b", "a"]', "stages: 'a' is listed twice",
                 id="stages-duplicated"),
    pytest.param('stages = "awareness"', "stages: expected a list of strings",
                 id="stages-not-list"),
    pytest.param('stages = ["awareness", 3]', "stages[1]: expected a non-empty string",
                 id="stage-not-string"),
    pytest.param('stages = ["Awareness Phase"]',
                 "stages[0]: 'Awareness Phase' is not a name like 'consideration'",
                 id="stage-name"),
    pytest.param('stages = ["attention", "interest", "desire", "action"]',
                 "profiling.fields.need.from_stage: 'consideration' is not a stage "
                 "(stages: attention, interest, desire, action)", id="stages-renamed-defaults"),
    pytest.param('[profiling.fields.budget]\nfrom_stage = "purchase"',
                 "profiling.fields.budget.from_stage: 'purchase' is not a stage",
                 id="from-stage-unknown"),
    pytest.param("[profiling.fields.budget]\nfrom_stage = 2",
                 "profiling.fields.budget.from_stage: expected a string", id="from-stage-type"),
    pytest.param("[profiling.fields.budget]\npriority = 1.5",
                 "profiling.fields.budget.priority: expected an integer", id="priority-float"),
    pytest.param("[profiling.fields.budget]\npriority = true",
                 "profiling.fields.budget.priority: expected an integer", id="priority-bool"),
    pytest.param("[profiling.fields.budget]\npriority = -5",
                 "profiling.fields.budget.priority: expected an integer of at least 0, got -5",
                 id="priority-negative"),
    pytest.param('[profiling.fields.budget]\ncolour = "red"',
                 "profiling.fields.budget.colour: unknown key (known: bant, enabled, from_stage, "
                 "label, max_length, options, priority, type)", id="field-key"),
    pytest.param("[profiling]\nfields = 3", "profiling.fields: expected a table",
                 id="fields-not-table"),
    pytest.param("[profiling.fields]\nbudget = 3", "profiling.fields.budget: expected a table",
                 id="field-not-table"),
    pytest.param('[profiling.fields.budget]\ntype = "radio"',
                 "profiling.fields.budget.type: expected one of text, tel, textarea, select, "
                 "country", id="type-unknown"),
    pytest.param('[profiling.fields.company]\ntype = "email"',
                 "profiling.fields.company.type: expected one of", id="type-email-reserved"),
    pytest.param('[profiling.fields.crm]\nlabel = "CRM"\ntype = "select"',
                 "profiling.fields.crm.options: a select field needs options",
                 id="select-without-options"),
    pytest.param("[profiling.fields.budget]\noptions = []",
                 "profiling.fields.budget.options: a select field needs options",
                 id="select-options-emptied"),
    pytest.param('[profiling.fields.company]\noptions = ["a", "b"]',
                 "profiling.fields.company.options: only select fields have options",
                 id="options-on-text"),
    pytest.param('[profiling.fields.budget]\noptions = [["none", "No"], ["none", "Nothing"]]',
                 "profiling.fields.budget.options: duplicate option value 'none'",
                 id="options-duplicated"),
    pytest.param('[profiling.fields.budget]\noptions = [["none"]]',
                 "profiling.fields.budget.options[0]: expected a [value, label] pair",
                 id="option-not-pair"),
    pytest.param('[profiling.fields.budget]\noptions = "none, planned"',
                 "profiling.fields.budget.options: expected a list of [value, label] pairs",
                 id="options-not-list"),
    pytest.param('[profiling.fields.budget]\noptions = [["", "Nothing"]]',
                 "profiling.fields.budget.options[0]: expected a non-empty string",
                 id="option-value-empty"),
    pytest.param('[profiling.fields.company]\nlabel = ""',
                 "profiling.fields.company.label: expected a non-empty string", id="label-empty"),
    pytest.param("[profiling.fields.company]\nmax_length = 0",
                 "profiling.fields.company.max_length: expected an integer from 1 to 10000, got 0",
                 id="max-length-zero"),
    pytest.param("[profiling.fields.budget]\nbant = 1",
                 "profiling.fields.budget.bant: expected true or false", id="bant-not-bool"),
    pytest.param('[profiling.fields.budget]\nenabled = "no"',
                 "profiling.fields.budget.enabled: expected true or false", id="enabled-string"),
    pytest.param("[profiling.fields.crm]\npriority = 5",
                 "profiling.fields.crm.label: a new field needs a label", id="new-without-label"),
    pytest.param('[profiling.fields.CRM-System]\nlabel = "CRM"',
                 "profiling.fields.CRM-System: a field name is lower-case letters, digits and _",
                 id="field-name"),
    pytest.param('[profiling.fields."crm system"]\nlabel = "CRM"',
                 'profiling.fields."crm system": a field name is', id="field-name-quoted"),
    pytest.param('[profiling.fields.email]\nlabel = "Email"',
                 "profiling.fields.email: email is not a configurable profile field",
                 id="field-email"),
    pytest.param("[profiling.fields.consent_marketing]\nenabled = false",
                 "profiling.fields.consent_marketing: consent_marketing is not a configurable",
                 id="field-consent"),
    pytest.param("[profiling.fields.shoe_size]\nenabled = false",
                 "profiling.fields.shoe_size.enabled: there is no field 'shoe_size' to disable",
                 id="disable-unknown"),
    pytest.param('[profiling]\nrequired = ["first_name"]', "profiling.required: expected a table",
                 id="required-not-table"),
    pytest.param('[profiling.required]\npodcast = ["company"]',
                 f"profiling.required.podcast: unknown content kind (kinds: {KINDS})",
                 id="required-unknown-kind"),
    pytest.param('[profiling.required]\nwebinar = ["shoe_size"]',
                 "profiling.required.webinar: 'shoe_size' is not a field of the catalogue",
                 id="required-unknown-field"),
    pytest.param('[profiling.required]\nwebinar = ["email"]',
                 "profiling.required.webinar: email is always asked first; do not list it",
                 id="required-email"),
    pytest.param('[profiling.required]\nwebinar = "first_name"',
                 "profiling.required.webinar: expected a list of strings",
                 id="required-not-list"),
    pytest.param('[profiling.required]\nebook = ["company", "company"]',
                 "profiling.required.ebook: 'company' is listed twice", id="required-twice"),
    pytest.param("[profiling.fields.first_name]\nenabled = false",
                 "profiling.required.webinar: 'first_name' is not a field of the catalogue",
                 id="required-by-default-disabled"),
    pytest.param('[profiling.required_assets]\n"Pricing Guide" = ["company"]',
                 "profiling.required_assets.\"Pricing Guide\": not an asset slug like "
                 "'pricing-guide'", id="required-asset-slug"),
    pytest.param('[profiling.required_assets]\npricing-guide = ["nope"]',
                 "profiling.required_assets.pricing-guide: 'nope' is not a field",
                 id="required-asset-field"),
]
# fmt: on


@pytest.mark.parametrize(("text", "message"), WRONG)
def test_wrong_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ModelError) as refused:
        load_model(path)
    assert str(refused.value).startswith(f"{path}: {message}")


def test_parse_model_errors_start_with_the_key() -> None:
    with pytest.raises(ModelError) as refused:
        parse_model({"profiling": {"fields": {"budget": {"priority": "high"}}}})
    assert str(refused.value) == "profiling.fields.budget.priority: expected an integer"


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ModelError, match="no such model file") as refused:
        load_model(path)
    assert str(path) in str(refused.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"[profiling\nmax_questions = 2\n", "not valid TOML", id="syntax"),
        pytest.param(b"max_questions = 2\nmax_questions = 3\n", "not valid TOML", id="twice"),
        pytest.param(b"\xff\xfe = 1\n", "cannot read the model file", id="not-utf8"),
    ],
)
def test_unparsable_file_is_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "model.toml"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=reason) as refused:
        load_model(path)
    assert str(refused.value).startswith(f"{path}: ")


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read the model file"):
        load_model(tmp_path)
