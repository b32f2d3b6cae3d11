"""Handouts as real PDFs: text extractable, fonts embedded, complex scripts drawn."""

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from mrc_desktop.library.articles import load_library
from mrc_desktop.library.compose import article_html, bilingual_html
from mrc_desktop.reports.handout import Handout, save_pdf
from mrc_desktop.typefaces import register_fonts

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils not installed"
)


def iso(value: dt.date, lang: str) -> str:
    return value.isoformat()


@pytest.fixture
def pdf_of(qapp: QApplication, content: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    register_fonts()
    library = load_library(content)

    def make(lang: str, other: str | None = None, size: str = "A4") -> Path:
        article = library.get("fees", lang)
        assert article is not None
        page = (
            bilingual_html(library.get("fees", other), article, iso)  # type: ignore[arg-type]
            if other
            else article_html(article, iso)
        )
        handout = Handout(
            article.title,
            page,
            lang,
            "MRC Test Centre",
            "2026-11-23",
            "MRC Test Centre · printed on 2026-11-23",
        )
        return save_pdf(handout, tmp_path / f"fees-{lang}-{other}-{size}.pdf", size)

    return make


def pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@needs_poppler
def test_latin_and_thai_text_is_extractable(pdf_of) -> None:  # type: ignore[no-untyped-def]
    english = pdftotext(pdf_of("en"))
    assert "Who pays recruitment fees" in english
    assert "MRC Test Centre" in english and "Sources" in english
    thai = pdftotext(pdf_of("th"))
    assert "ค่าธรรมเนียม" in thai.replace(" ", "")


@needs_poppler
def test_fonts_are_embedded(pdf_of) -> None:  # type: ignore[no-untyped-def]
    fonts = subprocess.run(
        ["pdffonts", str(pdf_of("km"))], capture_output=True, text=True, check=True
    ).stdout
    assert "NotoSansKhmer" in fonts
    assert all(" yes " in line for line in fonts.splitlines()[2:] if line.strip())


@needs_poppler
@pytest.mark.parametrize("lang", ["km", "ar"])
def test_complex_scripts_are_drawn(pdf_of, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    pdf = pdf_of(lang)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert {"km": "NotoSansKhmer", "ar": "NotoSansArabic"}[lang] in fonts
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    image = QImage(str(next(tmp_path.glob("page*.png"))))
    dark = sum(
        1
        for y in range(0, image.height(), 3)
        for x in range(0, image.width(), 3)
        if image.pixelColor(x, y).lightness() < 128
    )
    assert dark > 40, f"the page is (nearly) blank: {dark} dark samples"


@needs_poppler
def test_letter_and_a4_sizes(pdf_of) -> None:  # type: ignore[no-untyped-def]
    def size(path: Path) -> str:
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
        return next(line for line in info.splitlines() if line.startswith("Page size"))

    assert "595" in size(pdf_of("en", size="A4"))
    assert "612 x 792" in size(pdf_of("en", size="Letter"))


@needs_poppler
def test_bilingual_handout_has_both_languages(pdf_of) -> None:  # type: ignore[no-untyped-def]
    path = pdf_of("vi", "en")
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "Who pays recruitment fees" in text and "Ai trả phí tuyển dụng" in text
