"""Program mail as the reader gets it: merge fields filled (escaped, with fallbacks), content
blocks resolved for the lead at send time (unread assets only, the reader's chosen topics),
and the sales contact's notification."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from content.orm import utcnow
from portal.db import Database
from portal.mail.program_preview import preview
from portal.mail.render import MailRenderer
from tests.factories import make_asset
from tests.nurture.mail.subscribers import new_lead
from tracking.identity.facts import Source, record_facts
from tracking.models import Lead, Unlock


def send(body: str, *subjects: str) -> dict[str, Any]:
    return {"send": {"subjects": list(subjects or ("Hello",)), "body": body}}


def lead(db: Database, **facts: str) -> Lead:
    lead_id = new_lead(db, "ada@example.com")
    with db.write() as session:
        if facts:
            record_facts(session, lead_id, facts, Source("form", "test"), utcnow())
        found = session.get(Lead, lead_id)
        assert found is not None
        session.expunge(found)
        return found


def rendered(render: MailRenderer, db: Database, params: dict[str, Any], reader: Lead) -> tuple:
    with db.read() as session:
        return preview(render, session, params, reader)


def links(document: str) -> list[str]:
    return [node.text(strip=True) for node in HTMLParser(document).css("a") if node.text()]


def test_merge_fields_use_the_leads_values_or_the_fallback(
    render: MailRenderer, db: Database
) -> None:
    known = lead(db, first_name="Ada", company="<b>Acme</b> *Corp*")
    params = send("Hi {{ first_name | there }} at {{ company }}, {{ job_title | friend }}.",
                  "{{ first_name | Hello }}, read this")  # fmt: skip
    document, text, subject = rendered(render, db, params, known)
    assert subject == "Ada, read this"
    assert "Hi Ada at <b>Acme</b> *Corp*, friend." in text
    # Escaped as text, not taken as HTML or Markdown emphasis.
    assert "&lt;b&gt;Acme&lt;/b&gt; *Corp*" in document
    assert "<em>Corp</em>" not in document


def test_next_best_content_names_only_assets_the_lead_has_not_read(
    render: MailRenderer, db: Database
) -> None:
    kinds = ("article", "whitepaper", "ebook", "checklist")  # at most two of a kind in a list
    assets = [make_asset(db, title=f"Guide {n}", kind=kind) for n, kind in enumerate(kinds)]
    reader = lead(db)
    with db.write() as session:
        session.add(Unlock(lead_id=reader.id, asset_id=assets[0].id, unlocked_at=utcnow()))
    document, text, _ = rendered(
        render, db, send("Read next:\n\n{{ next_best_content 3 }}"), reader
    )
    named = [title for title in links(document) if title.startswith("Guide")]
    assert len(named) == 3
    assert "Guide 0" not in named
    assert "Guide 0" not in text


def test_next_best_content_keeps_to_the_topics_the_reader_chose(
    render: MailRenderer, db: Database
) -> None:
    make_asset(db, title="Scoring basics", topics=["lead-scoring"])
    make_asset(db, title="Pipeline review", topics=["pipeline"])
    make_asset(db, title="Pipeline math", topics=["pipeline"], kind="ebook")
    reader = lead(db)
    with db.write() as session:
        found = session.get(Lead, reader.id)
        assert found is not None
        found.mail_topics = ["pipeline"]
    document, _, _ = rendered(render, db, send("{{ next_best_content 3 }}"), reader)
    named = set(links(document))
    assert {"Pipeline review", "Pipeline math"} <= named
    assert "Scoring basics" not in named


def test_latest_in_topic_and_a_single_asset(render: MailRenderer, db: Database) -> None:
    now = utcnow()
    make_asset(db, title="Old pipeline", topics=["pipeline"], published_at=now - timedelta(days=9))
    make_asset(db, title="New pipeline", topics=["pipeline"], published_at=now - timedelta(days=1))
    make_asset(db, title="Other topic", topics=["lead-scoring"])
    pricing = make_asset(db, title="Pricing guide")
    reader = lead(db)
    body = f"{{{{ latest_in_topic pipeline 1 }}}}\n\nAnd:\n\n{{{{ asset {pricing.slug} }}}}"
    document, _, _ = rendered(render, db, send(body), reader)
    named = links(document)
    assert "New pipeline" in named
    assert "Old pipeline" not in named
    assert "Other topic" not in named
    assert "Pricing guide" in named


def test_a_block_that_finds_nothing_leaves_nothing_behind(
    render: MailRenderer, db: Database
) -> None:
    reader = lead(db)
    document, text, _ = rendered(render, db, send("Before\n\n{{ asset no-such-asset }}\n\nAfter"),
                                 reader)  # fmt: skip
    assert "Before" in text
    assert "After" in text
    assert "{{" not in text
    assert "no-such-asset" not in document


def test_markdown_is_rendered_and_raw_html_is_not(render: MailRenderer, db: Database) -> None:
    reader = lead(db)
    body = "## A heading\n\n**bold** and [a link](https://example.com)\n\n<script>x()</script>"
    document, _, _ = rendered(render, db, send(body), reader)
    assert "<strong>bold</strong>" in document
    assert "<script>" not in document
    assert "https://example.com" in document


def test_a_preview_is_in_the_programs_language_and_its_footer_unsubscribes_nobody(
    render: MailRenderer, db: Database
) -> None:
    reader = lead(db)  # no language of its own: the site's would be English
    params = {**send("Hallo {{ first_name | zusammen }}"), "language": "de"}
    document, text, _ = rendered(render, db, params, reader)
    assert 'lang="de"' in document
    assert "Abmelden" in text
    assert "/email/unsubscribe" not in document + text
    assert "/email/preferences" not in document + text
    footer = HTMLParser(document).css("a")
    assert any(node.attributes.get("href") == "#preview" for node in footer)
