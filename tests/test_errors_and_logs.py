"""Unhandled errors are logged without personal data and shown; the app keeps running."""

import logging
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from mrc_desktop.logs import LOG_NAME, setup_logging
from mrc_desktop.ui import error_dialog
from mrc_desktop.ui.error_dialog import ErrorDialog, error_details, install_excepthook


def test_log_file_masks_phone_numbers_and_emails(tmp_path: Path) -> None:
    path = setup_logging(tmp_path)
    logging.getLogger("mrc_desktop.test").warning("sent to +855 12 345 678 and worker@example.org")
    text = path.read_text("utf-8")
    assert "345 678" not in text and "example.org" not in text
    assert "[number]" in text and "[email]" in text
    assert path.name == LOG_NAME


def test_details_leave_out_the_exception_message() -> None:
    typed_by_user = "".join(["Sokha Chan", ", +855 12 345 678"])
    try:
        raise ValueError(typed_by_user)
    except ValueError:
        details = error_details(*sys.exc_info())  # type: ignore[arg-type]
    assert "ValueError" in details and "test_details_leave_out" in details
    assert "Sokha" not in details and "345" not in details


def test_unhandled_exception_is_logged_and_shown(
    qtbot: QtBot,
    qapp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    log_path = setup_logging(tmp_path)
    shown: list[ErrorDialog] = []

    def fake_exec(dialog: ErrorDialog) -> int:
        shown.append(dialog)
        return 0

    monkeypatch.setattr(ErrorDialog, "exec", fake_exec)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook()
    secret = "".join(["pri", "vate"])
    try:
        raise KeyError(secret)
    except KeyError:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    assert len(shown) == 1
    dialog = shown[0]
    qtbot.addWidget(dialog)
    assert "KeyError" in dialog.details.toPlainText()
    dialog.copy_button.click()
    assert "KeyError" in qapp.clipboard().text()
    assert "unhandled exception" in log_path.read_text("utf-8")
    assert "private" not in log_path.read_text("utf-8")
    assert error_dialog.log.name.startswith("mrc_desktop")
