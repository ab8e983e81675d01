"""The "Talk to sales" form: a demo request identifies the browser and puts the lead on the
sales fast lane at once (DOMAIN.md: a high-intent act routes to sales).

Everything happens in the caller's one write transaction, as for a gate
submission: the answers are cleaned by the same rules (``tracking.rules.profiling``),
the browser is identified (its anonymous trail stitched, a fresh visitor id),
the answers become profile facts with their source, the ``demo_request`` event
is recorded, and the lead is evaluated with the fast-lane reason, which moves
it to ``sql`` and logs "sales fast lane: asked to talk to sales".

A known lead's email typed on a browser that does not speak for that lead
(``tracking.identity.claims``) is a claim here too, with one difference from a gate:
the request itself still reaches sales. Asking for a conversation is the point of
the form, and a request sales never sees would fail the real person far more often
than it stops an impostor; a false request costs sales one call, in which the
person at the address answers for themselves. So the ``demo_request`` is recorded
for the lead and puts it on the fast lane as always, but with no visitor: the
browser is not linked, its trail is not stitched, and it is not greeted. The
answers (names, company, phone) and the consent box wait on the claim, unverified,
until the "continue on this device" link is clicked; the claim unlocks no asset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from content.models import Asset
from content.orm import utcnow
from content.words import N_, Said
from tracking import events
from tracking.accounts.domains import email_refusal
from tracking.identity import claims, identify
from tracking.identity import consent as consents
from tracking.identity.claims import Claimed
from tracking.identity.facts import Source
from tracking.models import Lead, LeadChange
from tracking.pipeline import changelog, ingest, leadstate
from tracking.rules.config import EMAIL_FIELD, FieldSpec, FieldType, Model
from tracking.rules.profiling import InvalidAnswer, clean_answer, clean_answers

FORM_NAME = "talk_to_sales"
SOURCE_REF = claims.SALES_REF
FAST_LANE_REASON = "asked to talk to sales"
MESSAGE_FIELD = FieldSpec("message", N_("How can we help?"), FieldType.TEXTAREA, max_length=2000)
REQUIRED = ("first_name", "last_name", "company")
OPTIONAL = ("phone",)


@dataclass(frozen=True, slots=True)
class DemoRequestForm:
    """The fields of the form: always the same short set (sales needs them all)."""

    required: tuple[FieldSpec, ...]
    optional: tuple[FieldSpec, ...]

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return (*self.required, *self.optional)


@dataclass(frozen=True, slots=True)
class DemoRequestResult:
    """Accepted (``lead_id`` set, ``visitor_id`` the browser's new id) or refused per field."""

    errors: Mapping[str, Said] = field(default_factory=dict)
    """The message for each refused answer (the portal shows them in the reader's language)."""
    values: Mapping[str, str] = field(default_factory=dict)
    lead_id: int | None = None
    """The lead the request is for (also for a claim: sales hears of it)."""
    visitor_id: str | None = None
    """The browser's new visitor id when it got one; None when unchanged."""
    claim: Claimed | None = None
    """The email is a known lead's this browser does not speak for (module docstring)."""
    consent_to_confirm: int | None = None
    """The pending consent whose confirmation mail must go (the box was ticked)."""

    @property
    def accepted(self) -> bool:
        return self.lead_id is not None


def offers_sales(model: Model, stage: str) -> bool:
    """Whether an asset of this stage ends with "Talk to sales": the last stage before customer
    (``decision`` by default), where every piece's one call to action is the conversation."""
    prospect_stages = [s for s in model.stages if s != model.scoring.customer_stage]
    return bool(prospect_stages) and stage == prospect_stages[-1]


def demo_request_form(model: Model) -> DemoRequestForm:
    """Email, names and company (required); phone and a message (optional)."""
    catalogue = {spec.name: spec for spec in model.profiling.fields}
    required = (EMAIL_FIELD, *(catalogue[name] for name in REQUIRED if name in catalogue))
    optional = (*(catalogue[name] for name in OPTIONAL if name in catalogue), MESSAGE_FIELD)
    return DemoRequestForm(required=required, optional=optional)


def clean_demo_request(
    answers: Mapping[str, str], form: DemoRequestForm
) -> tuple[dict[str, str], dict[str, Said]]:
    """Cleaned values and error messages by field (optional fields only when filled in)."""
    values, errors = clean_answers(answers, form.required)
    for spec in form.optional:
        raw = (answers.get(spec.name) or "").strip()
        if not raw:
            continue
        try:
            values[spec.name] = clean_answer(spec, raw)
        except InvalidAnswer as refused:
            errors[spec.name] = refused.said
    return values, errors


def submit_demo_request(
    session: Session,
    visitor_id: str | None,
    answers: Mapping[str, str],
    *,
    consent_ticked: bool,
    asset: Asset | None,
    model: Model,
    now: datetime | None = None,
    accept_free_mail: bool = True,
    language: str = "",
) -> DemoRequestResult:
    """Check the answers; on success identify (or claim), store, record and fast-lane the lead.
    A disposable email is refused, and a free-mail one unless ``accept_free_mail``.
    ``language`` is the one the form was shown in (else the asset's): its consent text is
    recorded, and a new lead's mail is written in it."""
    now = now or utcnow()
    values, errors = clean_demo_request(answers, demo_request_form(model))
    refused = email_refusal(values.get("email", ""), accept_free_mail=accept_free_mail)
    if refused:
        errors["email"] = refused
    if errors:
        return DemoRequestResult(errors=errors, values=dict(answers))
    message = values.pop(MESSAGE_FIELD.name, "")
    language = language or (asset.language if asset is not None else "")
    wording = consents.wording(model.profiling, language) if consent_ticked else None
    outcome = claims.identify_or_claim(
        session,
        visitor_id=visitor_id,
        email=values["email"],
        answers={name: value for name, value in values.items() if name != "email"},
        consent=wording,
        source=Source("form", SOURCE_REF),
        now=now,
        model=model,
        asset_id=None,
        language=language,
    )
    lead_id = outcome.lead_id
    # A claim's request is the lead's, but no browser's (module docstring).
    event_visitor = None if isinstance(outcome, Claimed) else outcome.visitor_id
    asset_id = asset.id if asset is not None else None
    requested = [
        events.FormSubmit(
            visitor_id=event_visitor,
            lead_id=lead_id,
            asset_id=asset_id,
            answered=tuple(sorted(values)),
            form=FORM_NAME,
        ),
        events.DemoRequest(
            visitor_id=event_visitor, lead_id=lead_id, asset_id=asset_id, message=message
        ),
    ]
    ingest.record(session, requested, now, model=model)
    session.flush()
    lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
    assert lead is not None
    leadstate.evaluate(session, lead, model, now, fast_lane_reason=FAST_LANE_REASON)
    # In the change log too: nurture programs end with the goal "booked a demo" on it.
    changelog.append(
        session,
        LeadChange(lead_id=lead_id, at=now, kind="demo", new="requested", reason=FORM_NAME),
    )
    if isinstance(outcome, Claimed):
        return DemoRequestResult(
            values=values,
            lead_id=lead_id,
            visitor_id=outcome.visitor_id if outcome.fresh_visitor else None,
            claim=outcome,
        )
    identify.note_time_zone(session, lead_id, answers.get(identify.TIME_ZONE_FIELD))
    return DemoRequestResult(
        values=values,
        lead_id=lead_id,
        visitor_id=outcome.visitor_id,
        consent_to_confirm=outcome.consent_to_confirm,
    )
