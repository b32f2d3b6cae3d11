"""Reading what change capture wrote: this replica's id, cursors, changes to send.

The triggers themselves are SQL (``storage.change_capture``, installed by the case
schema's migration ``0004_change_capture``). This module is the sync side of them:

* ``replica_id`` — the desk id in this store's timestamps and oplog ``origin``.
* ``cursors`` — per origin desk, the last change this replica holds: "what I have",
  for a peer or the hub to send what comes after.
* ``changes_since`` — the oplog after those cursors, in change order.
* ``applying`` — switches capture off on this connection while received changes are
  written, so applying never re-captures them.

A cursor names a change: "hlc tbl row_id col" of the last one held from that origin.
Every replica numbers its own oplog, but a change's timestamp, table, row and column are
the same everywhere, and an origin makes its changes in that order (one event's columns
share a timestamp, so the timestamp alone could not say where a cut-off transfer
stopped). Each replica holds, for every origin, a beginning of that origin's changes
in this order — changes are sent in it, and a transfer that is cut off delivers a first
part — so "after my last" is exactly "what I am missing".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import sqlite_utils

from mrc_desktop.sync.changes import Change
from mrc_desktop.sync.hlc import Clock, Timestamp

Cursors = dict[str, str]


def replica_id(db: sqlite_utils.Database) -> str:
    return str(db.execute("select desk_id from sync_clock").fetchone()[0])


def read_clock(db: sqlite_utils.Database) -> Clock:
    """This replica's clock as stored, on the connection's wall clock (``hlc_wall()``)."""
    desk, last = db.execute("select desk_id, hlc from sync_clock").fetchone()
    return Clock(
        desk,
        Timestamp.parse(last) if last else None,
        wall_ms=lambda: int(db.execute("select hlc_wall()").fetchone()[0]),
    )


def save_clock(db: sqlite_utils.Database, clock: Clock) -> None:
    """Store the clock's last timestamp if it is ahead of the stored one (never back)."""
    if clock.last is not None:
        db.execute(
            "update sync_clock set hlc = ? where hlc < ?", [clock.last.text, clock.last.text]
        )


def origins(db: sqlite_utils.Database) -> list[str]:
    """Every origin desk in the oplog (a skip-scan of its index, not a walk of it)."""
    rows = db.execute(
        "with recursive o(origin) as (select min(origin) from oplog union all"
        " select (select min(origin) from oplog where origin > o.origin) from o"
        " where o.origin is not null) select origin from o where origin is not null"
    ).fetchall()
    return [row[0] for row in rows]


def change_key(change: Change) -> tuple[str, str, str, str]:
    """The order changes are sent and applied in: timestamp, then table, row, column."""
    return (change.hlc, change.tbl, change.row_id, change.col)


def cursors(db: sqlite_utils.Database) -> Cursors:
    """Per origin desk, the last change held here: "hlc tbl row_id col"."""
    held = {}
    for origin in origins(db):
        row = db.execute(
            "select hlc, tbl, row_id, col from oplog where origin = ?"
            " order by hlc desc, tbl desc, row_id desc, col desc limit 1",
            [origin],
        ).fetchone()
        held[origin] = " ".join(row)
    return held


def _cursor_key(cursor: str) -> list[str]:
    parts = cursor.split(" ", 3)
    return parts + [""] * (4 - len(parts))


def changes_since(
    db: sqlite_utils.Database,
    cursor_by_origin: Mapping[str, str],
    limit: int | None = None,
    only: Iterable[str] | None = None,
) -> list[Change]:
    """Every change held here that comes after the cursor of its origin, in change order
    (``change_key``), so that any first part of the list is a whole beginning of each
    origin's changes — what a transfer cut short delivers.

    Origins missing from ``cursor_by_origin`` are sent whole. ``limit`` keeps the first
    changes only (the rest follow with the next call, once the receiver's cursors moved).
    ``only`` restricts them to some origins (a desk sends the hub its own changes).
    """
    found: list[Change] = []
    wanted = None if only is None else set(only)
    for origin in origins(db):
        if wanted is not None and origin not in wanted:
            continue
        sql = (
            "select hlc, origin, tbl, row_id, col, value, base from oplog where origin = ?"
            " and (hlc, tbl, row_id, col) > (?, ?, ?, ?) order by hlc, tbl, row_id, col"
        )
        params: list[object] = [origin, *_cursor_key(cursor_by_origin.get(origin, ""))]
        if limit is not None:
            sql += " limit ?"
            params.append(limit)
        found += [Change(*row) for row in db.execute(sql, params)]
    found.sort(key=change_key)
    return found if limit is None else found[:limit]


@contextmanager
def applying(db: sqlite_utils.Database) -> Iterator[None]:
    """Capture is off on this connection inside the block (received changes)."""
    db.execute("select sync_set_applying(1)")
    try:
        yield
    finally:
        db.execute("select sync_set_applying(0)")
