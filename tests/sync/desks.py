"""Invented desks for sync tests: an encrypted case store each, a user, a settable clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.storage.change_capture import register_functions
from mrc_desktop.sync import capture
from tests.fast_keys import FAST, MIN_COST, PASS

START_MS = 1_790_000_000_000  # a fixed wall time (2026-09), so runs repeat exactly


@dataclass
class Desk:
    """One desk: its store, a supervisor's repository, and a wall clock the test sets."""

    name: str
    path: Path
    db: sqlite_utils.Database
    repo: CaseRepository
    wall_ms: int = START_MS

    @property
    def id(self) -> str:
        return capture.replica_id(self.db)

    def set_clock(self, wall_ms: int) -> None:
        self.wall_ms = wall_ms

    def reopen(self) -> None:
        """Close and open the store again (a restarted desk), keeping the test clock."""
        self.db.close()
        self.db = open_case_store(self.path, PASS)
        self._attach_clock()
        self.repo = CaseRepository(self.db, self.repo.user, self.repo.desk_id)

    def _attach_clock(self) -> None:
        register_functions(self.db.conn, wall_ms=lambda: self.wall_ms)


def open_desk(folder: Path, name: str, wall_ms: int = START_MS) -> Desk:
    path = folder / f"{name}.db"
    db = open_case_store(path, PASS, create=True, params=FAST)
    desk_id = capture.replica_id(db)
    user = create_user(db, desk_id, f"sup-{name}", f"Supervisor {name}", "supervisor",
                       "password123", **MIN_COST)  # fmt: skip
    desk = Desk(name, path, db, CaseRepository(db, user, desk_id), wall_ms)
    desk._attach_clock()
    return desk


def send(source: Desk, target: Desk) -> Any:
    """Everything ``source`` holds that ``target`` lacks, applied at ``target``."""
    from mrc_desktop.sync.merge import apply_changes

    changes = capture.changes_since(source.db, capture.cursors(target.db))
    return apply_changes(target.db, changes)


def sync(a: Desk, b: Desk) -> None:
    send(a, b)
    send(b, a)


def dump(db: sqlite_utils.Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every synced table's rows (all columns but the local rowid), sorted."""
    tables = [r[0] for r in db.execute("select tbl from sync_tables order by position")]
    return {t: sorted(db.execute(f'select * from "{t}"').fetchall()) for t in tables}


def oplog(db: sqlite_utils.Database, **where: str) -> list[dict[str, Any]]:
    """Oplog rows (matching ``where``) in change order: the newest last."""
    clauses = " and ".join(f"{k} = ?" for k in where) or "1"
    cursor = db.execute(
        f"select * from oplog where {clauses} order by hlc, tbl, row_id, col", list(where.values())
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
