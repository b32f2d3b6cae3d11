"""The article reader: sanitized HTML, adjustable text size, links handled with care."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QTextBrowser, QWidget

from mrc_desktop.i18n import _, pgettext
from mrc_desktop.library.render import is_external
from mrc_desktop.ui.background import run_task

READER_CSS = """
body { line-height: 150%; }
h1 { font-size: x-large; margin-bottom: 4px; }
h2 { font-size: large; margin-top: 16px; }
td, th { padding: 6px; }
mark { background-color: #fff2a8; }
.foot { color: #444444; font-size: small; }
"""
MIN_ZOOM, MAX_ZOOM = -4, 12
# Articles longer than this are converted to HTML on a worker thread, so that a very long
# one (1 MB and more) never freezes the window.
ASYNC_FROM_CHARS = 50_000


class ArticleView(QTextBrowser):
    """Shows an article page; ``open_article`` asks for another article by slug."""

    open_article = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.document().setDefaultStyleSheet(READER_CSS)
        self.anchorClicked.connect(self._follow)
        self._zoom = 0
        self._request = 0
        self._pending = 0

    def show_html(self, page: str) -> None:
        self._request += 1
        self.setHtml(page)

    def show_page(self, compose: Callable[[], str], size: int) -> None:
        """Show the page ``compose()`` makes; on a worker thread when the text is long."""
        self._request += 1
        if size < ASYNC_FROM_CHARS:
            self.setHtml(compose())
            return
        self.setPlainText(_("Opening a long article…"))
        request = self._request
        self._pending += 1
        # Bound methods, not lambdas: Qt drops the connection if this view is deleted first.
        run_task(lambda: (request, compose()), self._composed, self._compose_failed)

    def is_composing(self) -> bool:
        return self._pending > 0

    def _composed(self, result: tuple[int, str]) -> None:
        self._pending -= 1
        request, page = result
        if request == self._request:  # a newer page was asked for meanwhile: drop this one
            self.setHtml(page)

    def _compose_failed(self, exc: BaseException) -> None:
        self._pending -= 1
        self.setPlainText(_("This article could not be shown."))

    def zoom(self) -> int:
        return self._zoom

    def set_zoom(self, steps: int) -> None:
        steps = max(MIN_ZOOM, min(MAX_ZOOM, steps))
        change = steps - self._zoom
        if change > 0:
            self.zoomIn(change)
        elif change < 0:
            self.zoomOut(-change)
        self._zoom = steps

    def _follow(self, url: QUrl) -> None:
        href = url.toString()
        if href.startswith("#"):
            self.scrollToAnchor(href[1:])
        elif url.scheme() == "mrc" and url.path().startswith("article/"):
            self.open_article.emit(url.path().removeprefix("article/"))
        elif is_external(href) and self.confirm_external(href):
            QDesktopServices.openUrl(url)

    def confirm_external(self, href: str) -> bool:
        """Nothing leaves the desk without the counsellor saying so."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            _("Open link outside MRC Desk?"),
            _("This link opens in your web browser and needs the internet:\n{link}").format(
                link=href
            ),
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.button(QMessageBox.StandardButton.Open).setText(pgettext("button", "Open"))
        box.button(QMessageBox.StandardButton.Cancel).setText(pgettext("button", "Cancel"))
        return box.exec() == QMessageBox.StandardButton.Open
