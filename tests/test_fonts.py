"""Every script the app shows renders with real glyphs from the bundled fonts."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from PySide6.QtGui import QFont, QTextLayout
from PySide6.QtWidgets import QApplication

from mrc_desktop.i18n import LANGUAGES, SOURCE_LANGUAGE
from mrc_desktop.storage.paths import fonts_dir, locales_dir
from mrc_desktop.typefaces import ALL_FAMILIES, SAMPLES, families_for, register_fonts, ui_font


@pytest.fixture(scope="module")
def registered(qapp: QApplication) -> list[str]:
    return register_fonts()


def missing_glyphs(text: str, font: QFont) -> list[str]:
    """Characters of ``text`` that shaped to no glyph (index 0) or to a font we do not ship."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    while layout.createLine().isValid():
        pass
    layout.endLayout()
    problems = []
    for run in layout.glyphRuns():
        family = run.rawFont().familyName()
        if family not in ALL_FAMILIES:
            problems.append(f"drawn with {family!r}")
        if 0 in run.glyphIndexes():
            problems.append(f"missing glyph in {family!r}")
    return problems


def test_all_bundled_families_register(registered: list[str]) -> None:
    assert set(ALL_FAMILIES) <= set(registered)
    assert (fonts_dir() / "OFL.txt").read_text("utf-8").count("SIL Open Font License") >= 1


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_each_script_sample_renders_with_bundled_glyphs(registered: list[str], script: str) -> None:
    font = ui_font("en")
    assert missing_glyphs(SAMPLES[script], font) == []


def test_khmer_coeng_stacks_into_fewer_glyphs_than_characters(registered: list[str]) -> None:
    """Shaping, not just coverage: ស្ត្រី is 6 code points but stacks into fewer glyphs."""
    layout = QTextLayout("ស្ត្រី", ui_font("km"))
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    glyphs = sum(len(run.glyphIndexes()) for run in layout.glyphRuns())
    assert 0 < glyphs < 6


def glyph_ids(text: str, font: QFont) -> list[int]:
    layout = QTextLayout(text, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return [g for run in layout.glyphRuns() for g in run.glyphIndexes()]


@pytest.mark.parametrize(("code", "word"), [("ar", "عمال"), ("ne", "श्रमिक"), ("my", "ကြွေး")])
def test_letters_take_contextual_forms(registered: list[str], code: str, word: str) -> None:
    """Joined Arabic, Devanagari conjuncts, Myanmar medials: shaped glyphs differ from the
    glyphs of the same characters drawn one by one."""
    font = ui_font(code)
    one_by_one = [g for ch in word for g in glyph_ids(ch, font)]
    assert sorted(glyph_ids(word, font)) != sorted(one_by_one)


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != SOURCE_LANGUAGE])
def test_every_translated_string_renders(registered: list[str], code: str) -> None:
    po = locales_dir() / code / "LC_MESSAGES" / "mrc_desktop.po"
    with po.open("rb") as fh:
        strings = [m.string for m in read_po(fh) if m.id and m.string]
    text = " ".join(s if isinstance(s, str) else " ".join(s) for s in strings)
    assert missing_glyphs(text.replace("&", ""), ui_font(code)) == []


def test_language_font_puts_its_script_first() -> None:
    assert families_for("km")[0] == "Noto Sans Khmer"
    assert families_for("en")[0] == "Noto Sans"
    assert Path(fonts_dir()).is_dir()
