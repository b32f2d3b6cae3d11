"""Re-translation at runtime: widgets re-read their strings on QEvent.LanguageChange."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QWidget

from mrc_desktop.i18n import _, pgettext


class Translatable:
    """Mixin for QWidget subclasses: implement ``retranslate()``; it runs on every switch."""

    def retranslate(self) -> None:
        raise NotImplementedError

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)  # type: ignore[misc]


def broadcast_language_change() -> None:
    """Tell every window (and, through Qt, every child) that the language changed."""
    for widget in QApplication.topLevelWidgets():
        if shiboken6.isValid(widget):
            QApplication.sendEvent(widget, QEvent(QEvent.Type.LanguageChange))


def translate_buttons(box: QDialogButtonBox) -> None:
    """Label standard buttons from our catalogs.

    Qt ships qtbase translations for Arabic only of our 13 languages, so the
    standard OK/Cancel/Close texts would stay English elsewhere.
    """
    labels = {
        QDialogButtonBox.StandardButton.Ok: pgettext("button", "OK"),
        QDialogButtonBox.StandardButton.Cancel: pgettext("button", "Cancel"),
        QDialogButtonBox.StandardButton.Close: pgettext("button", "Close"),
        QDialogButtonBox.StandardButton.Save: pgettext("button", "Save"),
        QDialogButtonBox.StandardButton.Yes: pgettext("button", "Yes"),
        QDialogButtonBox.StandardButton.No: pgettext("button", "No"),
    }
    for which, text in labels.items():
        button = box.button(which)
        if button is not None:
            button.setText(text)


def window_title(screen: str) -> str:
    # TRANSLATORS: the window title; {screen} is the name of the open screen.
    return _("{screen} — MRC Desk").format(screen=screen)


__all__ = ["QWidget", "Translatable", "broadcast_language_change", "translate_buttons"]
