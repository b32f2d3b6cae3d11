"""Dates and numbers for display, with native digits where readers expect them.

Babel formats (it knows CLDR patterns for all 13 languages) but prints Latin
digits only. For my, ne, bn and ar we swap in the digit set QLocale reports
for that language (its zeroDigit), so ၁၂၃, १२३, ১২৩, ١٢٣ appear in running text.
Phone numbers, ids and amounts typed by users are never rewritten.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QLocale

from mrc_desktop import i18n


def native_zero(lang: str | None = None) -> str:
    code = lang or i18n.current_language()
    if code not in i18n.NATIVE_DIGIT_LANGUAGES:
        return "0"
    zero = QLocale(code).zeroDigit()
    return zero if len(zero) == 1 and zero.isdigit() else "0"


def show_date(value: dt.date, fmt: str = "long", lang: str | None = None) -> str:
    return i18n.with_digits(i18n.format_date(value, fmt, lang), native_zero(lang))


def show_datetime(value: dt.datetime, fmt: str = "medium", lang: str | None = None) -> str:
    return i18n.with_digits(i18n.format_datetime(value, fmt, lang), native_zero(lang))


def show_number(value: int | Decimal, lang: str | None = None) -> str:
    return i18n.with_digits(i18n.format_number(value, lang), native_zero(lang))
