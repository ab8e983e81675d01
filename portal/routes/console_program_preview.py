"""A program mail as one real lead would get it (the console's preview), and "send a test to
me". Both render through the mail renderer itself (``portal.mail.program_mails``), so the
preview is the mail: merge fields filled and content blocks resolved for that lead now.

The preview's HTML sits in an iframe's ``srcdoc`` with a ``sandbox`` without scripts. A
``srcdoc`` document takes its Content-Security-Policy from the page, so pages showing one are
sent with ``PREVIEW_POLICY``: the console's own, plus inline styles (a mail's stylesheet)
and images from anywhere (a mail's pictures); scripts stay the console's files only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.mail.smtp import parse_sender
from nurture.programs import merge
from nurture.programs.definition import Send
from portal import demo_mail, i18n, ratelimit
from portal.mail import program_mails, program_preview
from portal.mail.render import MailRenderer
from portal.settings import Settings
from portal.signing import Signer
from tracking.models import Lead
from tracking.rules.config import Model
from tracking.rules.profiling import InvalidAnswer, normalize_email

PREVIEW_POLICY = (
    "default-src 'self'; img-src 'self' data: http: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'; frame-src 'self'"
)
TESTS_PER_HOUR = ratelimit.Limit(hits=10, seconds=3600)
"""Tests one staff member may send an hour (each is a real mail through the outbox)."""


@dataclass(frozen=True, slots=True)
class Preview:
    """One send step rendered for one lead."""

    lead_id: int
    lead_email: str
    lead_name: str
    consent: str
    subjects: list[str]
    """Every subject line variant, merge fields filled for the lead."""
    variant: int
    subject: str
    preheader: str
    html: str
    """The whole HTML document, ready for the frame (links open in a new tab)."""
    text: str


def default_lead(session: Session) -> Lead | None:
    """The most recently active lead with confirmed consent (else any lead): someone the
    program could really mail."""
    for confirmed in (True, False):
        query = select(Lead).order_by(Lead.last_activity_at.desc(), Lead.id.desc()).limit(1)
        if confirmed:
            query = query.where(Lead.consent_status == "confirmed")
        lead = session.scalar(query)
        if lead is not None:
            return lead
    return None


def recent_leads(session: Session, limit: int = 10) -> list[str]:
    """The emails of the most recently active leads with confirmed consent (the lead picker's
    suggestions)."""
    return list(
        session.scalars(
            select(Lead.email)
            .where(Lead.consent_status == "confirmed")
            .order_by(Lead.last_activity_at.desc(), Lead.id.desc())
            .limit(limit)
        )
    )


def lead_by_email(session: Session, typed: str) -> Lead | None:
    try:
        address = normalize_email(typed)
    except InvalidAnswer:
        return None
    return session.scalar(select(Lead).where(Lead.email == address))


def render(
    session: Session,
    renderer: MailRenderer,
    params: Mapping[str, Any],
    send: Send,
    lead: Lead,
) -> Preview:
    variant = min(max(int(params.get("variant", 0)), 0), send.variants - 1)
    document, text, subject = program_preview.preview(
        renderer, session, {**params, "variant": variant}, lead
    )
    values = program_mails.merge_values(session, lead)
    return Preview(
        lead_id=lead.id,
        lead_email=lead.email,
        lead_name=lead.name,
        consent=lead.consent_status,
        subjects=[merge.fill(line, values, markdown=False) for line in send.subjects],
        variant=variant,
        subject=subject,
        preheader=merge.fill(send.preheader, values, markdown=False),
        html=demo_mail.framed_html(document),
        text=text,
    )


def renderer_for(settings: Settings, signer: Signer, model: Model) -> MailRenderer:
    return MailRenderer(settings, signer, model=model)


def send_test(
    session: Session,
    settings: Settings,
    *,
    to: str,
    lead: Lead,
    params: Mapping[str, Any],
    language: str,
    now: datetime,
) -> int | None:
    """Queue the test to ``to``; None when this staff member sent ``TESTS_PER_HOUR`` already
    (then nothing is queued)."""
    verdict = ratelimit.hit(session, f"program-test:{to}", TESTS_PER_HOUR, now.timestamp())
    if not verdict.allowed:
        return None
    return program_mails.queue_test(
        session,
        to=to,
        lead_id=lead.id,
        params=params,
        domain=parse_sender(settings.mail_from).domain,
        language=language or lead.language or settings.default_language,
        now=now,
    )


def where_tests_go(settings: Settings, to: str) -> str:
    """Where a queued test goes, as the page says it."""
    if demo_mail.mailbox_for(settings.data_dir, settings.smtp_url) is not None:
        return i18n.gettext(
            "A test went to the outbox for %(to)s. This server runs with serve --demo: it "
            "appears in Console → Demo mailbox within a few seconds.",
            to=to,
        )
    if not settings.smtp_url:
        return i18n.gettext(
            "A test for %(to)s waits in the outbox: LEADSHELF_SMTP_URL is not set, so nothing "
            "is sent until it is (Console → Email).",
            to=to,
        )
    return i18n.gettext(
        "A test went to the outbox for %(to)s; it is sent within a few seconds.", to=to
    )
