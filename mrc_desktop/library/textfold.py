"""Folding text for search: case, Latin and Vietnamese accents, Arabic vowel marks.

Only marks that readers type without are dropped. Vowel signs in Thai, Khmer,
Lao, Myanmar and the Indic scripts are letters, not accents, and are kept.
``fold_with_map`` also returns, for every folded character, the index of the
original character it came from, so snippets can show the original text.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata

# Arabic harakat, superscript alef and tatweel: optional in writing.
_ARABIC_OPTIONAL = {*range(0x064B, 0x0660), 0x0670, 0x0640}
_ARABIC_LETTERS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}
_LATIN_EXTRA = {"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss"}


def _is_latin(ch: str) -> bool:
    code = ord(ch)
    return code < 0x0250 or 0x1E00 <= code <= 0x1EFF


@functools.cache
def _fold_char(ch: str) -> str:
    if ord(ch) in _ARABIC_OPTIONAL:
        return ""
    if ch in _ARABIC_LETTERS:
        return _ARABIC_LETTERS[ch]
    if ch in _LATIN_EXTRA:
        return _LATIN_EXTRA[ch]
    if _is_latin(ch):
        base = unicodedata.normalize("NFD", ch)
        ch = "".join(c for c in base if not unicodedata.combining(c))
    elif unicodedata.category(ch) == "Mn" and 0x0300 <= ord(ch) <= 0x036F:
        return ""  # a stray Latin combining accent
    return ch.casefold()


def fold(text: str) -> str:
    return "".join(_fold_char(ch) for ch in unicodedata.normalize("NFC", text))


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each of its characters, the index in ``text`` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        origin.extend([index] * len(folded))
    return "".join(out), origin


def bigrams(folded: str) -> set[str]:
    """Every pair of neighbouring characters that are both letters, digits or marks."""
    grams = set()
    for a, b in itertools.pairwise(folded):
        if _token_char(a) and _token_char(b):
            grams.add(a + b)
    return grams


def _token_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in {"L", "M", "N"}
