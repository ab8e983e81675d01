"""Site pages: the site's own texts an admin edits (the privacy policy every form links to).

Each page has a built-in text, shown until an admin saves their own. Texts are
Markdown, rendered and sanitized like asset bodies, and kept per language so
translations can be added later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from content.orm import Base, utcnow
from content.printable import unprintable

PRIVACY = "privacy"
DEFAULT_LANGUAGE = "en"
BODY_MAX = 50_000

DEFAULT_PRIVACY_POLICY = """\
This resource library is run by the company named on this site. This page says what we
keep about you when you use it, why, and how you decide.

## What we keep

- **A cookie with a random id** for your browser, so we can tell visits apart and pick up
  where you left off. It holds no name and no address.
- **What you read here**: which resources you open, how long and how far you read, what
  you download and search for. We use it to recommend what fits next.
- **What you tell us in a form**: your email and the few answers a form asks for, and
  whether you agreed to hear from us. A form never asks again what we already know.

We keep all of this ourselves: no advertising networks and no third-party trackers.

## Your choices

- Under **Privacy choices** (at the foot of every page) you can allow or decline that we
  note what you read. If your browser sends Do Not Track or Global Privacy Control, we
  respect it.
- **Not you?** on a form makes this browser forget who it was.
- You may ask us what we keep about you, have it corrected, or have it erased: use
  **Talk to sales** and say so.

## How long

Detailed reading records are deleted automatically after a fixed period; form answers are
kept while you are in touch with us, and erased when you ask.
"""

DEFAULT_PRIVACY_POLICY_DE = """\
Diese Bibliothek betreibt das Unternehmen, das auf dieser Website genannt ist. Hier steht, was
wir über Sie speichern, wenn Sie sie nutzen, warum, und wie Sie darüber entscheiden.

## Was wir speichern

- **Ein Cookie mit einer Zufallskennung** für Ihren Browser, damit wir Besuche unterscheiden
  und dort weitermachen können, wo Sie aufgehört haben. Es enthält weder Namen noch Adresse.
- **Was Sie hier lesen**: welche Inhalte Sie öffnen, wie lange und wie weit Sie lesen, was
  Sie herunterladen und wonach Sie suchen. Damit empfehlen wir, was als Nächstes passt.
- **Was Sie uns in einem Formular sagen**: Ihre E-Mail-Adresse und die wenigen Antworten,
  nach denen ein Formular fragt, und ob Sie eingewilligt haben, von uns zu hören. Ein
  Formular fragt nie erneut, was wir schon wissen.

All das behalten wir selbst: keine Werbenetzwerke und keine Tracker von Dritten.

## Ihre Wahl

- Unter **Datenschutzeinstellungen** (unten auf jeder Seite) erlauben oder untersagen Sie,
  dass wir festhalten, was Sie lesen. Sendet Ihr Browser „Do Not Track“ oder „Global Privacy
  Control“, halten wir uns daran.
- **Nicht Sie?** in einem Formular lässt diesen Browser vergessen, wer er war.
- Sie können erfragen, was wir über Sie speichern, es berichtigen oder löschen lassen:
  Nutzen Sie **Mit dem Vertrieb sprechen** und sagen Sie es uns.

## Wie lange

Genaue Leseaufzeichnungen werden nach einer festen Frist automatisch gelöscht;
Formularangaben behalten wir, solange Sie mit uns in Kontakt sind, und löschen sie, wenn Sie
es wünschen.
"""

BUILT_IN = {PRIVACY: DEFAULT_PRIVACY_POLICY}
"""The pages there are, by name, with the text each shows until an admin writes their own."""

BUILT_IN_TRANSLATED = {"de": {PRIVACY: DEFAULT_PRIVACY_POLICY_DE}}
"""The built-in texts in the other languages, by language and name."""


class SitePage(Base):
    """An admin's text for a site page in one language (none: the built-in text is shown)."""

    __tablename__ = "site_page"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254))


@dataclass(frozen=True, slots=True)
class PageText:
    """What a page says now, and whose text it is."""

    body: str
    built_in: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


def page_text(session: Session, name: str, language: str = DEFAULT_LANGUAGE) -> PageText:
    """The admin's text of a page in this language, else in the default one, else the built-in
    text in this language (or the default one's)."""
    if name not in BUILT_IN:
        raise LookupError(name)
    rows = {
        row.language: row
        for row in session.scalars(
            select(SitePage).where(
                SitePage.name == name, SitePage.language.in_({language, DEFAULT_LANGUAGE})
            )
        )
    }
    row = rows.get(language) or rows.get(DEFAULT_LANGUAGE)
    if row is None:
        built_in = BUILT_IN_TRANSLATED.get(language, {}).get(name, BUILT_IN[name])
        return PageText(built_in, built_in=True)
    return PageText(row.body, built_in=False, updated_at=row.updated_at, updated_by=row.updated_by)


def body_problem(body: str) -> str | None:
    """Why a page text cannot be saved, in the editor's words; None when it can."""
    if not body.strip():
        return "Write the text of the page (or restore the built-in text)."
    if len(body) > BODY_MAX:
        return f"Keep the text under {BODY_MAX:,} characters (it has {len(body):,})."
    problem = unprintable(body, multiline=True)
    if problem:
        return f"Remove {problem} from the text."
    return None


def save_page(
    session: Session, name: str, body: str, author: str, language: str = DEFAULT_LANGUAGE
) -> None:
    """Keep an admin's text for a page (``body_problem`` must have found nothing)."""
    if name not in BUILT_IN:
        raise LookupError(name)
    body = body.replace("\r\n", "\n")
    problem = body_problem(body)
    if problem:
        raise ValueError(problem)
    row = session.get(SitePage, (name, language))
    if row is None:
        row = SitePage(name=name, language=language)
        session.add(row)
    row.body = body
    row.updated_at = utcnow()
    row.updated_by = author


def restore_built_in(session: Session, name: str, language: str = DEFAULT_LANGUAGE) -> None:
    """Drop the admin's text: the page shows its built-in text again."""
    session.execute(delete(SitePage).where(SitePage.name == name, SitePage.language == language))
