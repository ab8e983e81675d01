"""Console → Programs → a mail step: its subject lines (1 to 4) and A/B mode, preheader and
Markdown body, edited in a form; the preview for a chosen real lead beside it, and "send a
test to me". One form, three buttons: save writes a new definition through ``store.save``
(a new version once leads entered the program); preview and test take the typed mail as it
stands, unsaved, so nothing typed is lost on the way."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, Template
from msgspec import structs
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from content.models import Topic
from content.orm import utcnow
from content.printable import unprintable_said
from content.words import N_
from nurture.programs import merge, store
from nurture.programs.definition import (
    MAX_VARIANTS,
    AbMode,
    Definition,
    DefinitionError,
    Send,
    parse_send,
    to_data,
)
from nurture.programs.models import Enrollment, Program
from portal import i18n
from portal.accounts.guards import requires_role
from portal.accounts.service import StaffPrincipal
from portal.console_nav import PROGRAMS
from portal.db import Database
from portal.mail.render import MailRenderer
from portal.routes import console_program_preview as previews
from portal.routes.console import FormBody, console_page
from portal.routes.console_program_page import program_or_404
from portal.routes.console_program_views import ab_words
from portal.settings import Settings
from portal.signing import Signer
from tracking.models import Lead
from tracking.rules.config import Model

SUBJECT_FIELDS = tuple(f"subject_{number}" for number in range(1, MAX_VARIANTS + 1))
CONFLICT = N_(
    "Someone saved this program while you edited it. Your text is kept below: open the "
    "program in a new tab to compare, then save again."
)
BLOCK_HELP = (
    (
        "{{ next_best_content 3 }}",
        N_(
            "the recommender's top 3 (up to 6) this lead has not read, "
            "each with its reason: the same picks as the portal's “Recommended for you”"
        ),
    ),
    (
        "{{ latest_in_topic TOPIC-SLUG 2 }}",
        N_("the newest 2 assets of a topic the lead has not read"),
    ),
    ("{{ asset SLUG }}", N_("one asset, by its slug")),
)
"""Each content block and what it does (marked; the editors show it in the reader's language)."""


def block_help() -> list[tuple[str, str]]:
    """``BLOCK_HELP`` in the reader's language."""
    return [(tag, i18n.gettext(words)) for tag, words in BLOCK_HELP]


class MailForm(msgspec.Struct, kw_only=True):
    """The mail editor as typed; ``do`` is the button: save, preview or test."""

    do: str = "save"
    subject_1: str = ""
    subject_2: str = ""
    subject_3: str = ""
    subject_4: str = ""
    ab_mode: str = "split"
    ab_share: str = "20"
    ab_hours: str = "24"
    preheader: str = ""
    body: str = ""
    lead: str = ""
    variant: str = "0"
    based_on: str = ""
    """The fingerprint of the definition the form was opened on (two editors at once)."""


def fingerprint(definition: Definition) -> str:
    text = json.dumps(to_data(definition), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def form_of(send: Send) -> MailForm:
    subjects = list(send.subjects) + [""] * (MAX_VARIANTS - send.variants)
    ab = send.ab
    return MailForm(
        subject_1=subjects[0],
        subject_2=subjects[1],
        subject_3=subjects[2],
        subject_4=subjects[3],
        ab_mode=ab.mode.value if ab else AbMode.SPLIT.value,
        ab_share=str(ab.share if ab else 20),
        ab_hours=str(ab.decide_after_hours if ab else 24),
        preheader=send.preheader,
        body=send.body,
    )


_FIELD_OF = {
    "body": "body",
    "preheader": "preheader",
    "ab": "ab_mode",
    "ab.mode": "ab_mode",
    "ab.share": "ab_share",
    "ab.decide_after_hours": "ab_hours",
}


def typed_send(form: MailForm) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The send step the form describes (as ``parse_send`` reads it), or the problems by field."""
    typed = [(name, getattr(form, name)) for name in SUBJECT_FIELDS if getattr(form, name).strip()]
    for name in (*SUBJECT_FIELDS, "preheader", "body"):
        if problem := unprintable_said(getattr(form, name), multiline=name == "body"):
            return None, {
                name: i18n.gettext("This contains %(problem)s.", problem=i18n.say(problem))
            }
    send: dict[str, Any] = {
        "subjects": [text for _, text in typed],
        "body": form.body,
        "preheader": form.preheader,
    }
    if len(typed) > 1 and form.ab_mode == AbMode.TEST.value:
        share, hours = form.ab_share.strip(), form.ab_hours.strip()
        for name, number in (("ab_share", share), ("ab_hours", hours)):
            if not number.isdigit():
                return None, {name: i18n.gettext("Give a whole number.")}
        send["ab"] = {"mode": "test", "share": int(share), "decide_after_hours": int(hours)}
    elif len(typed) > 1:
        send["ab"] = {"mode": AbMode.SPLIT.value}
    try:
        parse_send(send, "send")
    except DefinitionError as refused:
        where = refused.where.removeprefix("send").lstrip(".")
        found = re.fullmatch(r"subjects\[(\d+)\]", where)
        if found is not None and int(found[1]) < len(typed):
            field = typed[int(found[1])][0]
        else:
            field = "subject_1" if where.startswith("subjects") else _FIELD_OF.get(where, "body")
        said = i18n.say(refused.said)
        return None, {field: said[:1].upper() + said[1:]}
    return send, {}


def _send_step(definition: Definition, step_id: str) -> Send:
    for step in definition.steps:
        if step.id == step_id and isinstance(step.action, Send):
            return step.action
    raise NotFoundException(f"no mail step {step_id!r} in this program")


@dataclass(frozen=True, slots=True)
class Editing:
    """One request on one mail step: what every answer of the editor needs."""

    request: Request[StaffPrincipal, Any, Any]
    database: Database
    renderer: MailRenderer
    program_id: int
    step_id: str


class MailController(Controller):
    path = PROGRAMS.url
    guards = [requires_role(*PROGRAMS.roles)]
    include_in_schema = False

    @get("/{program_id:int}/steps/{step_id:str}", sync_to_thread=True)
    def editor(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        signer: NamedDependency[Signer],
        model: NamedDependency[Model],
        program_id: FromPath[int],
        step_id: FromPath[str],
        lead: FromQuery[str] = "",
        variant: FromQuery[str] = "0",
    ) -> Template:
        """The saved mail, previewed for ``lead`` (or the default lead)."""
        with database.read() as session:
            program = program_or_404(session, program_id)
            form = form_of(_send_step(store.current(session, program), step_id))
        form = structs.replace(form, lead=lead[:254], variant=variant[:2])
        renderer = previews.renderer_for(settings, signer, model)
        return _editor(Editing(request, database, renderer, program_id, step_id), form, saved=True)

    @post("/{program_id:int}/steps/{step_id:str}", sync_to_thread=True)
    def submit(
        self,
        request: Request[StaffPrincipal, Any, Any],
        database: NamedDependency[Database],
        settings: NamedDependency[Settings],
        signer: NamedDependency[Signer],
        model: NamedDependency[Model],
        program_id: FromPath[int],
        step_id: FromPath[str],
        data: Annotated[MailForm, FormBody],
    ) -> Response[Any]:
        renderer = previews.renderer_for(settings, signer, model)
        editing = Editing(request, database, renderer, program_id, step_id)
        send, problems = typed_send(data)
        if send is None:
            return _editor(editing, data, problems=problems, status_code=422)
        if data.do == "preview":
            return _editor(editing, data, send=send)
        if data.do == "test":
            return _test(editing, settings, data, send)
        return _save(editing, data, send)


def _save(editing: Editing, form: MailForm, send: dict[str, Any]) -> Response[Any]:
    action = parse_send(send, "send")
    with editing.database.write() as session:
        program = program_or_404(session, editing.program_id)
        current = store.current(session, program)
        _send_step(current, editing.step_id)
        if form.based_on and form.based_on != fingerprint(current):
            conflict = i18n.gettext(CONFLICT)
            return _editor(editing, form, problems={"": conflict}, status_code=409)
        steps = tuple(
            replace(step, action=action) if step.id == editing.step_id else step
            for step in current.steps
        )
        saved = store.save(
            session,
            replace(current, steps=steps),
            by=editing.request.user.email,
            now=utcnow(),
            program=program,
            note=f"mail {editing.step_id} edited",
        )
    return Redirect(
        f"{PROGRAMS.url}/{editing.program_id}?done={saved.outcome}"
        f"&version={saved.program.version}#step-{editing.step_id}",
        status_code=303,
    )


def _test(editing: Editing, settings: Settings, form: MailForm, send: dict[str, Any]) -> Template:
    to = editing.request.user.email
    queued = None
    with editing.database.write() as session:
        program = program_or_404(session, editing.program_id)
        current = store.current(session, program)
        lead = _lead(session, form.lead)
        if lead is not None:
            queued = previews.send_test(
                session,
                settings,
                to=to,
                lead=lead,
                params=_params(program, editing.step_id, current, send, _variant(form)),
                language=current.language,
                now=utcnow(),
            )
    if lead is None:
        return _editor(editing, form, send=send, status_code=422)
    if queued is None:
        limit = i18n.gettext(
            "You sent %(count)s tests in the last hour: try again later.",
            count=previews.TESTS_PER_HOUR.hits,
        )
        return _editor(editing, form, send=send, problems={"": limit}, status_code=429)
    return _editor(editing, form, send=send, notice=previews.where_tests_go(settings, to))


def _lead(session: Session, typed: str) -> Lead | None:
    """The lead whose email is typed, or with nothing typed the default lead."""
    if typed.strip():
        return previews.lead_by_email(session, typed)
    return previews.default_lead(session)


def _variant(form: MailForm) -> int:
    return int(form.variant) if form.variant.isdigit() else 0


def _params(
    program: Program, step_id: str, current: Definition, send: dict[str, Any], variant: int
) -> dict[str, Any]:
    """The saved step's address when the typed mail is the saved one, else the typed mail."""
    if parse_send(send, "send") == _send_step(current, step_id):
        return {
            "program": program.id,
            "version": program.version,
            "step": step_id,
            "variant": variant,
        }
    return {"send": send, "variant": variant, "language": current.language}


def _editor(
    editing: Editing,
    form: MailForm,
    *,
    send: dict[str, Any] | None = None,
    saved: bool = False,
    problems: dict[str, str] | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Template:
    """The editor with the preview of the typed mail (``send``) or, with ``saved``, of the
    stored step; no preview while the typed mail has a fault."""
    problems = dict(problems or {})
    with editing.database.read() as session:
        program = program_or_404(session, editing.program_id)
        current = store.current(session, program)
        stored = _send_step(current, editing.step_id)
        if saved or not form.based_on:
            form = structs.replace(form, based_on=fingerprint(current))
        preview = None
        if saved or send is not None:
            lead = _lead(session, form.lead)
            if lead is None:
                problems.setdefault("lead", _no_lead(form.lead))
            else:
                params = _params(
                    program, editing.step_id, current, send or data_of(stored), _variant(form)
                )
                action = stored if send is None else parse_send(send, "send")
                preview = previews.render(session, editing.renderer, params, action, lead)
        topics = list(session.execute(select(Topic.slug, Topic.label).order_by(Topic.slug)))
        suggestions = previews.recent_leads(session)
        entered = bool(session.scalar(select(exists().where(Enrollment.program_id == program.id))))
        session.expunge_all()
    page = console_page(
        editing.request,
        "console/program_mail.html",
        program=program,
        step_id=editing.step_id,
        step_number=current.index(editing.step_id) + 1,
        form=form,
        problems=problems,
        preview=preview,
        ab_words=ab_words(stored),
        entered=entered,
        notice=notice,
        fields=merge.FIELDS,
        blocks=block_help(),
        topics=topics,
        recent_leads=suggestions,
        max_variants=MAX_VARIANTS,
    )
    page.status_code = status_code
    page.headers["Content-Security-Policy"] = previews.PREVIEW_POLICY
    return page


def _no_lead(typed: str) -> str:
    if problem := unprintable_said(typed):
        return i18n.gettext("The email contains %(problem)s.", problem=i18n.say(problem))
    if typed.strip():
        return i18n.gettext("No lead has the email %(email)s.", email=typed.strip())
    return i18n.gettext("No leads yet: the preview shows the mail as a real lead would get it.")


def data_of(send: Send) -> dict[str, Any]:
    """A stored send step as the mapping ``parse_send`` reads."""
    data: dict[str, Any] = {
        "subjects": list(send.subjects),
        "body": send.body,
        "preheader": send.preheader,
    }
    if send.ab is not None and send.variants > 1:
        data["ab"] = {
            "mode": send.ab.mode.value,
            "share": send.ab.share,
            "decide_after_hours": send.ab.decide_after_hours,
        }
    return data


ROUTES: list[Any] = [MailController]
