"""The console's lead list on SQLite and PostgreSQL: every filter against known leads, search,
sorting, pages and the capped count, the URL round trip, and the full CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from litestar.datastructures import MultiDict
from sqlalchemy import inspect, select, text

from content.models import Asset
from portal.db import Database
from portal.migrate import alembic_config
from tests.factories import make_asset
from tests.tracking.reporting.leads import LEADS, add_leads, moment
from tracking.folding import SEPARATOR, fold, search_text
from tracking.identity.facts import Source, record_facts
from tracking.identity.identify import identify
from tracking.models import AssetEngagement, Lead
from tracking.reporting import lead_pages, leadlist
from tracking.reporting.lead_pages import count, page
from tracking.reporting.leadlist import (
    EXPORT_HEADER,
    SOURCE_FIELDS,
    BadFilter,
    LeadFilter,
    Sort,
    export_rows,
    parse_filter,
    safe_cell,
)
from tracking.rules.config import Model
from tracking.rules.scoring import Category, Lifecycle

MODEL = Model()
CHOICES: dict[str, Any] = {
    "stage": MODEL.stages,
    "lifecycle": tuple(v.value for v in Lifecycle),
    "grade": tuple("ABCDE"),
    "category": tuple(v.value for v in Category),
}


@pytest.fixture
def leads(db: Database) -> dict[str, int]:
    """The five ``LEADS`` (ada, bob, cy, dee, eve), by the part of their email before the @."""
    return add_leads(db)


def names(db: Database, view: LeadFilter, per_page: int = 50) -> list[str]:
    with db.read() as session:
        found = page(session, view, per_page=per_page)
    return [lead.email.split("@")[0] for lead in found.leads]


def matching(db: Database, **values: Any) -> set[str]:
    return set(names(db, LeadFilter(**values)))


def params(*pairs: tuple[str, str]) -> MultiDict[str]:
    return MultiDict(list(pairs))


# filters


def test_no_filter_lists_everyone_by_latest_activity(db: Database, leads: dict[str, int]) -> None:
    assert names(db, LeadFilter()) == ["dee", "ada", "bob", "cy", "eve"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"stage": ("decision",)}, {"ada", "dee"}),
        ({"stage": ("awareness", "customer")}, {"cy", "eve"}),
        ({"lifecycle": ("mql", "sql")}, {"ada", "dee"}),
        ({"lifecycle": ("opportunity",)}, set()),
        ({"grade": ("B",)}, {"bob", "dee"}),
        ({"grade": ("A", "E")}, {"ada", "cy"}),
        ({"category": ("bant", "known")}, {"ada", "cy"}),
        ({"stage": ("decision",), "grade": ("B",)}, {"dee"}),  # filters combine with AND
    ],
)
def test_choice_filters_take_several_values(
    db: Database, leads: dict[str, int], values: dict[str, Any], expected: set[str]
) -> None:
    assert matching(db, **values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"fit_min": 45}, {"ada", "bob", "dee"}),
        ({"fit_max": 30}, {"cy", "eve"}),
        ({"fit_min": 30, "fit_max": 60}, {"bob", "dee", "eve"}),
        ({"fit_min": 0, "fit_max": 0}, {"cy"}),
        ({"engagement_min": 20.0}, {"ada", "bob", "dee"}),
        ({"engagement_max": 5.25}, {"cy", "eve"}),
        ({"engagement_min": 5.3, "engagement_max": 40.0}, {"bob", "dee"}),
        ({"fit_min": 90}, set()),
    ],
)
def test_score_ranges_include_both_ends(
    db: Database, leads: dict[str, int], values: dict[str, Any], expected: set[str]
) -> None:
    assert matching(db, **values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Whole days, both included: 23:59:59 of the last day and 00:00 of the first count.
        ({"active_from": date(2026, 3, 2)}, {"ada", "dee"}),
        ({"active_to": date(2026, 3, 1)}, {"bob", "cy", "eve"}),
        ({"active_from": date(2026, 3, 1), "active_to": date(2026, 3, 2)}, {"ada", "bob"}),
        ({"active_from": date(2026, 3, 3), "active_to": date(2026, 3, 3)}, {"dee"}),
        ({"created_from": date(2026, 2, 1), "created_to": date(2026, 2, 15)}, {"bob", "cy"}),
        ({"created_to": date(2025, 12, 31)}, {"eve"}),
        ({"created_from": date(2026, 2, 16)}, {"dee"}),
        ({"created_from": date(2026, 3, 1), "created_to": date(2026, 2, 1)}, set()),
    ],
)
def test_date_ranges_cover_whole_utc_days(
    db: Database, leads: dict[str, int], values: dict[str, Any], expected: set[str]
) -> None:
    assert matching(db, **values) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ada@", {"ada"}),  # email
        ("LOVELACE", {"ada"}),  # name, any case
        ("acme", {"ada", "eve"}),  # company "Acme" and "Big ACME Corp" (and ada's email)
        ("corp", {"eve"}),
        (".example", {"ada", "bob", "cy", "dee", "eve"}),
        ("adams", {"eve"}),
        ("nobody", set()),
    ],
)
def test_search_looks_in_email_name_and_company_ignoring_case(
    db: Database, leads: dict[str, int], query: str, expected: set[str]
) -> None:
    assert matching(db, q=query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("100%", {"cy"}),  # "%" is a percent sign, not "anything"
        ("%", {"cy"}),
        ("_", {"bob"}),  # "_" is an underscore, not "any one character"
        ("e_w", {"bob"}),
        ("a_a", set()),  # would match "ada" if "_" were a wildcard
        ("\\", set()),
    ],
)
def test_like_wildcards_in_the_search_are_literal(
    db: Database, leads: dict[str, int], query: str, expected: set[str]
) -> None:
    assert matching(db, q=query) == expected


def test_search_ignores_the_case_of_accented_letters(db: Database) -> None:
    # German company names start with capital umlauts; people type them in lower case.
    with db.write() as session:
        session.add(Lead(email="uta@aerzte.example", name="Uta Öz", company="Ärzteverband"))
    assert matching(db, q="ärzteverband") == {"uta"}
    assert matching(db, q="öz") == {"uta"}


@pytest.fixture
def accented(db: Database) -> None:
    with db.write() as session:
        session.add_all(
            [
                Lead(email="jm@nord.example", name="Jürgen Müller", company="Straße & Söhne"),
                Lead(email="olga@bank.example", name="Ольга Ёлкина", company="Σίσυφος"),
                Lead(email="soren@aeon.example", name="Søren Łukasik", company="ÆON"),
                Lead(email="mull@er.example", name="", company=""),
            ]
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("muller", {"jm"}),  # without the accent
        ("MÜLLER", {"jm"}),
        ("Mueller", set()),  # no transliteration rules beyond taking accents off
        ("strasse", {"jm"}),  # "ß" folds to "ss"
        ("STRASSE & SÖHNE", {"jm"}),
        ("ёлкина", {"olga"}),
        ("ЕЛКИНА", {"olga"}),
        ("ΣΙΣΥΦΟΣ", {"olga"}),  # final and medial sigma, accent on iota
        ("soren lukasik", {"soren"}),
        ("aeon", {"soren"}),  # company and email
        ("æon", {"soren"}),
        ("NORD.EXAMPLE", {"jm"}),
        ("mull", {"jm", "mull"}),  # name, or email
        ("müller\nstraße", set()),  # never across two fields
        ("müller straße", set()),
        ("mull@er", {"mull"}),
    ],
)
def test_search_ignores_accents_and_case_in_email_name_and_company(
    db: Database, accented: None, query: str, expected: set[str]
) -> None:
    assert matching(db, q=query) == expected


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Müller", "muller"),
        ("MÜLLER", "muller"),
        ("Ærø", "aero"),
        ("ÆON", "aeon"),
        ("Œuvre", "oeuvre"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Łódź", "lodz"),
        ("İstanbul Işık", "istanbul isik"),  # noqa: RUF001 (the dotless i is the point)
        ("Þór", "thor"),
        ("ΣΊΣΥΦΟΣ", "σισυφοσ"),
        ("σίσυφος", "σισυφοσ"),
        ("Ёлкина Й", "елкина и"),
        ("ＡＣＭＥ ﬁnance", "acme finance"),  # noqa: RUF001 (full-width letters, a ligature)
        ("Ada.Lovelace+news@Example.ORG", "ada.lovelace+news@example.org"),
        ("100% a_b", "100% a_b"),  # LIKE wildcards stay as they are (escaped when searched)
        ("tab\there\nnewline", "tab here newline"),
        ("", ""),
    ],
)
def test_fold_takes_off_case_and_accents(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_the_search_text_keeps_each_field_apart() -> None:
    assert search_text("Ada@Acme.example", "Ada Lövelace", "ÄCME") == (
        "ada@acme.example\nada lovelace\nacme"
    )
    assert search_text("x@y.example", "Line\nbreak", "") == "x@y.example\nline break\n"
    assert SEPARATOR == "\n"


@given(st.text(max_size=40))
def test_folding_is_stable_and_never_yields_the_separator(text: str) -> None:
    assert SEPARATOR not in fold(text)
    assert fold(fold(text)) == fold(text)


@pytest.fixture
def topics(db: Database, leads: dict[str, int]) -> dict[str, Asset]:
    pricing = make_asset(db, slug="pricing-guide", topics=["pricing", "lead-scoring"])
    nurturing = make_asset(db, slug="nurturing-101", topics=["nurturing"])
    first = moment("2026-03-01T10:00:00")
    with db.write() as session:
        for visitor, asset, lead in (
            ("ada-laptop", pricing, leads["ada"]),
            ("ada-phone", pricing, leads["ada"]),  # twice through two browsers
            ("bob-laptop", nurturing, leads["bob"]),
            ("anonymous", pricing, None),
            ("eve-laptop", nurturing, leads["eve"]),
            ("eve-laptop", pricing, leads["eve"]),
        ):
            session.add(
                AssetEngagement(
                    visitor_id=visitor, asset_id=asset.id, lead_id=lead, first_at=first,
                    last_at=first, views=1,
                )
            )  # fmt: skip
    return {"pricing": pricing, "nurturing": nurturing}


def test_topic_filter_finds_leads_who_engaged_with_an_asset_of_the_topic(
    db: Database, topics: dict[str, Asset]
) -> None:
    assert names(db, LeadFilter(topic="pricing")) == ["ada", "eve"]  # each once
    assert matching(db, topic="lead-scoring") == {"ada", "eve"}
    assert matching(db, topic="nurturing") == {"bob", "eve"}
    assert matching(db, topic="nurturing", grade=("C",)) == {"eve"}
    assert matching(db, topic="unknown-topic") == set()


def test_name_and_company_follow_the_current_profile(db: Database, leads: dict[str, int]) -> None:
    now = moment("2026-03-04T09:00:00")
    with db.write() as session:
        record_facts(
            session,
            leads["dee"],
            {"first_name": "Dee", "last_name": "Dorsey", "company": "Initech"},
            Source("form", "pricing-guide"),
            now,
        )
    assert matching(db, q="dorsey") == {"dee"}
    with db.write() as session:
        record_facts(session, leads["dee"], {"company": "Umbrella"}, Source("api", "crm"), now)
    assert matching(db, q="initech") == {"dee"}  # still in the email
    assert matching(db, q="umbrella") == {"dee"}
    with db.read() as session:
        dee = session.get(Lead, leads["dee"])
        assert dee is not None
        assert (dee.name, dee.company) == ("Dee Dorsey", "Umbrella")
    with db.write() as session:
        record_facts(session, leads["dee"], {"first_name": "Deana"}, Source("form", "x"), now)
    with db.read() as session:
        dee = session.get(Lead, leads["dee"])
        assert dee is not None
        assert dee.name == "Deana Dorsey"


def test_a_new_name_is_found_and_the_old_one_no_longer(db: Database, leads: dict[str, int]) -> None:
    with db.write() as session:
        record_facts(
            session,
            leads["ada"],
            {"first_name": "Ada", "last_name": "King", "company": "Analytical Engines"},
            Source("form", "x"),
            moment("2026-03-04T09:00:00"),
        )
    assert matching(db, q="ada king") == {"ada"}
    assert matching(db, q="engines") == {"ada"}
    assert matching(db, q="lovelace") == set()
    assert matching(db, q="acme") == {"ada", "eve"}  # still in ada's email


def test_a_lead_identified_by_email_alone_is_found_at_once(db: Database) -> None:
    with db.write() as session:
        identify(
            session, visitor_id=None, email="jurgen@stahl.example", answers={}, consent=None,
            source=Source("form", "x"), now=moment("2026-03-04T09:00:00"),
        )  # fmt: skip
    assert matching(db, q="JÜRGEN@STAHL") == {"jurgen"}


def test_the_migration_folds_the_leads_it_finds(db: Database) -> None:
    config = alembic_config()
    with db.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "b20e72356582-1")  # just before lead.search_text
    try:
        with db.write_connection() as connection:
            connection.execute(
                text(
                    "INSERT INTO lead (email, name, company, journey_stage, stage_confidence,"
                    " fit_score, engagement, grade, category, lifecycle, milestones,"
                    " marketing_consent, created_at, last_activity_at) VALUES"
                    " ('jm@nord.example', 'Jürgen Müller', 'Straße AG', 'awareness', 0, 0, 0,"
                    " 'E', 'known', 'lead', '[]', false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        with db.write_connection() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    with db.read() as session:
        assert session.scalars(select(Lead.search_text)).all() == [
            "jm@nord.example\njurgen muller\nstrasse ag"
        ]
    assert matching(db, q="muller") == {"jm"}
    assert "ix_lead_search_text" in {i["name"] for i in inspect(db.engine).get_indexes("lead")}


def test_facts_outside_name_and_company_leave_the_listed_values_alone(
    db: Database, leads: dict[str, int]
) -> None:
    with db.write() as session:
        record_facts(
            session, leads["ada"], {"timeframe": "0-3m"}, Source("form", "x"), moment("2026-03-04")
        )
    with db.read() as session:
        ada = session.get(Lead, leads["ada"])
        assert ada is not None
        assert (ada.name, ada.company) == ("Ada Lovelace", "Acme")


# sorting


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (Sort.LAST_ACTIVITY, ["dee", "ada", "bob", "cy", "eve"]),
        (Sort.CREATED, ["dee", "cy", "bob", "ada", "eve"]),
        (Sort.FIT, ["ada", "dee", "bob", "eve", "cy"]),
        # bob and dee share 20.0: the later id comes first when descending
        (Sort.ENGAGEMENT, ["ada", "dee", "bob", "eve", "cy"]),
        (Sort.EMAIL, ["eve", "dee", "cy", "bob", "ada"]),
        (Sort.NAME, ["eve", "cy", "bob", "ada", "dee"]),
        (Sort.COMPANY, ["bob", "cy", "eve", "ada", "dee"]),
    ],
)
def test_sorting_both_ways_with_the_id_breaking_ties(
    db: Database, leads: dict[str, int], sort: Sort, expected: list[str]
) -> None:
    assert names(db, LeadFilter(sort=sort, descending=True)) == expected
    assert names(db, LeadFilter(sort=sort, descending=False)) == list(reversed(expected))


# pages and count


def test_old_page_numbers_split_the_ordered_list(db: Database, leads: dict[str, int]) -> None:
    # Links made before cursors (?page=N) still open page N, and the page then says where it
    # is as a cursor: after the last lead of page N - 1.
    view = LeadFilter(sort=Sort.EMAIL, descending=False)
    with db.read() as session:
        first = page(session, view, per_page=2)
        second = page(session, LeadFilter(sort=Sort.EMAIL, descending=False, page=2), per_page=2)
        last = page(session, LeadFilter(sort=Sort.EMAIL, descending=False, page=3), per_page=2)
    assert [lead.email[:3] for lead in first.leads] == ["ada", "bob"]
    assert [lead.email[:3] for lead in second.leads] == ["cy@", "dee"]
    assert [lead.email[:3] for lead in last.leads] == ["eve"]
    assert (first.total, first.capped, first.pages) == (5, False, 3)
    assert (first.first_row, first.last_row) == (1, 2)
    assert (last.first_row, last.last_row, last.page) == (5, 5, 3)
    assert second.view.page == 1
    assert second.view.after is not None
    assert (second.view.after.lead_id, second.view.after.row) == (leads["bob"], 2)


def test_a_page_past_the_end_shows_the_last_page(db: Database, leads: dict[str, int]) -> None:
    with db.read() as session:
        found = page(session, LeadFilter(page=40), per_page=2)
    assert found.page == 3
    assert found.first_row == 5
    assert len(found.leads) == 1


def test_an_empty_list_has_one_empty_page(db: Database, leads: dict[str, int]) -> None:
    with db.read() as session:
        found = page(session, LeadFilter(q="nobody"))
    assert (found.leads, found.total, found.pages, found.page) == ([], 0, 1, 1)
    assert (found.first_row, found.last_row) == (0, 0)


def test_the_count_stops_at_its_cap(db: Database, leads: dict[str, int]) -> None:
    with db.read() as session:
        assert count(session, LeadFilter(), cap=3) == (3, True)
        assert count(session, LeadFilter(), cap=5) == (5, False)
        assert count(session, LeadFilter(grade=("B",)), cap=3) == (2, False)


def test_a_capped_list_still_pages_beyond_the_counted_rows(
    db: Database, leads: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = lead_pages.count
    monkeypatch.setattr(lead_pages, "count", lambda session, view: counted(session, view, cap=2))
    with db.read() as session:
        found = page(session, LeadFilter(sort=Sort.EMAIL, descending=False, page=3), per_page=2)
    assert [lead.email[:3] for lead in found.leads] == ["eve"]
    # Its last page tells how many there are after all.
    assert (found.total, found.capped, found.page, found.first_row) == (5, False, 3, 5)
    with db.read() as session:
        found = page(session, LeadFilter(sort=Sort.EMAIL, descending=False, page=2), per_page=2)
    assert (found.total, found.capped, found.page, found.first_row) == (4, True, 2, 3)


# parse_filter


def test_parse_filter_reads_every_field() -> None:
    view = parse_filter(
        params(
            ("q", "  acme  "), ("stage", "decision"), ("stage", "consideration"),
            ("lifecycle", "mql"), ("grade", "A"), ("grade", "B"), ("category", "bant"),
            ("topic", "pricing"), ("fit_min", "10"), ("fit_max", "90"),
            ("engagement_min", "2.5"), ("engagement_max", "50"),
            ("active_from", "2026-03-01"), ("active_to", "2026-03-31"),
            ("created_from", "2026-01-01"), ("created_to", "2026-02-28"),
            ("sort", "fit"), ("order", "asc"), ("page", "3"),
        ),
        CHOICES,
    )  # fmt: skip
    assert view == LeadFilter(
        q="acme",
        stage=("decision", "consideration"),
        lifecycle=("mql",),
        grade=("A", "B"),
        category=("bant",),
        topic="pricing",
        fit_min=10,
        fit_max=90,
        engagement_min=2.5,
        engagement_max=50.0,
        active_from=date(2026, 3, 1),
        active_to=date(2026, 3, 31),
        created_from=date(2026, 1, 1),
        created_to=date(2026, 2, 28),
        sort=Sort.FIT,
        descending=False,
        page=3,
    )
    assert view.active


def test_parse_filter_of_nothing_is_the_default_view() -> None:
    view = parse_filter(params(), CHOICES)
    assert view == LeadFilter()
    assert not view.active
    assert view.query_items() == []
    blanks = params(("q", " "), ("stage", ""), ("fit_min", ""), ("active_from", " "))
    assert parse_filter(blanks, CHOICES) == LeadFilter()


def test_sorting_alone_does_not_make_a_view_active() -> None:
    assert not LeadFilter(sort=Sort.EMAIL, descending=False, page=4).active
    assert LeadFilter(fit_min=0).active


@pytest.mark.parametrize(
    ("sort", "descending"),
    [
        ("last_activity", True),
        ("created", True),
        ("fit", True),
        ("engagement", True),
        ("email", False),
        ("name", False),
        ("company", False),
    ],
)
def test_each_sort_has_a_natural_direction(sort: str, descending: bool) -> None:
    assert parse_filter(params(("sort", sort)), CHOICES).descending is descending
    flipped = "asc" if descending else "desc"
    assert parse_filter(params(("sort", sort), ("order", flipped)), CHOICES).descending is (
        not descending
    )


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("stage", "purchase")], "unknown stage 'purchase'"),
        ([("lifecycle", "won")], "unknown lifecycle 'won'"),
        ([("grade", "F")], "unknown grade 'F'"),
        ([("category", "hot")], "unknown category 'hot'"),
        ([("fit_min", "ten")], "Fit score from must be a number, not 'ten'"),
        ([("fit_max", "1.5")], "Fit score to must be a number, not '1.5'"),
        ([("engagement_min", "lots")], "Engagement from must be a number, not 'lots'"),
        ([("active_from", "01.03.2026")], "Last active from must be a date (YYYY-MM-DD)"),
        ([("created_to", "2026-02-30")], "First seen to must be a date (YYYY-MM-DD)"),
        ([("sort", "salary")], "cannot sort by 'salary'"),
        ([("page", "two")], "Page must be a number, not 'two'"),
    ],
)
def test_parse_filter_refuses_bad_values_by_name(
    pairs: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(BadFilter) as refused:
        parse_filter(params(*pairs), CHOICES)
    assert str(refused.value) == message


def test_refusals_quote_at_most_forty_characters() -> None:
    with pytest.raises(BadFilter) as refused:
        parse_filter(params(("stage", "x" * 500)), CHOICES)
    assert str(refused.value) == f"unknown stage '{'x' * 40}'"


def test_parse_filter_bounds_the_page_and_the_text() -> None:
    assert parse_filter(params(("page", "0")), CHOICES).page == 1
    assert parse_filter(params(("page", "-5")), CHOICES).page == 1
    assert parse_filter(params(("page", "999999999")), CHOICES).page == 100_000
    assert len(parse_filter(params(("q", "a" * 1000)), CHOICES).q) == 200
    assert len(parse_filter(params(("topic", "t" * 1000)), CHOICES).topic) == 80


def test_query_items_leave_defaults_out_and_apply_changes() -> None:
    view = LeadFilter(q="acme", grade=("A", "B"), fit_min=0, sort=Sort.FIT)
    assert view.query_items() == [
        ("q", "acme"),
        ("grade", "A"),
        ("grade", "B"),
        ("fit_min", "0"),
        ("sort", "fit"),
    ]
    assert ("page", "2") in view.query_items(page=2)
    assert ("q", "acme") not in view.query_items(q="")


def test_query_items_round_trip_a_non_default_direction() -> None:
    # The URL names the direction "order" (what parse_filter reads), and it keeps a direction
    # that differs from the sort's natural one.
    ascending_fit = LeadFilter(sort=Sort.FIT, descending=False)
    assert parse_filter(MultiDict(ascending_fit.query_items()), CHOICES) == ascending_fit
    descending_email = LeadFilter(sort=Sort.EMAIL, descending=True)
    assert parse_filter(MultiDict(descending_email.query_items()), CHOICES) == descending_email


texts = st.text(alphabet="abcxyz-_% ", min_size=1, max_size=12).map(str.strip).filter(bool)
scores = st.floats(0, 500, allow_nan=False).map(lambda f: round(f, 2))
days = st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def views(draw: st.DrawFn) -> LeadFilter:
    def picks(name: str) -> tuple[str, ...]:
        return tuple(draw(st.lists(st.sampled_from(CHOICES[name]), unique=True, max_size=3)))

    sort = draw(st.sampled_from(list(Sort)))
    return LeadFilter(
        q=draw(st.just("") | texts),
        stage=picks("stage"),
        lifecycle=picks("lifecycle"),
        grade=picks("grade"),
        category=picks("category"),
        topic=draw(st.just("") | texts),
        fit_min=draw(st.none() | st.integers(0, 100)),
        fit_max=draw(st.none() | st.integers(0, 100)),
        engagement_min=draw(st.none() | scores),
        engagement_max=draw(st.none() | scores),
        active_from=draw(days),
        active_to=draw(days),
        created_from=draw(days),
        created_to=draw(days),
        sort=sort,
        descending=sort in leadlist.DESCENDING_FIRST,  # the natural direction
        page=draw(st.integers(1, 100_000)),
    )  # fmt: skip


@given(views())
def test_query_items_round_trip_through_parse_filter(view: LeadFilter) -> None:
    assert parse_filter(MultiDict(view.query_items()), CHOICES) == view


# export


def export(db: Database, view: LeadFilter, chunk: int = 2) -> list[list[str]]:
    return list(export_rows(db.read, view, chunk=chunk))


def test_export_yields_the_header_and_every_matching_lead_in_chunks(
    db: Database, leads: dict[str, int]
) -> None:
    rows = export(db, LeadFilter(), chunk=2)
    assert rows[0] == list(EXPORT_HEADER)
    assert [row[1] for row in rows[1:]] == [lead["email"] for lead in LEADS]  # oldest id first
    assert all(len(row) == len(EXPORT_HEADER) for row in rows)
    assert export(db, LeadFilter(), chunk=1) == rows
    assert export(db, LeadFilter(), chunk=1000) == rows


def test_export_follows_the_filter_not_the_page(db: Database, leads: dict[str, int]) -> None:
    view = LeadFilter(grade=("B", "C", "E"), page=3)
    assert [row[1][:3] for row in export(db, view)[1:]] == ["bob", "cy@", "dee", "eve"]
    assert export(db, LeadFilter(q="nobody")) == [list(EXPORT_HEADER)]


def test_export_carries_the_current_profile_and_the_verdicts(
    db: Database, leads: dict[str, int]
) -> None:
    source = Source("form", "pricing-guide")
    with db.write() as session:
        record_facts(
            session,
            leads["ada"],
            {
                "first_name": "Augusta",
                "company": "Analytical",
                "job_title": "CTO",
                "budget": "planned",
            },
            source,
            moment("2026-03-01T00:00:00"),
        )
        record_facts(
            session,
            leads["ada"],
            {"company": "Acme", "timeframe": "0-3m"},
            source,
            moment("2026-03-02T00:00:00"),
        )
    rows = export(db, LeadFilter(q="ada@"))
    assert len(rows) == 2
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells == {
        "id": str(leads["ada"]),
        "email": "ada@acme.example",
        "first_name": "Augusta",
        "last_name": "",
        "company": "Acme",  # the current value, not the superseded one
        "job_title": "CTO",
        "country": "",
        "phone": "",
        "industry": "",
        "company_size": "",
        "budget": "planned",
        "authority": "",
        "need": "",
        "timeframe": "0-3m",
        "project": "",
        "journey_stage": "decision",
        "stage_confidence": "0.78",
        "fit_score": "80",
        "engagement_score": "40.5",
        "grade": "A",
        "category": "bant",
        "lifecycle": "mql",
        "marketing_consent": "yes",
        "consent_status": "confirmed",
        "first_seen": "2026-01-10T08:00:00+00:00",
        "last_activity": "2026-03-02T23:59:59+00:00",
        # no visit recorded: its first and latest source are empty
        **{f"{side}_{name}": "" for side in ("first", "latest") for name in SOURCE_FIELDS},
    }
    bob = dict(zip(rows[0], export(db, LeadFilter(q="bob@"))[1], strict=True))
    assert (
        bob["marketing_consent"],
        bob["consent_status"],
        bob["first_name"],
        bob["engagement_score"],
    ) == ("no", "none", "", "20.0")


def test_export_neutralises_formulas_in_profile_values(db: Database, leads: dict[str, int]) -> None:
    with db.write() as session:
        record_facts(
            session,
            leads["bob"],
            {
                "company": '=HYPERLINK("http://evil.example","x")',
                "phone": "+49 30 1234",
                "job_title": "@boss",
            },
            Source("form", "x"),
            moment("2026-03-01T00:00:00"),
        )
    rows = export(db, LeadFilter(q="bob@"))
    cells = dict(zip(rows[0], rows[1], strict=True))
    assert cells["company"] == '\'=HYPERLINK("http://evil.example","x")'
    assert cells["phone"] == "+49 30 1234"  # a phone number hides no formula
    assert cells["job_title"] == "'@boss"
    # Written as CSV and read back, the cell is plain text.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    assert list(csv.reader(io.StringIO(buffer.getvalue())))[1][rows[0].index("company")].startswith(
        "'="
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "+1"),
        ("+49 (30) 1234-5", "+49 (30) 1234-5"),
        ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Acme", "Acme"),
        ("a=b", "a=b"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_safe_cell_neutralises_formula_starts(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


def test_the_list_shows_the_stored_values_it_filters_on(
    db: Database, leads: dict[str, int]
) -> None:
    with db.read() as session:
        shown = page(session, LeadFilter(stage=("decision",), grade=("A",))).leads
        stored = session.scalars(select(Lead).where(Lead.id == leads["ada"])).one()
    assert [(lead.journey_stage, lead.grade, lead.fit_score) for lead in shown] == [
        (stored.journey_stage, stored.grade, stored.fit_score)
    ]
