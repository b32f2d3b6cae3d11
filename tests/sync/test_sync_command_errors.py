"""`mrc sync` while MRC Desk holds the case store's write lock: one line, not a traceback."""

import pytest

from mrc_desktop import sync_commands
from mrc_desktop.cli import main
from mrc_desktop.storage.sqlite_build import sqlite


def test_a_busy_case_store_is_a_one_line_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def busy(_args: object) -> int:
        raise sqlite.OperationalError("database is locked")

    monkeypatch.setattr(sync_commands, "sync_command", busy)
    assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mrc: the case store stayed busy") and "Traceback" not in err
