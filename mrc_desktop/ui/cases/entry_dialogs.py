"""Small dialogs for workflow steps: note, action, referral, outcome, follow-up.

Each dialog collects a few fields and hands them to a ``cases.workflow`` function; if that
raises ``ValidationError`` the messages appear beside the fields and the dialog stays open,
so nothing is written until everything is right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.cases.repository import ValidationError
from mrc_desktop.i18n import _
from mrc_desktop.ui.translatable import translate_buttons
from mrc_desktop.ui.widgets.field_messages import ERROR_STYLE, error_label, with_message


class StepDialog(QDialog):
    """A form of named rows; ``submit(values)`` writes them or raises ValidationError."""

    def __init__(
        self,
        title: str,
        submit: Callable[[dict[str, Any]], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("step_dialog")
        self._submit = submit
        self.result_value: Any = None
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.form = QFormLayout()
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        translate_buttons(self.buttons)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)

    def add_row(self, name: str, label: str, widget: QWidget) -> QWidget:
        widget.setObjectName(f"step_{name}")
        widget.setAccessibleName(label)
        error = error_label()
        self.form.addRow(label, with_message(widget, error))
        self.inputs[name] = widget
        self.errors[name] = error
        return widget

    def add_text(self, name: str, label: str, lines: int = 1, text: str = "") -> QWidget:
        if lines > 1:
            edit = QPlainTextEdit(text)
            edit.setMinimumHeight(24 * lines)
            return self.add_row(name, label, edit)
        return self.add_row(name, label, QLineEdit(text))

    def add_choice(
        self, name: str, label: str, choices: dict[str, str], editable: bool = False
    ) -> QComboBox:
        combo = QComboBox()
        combo.setEditable(editable)
        for key, text in choices.items():
            combo.addItem(text, key)
        self.add_row(name, label, combo)
        return combo

    def add_date(self, name: str, label: str, value: dt.date | None = None) -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        day = value or dt.date.today()
        edit.setDate(QDate(day.year, day.month, day.day))
        self.add_row(name, label, edit)
        return edit

    def values(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, widget in self.inputs.items():
            if isinstance(widget, QDateEdit):
                result[name] = widget.date().toString("yyyy-MM-dd")
            elif isinstance(widget, QComboBox):
                data = widget.currentData()
                text = widget.currentText()
                # An editable combo: typed text that matches no item is the value itself.
                matches = widget.itemText(widget.currentIndex()) == text
                result[name] = data if data is not None and matches else text
            elif isinstance(widget, QLineEdit):
                result[name] = widget.text()
            elif isinstance(widget, QPlainTextEdit):
                result[name] = widget.toPlainText()
        return result

    def _accept(self) -> None:
        for error in self.errors.values():
            error.hide()
        try:
            self.result_value = self._submit(self.values())
        except ValidationError as exc:
            unplaced: list[str] = []
            for name, problem in exc.problems.items():
                label = self.errors.get(name)
                if label is None:
                    unplaced.append(_(problem))
                    continue
                label.setText(_(problem))
                label.show()
            self.message.setText(" ".join(unplaced))
            return
        self.accept()
