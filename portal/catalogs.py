"""``make messages``: extract the marked texts, update the catalogs, compile them.

``python -m portal.catalogs`` (all three), ``… extract``, ``… compile`` (what ``make install``
runs, so a fresh clone ships compiled catalogs). See ``portal.i18n`` for how texts are marked.

- **extract** reads every marked text of ``portal``, ``content``, ``tracking``, ``nurture`` and
  ``templates`` (``babel.cfg`` says how) into ``portal/locale/messages.pot``;
- **update** adds each new text, untranslated, to ``messages.po`` of every language (unless
  another ``.po`` file of the language has it), and drops from every file the texts no code
  marks any more;
- **compile** writes each language's ``.po`` files, merged, to ``messages.mo``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from portal import i18n

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("portal", "content", "tracking", "nurture", "templates")
WIDTH = 100


def extract(root: Path = ROOT) -> Catalog:
    """Every marked text of the sources, with the files that mark it."""
    with (root / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    template = Catalog(project="Leadshelf", domain=i18n.DOMAIN, fuzzy=False)
    for source in SOURCES:
        for filename, _lineno, message, comments, context in extract_from_dir(
            root / source, method_map, options_map, strip_comment_tags=True
        ):
            if message and (message if isinstance(message, str) else message[0]):
                template.add(
                    message,
                    locations=[(f"{source}/{filename}", 0)],
                    auto_comments=comments,
                    context=context,
                )
    return template


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as out:
        write_po(out, catalog, width=WIDTH, sort_by_file=True, include_lineno=False)


def update(template: Catalog) -> dict[str, int]:
    """Bring every language's ``.po`` files in line with ``template``; returns, per language,
    how many texts still want a translation."""
    wanting: dict[str, int] = {}
    for lang in i18n.LANGUAGES[1:]:
        files = i18n.catalog_files(lang)
        main = i18n.catalog_folder(lang) / f"{i18n.DOMAIN}.po"
        known: set[tuple[object, str | None]] = set()
        for path in files:
            with path.open("rb") as source:
                catalog = read_po(source, locale=lang, domain=i18n.DOMAIN)
            for message in list(catalog):
                if message.id and template.get(message.id, message.context) is None:
                    catalog.delete(message.id, message.context)
                elif message.id:
                    known.add((_key(message.id), message.context))
                    marked = template.get(message.id, message.context)
                    message.locations = marked.locations if marked else []
            if path != main:
                _write(path, catalog)
        if main.exists():
            with main.open("rb") as source:
                catalog = read_po(source, locale=lang, domain=i18n.DOMAIN)
        else:
            main.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, domain=i18n.DOMAIN, project="Leadshelf")
        for message in list(catalog):
            if message.id and template.get(message.id, message.context) is None:
                catalog.delete(message.id, message.context)
        for message in template:
            if message.id and (_key(message.id), message.context) not in known:
                catalog.add(message.id, locations=message.locations, context=message.context)
        _write(main, catalog)
        merged = i18n.read_catalog(lang)
        wanting[lang] = len(
            [
                message
                for message in merged
                if message.id and (message.fuzzy or not _complete(message.string or ""))
            ]
        )
    return wanting


def _key(msgid: object) -> object:
    return msgid if isinstance(msgid, str) else tuple(msgid)  # type: ignore[arg-type]


def _complete(string: str | tuple[str, ...] | list[str]) -> bool:
    return bool(string) if isinstance(string, str) else all(string)


def compile_catalogs() -> list[Path]:
    """Each language's ``.po`` files, merged, compiled to ``messages.mo``."""
    written = []
    for lang in i18n.LANGUAGES[1:]:
        if not i18n.catalog_files(lang):
            continue
        target = i18n.catalog_folder(lang) / f"{i18n.DOMAIN}.mo"
        with target.open("wb") as out:
            write_mo(out, i18n.read_catalog(lang), use_fuzzy=False)
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    steps = argv or ["extract", "update", "compile"]
    template: Catalog | None = None
    for step in steps:
        if step in ("extract", "update"):
            template = template or extract()
        if step == "extract":
            assert template is not None
            pot = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
            _write(pot, template)
            print(f"{pot.relative_to(ROOT)}: {len(template)} texts")
        elif step == "update":
            assert template is not None
            for lang, count in update(template).items():
                print(f"{lang}: {count} text(s) to translate")
        elif step == "compile":
            for path in compile_catalogs():
                print(f"compiled {path.relative_to(ROOT)}")
        else:
            print(f"unknown step {step!r}: extract, update or compile", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
