"""What screens are given: paths, settings, desk identity and the language switcher.

Passed explicitly to each screen's factory, so no screen reaches into a global
main-window object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QLibraryInfo, QLocale, QObject, Qt, QTranslator, Signal
from PySide6.QtWidgets import QApplication

from mrc_desktop import i18n
from mrc_desktop.settings import Settings
from mrc_desktop.storage.desk_store import DeskState, DeskStore
from mrc_desktop.storage.paths import AppPaths, locales_dir
from mrc_desktop.typefaces import ui_font
from mrc_desktop.ui.translatable import broadcast_language_change

if TYPE_CHECKING:
    from mrc_desktop.ui.cases.session import CaseSession
    from mrc_desktop.ui.sync.service import SyncService


class LanguageSwitcher(QObject):
    """Switches the interface language at runtime: catalogs, Qt's own texts, font, direction."""

    language_changed = Signal(str)

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        self._qt_translator: QTranslator | None = None
        self.catalogs = {c.code: c for c in i18n.available_languages(locales_dir())}

    def offered(self) -> list[i18n.CatalogInfo]:
        return list(self.catalogs.values())

    def apply(self, code: str) -> str:
        """Switch to ``code`` (falling back to English if not offered); return what is active."""
        if code not in self.catalogs:
            code = i18n.SOURCE_LANGUAGE
        active = i18n.set_language(code, locales_dir())
        self._load_qt_translations(active)
        QLocale.setDefault(QLocale(active))
        self._app.setFont(ui_font(active, self._app.font().pointSizeF()))
        direction = (
            Qt.LayoutDirection.RightToLeft
            if i18n.is_rtl(active)
            else (Qt.LayoutDirection.LeftToRight)
        )
        self._app.setLayoutDirection(direction)
        broadcast_language_change()
        self.language_changed.emit(active)
        return active

    def _load_qt_translations(self, code: str) -> None:
        if self._qt_translator is not None:
            self._app.removeTranslator(self._qt_translator)
            self._qt_translator = None
        translator = QTranslator(self)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if code != i18n.SOURCE_LANGUAGE and translator.load(f"qtbase_{code}", folder):
            self._app.installTranslator(translator)
            self._qt_translator = translator

    def is_draft(self, code: str) -> bool:
        info = self.catalogs.get(code)
        return bool(info and info.is_draft)


class AppEvents(QObject):
    """Writes announce what changed; screens subscribe and refresh themselves."""

    settings_changed = Signal()
    open_article = Signal(str)  # slug: show it in the Library
    # A fee check to attach to the case open in the Cases screen. The payload is a dict
    # with "result" (fee_json.result_to_dict); the receiver sets "added_to" (a case
    # reference) when it attached it, so the sender can say where it went.
    attach_fee_check = Signal(object)
    # Show the case list filtered to the cases edited at two desks (the Sync screen's
    # "conflicts to review" button); the Cases screen answers it.
    show_conflicted_cases = Signal()


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    desk: DeskState
    languages: LanguageSwitcher
    events: AppEvents
    store: DeskStore
    cases: CaseSession | None = field(default=None)
    sync: SyncService | None = field(default=None)

    def case_session(self) -> CaseSession:
        """The case log, made on first use (its modules stay off the start-up path)."""
        if self.cases is None:
            from mrc_desktop.ui.cases.session import CaseSession

            self.cases = CaseSession(self.paths, self.desk.desk_id)
            self.sync_service()  # background sync follows the case log from its start
        return self.cases

    def sync_service(self) -> SyncService:
        """Sync with the hub (Sync now, background sync, USB), made with the case log."""
        session = self.case_session()
        if self.sync is None:
            from mrc_desktop.ui.sync.service import SyncService

            self.sync = SyncService(self, session)
        return self.sync
