"""Console charts: server-side SVG drawn by pygal, each with a title and the same figures as a
table (for screen readers, copying, and browsers without images).

Titles, labels and headers come in the language of the caller's words (``portal.i18n``); the
table's figures and the count axis are written in that language's number format.

The SVG goes into an ``<img>`` as a data URI: the page's Content-Security-Policy
allows ``data:`` images, and SVG shown as an image runs no script.
"""

from __future__ import annotations

import base64
import itertools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

from portal import i18n

# pygal appends an old-style import hook (for its map plugins, unused here) to sys.meta_path;
# Python 3.11 then warns on every later failed import anywhere in the process. Take it out.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#7b8794",
    font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
    colors=("#2f5f8a", "#d9822b", "#3c8d5a", "#8a3c6d", "#6b7280"),
    title_font_size=16,
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
)
Number = int | float
DOTS_UP_TO = 100
WIDTH = 720
MOST_TICKS = 8


@dataclass(frozen=True, slots=True)
class Chart:
    """A titled chart and its table fallback."""

    title: str
    image: str
    """A ``data:image/svg+xml;base64,…`` URI."""
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _cell(value: Number | None) -> str:
    if value is None:
        return i18n.gettext("n/a")
    if isinstance(value, float) and not value.is_integer():
        return i18n.format_number(value, 1)
    return i18n.format_number(int(value))


def _render(chart: pygal.graph.graph.Graph) -> str:
    svg = chart.render(is_unicode=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _chart(kind: type[pygal.graph.graph.Graph], title: str, height: int, **options: object) -> Any:
    return kind(
        title=title,
        style=STYLE,
        width=WIDTH,
        height=height,
        explicit_size=True,
        disable_xml_declaration=True,
        js=[],
        print_values=False,
        legend_at_bottom=True,
        # One legend entry per row, never shortened: side by side, pygal squeezes them under
        # the plot (narrow beside long bar labels) and cuts the names ("Unloc…").
        legend_at_bottom_columns=1,
        truncate_legend=-1,
        truncate_label=40,
        **options,
    )


def _whole_numbers(chart: Any, series: dict[str, Sequence[Number | None]]) -> None:
    """Counts get whole-number axis labels (pygal would print "2.8 leads" between 2 and 3)."""
    counts = [v for column in series.values() for v in column if isinstance(v, int)]
    if len(counts) == sum(v is not None for column in series.values() for v in column):
        chart.y_labels = [
            {"value": tick, "label": i18n.format_number(tick)}
            for tick in count_ticks(max(counts, default=0))
        ]


def count_ticks(top: int) -> list[int]:
    """0 to at least ``top`` in steps of 1, 2 or 5 times a power of ten, at most 8 steps."""
    step = next(step for step in _steps() if -(-top // step) <= MOST_TICKS)
    last = max(step, -(-top // step) * step)
    return list(range(0, last + 1, step))


def _steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, …"""
    for power in itertools.count():
        for mantissa in (1, 2, 5):
            yield mantissa * 10**power


def bars(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[Number | None]],
    *,
    horizontal: bool = False,
    label_header: str = "",
) -> Chart:
    """A bar chart of one or more series over the same labels."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    height = max(260, 28 * len(labels) + 120) if horizontal else 320
    chart = _chart(kind, title, height, show_legend=len(series) > 1)
    if horizontal:
        # pygal draws horizontal bars bottom-up; reverse so the table and the picture agree.
        chart.x_labels = list(reversed(labels))
        for name, values in series.items():
            chart.add(name, list(reversed(values)))
    else:
        chart.x_labels = list(labels)
        for name, values in series.items():
            chart.add(name, list(values))
    _whole_numbers(chart, series)
    return Chart(title, _render(chart), (label_header, *series), _rows(labels, series))


def lines(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[Number | None]],
    *,
    label_header: str | None = None,
) -> Chart:
    """A line chart over time; only every few labels are printed on the axis (the table's first
    column is headed ``label_header``, "Day" in the current language unless given)."""
    label_header = i18n.gettext("Day") if label_header is None else label_header
    # Dots (with their values) up to ~3 months; over a year they cost more than all the rest.
    dots = len(labels) <= DOTS_UP_TO
    chart = _chart(pygal.Line, title, 320, show_legend=len(series) > 1, show_dots=dots)
    chart.x_labels = list(labels)
    chart.x_labels_major_every = max(1, len(labels) // 8)
    chart.show_minor_x_labels = False
    for name, values in series.items():
        chart.add(name, list(values))
    _whole_numbers(chart, series)
    return Chart(title, _render(chart), (label_header, *series), _rows(labels, series))


def _rows(
    labels: Sequence[str], series: dict[str, Sequence[Number | None]]
) -> tuple[tuple[str, ...], ...]:
    columns = list(series.values())
    return tuple(
        (label, *(_cell(column[index]) for column in columns)) for index, label in enumerate(labels)
    )
