"""A dismissible notice above the screens, for things the user must see but need not answer."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from mrc_desktop.i18n import _
from mrc_desktop.ui.translatable import Translatable


class NoticeBar(Translatable, QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notice_bar")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.close_button)
        self._messages: list[str] = []
        self.hide()
        self.retranslate()

    def retranslate(self) -> None:
        self.close_button.setText(_("Dismiss"))
        self.text.setText("\n".join(_(m) for m in self._messages))

    def add(self, message: str) -> None:
        """Show ``message`` (an N_-marked string, translated now and on every switch)."""
        self._messages.append(message)
        self.retranslate()
        self.show()

    def messages(self) -> list[str]:
        return list(self._messages)

    def dismiss(self) -> None:
        self._messages.clear()
        self.hide()
