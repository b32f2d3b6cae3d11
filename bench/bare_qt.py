"""Baseline for the start-up benchmark: a bare PySide6 QMainWindow, shown, then quit."""

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1100, 720)
window.show()


def done() -> None:
    print("bare: main window shown", flush=True)
    app.quit()


QTimer.singleShot(0, done)
sys.exit(app.exec())
