"""A form field with its message beneath: how every case-log form shows what is wrong.

The message sits right under the field it is about (read out with it by screen readers via
the field's accessible description), in one colour used by every form.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

ERROR_STYLE = "color: #a40000;"


def error_label(object_name: str = "") -> QLabel:
    """A hidden, wrapping label for a problem message."""
    label = QLabel()
    if object_name:
        label.setObjectName(object_name)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def show_message(label: QLabel, text: str, problem: bool = False) -> None:
    """Show ``text`` in ``label`` (hidden when empty), in the error colour for a problem."""
    label.setText(text)
    label.setVisible(bool(text))
    label.setStyleSheet(ERROR_STYLE if problem else "")


def with_message(field: QWidget, message: QLabel) -> QWidget:
    """One cell holding ``field`` with ``message`` under it (for a form row)."""
    cell = QWidget()
    layout = QVBoxLayout(cell)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(field)
    layout.addWidget(message)
    return cell
