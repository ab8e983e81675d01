"""Gate forms: what to ask this browser for this asset, and what a submission does.

The rules live in ``tracking.rules.profiling`` (pure); this module loads what they
need (the browser's lead, its profile and interest stage) and persists the
outcome (identification, facts, consent, unlock and events) in the caller's
transaction.

An anonymous browser that types the email of a known lead it does not speak for
makes a claim (``tracking.identity.claims``): the asset unlocks for this browser
only, its events stay on its anonymous visitor, and nothing of the lead's changes
until the "continue on this device" link from the lead's inbox is clicked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from content.models import Asset, Kind
from content.orm import utcnow
from content.words import Said
from tracking import events
from tracking.accounts.domains import email_refusal
from tracking.identity import claims, identify
from tracking.identity import consent as consents
from tracking.identity.claims import Claimed
from tracking.identity.consent import ConsentText
from tracking.identity.facts import Source, record_facts
from tracking.identity.identify import KnownLead
from tracking.identity.unlocks import is_claimed, is_unlocked, unlock, unlocked_stages
from tracking.models import Lead
from tracking.pipeline import ingest
from tracking.rules.config import FieldSpec, Model
from tracking.rules.profiling import clean_answers, fields_to_ask


@dataclass(frozen=True, slots=True)
class GateForm:
    """The form one browser sees on one gated asset."""

    fields: tuple[FieldSpec, ...]
    lead: KnownLead | None
    ask_consent: bool
    unlocked: bool
    """The browser's lead has unlocked this asset already, or the browser claimed it."""

    @property
    def one_click(self) -> bool:
        """Nothing is left to ask: a single button unlocks."""
        return not self.fields


@dataclass(frozen=True, slots=True)
class GateResult:
    """A submission: accepted (``lead_id`` or ``claim`` set) or refused with messages per field."""

    form: GateForm
    errors: Mapping[str, Said] = field(default_factory=dict)
    """The message for each refused answer (the portal shows them in the reader's language)."""
    values: Mapping[str, str] = field(default_factory=dict)
    lead_id: int | None = None
    """The lead this browser speaks for (new, or its own); None for a claim."""
    claim: Claimed | None = None
    """The email is a known lead's that this browser does not speak for: the asset unlocks
    for this browser only, and the lead gets the "continue on this device" mail."""
    visitor_id: str | None = None
    """The browser's new visitor id when it got one (identified, or a claim from a browser
    without an id); None when unchanged."""
    first_unlock: bool = False
    """The lead unlocked this asset for the first time (never for a claim)."""
    consent_to_confirm: int | None = None
    """The pending consent whose confirmation mail must go (the box was ticked)."""

    @property
    def accepted(self) -> bool:
        return self.lead_id is not None or self.claim is not None


def interest_stage(session: Session, lead: KnownLead | None, asset: Asset, model: Model) -> str:
    """How far the lead's interest reaches: its journey stage, what it unlocked, this asset."""
    stages = [asset.stage]
    if lead is not None:
        stages += [lead.journey_stage, *unlocked_stages(session, lead.id)]
    return max(stages, key=model.stage_index)


def gate_form(session: Session, asset: Asset, visitor_id: str | None, model: Model) -> GateForm:
    """The fields this browser is asked on this asset, chosen by the progressive-profiling rule."""
    lead = identify.known_lead(session, visitor_id)
    known = lead.known_fields if lead else frozenset()
    policy = model.profiling.policy_for(asset.kind, asset.slug)
    stage = interest_stage(session, lead, asset, model)
    if lead is not None:
        unlocked = is_unlocked(session, lead.id, asset.id)
    else:
        unlocked = bool(visitor_id) and is_claimed(session, visitor_id or "", asset.id)
    return GateForm(
        fields=fields_to_ask(known, policy, stage, model),
        lead=lead,
        ask_consent=not (lead and lead.marketing_consent),
        unlocked=unlocked,
    )


def submit_gate(
    session: Session,
    asset: Asset,
    visitor_id: str | None,
    answers: Mapping[str, str],
    *,
    consent_ticked: bool,
    model: Model,
    now: datetime | None = None,
    accept_free_mail: bool = True,
    language: str = "",
) -> GateResult:
    """Check the answers against what this browser is asked now; on success identify and
    unlock, or (a known lead's email on a browser that does not speak for it) claim.

    ``language`` is the one the form was shown in (the asset's when not given): its consent
    text is the one recorded, and a new lead's mail is written in it.

    The server decides what is asked: fields the browser sends beyond that are
    ignored, and a field the browser's (older) form lacked is asked again. A disposable
    email is refused, and a free-mail one unless ``accept_free_mail``
    (``tracking.accounts.domains.email_refusal``).
    """
    now = now or utcnow()
    form = gate_form(session, asset, visitor_id, model)
    values, errors = clean_answers(answers, form.fields)
    refused = email_refusal(values.get("email", ""), accept_free_mail=accept_free_mail)
    if refused:
        errors["email"] = refused
    if errors:
        return GateResult(form=form, errors=errors, values=dict(answers))
    source = Source("form", asset.slug)
    language = language or asset.language
    wording = (
        consents.wording(model.profiling, language) if consent_ticked and form.ask_consent else None
    )
    facts = {name: value for name, value in values.items() if name != "email"}
    new_visitor_id = None
    if form.lead is None:
        outcome = claims.identify_or_claim(
            session,
            visitor_id=visitor_id,
            email=values["email"],
            answers=facts,
            consent=wording,
            source=source,
            now=now,
            model=model,
            asset_id=asset.id,
            language=language,
        )
        if isinstance(outcome, Claimed):
            _record_submission(session, asset, None, outcome.visitor_id, values, now, model)
            return GateResult(
                form=form,
                values=values,
                claim=outcome,
                visitor_id=outcome.visitor_id if outcome.fresh_visitor else None,
            )
        lead_id, new_visitor_id = outcome.lead_id, outcome.visitor_id
        to_confirm = outcome.consent_to_confirm
    else:
        lead_id = form.lead.id
        to_confirm = _update_known(session, lead_id, facts, wording, source, now)
    identify.note_time_zone(session, lead_id, answers.get(identify.TIME_ZONE_FIELD))
    first_unlock = unlock(session, lead_id, asset.id, now)
    _record_submission(session, asset, lead_id, new_visitor_id or visitor_id, values, now, model)
    return GateResult(
        form=form,
        values=values,
        lead_id=lead_id,
        visitor_id=new_visitor_id,
        first_unlock=first_unlock,
        consent_to_confirm=to_confirm,
    )


def _update_known(
    session: Session,
    lead_id: int,
    facts: Mapping[str, str],
    wording: ConsentText | None,
    source: Source,
    now: datetime,
) -> int | None:
    """Store a known lead's new answers; returns the consent to confirm when the box was ticked."""
    lead = session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
    assert lead is not None
    record_facts(session, lead_id, facts, source, now)
    lead.last_activity_at = now
    if wording is None:
        return None
    asked = consents.ask(session, lead, wording, source=source, now=now, language=lead.language)
    return asked.id if asked is not None else None


def _record_submission(
    session: Session,
    asset: Asset,
    lead_id: int | None,
    visitor_id: str | None,
    values: Mapping[str, str],
    now: datetime,
    model: Model,
) -> None:
    kinds: list[type[events.TrackedEvent]] = [events.UnlockEvent]
    if asset.kind == Kind.WEBINAR.value:
        kinds.append(events.WebinarRegister)
    submitted = events.FormSubmit(
        visitor_id=visitor_id, lead_id=lead_id, asset_id=asset.id, answered=tuple(sorted(values))
    )
    followed = [kind(visitor_id=visitor_id, lead_id=lead_id, asset_id=asset.id) for kind in kinds]
    ingest.record(session, [submitted, *followed], now, model=model)
