"""The database side of change capture: SQL functions, the oplog, and capture triggers.

Sync (``mrc_desktop.sync``) merges changes field by field; it needs every change of a
synced column written down, with a hybrid logical clock (HLC) timestamp, by whatever
code made it. Triggers do that, so no write path can forget. They live here, below the
case log, because the functions they call must exist on *every* connection to the
case store — ``open_encrypted`` registers them — and storage is the one layer every
opener goes through. Nothing here knows which tables are cases: the case schema's
migration names them (``install``).

* ``hlc_now(last, desk)`` gives the next timestamp after ``last`` (``tick``); each
  trigger first advances the one-row ``sync_clock`` table with it, so the clock is
  shared by every connection and process and survives restarts: it never goes back.
* ``sync_applying()`` is 1 while incoming changes are applied (``sync_set_applying``):
  the triggers skip those writes, so applying never re-captures.
* ``hlc_wall()`` is the wall clock (ms) the connection's timestamps are built from;
  merge checks incoming timestamps against it.

A connection without these functions cannot write a synced row: SQLite stops the
statement with "no such function: sync_applying" (or ``hlc_now``).

Tables made by ``install``:

* ``oplog`` — one row per changed column: the HLC of the change (which names its
  desk), the origin desk, table, row id, column, the new value (the column's own SQLite
  value: text, integer, blob or null) and ``base``, the HLCs of the version(s) it
  replaced ('' for a first value; space-separated). Received changes are appended too,
  so a desk can forward them. The winning version of a field is its highest HLC here.
* ``sync_clock`` — this replica's desk id for HLCs and the last timestamp used.
* ``sync_tables`` — which tables and columns are captured (so a received change for
  anything else is refused).
* ``sync_pending`` — fields that won but cannot be written yet (their row is not
  complete, or names a parent row that has not arrived).
* ``conflicts`` — overwritten concurrent values (``mrc_desktop.sync.merge``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrc_desktop.storage.ids import uuid7

if TYPE_CHECKING:
    import sqlite_utils

    from mrc_desktop.storage.sqlite_build import Connection

COUNTER_MAX = 99_999
HLC_PATTERN = re.compile(
    r"^(\d{13})-(\d{5})-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
KEY = "id"  # every synced table's primary key: a UUIDv7 made on the desk
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def system_wall_ms() -> int:
    return time.time_ns() // 1_000_000


def format_hlc(ms: int, counter: int, desk_id: str) -> str:
    """The text form, which sorts as the timestamp does: ms, then counter, then desk."""
    return f"{ms:013d}-{counter:05d}-{desk_id}"


def tick(last: str, desk_id: str, wall_ms: int) -> str:
    """The next timestamp of ``desk_id`` after ``last`` ('' if none) at wall time ``wall_ms``.

    Wall time when it is ahead of the last timestamp, else the last one's milliseconds
    with the counter bumped (a full counter moves on to the next millisecond), so
    timestamps only grow even if the wall clock is set back.
    """
    if last:
        ms, counter = int(last[:13]), int(last[14:19])
    else:
        ms, counter = -1, 0
    if wall_ms > ms:
        return format_hlc(wall_ms, 0, desk_id)
    if counter >= COUNTER_MAX:
        return format_hlc(ms + 1, 0, desk_id)
    return format_hlc(ms, counter + 1, desk_id)


def register_functions(conn: Connection, wall_ms: Callable[[], int] = system_wall_ms) -> None:
    """Give ``conn`` the functions the capture triggers call (again: replaces them).

    ``wall_ms`` is the clock the connection's timestamps come from (tests pass a
    simulated one). Registering again also clears the applying flag.
    """
    applying = [0]

    def set_applying(flag: int) -> int:
        applying[0] = 1 if flag else 0
        return applying[0]

    conn.create_function("hlc_now", 2, lambda last, desk: tick(last or "", desk, wall_ms()))
    conn.create_function("hlc_wall", 0, wall_ms)
    conn.create_function("sync_applying", 0, lambda: applying[0])
    conn.create_function("sync_set_applying", 1, set_applying)


@dataclass(frozen=True)
class SyncedTable:
    """A table whose rows sync: every column but ``id`` is captured.

    ``append_only`` tables are only ever inserted into (their own triggers refuse
    UPDATE and DELETE), so only inserts are captured. ``quiet`` columns are bookkeeping
    (``updated_at``): merged like the others, but an overwritten value is no conflict.
    """

    name: str
    append_only: bool = False
    quiet: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapturedTable:
    """What ``sync_tables`` records about one captured table."""

    name: str
    position: int  # parents before children: rows are materialised in this order
    append_only: bool
    columns: tuple[str, ...]
    quiet: tuple[str, ...]


TABLES_DDL = (
    """create table if not exists sync_clock (
        id integer primary key check (id = 1), desk_id text not null, hlc text not null)""",
    # One version of a field per timestamp, stored by field: a field's history is one
    # range, its winner the highest timestamp in it. No rowid: the key is the row's only
    # index (the oplog holds a row per column version; an extra index would add ~40 %).
    """create table if not exists oplog (
        hlc text not null, origin text not null, tbl text not null, row_id text not null,
        col text not null, value, base text not null default '',
        primary key (tbl, row_id, col, hlc)) without rowid""",
    # Per origin in change order (timestamp, table, row, column: the key is appended):
    # cursors and changes_since (mrc_desktop.sync.capture).
    "create index if not exists oplog_origin on oplog (origin, hlc)",
    """create table if not exists sync_tables (
        tbl text primary key, position integer not null, append_only integer not null,
        columns text not null, quiet text not null)""",
    """create table if not exists sync_pending (
        tbl text not null, row_id text not null, col text not null,
        primary key (tbl, row_id, col)) without rowid""",
    """create table if not exists conflicts (
        id text primary key, tbl text not null, row_id text not null, col text not null,
        winner_hlc text not null, winner_value, loser_hlc text not null, loser_value,
        detected_at text not null, resolved integer not null default 0,
        unique (tbl, row_id, col, loser_hlc))""",
    "create index if not exists conflicts_open on conflicts (row_id) where resolved = 0",
)


def captured_tables(db: sqlite_utils.Database) -> dict[str, CapturedTable]:
    """The captured tables, by name, in materialisation order."""
    rows = db.execute(
        "select tbl, position, append_only, columns, quiet from sync_tables order by position"
    ).fetchall()
    return {
        r[0]: CapturedTable(
            r[0], r[1], bool(r[2]), tuple(json.loads(r[3])), tuple(json.loads(r[4]))
        )
        for r in rows
    }


def install(db: sqlite_utils.Database, tables: Sequence[SyncedTable]) -> None:
    """Capture changes of ``tables`` from now on (call it from a migration).

    Creates the sync tables if needed, (re)creates each table's triggers for its
    current columns, and writes the values already stored in columns not captured
    before as changes (one timestamp per row), so rows older than capture sync too.
    A later migration that adds a synced column calls this again.
    """
    for sql in TABLES_DDL:
        db.execute(sql)
    if db.execute("select count(*) from sync_clock").fetchone()[0] == 0:
        db.execute("insert into sync_clock (id, desk_id, hlc) values (1, ?, '')", [uuid7()])
    before = captured_tables(db)
    for position, table in enumerate(tables):
        if not _IDENTIFIER.match(table.name):
            raise ValueError(f"not a plain table name: {table.name!r}")
        columns = tuple(
            row[1] for row in db.execute(f'pragma table_info("{table.name}")') if row[1] != KEY
        )
        if not columns:
            raise ValueError(f"no table {table.name!r} to capture")
        for statement in capture_triggers(table, columns):
            db.execute(statement)
        db.execute(
            "insert or replace into sync_tables (tbl, position, append_only, columns, quiet)"
            " values (?, ?, ?, ?, ?)",
            [
                table.name,
                position,
                int(table.append_only),
                json.dumps(columns),
                json.dumps(table.quiet),
            ],
        )
        known = before[table.name].columns if table.name in before else ()
        _capture_existing(db, table.name, [c for c in columns if c not in known])


def capture_triggers(table: SyncedTable, columns: Sequence[str]) -> list[str]:
    """DROP and CREATE statements for one table's capture triggers."""
    name = table.name
    statements = [
        f"drop trigger if exists sync_capture_insert_{name}",
        f"drop trigger if exists sync_capture_update_{name}",
        f"drop trigger if exists sync_keep_id_{name}",
        # A row's id is how every replica knows it: it never changes.
        f'create trigger sync_keep_id_{name} before update of "{KEY}" on "{name}"'
        f' when old."{KEY}" is not new."{KEY}"'
        " begin select raise(abort, 'a synced row keeps its id'); end",
        _trigger(name, "insert", columns, changed=None),
    ]
    if not table.append_only:
        statements.append(_trigger(name, "update", columns, changed=columns))
    return statements


def _trigger(name: str, event: str, columns: Sequence[str], changed: Sequence[str] | None) -> str:
    """A trigger writing one oplog row per (changed) column, all with one new timestamp."""
    # A compound SELECT, not VALUES: SQLite 3.51 cannot name the columns of a multi-row
    # VALUES that reads new.* inside a trigger ("no such column: v.column2").
    if changed is None:
        picked = [(f"'{c}'", f'new."{c}"', "1") for c in columns]
        when = "sync_applying() = 0"
    else:
        picked = [(f"'{c}'", f'new."{c}"', f'old."{c}" is not new."{c}"') for c in columns]
        differs = " or ".join(f'old."{c}" is not new."{c}"' for c in changed)
        when = f"sync_applying() = 0 and ({differs})"
    name_sql, value_sql, flag_sql = picked[0]
    rows = " union all select ".join(
        [f"{name_sql} as column1, {value_sql} as column2, {flag_sql} as column3"]
        + [", ".join(p) for p in picked[1:]]
    )
    return f"""
        create trigger sync_capture_{event}_{name} after {event} on "{name}" when {when}
        begin
            update sync_clock set hlc = hlc_now(hlc, desk_id);
            insert into oplog (hlc, origin, tbl, row_id, col, value, base)
            select k.hlc, k.desk_id, '{name}', new."{KEY}", v.column1, v.column2,
                coalesce((select max(o.hlc) from oplog o where o.tbl = '{name}'
                    and o.row_id = new."{KEY}" and o.col = v.column1), '')
            from sync_clock k, (select {rows}) v where v.column3;
        end
    """


def _capture_existing(db: sqlite_utils.Database, name: str, columns: list[str]) -> None:
    """Write the stored values of ``columns`` as changes, one timestamp per row."""
    if not columns:
        return
    desk, last = db.execute("select desk_id, hlc from sync_clock").fetchone()
    wall = db.execute("select hlc_wall()").fetchone()[0]
    selected = ", ".join(f'"{c}"' for c in columns)
    rows: list[list[Any]] = []
    for row in db.execute(f'select "{KEY}", {selected} from "{name}" order by rowid').fetchall():
        last = tick(last, desk, wall)
        rows += [[last, desk, name, row[0], c, v] for c, v in zip(columns, row[1:], strict=True)]
    db.conn.executemany(
        "insert into oplog (hlc, origin, tbl, row_id, col, value, base)"
        " values (?, ?, ?, ?, ?, ?, '')",
        rows,
    )
    db.execute("update sync_clock set hlc = ?", [last])
