"""The Cases screen: set-up, unlock, or the case log itself, following the session state."""

from __future__ import annotations

from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from mrc_desktop.ui.cases.idle_lock import IdleLock
from mrc_desktop.ui.cases.session import LOCKED, MISSING, UNLOCKED
from mrc_desktop.ui.cases.unlock_page import SetupPage, UnlockPage
from mrc_desktop.ui.cases.workspace import CaseWorkspace
from mrc_desktop.ui.context import AppContext


class CasesScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cases_screen")
        self.ctx = ctx
        self.session = ctx.case_session()
        self.setup = SetupPage(self.session)
        self.unlock = UnlockPage(self.session)
        self.workspace = CaseWorkspace(self.session, ctx)
        self.stack = QStackedWidget()
        for page in (self.setup, self.unlock, self.workspace):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.idle = IdleLock(self.session, ctx.settings, self)
        self.session.state_changed.connect(self._show_state)
        ctx.events.show_conflicted_cases.connect(self.show_conflicted_cases)
        self._show_state(self.session.state)

    def show_conflicted_cases(self) -> None:
        """Come to the front with the list filtered to cases edited at two desks (asked by
        the Sync screen). While the log is locked the filter waits for the unlock."""
        show_screen = getattr(self.window(), "show_screen", None)
        if callable(show_screen):
            show_screen("cases")
        self.workspace.show_edited_at_two_desks()

    def _show_state(self, state: str) -> None:
        if state == MISSING or (state == LOCKED and not self.session.has_users()):
            self.stack.setCurrentWidget(self.setup)
        elif state == UNLOCKED:
            self.stack.setCurrentWidget(self.workspace)
        else:
            self.stack.setCurrentWidget(self.unlock)
