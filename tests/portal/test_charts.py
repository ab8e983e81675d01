"""Console charts: counts get whole-number axis labels; the legend names every series in full."""

from __future__ import annotations

import base64

import pytest
from selectolax.lexbor import LexborHTMLParser

from portal import charts

LONG_TITLES = [
    "What Is Lead Nurturing? A Practical Definition for B2B Teams",
    "The Business Case for Marketing Automation: An ROI Model Your CFO Will Sign",
    "Pipewise Lead Scoring: Datasheet",
]


def svg_of(chart: charts.Chart) -> LexborHTMLParser:
    return LexborHTMLParser(base64.b64decode(chart.image.split(",", 1)[1]).decode())


def value_labels(chart: charts.Chart, horizontal: bool = False) -> list[str]:
    axis = svg_of(chart).css_first("g.axis.x" if horizontal else "g.axis.y")
    return [text.text() for text in axis.css("text")]


@pytest.mark.parametrize("top", [0, 1, 2, 3, 6, 17, 230, 4_812])
def test_counts_are_labelled_in_whole_numbers(top: int) -> None:
    for horizontal in (False, True):
        chart = charts.bars("Leads", ["a", "b"], {"Leads": [top, top // 3]}, horizontal=horizontal)
        labels = value_labels(chart, horizontal)
        assert labels
        assert all(label.replace(",", "").isdigit() for label in labels), labels
        assert int(labels[-1].replace(",", "")) >= top
        assert 2 <= len(labels) <= 11
    per_day = charts.lines("Per day", ["1 Dec", "2 Dec", "3 Dec"], {"New leads": [0, top, 1]})
    assert all(label.replace(",", "").isdigit() for label in value_labels(per_day)), top


def test_fractions_keep_their_decimals() -> None:
    chart = charts.bars("Median days", ["a", "b"], {"Days": [0.4, 1.5]})
    assert any("." in label for label in value_labels(chart))


def test_the_legend_names_every_series_in_full() -> None:
    series = {"Views": [6, 5, 2], "Unlocks": [1, 0, 0], "Downloads": [0, 1, 0]}
    chart = charts.bars("Top assets", LONG_TITLES, series, horizontal=True)
    legend = svg_of(chart).css_first("g.legends")
    shown = [text.text() for text in legend.css("text")]
    assert shown == list(series)
    left = float(legend.attributes["transform"].split("(")[1].split(",")[0])
    for text in legend.css("text"):
        # about 0.6 em per character at the legend's 12 px: the name ends inside the picture
        assert left + float(text.attributes["x"]) + 0.6 * 12 * len(text.text()) <= charts.WIDTH
