"""Reading what change capture wrote: this replica's id, cursors, changes to send.

The triggers themselves are SQL (``storage.change_capture``, installed by the case
schema's migration ``0004_change_capture``). This module is the sync side of them:

* ``replica_id`` — the desk id in this store's timestamps and oplog ``origin``.
* ``cursors`` — per origin desk, the highest timestamp this replica holds: "what I
  have", for a peer or the hub to send what comes after.
* ``changes_since`` — the oplog after those cursors, in the order it was written.
* ``applying`` — switches capture off on this connection while received changes are
  written, so applying never re-captures them.

A cursor is a timestamp, not a sequence number: every replica numbers its own oplog,
but a desk's timestamps are the same everywhere. Each replica holds, for every origin,
a prefix of that origin's changes in timestamp order (an origin stamps its changes in
increasing order, and ``merge.apply_changes`` appends received ones in timestamp
order), so "after my highest" is exactly "what I am missing" — provided a transfer that
is cut off delivers a prefix, in oplog order, of what was sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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


def cursors(db: sqlite_utils.Database) -> Cursors:
    """Per origin desk, the highest timestamp held here."""
    rows = db.execute("select origin, max(hlc) from oplog group by origin").fetchall()
    return {origin: hlc for origin, hlc in rows}


def changes_since(
    db: sqlite_utils.Database, cursor_by_origin: Mapping[str, str], limit: int | None = None
) -> list[Change]:
    """Every change held here that is after the cursor of its origin, in oplog order.

    Origins missing from ``cursor_by_origin`` are sent whole. ``limit`` keeps the first
    changes only (the rest follow with the next call, once the receiver's cursors moved).
    """
    rows: list[tuple[int, Change]] = []
    for (origin,) in db.execute("select distinct origin from oplog").fetchall():
        after = cursor_by_origin.get(origin, "")
        sql = (
            "select seq, hlc, origin, tbl, row_id, col, value, base from oplog"
            " where origin = ? and hlc > ? order by hlc"
        )
        params: list[object] = [origin, after]
        if limit is not None:
            sql += " limit ?"
            params.append(limit)
        rows += [(r[0], Change(*r[1:])) for r in db.execute(sql, params)]
    rows.sort(key=lambda row: row[0])
    changes = [change for _seq, change in rows]
    return changes if limit is None else changes[:limit]


@contextmanager
def applying(db: sqlite_utils.Database) -> Iterator[None]:
    """Capture is off on this connection inside the block (received changes)."""
    db.execute("select sync_set_applying(1)")
    try:
        yield
    finally:
        db.execute("select sync_set_applying(0)")
