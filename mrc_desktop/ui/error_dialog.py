"""Unhandled exceptions: logged and shown with "Copy details"; the app keeps running."""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import __version__
from mrc_desktop.i18n import _
from mrc_desktop.ui.translatable import translate_buttons

log = logging.getLogger("mrc_desktop.crash")


def error_details(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    """Type and stack only: exception messages can quote user input, so they are left out."""
    frames = "".join(traceback.format_tb(tb))
    return f"MRC Desk {__version__}\n{exc_type.__module__}.{exc_type.__qualname__}\n{frames}"


class ErrorDialog(QDialog):
    def __init__(self, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("error_dialog")
        self.setWindowTitle(_("Something went wrong"))
        message = QLabel(
            _(
                "MRC Desk hit an unexpected problem. What you saved is safe, and you can keep "
                "working. If this happens again, copy the details and send them to your "
                "support contact."
            )
        )
        message.setWordWrap(True)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.copy_button = QPushButton(_("&Copy details"))
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        translate_buttons(buttons)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.resize(560, 360)

    def copy(self) -> None:
        QApplication.clipboard().setText(self.details.toPlainText())
        self.copy_button.setText(_("Copied"))


def install_excepthook() -> None:
    """Route uncaught exceptions (including those raised in Qt slots) to the log and a dialog."""

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        details = error_details(exc_type, exc, tb)
        log.error("unhandled exception\n%s", details)
        if QApplication.instance() is not None:
            ErrorDialog(details, QApplication.activeWindow()).exec()

    sys.excepthook = hook
