"""Topic and persona labels: what the editor wrote, or a label derived from the slug that keeps
acronyms ("CRM") and compound words ("Account-based")."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from content.models import Persona, Topic
from content.taxonomy import label_from_slug
from portal.db import Database
from tests.factories import make_asset
from tests.support import html


@pytest.mark.parametrize(
    ("slug", "label"),
    [
        ("crm-integration", "CRM integration"),
        ("account-based-marketing", "Account-based marketing"),
        ("b2b-lead-nurturing", "B2B lead nurturing"),
        ("abm", "ABM"),
        ("saas-metrics", "SaaS metrics"),
        ("gdpr-and-dsgvo", "GDPR and DSGVO"),
        ("data-driven-content", "Data-driven content"),
        ("lead-scoring", "Lead scoring"),
        ("marketing_ops", "Marketing ops"),
        ("based", "Based"),
    ],
)
def test_a_label_derived_from_a_slug_keeps_acronyms_and_compounds(slug: str, label: str) -> None:
    assert label_from_slug(slug) == label


def topic_tags(client: TestClient[Litestar], slug: str) -> dict[str, str]:
    """The asset page's topic tags: slug (from the filter link) → label."""
    tree = html(client.get(f"/library/{slug}").text)
    return {
        (tag.attributes["href"] or "").split("topic=")[-1]: tag.text(strip=True)
        for tag in tree.css(".asset__topics a.tag")
    }


def test_the_editors_own_capitalisation_is_the_label(
    client: TestClient[Litestar], db: Database
) -> None:
    make_asset(
        db,
        slug="crm-sync",
        topics=["CRM Integration", "account-based-marketing", "Lead scoring for SaaS"],
        personas=["marketing ops and crm admins"],
    )
    assert topic_tags(client, "crm-sync") == {
        "crm-integration": "CRM Integration",
        "account-based-marketing": "Account-based marketing",
        "lead-scoring-for-saas": "Lead scoring for SaaS",
    }
    with db.read() as session:
        persona = session.scalars(select(Persona)).one()
    assert (persona.slug, persona.label) == (
        "marketing-ops-and-crm-admins",
        "Marketing ops and CRM admins",
    )


def test_a_label_derived_by_the_old_rule_is_repaired_and_an_editors_label_kept(
    client: TestClient[Litestar], db: Database
) -> None:
    with db.write() as session:
        session.add(Topic(slug="crm-integration", label="Crm integration"))  # the old derivation
        session.add(Topic(slug="abm", label="Account-based marketing (ABM)"))  # an editor's
    make_asset(db, slug="crm-sync", topics=["crm-integration", "abm"])
    assert topic_tags(client, "crm-sync") == {
        "crm-integration": "CRM integration",
        "abm": "Account-based marketing (ABM)",
    }
