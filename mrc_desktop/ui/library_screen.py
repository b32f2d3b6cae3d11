"""Library: topics, search in every script, the article reader, side by side, handouts."""

from __future__ import annotations

import datetime as dt
import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.i18n import _
from mrc_desktop.library import bookmarks
from mrc_desktop.library.articles import Article, Library
from mrc_desktop.library.compose import article_html, badges, bilingual_html
from mrc_desktop.library.search import SearchIndex
from mrc_desktop.library.topics import TOPICS
from mrc_desktop.reports.handout import Handout, save_pdf
from mrc_desktop.storage.paths import content_dir, locales_dir
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.library_loader import LibraryLoader, LoadedLibrary
from mrc_desktop.ui.locale_format import show_date
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.article_view import ArticleView

log = logging.getLogger("mrc_desktop.library")
SLUG_ROLE = Qt.ItemDataRole.UserRole
SEARCH_DELAY_MS = 150


def _date(value: dt.date, lang: str) -> str:
    return show_date(value, "long", lang)


class LibraryScreen(Translatable, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("library_screen")
        self.library = Library()
        self.index: SearchIndex | None = None
        self.current: str | None = None  # slug shown in the reader
        self.loader: LibraryLoader | None = None
        self._build()
        self.retranslate()
        self.reload()

    # -- layout -----------------------------------------------------------------
    def _build(self) -> None:
        self.search_box = QLineEdit()
        self.search_box.setObjectName("library_search")
        self.search_box.setClearButtonEnabled(True)
        self.filter_lang = QComboBox()
        self.filter_topic = QComboBox()
        self.filter_country = QComboBox()
        top = QHBoxLayout()
        top.addWidget(self.search_box, 3)
        for combo in (self.filter_lang, self.filter_topic, self.filter_country):
            top.addWidget(combo, 1)
        self.progress = QProgressBar()
        self.progress.setObjectName("library_progress")
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel_loading)
        self.status = QLabel()
        self.status.setObjectName("library_status")
        self.status.setWordWrap(True)
        busy = QHBoxLayout()
        busy.addWidget(self.status, 1)
        busy.addWidget(self.progress)
        busy.addWidget(self.cancel_button)
        self.tabs = QTabWidget()
        self.topic_tree = QTreeWidget()
        self.topic_tree.setHeaderHidden(True)
        self.topic_tree.setObjectName("library_topics")
        self.results = QTextBrowser()
        self.results.setObjectName("library_results")
        self.results.setOpenLinks(False)
        self.bookmark_tree = QTreeWidget()
        self.bookmark_tree.setHeaderHidden(True)
        self.recent_tree = QTreeWidget()
        self.recent_tree.setHeaderHidden(True)
        for tab in (self.topic_tree, self.results, self.bookmark_tree, self.recent_tree):
            self.tabs.addTab(tab, "")
        self.reader = ArticleView()
        self.reader.setObjectName("library_reader")
        self.worker_lang = QComboBox()
        self.worker_lang.setObjectName("library_worker_lang")
        self.side_by_side = QCheckBox()
        self.side_by_side.setObjectName("library_side_by_side")
        self.counsellor_lang = QComboBox()
        self.bookmark_button = QPushButton()
        self.bookmark_button.setCheckable(True)
        self.smaller_button, self.larger_button = QPushButton(), QPushButton()
        self.pdf_button = QPushButton()
        self.pdf_button.setObjectName("library_save_pdf")
        self.print_button = QPushButton()
        tools = QHBoxLayout()
        self.worker_lang_label = QLabel()
        tools.addWidget(self.worker_lang_label)
        left_tools: tuple[QWidget, ...] = (
            self.worker_lang,
            self.side_by_side,
            self.counsellor_lang,
        )
        for widget in left_tools:
            tools.addWidget(widget)
        tools.addStretch(1)
        for widget in (
            self.bookmark_button,
            self.smaller_button,
            self.larger_button,
            self.print_button,
            self.pdf_button,
        ):
            tools.addWidget(widget)
        self.badge_label = QLabel()
        self.badge_label.setObjectName("library_badges")
        self.badge_label.setWordWrap(True)
        reader_box = QWidget()
        reader_layout = QVBoxLayout(reader_box)
        reader_layout.setContentsMargins(0, 0, 0, 0)
        reader_layout.addLayout(tools)
        reader_layout.addWidget(self.badge_label)
        reader_layout.addWidget(self.reader, 1)
        splitter = QSplitter()
        splitter.addWidget(self.tabs)
        splitter.addWidget(reader_box)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([340, 900])
        self.tabs.setMinimumWidth(260)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(busy)
        layout.addWidget(splitter, 1)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.run_search)
        self.search_box.textChanged.connect(lambda _t: self._search_timer.start())
        for combo in (self.filter_lang, self.filter_topic, self.filter_country):
            combo.currentIndexChanged.connect(lambda _i: self._search_timer.start())
        self.results.anchorClicked.connect(self._open_result)
        for tree in (self.topic_tree, self.bookmark_tree, self.recent_tree):
            tree.itemActivated.connect(self._open_item)
            tree.itemClicked.connect(self._open_item)
        self.reader.open_article.connect(self.open_article)
        self.worker_lang.currentIndexChanged.connect(lambda _i: self.refresh_reader())
        self.counsellor_lang.currentIndexChanged.connect(lambda _i: self.refresh_reader())
        self.side_by_side.toggled.connect(lambda _on: self.refresh_reader())
        self.bookmark_button.toggled.connect(self._toggle_bookmark)
        self.smaller_button.clicked.connect(lambda: self.change_zoom(-1))
        self.larger_button.clicked.connect(lambda: self.change_zoom(+1))
        self.pdf_button.clicked.connect(self.save_pdf_dialog)
        self.print_button.clicked.connect(self.print_dialog)
        QShortcut(QKeySequence("Ctrl+F"), self, self.focus_search)
        QShortcut(QKeySequence("Ctrl++"), self, lambda: self.change_zoom(+1))
        QShortcut(QKeySequence("Ctrl+="), self, lambda: self.change_zoom(+1))
        QShortcut(QKeySequence("Ctrl+-"), self, lambda: self.change_zoom(-1))
        self.reader.set_zoom(self.ctx.settings.get("reader_text_size"))
        self._set_busy(False)

    def retranslate(self) -> None:
        self.search_box.setPlaceholderText(_("Search the library (Ctrl+F)"))
        self.cancel_button.setText(_("Cancel"))
        self.tabs.setTabText(0, _("Topics"))
        self.tabs.setTabText(1, _("Search results"))
        self.tabs.setTabText(2, _("Bookmarks"))
        self.tabs.setTabText(3, _("Recent"))
        self.worker_lang_label.setText(_("Worker's language:"))
        self.side_by_side.setText(_("Side by side with"))
        self.bookmark_button.setText(_("Bookmark"))
        self.smaller_button.setText(_("A−"))
        self.smaller_button.setToolTip(_("Smaller text (Ctrl+−)"))
        self.larger_button.setText(_("A+"))
        self.larger_button.setToolTip(_("Larger text (Ctrl++)"))
        self.print_button.setText(_("Print…"))
        self.pdf_button.setText(_("Save as PDF…"))
        self._fill_language_combo(self.filter_lang, _("All languages"))
        self._fill_language_combo(self.worker_lang, None)
        self._fill_language_combo(self.counsellor_lang, None)
        self._fill_topic_filter()
        self._fill_country_filter()
        self._fill_trees()
        self.refresh_reader()
        self.run_search()

    def _fill_language_combo(self, combo: QComboBox, everything: str | None) -> None:
        selected = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        if everything is not None:
            combo.addItem(everything, "")
        for code in i18n.LANGUAGES:
            combo.addItem(i18n.language_autonym(code), code)
        default = "" if everything is not None else i18n.current_language()
        index = combo.findData(selected if selected is not None else default)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def _fill_topic_filter(self) -> None:
        selected = self.filter_topic.currentData()
        self.filter_topic.blockSignals(True)
        self.filter_topic.clear()
        self.filter_topic.addItem(_("All topics"), "")
        for key, label in TOPICS.items():
            self.filter_topic.addItem(_(label), key)
        self.filter_topic.setCurrentIndex(max(self.filter_topic.findData(selected or ""), 0))
        self.filter_topic.blockSignals(False)

    def _fill_country_filter(self) -> None:
        selected = self.filter_country.currentData()
        codes = sorted({c for a in self.library.articles.values() for c in a.countries})
        names = i18n.country_names()
        self.filter_country.blockSignals(True)
        self.filter_country.clear()
        self.filter_country.addItem(_("All countries"), "")
        for code in sorted(codes, key=lambda c: names.get(c, c)):
            self.filter_country.addItem(names.get(code, code), code)
        self.filter_country.setCurrentIndex(max(self.filter_country.findData(selected or ""), 0))
        self.filter_country.blockSignals(False)

    # -- loading ----------------------------------------------------------------
    def reload(self) -> None:
        """Load articles and bring the index up to date, off the UI thread."""
        if self.loader is not None:
            return
        self.loader = LibraryLoader(content_dir(), self.ctx.paths.content_db)
        self.loader.progress.connect(self._on_progress)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.cancelled.connect(self._on_cancelled)
        self.loader.failed.connect(self._on_failed)
        self.loader.finished.connect(self._on_thread_done)
        self._set_busy(True)
        self.status.setText(_("Loading the library…"))
        self.loader.start()

    def cancel_loading(self) -> None:
        if self.loader is not None:
            self.loader.cancel()

    def wait_loaded(self, timeout_ms: int = 60_000) -> bool:
        return self.loader is None or self.loader.wait(timeout_ms)

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.status.setText(
            _("Indexing articles: {done} of {total}").format(done=done, total=total)
        )

    def _on_loaded(self, result: LoadedLibrary) -> None:
        self.library = result.library
        if self.index is not None:
            self.index.close()
        self.index = SearchIndex(self.ctx.paths.content_db)
        problems = self.library.problems
        if problems:
            self.status.setText(
                i18n.ngettext(
                    "{count} article file could not be loaded and was skipped: {first}",
                    "{count} article files could not be loaded and were skipped: {first}",
                    len(problems),
                ).format(count=len(problems), first=str(problems[0]))
            )
        else:
            self.status.setText("")
        self._fill_country_filter()
        self._fill_trees()
        self.run_search()
        if self.current is not None and self.library.source(self.current) is not None:
            self.open_article(self.current)
        elif self.library.get("how-to-use-this-library", "en"):
            self.open_article("how-to-use-this-library")
        else:
            self.refresh_reader()

    def _on_cancelled(self) -> None:
        self.status.setText(_("Indexing was cancelled; search uses the previous index."))

    def _on_failed(self, _reason: str) -> None:
        self.status.setText(_("The library could not be indexed. Details are in the log file."))

    def _on_thread_done(self) -> None:
        self._set_busy(False)
        self.loader = None

    # -- lists ------------------------------------------------------------------
    def _article_title(self, slug: str) -> str:
        wanted = self.worker_lang.currentData() or i18n.current_language()
        article = self.library.get(slug, wanted) or self.library.source(slug)
        return article.title if article else slug

    def _fill_trees(self) -> None:
        self.topic_tree.clear()
        for key, label in TOPICS.items():
            slugs = [
                s
                for s in self.library.slugs()
                if (src := self.library.source(s)) and src.topic == key
            ]
            if not slugs:
                continue
            node = QTreeWidgetItem([_(label)])
            for slug in sorted(slugs, key=self._article_title):
                child = QTreeWidgetItem([self._article_title(slug)])
                child.setData(0, SLUG_ROLE, slug)
                node.addChild(child)
            self.topic_tree.addTopLevelItem(node)
        self.topic_tree.expandAll()
        conn = self.ctx.store.conn
        for tree, refs in (
            (self.bookmark_tree, bookmarks.bookmarks(conn)),
            (self.recent_tree, bookmarks.recent(conn)),
        ):
            tree.clear()
            for ref in refs:
                if self.library.source(ref.slug) is None:
                    continue
                item = QTreeWidgetItem([self._article_title(ref.slug)])
                item.setData(0, SLUG_ROLE, ref.slug)
                tree.addTopLevelItem(item)

    def _open_item(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        slug = item.data(0, SLUG_ROLE)
        if slug:
            self.open_article(slug)

    # -- search -----------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def run_search(self) -> None:
        query = self.search_box.text().strip()
        if not query or self.index is None:
            self.results.clear()
            return
        hits = self.index.search(
            query,
            lang=self.filter_lang.currentData() or None,
            topic=self.filter_topic.currentData() or None,
            country=self.filter_country.currentData() or None,
        )
        self.tabs.setCurrentWidget(self.results)
        if not hits:
            nothing = _("Nothing found.")
            self.results.setHtml(f"<p>{html.escape(nothing)}</p>")
            return
        items = []
        # Qt's rich text has no <mark>; the same highlight as a styled span.
        highlight = '<span style="background-color:#fff2a8; font-weight:bold">'
        for hit in hits:
            direction = "rtl" if i18n.is_rtl(hit.lang) else "ltr"
            snippet = hit.snippet_html.replace("<mark>", highlight).replace("</mark>", "</span>")
            items.append(
                f'<div dir="{direction}"><p><a href="mrc:article/{hit.slug}?lang={hit.lang}">'
                f"<b>{html.escape(hit.title)}</b></a> <small>[{html.escape(hit.lang)}]</small>"
                f"<br/>{snippet}</p></div>"
            )
        self.results.setHtml("".join(items))

    def _open_result(self, url: QUrl) -> None:
        slug = url.path().removeprefix("article/")
        lang = url.query().removeprefix("lang=")
        if lang in i18n.LANGUAGES:
            index = self.worker_lang.findData(lang)
            self.worker_lang.blockSignals(True)
            self.worker_lang.setCurrentIndex(max(index, 0))
            self.worker_lang.blockSignals(False)
        self.open_article(slug)

    # -- reading ----------------------------------------------------------------
    def open_when_loaded(self, slug: str) -> None:
        """Open ``slug`` now, or as soon as the library has loaded (asked from another screen)."""
        if self.library.source(slug) is not None:
            self.open_article(slug)
        else:
            self.current = slug

    def open_article(self, slug: str) -> None:
        if self.library.source(slug) is None:
            return
        self.current = slug
        lang = self.worker_lang.currentData() or i18n.current_language()
        bookmarks.record_opened(self.ctx.store.conn, slug, lang)
        self.refresh_reader()
        self._fill_trees()

    def shown_article(self, lang: str) -> Article | None:
        """The article in ``lang``, or the English source when it is not translated."""
        if self.current is None:
            return None
        return self.library.get(self.current, lang) or self.library.source(self.current)

    def refresh_reader(self) -> None:
        worker = self.worker_lang.currentData() or i18n.current_language()
        counsellor = self.counsellor_lang.currentData() or i18n.current_language()
        self.counsellor_lang.setEnabled(self.side_by_side.isChecked())
        article = self.shown_article(worker)
        for widget in (self.bookmark_button, self.print_button, self.pdf_button):
            widget.setEnabled(article is not None)
        if article is None:
            self.badge_label.clear()
            self.reader.clear()
            return
        found = badges(self.library, article, worker)
        self.badge_label.setText("  ·  ".join(f"⚠ {b.text}" for b in found))
        self.badge_label.setVisible(bool(found))
        self.bookmark_button.blockSignals(True)
        self.bookmark_button.setChecked(bookmarks.is_bookmarked(self.ctx.store.conn, article.slug))
        self.bookmark_button.blockSignals(False)
        self.reader.show_page(lambda: self.page_html(worker, counsellor), len(article.body))

    def page_html(self, worker: str, counsellor: str) -> str:
        article = self.shown_article(worker)
        if article is None:
            return ""
        if self.side_by_side.isChecked():
            other = self.shown_article(counsellor) or article
            return bilingual_html(other, article, _date)
        return article_html(article, _date)

    def _toggle_bookmark(self, on: bool) -> None:
        if self.current is not None:
            lang = self.worker_lang.currentData() or i18n.current_language()
            bookmarks.set_bookmark(self.ctx.store.conn, self.current, lang, on)
            self._fill_trees()

    def change_zoom(self, step: int) -> None:
        self.reader.set_zoom(self.reader.zoom() + step)
        self.ctx.settings.set("reader_text_size", self.reader.zoom())
        self.ctx.settings.save()

    # -- handouts ---------------------------------------------------------------
    def handout(self) -> Handout | None:
        worker = self.worker_lang.currentData() or i18n.current_language()
        counsellor = self.counsellor_lang.currentData() or i18n.current_language()
        article = self.shown_article(worker)
        if article is None:
            return None
        lang = article.lang
        tr = i18n.translation_for(lang, locales_dir()).gettext
        printed = show_date(dt.date.today(), "long", lang)
        centre = self.ctx.settings.get("centre_name")
        masthead = tr(i18n.N_("{centre} · printed on {date}")).format(centre=centre, date=printed)
        return Handout(
            article.title, self.page_html(worker, counsellor), lang, centre, printed, masthead
        )

    def save_pdf_dialog(self) -> None:
        handout = self.handout()
        if handout is None:
            return
        suggested = str(Path.home() / f"{self.current}-{handout.lang}.pdf")
        # TRANSLATORS: file type choices in the save dialog; keep "*.pdf" as it is.
        a4, letter = _("PDF, A4 paper (*.pdf)"), _("PDF, US Letter paper (*.pdf)")
        path, chosen = QFileDialog.getSaveFileName(
            self, _("Save handout as PDF"), suggested, f"{a4};;{letter}"
        )
        if path:
            size = "Letter" if chosen == letter else "A4"
            save_pdf(handout, Path(path), size)
            self.status.setText(_("Saved {path}").format(path=path))

    def print_dialog(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        from mrc_desktop.reports.handout import build_document

        handout = self.handout()
        if handout is None:
            return
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        if dialog.exec() == QPrintDialog.DialogCode.Accepted:
            build_document(handout).print_(printer)
