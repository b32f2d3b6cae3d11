"""Handouts: an article (or two languages side by side) as a printable document and PDF.

Built as a QTextDocument with the bundled fonts, so the PDF embeds them and
Qt's shaper (HarfBuzz) lays out Khmer, Myanmar, Arabic and the Indic scripts.
Each page carries the centre's name and the date printed; the article foot
carries its sources and review date.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from mrc_desktop.i18n import is_rtl
from mrc_desktop.typefaces import ui_font

PAGE_SIZES = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}
MARGIN_MM = 15.0
HANDOUT_CSS = """
body { line-height: 140%; }
h1 { font-size: 17pt; }
h2 { font-size: 13pt; margin-top: 10px; }
.masthead { color: #333333; font-size: 9pt; }
.foot { color: #333333; font-size: 9pt; }
"""


@dataclass(frozen=True)
class Handout:
    title: str
    page_html: str  # from library.compose
    lang: str
    centre: str
    printed_on: str  # already formatted for the handout's language
    masthead: str  # e.g. "Migrant Worker Resource Centre · printed on 23 November 2026"


def build_document(handout: Handout, point_size: float = 10.0) -> QTextDocument:
    doc = QTextDocument()
    doc.setDefaultFont(ui_font(handout.lang, point_size))
    doc.setDefaultStyleSheet(HANDOUT_CSS)
    direction = "rtl" if is_rtl(handout.lang) else "ltr"
    doc.setHtml(
        f'<div dir="{direction}"><p class="masthead">{html.escape(handout.masthead)}</p></div>'
        f"{handout.page_html}"
    )
    doc.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, handout.title)
    return doc


def save_pdf(handout: Handout, path: Path, page_size: str = "A4") -> Path:
    """Write the handout as a PDF (written next to ``path`` first, then renamed into place)."""
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page size must be one of {', '.join(PAGE_SIZES)}")
    tmp = path.with_name(f".{path.name}.part")
    writer = QPdfWriter(str(tmp))
    writer.setTitle(handout.title)
    writer.setCreator("MRC Desk")
    writer.setResolution(300)
    layout = QPageLayout(
        QPageSize(PAGE_SIZES[page_size]),
        QPageLayout.Orientation.Portrait,
        QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
        QPageLayout.Unit.Millimeter,
    )
    writer.setPageLayout(layout)
    build_document(handout).print_(writer)
    del writer  # closes and flushes the file
    tmp.replace(path)
    return path
