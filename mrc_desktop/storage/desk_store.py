"""``desk.db``: this desk's identity and its start/stop record (no personal data).

The desk id is a UUIDv7 made once, on first start; later the case store and
sync stamp it on every row as the origin desk. The run record lets the app say
"MRC Desk did not close properly last time" after a crash or power cut.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from mrc_desktop import __version__
from mrc_desktop.storage.database import open_database
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.storage.migrate import apply_migrations

migrations = Migrations("mrc_desktop.desk")


@migrations(name="0001_desk_identity")
def _m0001(db: sqlite_utils.Database) -> None:
    db.execute(
        "create table desk_identity ("
        " desk_id text primary key,"
        " created_at text not null,"
        " created_by_version text not null)"
    )


@migrations(name="0002_app_runs")
def _m0002(db: sqlite_utils.Database) -> None:
    db.execute(
        "create table app_runs ("
        " run_id text primary key,"
        " started_at text not null,"
        " app_version text not null,"
        " ended_at text)"
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class DeskState:
    desk_id: str
    created_at: str
    run_id: str
    previous_run_unclean: bool


class DeskStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = open_database(path)
        apply_migrations(self.db, migrations, path)

    def start_run(self) -> DeskState:
        """Make the desk identity if missing, record this run, report an unclean last run."""
        with self.db.atomic():
            row = self.db.execute("select desk_id, created_at from desk_identity").fetchone()
            if row is None:
                row = (uuid7(), _now())
                self.db.execute(
                    "insert into desk_identity values (?, ?, ?)", [row[0], row[1], __version__]
                )
            last = self.db.execute(
                "select ended_at from app_runs order by rowid desc limit 1"
            ).fetchone()
            run_id = uuid7()
            self.db.execute(
                "insert into app_runs (run_id, started_at, app_version) values (?, ?, ?)",
                [run_id, _now(), __version__],
            )
        return DeskState(row[0], row[1], run_id, last is not None and last[0] is None)

    def end_run(self, run_id: str) -> None:
        with self.db.atomic():
            self.db.execute("update app_runs set ended_at = ? where run_id = ?", [_now(), run_id])

    def desk_id(self) -> str | None:
        row = self.db.execute("select desk_id from desk_identity").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self.db.close()
