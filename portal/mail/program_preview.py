"""A program mail rendered for a real lead without writing anything: the console's preview
(``portal/routes/console_program_preview.py``). Apart from ``program_mails`` because it needs
the renderer, which gathers ``program_mails`` among the kinds of mail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from content.orm import utcnow
from nurture.mail.models import MailCategory
from nurture.mail.sender import Outgoing
from nurture.programs import store
from nurture.programs.scheduler import MAIL_KIND
from portal import i18n
from portal.mail.kinds import KindContext
from portal.mail.program_mails import program_context
from portal.mail.render import MailRenderer
from tracking.models import Lead


def preview(
    renderer: MailRenderer, session: Session, params: Mapping[str, Any], lead: Lead
) -> tuple[str, str, str]:
    """(HTML document, plain text, subject) of a program mail for ``lead``, as it would be
    sent now, in the language the scheduler would choose (the program's fixed one, else the
    lead's, else the site's); nothing is written, links stay as written (no click tracking),
    and the footer's unsubscribe and preference links go nowhere: a marketer clicking around
    a preview must not unsubscribe the lead it shows."""
    language = str(params.get("language") or "")
    if not language and params.get("program") is not None:
        language = store.definition(
            session, int(params["program"]), int(params["version"])
        ).language
    message = Outgoing(
        id=0, claim="", message_id="<preview@leadshelf>", verp="", lead_id=lead.id,
        to=lead.email, kind=MAIL_KIND, category=MailCategory.MARKETING,
        language=language or lead.language or renderer.settings.default_language,
        params=dict(params), attempts=0, created_at=utcnow(),
    )  # fmt: skip
    common = renderer.common(message)
    with i18n.using(common["lang"]):  # the mail's words, not the console's
        context = KindContext(session, message, renderer.links, renderer.model, renderer.audience)
        values = {
            **common,
            **program_context(context),
            "unsubscribe_url": PREVIEW_LINK,
            "preferences_url": PREVIEW_LINK,
        }
        return renderer.parts(MAIL_KIND, values)


PREVIEW_LINK = "#preview"
"""Where a preview's footer links point (the real mail has the lead's signed links there)."""
