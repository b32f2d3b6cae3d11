"""Help › About: version, this desk, where data lives, and the licences (fonts included)."""

from __future__ import annotations

import html
import sqlite3

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import __version__
from mrc_desktop.i18n import _
from mrc_desktop.storage.paths import fonts_dir
from mrc_desktop.storage.sqlite_build import probe_features
from mrc_desktop.typefaces import ALL_FAMILIES
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.translatable import translate_buttons

# (component, licence) pairs; names of software are not translated.
COMPONENT_LICENCES: tuple[tuple[str, str], ...] = (
    ("MRC Desk", "GPL-3.0-or-later"),
    ("Qt 6 / PySide6", "LGPL-3.0"),
    ("SQLCipher (sqlcipher3)", "BSD-3-Clause; SQLite: public domain"),
    ("Babel", "BSD-3-Clause"),
    ("sqlite-utils", "Apache-2.0"),
    ("platformdirs", "MIT"),
    ("Python", "PSF-2.0"),
)


class AboutDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle(_("About MRC Desk"))
        title = QLabel(f"<h2>MRC Desk {html.escape(__version__)}</h2>")
        summary = QLabel(
            _(
                "Information, fee checks and case records for Migrant Worker Resource Centres. "
                "Works offline."
            )
        )
        summary.setWordWrap(True)
        tabs = QTabWidget()
        tabs.addTab(self._browser("about_info", self._info_html(ctx)), _("This desk"))
        tabs.addTab(self._browser("about_licences", self._licences_html()), _("Licences"))
        font_text = (fonts_dir() / "OFL.txt").read_text(encoding="utf-8")
        font_browser = self._browser("about_font_licence", "")
        font_browser.setPlainText(font_text)
        tabs.addTab(font_browser, _("Font licence"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        translate_buttons(buttons)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(summary)
        layout.addWidget(tabs, 1)
        layout.addWidget(buttons)
        self.resize(620, 520)

    @staticmethod
    def _browser(name: str, body: str) -> QTextBrowser:
        browser = QTextBrowser()
        browser.setObjectName(name)
        browser.setOpenLinks(False)
        browser.setHtml(body)
        return browser

    @staticmethod
    def _info_html(ctx: AppContext) -> str:
        sqlite = probe_features()
        rows = [
            (_("Version"), __version__),
            (_("Desk ID"), ctx.desk.desk_id),
            (_("Data folder"), str(ctx.paths.data)),
            (_("Settings folder"), str(ctx.paths.config)),
            (_("Log folder"), str(ctx.paths.logs)),
            (_("Qt"), f"{qVersion()} (PySide6 {pyside_version})"),
            (
                _("SQLite"),
                f"{sqlite.sqlite_version} (SQLCipher {sqlite.sqlcipher_version}); "
                f"Python sqlite3 {sqlite3.sqlite_version}",
            ),
        ]
        body = "".join(
            f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table cellpadding='4'>{body}</table>"

    @staticmethod
    def _licences_html() -> str:
        items = "".join(
            f"<li><b>{html.escape(name)}</b>: {html.escape(licence)}</li>"
            for name, licence in COMPONENT_LICENCES
        )
        fonts = ", ".join(html.escape(f) for f in ALL_FAMILIES)
        font_line = html.escape(
            _(
                "Fonts: {families}. SIL Open Font License 1.1; the full text is in the "
                "Font licence tab."
            ).format(families="§")
        ).replace("§", fonts)
        return f"<ul>{items}</ul><p>{font_line}</p>"
