"""Program mail (``nurture.programs.scheduler`` queues it): the step's subject line (the lead's
A/B variant) and Markdown body, merge fields filled and content blocks resolved for the lead
at send time, so "next best content" names what the lead has not read on the day the mail
goes (the same recommender as the portal's "Recommended for you").

Also ``program_notify``: the mail to the sales owner a program's notify step names.

``portal.mail.program_preview`` renders a step for a real lead without writing anything (the
console's preview); a test send queues the same mail to the marketer (``queue_test``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from content import translations
from content.markdown import render_markdown
from content.models import Asset, Status, Topic, asset_topic
from content.orm import utcnow
from nurture.mail.models import MailCategory
from nurture.mail.outbox import Mail, enqueue
from nurture.programs import merge, store
from nurture.programs.definition import Send, parse_send
from nurture.programs.scheduler import MAIL_KIND, NOTIFY_KIND
from nurture.recommendations import recommend_for_lead
from portal import i18n
from portal.mail.kinds import ContextFunction, KindContext
from portal.templating import kind_label
from tracking.lead_profile import profile
from tracking.models import AssetEngagement, Lead, Unlock
from tracking.rules.config import Model

DEFAULT_MODEL = Model()
TOPIC_WIDENING = 4
"""For a reader who chose topics, "next best content" ranks this many times the block's
count and keeps the best in those topics."""


def merge_values(session: Session, lead: Lead | None) -> dict[str, str]:
    """The merge fields of a lead: its profile, the company on the lead, the name split."""
    if lead is None:
        return {}
    values = dict(profile(session, lead.id))
    if lead.company and not values.get("company"):
        values["company"] = lead.company
    if lead.name and not values.get("first_name"):
        first, _, last = lead.name.strip().partition(" ")
        values.setdefault("first_name", first)
        values.setdefault("last_name", last)
    return {name: values.get(name, "") for name in merge.FIELDS}


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    url: str
    label: str
    reason: str


def _read_ids(session: Session, lead_id: int) -> set[int]:
    read = set(
        session.scalars(select(AssetEngagement.asset_id).where(AssetEngagement.lead_id == lead_id))
    )
    return read | set(session.scalars(select(Unlock.asset_id).where(Unlock.lead_id == lead_id)))


def _block_items(
    context: KindContext, block: merge.Block, lead: Lead | None, model: Model, now: datetime
) -> list[Item]:
    session, links = context.session, context.links

    def item(asset: Asset, reason: str) -> Item:
        # The mail's language (rendering runs inside i18n.using): "Fallstudie", not "Case study".
        label = kind_label(asset.kind)
        return Item(asset.title, links.url(f"/library/{asset.slug}"), label, reason)

    if block.name == "next_best_content":
        if lead is None:
            return []
        chosen = set(lead.mail_topics or [])
        # Topics the reader chose in the preference center narrow the choice (none: all).
        wanted = block.count * TOPIC_WIDENING if chosen else block.count
        found = recommend_for_lead(
            session, lead.id, model, now, wanted, cache=context.audience, language=i18n.current()
        )
        slugs = [found_item.slug for found_item in found]
        rows = session.scalars(select(Asset).where(Asset.slug.in_(slugs)))
        assets = {asset.slug: asset for asset in rows}
        fitting = [
            r
            for r in found
            if r.slug in assets
            and (not chosen or chosen & {topic.slug for topic in assets[r.slug].topics})
        ]
        return [item(assets[r.slug], i18n.say(r.why)) for r in fitting[: block.count]]
    published = Asset.status == Status.PUBLISHED.value
    if block.name == "asset":
        asset = session.scalar(select(Asset).where(Asset.slug == block.slug, published))
        if asset is not None:  # the version in the mail's language, when there is one
            asset = translations.version_in(session, asset, i18n.current())
        return [item(asset, asset.summary[:160])] if asset is not None else []
    query = (
        select(Asset)
        .join(asset_topic, asset_topic.c.asset_id == Asset.id)
        .join(Topic, Topic.id == asset_topic.c.topic_id)
        .where(Topic.slug == block.slug, published, translations.shown_in(session, i18n.current()))
        .order_by(Asset.published_at.desc(), Asset.id.desc())
    )
    read = _read_ids(session, lead.id) if lead is not None else set()
    newest = session.scalars(query.limit(block.count + len(read)))
    fresh = [asset for asset in newest if asset.id not in read]
    return [item(asset, asset.summary[:160]) for asset in fresh[: block.count]]


def _block_html(items: list[Item]) -> str:
    return "".join(
        f'<p><strong><a href="{escape(entry.url)}">{escape(entry.title)}</a></strong><br>'
        f'<span class="muted">{escape(entry.label)}'
        + (f" · {escape(entry.reason)}" if entry.reason else "")
        + "</span></p>"
        for entry in items
    )


def body_html(
    context: KindContext, send: Send, lead: Lead | None, values: Mapping[str, str], model: Model
) -> str:
    """The mail's HTML body: Markdown (sanitized) with the blocks resolved for the lead; a
    block that finds nothing (every asset read) leaves nothing behind."""
    now = utcnow()
    parts = []
    for part in merge.split(send.body):
        if isinstance(part, merge.Block):
            parts.append(_block_html(_block_items(context, part, lead, model, now)))
        else:
            parts.append(render_markdown(merge.fill(part, values, markdown=True)))
    return "".join(parts)


def step_send(session: Session, params: Mapping[str, Any]) -> Send:
    """The send step a message names (or, for a preview of unsaved edits, carries)."""
    if params.get("send") is not None:
        return parse_send(params["send"], "send")
    definition = store.definition(session, int(params["program"]), int(params["version"]))
    step = definition.steps[definition.index(str(params["step"]))]
    if not isinstance(step.action, Send):
        raise LookupError(f"step {params['step']!r} sends no mail")
    return step.action


def program_context(context: KindContext) -> Mapping[str, Any]:
    message = context.message
    params = message.params
    send = step_send(context.session, params)
    lead_id = params.get("lead_for", message.lead_id)
    lead = context.session.get(Lead, int(lead_id)) if lead_id is not None else None
    values = merge_values(context.session, lead)
    variant = min(int(params.get("variant", 0)), send.variants - 1)
    subject = merge.fill(send.subjects[variant], values, markdown=False)
    found: dict[str, Any] = {
        "subject_line": ("[Test] " if params.get("test") else "") + subject,
        "preheader_text": merge.fill(send.preheader, values, markdown=False),
        "body_html": Markup(body_html(context, send, lead, values, context.model or DEFAULT_MODEL)),  # noqa: S704
    }
    if params.get("test"):
        # A test looks like the real mail: the marketing footer, links for the tester.
        found["marketing"] = True
        found["unsubscribe_url"] = context.links.unsubscribe(message.to, message.id)
    return found


def notify_context(context: KindContext) -> Mapping[str, Any]:
    params = context.message.params
    lead = context.session.get(Lead, int(params["lead"]))
    if lead is None:
        raise LookupError("the lead was erased since")
    return {
        "lead_email": lead.email,
        "lead_name": lead.name,
        "lead_company": lead.company,
        "lead_stage": lead.journey_stage,
        "lead_grade": lead.grade,
        "program_name": params.get("program", ""),
        "note": params.get("note", ""),
        "lead_url": context.links.url(f"/console/leads/{lead.id}"),
    }


CONTEXTS: dict[str, ContextFunction] = {MAIL_KIND: program_context, NOTIFY_KIND: notify_context}


def queue_test(
    session: Session,
    *,
    to: str,
    lead_id: int | None,
    params: Mapping[str, Any],
    domain: str,
    language: str,
    now: datetime,
) -> int | None:
    """Queue "send a test to me": the step rendered for ``lead_id`` to the marketer's address
    (transactional: a tester gave no marketing consent; the footer is shown all the same)."""
    return enqueue(
        session,
        Mail(
            to=to,
            kind=MAIL_KIND,
            category=MailCategory.TRANSACTIONAL,
            language=language,
            params={**params, "test": True, "lead_for": lead_id},
        ),
        domain=domain,
        now=now,
    )
