"""What the mail rendering and tracking tests share: leads and messages in the outbox, a
sender wired like the mail job (the real renderer, the real SMTP sink) with a kind of mail the
tests bring (``digest``: an asset link, an outside link, an image, no text block), and the
links of a received mail."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from content.orm import utcnow
from nurture.mail.models import MailCategory
from nurture.mail.outbox import Mail, enqueue
from nurture.mail.sender import MailSender, Outgoing, Rendered, SendRound
from nurture.mail.smtp import parse_sender, parse_smtp_url
from portal.db import Database
from portal.mail.kinds import KindContext
from portal.mail.render import MailRenderer
from portal.settings import Settings
from portal.signing import Signer
from tests.mailbox import Received
from tests.support import TEST_SECRET_KEYS
from tracking.models import Lead

DOMAIN = "pipewise.example"
OUTSIDE = "https://analyst.example/report?year=2025&page=2"

DIGEST = """\
{% block subject %}{% trans %}Your digest from {{ brand }}{% endtrans %}{% endblock %}
{% block preheader %}{% trans %}Three reads for this week{% endtrans %}{% endblock %}
{% block body %}
<h1>{% trans %}This week's reads{% endtrans %}</h1>
<p>{% trans %}Start with the guide everyone asks about:{% endtrans %}</p>
<p><a class="button" href="{{ asset_url }}">{{ title }}</a></p>
<p><img src="https://cdn.example/cover.png" alt="Cover" width="560"></p>
<p>{% trans %}Also worth a look: the analyst report{% endtrans %}
 (<a href="{{ outside_url }}">{% trans %}read it{% endtrans %}</a>).</p>
{% endblock %}
"""


def digest(context: KindContext) -> dict[str, Any]:
    params = context.message.params
    return {
        "title": params["title"],
        "asset_url": context.links.url(f"/library/{params['slug']}"),
        "outside_url": OUTSIDE,
    }


def renderer(settings: Settings, templates: Path) -> MailRenderer:
    """The real renderer with the ``digest`` kind (its template written under ``templates``)."""
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "digest.html").write_text(DIGEST, encoding="utf-8")
    render = MailRenderer(settings, Signer(TEST_SECRET_KEYS), template_dirs=[templates])
    render.kinds["digest"] = digest
    return render


def send_all(db: Database, settings: Settings, render: MailRenderer) -> SendRound:
    """Send every due message to the settings' SMTP server, as the mail job does."""
    return MailSender(
        db,
        render,
        parse_smtp_url(settings.smtp_url),
        parse_sender(settings.mail_from),
        postal_address=settings.postal_address,
    ).run_once()


def make_lead(
    db: Database, email: str = "ann@example.com", *, language: str = "en", consent: str = ""
) -> int:
    """A lead (subscribed when ``consent`` is ``confirmed``)."""
    with db.write() as session:
        lead = Lead(email=email, language=language, consent_status=consent or "none")
        session.add(lead)
        session.flush()
        return lead.id


def queue(
    db: Database,
    to: str,
    kind: str = "test",
    *,
    marketing: bool = False,
    lead_id: int | None = None,
    language: str = "en",
    **params: Any,
) -> int:
    """A message in the outbox; returns its id."""
    category = MailCategory.MARKETING if marketing else MailCategory.TRANSACTIONAL
    with db.write() as session:
        written = enqueue(
            session,
            Mail(to, kind, category, language=language, lead_id=lead_id, params=params),
            domain=DOMAIN,
            now=utcnow(),
        )
    assert written is not None
    return written


def outside_outbox(language: str = "en") -> Outgoing:
    """A test mail as ``leadshelf mail test`` renders it: no outbox row (id 0), no lead."""
    return Outgoing(
        id=0, claim="", message_id=f"<test@{DOMAIN}>", verp="0" * 24, lead_id=None,
        to="ops@pipewise.example", kind="test", category=MailCategory.TRANSACTIONAL,
        language=language, params={}, attempts=1, created_at=utcnow(),
    )  # fmt: skip


def parsed(rendered: Rendered) -> Received:
    """A rendered mail as a server would receive it."""
    message = BytesParser(policy=policy.default).parsebytes(rendered.data)
    assert isinstance(message, EmailMessage)
    return Received("", (), rendered.data, message)


def text_of(received: Received) -> str:
    """The plain-text part with its line ends as a reader sees them."""
    return received.part("plain").replace("\r\n", "\n")


def page(received: Received) -> HTMLParser:
    return HTMLParser(received.part("html"))


def one(document: HTMLParser, selector: str) -> LexborNode:
    """The first element ``selector`` matches (there must be one)."""
    node = document.css_first(selector)
    assert node is not None, f"no {selector}"
    return node


def hrefs(received: Received) -> list[str]:
    """The links of the HTML part, in order."""
    return [str(a.attributes.get("href")) for a in page(received).css("a")]


def local(url: str) -> str:
    """The path and query of an absolute portal URL (what the test client requests)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
