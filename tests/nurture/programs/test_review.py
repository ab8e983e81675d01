"""The weekly review's figures: per program and step, the week reviewed beside the week before,
counted from the scheduler's step log, the mails' fates and the lead change log; the A/B
report's verdicts; the CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import date, timedelta

import pytest

from content.orm import utcnow
from nurture.programs import review as reviewing
from nurture.programs.models import AbDecision
from nurture.programs.review import Figures, Review, StepLine
from portal.db import Database
from tests.nurture.programs.review_scenario import (
    PROGRAM,
    STAGES,
    Scenario,
    make_program,
    reviewed_week,
    split_with_clicks,
    two_weeks,
)


def review_of(db: Database, scenario: Scenario, *, now_offset: timedelta | None = None) -> Review:
    now = utcnow() if now_offset is None else scenario.week + now_offset
    with db.read() as session:
        return reviewing.review(
            session, scenario.program_id, now=now, stages=STAGES, week=scenario.week.date()
        )


def counts(figures: Figures) -> dict[str, int | None]:
    return asdict(figures)


def step(review: Review, step_id: str) -> StepLine:
    return next(line for line in review.steps if line.id == step_id)


def test_the_program_figures_of_the_week_and_the_week_before(db: Database) -> None:
    scenario = two_weeks(db)
    review = review_of(db, scenario)
    assert review.weeks[-1] == scenario.week.date()
    assert len(review.weeks) == 12
    assert not review.current_week
    assert counts(review.totals[-1]) == {
        "entered": 3,
        "active": 3,  # Ann and Bob from the week before, and Eve; Cy left, Dee converted
        "sent": 3,  # Cy's and Dee's first mails, Eve's second (her first was refused)
        "delivered": 3,
        "bounced": 1,
        "opens": 2,  # Cy opened, Dee's click shows she opened too
        "clicks": 1,
        "unsubscribes": 1,  # Cy, the day after her mail (Ann's came 8 days after hers)
        "conversions": 1,  # Dee reached decision
        "stage_moves": 1,  # Dee (Fay is in no program)
    }
    assert review.goals[-1] == {"stage decision": 1}
    assert counts(review.totals[-2]) == {
        "entered": 2,
        "active": 2,
        "sent": 4,
        "delivered": 3,  # Bob's first mail bounced after it was accepted
        "bounced": 1,
        "opens": 1,
        "clicks": 0,
        "unsubscribes": 0,
        "conversions": 0,
        "stage_moves": 1,  # Ann moved on after her second mail; Bob moved back (not counted)
    }
    assert all(counts(week) == counts(Figures(active=0)) for week in review.totals[:-2])


def test_each_step_is_labelled_and_counted(db: Database) -> None:
    scenario = two_weeks(db)
    review = review_of(db, scenario)
    assert [(line.id, line.label) for line in review.steps] == [
        ("hello", 'Mail: Hello, "friend" (+1 variant)'),
        ("pause", "Wait 3 days"),
        ("second", "Mail: Second mail"),
        ("rest", "Wait 30 days"),
    ]
    hello, second = step(review, "hello"), step(review, "second")
    assert counts(hello.weeks[-1]) == {
        "entered": 3,
        "active": None,  # per step only known for the running week
        "sent": 2,
        "delivered": 2,
        "bounced": 1,
        "opens": 2,
        "clicks": 1,
        "unsubscribes": 1,
        "conversions": 1,
        "stage_moves": 1,
    }
    assert (hello.weeks[-2].sent, hello.weeks[-2].delivered, hello.weeks[-2].opens) == (2, 1, 1)
    assert (second.weeks[-1].entered, second.weeks[-1].sent) == (1, 1)  # Eve only
    assert (second.weeks[-2].sent, second.weeks[-2].stage_moves) == (2, 1)
    assert step(review, "pause").weeks[-1].entered == 3
    # The program's mail figures are its steps' summed.
    for name in reviewing.SUMMED:
        total = sum(line.weeks[-1].value(name) or 0 for line in review.steps)
        assert review.totals[-1].value(name) == total, name


def test_in_the_running_week_each_step_says_who_is_in_it_now(db: Database) -> None:
    scenario = two_weeks(db)
    review = review_of(db, scenario, now_offset=timedelta(days=4, hours=12))
    assert review.current_week
    assert {line.id: line.weeks[-1].active for line in review.steps} == {
        "hello": 0,
        "pause": 0,
        "second": 0,
        "rest": 3,
    }
    assert review.totals[-1].active == 3


def test_an_edited_program_keeps_the_steps_its_earlier_version_took(db: Database) -> None:
    scenario = two_weeks(db)
    edited = {**PROGRAM, "steps": [{"id": "only", "wait": {"days": 1}}]}
    make_program(db, edited, at=scenario.week + timedelta(days=5))
    review = review_of(db, scenario)
    assert review.version == 2
    assert [(line.id, line.current) for line in review.steps] == [
        ("only", True),
        ("hello", False),
        ("pause", False),
        ("second", False),
        ("rest", False),
    ]
    assert step(review, "hello").weeks[-1].sent == 2


def test_an_unknown_program_is_a_lookup_error(db: Database) -> None:
    with db.read() as session, pytest.raises(LookupError):
        reviewing.review(session, 404, now=utcnow(), stages=STAGES)


# ---- weeks ---------------------------------------------------------------------------------


def test_weeks_are_iso_weeks_from_monday_utc() -> None:
    monday = date(2026, 11, 23)
    assert reviewing.week_name(monday) == "2026-W48"
    now = reviewed_week() + timedelta(weeks=3)
    assert reviewing.parse_week("2026-w48", now) == monday
    assert reviewing.parse_week(reviewing.week_name(now.date()), now) == now.date()
    for wrong in ("48", "2026-48", "2026-W54", "twenty", ""):
        with pytest.raises(ValueError, match="write it as 2026-W48"):
            reviewing.parse_week(wrong, now)
    with pytest.raises(ValueError, match="has not begun"):
        reviewing.parse_week(reviewing.week_name(now.date() + timedelta(days=7)), now)


# ---- A/B -----------------------------------------------------------------------------------


def split_test(db: Database, clicks: tuple[int, int]) -> tuple[Review, list[list[int]]]:
    program_id, by_variant = split_with_clicks(db, clicks)
    with db.read() as session:
        review = reviewing.review(session, program_id, now=utcnow(), stages=STAGES)
    return review, by_variant


def test_a_significant_difference_names_the_winner_with_its_test(db: Database) -> None:
    review, by_variant = split_test(db, (0, 25))
    (test,) = review.ab
    assert test.step_id == "hello"
    assert test.decided_at is None
    assert [v.subject for v in test.variants] == ['Hello, "friend"', "Your reading list"]
    assert [v.sends for v in test.variants] == [len(mails) for mails in by_variant]
    assert [v.clicks for v in test.variants] == [0, 25]
    assert test.winner == "B"
    assert [v.winner for v in test.variants] == [False, True]
    assert test.explanation.startswith("B wins on clicks: two-proportion z-test, p = ")
    assert "95% confidence" in test.explanation
    low, high = test.variants[1].interval.low, test.variants[1].interval.high
    rate = test.variants[1].click_rate
    assert rate is not None
    assert low < rate < high


def test_no_winner_while_the_difference_is_not_significant(db: Database) -> None:
    review, _ = split_test(db, (6, 7))
    (test,) = review.ab
    assert test.winner is None
    assert test.explanation.startswith("No winner yet: the difference in clicks is not signif")


def test_a_stored_verdict_is_shown_as_it_was_reached(db: Database) -> None:
    week = reviewed_week()
    program_id = make_program(db, at=week)
    with db.write() as session:
        session.add(
            AbDecision(
                program_id=program_id, version=1, step_id="hello", decided_at=week,
                winner=0, metric="opens", p_value=0.001,
                explanation="A wins on opens: two-proportion z-test, p = 0.0010 < 0.0500",
            )
        )  # fmt: skip
    with db.read() as session:
        (test,) = reviewing.review(session, program_id, now=utcnow(), stages=STAGES).ab
    assert test.winner == "A"
    assert test.decided_at == week
    assert test.explanation == "A wins on opens: two-proportion z-test, p = 0.0010 < 0.0500"


# ---- CSV -----------------------------------------------------------------------------------


def test_the_csv_has_a_row_per_week_and_step(db: Database) -> None:
    scenario = two_weeks(db)
    text = reviewing.csv_text(review_of(db, scenario))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 12 * 5  # the program and its four steps, each week
    week = reviewing.week_name(scenario.week.date())
    hello = next(row for row in rows if row["week"] == week and row["step"] == "hello")
    assert hello["step_label"] == 'Mail: Hello, "friend" (+1 variant)'  # quoted and escaped
    assert hello["week_start"] == scenario.week.date().isoformat()
    assert (hello["sent"], hello["opens"], hello["unsubscribes"], hello["active"]) == (
        "2",
        "2",
        "1",
        "",
    )
    program = next(row for row in rows if row["week"] == week and row["step"] == "")
    assert program["step_label"] == reviewing.PROGRAM_ROW
    assert (program["entered"], program["active"], program["conversions"]) == ("3", "3", "1")


def test_csv_cells_never_run_as_formulas() -> None:
    line = StepLine("x", "send", '=HYPERLINK("http://evil")', True, (Figures(),))
    review = Review(1, "P", "active", 1, (date(2026, 11, 23),), (Figures(),), ({},), (line,),
                    False, ())  # fmt: skip
    rows = reviewing.csv_rows(review)
    assert rows[-1][3] == '\'=HYPERLINK("http://evil")'
