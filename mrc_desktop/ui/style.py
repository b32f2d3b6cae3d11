"""The app's look: a light style sheet over Qt's Fusion style, same on every desk."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QLabel#screen_heading { font-size: 18pt; font-weight: bold; padding: 4px 0 8px 0; }
QLabel#field_error { color: #b00020; font-weight: bold; }
QLabel#settings_saved { color: #1b5e20; }
QWidget#notice_bar { background: #fff4ce; border: 1px solid #e0c060; border-radius: 4px; }
QListWidget#sidebar { font-size: 12pt; }
QListWidget#sidebar::item { padding: 8px 10px; }
QListWidget#sidebar::item:selected { background: #1f5f8b; color: white; }
QGroupBox { font-weight: bold; }
"""


def apply_style(app: QApplication) -> None:
    style = app.style()
    if style is None or style.name().lower() != "fusion":  # loading a style costs ~20 ms
        app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
