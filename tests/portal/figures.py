"""Figures read off console pages: a chart's values from its SVG picture and from its table
fallback (which must agree), and the content analytics table's row per asset."""

from __future__ import annotations

import base64
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

NONE = "\u2013"  # an en dash: no figure
FIGURES = ("views", "readers", "gate-views", "unlocks", "conversion", "downloads", "time",
           "completion")  # fmt: skip
"""The columns of the content analytics table, by class."""


def svg_values(image: str) -> list[float]:
    prefix = "data:image/svg+xml;base64,"
    assert image.startswith(prefix)
    svg = base64.b64decode(image[len(prefix) :]).decode()
    assert svg.lstrip().startswith("<svg")
    return [float(v) for v in re.findall(r'<desc class="value">([^<]*)</desc>', svg)]


def table_values(figure: LexborNode) -> list[float]:
    cells = [td.text(strip=True).replace(",", "") for td in figure.css("table tbody td")]
    return [float(cell) for cell in cells if cell != "n/a"]


def same_figures(figure: LexborNode) -> None:
    """The picture and the table fallback show the same numbers."""
    image = figure.css_first("img").attributes["src"]
    assert image is not None
    pictured = sorted(round(v, 1) for v in svg_values(image))
    assert pictured == sorted(table_values(figure))


def asset_rows(tree: LexborHTMLParser) -> dict[str, dict[str, str]]:
    """The content analytics table: each asset's figures by column, keyed by its slug."""
    return {
        row.attributes["data-asset"] or "": {
            name: row.css_first(f"td.{name}").text(strip=True) for name in FIGURES
        }
        for row in tree.css("table.asset-figures tbody tr")
    }
