"""Guards against binding bugs that would crash a desk after hours of use."""

import sys

from PySide6.QtWidgets import QApplication, QComboBox


def test_void_qt_calls_keep_none_alive(qapp: QApplication) -> None:
    """PySide6 6.12.0 dropped a reference to None on every call returning void; after
    enough calls Python aborts with 'deallocating None'."""
    box = QComboBox()
    before = sys.getrefcount(None)
    for _ in range(2000):
        box.clear()
        box.addItem("x", "code")
    assert sys.getrefcount(None) >= before - 50
