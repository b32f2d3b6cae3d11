"""``desk.db``: this desk's identity and its start/stop record (no personal data).

It also keeps the library's bookmarks and recently opened articles, and the public key
of the hub this desk enrolled with (``hub_pin``): content packs are checked with it, and
a trainer installs one without unlocking the case log, where the enrolment is kept.
The desk id is a UUIDv7 made once, on first start; later the case store and
sync stamp it on every row as the origin desk. The run record lets the app say
"MRC Desk did not close properly last time" after a crash or power cut.

Opened on every start, so the usual path (nothing to migrate) uses the raw
connection and never imports sqlite-utils; migrations load it when needed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mrc_desktop import __version__
from mrc_desktop.storage.database import connect
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.storage.migrate import applied_names, apply_migrations, refuse_if_newer

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils import Migrations

MIGRATION_SET = "mrc_desktop.desk"
# Names in order; tests check this list matches the migration set below.
MIGRATION_NAMES = (
    "0001_desk_identity",
    "0002_app_runs",
    "0003_library_state",
    "0004_hub_pin",
)


def migration_set() -> Migrations:
    from sqlite_utils import Migrations

    migrations = Migrations(MIGRATION_SET)

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

    @migrations(name="0003_library_state")
    def _m0003(db: sqlite_utils.Database) -> None:
        db.execute(
            "create table bookmarks (slug text primary key, lang text not null,"
            " created_at text not null)"
        )
        db.execute(
            "create table recent (slug text primary key, lang text not null,"
            " opened_at text not null)"
        )

    @migrations(name="0004_hub_pin")
    def _m0004(db: sqlite_utils.Database) -> None:
        # One row: the hub's Ed25519 public key (base64, as enrolment pins it). Public, not
        # secret; a copy of what the encrypted case store holds, for content packs.
        db.execute(
            "create table hub_pin (id integer primary key check (id = 1),"
            " hub_url text not null, hub_key text not null, pinned_at text not null)"
        )

    return migrations


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class HubPin:
    hub_url: str
    hub_key: str  # base64 Ed25519 verify key
    pinned_at: str


@dataclass(frozen=True)
class DeskState:
    desk_id: str
    created_at: str
    run_id: str
    previous_run_unclean: bool


class DeskStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)
        try:
            applied = applied_names(self.conn, MIGRATION_SET)
            refuse_if_newer(path, applied, list(MIGRATION_NAMES))
            if applied != list(MIGRATION_NAMES):
                import sqlite_utils

                apply_migrations(sqlite_utils.Database(self.conn), migration_set(), path)
        except BaseException:
            self.conn.close()
            raise

    def start_run(self) -> DeskState:
        """Make the desk identity if missing, record this run, report an unclean last run."""
        with self.conn:
            row = self.conn.execute("select desk_id, created_at from desk_identity").fetchone()
            if row is None:
                row = (uuid7(), _now())
                self.conn.execute(
                    "insert into desk_identity values (?, ?, ?)", [row[0], row[1], __version__]
                )
            last = self.conn.execute(
                "select ended_at from app_runs order by rowid desc limit 1"
            ).fetchone()
            run_id = uuid7()
            self.conn.execute(
                "insert into app_runs (run_id, started_at, app_version) values (?, ?, ?)",
                [run_id, _now(), __version__],
            )
        return DeskState(row[0], row[1], run_id, last is not None and last[0] is None)

    def desk_id(self) -> str:
        """This desk's identity, made on first use (for commands that do not record a run)."""
        with self.conn:
            row = self.conn.execute("select desk_id from desk_identity").fetchone()
            if row is None:
                row = (uuid7(),)
                self.conn.execute(
                    "insert into desk_identity values (?, ?, ?)", [row[0], _now(), __version__]
                )
        return str(row[0])

    def end_run(self, run_id: str) -> None:
        with self.conn:
            self.conn.execute("update app_runs set ended_at = ? where run_id = ?", [_now(), run_id])

    def pin_hub(self, hub_url: str, hub_key: str) -> None:
        """Remember the hub's public key (at enrolment, and again at every sync)."""
        with self.conn:
            self.conn.execute(
                "insert into hub_pin values (1, ?, ?, ?) on conflict (id) do update set"
                " hub_url = excluded.hub_url, hub_key = excluded.hub_key,"
                " pinned_at = excluded.pinned_at"
                " where hub_pin.hub_url is not excluded.hub_url"
                " or hub_pin.hub_key is not excluded.hub_key",
                [hub_url, hub_key, _now()],
            )

    def hub_pin(self) -> HubPin | None:
        row = self.conn.execute("select hub_url, hub_key, pinned_at from hub_pin").fetchone()
        return None if row is None else HubPin(str(row[0]), str(row[1]), str(row[2]))

    def table_names(self) -> list[str]:
        rows = self.conn.execute("select name from sqlite_master where type = 'table'").fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        self.conn.close()
