"""Program mail's content blocks in the mail's language: the German version of a piece where
there is one, the English original where there is none, never both; reasons in German."""

from __future__ import annotations

from typing import Any

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from portal.db import Database
from portal.mail.program_preview import preview
from portal.mail.render import MailRenderer
from tests.factories import make_asset
from tests.nurture.mail.subscribers import new_lead
from tracking.models import Lead


def german_lead(db: Database) -> Lead:
    lead_id = new_lead(db, "ada@example.de")
    with db.write() as session:
        found = session.get(Lead, lead_id)
        assert found is not None
        found.language = "de"
        session.flush()
        session.expunge(found)
        return found


def library(db: Database) -> None:
    make_asset(db, slug="guide", title="Scoring guide", topics=["pipeline"], kind="whitepaper")
    make_asset(
        db,
        slug="leitfaden",
        title="Scoring-Leitfaden",
        topics=["pipeline"],
        kind="whitepaper",
        language="de",
        translation_of="guide",
    )
    make_asset(db, slug="checklist", title="Pipeline checklist", topics=["pipeline"])


def named(render: MailRenderer, db: Database, body: str, reader: Lead) -> tuple[list[str], str]:
    params: dict[str, Any] = {"send": {"subjects": ["Hallo"], "body": body}}
    with db.read() as session:
        document, text, _ = preview(render, session, params, reader)
    titles = [node.text(strip=True) for node in HTMLParser(document).css("a") if node.text()]
    return titles, text


def test_next_best_content_for_a_german_lead_names_the_german_version(
    render: MailRenderer, db: Database
) -> None:
    library(db)
    titles, text = named(render, db, "{{ next_best_content 3 }}", german_lead(db))
    assert "Scoring-Leitfaden" in titles
    assert "Pipeline checklist" in titles  # no German version: the English one
    assert "Scoring guide" not in titles
    assert titles.index("Scoring-Leitfaden") < titles.index("Pipeline checklist")
    assert "Neu in der Bibliothek" in text  # the reason, in the mail's language
    assert "New in the library" not in text


def test_a_named_asset_and_a_topics_latest_come_in_the_mails_language(
    render: MailRenderer, db: Database
) -> None:
    library(db)
    reader = german_lead(db)
    titles, _ = named(render, db, "{{ asset guide }}", reader)
    assert "Scoring-Leitfaden" in titles
    assert "Scoring guide" not in titles
    titles, _ = named(render, db, "{{ latest_in_topic pipeline 3 }}", reader)
    assert "Scoring-Leitfaden" in titles
    assert "Pipeline checklist" in titles
    assert "Scoring guide" not in titles
