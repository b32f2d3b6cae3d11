"""Idle auto-lock: after some minutes without keyboard or mouse use, the case log locks.

Locking hides every piece of personal data (screens clear themselves on
``state_changed``) and drafts are saved first, so nothing typed is lost. The delay is the
``auto_lock_minutes`` setting (default 5).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from mrc_desktop.settings import Settings
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession

ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
    QEvent.Type.InputMethod,
}


class IdleLock(QObject):
    def __init__(self, session: CaseSession, settings: Settings, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._idle)
        self._watching = False
        session.state_changed.connect(self._state_changed)
        self._state_changed(session.state)

    def interval_ms(self) -> int:
        return int(self.settings.get("auto_lock_minutes")) * 60_000

    def _state_changed(self, state: str) -> None:
        app = QApplication.instance()
        if state == UNLOCKED:
            self.timer.start(self.interval_ms())
            if not self._watching and app is not None:
                app.installEventFilter(self)  # only while unlocked: no cost otherwise
                self._watching = True
        else:
            self.timer.stop()
            if self._watching and app is not None:
                app.removeEventFilter(self)
                self._watching = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY:
            self.timer.start(self.interval_ms())
        return False

    def _idle(self) -> None:
        self.session.lock()
