"""The desk's outbox: its own changes, consent-filtered, signed into chained batches.

``fill_outbox`` reads this replica's own changes after its send cursor (forwarding other
desks' changes is the hub's job), signs them into batches (``sign_batch``: seq 1, 2, 3 …
chained by ``this_hash``) and stores the signed bytes in ``sync_outbox`` in the same
transaction that advances the cursor: a change is either still ahead of the cursor or in
a stored batch, never lost between the two. A batch leaves the outbox only when the hub
answered that it durably holds it (``acknowledge``: a 200/201 to its PUT, or a return
bundle's ``has``). Every upload attempt seals the same signed bytes again (``seal``): the
seal's nonce is random, the signed batch and its hash never change.

Consent. A case's changes — its own row, and the notes, files and audit rows that name it
— leave the desk only while its ``consent`` says ``{"sync": {"given": true}}``. Changes of
other cases are held back (the case is marked ``held`` in ``sync_consent``) and the cursor
moves on; once the case's consent allows sync, its whole history made here is sent. The
hub checks every case row of a batch against the newest consent it knows (from the batch or
stored), so a batch touching a case also carries that case's current consent change the
first time it is sent (``sent_hlc`` remembers which one was). Audit rows about an agency
(their ``case_id`` holds the agency's id) stay on this desk; the agency's row itself syncs.

Files travel in parts (``attachment_parts``), each one change that fits a batch. A file
stored before parts existed has its bytes in one change; if that change fits no batch it
never left this desk, so it is moved into parts here and sent (``_files_into_parts``),
including those an earlier release kept back in ``sync_deferred``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from mrc_desktop.cases.attachments import move_into_parts
from mrc_desktop.cases.schema import ATTACHMENT_PART_BYTES
from mrc_desktop.storage.change_capture import captured_tables
from mrc_desktop.storage.database import write_transaction
from mrc_desktop.sync.batches import (
    GENESIS,
    MAX_BATCH_BYTES,
    BatchTooLarge,
    ChainLink,
    SignedBatch,
    seal_batch,
    sign_batch,
    split_changes,
)
from mrc_desktop.sync.bundle import BUNDLE_SUFFIX, MAX_BUNDLE_BYTES, write_bundle
from mrc_desktop.sync.capture import change_key, changes_since, replica_id
from mrc_desktop.sync.changes import Change
from mrc_desktop.sync.keys import Identity, PublicIdentity
from mrc_desktop.sync.state import HUB_NAME, load_chain, load_state, now_text, update_state

CHUNK_CHANGES = 2_000
"""Own changes read per round: an initial sync of a large store fills the outbox in steps."""
BUNDLE_MARGIN = 1024 * 1024  # the manifest and framing of a bundle, generously
LARGE_VALUE = 128 * 1024  # values shorter than this always fit in a batch
EVENT_ROOM = 16 * 1024  # room left in a batch for the end of a row's event moved into it
EVENT_ROOM_LIMIT = MAX_BATCH_BYTES - EVENT_ROOM
CASES = "cases"
CASE_COLUMN = "case_id"  # child tables name their case in this column
AUDIT = "audit_log"
FILES, FILE_CONTENT, FILE_PARTS = "attachments", "content", "attachment_parts"


class OutboxError(RuntimeError):
    """A change that fits no batch even alone with its case's consent (cannot happen for
    changes under ~250 KB: files travel in parts, and anything else larger is deferred)."""


@dataclass(frozen=True)
class OutboxBatch:
    origin: str
    seq: int
    signed: bytes
    this_hash: bytes
    changes: int

    @property
    def link(self) -> ChainLink:
        return ChainLink(self.seq, self.this_hash)


@dataclass
class FillResult:
    batches: int = 0
    changes: int = 0
    deferred: int = 0  # changes too large for a batch: kept here (sync_deferred)
    files_moved: int = 0  # old files too large for a batch, moved into parts to be sent
    held_cases: set[str] = field(default_factory=set)  # newly held back for consent
    released_cases: set[str] = field(default_factory=set)  # consent now given: history sent


def sync_allowed(consent: object) -> bool:
    """True when a case's consent JSON records consent to sending it to the hub."""
    try:
        value = json.loads(consent) if isinstance(consent, str) else None
    except ValueError:
        return False
    sync = value.get("sync") if isinstance(value, dict) else None
    return isinstance(sync, dict) and sync.get("given") is True


class _Cases:
    """Which case a change belongs to, and whether that case may sync (cached per fill)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.children = [t.name for t in captured_tables(db).values() if CASE_COLUMN in t.columns]
        self._owner: dict[tuple[str, str], str | None] = {}
        self._allowed: dict[str, bool] = {}
        self._agency: dict[str, bool] = {}

    def owner(self, change: Change) -> str | None:
        if change.tbl == CASES:
            return change.row_id
        if change.tbl not in self.children:
            return None
        key = (change.tbl, change.row_id)
        if key not in self._owner:
            row = self.db.execute(
                f'select "{CASE_COLUMN}" from "{change.tbl}" where id = ?', [change.row_id]
            ).fetchone()
            self._owner[key] = None if row is None or row[0] is None else str(row[0])
        return self._owner[key]

    def about_agency(self, change: Change) -> bool:
        """True for an audit row about an agency (its ``case_id`` holds the agency's id).

        The agency's own row syncs; who changed it stays in this desk's audit log — the hub
        reads every ``case_id`` as a case that must carry consent, and an agency has none.
        """
        if change.tbl != AUDIT:
            return False
        about = self.owner(change)
        return about is not None and self._is_agency(about)

    def _is_agency(self, record_id: str) -> bool:
        if record_id not in self._agency:
            found = self.db.execute("select 1 from agencies where id = ?", [record_id])
            self._agency[record_id] = found.fetchone() is not None
        return self._agency[record_id]

    def allowed(self, case_id: str) -> bool:
        if case_id not in self._allowed:
            row = self.db.execute("select consent from cases where id = ?", [case_id]).fetchone()
            self._allowed[case_id] = row is not None and sync_allowed(row[0])
        return self._allowed[case_id]

    def history(self, origin: str, case_id: str, upto: tuple[str, str, str, str]) -> list[Change]:
        """Every change ``origin`` made to the case and its child rows, up to ``upto``.

        One query per table, each by the oplog's key (``+origin`` keeps SQLite from walking
        this desk's whole history through the origin index instead).
        """
        columns = "hlc, origin, tbl, row_id, col, value, base"
        parts = [f"select {columns} from oplog where tbl = 'cases' and row_id = ? and +origin = ?"]
        params: list[object] = [case_id, origin]
        for child in self.children:
            parts.append(
                f"select {columns} from oplog where tbl = '{child}' and row_id in"
                f' (select id from "{child}" where "{CASE_COLUMN}" = ?) and +origin = ?'
            )
            params += [case_id, origin]
        rows = self.db.execute(" union all ".join(parts), params).fetchall()
        return [c for c in (Change(*row) for row in rows) if change_key(c) <= upto]


def fill_outbox(
    db: sqlite_utils.Database,
    identity: Identity,
    desk_id: str,
    chunk: int = CHUNK_CHANGES,
) -> FillResult:
    """Sign this desk's new changes into outbox batches; one transaction per round."""
    result = FillResult()
    while True:
        with write_transaction(db):
            more = _fill_round(db, identity, desk_id, chunk, result)
        if not more:
            return result


def _fill_round(
    db: sqlite_utils.Database, identity: Identity, desk_id: str, chunk: int, result: FillResult
) -> bool:
    """One round of at most ``chunk`` new changes; True when more may wait."""
    me = replica_id(db)
    mine = own_cursors(db)
    new = changes_since(db, mine, limit=chunk, only=list(mine))
    cases = _Cases(db)
    sending: list[Change] = []
    held: set[str] = set()
    _forget_agencies_held(db)
    for change in [*_retry_deferred_files(db), *new]:
        if cases.about_agency(change):
            continue
        case_id = cases.owner(change)
        if case_id is None or cases.allowed(case_id):
            sending.append(change)
        else:
            held.add(case_id)
    upto = change_key(new[-1]) if new else max(_cursor_key(c) for c in mine.values())
    released = [
        case_id
        for (case_id,) in db.execute("select case_id from sync_consent where held = 1")
        if case_id not in held and cases.allowed(case_id)
    ]
    for case_id in released:
        for origin in mine:
            sending += cases.history(origin, case_id, upto)
    sending, moved = _files_into_parts(db, sorted(set(sending), key=change_key))
    sending, deferred = _defer_large(db, sending)
    _mark(db, held, released)
    batches = _cut(db, identity, desk_id, frozenset(mine), cases, sending)
    _advance_cursors(db, me, new)
    result.batches += batches
    result.changes += len(sending)
    result.deferred += deferred
    result.files_moved += moved
    result.held_cases |= held
    result.released_cases |= set(released)
    # Moved files' parts are new changes after the cursor: the next round sends them.
    return len(new) >= chunk or moved > 0


def _forget_agencies_held(db: sqlite_utils.Database) -> None:
    """Stores filled before agency audit rows stayed home held them back as cases waiting
    for consent (shown as such on the Sync screen); they wait for nothing."""
    db.execute("delete from sync_consent where held = 1 and case_id in (select id from agencies)")


def own_cursors(db: sqlite_utils.Database) -> dict[str, str]:
    """The replica ids whose changes are this desk's to send, each with its send cursor: the
    store's own, and those it wrote under before it was restored from a backup (their
    changes the hub may not have; see ``sync/restore.py``)."""
    found = {replica_id(db): load_state(db).send_cursor}
    for origin, cursor in db.execute("select replica_id, send_cursor from sync_retired_replicas"):
        found.setdefault(origin, cursor)
    return found


def _advance_cursors(db: sqlite_utils.Database, me: str, new: Sequence[Change]) -> None:
    last: dict[str, Change] = {}
    for change in new:  # in change order: the last one of each origin is its cursor
        last[change.origin] = change
    for origin, change in last.items():
        cursor = " ".join(change_key(change))
        if origin == me:
            update_state(db, send_cursor=cursor)
        else:
            db.execute(
                "update sync_retired_replicas set send_cursor = ? where replica_id = ?",
                [cursor, origin],
            )


def _retry_deferred_files(db: sqlite_utils.Database) -> list[Change]:
    """Old files' content changes an earlier release left in ``sync_deferred``.

    They are behind the send cursor; taken out of ``sync_deferred`` and offered again like
    new changes (consent applies), they are moved into parts and sent.
    """
    rows = db.execute(
        "select o.hlc, o.origin, o.tbl, o.row_id, o.col, o.value, o.base from sync_deferred d"
        " join oplog o on o.tbl = d.tbl and o.row_id = d.row_id and o.col = d.col"
        " and o.hlc = d.hlc where d.tbl = ? and d.col = ?",
        [FILES, FILE_CONTENT],
    ).fetchall()
    db.execute("delete from sync_deferred where tbl = ? and col = ?", [FILES, FILE_CONTENT])
    return [Change(*row) for row in rows]


def _files_into_parts(db: sqlite_utils.Database, changes: list[Change]) -> tuple[list[Change], int]:
    """``changes`` with each file content too large for a batch moved into parts.

    Only a file stored before parts existed has its bytes in one change. One that cannot
    fit in any batch has never left this desk, so its content change may be rewritten:
    ``move_into_parts`` stores the bytes as parts (new changes, sent by the next round) and
    empties the content, in the oplog too. The rewritten change goes now, so the other
    desks' copy of the row is whole and waits for its parts ("still arriving").
    """
    out: list[Change] = []
    moved = 0
    for change in changes:
        if change.tbl == FILES and change.col == FILE_CONTENT and _too_large(change):
            move_into_parts(db, change.row_id)
            change = dataclasses.replace(change, value=b"")
            moved += 1
        out.append(change)
    return out, moved


def _defer_large(db: sqlite_utils.Database, changes: list[Change]) -> tuple[list[Change], int]:
    """``changes`` without those too large for any batch, which wait in ``sync_deferred``.

    A safety net: a batch is at most 256 KB and a change is never cut in two. Files travel
    in parts, and the forms bound every other value far below that, so nothing the app
    writes lands here; a change written some other way that is too large stays on this
    desk, recorded, rather than stop every later change behind it.
    """
    keep: list[Change] = []
    deferred = []
    for change in changes:
        reason = _too_large(change)
        if reason is None:
            keep.append(change)
        else:
            deferred.append((change.hlc, change.tbl, change.row_id, change.col, reason))
    db.conn.executemany(
        "insert or ignore into sync_deferred (hlc, tbl, row_id, col, reason)"
        " values (?, ?, ?, ?, ?)",
        deferred,
    )
    return keep, len(deferred)


def _too_large(change: Change) -> str | None:
    """Why ``change`` can never fit in a batch, or None (only large values are measured)."""
    if not isinstance(change.value, str | bytes) or len(change.value) < LARGE_VALUE:
        return None
    if change.tbl == FILE_PARTS and len(change.value) <= ATTACHMENT_PART_BYTES:
        return None  # a part always fits (schema.ATTACHMENT_PART_BYTES)
    try:
        split_changes([change.to_json()])
    except BatchTooLarge as exc:
        return str(exc).removeprefix("change 0 is ")
    return None


def _cursor_key(cursor: str) -> tuple[str, str, str, str]:
    parts = cursor.split(" ", 3) if cursor else []
    parts += [""] * (4 - len(parts))
    return (parts[0], parts[1], parts[2], parts[3])


def _mark(db: sqlite_utils.Database, held: Iterable[str], released: Iterable[str]) -> None:
    db.conn.executemany(
        "insert into sync_consent (case_id, held) values (?, 1)"
        " on conflict (case_id) do update set held = 1",
        [(case_id,) for case_id in held],
    )
    db.conn.executemany(
        "update sync_consent set held = 0 where case_id = ?", [(c,) for c in released]
    )


def _consent_winner(db: sqlite_utils.Database, case_id: str) -> Change | None:
    row = db.execute(
        "select hlc, origin, tbl, row_id, col, value, base from oplog"
        " where tbl = 'cases' and row_id = ? and col = 'consent' order by hlc desc limit 1",
        [case_id],
    ).fetchone()
    return None if row is None else Change(*row)


def _with_consent(
    db: sqlite_utils.Database,
    mine: frozenset[str],
    cases: _Cases,
    run: Sequence[Change],
    sent: dict[str, str],
) -> tuple[list[Change], dict[str, str]]:
    """``run`` plus the current consent change of each case it touches that the hub may not
    have yet (made here, and not sent before); and the consent each case now has sent."""
    present = {c.hlc for c in run if c.tbl == CASES and c.col == "consent"}
    extra: list[Change] = []
    now_sent: dict[str, str] = {}
    touched = {case_id for c in run if (case_id := cases.owner(c)) is not None}
    for case_id in sorted(touched):
        winner = _consent_winner(db, case_id)
        if winner is None or winner.origin not in mine:
            continue  # another desk's consent reached this desk through the hub: it has it
        if winner.hlc not in present and sent.get(case_id) != winner.hlc:
            extra.append(winner)
        now_sent[case_id] = winner.hlc
    return extra + list(run), now_sent


def _consent_sent(change: Change, sent: dict[str, str]) -> bool:
    return change.tbl == CASES and change.col == "consent" and sent.get(change.row_id) == change.hlc


def _cut(
    db: sqlite_utils.Database,
    identity: Identity,
    desk_id: str,
    mine: frozenset[str],
    cases: _Cases,
    changes: list[Change],
) -> int:
    """Sign ``changes`` into as many batches as they need; store them and the chain's end."""
    if not changes:
        return 0
    queue = _runs(changes)
    state = load_state(db)
    link = state.sent_link
    sent = dict(db.execute("select case_id, sent_hlc from sync_consent").fetchall())
    made = 0
    while queue:
        # A consent change sent already (moved forward into an earlier batch) is not repeated.
        part = [c for c in queue.pop(0) if not _consent_sent(c, sent)]
        if not part:
            continue
        batch_changes, now_sent = _with_consent(db, mine, cases, part, sent)
        try:
            signed = sign_batch(
                identity, desk_id, link.seq + 1, link.hash, [c.to_json() for c in batch_changes]
            )
        except BatchTooLarge:
            if len(part) == 1:
                raise OutboxError(
                    f"change {part[0].hlc} of {part[0].tbl} does not fit in a batch"
                ) from None
            half = len(part) // 2
            queue[:0] = [part[:half], part[half:]]
            continue
        _store(db, signed, len(batch_changes))
        db.conn.executemany(
            "insert into sync_consent (case_id, sent_hlc) values (?, ?)"
            " on conflict (case_id) do update set sent_hlc = excluded.sent_hlc",
            list(now_sent.items()),
        )
        sent.update(now_sent)
        link = ChainLink(signed.seq, signed.this_hash)
        made += 1
    update_state(db, sent_seq=link.seq, sent_hash=link.hash)
    return made


def _runs(changes: list[Change]) -> list[list[Change]]:
    """``changes`` cut, in order, into runs that each fit in a batch.

    A row holding a large file part (its columns share a timestamp) makes a run of its
    own, unmeasured: it always fits, with its case's consent. ``split_changes`` would find
    that out by deflating runs of several parts (~1 MB) for every batch: cutting a 20 MB
    file took 25 s that way on this machine, ~4 s this way.
    """
    large = {(c.hlc, c.tbl, c.row_id) for c in changes if _large_part(c)}
    runs: list[list[Change]] = []
    group: list[Change] = []

    def cut_group() -> None:
        start = 0
        pieces = []
        for run in split_changes([c.to_json() for c in group], limit=EVENT_ROOM_LIMIT):
            pieces.append(group[start : start + len(run)])
            start += len(run)
        runs.extend(_events_whole(pieces))
        group.clear()

    for change in changes:
        row = (change.hlc, change.tbl, change.row_id)
        if row not in large:
            group.append(change)
            continue
        if group:
            cut_group()
        last = runs[-1][-1] if runs else None
        if last is not None and (last.hlc, last.tbl, last.row_id) == row:
            runs[-1].append(change)
        else:
            runs.append([change])
    if group:
        cut_group()
    return runs


def _event(change: Change) -> tuple[str, str, str]:
    return (change.hlc, change.tbl, change.row_id)


def _events_whole(runs: list[list[Change]]) -> list[list[Change]]:
    """Runs moved so that no row's event (its columns under one timestamp) is cut between
    two batches: the tail of an event that a run ends with goes to the next run.

    The hub finds the case a note, file or audit row belongs to by its ``case_id`` column,
    to apply the consent and centre rules; the second half of a cut insert has no
    ``case_id``, so those rules could not see it. Runs are cut ``EVENT_ROOM`` short of the
    limit, so the next run has room for the moved tail (an event is a few KB; one larger
    than the room makes ``_cut`` halve the run, which may cut it as before).
    """
    for i in range(len(runs) - 1):
        run, following = runs[i], runs[i + 1]
        if not following or _event(run[-1]) != _event(following[0]):
            continue
        start = len(run) - 1
        while start > 0 and _event(run[start - 1]) == _event(run[-1]):
            start -= 1
        if start > 0:  # a run that is one event alone stays as it is
            runs[i + 1] = run[start:] + following
            del run[start:]
    return runs


def _large_part(change: Change) -> bool:
    return (
        change.tbl == FILE_PARTS
        and isinstance(change.value, bytes)
        and LARGE_VALUE <= len(change.value) <= ATTACHMENT_PART_BYTES
    )


def _store(db: sqlite_utils.Database, signed: SignedBatch, count: int) -> None:
    db.execute(
        "insert into sync_outbox (origin, seq, signed, this_hash, changes, created_at)"
        " values (?, ?, ?, ?, ?, ?)",
        [signed.origin, signed.seq, signed.raw, signed.this_hash, count, now_text()],
    )


# --- reading and acknowledging --------------------------------------------------------------


def pending(db: sqlite_utils.Database, origin: str, limit: int | None = None) -> list[OutboxBatch]:
    """Batches the hub has not acknowledged yet, oldest first."""
    sql = (
        "select origin, seq, signed, this_hash, changes from sync_outbox where origin = ?"
        " order by seq"
    )
    params: list[object] = [origin]
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    return [
        OutboxBatch(o, int(s), bytes(signed), bytes(h), int(n))
        for o, s, signed, h, n in db.execute(sql, params).fetchall()
    ]


def pending_counts(db: sqlite_utils.Database) -> tuple[int, int, int]:
    """(batches waiting for the hub, cases waiting for consent, changes too large to send)."""
    return (
        int(db.execute("select count(*) from sync_outbox").fetchone()[0]),
        int(db.execute("select count(*) from sync_consent where held = 1").fetchone()[0]),
        int(db.execute("select count(*) from sync_deferred").fetchone()[0]),
    )


def seal(identity: Identity, hub: PublicIdentity, batch: OutboxBatch) -> bytes:
    """The batch sealed to the hub: new bytes every time (random nonce), same signed batch."""
    return seal_batch(identity, hub, batch.signed)


class AcknowledgementError(ValueError):
    """The hub acknowledged a batch this desk does not hold with that hash."""


def acknowledge(db: sqlite_utils.Database, origin: str, link: ChainLink) -> int:
    """The hub durably holds ``origin``'s batches up to ``link``: drop them from the outbox.

    The batch at ``link.seq`` must be the one this desk made (same hash), else
    ``AcknowledgementError`` and nothing is dropped. Returns how many were dropped.
    """
    with write_transaction(db):
        state = load_state(db)
        row = db.execute(
            "select this_hash from sync_outbox where origin = ? and seq = ?", [origin, link.seq]
        ).fetchone()
        if row is not None and bytes(row[0]) != link.hash:
            raise AcknowledgementError(
                f"the hub holds another batch #{link.seq} of this desk than the one it made"
            )
        if row is None and link.seq > state.sent_seq:
            raise AcknowledgementError(
                f"the hub acknowledges batch #{link.seq}, but this desk made {state.sent_seq}"
            )
        if link.seq == state.sent_seq and state.sent_link.hash not in (link.hash, GENESIS):
            raise AcknowledgementError(
                f"the hub holds another batch #{link.seq} of this desk than the one it made"
            )
        dropped = db.execute(
            "delete from sync_outbox where origin = ? and seq <= ?", [origin, link.seq]
        ).rowcount
        if link.seq > state.acked_seq:
            update_state(db, acked_seq=link.seq)
    return int(dropped)


# --- USB bundles ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleExport:
    path: Path
    batches: int
    changes: int
    left: int  # outbox batches that did not fit (a next bundle takes them)
    held_cases: int


def export_bundle(db: sqlite_utils.Database, identity: Identity, target: Path) -> BundleExport:
    """Write this desk's outbox, sealed to the hub, and what it has received to a bundle.

    The batches stay in the outbox until the hub's return bundle (or an upload) says it
    holds them. ``target`` may be a folder: the file is then named after the desk and time.
    Raises ``NotEnrolledError``, ``OutboxError`` or ``BundleError`` (nothing is written).
    """
    state = load_state(db)
    state.require_enrolled()
    desk_id = str(state.desk_id)
    fill_outbox(db, identity, desk_id)
    hub = state.hub_identity()
    if target.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        target = target / f"mrc-desk-{desk_id[:8]}-{stamp}{BUNDLE_SUFFIX}"
    sealed: list[bytes] = []
    size = changes = 0
    waiting = pending(db, desk_id)
    for batch in waiting:
        data = seal(identity, hub, batch)
        if size + len(data) + 4 > MAX_BUNDLE_BYTES - BUNDLE_MARGIN:
            break
        sealed.append(data)
        size += len(data) + 4
        changes += batch.changes
    write_bundle(
        target,
        identity,
        sender=desk_id,
        recipient=HUB_NAME,
        recipient_key=hub,
        batches=sealed,
        has=load_chain(db),
    )
    held = pending_counts(db)[1]
    return BundleExport(target, len(sealed), changes, len(waiting) - len(sealed), held)
