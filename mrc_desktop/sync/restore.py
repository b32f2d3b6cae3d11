"""What a case store restored from a backup must forget and remember before it syncs again.

A backup holds the oplog, clock, outbox and cursors of the day it was made. The desk it came
from may have gone on after that: edited cases, sent batches the hub stored. Putting the old
store back and syncing as if nothing happened would go wrong three ways:

* **the clock**: the restored clock is behind timestamps the same replica id already used
  after the backup; a new edit could get one of them with another value, and every replica
  would refuse the second as "same timestamp, another value";
* **the chain**: the restored outbox would sign batch numbers the hub already holds with
  other content (a fork, 409 — refused for good);
* **the feed**: a desk never receives its own batches, so the edits it made after the backup
  would never come back.

So a restored store starts as a **new replica** and a **new desk**. It writes under a new
replica id (the old one is *retired*: its changes here that the hub may not have — those in
batches the hub had not acknowledged, and those never put into a batch — are still this
desk's to send, from a cursor computed here). It forgets its sync identity and enrolment but
keeps the hub's address, key and pinned certificate, so ``mrc enrol`` (or the Sync screen) asks
the same hub again and the admin approves it like any new desk. To the hub and the other desks
the old desk is just another desk of the centre: its batches, including those made after the
backup, reach the restored store through the feed like anyone's. What it had already
received stays (``sync_chain``); for the old desk's own chain it holds exactly the batches
the hub had acknowledged, so only the later ones come back.
"""

from __future__ import annotations

import sqlite_utils

from mrc_desktop.storage.database import write_transaction
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.batches import ChainLink, own_batch_changes, prev_hash_of
from mrc_desktop.sync.capture import replica_id
from mrc_desktop.sync.state import load_state, now_text, store_link

RESTORED_NOTE = "restored from a backup: enrol again (mrc enrol --hub URL), as a new desk"


def start_as_new_desk(db: sqlite_utils.Database) -> str:
    """Make a just-restored store a new replica and an unenrolled desk; return the new
    replica id. One transaction: it is done whole or not at all."""
    with write_transaction(db):
        state = load_state(db)
        old = replica_id(db)
        retired = {old: state.send_cursor}
        for origin, cursor in db.execute(
            "select replica_id, send_cursor from sync_retired_replicas"
        ).fetchall():
            retired.setdefault(origin, cursor)
        # Changes in batches the hub never acknowledged may not have reached it: send them
        # again (the other desks skip any they already hold).
        for (signed,) in db.execute("select signed from sync_outbox").fetchall():
            for change in own_batch_changes(signed):
                origin = str(change["origin"])
                if origin in retired:
                    retired[origin] = min(retired[origin], _just_before(change), key=_order)
        if state.desk_id and state.acked_seq > 0:
            # The batches the hub acknowledged were made from this store: they are here.
            # Only the old desk's later ones need to come back through the feed.
            store_link(db, state.desk_id, _acked_link(db, state.desk_id, state.acked_seq))
        new = uuid7()
        now = now_text()
        db.execute("update sync_clock set desk_id = ?", [new])
        db.conn.executemany(
            "insert into sync_retired_replicas (replica_id, send_cursor, retired_at)"
            " values (?, ?, ?) on conflict (replica_id) do update set"
            " send_cursor = excluded.send_cursor",
            [(origin, cursor, now) for origin, cursor in retired.items()],
        )
        db.execute("delete from sync_outbox")
        db.execute("delete from sync_identity")
        # The hub's consent record is per centre, but the consent changes in unacknowledged
        # batches may never have arrived: carry each case's consent again.
        db.execute("update sync_consent set sent_hlc = ''")
        db.execute(
            "update sync_state set desk_id = ?, enrol_code = null, enrol_status = null,"
            " centre_id = null, certificate = null, feed_cursor = 0, send_cursor = '',"
            " sent_seq = 0, sent_hash = null, acked_seq = 0, last_error = ?",
            [uuid7(), f"{now} {RESTORED_NOTE}"],
        )
        return new


def _just_before(change: dict[str, object]) -> str:
    """A send cursor that the change itself comes after: its key with an empty column (the
    cursor compares as (hlc, tbl, row_id, col), and no column name is empty)."""
    return f"{change['hlc']} {change['tbl']} {change['row_id']} "


def _order(cursor: str) -> list[str]:
    parts = cursor.split(" ", 3)
    return parts + [""] * (4 - len(parts))


def _acked_link(db: sqlite_utils.Database, desk_id: str, acked: int) -> ChainLink:
    """The chain link of batch ``acked`` of this desk: the last one made, or the one the
    oldest unacknowledged batch follows."""
    state = load_state(db)
    if state.sent_seq == acked and state.sent_hash is not None:
        return ChainLink(acked, state.sent_hash)
    row = db.execute(
        "select signed from sync_outbox where origin = ? and seq = ?", [desk_id, acked + 1]
    ).fetchone()
    if row is None:
        raise ValueError(f"the outbox does not hold batch #{acked + 1} after the acknowledged one")
    return ChainLink(acked, prev_hash_of(bytes(row[0])))
