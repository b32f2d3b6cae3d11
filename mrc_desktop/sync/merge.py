"""Merging received changes: per field, the highest timestamp wins, on every replica.

``apply_changes`` writes a list of received changes in one transaction. For each
field (table, row, column) the version with the highest HLC is the value, whatever
order the changes arrive in and however often: a change already held is skipped, and
every other one is appended to the local oplog with its own origin and timestamp, so
this desk can forward it. Append-only rows (entries, files, audit) merge by union:
each of their fields has exactly one version. A tombstone (``deleted = 1``) is a field
like the others: it wins only over older values.

Conflicts. Every version records the version(s) it replaced (``base``), so the versions
of a field form a history. A version nobody built on that is not the winner was
overwritten by an edit made without seeing it: a *concurrent* edit. Its value goes into
``conflicts`` and the case is "edited at two desks" — unless the winner's author had
seen that value anyway (it is the winner's, or that of a version the winner was built
on): then nothing was lost (``lost_versions``). A field's conflicts are recomputed from
its history whenever a change for it arrives, and re-checked before they are shown, so
once every replica holds the same changes every replica shows the same conflicts; one
that turns out to have been seen after all (its successor arrives late) is withdrawn.
Settling one (``take_other_value``, ``keep_current_value``) is itself an edit whose
base names both versions, so it settles the conflict on every desk it reaches.

Rows are written once they can be: a row whose first changes arrive before the
rest (batches split it, or another desk's stream came first), or that names a parent
row not yet here (a note before its case, a case before its agency), waits in
``sync_pending`` and is written by a later apply. Search indexes are derived: merged
cases are re-indexed in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from mrc_desktop.cases.agencies import update_agency
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import JSON_FIELDS
from mrc_desktop.cases.users import User
from mrc_desktop.storage import sqlite_build
from mrc_desktop.storage.change_capture import KEY, CapturedTable, captured_tables
from mrc_desktop.storage.database import write_transaction
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.capture import applying, change_key, read_clock, replica_id, save_clock
from mrc_desktop.sync.changes import Change, Value
from mrc_desktop.sync.hlc import Timestamp, skew_warning

# Re-indexing needs a repository; it writes no audit entry, so this identity appears nowhere.
_MERGE_USER = User("sync", "sync", "sync", "counsellor")
# Tables whose rows feed a case's search text, and the column naming the case.
_SEARCHED = {"cases": KEY, "case_entries": "case_id"}

Field = tuple[str, str, str]  # (table, row id, column)
# The audit action of keeping the current value of a field edited at two desks.
KEEP_VALUE = "keep_value"


class MergeError(ValueError):
    """Received changes cannot be applied; nothing of them was written."""


@dataclass
class ApplyResult:
    received: int = 0
    duplicates: int = 0  # already held: skipped
    won: int = 0  # became the field's value
    lost: int = 0  # kept in the history only: a newer version was already here
    waiting: int = 0  # fields won but not yet written (their row is incomplete)
    new_conflicts: int = 0
    touched_cases: set[str] = field(default_factory=set)
    clock_ahead_ms: int = 0  # the furthest a received timestamp was ahead of this desk

    @property
    def clock_warning(self) -> str | None:
        return skew_warning(self.clock_ahead_ms)


@dataclass(frozen=True)
class Conflict:
    id: str
    tbl: str
    row_id: str
    col: str
    winner_hlc: str
    winner_value: Value
    loser_hlc: str
    loser_value: Value
    detected_at: str
    resolved: bool

    @property
    def loser_desk(self) -> str:
        """The desk whose edit was overwritten."""
        return Timestamp.parse(self.loser_hlc).desk_id


def apply_changes(db: sqlite_utils.Database, changes: Iterable[Change]) -> ApplyResult:
    """Merge ``changes`` into the store in one transaction (a savepoint if one is open).

    Raises ``MergeError`` (a change for a table or column that does not sync, a value
    the table refuses) or ``hlc.ClockSkewError`` (a timestamp more than 24 h ahead);
    then nothing is written.
    """
    incoming = sorted(set(changes), key=change_key)
    result = ApplyResult(received=len(incoming))
    with write_transaction(db), applying(db):
        tables = captured_tables(db)
        by_row: dict[tuple[str, str], list[Change]] = defaultdict(list)
        for change in incoming:
            table = tables.get(change.tbl)
            if table is None or change.col not in table.columns:
                raise MergeError(f"change {change.hlc}: {change.tbl}.{change.col} does not sync")
            by_row[(change.tbl, change.row_id)].append(change)
        new: list[Change] = []
        dirty: set[Field] = set()
        recheck: set[Field] = set()
        for (tbl, row_id), row_changes in by_row.items():
            held = _held_versions(db, tbl, row_id)
            table = tables[tbl]
            for change in row_changes:
                versions = held.setdefault(change.col, {})
                if change.hlc in versions:
                    if versions[change.hlc] != (change.value, change.base):
                        raise MergeError(
                            f"change {change.hlc}: {tbl}.{change.col} of {row_id} differs"
                            " from the version held with that timestamp"
                        )
                    result.duplicates += 1
                    continue
                prev = max(versions) if versions else None
                versions[change.hlc] = (change.value, change.base)
                new.append(change)
                if prev is None or change.hlc > prev:
                    result.won += 1
                    dirty.add(change.field)
                else:
                    result.lost += 1
                if not table.append_only and change.col not in table.quiet and len(versions) > 1:
                    recheck.add(change.field)
        if new:
            clock = read_clock(db)
            clock.observe(Timestamp.parse(max(c.hlc for c in new)))
            result.clock_ahead_ms = clock.max_ahead_ms
            save_clock(db, clock)
            db.conn.executemany(
                "insert into oplog (hlc, origin, tbl, row_id, col, value, base)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                [(c.hlc, c.origin, c.tbl, c.row_id, c.col, c.value, c.base) for c in new],
            )
        written = _write_rows(db, tables, dirty)
        result.waiting = int(db.execute("select count(*) from sync_pending").fetchone()[0])
        detected = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for field_ in sorted(recheck):
            result.new_conflicts += _settle_conflicts(db, field_, detected)
        result.touched_cases = _touched_cases(db, written)
        repo = CaseRepository(db, _MERGE_USER, replica_id(db))
        for case_id in sorted(result.touched_cases):
            repo.refresh_search(case_id)
    return result


def _held_versions(
    db: sqlite_utils.Database, tbl: str, row_id: str
) -> dict[str, dict[str, tuple[Value, str]]]:
    """Every version held of one row's fields: column → timestamp → (value, base)."""
    held: dict[str, dict[str, tuple[Value, str]]] = {}
    rows = db.execute(
        "select col, hlc, value, base from oplog where tbl = ? and row_id = ?", [tbl, row_id]
    )
    for col, hlc, value, base in rows:
        held.setdefault(col, {})[hlc] = (value, base)
    return held


def _winner_values(db: sqlite_utils.Database, tbl: str, row_id: str) -> dict[str, Value]:
    # SQLite takes the bare ``value`` from the row holding max(hlc).
    rows = db.execute(
        "select col, value, max(hlc) from oplog where tbl = ? and row_id = ? group by col",
        [tbl, row_id],
    ).fetchall()
    return {col: value for col, value, _hlc in rows}


class _Schema:
    """Per table, its foreign keys: a row naming a parent row waits until it is here."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._parents: dict[str, dict[str, tuple[str, str]]] = {}

    def parents(self, tbl: str) -> dict[str, tuple[str, str]]:
        if tbl not in self._parents:
            self._parents[tbl] = {
                r[3]: (r[2], r[4] or KEY)
                for r in self.db.execute(f'pragma foreign_key_list("{tbl}")')
            }
        return self._parents[tbl]

    def parent_ready(self, tbl: str, col: str, value: Value) -> bool:
        parent = self.parents(tbl).get(col)
        if parent is None or value is None:
            return True
        sql = f'select 1 from "{parent[0]}" where "{parent[1]}" = ?'
        return self.db.execute(sql, [value]).fetchone() is not None


def _write_rows(
    db: sqlite_utils.Database, tables: dict[str, CapturedTable], dirty: set[Field]
) -> set[tuple[str, str]]:
    """Write winning values into their tables; what cannot be written yet waits.

    Returns the rows written. Rows are tried parents first, and again while a pass
    writes something (a case arriving makes its notes writable).
    """
    fields = dirty | set(db.execute("select tbl, row_id, col from sync_pending").fetchall())
    by_row: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tbl, row_id, col in fields:
        by_row[(tbl, row_id)].add(col)
    schema = _Schema(db)
    order = sorted(by_row, key=lambda key: (tables[key[0]].position, key[1]))
    written: set[tuple[str, str]] = set()
    progress = True
    while progress:
        progress = False
        for key in order:
            cols = by_row[key]
            if not cols:
                continue
            try:
                left = _write_row(db, schema, tables[key[0]], key[1], cols)
            except sqlite_build.sqlite.DatabaseError as exc:
                raise MergeError(f"{key[0]} row {key[1]}: {exc}") from exc
            if left != cols:
                by_row[key] = left
                written.add(key)
                progress = True
    db.execute("delete from sync_pending")
    db.conn.executemany(
        "insert into sync_pending (tbl, row_id, col) values (?, ?, ?)",
        [(tbl, row_id, col) for (tbl, row_id), cols in by_row.items() for col in sorted(cols)],
    )
    return written


def _write_row(
    db: sqlite_utils.Database, schema: _Schema, table: CapturedTable, row_id: str, cols: set[str]
) -> set[str]:
    """Write what can be written of one row; return the columns still waiting."""
    tbl = table.name
    exists = db.execute(f'select 1 from "{tbl}" where "{KEY}" = ?', [row_id]).fetchone()
    if exists:
        ready = {}
        for col in sorted(cols):
            value = db.execute(
                "select value from oplog where tbl = ? and row_id = ? and col = ?"
                " order by hlc desc limit 1",
                [tbl, row_id, col],
            ).fetchone()[0]
            if schema.parent_ready(tbl, col, value):
                ready[col] = value
        if ready:
            assignments = ", ".join(f'"{c}" = ?' for c in ready)
            db.execute(
                f'update "{tbl}" set {assignments} where "{KEY}" = ?', [*ready.values(), row_id]
            )
        return cols - set(ready)
    # A row is inserted whole: every captured column has a version once its insert has
    # arrived (a part-row would show defaults, and an append-only row cannot be completed).
    values = _winner_values(db, tbl, row_id)
    if not set(table.columns) <= set(values) or not all(
        schema.parent_ready(tbl, col, value) for col, value in values.items()
    ):
        return cols
    names = ", ".join(f'"{c}"' for c in (KEY, *values))
    marks = ", ".join("?" * (len(values) + 1))
    db.execute(f'insert into "{tbl}" ({names}) values ({marks})', [row_id, *values.values()])
    return set()


def _touched_cases(db: sqlite_utils.Database, written: set[tuple[str, str]]) -> set[str]:
    cases = set()
    for tbl, row_id in written:
        column = _SEARCHED.get(tbl)
        if column == KEY:
            cases.add(row_id)
        elif column:
            found = db.execute(f'select "{column}" from "{tbl}" where id = ?', [row_id]).fetchone()
            if found and found[0]:
                cases.add(found[0])
    return cases


def lost_versions(
    versions: dict[str, tuple[frozenset[str], Value]],
) -> tuple[dict[str, Value], tuple[str, Value]]:
    """The overwritten concurrent values of one field, and its winner.

    ``versions`` maps each version's timestamp to (the versions it replaced, its value).
    The winner is the highest timestamp. A version is lost if nobody built on it, it is
    not the winner, and its value was never seen by whoever made the winning line: it is
    neither the winner's value nor that of any version the winner (through its bases)
    was built on. Two desks typing the same value, or an edit replacing a value equal to
    the other desk's, lose nothing.
    """
    winner = max(versions)
    seen_values: list[Value] = []
    stack, visited = [winner], set()
    while stack:
        hlc = stack.pop()
        if hlc in visited or hlc not in versions:
            continue
        visited.add(hlc)
        bases, value = versions[hlc]
        seen_values.append(value)
        stack.extend(bases)
    built_on = {b for bases, _value in versions.values() for b in bases}
    lost = {
        hlc: value
        for hlc, (_bases, value) in versions.items()
        if hlc != winner and hlc not in built_on and value not in seen_values
    }
    return lost, (winner, versions[winner][1])


def _settle_conflicts(db: sqlite_utils.Database, field_: Field, detected_at: str) -> int:
    """Bring the field's open conflicts in line with its history; return how many are new."""
    rows = db.execute(
        "select hlc, base, value from oplog where tbl = ? and row_id = ? and col = ?", field_
    ).fetchall()
    lost, (winner_hlc, winner_value) = lost_versions(
        {hlc: (frozenset(base.split()), value) for hlc, base, value in rows}
    )
    open_rows = db.execute(
        "select loser_hlc from conflicts where tbl = ? and row_id = ? and col = ? and resolved = 0",
        field_,
    ).fetchall()
    for (loser,) in open_rows:
        if loser not in lost:  # seen after all: a successor arrived, or its value was taken up
            db.execute(
                "delete from conflicts where tbl = ? and row_id = ? and col = ? and loser_hlc = ?"
                " and resolved = 0",
                [*field_, loser],
            )
    db.execute(
        "update conflicts set winner_hlc = ?, winner_value = ? where tbl = ? and row_id = ?"
        " and col = ? and resolved = 0",
        [winner_hlc, winner_value, *field_],
    )
    new = 0
    for loser, value in sorted(lost.items()):
        cursor = db.execute(
            "insert or ignore into conflicts (id, tbl, row_id, col, winner_hlc, winner_value,"
            " loser_hlc, loser_value, detected_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [uuid7(), *field_, winner_hlc, winner_value, loser, value, detected_at],
        )
        new += cursor.rowcount
    return new


# -- reading and settling conflicts ------------------------------------------------------
_CONFLICT_COLUMNS = (
    "id, tbl, row_id, col, winner_hlc, winner_value, loser_hlc, loser_value, detected_at, resolved"
)


def _conflicts(db: sqlite_utils.Database, where: str, params: list[Any]) -> list[Conflict]:
    """Conflicts matching ``where``; open ones are first brought up to date.

    Merge recomputes a field's conflicts when a change for it arrives; an edit made here
    can only settle some (its author saw the value it replaced), so the open ones are
    checked again before they are shown.
    """
    stale = db.execute(
        f"select distinct tbl, row_id, col from conflicts where resolved = 0 and ({where})",
        params,
    ).fetchall()
    if stale:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with write_transaction(db):
            for tbl, row_id, col in stale:
                _settle_conflicts(db, (tbl, row_id, col), now)
    rows = db.execute(
        f"select {_CONFLICT_COLUMNS} from conflicts where {where} order by col, loser_hlc", params
    ).fetchall()
    return [
        Conflict(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9])) for r in rows
    ]


def conflicts_for_case(db: sqlite_utils.Database, case_id: str) -> list[Conflict]:
    """Open conflicts of one case: non-empty means "edited at two desks"."""
    return _conflicts(db, "row_id = ? and tbl = 'cases' and resolved = 0", [case_id])


def open_conflicts(db: sqlite_utils.Database) -> list[Conflict]:
    """Every open conflict (cases and agencies), for a "conflicts to review" list."""
    return _conflicts(db, "resolved = 0", [])


def cases_edited_at_two_desks(db: sqlite_utils.Database) -> set[str]:
    """The cases with an open conflict (the case list's "edited at two desks" flag)."""
    return {c.row_id for c in _conflicts(db, "tbl = 'cases' and resolved = 0", [])}


def flagged_cases(db: sqlite_utils.Database, case_ids: Iterable[str] | None = None) -> set[str]:
    """Which of ``case_ids`` (default: every case) have an open conflict, in one query.

    For the case list's flag, a page at a time. The conflicts are read as recorded,
    not checked again like ``cases_edited_at_two_desks`` does (that may write): a case
    page shown re-checks its own, and the list reads them again when cases change.
    """
    sql = "select distinct row_id from conflicts where tbl = 'cases' and resolved = 0"
    if case_ids is None:
        return {r[0] for r in db.execute(sql)}
    sql += " and row_id in (select value from json_each(?))"
    return {r[0] for r in db.execute(sql, [json.dumps(list(case_ids))])}


def take_other_value(repo: CaseRepository, conflict_id: str) -> list[str]:
    """Make the overwritten value the field's value again: a new, audited edit by the
    repository's user, which settles the conflict on every desk it reaches.

    Returns the fields changed (as ``update_case`` does). Raises ``KeyError`` for an
    unknown or already settled conflict (or a deleted case), ``ValidationError`` if the
    value is refused.
    """
    conflict = _open_conflict(repo.db, conflict_id)
    with write_transaction(repo.db):
        if conflict.tbl == "cases":
            value: Any = conflict.loser_value
            if conflict.col in JSON_FIELDS and isinstance(value, str):
                value = json.loads(value)
            changed = repo.update_case(conflict.row_id, {conflict.col: value})
        elif conflict.tbl == "agencies":
            changed = update_agency(repo, conflict.row_id, {conflict.col: conflict.loser_value})
        else:
            raise ValueError(f"no edit can take another value of {conflict.tbl}.{conflict.col}")
        _record_settlement(repo.db, conflict, edited=conflict.col in changed)
    return changed


def keep_current_value(repo: CaseRepository, conflict_id: str) -> None:
    """Keep the winning value: settles the conflict on every desk it reaches.

    The choice is the repository user's and is audited like an edit (``KEEP_VALUE``,
    the field and the value kept), in the transaction that settles the conflict.
    Raises ``KeyError`` for an unknown or already settled conflict.
    """
    conflict = _open_conflict(repo.db, conflict_id)
    with write_transaction(repo.db):
        _record_settlement(repo.db, conflict, edited=False)
        repo.record(KEEP_VALUE, conflict.row_id, conflict.col, None, conflict.winner_value)


def _open_conflict(db: sqlite_utils.Database, conflict_id: str) -> Conflict:
    found = _conflicts(db, "id = ? and resolved = 0", [conflict_id])
    if not found:
        raise KeyError(conflict_id)
    return found[0]


def _record_settlement(db: sqlite_utils.Database, conflict: Conflict, edited: bool) -> None:
    """Make the field's newest version name the overwritten one as a base too.

    After an edit (``edited``) that is the version the trigger just wrote; otherwise a
    new version with the current value is written (capture writes nothing for an edit
    that changes nothing). Then the conflict is marked resolved and the field's other
    conflicts are brought up to date.
    """
    field_ = (conflict.tbl, conflict.row_id, conflict.col)
    newest = db.execute(
        "select hlc, base, value from oplog where tbl = ? and row_id = ? and col = ?"
        " order by hlc desc limit 1",
        field_,
    ).fetchone()
    hlc, base, value = newest
    if edited:
        bases = " ".join(sorted({b for b in base.split(" ") if b} | {conflict.loser_hlc}))
        db.execute(
            "update oplog set base = ? where tbl = ? and row_id = ? and col = ? and hlc = ?",
            [bases, *field_, hlc],
        )
    else:
        row = db.execute(
            "update sync_clock set hlc = hlc_now(hlc, desk_id) returning hlc, desk_id"
        ).fetchone()
        db.execute(
            "insert into oplog (hlc, origin, tbl, row_id, col, value, base)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            [row[0], row[1], *field_, value, " ".join(sorted({hlc, conflict.loser_hlc}))],
        )
    db.execute("update conflicts set resolved = 1 where id = ?", [conflict.id])
    _settle_conflicts(db, field_, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
