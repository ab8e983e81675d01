"""Mail in the journey model: a click on an asset link is a touch on that asset, an open is no
evidence at all, and a model file cannot make opens count."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracking.rules.config import ModelError, default_model
from tracking.rules.config_file import load_model
from tracking.rules.journey import JourneyState, Touch, apply, infer_stage

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODEL = default_model()
SCORING = MODEL.scoring


def test_a_click_from_mail_to_a_decision_asset_is_evidence_for_that_stage() -> None:
    clicks = [Touch("email_click", NOW, asset_id=7, asset_stage="decision")] * 6
    state = apply(JourneyState(), clicks, SCORING)
    assert state.engagement.value == 12.0
    assert state.assets[7].evidence.value == 12.0
    assert infer_stage(state, {}, NOW, MODEL).stage == "decision"


def test_a_click_to_another_page_adds_engagement_but_no_stage_evidence() -> None:
    state = apply(JourneyState(), [Touch("email_click", NOW)], SCORING)
    assert state.engagement.value == 2.0
    assert state.assets == {}
    assert state.counts == {"email_click": 1}


def test_opens_are_no_evidence_and_are_not_counted() -> None:
    before = apply(
        JourneyState(), [Touch("asset_view", NOW, asset_id=7, asset_stage="decision")], SCORING
    )
    after = apply(before, [Touch("email_open", NOW)] * 50, SCORING)
    assert after == before


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "model.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    load_model(path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[scoring.event_points]\nemail_open = 1\n", "scoring.event_points.email_open"),
        (
            '[[scoring.milestones]]\nname = "reader"\nlabel = "Reads our mail"\n'
            'event = "email_open"\ncount = 3\n',
            "scoring.milestones[0].event",
        ),
    ],
)
def test_a_model_file_cannot_score_opens(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ModelError) as refused:
        _load(tmp_path, text)
    assert f"{key}: email_open is never scored" in str(refused.value)


def test_a_model_file_may_weigh_clicks_from_mail(tmp_path: Path) -> None:
    path = tmp_path / "model.toml"
    path.write_text("[scoring.event_points]\nemail_click = 5\n", encoding="utf-8")
    assert load_model(path).scoring.event_points["email_click"] == 5.0
