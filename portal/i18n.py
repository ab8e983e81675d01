"""German and English: which language a request speaks, its words and its formats.

**Words.** Code and templates are written in English and mark what a reader sees: in Python
``_("Saved.")`` or ``_("%(n)s people added", n=3)`` at the moment the text is shown, and
``N_("…")`` on module constants shown later (it marks the text for extraction and returns it
unchanged; the code that shows it calls ``_(constant)``); in templates ``{{ _("Library") }}``
or ``{% trans %}…{% endtrans %}`` (Jinja's i18n extension, whitespace trimmed). The English
text is the message id; the German lives in the gettext catalog
``portal/locale/de/LC_MESSAGES/messages.po``. ``make messages`` extracts every marked text
(Babel, ``babel.cfg``) into ``portal/locale/messages.pot``, adds new ones to the catalog and
compiles it to ``messages.mo``; ``make install`` compiles too, and a catalog without a current
``.mo`` (a fresh clone, an edited ``.po``) is compiled in memory when first read, so a fresh
clone works either way. ``tests/portal/test_i18n_catalog.py`` fails when a marked text has no
German or a template holds text that is not marked.

**The language of a request** is set once, by ``LanguageMiddleware``, in a context variable
that every template and ``_()`` read: for the public portal an explicit choice (``?lang=de``,
kept in the ``leadshelf_lang`` cookie), else the language of the asset opened (the asset page
calls ``prefer``), else ``Accept-Language``, else ``LEADSHELF_DEFAULT_LANGUAGE``; the console
uses the staff member's own language, mail the lead's (``using``).

**Formats** come from Babel's CLDR data, never from hand-written patterns: ``format_date``,
``format_datetime`` (in a time zone, with its name), ``format_number``, ``format_money``.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from content.words import N_ as N_  # re-exported: portal code marks texts with i18n.N_
from content.words import Said

LANGUAGES = ("en", "de")
"""The languages Leadshelf speaks; the first is the one its texts are written in."""

LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
"""Each language in its own words (the switch shows these)."""

LOCALES = {"en": "en_GB", "de": "de_DE"}
"""The CLDR locale behind each language's formats (British English: "5 Dec 2026")."""

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"

LANGUAGE_COOKIE = "leadshelf_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass(slots=True)
class _Choice:
    """The language of one request (or task). Mutable and shared by the contexts the request
    runs in: a handler in a worker thread (a copy of the context) calling ``prefer`` changes
    the language its template is then rendered in, on the event loop."""

    lang: str
    explicit: bool = False


_choice: ContextVar[_Choice | None] = ContextVar("leadshelf_language", default=None)


def language(code: str | None, default: str = LANGUAGES[0]) -> str:
    """One of ``LANGUAGES`` for a language code (``de-AT`` and ``de_CH`` read German),
    else ``default``'s, else English."""
    for candidate in (code, default):
        base = (candidate or "").split("-")[0].split("_")[0].strip().lower()
        if base in LANGUAGES:
            return base
    return LANGUAGES[0]


def from_accept_language(header: str) -> str | None:
    """The language a browser's ``Accept-Language`` prefers among ours (highest q first,
    then the order given), or None when it names none of them."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        base = tag.strip().split("-")[0].lower()
        if base not in LANGUAGES or not 0 < quality <= 1:
            continue
        if best is None or (-quality, position) < (-best[0], best[1]):
            best = (quality, position, base)
    return best[2] if best else None


# --- the current language ----------------------------------------------------------------------


def current() -> str:
    """The language of the request, mail or command being handled now."""
    found = _choice.get()
    return found.lang if found is not None else LANGUAGES[0]


def is_explicit() -> bool:
    """Whether the reader chose the language (the switch): nothing else overrides it then."""
    found = _choice.get()
    return found is not None and found.explicit


def choose(lang: str, *, explicit: bool = False) -> None:
    """Make ``lang`` the language of this request (or task) from here on."""
    _choice.set(_Choice(language(lang), explicit))


def prefer(lang: str | None) -> None:
    """Speak ``lang`` (an asset's, a staff member's) unless the reader chose one."""
    found = _choice.get()
    if not lang:
        return
    if found is None:
        _choice.set(_Choice(language(lang)))
    elif not found.explicit:
        found.lang = language(lang, found.lang)


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` inside the block (a mail to a lead, a CLI command); restores after."""
    chosen = language(lang)
    token = _choice.set(_Choice(chosen, explicit=True))
    try:
        yield chosen
    finally:
        _choice.reset(token)


# --- words ------------------------------------------------------------------------------------


def catalog_folder(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES"


def catalog_files(lang: str) -> list[Path]:
    """The ``.po`` files of ``lang``: ``messages.po``, and any other ``*.po`` beside it (a
    catalog may be split by area; every file's entries count, the first file's win)."""
    folder = catalog_folder(lang)
    main = folder / f"{DOMAIN}.po"
    others = sorted(path for path in folder.glob("*.po") if path != main)
    return [main, *others] if main.exists() else others


def read_catalog(lang: str) -> Catalog:
    """Every ``.po`` file of ``lang`` read into one Babel catalog (empty when there is none)."""
    merged = Catalog(locale=lang, domain=DOMAIN)
    for path in catalog_files(lang):
        with path.open("rb") as source:
            for message in read_po(source, locale=lang, domain=DOMAIN):
                if message.id and merged.get(message.id, message.context) is None:
                    merged[message.id] = message
    return merged


@functools.cache
def translations(lang: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``lang``: its ``messages.mo`` when it is at least as new as
    every ``.po``, else the ``.po`` files compiled in memory; English (the message ids) needs
    none."""
    if lang == LANGUAGES[0] or lang not in LANGUAGES:
        return gettext_module.NullTranslations()
    sources = catalog_files(lang)
    mo = catalog_folder(lang) / f"{DOMAIN}.mo"
    if mo.exists() and all(mo.stat().st_mtime >= po.stat().st_mtime for po in sources):
        with mo.open("rb") as compiled:
            return gettext_module.GNUTranslations(compiled)
    if not sources:
        return gettext_module.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def _fill(text: str, values: Mapping[str, Any]) -> str:
    return text % values if values else text


def gettext(message: str, **values: Any) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled."""
    return _fill(translations(current()).gettext(message), values)


_ = gettext


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural form for ``n`` in the current language; ``%(num)s`` is ``n``."""
    return _fill(translations(current()).ngettext(singular, plural, n), {"num": n, **values})


def pgettext(context: str, message: str, **values: Any) -> str:
    """``message`` as meant in ``context`` (one English word, two German ones)."""
    return _fill(translations(current()).pgettext(context, message), values)


def say(said: Said | str) -> str:
    """A domain package's marked text (``content.words.Said`` or a plain ``N_`` text) in the
    current language, its values filled in (a value that is itself a ``Said`` said too)."""
    if isinstance(said, Said):
        values = {k: say(v) if isinstance(v, Said) else v for k, v in said.values.items()}
        return gettext(said.text, **values)
    return gettext(said)


# --- formats -------------------------------------------------------------------------------------


def locale() -> Locale:
    return _locale(current())


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES.get(lang, LOCALES[LANGUAGES[0]]))


def format_date(moment: datetime | None, format: str = "medium") -> str:
    """A date as the reader writes it ("5 Dec 2026", "05.12.2026"); "" for None."""
    if moment is None:
        return ""
    return babel_dates.format_date(moment, format=format, locale=locale())


def format_datetime(
    moment: datetime | None,
    zone: tzinfo | str | None = None,
    format: str = "medium",
    *,
    zone_name: bool = True,
) -> str:
    """A moment in ``zone`` (UTC when None) as the reader writes it, with the zone's short
    name ("8 Oct 2026, 10:00 CEST", "08.10.2026, 10:00 MESZ"); "" for None."""
    if moment is None:
        return ""
    place = babel_dates.get_timezone(zone or "UTC")
    here = locale()
    if format == "medium":  # a medium date with a short time: no seconds
        date_part = babel_dates.format_date(moment.astimezone(place), "medium", locale=here)
        time_part = babel_dates.format_time(moment, "short", tzinfo=place, locale=here)
        written = str(babel_dates.get_datetime_format("medium", locale=here)).format(
            time_part, date_part
        )
    else:
        written = babel_dates.format_datetime(moment, format=format, tzinfo=place, locale=here)
    if zone_name:
        local = moment.astimezone(place)
        name = babel_dates.get_timezone_name(local, width="short", locale=here)
        if name[:1] in "+-":  # no name in this language: "GMT-05:00" reads better than "-0500"
            name = babel_dates.get_timezone_gmt(local, locale=here)
        written += " " + name
    return written


def format_time(moment: datetime | None, zone: tzinfo | str | None = None) -> str:
    """A time of day in ``zone`` ("10:00"); "" for None."""
    if moment is None:
        return ""
    place = babel_dates.get_timezone(zone or "UTC")
    return babel_dates.format_time(moment, "short", tzinfo=place, locale=locale())


def format_number(number: float | int, decimals: int | None = None) -> str:
    """A number with the language's separators ("12,500.5", "12.500,5")."""
    if decimals is None:
        return babel_numbers.format_decimal(number, locale=locale())
    return babel_numbers.format_decimal(
        number, format=f"#,##0.{'0' * decimals}" if decimals else "#,##0", locale=locale()
    )


def format_percent(share: float, decimals: int = 0) -> str:
    """A share from 0 to 1 as a percentage ("42 %" in German, "42%" in English)."""
    here = locale()
    if not decimals:
        return babel_numbers.format_percent(share, locale=here)
    # the language's own pattern (German puts a space before %) with the decimals asked for
    pattern = str(here.percent_formats[None].pattern).replace("0", "0." + "0" * decimals, 1)
    return babel_numbers.format_percent(share, format=pattern, locale=here)


def format_money(amount: float, currency: str) -> str:
    """An amount in a currency ("€12,500.00", "12.500,00 €")."""
    return babel_numbers.format_currency(amount, currency, locale=locale())


def install(environment: jinja2.Environment) -> None:
    """Give a Jinja environment the words of the current language: ``_()``, ``gettext``,
    ``ngettext``, ``pgettext`` and ``{% trans %}`` (trimmed), and the formatters."""
    environment.add_extension("jinja2.ext.i18n")
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: translations(current()).gettext(message),
        ngettext=lambda singular, plural, n: translations(current()).ngettext(singular, plural, n),
        pgettext=lambda context, message: translations(current()).pgettext(context, message),
        newstyle=True,
    )
    environment.globals.update(template_globals())


def template_globals() -> dict[str, Any]:
    """What every template may call for words and formats (the console's and the portal's,
    the mail's): ``current_language()`` for ``<html lang>``, the formatters."""
    return {
        "current_language": current,
        "language_names": LANGUAGE_NAMES,
        "languages": LANGUAGES,
        "format_date": format_date,
        "format_datetime": format_datetime,
        "format_time": format_time,
        "format_number": format_number,
        "format_percent": format_percent,
        "format_money": format_money,
    }
