"""Rendering one message: its kind's template (``templates/email/KIND.html``) in the common
layout, an HTML and a plain-text part, and the headers (Message-ID, List-Unsubscribe on
marketing mail, DKIM when configured).

**A kind's template** defines blocks, all optional but ``subject`` and ``body``:

- ``subject``: one line (rendered without HTML escaping; whitespace collapsed);
- ``preheader``: the preview line mail clients show after the subject (hidden in the body);
- ``body``: the HTML of the message, plain semantic markup: ``<h1>``, ``<p>``, ``<ul>``,
  ``<a class="button" href="…">`` for the one call to action, ``<p class="muted">`` for small
  print, ``<img>`` (always scaled to the column). No ``style`` attributes or tables are
  needed: the layout's stylesheet styles these and is inlined (css-inline) at render time,
  into one fluid column at most 600px wide that reads at 320px;
- ``text``: the plain-text part. Leave it out and the text is made from ``body`` (the same
  words, links written out), which keeps both parts the same; write it only when the text
  should differ;
- ``reason``: one sentence saying why the reader gets this mail (marketing mail has a default:
  "you subscribed to news from BRAND as ADDRESS").

A kind's context function may return ``attachments``, a list of ``portal.mail.mime.Attachment``
(a webinar's ``.ics``); the message bytes are built by ``portal.mail.mime``.

The layouts add the brand (logo or name, brand colour), the footer (brand, postal address;
on marketing mail the preference-center and unsubscribe links) and the reason.

**Words in two languages** (English, German): templates mark English text with Jinja's i18n
extension, ``{% trans %}Hello {{ name }},{% endtrans %}`` (whitespace inside is collapsed) or
``{{ _("Unsubscribe") }}``; plurals ``{% trans count=n %}…{% pluralize %}…{% endtrans %}``.
The German lives in the gettext catalog (``portal/locale/de/LC_MESSAGES/*.po``, see
``portal.i18n``), and ``tests/portal/test_i18n_catalog.py`` fails when a marked text has none.
A message is rendered, its kind's context read too, inside ``portal.i18n.using`` its
``language`` (the lead's, else the site default; a notification to a staff member is in their
console language): the words, ``current_language()`` and the formatters (``format_date`` …)
all speak it, whatever the request or job around it speaks.

**Tracking**: every http(s) link of both parts is rewritten to a signed ``/email/click?t=``
URL (``portal.mail.links``), except links to the portal's own ``/email/`` pages (confirm,
continue, unsubscribe, preferences); marketing mail carries the ``/email/open?t=`` pixel
(transactional mail, sent without marketing consent, carries no pixel). A mail rendered
outside the outbox (``Outgoing.id`` 0, ``leadshelf mail test``) keeps its links as written.
"""

from __future__ import annotations

import html as html_text
import re
from collections.abc import Callable, Sequence
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture.mail.models import MailCategory
from nurture.mail.sender import Outgoing, Rendered
from nurture.mail.smtp import Sender, parse_sender
from nurture.programs.scheduler import NOTIFY_KIND
from nurture.recommendations import AudienceCache
from portal import i18n
from portal.accounts.models import StaffUser
from portal.mail import identity_mails, mime, program_mails, subscription_mails, webinar_mails
from portal.mail.kinds import ContextFunction, KindContext, test_mail
from portal.mail.links import Links
from portal.mail.plaintext import html_to_text
from portal.resources import resource_path
from portal.settings import Settings
from portal.signing import Signer
from portal.templating import template_helpers
from tracking.rules.config import Model

KIND_MODULES = (subscription_mails, identity_mails, webinar_mails, program_mails)
"""The feature modules that bring kinds of mail (``CONTEXTS``)."""


STAFF_KINDS = frozenset({NOTIFY_KIND})
"""Kinds written to a staff member (sales), not to the lead: in the staff member's language."""


def staff_language(session: Session, address: str) -> str:
    """The console language of the staff member with this address ("": no staff member, or
    one who speaks the site's), so sales reads a notification as they read the console."""
    wanted = address.strip().lower()
    return session.scalar(select(StaffUser.language).where(StaffUser.email == wanted)) or ""


def contexts() -> dict[str, ContextFunction]:
    """Every kind of mail the renderer knows."""
    found: dict[str, ContextFunction] = {"test": test_mail}
    for module in KIND_MODULES:
        found.update(module.CONTEXTS)
    return found


def environment(*, html: bool = True, template_dirs: Sequence[Path] = ()) -> jinja2.Environment:
    """The Jinja environment of mail: HTML (autoescaped) or text (not), speaking the current
    language (``portal.i18n``). ``template_dirs`` are searched before ``templates/email``."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*template_dirs, resource_path("templates") / "email"]),
        autoescape=html,  # noqa: S701 (the text part is plain text, never HTML)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env)
    env.globals.update(template_helpers())
    return env


INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
"""Moves the layout's stylesheet into style attributes (many mail clients drop <style>)."""


class MailRenderer:
    """``nurture.mail.sender.Render`` for these settings: call it with a session and a message.
    ``template_dirs`` are searched before ``templates/email`` (tests add kinds of their own)."""

    def __init__(
        self,
        settings: Settings,
        signer: Signer,
        *,
        template_dirs: Sequence[Path] = (),
        model: Model | None = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.audience = AudienceCache()
        """Shared by every program mail this renderer builds (one renderer per process)."""
        self.template_dirs = tuple(template_dirs)
        self.sender: Sender = parse_sender(settings.mail_from)
        self.links = Links(signer, settings.base_url)
        self.kinds: dict[str, ContextFunction] = contexts()
        self._environments = {
            html: environment(html=html, template_dirs=self.template_dirs) for html in (True, False)
        }

    def environment(self, *, html: bool) -> jinja2.Environment:
        return self._environments[html]

    @property
    def brand(self) -> str:
        return self.settings.brand_name or self.sender.name or self.sender.domain

    def common(self, message: Outgoing) -> dict[str, Any]:
        marketing = message.category is MailCategory.MARKETING
        return {
            "lang": i18n.language(message.language, self.settings.default_language),
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
            "open_url": self.links.open_pixel(message.id) if marketing and message.id else "",
        }

    def __call__(self, session: Session, message: Outgoing) -> Rendered:
        kind = self.kinds.get(message.kind)
        if kind is None:
            raise LookupError(f"no mail kind {message.kind!r}")
        common = self.common(message)
        if message.kind in STAFF_KINDS:
            common["lang"] = i18n.language(staff_language(session, message.to), common["lang"])
        with i18n.using(common["lang"]):
            context = KindContext(session, message, self.links, self.model, self.audience)
            values = {**common, **kind(context)}
            html, text, subject = self.parts(message.kind, values)
        track = _Tracker(self.links, message.id)
        headers: list[tuple[str, str]] = [
            ("Subject", mime.header(subject)),
            ("From", mime.address(self.sender.name, self.sender.address)),
            ("To", message.to),
            ("Date", format_datetime(utcnow())),
            ("Message-ID", message.message_id),
            ("Content-Language", values["lang"]),
        ]
        if values["unsubscribe_url"]:
            mailto = f"mailto:{_unsubscribe_mailbox(self.sender, message.verp)}"
            headers.append(("List-Unsubscribe", f"<{values['unsubscribe_url']}>, <{mailto}>"))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        data = mime.build(
            headers,
            rewrite_text(text, track),
            INLINER.inline(rewrite_html(html, track)),
            values.get("attachments", ()),
        )
        return Rendered(subject=subject, data=data)

    def parts(self, kind: str, values: dict[str, Any]) -> tuple[str, str, str]:
        """(HTML document, plain text, subject) of a kind with these values, links as written,
        in the language ``values["lang"]``."""
        with i18n.using(values["lang"]):
            return self._parts(kind, values)

    def _parts(self, kind: str, values: dict[str, Any]) -> tuple[str, str, str]:
        html_env = self.environment(html=True)
        text_env = self.environment(html=False)
        as_html = html_env.get_template(f"{kind}.html")
        as_text = text_env.get_template(f"{kind}.html")
        subject = " ".join(_block(as_text, "subject", values).split())
        body = _block(as_html, "body", values)
        reason = _block(as_html, "reason", values).strip()
        extra = {
            "subject": subject,
            "preheader": " ".join(_block(as_text, "preheader", values).split()),
        }
        document = html_env.get_template("layout.html").render(
            **values,
            **extra,
            body=Markup(body),  # noqa: S704 (autoescaped already)
            reason=Markup(reason),  # noqa: S704 (autoescaped already)
        )
        text = text_env.get_template("layout.txt").render(
            **values,
            **extra,
            body=_block(as_text, "text", values).strip() or html_to_text(body),
            reason=html_to_text(reason) if reason else "",
        )
        return document, text, subject


class _Tracker:
    """Click URLs of one message, each target signed once. A mail that is not in the outbox
    (message id 0: ``leadshelf mail test``) keeps its links as written."""

    def __init__(self, links: Links, message_id: int) -> None:
        self.links = links
        self.message_id = message_id
        self.done: dict[str, str] = {}

    def __call__(self, url: str) -> str:
        if not self.message_id or not self.links.tracked(url):
            return url
        wrapped = self.done.get(url)
        if wrapped is None:
            wrapped = self.done[url] = self.links.click(self.message_id, url)
        return wrapped


_HREF = re.compile(r"""(<a\s[^>]*?\bhref=)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"""https?://[^\s<>"'\]]+""")
_TRAILING = ".,;:!?"


def rewrite_html(document: str, track: Callable[[str], str]) -> str:
    """Every link (``<a href>``) through ``track``; images and other attributes stay."""

    def replace(match: re.Match[str]) -> str:
        start, quote, value = match.groups()
        target = html_text.unescape(value)
        tracked = track(target)
        return match.group(0) if tracked == target else f"{start}{quote}{escape(tracked)}{quote}"

    return _HREF.sub(replace, document)


def rewrite_text(text: str, track: Callable[[str], str]) -> str:
    """Every http(s) URL of a plain text through ``track``, without the punctuation that
    ends a sentence or closes a bracket around it."""

    def replace(match: re.Match[str]) -> str:
        url, rest = _trim(match.group(0))
        return track(url) + rest

    return _URL.sub(replace, text)


def _trim(url: str) -> tuple[str, str]:
    end = len(url)
    while end and (
        url[end - 1] in _TRAILING
        or (url[end - 1] == ")" and url.count("(", 0, end) < url.count(")", 0, end))
    ):
        end -= 1
    return url[:end], url[end:]


def _unsubscribe_mailbox(sender: Sender, verp: str) -> str:
    """A mail to this address unsubscribes (the bounce receiver reads it)."""
    return f"unsubscribe+{verp}@{sender.domain}"


def _block(template: jinja2.Template, name: str, values: dict[str, Any]) -> str:
    block = template.blocks.get(name)
    if block is None:
        return ""
    return "".join(block(template.new_context(values)))
