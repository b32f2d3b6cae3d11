"""Countries: profiles and origin → destination corridors, side by side."""

from __future__ import annotations

from urllib.parse import unquote

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.countries.compose import ROLE_LABELS, corridor_html
from mrc_desktop.countries.loader import load_country_data
from mrc_desktop.countries.model import CountryData
from mrc_desktop.countries.related import related_slugs
from mrc_desktop.i18n import _
from mrc_desktop.storage.paths import content_dir
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.library_loader import LibraryLoader, LoadedLibrary
from mrc_desktop.ui.locale_format import show_date
from mrc_desktop.ui.translatable import Translatable

CODE_ROLE = Qt.ItemDataRole.UserRole


def fill_country_combo(
    combo: QComboBox, data: CountryData, roles: tuple[str, ...], lang: str, first: str
) -> None:
    """Countries of the given roles, named in ``lang``; keeps the current choice."""
    selected = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(first, "")
    for code, country in sorted(data.countries.items(), key=lambda kv: kv[1].name(lang)):
        if country.role in roles or country.role == "both":
            combo.addItem(country.name(lang), code)
    combo.setCurrentIndex(max(combo.findData(selected or ""), 0))
    combo.blockSignals(False)


class CountriesScreen(Translatable, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("countries_screen")
        self.data, self.problems = load_country_data(content_dir())
        # Related articles need the library; it loads on a worker thread (about 0.6 s).
        self._article_meta: list[tuple[str, tuple[str, ...], str]] = []
        self._titles: dict[tuple[str, str], str] = {}
        self._loader = LibraryLoader(content_dir(), ctx.paths.content_db)
        self._loader.loaded.connect(self._library_loaded)
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.status = QLabel()
        self.status.setObjectName("countries_status")
        self.status.setWordWrap(True)
        self.country_list = QListWidget()
        self.country_list.setObjectName("countries_list")
        self.country_list.setMaximumWidth(260)
        self.origin = QComboBox()
        self.origin.setObjectName("countries_origin")
        self.destination = QComboBox()
        self.destination.setObjectName("countries_destination")
        self.origin_label, self.destination_label = QLabel(), QLabel()
        picks = QFormLayout()
        picks.addRow(self.origin_label, self.origin)
        picks.addRow(self.destination_label, self.destination)
        self.view = QTextBrowser()
        self.view.setObjectName("countries_view")
        self.view.setOpenLinks(False)
        self.view.anchorClicked.connect(self._link)
        right = QVBoxLayout()
        right.addLayout(picks)
        right.addWidget(self.view, 1)
        body = QHBoxLayout()
        body.addWidget(self.country_list)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status)
        layout.addLayout(body, 1)
        self.origin.currentIndexChanged.connect(lambda _i: self.refresh())
        self.destination.currentIndexChanged.connect(lambda _i: self.refresh())
        self.country_list.itemClicked.connect(self._pick_from_list)
        self.retranslate()
        self._loader.start()

    def retranslate(self) -> None:
        lang = i18n.current_language()
        self.heading.setText(_("Countries and corridors"))
        self.origin_label.setText(_("Country of origin:"))
        self.destination_label.setText(_("Country of destination:"))
        fill_country_combo(self.origin, self.data, ("origin",), lang, _("Choose…"))
        fill_country_combo(self.destination, self.data, ("destination",), lang, _("Choose…"))
        self.country_list.clear()
        for code, country in sorted(
            self.data.countries.items(), key=lambda kv: (kv[1].role, kv[1].name(lang))
        ):
            item = QListWidgetItem(f"{country.name(lang)} — {_(ROLE_LABELS[country.role])}")
            item.setData(CODE_ROLE, code)
            self.country_list.addItem(item)
        if self.problems:
            self.status.setText(
                i18n.ngettext(
                    "{count} country file could not be loaded and was skipped: {first}",
                    "{count} country files could not be loaded and were skipped: {first}",
                    len(self.problems),
                ).format(count=len(self.problems), first=str(self.problems[0]))
            )
        self.refresh()

    def _library_loaded(self, result: LoadedLibrary) -> None:
        articles = result.library.articles
        self._article_meta = [
            (a.slug, a.countries, a.topic)
            for (_slug, lang), a in sorted(articles.items())
            if lang == "en"
        ]
        self._titles = {(a.slug, a.lang): a.title for a in articles.values()}
        self.refresh()

    def wait_loaded(self, timeout_ms: int = 30_000) -> bool:
        return self._loader.wait(timeout_ms)

    def select(self, origin: str, destination: str) -> None:
        for combo, code in ((self.origin, origin), (self.destination, destination)):
            combo.setCurrentIndex(max(combo.findData(code), 0))
        self.refresh()

    def _pick_from_list(self, item: QListWidgetItem) -> None:
        code = item.data(CODE_ROLE)
        country = self.data.countries[code]
        combo = self.destination if country.role == "destination" else self.origin
        combo.setCurrentIndex(max(combo.findData(code), 0))

    def refresh(self) -> None:
        lang = i18n.current_language()
        origin = self.data.countries.get(self.origin.currentData() or "")
        destination = self.data.countries.get(self.destination.currentData() or "")
        corridor = (
            self.data.corridor(origin.code, destination.code) if origin and destination else None
        )
        codes = [c.code for c in (origin, destination) if c is not None]
        related = [
            (slug, self._titles.get((slug, lang)) or self._titles.get((slug, "en"), slug))
            for slug in related_slugs(self._article_meta, codes)
        ]
        self.view.setHtml(
            corridor_html(
                origin, destination, corridor, lang, lambda d: show_date(d, "medium"), related
            )
        )

    def _link(self, url: QUrl) -> None:
        href = url.toString()
        if href.startswith("copy:"):
            number = unquote(href.removeprefix("copy:"))
            clipboard = QGuiApplication.clipboard()
            clipboard.setText(number)
            self.status.setText(_("Copied {number}").format(number=number))
        elif url.scheme() == "mrc" and url.path().startswith("article/"):
            self.ctx.events.open_article.emit(url.path().removeprefix("article/"))
