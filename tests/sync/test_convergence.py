"""Convergence: three desks edit, add notes, delete and sync in any pattern — transfers cut
short, reordered and repeated, clocks skewed — and after a full sync every replica holds
the same data, every field holds the value of its latest edit, and every value that was
overwritten by an edit made without seeing it is kept as a conflict.

The model below is the specification, written independently of the merge code: each
edit the test makes is a version of a field whose parent is the newest version the
editing desk had received (the test knows what it delivered where). After a full sync a
field's value must be its highest-timestamped version's, and the versions nobody built
on (other than that winner, and with another value) are exactly the open conflicts.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from mrc_desktop.sync import capture
from mrc_desktop.sync.changes import Change
from mrc_desktop.sync.merge import (
    apply_changes,
    keep_current_value,
    open_conflicts,
    take_other_value,
)
from tests.sync.desks import START_MS, dump, open_desk, oplog

MINUTE = 60_000
FIELDS = {
    "status": ["new", "in_progress", "referred"],
    "assignee": ["", "sup-a", "sup-b"],
    "narrative": ["Wages unpaid.", "Passport kept by the employer."],
}
MODELLED = (*FIELDS, "deleted")
NAMES = ["Invented Worker Dara", "Invented Worker Mala", "Invented Worker Sokha"]

Field = tuple[str, str]  # (case id, column)


@dataclass
class Version:
    hlc: str
    value: object
    parents: frozenset[str]


@dataclass
class Model:
    versions: dict[Field, dict[str, Version]] = field(default_factory=dict)
    known: list[dict[Field, set[str]]] = field(default_factory=lambda: [{}, {}, {}])
    entries: set[str] = field(default_factory=set)

    def current(self, desk: int, key: Field) -> str | None:
        held = self.known[desk].get(key)
        return max(held) if held else None

    def add(self, desk: int, key: Field, version: Version) -> None:
        self.versions.setdefault(key, {})[version.hlc] = version
        self.known[desk].setdefault(key, set()).add(version.hlc)

    def winner(self, key: Field) -> Version:
        return self.versions[key][max(self.versions[key])]

    def lost(self, key: Field) -> set[str]:
        """Versions nobody built on, other than the winner, whose value the winner's
        author never saw (neither the winner's nor any of its ancestors' value)."""
        versions = self.versions[key]
        top = self.winner(key)
        seen, todo = set(), [top.hlc]
        while todo:
            hlc = todo.pop()
            if hlc not in seen and hlc in versions:
                seen.add(hlc)
                todo += versions[hlc].parents
        seen_values = [versions[h].value for h in seen]
        built_on = {p for v in versions.values() for p in v.parents}
        return {
            v.hlc
            for v in versions.values()
            if v.hlc not in built_on | {top.hlc} and v.value not in seen_values
        }


class Convergence(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="convergence-"))
        self.desks = [open_desk(self.folder, name) for name in "abc"]
        self.now = START_MS
        self.offsets = [0, 0, 0]
        self.model = Model()
        self.typed = 0

    @initialize(names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=2))
    def cases_every_desk_has(self, names: list[str]) -> None:
        """Start from cases known everywhere, so edits at two desks meet early."""
        for name in names:
            self.create_case(0, name)
        self.full_sync()

    # -- clocks -------------------------------------------------------------------
    def _set_clocks(self) -> None:
        for desk, offset in zip(self.desks, self.offsets, strict=True):
            desk.set_clock(self.now + offset)

    @rule(ms=st.sampled_from([0, 0, 1, 7, 1000, 5 * MINUTE]))
    def time_passes(self, ms: int) -> None:
        self.now += ms
        self._set_clocks()

    @rule(desk=st.integers(0, 2), offset=st.sampled_from([-120, -6, -1, 0, 1, 6, 120]))
    def skew_clock(self, desk: int, offset: int) -> None:
        """A desk's clock is set off by up to two hours (also backwards)."""
        self.offsets[desk] = offset * MINUTE
        self._set_clocks()

    # -- edits --------------------------------------------------------------------
    def _live_cases(self, desk: int) -> list[str]:
        rows = self.desks[desk].db.execute("select id from cases where deleted = 0 order by id")
        return [r[0] for r in rows.fetchall()]

    def _record_edit(self, desk: int, case_id: str, col: str, expect_value: object) -> None:
        """Read the version the edit made and check capture named the right parent."""
        key = (case_id, col)
        parent = self.model.current(desk, key)
        [row] = oplog(self.desks[desk].db, row_id=case_id, col=col)[-1:]
        assert row["hlc"] > (parent or "") and row["value"] == expect_value
        assert row["base"] == (parent or "")
        self.model.add(desk, key, Version(row["hlc"], expect_value, frozenset(row["base"].split())))

    @rule(desk=st.integers(0, 2), name=st.sampled_from(NAMES))
    def create_case(self, desk: int, name: str) -> None:
        case_id = self.desks[desk].repo.create_case({"person_name": name, "sector": "fishing"})
        for col in MODELLED:
            [row] = oplog(self.desks[desk].db, row_id=case_id, col=col)
            self.model.add(desk, (case_id, col), Version(row["hlc"], row["value"], frozenset()))

    @rule(desk=st.integers(0, 2), data=st.data())
    def edit_field(self, desk: int, data: st.DataObject) -> None:
        live = self._live_cases(desk)
        if not live:
            return
        case_id = data.draw(st.sampled_from(live))
        col = data.draw(st.sampled_from(sorted(FIELDS)))
        value = data.draw(st.sampled_from(FIELDS[col]))
        if self.desks[desk].repo.update_case(case_id, {col: value}):
            self._record_edit(desk, case_id, col, value)

    @rule(pair=st.sampled_from([(0, 1), (1, 2), (2, 0)]), data=st.data())
    def same_field_at_two_desks(self, pair: tuple[int, int], data: st.DataObject) -> None:
        """Two counsellors change the same field of a case, each offline, each typing
        something new."""
        shared = sorted(set(self._live_cases(pair[0])) & set(self._live_cases(pair[1])))
        if not shared:
            return
        case_id = data.draw(st.sampled_from(shared))
        col = data.draw(st.sampled_from(["assignee", "narrative"]))
        for desk in pair:
            self.typed += 1
            value = f"typed at {self.desks[desk].name} ({self.typed})"
            self.desks[desk].repo.update_case(case_id, {col: value})
            self._record_edit(desk, case_id, col, value)

    @rule(desk=st.integers(0, 2), data=st.data())
    def add_note(self, desk: int, data: st.DataObject) -> None:
        live = self._live_cases(desk)
        if live:
            case_id = data.draw(st.sampled_from(live))
            text = data.draw(st.sampled_from(["Called the employer.", "Met the worker."]))
            self.model.entries.add(self.desks[desk].repo.add_entry(case_id, "note", {"text": text}))

    @rule(desk=st.integers(0, 2), data=st.data())
    def delete_case(self, desk: int, data: st.DataObject) -> None:
        live = self._live_cases(desk)
        if live:
            case_id = data.draw(st.sampled_from(live))
            self.desks[desk].repo.delete_case(case_id)
            self._record_edit(desk, case_id, "deleted", 1)

    def _open_conflicts(self, desk: int) -> list[tuple[str, str, str]]:
        """(conflict id, case id, column) of the open conflicts of live cases at ``desk``."""
        live = set(self._live_cases(desk))
        shown = open_conflicts(self.desks[desk].db)
        return [(c.id, c.row_id, c.col) for c in shown if c.row_id in live]

    @precondition(lambda self: any(self._open_conflicts(d) for d in range(3)))
    @rule(data=st.data(), take=st.booleans())
    def settle_conflict(self, data: st.DataObject, take: bool) -> None:
        """A counsellor takes the other value (a new edit) or keeps the current one."""
        desk = data.draw(st.sampled_from([d for d in range(3) if self._open_conflicts(d)]))
        conflict_id, case_id, col = data.draw(st.sampled_from(self._open_conflicts(desk)))
        key = (case_id, col)
        loser = (
            self.desks[desk]
            .db.execute("select loser_hlc from conflicts where id = ?", [conflict_id])
            .fetchone()[0]
        )
        parent = self.model.current(desk, key)
        if take:
            take_other_value(self.desks[desk].repo, conflict_id)
        else:
            keep_current_value(self.desks[desk].repo, conflict_id)
        [row] = oplog(self.desks[desk].db, row_id=case_id, col=col)[-1:]
        assert set(row["base"].split()) == {parent, loser}
        self.model.add(desk, key, Version(row["hlc"], row["value"], frozenset({parent, loser})))
        event("a conflict was settled")

    # -- syncing ------------------------------------------------------------------
    def _deliver(self, source: int, target: int, changes: list[Change]) -> None:
        apply_changes(self.desks[target].db, changes)
        for change in changes:
            if change.tbl == "cases" and change.col in MODELLED:
                self.model.known[target].setdefault((change.row_id, change.col), set()).add(
                    change.hlc
                )

    @rule(
        pair=st.sampled_from([(0, 1), (1, 2), (0, 2)]),
        data=st.data(),
    )
    def sync_pair(self, pair: tuple[int, int], data: st.DataObject) -> None:
        """Both ways; a transfer may be cut short (a prefix arrives), and what arrives may
        come reordered and partly twice."""
        for source, target in (pair, pair[::-1]):
            changes = capture.changes_since(
                self.desks[source].db, capture.cursors(self.desks[target].db)
            )
            if changes and data.draw(st.booleans(), label="cut"):
                changes = changes[: data.draw(st.integers(0, len(changes)), label="arrived")]
            if changes and data.draw(st.booleans(), label="mess"):
                extra = data.draw(st.lists(st.sampled_from(changes), max_size=5))
                changes = data.draw(st.permutations(changes + extra), label="order")
            if self.desks[target].db.execute("select 1 from sync_pending limit 1").fetchone():
                event("a row waited for the rest of its changes")
            self._deliver(source, target, changes)

    def full_sync(self) -> None:
        for _round in range(2):
            for source, target in ((0, 1), (1, 2), (2, 0), (1, 0), (2, 1), (0, 2)):
                changes = capture.changes_since(
                    self.desks[source].db, capture.cursors(self.desks[target].db)
                )
                self._deliver(source, target, changes)

    @invariant()
    def search_is_derived(self) -> None:
        if any(self._open_conflicts(d) for d in range(3)):
            event("a desk shows a conflict")
        for desk in self.desks:
            live = desk.db.execute("select rowid from cases where deleted = 0").fetchall()
            indexed = desk.db.execute("select rowid from case_search").fetchall()
            assert sorted(live) == sorted(indexed)

    def teardown(self) -> None:
        try:
            self.full_sync()
            self.check_converged()
        finally:
            for desk in self.desks:
                desk.db.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def check_converged(self) -> None:
        first = dump(self.desks[0].db)
        for desk in self.desks:
            assert dump(desk.db) == first, f"desk {desk.name} differs"
            assert desk.db.execute("select count(*) from sync_pending").fetchone()[0] == 0
            assert desk.db.execute("pragma integrity_check").fetchone()[0] == "ok"
        entries = {r[0] for r in first["case_entries"]}
        assert self.model.entries <= entries
        losers_anywhere: set[tuple[str, str, str]] = set()
        for desk in self.desks:
            losers_anywhere |= {
                tuple(r) for r in desk.db.execute("select row_id, col, loser_hlc from conflicts")
            }
        for key in self.model.versions:
            case_id, col = key
            winner = self.model.winner(key)
            for desk in self.desks:
                value = desk.db.execute(
                    f"select {col} from cases where id = ?", [case_id]
                ).fetchone()[0]
                assert value == winner.value, f"{desk.name}: {col} of {case_id}"
            lost = self.model.lost(key)
            # Every overwritten concurrent value is kept (open, or settled by someone) …
            assert {(case_id, col, h) for h in lost} <= losers_anywhere
            # … and every desk shows the same open conflicts, and no others.
            for desk in self.desks:
                shown = {
                    c.loser_hlc
                    for c in open_conflicts(desk.db)
                    if (c.row_id, c.col) == (case_id, col)
                }
                assert shown == lost, f"{desk.name}: conflicts of {col} of {case_id}"


Convergence.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
test_three_desks_converge = Convergence.TestCase
