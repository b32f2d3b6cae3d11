"""Open a SQLite database the one way MRC Desk does: WAL, foreign keys, busy timeout.

``connect`` gives the raw connection (cheap: no sqlite-utils import, which
costs ~130 ms and matters at start-up); ``open_database`` wraps it in a
``sqlite_utils.Database`` for everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mrc_desktop.storage import sqlite_build
from mrc_desktop.storage.writer_turns import writer_turn

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 5000


class DatabaseOpenError(RuntimeError):
    """The file exists but is not a database this app can open; ``path`` names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def connect(path: Path) -> sqlite_build.Connection:
    """A connection with WAL, foreign keys and a busy timeout, or DatabaseOpenError."""
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
    return conn


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) a database through sqlite-utils."""
    import sqlite_utils

    return sqlite_utils.Database(connect(path))


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One transaction for a write, started with ``BEGIN IMMEDIATE``.

    ``Database.atomic()`` starts with a plain ``BEGIN``: the transaction first reads (a
    snapshot), and if another connection — the daily backup, a second window, the
    ``mrc`` command — commits before it writes, SQLite refuses the upgrade at once with
    "database is locked", whatever the busy timeout. Taking the write lock first makes
    the writer wait its turn instead. Nested use becomes a savepoint, as with atomic().
    Threads of this process writing the same file are served in the order they asked
    (``writer_turns``): without it, a worker's back-to-back transactions starve a save.
    """
    conn = db.conn
    if conn.in_transaction:
        with db.atomic():
            yield db
        return
    path = conn.execute("pragma database_list").fetchone()[2]
    with writer_turn(path, BUSY_TIMEOUT_MS / 1000):
        conn.execute("begin immediate")
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        conn.commit()
