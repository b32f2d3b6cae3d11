"""The bundled Noto fonts: registration at start and the font used for each UI language.

Uses QtGui only (no widgets), so the print/PDF layer can share it. The system's
fallback fonts are uneven (DejaVu for Arabic and Lao, serif Sinhala, often no
Khmer or Myanmar at all), so every script has its Noto family bundled here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLoggingCategory
from PySide6.QtGui import QFont, QFontDatabase

from mrc_desktop.storage.paths import fonts_dir

BASE_FAMILY = "Noto Sans"
# Script family for each UI language that needs more than Latin.
SCRIPT_FAMILY: dict[str, str] = {
    "km": "Noto Sans Khmer",
    "lo": "Noto Sans Lao",
    "my": "Noto Sans Myanmar",
    "th": "Noto Sans Thai",
    "ne": "Noto Sans Devanagari",
    "bn": "Noto Sans Bengali",
    "si": "Noto Sans Sinhala",
    "am": "Noto Sans Ethiopic",
    "ar": "Noto Sans Arabic",
}
# Arrows and other symbols used in the interface (→, ✓ …) that Noto Sans lacks.
SYMBOLS_FAMILY = "Noto Sans Symbols"
ALL_FAMILIES: tuple[str, ...] = (
    BASE_FAMILY,
    *dict.fromkeys(SCRIPT_FAMILY.values()),
    SYMBOLS_FAMILY,
)

# Text that needs real shaping: stacked consonants, joining, conjuncts.
SAMPLES: dict[str, str] = {
    "Latin": "Migrant workers’ rights: Người lao động, Manggagawa, Pekerja — 1,234.50",
    "Khmer": "សិទ្ធិ​ពលករ​ចំណាកស្រុក ស្ត្រី ក្រសួង",
    "Lao": "ສິດທິຂອງແຮງງານເຄື່ອນຍ້າຍ",
    "Myanmar": "ရွှေ့ပြောင်းအလုပ်သမားများ၏ အခွင့်အရေး",
    "Thai": "สิทธิของแรงงานข้ามชาติ ค่าธรรมเนียม",
    "Devanagari": "प्रवासी श्रमिकको अधिकार क्षेत्र",
    "Bengali": "অভিবাসী শ্রমিকের অধিকার ক্ষমতা",
    "Sinhala": "සංක්‍රමණික ශ්‍රමිකයින්ගේ අයිතිවාසිකම්",
    "Ethiopic": "የስደተኛ ሠራተኞች መብቶች",
    "Arabic": "حقوق العمال المهاجرين ١٢٣",
}


def font_files(folder: Path | None = None) -> list[Path]:
    return sorted((folder or fonts_dir()).glob("*.ttf"))


def register_fonts(folder: Path | None = None) -> list[str]:
    """Register every bundled font with Qt; return the families now available."""
    # Qt notes at info level, for each family, every script it has no OpenType tables for.
    QLoggingCategory.setFilterRules("qt.text.font.db.info=false")
    families: list[str] = []
    for path in font_files(folder):
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id >= 0:
            families.extend(QFontDatabase.applicationFontFamilies(font_id))
    return sorted(set(families))


def families_for(language: str) -> list[str]:
    """Font families in fallback order: the language's own script first, then the rest."""
    own = SCRIPT_FAMILY.get(language)
    ordered = [own] if own else []
    ordered += [f for f in ALL_FAMILIES if f != own]
    return ordered


def ui_font(language: str, point_size: float = 10.0) -> QFont:
    font = QFont()
    font.setFamilies(families_for(language))
    font.setPointSizeF(point_size)
    return font
