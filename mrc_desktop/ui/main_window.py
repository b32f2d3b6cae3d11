"""The main window: sidebar of registered screens, menus, status bar."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.i18n import _
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.notice_bar import NoticeBar
from mrc_desktop.ui.screens import ScreenSpec, registered_screens
from mrc_desktop.ui.translatable import Translatable, window_title
from mrc_desktop.ui.widgets.pickers import current_language_label, language_label


class MainWindow(Translatable, QMainWindow):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("main_window")
        self.specs: list[ScreenSpec] = registered_screens()
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setMaximumWidth(240)
        self.sidebar.setMinimumWidth(150)
        self.stack = QStackedWidget()
        self._pages: dict[str, QWidget] = {}
        self._holders: list[QHBoxLayout] = []
        for _spec in self.specs:
            self.sidebar.addItem(QListWidgetItem())
            holder = QWidget()
            holder_layout = QHBoxLayout(holder)
            holder_layout.setContentsMargins(0, 0, 0, 0)
            self._holders.append(holder_layout)
            self.stack.addWidget(holder)
        self.notices = NoticeBar()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.notices)
        right_layout.addWidget(self.stack, 1)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.addWidget(self.sidebar)
        layout.addWidget(right, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel()
        self.status_label.setObjectName("status_centre")
        self.statusBar().addPermanentWidget(self.status_label)
        self._build_actions()
        self.sidebar.currentRowChanged.connect(self._show_row)
        ctx.events.settings_changed.connect(self.retranslate)
        ctx.events.open_article.connect(self._open_article)
        ctx.languages.language_changed.connect(self._sync_language_menu)
        self.sidebar.setCurrentRow(0)
        self.retranslate()
        self._restore_geometry()

    # -- screens ---------------------------------------------------------------
    def page(self, key: str) -> QWidget:
        """The screen's widget, created on first use."""
        if key not in self._pages:
            index = [s.key for s in self.specs].index(key)
            widget = self.specs[index].factory(self.ctx)
            self._holders[index].addWidget(widget)
            self._pages[key] = widget
        return self._pages[key]

    def _open_article(self, slug: str) -> None:
        self.show_screen("library")
        library = self.page("library")
        opener = getattr(library, "open_when_loaded", None)
        if opener is not None:
            opener(slug)

    def show_screen(self, key: str) -> None:
        self.sidebar.setCurrentRow([s.key for s in self.specs].index(key))

    def current_key(self) -> str:
        return self.specs[self.stack.currentIndex()].key

    def _show_row(self, row: int) -> None:
        if row < 0:
            return
        self.page(self.specs[row].key)
        self.stack.setCurrentIndex(row)
        self.setWindowTitle(window_title(_(self.specs[row].title)))

    # -- actions and menus -----------------------------------------------------
    def _build_actions(self) -> None:
        self.file_menu = QMenu(self)
        self.view_menu = QMenu(self)
        self.help_menu = QMenu(self)
        self.language_menu = QMenu(self)
        for menu in (self.file_menu, self.view_menu, self.help_menu):
            self.menuBar().addMenu(menu)
        self.settings_action = QAction(self)
        self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.triggered.connect(lambda: self.show_screen("settings"))
        self.quit_action = QAction(self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.quit_action.triggered.connect(self.close)
        self.lock_action = QAction(self)
        self.lock_action.setObjectName("lock_action")
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.triggered.connect(self.lock_cases)
        self.file_menu.addAction(self.settings_action)
        self.file_menu.addAction(self.lock_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)
        self.screen_actions: list[QAction] = []
        for number, spec in enumerate(self.specs, start=1):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{spec.shortcut or number}"))
            action.triggered.connect(lambda _c=False, key=spec.key: self.show_screen(key))
            self.view_menu.addAction(action)
            self.screen_actions.append(action)
        self.view_menu.addSeparator()
        self.view_menu.addMenu(self.language_menu)
        self.language_group = QActionGroup(self)
        self.language_actions: dict[str, QAction] = {}
        for info in self.ctx.languages.offered():
            action = QAction(self)
            action.setCheckable(True)
            action.triggered.connect(lambda _c=False, code=info.code: self.switch_language(code))
            self.language_group.addAction(action)
            self.language_menu.addAction(action)
            self.language_actions[info.code] = action
        self.shortcuts_action = QAction(self)
        self.shortcuts_action.setShortcut(QKeySequence("F1"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.about_action = QAction(self)
        self.about_action.triggered.connect(self.show_about)
        self.help_menu.addAction(self.shortcuts_action)
        self.help_menu.addAction(self.about_action)
        for action in [
            self.settings_action,
            self.lock_action,
            self.quit_action,
            *self.screen_actions,
            self.shortcuts_action,
        ]:
            self.addAction(action)
        self._sync_language_menu(i18n.current_language())

    def lock_cases(self) -> None:
        """Quick lock: hide every piece of personal data until someone logs in again."""
        if self.ctx.cases is not None:
            self.ctx.cases.lock()

    def shortcut_actions(self) -> list[QAction]:
        """Every action with a keyboard shortcut, for the shortcuts list in Help."""
        return [a for a in self.findChildren(QAction) if not a.shortcut().isEmpty()]

    def switch_language(self, code: str) -> None:
        self.ctx.settings.set("language", self.ctx.languages.apply(code))
        self.ctx.settings.save()
        self.ctx.events.settings_changed.emit()

    def _sync_language_menu(self, code: str) -> None:
        action = self.language_actions.get(code)
        if action is not None:
            action.setChecked(True)

    def show_shortcuts(self) -> None:
        from mrc_desktop.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.shortcut_actions(), self).exec()

    def show_about(self) -> None:
        from mrc_desktop.ui.about_dialog import AboutDialog

        AboutDialog(self.ctx, self).exec()

    # -- translation -----------------------------------------------------------
    def retranslate(self) -> None:
        self.file_menu.setTitle(_("&File"))
        self.view_menu.setTitle(_("&View"))
        self.help_menu.setTitle(_("&Help"))
        self.language_menu.setTitle(_("&Language"))
        self.settings_action.setText(_("&Settings…"))
        self.lock_action.setText(_("&Lock the case log"))
        self.quit_action.setText(_("&Quit"))
        self.shortcuts_action.setText(_("&Keyboard shortcuts"))
        self.about_action.setText(_("&About MRC Desk"))
        self.sidebar.setAccessibleName(_("Screens"))
        for row, spec in enumerate(self.specs):
            item = self.sidebar.item(row)
            item.setText(_(spec.title))
            item.setToolTip(_(spec.description) if spec.description else "")
            self.screen_actions[row].setText(_("Go to {screen}").format(screen=_(spec.title)))
        for code, action in self.language_actions.items():
            action.setText(language_label(self.ctx.languages, code))
        row = max(self.sidebar.currentRow(), 0)
        self.setWindowTitle(window_title(_(self.specs[row].title)))
        centre = self.ctx.settings.get("centre_name")
        language = current_language_label(self.ctx.languages)
        self.status_label.setText(
            _("{centre} · {language}").format(centre=centre, language=language)
            if centre
            else language
        )

    # -- geometry --------------------------------------------------------------
    def _restore_geometry(self) -> None:
        saved = self.ctx.settings.get("window_geometry")
        if not (saved and self.restoreGeometry(QByteArray.fromBase64(saved.encode("ascii")))):
            self.resize(QSize(1100, 720))

    def closeEvent(self, event: QCloseEvent) -> None:
        geometry = bytes(self.saveGeometry().toBase64().data()).decode("ascii")
        self.ctx.settings.set("window_geometry", geometry)
        self.ctx.settings.save()
        if self.ctx.cases is not None:
            self.ctx.cases.close()  # drafts are saved first; the key leaves memory
        super().closeEvent(event)
