"""Open a SQLite database the one way MRC Desk does: WAL, foreign keys, busy timeout."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from mrc_desktop.storage import sqlite_build

BUSY_TIMEOUT_MS = 5000


class DatabaseOpenError(RuntimeError):
    """The file exists but is not a database this app can open; ``path`` names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) an unencrypted database for derived or public data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite_build.connect(str(path), timeout_s=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("pragma foreign_keys = on")
        mode = conn.execute("pragma journal_mode = wal").fetchone()[0]
        if str(mode).lower() != "wal":
            raise DatabaseOpenError(path, f"could not switch to WAL journal (got {mode})")
    except sqlite_build.sqlite.DatabaseError as exc:
        conn.close()
        raise DatabaseOpenError(path, str(exc)) from exc
    return sqlite_utils.Database(conn)
