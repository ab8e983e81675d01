"""Build the PDF attachments of the demo library (content/demo_library/*.pdf).

Usage (from the repository root):

    .venv/bin/pip install fpdf2 pypdf      # build-time tools only, not runtime dependencies
    .venv/bin/python scripts/make_demo_pdfs.py           # (re)write every PDF
    .venv/bin/python scripts/make_demo_pdfs.py --check   # verify the PDFs with pypdf

Each text in content/demo_library/_pdf_sources/NAME.txt becomes content/demo_library/NAME.pdf.
Title, kind and language come from the Markdown asset whose ``file:`` names NAME.pdf, so the
cover always matches the library card. The importer only reads ``*.md`` files and skips folders
starting with "_", so the sources are never imported as assets.

Distinctive words: every PDF contains a phrase that is NOT in its Markdown file, and a search
word from it that occurs in no Markdown file and in no other PDF, so a search for that word
finds exactly one asset, and only through its indexed PDF text:

    PDF                                       phrase                    search word
    account-based-nurturing-playbook.pdf      Buyer Orbit Map           orbit
    bant-checkliste.pdf                       BANT-P-Ampel              ampel
    crm-integration-patterns.pdf              Golden-Record Handshake   handshake
    datenschutz-sicherheit-datenblatt.pdf     Einwilligungs-Tresor      tresor
    hallberg-antriebstechnik-case-study.pdf   Werkbank-Score            werkbank
    lead-nurturing-leitfaden-mittelstand.pdf  Nurturing-Kompass         kompass
    lead-scoring-buyers-guide.pdf             FUNNEL-FIT matrix         matrix
    marketing-automation-business-case.pdf    Pipeline-Lift Formula     lift
    marketing-automation-rfp-checklist.pdf    Vendor Stress Test        stress
    pipewise-crm-connectors-datasheet.pdf     SyncGuard                 syncguard
    pipewise-lead-scoring-datasheet.pdf       ScoreLens                 scorelens
    pipewise-onboarding-checklist.pdf         Launchpad Week            launchpad
    self-nurturing-content-library.pdf        Shelf-Pace Principle      shelf
    state-of-b2b-lead-nurturing-2026.pdf      Touchpoint Ladder         ladder
    travanto-logistics-abm-case-study.pdf     Kronjuwelen accounts      kronjuwelen

Notes:
- Core font Helvetica, so text must be latin-1: typographic quotes, dashes, the euro sign and a
  few symbols are replaced by safe equivalents (see REPLACEMENTS); German umlauts are fine.
  Any other character outside latin-1 stops the build with the file and character named.
- Deterministic: the creation date is fixed (CREATED) and fpdf2 derives the file id from the
  content, so re-running produces byte-identical files (checked with fpdf2 2.8.9; another fpdf2
  version may lay out text slightly differently and so change the bytes).
- fpdf2's inline markdown also reads ``--`` (strike-through) and ``__`` (underline): avoid both
  in source texts.
- Source format, one block per paragraph (blocks are separated by blank lines):
    first lines ``key: value`` up to a line ``===``: subtitle (cover), layout (``chapters``
    starts each ``#`` chapter on a new page, ``flow`` does not)
    ``# Chapter``  ``## Section``  ``- bullet``  ``1. numbered``  ``[ ] checkbox item``
    ``> callout``  ``| table | row |`` (first row is the heading)  anything else: a paragraph.
    ``**bold**`` works inside paragraphs, bullets and callouts.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "content" / "demo_library"
SOURCES = LIBRARY / "_pdf_sources"
CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
YEAR = "2026"
MAX_BYTES = 60_000

# PDF -> (phrase found only in the PDF, single search word unique to that PDF)
DISTINCTIVE = {
    "account-based-nurturing-playbook.pdf": ("Buyer Orbit Map", "orbit"),
    "bant-checkliste.pdf": ("BANT-P-Ampel", "ampel"),
    "crm-integration-patterns.pdf": ("Golden-Record Handshake", "handshake"),
    "datenschutz-sicherheit-datenblatt.pdf": ("Einwilligungs-Tresor", "tresor"),
    "hallberg-antriebstechnik-case-study.pdf": ("Werkbank-Score", "werkbank"),
    "lead-nurturing-leitfaden-mittelstand.pdf": ("Nurturing-Kompass", "kompass"),
    "lead-scoring-buyers-guide.pdf": ("FUNNEL-FIT matrix", "matrix"),
    "marketing-automation-business-case.pdf": ("Pipeline-Lift Formula", "lift"),
    "marketing-automation-rfp-checklist.pdf": ("Vendor Stress Test", "stress"),
    "pipewise-crm-connectors-datasheet.pdf": ("SyncGuard", "syncguard"),
    "pipewise-lead-scoring-datasheet.pdf": ("ScoreLens", "scorelens"),
    "pipewise-onboarding-checklist.pdf": ("Launchpad Week", "launchpad"),
    "self-nurturing-content-library.pdf": ("Shelf-Pace Principle", "shelf"),
    "state-of-b2b-lead-nurturing-2026.pdf": ("Touchpoint Ladder", "ladder"),
    "travanto-logistics-abm-case-study.pdf": ("Kronjuwelen accounts", "kronjuwelen"),
}

KIND_LABELS = {
    "en": {
        "whitepaper": "Whitepaper",
        "ebook": "E-Book",
        "checklist": "Checklist",
        "case_study": "Case Study",
        "datasheet": "Datasheet",
    },
    "de": {
        "whitepaper": "Whitepaper",
        "ebook": "E-Book",
        "checklist": "Checkliste",
        "case_study": "Fallstudie",
        "datasheet": "Datenblatt",
    },
}
PAGE_WORD = {"en": "Page", "de": "Seite"}
OF_WORD = {"en": "of", "de": "von"}

REPLACEMENTS = {
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # German low double quotation mark
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u2013": "-",  # en dash
    "\u2014": " - ",  # em dash
    "\u2212": "-",  # minus sign
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u2192": "->",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2022": "-",
    "\u00a0": " ",
    "\u202f": " ",
}

BRAND = (15, 92, 110)  # Pipewise teal
ACCENT = (242, 153, 74)  # warm orange
INK = (33, 37, 41)
MUTED = (108, 117, 125)
TINT = (232, 242, 244)


def latin1(text: str, where: str = "") -> str:
    """Text the core fonts can show; raises on characters without a safe replacement."""
    for char, replacement in REPLACEMENTS.items():
        text = text.replace(char, replacement)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise SystemExit(f"{where}: character {bad!r} (U+{ord(bad):04X}) is not latin-1") from exc
    return text


@dataclass
class Source:
    pdf_name: str
    title: str
    kind: str
    language: str
    subtitle: str = ""
    layout: str = "chapters"
    blocks: list[str] = field(default_factory=list)


def markdown_assets() -> dict[str, dict[str, object]]:
    """Front matter of every Markdown asset that has a file, keyed by file name."""
    found: dict[str, dict[str, object]] = {}
    for path in sorted(LIBRARY.glob("*.md")):
        head = path.read_text(encoding="utf-8").split("\n---", 1)[0][3:]
        meta = yaml.safe_load(head) or {}
        if meta.get("file"):
            found[str(meta["file"])] = meta
    return found


def read_source(path: Path, meta: dict[str, object]) -> Source:
    text = latin1(path.read_text(encoding="utf-8"), str(path))
    header, _, body = text.partition("\n===\n")
    source = Source(
        pdf_name=path.stem + ".pdf",
        title=latin1(str(meta["title"]), str(path)),
        kind=str(meta["kind"]),
        language=str(meta.get("language", "en")),
    )
    for line in header.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "subtitle":
            source.subtitle = value.strip()
        elif key.strip() == "layout":
            source.layout = value.strip()
    source.blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", body) if b.strip()]
    return source


def build(source: Source) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    class Document(FPDF):
        def header(self) -> None:
            if self.page_no() == 1:
                return
            self.set_font("Helvetica", "B", 9)
            self.set_text_color(*BRAND)
            self.set_xy(self.l_margin, 10)
            self.cell(40, 5, "Pipewise")
            self.set_font("Helvetica", "", 8)
            self.set_text_color(*MUTED)
            label = KIND_LABELS[source.language][source.kind]
            self.cell(0, 5, f"{label} {YEAR}", align="R")
            self.set_draw_color(*TINT)
            self.line(self.l_margin, 16, self.w - self.r_margin, 16)
            self.set_y(24)

        def footer(self) -> None:
            if self.page_no() == 1:
                return
            self.set_y(-14)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(*MUTED)
            short = source.title if len(source.title) <= 80 else source.title[:77] + "..."
            self.cell(0, 5, short, new_x=XPos.LMARGIN, new_y=YPos.TOP)
            page = (
                f"{PAGE_WORD[source.language]} {self.page_no()} {OF_WORD[source.language]} {{nb}}"
            )
            self.cell(0, 5, page, align="R")

    pdf = Document(format="A4")
    pdf.set_creation_date(CREATED)
    pdf.set_title(source.title)
    pdf.set_author("Pipewise")
    pdf.set_subject(KIND_LABELS[source.language][source.kind])
    pdf.set_creator("scripts/make_demo_pdfs.py")
    pdf.set_lang("de-DE" if source.language == "de" else "en-US")
    pdf.set_margins(22, 24, 22)
    pdf.set_auto_page_break(True, margin=20)
    cover(pdf, source)
    pdf.add_page()
    Renderer(pdf, source).render()
    return bytes(pdf.output())


def cover(pdf: object, source: Source) -> None:
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    pdf.add_page()
    pdf.set_fill_color(*BRAND)
    pdf.rect(0, 0, pdf.w, 118, style="F")
    pdf.set_fill_color(*ACCENT)
    pdf.rect(22, 30, 14, 3, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Helvetica", "B", 20)
    pdf.set_xy(22, 16)
    pdf.cell(0, 10, "Pipewise")
    label = KIND_LABELS[source.language][source.kind].upper()
    pdf.set_font("Helvetica", "B", 11)
    pdf.set_xy(22, 48)
    pdf.cell(0, 6, f"{label}  |  {YEAR}")
    pdf.set_xy(22, 58)
    pdf.set_font("Helvetica", "B", 24)
    pdf.multi_cell(pdf.w - 44, 11, source.title, align="L")
    pdf.set_text_color(*INK)
    pdf.set_xy(22, 130)
    pdf.set_font("Helvetica", "", 13)
    if source.subtitle:
        pdf.multi_cell(pdf.w - 44, 7, source.subtitle, align="L")
    pdf.set_xy(22, pdf.h - 40)
    pdf.set_draw_color(*BRAND)
    pdf.line(22, pdf.h - 44, pdf.w - 22, pdf.h - 44)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_text_color(*BRAND)
    pdf.cell(0, 5, "Pipewise GmbH", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_text_color(*MUTED)
    tagline = {
        "en": "Marketing automation and lead scoring for B2B teams",
        "de": "Marketing-Automation und Lead-Scoring für B2B-Teams",
    }[source.language]
    pdf.cell(0, 5, tagline, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"(c) {YEAR} Pipewise GmbH", new_x="LMARGIN", new_y="NEXT")


class Renderer:
    """Lays out the blocks of one source on the pages after the cover."""

    def __init__(self, pdf: object, source: Source) -> None:
        from fpdf import FPDF

        assert isinstance(pdf, FPDF)
        self.pdf = pdf
        self.source = source
        self.width = pdf.w - pdf.l_margin - pdf.r_margin
        self.chapters = 0

    def render(self) -> None:
        for block in self.source.blocks:
            first = block.splitlines()[0]
            if first.startswith("# "):
                self.chapter(first[2:])
            elif first.startswith("## "):
                self.section(first[3:])
            elif first.startswith("> "):
                self.callout(" ".join(line[2:] for line in block.splitlines()))
            elif first.startswith("|"):
                self.table(block.splitlines())
            elif first.startswith(("- ", "[ ] ")) or re.match(r"\d+\. ", first):
                self.items(block.splitlines())
            else:
                self.paragraph(" ".join(block.split()))

    def text(self, size: float, style: str = "", color: tuple[int, int, int] = INK) -> None:
        self.pdf.set_font("Helvetica", style, size)
        self.pdf.set_text_color(*color)

    def chapter(self, title: str) -> None:
        pdf = self.pdf
        if self.chapters and self.source.layout == "chapters":
            pdf.add_page()
        elif self.chapters:
            pdf.ln(4)
        if pdf.get_y() > pdf.h - 70:
            pdf.add_page()
        self.chapters += 1
        pdf.set_fill_color(*ACCENT)
        pdf.rect(pdf.l_margin, pdf.get_y() + 1, 10, 2, style="F")
        pdf.ln(5)
        self.text(17, "B", BRAND)
        pdf.multi_cell(self.width, 8, title, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def section(self, title: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 50:
            pdf.add_page()
        pdf.ln(2)
        self.text(12.5, "B", INK)
        pdf.multi_cell(self.width, 6.5, title, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)

    def paragraph(self, text: str) -> None:
        self.text(10.5)
        self.pdf.multi_cell(
            self.width, 5.4, text, align="L", markdown=True, new_x="LMARGIN", new_y="NEXT"
        )
        self.pdf.ln(2.6)

    def items(self, lines: list[str]) -> None:
        pdf = self.pdf
        for line in lines:
            numbered = re.match(r"(\d+)\. (.*)", line)
            checkbox = line.startswith("[ ] ")
            text = numbered.group(2) if numbered else line[4:] if checkbox else line[2:]
            if pdf.get_y() > pdf.h - 32:
                pdf.add_page()
            y = pdf.get_y()
            if numbered:
                self.text(10.5, "B", BRAND)
                pdf.set_xy(pdf.l_margin + 1, y)
                pdf.cell(6, 5.4, f"{numbered.group(1)}.")
            elif checkbox:
                pdf.set_draw_color(*BRAND)
                pdf.set_line_width(0.35)
                pdf.rect(pdf.l_margin + 1, y + 1.1, 3.4, 3.4)
            else:
                pdf.set_fill_color(*BRAND)
                pdf.rect(pdf.l_margin + 2, y + 2.1, 1.5, 1.5, style="F")
            self.text(10.5)
            pdf.set_xy(pdf.l_margin + 7, y)
            pdf.multi_cell(
                self.width - 7, 5.4, text, align="L", markdown=True, new_x="LMARGIN", new_y="NEXT"
            )
            pdf.ln(1.2)
        pdf.ln(1.6)

    def callout(self, text: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.h - 45:
            pdf.add_page()
        pdf.ln(1)
        self.text(10.5, "I", INK)
        pdf.set_fill_color(*TINT)
        top = pdf.get_y()
        pdf.multi_cell(
            self.width,
            5.6,
            text,
            align="L",
            fill=True,
            markdown=True,
            padding=(4, 5, 4, 7),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_fill_color(*BRAND)
        pdf.rect(pdf.l_margin, top, 1.6, pdf.get_y() - top, style="F")
        pdf.ln(4)

    def table(self, lines: list[str]) -> None:
        from fpdf.fonts import FontFace

        pdf = self.pdf
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
        if pdf.get_y() > pdf.h - 30 - 8 * len(rows):
            pdf.add_page()
        self.text(9.5)
        pdf.set_draw_color(190, 205, 210)
        pdf.set_line_width(0.2)
        heading = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=BRAND)
        widths = tuple(
            column_weight([row[i] for row in rows if i < len(row)]) for i in range(len(rows[0]))
        )
        pdf.set_fill_color(246, 249, 250)
        with pdf.table(
            width=self.width,
            col_widths=widths,
            text_align="LEFT",
            line_height=5,
            padding=1.8,
            headings_style=heading,
            cell_fill_color=(246, 249, 250),
            cell_fill_mode="ROWS",
        ) as table:
            for row in rows:
                cells = table.row()
                for value in row:
                    cells.cell(value)
        pdf.ln(4)


def column_weight(cells: list[str]) -> float:
    """Relative column width: room for the longest word, more for long texts (capped)."""
    longest_word = max((len(word) for cell in cells for word in cell.split()), default=4)
    longest_cell = max((len(cell) for cell in cells), default=4)
    return max(longest_word * 1.3 + 3, min(longest_cell, 42))


def generate() -> list[Path]:
    assets = markdown_assets()
    written = []
    sources = sorted(SOURCES.glob("*.txt"))
    missing = sorted(set(assets) - {p.stem + ".pdf" for p in sources})
    if missing:
        raise SystemExit(f"no source text in {SOURCES} for: {', '.join(missing)}")
    for path in sources:
        name = path.stem + ".pdf"
        if name not in assets:
            raise SystemExit(f"{path}: no Markdown asset has 'file: {name}'")
        data = build(read_source(path, assets[name]))
        target = LIBRARY / name
        target.write_bytes(data)
        written.append(target)
        print(f"{target.relative_to(ROOT)}  {len(data) // 1024} KB")
    return written


def check() -> int:
    """Every attached PDF opens, has 4+ pages, stays small and holds its distinctive words."""
    from pypdf import PdfReader

    assets = markdown_assets()
    markdown = " ".join(p.read_text(encoding="utf-8") for p in LIBRARY.glob("*.md"))
    md_words = set(re.findall(r"\w+", markdown.lower()))
    texts: dict[str, str] = {}
    problems = []
    for name in sorted(assets):
        path = LIBRARY / name
        if not path.is_file() or name not in DISTINCTIVE:
            problems.append(f"{name}: missing file or no entry in DISTINCTIVE")
            continue
        reader = PdfReader(path)
        text = " ".join(page.extract_text() or "" for page in reader.pages)
        texts[name] = re.sub(r"-\s+", "-", " ".join(text.split())).lower()
        size = path.stat().st_size
        phrase, word = DISTINCTIVE[name]
        print(f"{name:42} {len(reader.pages)} pages {size // 1024:3} KB  {phrase} ({word})")
        if len(reader.pages) < 4:
            problems.append(f"{name}: only {len(reader.pages)} pages")
        if size >= MAX_BYTES:
            problems.append(f"{name}: {size} bytes")
        if phrase.lower() not in texts[name] or phrase.lower() in markdown.lower():
            problems.append(f"{name}: {phrase!r} must be in the PDF text and in no Markdown file")
        if word in md_words:
            problems.append(f"{name}: search word {word!r} also occurs in a Markdown file")
    for name, (_, word) in DISTINCTIVE.items():
        holders = [n for n, t in texts.items() if word in re.findall(r"\w+", t)]
        if holders != [name]:
            problems.append(f"{name}: search word {word!r} found in {holders or 'no PDF'}")
    for problem in problems:
        print("PROBLEM", problem, file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of generating")
    args = parser.parse_args()
    if args.check:
        return check()
    generate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
