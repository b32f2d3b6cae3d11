"""What the Sync screen shows, read from the case store in one go (no Qt, no network).

The counts a person needs at a glance: is this desk joined to a hub, when did its cases
last reach it, what is still waiting, what is kept back on purpose, and which cases were
edited at two desks. Reading is quick (a few counts over indexed tables), so the screen
reads it on the UI thread from the session's own connection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from mrc_desktop.sync.capture import replica_id
from mrc_desktop.sync.merge import open_conflicts
from mrc_desktop.sync.outbox import pending_counts
from mrc_desktop.sync.state import APPROVED, PENDING, REVOKED, SyncState, load_state

NOT_JOINED, WAITING, REVOKED_STAGE, JOINED = "not_joined", "waiting", "revoked", "joined"


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState
    unsent_changes: int  # own changes the hub has not confirmed: in the outbox or not yet batched
    held_cases: int  # cases kept here because their consent does not allow sync
    too_large: int  # changes too large for any batch (big attachments), kept here for now
    conflicted_cases: frozenset[str]  # cases with a value overwritten at another desk
    conflicted_agencies: int

    @property
    def stage(self) -> str:
        """not_joined, waiting (for the hub admin's approval), revoked or joined."""
        state = self.state
        if state.hub_url is None or state.enrol_status is None:
            return NOT_JOINED
        if state.enrol_status == REVOKED:
            return REVOKED_STAGE
        if state.enrol_status == APPROVED and state.certificate is not None:
            return JOINED
        return WAITING if state.enrol_status in (PENDING, APPROVED) else NOT_JOINED

    @property
    def last_success(self) -> dt.datetime | None:
        return parse_time(self.state.last_success)

    @property
    def last_error(self) -> tuple[dt.datetime | None, str] | None:
        """(when, the sync code's one-line reason) of the last failed sync, if the last
        sync failed (a success clears it)."""
        text = self.state.last_error
        if not text:
            return None
        stamp, _space, reason = text.partition(" ")
        when = parse_time(stamp)
        return (when, reason) if when is not None else (None, text)


def parse_time(text: str | None) -> dt.datetime | None:
    """A stored UTC time ("2026-11-23T08:15:00Z") as an aware datetime."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def unbatched_changes(db: sqlite_utils.Database, send_cursor: str) -> int:
    """This replica's own changes after the send cursor (not yet signed into a batch).

    Changes of cases without sync consent count until the next sync looks at them; then
    the cursor moves past them and the case is counted as held instead.
    """
    parts = (send_cursor.split(" ", 3) + [""] * 4)[:4]
    row = db.execute(
        "select count(*) from oplog where origin = ? and (hlc, tbl, row_id, col) > (?, ?, ?, ?)",
        [replica_id(db), *parts],
    ).fetchone()
    return int(row[0])


def read_status(db: sqlite_utils.Database) -> SyncStatus:
    state = load_state(db)
    _batches, held, too_large = pending_counts(db)
    in_outbox = int(db.execute("select coalesce(sum(changes), 0) from sync_outbox").fetchone()[0])
    joined = state.hub_url is not None
    unsent = in_outbox + (unbatched_changes(db, state.send_cursor) if joined else 0)
    conflicts = open_conflicts(db)
    return SyncStatus(
        state=state,
        unsent_changes=unsent,
        held_cases=held,
        too_large=too_large,
        conflicted_cases=frozenset(c.row_id for c in conflicts if c.tbl == "cases"),
        conflicted_agencies=len({c.row_id for c in conflicts if c.tbl == "agencies"}),
    )
