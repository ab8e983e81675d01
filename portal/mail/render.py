"""Rendering one message: its kind's template (``templates/email/KIND.html``) in the common
layout, an HTML and a plain-text part, and the headers (Message-ID, List-Unsubscribe on
marketing mail, DKIM when configured).

A kind's template defines the blocks ``subject``, ``preheader``, ``body`` (HTML) and
``text`` (plain text); the layouts add the brand, the footer (postal address; unsubscribe
and preference links on marketing mail) and the reason the reader gets the mail.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

import jinja2
from markupsafe import Markup
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture.mail.models import MailCategory
from nurture.mail.sender import Outgoing, Rendered
from nurture.mail.smtp import Sender, parse_sender
from portal.mail import identity_mails, subscription_mails, webinar_mails
from portal.mail.kinds import ContextFunction, KindContext, test_mail
from portal.mail.links import Links
from portal.resources import resource_path
from portal.settings import Settings
from portal.signing import Signer
from portal.templating import template_helpers


def contexts() -> dict[str, ContextFunction]:
    """Every kind of mail the renderer knows."""
    return {
        "test": test_mail,
        **subscription_mails.CONTEXTS,
        **identity_mails.CONTEXTS,
        **webinar_mails.CONTEXTS,
    }


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_path("templates") / "email"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(template_helpers())
    return env


class MailRenderer:
    """``nurture.mail.sender.Render`` for these settings: call it with a session and a message."""

    def __init__(self, settings: Settings, signer: Signer) -> None:
        self.settings = settings
        self.sender: Sender = parse_sender(settings.mail_from)
        self.links = Links(signer, settings.base_url)
        self.env = environment()
        self.kinds: dict[str, ContextFunction] = contexts()

    @property
    def brand(self) -> str:
        return self.settings.brand_name or self.sender.name or self.sender.domain

    def common(self, message: Outgoing) -> dict[str, Any]:
        marketing = message.category is MailCategory.MARKETING
        return {
            "lang": message.language,
            "brand": self.brand,
            "brand_color": self.settings.brand_color,
            "logo_url": self.settings.brand_logo_url,
            "base_url": self.links.base_url,
            "postal_address": self.settings.postal_address,
            "marketing": marketing,
            "to": message.to,
            "unsubscribe_url": self.links.unsubscribe(message.to, message.id) if marketing else "",
            "preferences_url": (
                self.links.preferences(message.lead_id)
                if marketing and message.lead_id is not None
                else ""
            ),
        }

    def __call__(self, session: Session, message: Outgoing) -> Rendered:
        kind = self.kinds.get(message.kind)
        if kind is None:
            raise LookupError(f"no mail kind {message.kind!r}")
        values = {
            **self.common(message),
            **kind(KindContext(session, message, self.links)),
        }
        template = self.env.get_template(f"{message.kind}.html")
        subject = " ".join(_block(template, "subject", values).split())
        html = self.env.get_template("layout.html").render(
            **values,
            subject=subject,
            body=Markup(_block(template, "body", values)),  # noqa: S704 (autoescaped already)
        )
        text = self.env.get_template("layout.txt").render(
            **values, subject=subject, body=_block(template, "text", values).strip()
        )
        mail = EmailMessage()
        mail["Subject"] = subject
        mail["From"] = self.sender.header()
        mail["To"] = message.to
        mail["Date"] = format_datetime(utcnow())
        mail["Message-ID"] = message.message_id
        if values["unsubscribe_url"]:
            mailto = f"mailto:{_unsubscribe_mailbox(self.sender, message.verp)}"
            mail["List-Unsubscribe"] = f"<{values['unsubscribe_url']}>, <{mailto}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return Rendered(subject=subject, data=mail.as_bytes(policy=SMTP))


def _unsubscribe_mailbox(sender: Sender, verp: str) -> str:
    """A mail to this address unsubscribes (the bounce receiver reads it)."""
    return f"unsubscribe+{verp}@{sender.domain}"


def _block(template: jinja2.Template, name: str, values: dict[str, Any]) -> str:
    block = template.blocks.get(name)
    if block is None:
        return ""
    return "".join(block(template.new_context(values)))
