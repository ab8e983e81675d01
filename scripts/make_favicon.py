"""Build the site icon: static/favicon.svg (linked from every page) and static/favicon.ico
(for browsers and tools that ask for /favicon.ico).

Usage (from the repository root):

    .venv/bin/pip install pillow        # a build-time tool only, not a runtime dependency
    .venv/bin/python scripts/make_favicon.py

The mark is the header's brand mark (``.brand::before`` in static/css/site.css): three books
on a shelf, white and lavender on the accent colour, on a 28-unit square with rounded corners.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = "#3f36c0"
LAVENDER = "#c9c5fb"
WHITE = "#ffffff"
SIZE = 28
RADIUS = 7
# (x, y, width, height, colour) in the 28-unit square, as site.css draws them (1 rem = 16 units)
SHAPES = (
    (5.6, 6.4, 3.52, 12.8, WHITE),
    (11.52, 4.8, 3.52, 14.4, WHITE),
    (17.6, 8.0, 3.52, 11.2, LAVENDER),
    (4.48, 20.32, 19.2, 2.24, WHITE),
)
STATIC = Path(__file__).resolve().parent.parent / "static"


def svg() -> str:
    shapes = "".join(
        f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{colour}"/>'
        for x, y, w, h, colour in SHAPES
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">'
        f'<rect width="{SIZE}" height="{SIZE}" rx="{RADIUS}" fill="{ACCENT}"/>{shapes}</svg>\n'
    )


def bitmap(pixels: int) -> Image.Image:
    """The mark at ``pixels`` square, drawn four times larger and scaled down (smooth edges)."""
    scale = pixels * 4 / SIZE
    image = Image.new("RGBA", (pixels * 4, pixels * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, pixels * 4 - 1, pixels * 4 - 1), RADIUS * scale, fill=ACCENT)
    for x, y, w, h, colour in SHAPES:
        draw.rectangle((x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1), colour)
    return image.resize((pixels, pixels), Image.Resampling.LANCZOS)


def main() -> None:
    (STATIC / "favicon.svg").write_text(svg(), encoding="utf-8")
    bitmap(48).save(STATIC / "favicon.ico", format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
