"""Translation catalogs, the current language, and locale-aware formatting (Qt-free).

Strings are marked with ``_``, ``ngettext``, ``pgettext`` and, where they are
defined at import time, ``N_`` (translated later, where shown). Placeholders
are named: ``_("{count} cases").format(count=n)``.

Digits: Babel always prints Latin digits. The UI layer decides native digits
with QLocale (see ``mrc_desktop/ui/locale_format.py`` and docs/i18n.md); the
CLI keeps Latin digits so its output can be piped and parsed.
"""

from __future__ import annotations

import datetime as dt
import gettext
import struct
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_decimal as _babel_format_decimal

DOMAIN = "mrc_desktop"
SOURCE_LANGUAGE = "en"
# The interface languages, in the order they are offered.
LANGUAGES: tuple[str, ...] = (
    "en",
    "km",
    "lo",
    "my",
    "th",
    "vi",
    "ne",
    "bn",
    "si",
    "id",
    "fil",
    "am",
    "ar",
)
RTL_LANGUAGES = frozenset({"ar"})
# Languages whose readers expect native digits in running text (docs/i18n.md).
NATIVE_DIGIT_LANGUAGES = frozenset({"my", "ne", "bn", "ar"})
STATUS_HEADER = "x-translation-status"
_BAD_CATALOG = (OSError, ValueError, struct.error, KeyError)

_current: gettext.NullTranslations = gettext.NullTranslations()
_current_code = SOURCE_LANGUAGE


def _(message: str) -> str:
    return _current.gettext(message)


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later with ``_()`` where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return _current.pgettext(context, message)


def current_language() -> str:
    return _current_code


def is_rtl(code: str | None = None) -> bool:
    return (code or _current_code) in RTL_LANGUAGES


@dataclass(frozen=True)
class CatalogInfo:
    code: str
    mo_path: Path | None
    status: str  # "source", "draft" or "reviewed"

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"


def mo_path(locales: Path, code: str) -> Path:
    return locales / code / "LC_MESSAGES" / f"{DOMAIN}.mo"


def read_mo_header(path: Path) -> dict[str, str]:
    """The metadata block of a compiled catalog, without parsing every message.

    In a GNU .mo file the messages are sorted, so the empty msgid (the header)
    is the first entry of the translation table.
    """
    data = path.read_bytes()
    if len(data) < 28:
        raise ValueError(f"{path}: too short for a .mo file")
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">" if magic == 0xDE120495 else ""
    if not order:
        raise ValueError(f"{path}: not a .mo file")
    count, originals, translations = struct.unpack(order + "3I", data[8:20])
    if count == 0:
        return {}
    id_length = struct.unpack(order + "I", data[originals : originals + 4])[0]
    if id_length != 0:
        return {}
    length, offset = struct.unpack(order + "2I", data[translations : translations + 8])
    text = data[offset : offset + length].decode("utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            header[key.strip().lower()] = value.strip()
    return header


def available_languages(locales: Path) -> list[CatalogInfo]:
    """Languages that can be offered: English, plus every language with a compiled catalog."""
    found = [CatalogInfo(SOURCE_LANGUAGE, None, "source")]
    for code in LANGUAGES:
        if code == SOURCE_LANGUAGE:
            continue
        path = mo_path(locales, code)
        if not path.is_file():
            continue
        try:
            info = read_mo_header(path)
        except _BAD_CATALOG:  # unreadable or corrupt .mo: not offered
            continue
        status = info.get(STATUS_HEADER, "draft").strip().lower() or "draft"
        found.append(CatalogInfo(code, path, status))
    return found


def set_language(code: str, locales: Path) -> str:
    """Make ``code`` the current language; fall back to English if its catalog is missing."""
    global _current, _current_code
    if code == SOURCE_LANGUAGE or code not in LANGUAGES:
        _current, _current_code = gettext.NullTranslations(), SOURCE_LANGUAGE
        return _current_code
    path = mo_path(locales, code)
    try:
        with path.open("rb") as fh:
            _current = gettext.GNUTranslations(fh)
    except _BAD_CATALOG:
        _current, _current_code = gettext.NullTranslations(), SOURCE_LANGUAGE
        return _current_code
    _current_code = code
    return code


_by_language: dict[tuple[str, str], gettext.NullTranslations] = {}


def translation_for(code: str, locales: Path) -> gettext.NullTranslations:
    """The catalog of one language, whatever the interface language is (for handouts and
    explanations shown in the worker's language). English or a missing catalog: no-op."""
    key = (code, str(locales))
    if key not in _by_language:
        found: gettext.NullTranslations = gettext.NullTranslations()
        if code != SOURCE_LANGUAGE:
            try:
                with mo_path(locales, code).open("rb") as fh:
                    found = gettext.GNUTranslations(fh)
            except _BAD_CATALOG:
                pass
        _by_language[key] = found
    return _by_language[key]


def babel_locale(code: str | None = None) -> Locale:
    return Locale.parse(code or _current_code)


# Each language's name in itself (CLDR, as Babel reports it; tests/test_i18n.py checks they
# still agree). Kept as a table because loading 13 CLDR locales costs ~130 ms at start-up.
AUTONYMS: dict[str, str] = {
    "en": "English",
    "km": "ខ្មែរ",
    "lo": "ລາວ",
    "my": "မြန်မာ",
    "th": "ไทย",
    "vi": "Tiếng Việt",
    "ne": "नेपाली",
    "bn": "বাংলা",
    "si": "සිංහල",
    "id": "Indonesia",
    "fil": "Filipino",
    "am": "አማርኛ",
    "ar": "العربية",
}


def language_autonym(code: str) -> str:
    """The language's name in itself, e.g. "ខ្មែរ" for km."""
    return AUTONYMS.get(code) or babel_locale(code).get_display_name(code) or code


def language_name(code: str, in_language: str | None = None) -> str:
    return babel_locale(code).get_display_name(in_language or _current_code) or code


def country_names(in_language: str | None = None) -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → country name in the given language (CLDR via Babel)."""
    territories = babel_locale(in_language).territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2
        and code.isalpha()
        and code not in {"EU", "EZ", "UN", "ZZ", "XA", "XB", "QO"}
    }


def format_date(value: dt.date, fmt: str = "long", lang: str | None = None) -> str:
    return _babel_format_date(value, format=fmt, locale=babel_locale(lang))


def format_datetime(value: dt.datetime, fmt: str = "medium", lang: str | None = None) -> str:
    return _babel_format_datetime(value, format=fmt, locale=babel_locale(lang))


def format_number(value: int | Decimal, lang: str | None = None) -> str:
    return _babel_format_decimal(value, locale=babel_locale(lang))


def with_digits(text: str, zero: str) -> str:
    """Replace ASCII digits with the digit run that starts at ``zero`` (e.g. '၀')."""
    if zero == "0":
        return text
    base = ord(zero)
    return text.translate({ord("0") + i: base + i for i in range(10)})
