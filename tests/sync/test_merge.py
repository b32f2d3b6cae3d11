"""Merge: per field the highest timestamp wins everywhere; overwritten concurrent values
are kept as conflicts; rows wait for what they need; applying twice changes nothing."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrc_desktop.cases.agencies import add_agency
from mrc_desktop.cases.repository import CaseFilter
from mrc_desktop.sync import capture
from mrc_desktop.sync.changes import Change
from mrc_desktop.sync.hlc import MINUTE_MS, ClockSkewError, Timestamp
from mrc_desktop.sync.merge import (
    KEEP_VALUE,
    MergeError,
    apply_changes,
    cases_edited_at_two_desks,
    conflicts_for_case,
    flagged_cases,
    keep_current_value,
    take_other_value,
)
from tests.sync.desks import START_MS, Desk, dump, open_desk, oplog, send, sync

WORKER = {
    "person_name": "Invented Worker Sokha",
    "phone": "+855 10 000 222",
    "destination_country": "TH",
    "narrative": "Passport kept by the employer in Rayong.",
}


Desks = tuple[Desk, Desk, Desk]


@pytest.fixture
def desks(tmp_path: Path) -> Iterator[Desks]:
    made = (open_desk(tmp_path, "a"), open_desk(tmp_path, "b"), open_desk(tmp_path, "c"))
    yield made
    for desk in made:
        desk.db.close()


def everything(desk: Desk) -> list[Change]:
    return capture.changes_since(desk.db, {})


def stored(desk: Desk) -> tuple[object, int]:
    """What a reader could notice: every synced row, and the size of the history."""
    return dump(desk.db), len(oplog(desk.db))


def open_conflicts(desk: Desk) -> set[tuple[str, str, str, str]]:
    rows = desk.db.execute(
        "select tbl, row_id, col, loser_hlc from conflicts where resolved = 0"
    ).fetchall()
    return {tuple(r) for r in rows}


def concurrent_status(desks: Desks) -> str:
    """A's case, known to B; then A and B change its status without seeing each other,
    B a little later by the clock."""
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    sync(a, b)
    a.set_clock(START_MS + 1000)
    a.repo.update_case(case_id, {"status": "in_progress"})
    b.set_clock(START_MS + 2000)
    b.repo.update_case(case_id, {"status": "referred"})
    return case_id


def test_a_case_made_at_one_desk_appears_at_another_and_can_be_found(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    a.repo.add_entry(case_id, "note", {"text": "Called the recruitment agency in Phnom Penh."})
    result = send(a, b)
    assert result.won == len(everything(a)) and result.touched_cases == {case_id}
    case = b.repo.open_case_header(case_id)
    assert case["person_name"] == "Invented Worker Sokha" and case["origin_desk"] == a.id
    assert [e["payload"]["text"] for e in b.repo.entries(case_id)] == [
        "Called the recruitment agency in Phnom Penh."
    ]
    # Merged cases are searchable (the search index is derived and rebuilt).
    assert b.repo.count(CaseFilter(text="agency in Phnom")) == 1
    assert b.repo.count(CaseFilter(text="Sokha")) == 1
    # Applied changes are kept with their own origin and timestamp (to forward them);
    # no timestamp was made for them at B.
    assert {(c.hlc, c.origin) for c in everything(b)} == {(c.hlc, c.origin) for c in everything(a)}


def test_an_edit_made_after_seeing_ours_wins_without_a_conflict(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    sync(a, b)
    b.repo.update_case(case_id, {"status": "in_progress", "assignee": "sup-b"})
    sync(a, b)
    assert a.repo.open_case_header(case_id)["status"] == "in_progress"
    assert dump(a.db) == dump(b.db)
    assert conflicts_for_case(a.db, case_id) == conflicts_for_case(b.db, case_id) == []


def test_concurrent_edits_the_later_wins_everywhere_and_the_other_is_kept(desks: Desks) -> None:
    a, b, _c = desks
    case_id = concurrent_status(desks)
    a_edit = oplog(a.db, row_id=case_id, col="status")[-1]["hlc"]
    sync(a, b)
    assert a.repo.open_case_header(case_id)["status"] == "referred"
    assert dump(a.db) == dump(b.db)
    for desk in (a, b):
        [conflict] = conflicts_for_case(desk.db, case_id)  # updated_at is no conflict
        assert (conflict.col, conflict.winner_value) == ("status", "referred")
        assert (conflict.loser_value, conflict.loser_hlc) == ("in_progress", a_edit)
        assert conflict.loser_desk == a.id and not conflict.resolved
        assert cases_edited_at_two_desks(desk.db) == {case_id}
        assert flagged_cases(desk.db) == flagged_cases(desk.db, [case_id, "x"]) == {case_id}
        assert flagged_cases(desk.db, ["x"]) == set()


def test_an_older_concurrent_change_loses_and_is_recorded(desks: Desks) -> None:
    a, b, _c = desks
    case_id = concurrent_status(desks)
    result = send(a, b)  # A's older edit reaches B
    assert result.lost == 2 and result.new_conflicts == 1  # status; updated_at lost quietly
    assert b.repo.open_case_header(case_id)["status"] == "referred"
    [conflict] = conflicts_for_case(b.db, case_id)
    assert conflict.loser_value == "in_progress"


def test_applying_again_changes_nothing(desks: Desks) -> None:
    a, b, _c = desks
    concurrent_status(desks)
    changes = everything(a)
    apply_changes(b.db, changes)
    before, conflicts = stored(b), open_conflicts(b)
    result = apply_changes(b.db, changes + changes[::-1])
    assert result.duplicates == len(changes) and result.won == result.lost == 0
    assert stored(b) == before and open_conflicts(b) == conflicts


@dataclass
class History:
    """Changes made at three desks, with concurrent edits, notes, a new case and a delete,
    and what a desk holds after receiving them in one piece."""

    folder: Path
    changes: list[Change]
    store: object
    conflicts: set[tuple[str, str, str, str]]
    case_id: str
    second: str


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("history")
    a, b, c = (open_desk(folder, n) for n in "abc")
    agency = add_agency(a.repo, {"name": "Invented Manpower Ltd", "country": "NP"})
    case_id = a.repo.create_case({**WORKER, "agency_id": agency})
    sync(a, b)
    sync(b, c)
    a.set_clock(START_MS + 10)
    a.repo.update_case(case_id, {"status": "in_progress", "sector": "fishing"})
    a.repo.add_entry(case_id, "note", {"text": "note from A"})
    b.set_clock(START_MS + 20)
    b.repo.update_case(case_id, {"status": "referred", "narrative": "B's account."})
    b.repo.add_entry(case_id, "note", {"text": "note from B"})
    second = b.repo.create_case({**WORKER, "person_name": "Invented Second Worker"})
    c.set_clock(START_MS + 30)
    c.repo.update_case(case_id, {"sector": "construction"})
    c.repo.delete_case(case_id)
    changes = everything(a) + everything(b) + everything(c)
    whole = open_desk(folder, "whole")
    apply_changes(whole.db, changes)
    made = History(folder, changes, stored(whole)[0], open_conflicts(whole), case_id, second)
    for desk in (a, b, c, whole):
        desk.db.close()
    return made


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rng=st.randoms(use_true_random=False))
def test_arrival_order_does_not_matter(history: History, rng: random.Random) -> None:
    """The same changes, cut into pieces and delivered in any order and more than once,
    give the same store and the same conflicts as delivered in one piece."""
    pieces = open_desk(Path(tempfile.mkdtemp(dir=history.folder)), "pieces")
    shuffled = history.changes + rng.sample(history.changes, len(history.changes) // 4)
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), 6))
    for start, end in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
        apply_changes(pieces.db, shuffled[start:end])
    assert stored(pieces)[0] == history.store
    assert open_conflicts(pieces) == history.conflicts != set()
    assert pieces.db.execute("select count(*) from sync_pending").fetchone()[0] == 0
    assert pieces.repo.open_case_header(history.second)["person_name"].endswith("Second Worker")
    assert pieces.repo.count(CaseFilter(text="Second Worker")) == 1
    assert pieces.repo.count(CaseFilter(text="Sokha")) == 0  # deleted at C
    pieces.db.close()


def test_a_tombstone_wins_only_over_older_values(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    sync(a, b)
    b.set_clock(START_MS + 1000)
    b.repo.update_case(case_id, {"narrative": "An older edit made at B."})
    a.set_clock(START_MS + 2000)
    a.repo.delete_case(case_id)
    sync(a, b)
    assert dump(a.db) == dump(b.db)
    assert b.db.execute("select deleted from cases where id = ?", [case_id]).fetchone()[0] == 1
    assert b.repo.count(CaseFilter(text="Invented Worker")) == 0  # left B's search index
    tombstone = oplog(b.db, row_id=case_id, col="deleted")[-1]["hlc"]

    def undelete(ms: int) -> Change:
        return Change(Timestamp(ms, 0, b.id).text, b.id, "cases", case_id, "deleted", 0, tombstone)

    older = Timestamp.parse(tombstone).ms - 1
    apply_changes(
        a.db, [Change(Timestamp(older, 0, b.id).text, b.id, "cases", case_id, "deleted", 0)]
    )
    assert a.db.execute("select deleted from cases where id = ?", [case_id]).fetchone()[0] == 1
    apply_changes(a.db, [undelete(START_MS + 3000)])
    assert a.db.execute("select deleted from cases where id = ?", [case_id]).fetchone()[0] == 0
    assert a.repo.count(CaseFilter(text="Invented Worker")) == 1  # back in the search index


def test_notes_added_at_two_desks_are_both_kept(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    sync(a, b)
    a.repo.add_entry(case_id, "note", {"text": "from A"})
    b.repo.add_entry(case_id, "note", {"text": "from B"})
    sync(a, b)
    for desk in (a, b):
        notes = sorted(e["payload"]["text"] for e in desk.repo.entries(case_id))
        assert notes == ["from A", "from B"]
        assert conflicts_for_case(desk.db, case_id) == []


def test_a_note_that_arrives_before_its_case_waits_for_it(desks: Desks) -> None:
    a, b, c = desks
    agency = add_agency(a.repo, {"name": "Invented Overseas Agency", "country": "KH"})
    sync(a, b)
    case_id = b.repo.create_case({**WORKER, "agency_id": agency})
    sync(a, b)
    a.repo.add_entry(case_id, "note", {"text": "a note written at A"})
    # C hears from A first: the note names a case C has never seen, whose row (from B)
    # names an agency C has never seen either.
    result = apply_changes(c.db, [x for x in everything(a) if x.origin == a.id])
    assert result.waiting > 0
    assert c.db.execute("select count(*) from case_entries").fetchone()[0] == 0
    result = apply_changes(c.db, [x for x in everything(b) if x.origin == b.id])
    assert result.waiting == 0 and result.touched_cases == {case_id}
    assert [e["payload"]["text"] for e in c.repo.entries(case_id)] == ["a note written at A"]
    assert c.repo.count(CaseFilter(text="written at A")) == 1
    assert dump(c.db) == dump(a.db)


def test_a_conflict_that_was_seen_after_all_is_withdrawn(desks: Desks) -> None:
    """B edits after seeing A's edit; C hears B's first and cannot tell yet that B saw
    it. When A's edit arrives, the history shows it was seen: no conflict remains."""
    a, b, c = desks
    case_id = a.repo.create_case(WORKER)
    sync(a, b)
    sync(a, c)
    a.set_clock(START_MS + 1000)
    a.repo.update_case(case_id, {"status": "in_progress"})
    sync(a, b)
    b.set_clock(START_MS + 2000)
    b.repo.update_case(case_id, {"status": "referred"})
    apply_changes(c.db, capture.changes_since(b.db, {**capture.cursors(c.db), a.id: "~"}))
    assert c.repo.open_case_header(case_id)["status"] == "referred"
    assert [x.loser_value for x in conflicts_for_case(c.db, case_id)] == ["new"]
    send(a, c)
    assert conflicts_for_case(c.db, case_id) == []
    assert dump(c.db) == dump(b.db)


def test_taking_the_other_value_is_a_new_edit_that_settles_it_everywhere(desks: Desks) -> None:
    a, b, _c = desks
    case_id = concurrent_status(desks)
    sync(a, b)
    [conflict] = conflicts_for_case(a.db, case_id)
    before = oplog(a.db, row_id=case_id, col="status")[-1]["hlc"]
    a.set_clock(START_MS + 3000)
    assert take_other_value(a.repo, conflict.id) == ["status"]
    edit = oplog(a.db, row_id=case_id, col="status")[-1]
    assert edit["value"] == "in_progress" and edit["hlc"] > before and edit["origin"] == a.id
    assert edit["base"].split() == sorted([conflict.winner_hlc, conflict.loser_hlc])
    audit = a.repo.audit_entries(case_id)[-1]
    assert (audit["action"], audit["field"], audit["new_value"]) == (
        "change",
        "status",
        "in_progress",
    )
    assert conflicts_for_case(a.db, case_id) == []
    assert a.db.execute("select resolved from conflicts where id = ?", [conflict.id]).fetchone()[0]
    sync(a, b)
    assert b.repo.open_case_header(case_id)["status"] == "in_progress"
    assert conflicts_for_case(b.db, case_id) == [] and dump(a.db) == dump(b.db)
    with pytest.raises(KeyError):
        take_other_value(a.repo, conflict.id)  # settled already


def test_keeping_the_current_value_settles_it_everywhere(desks: Desks) -> None:
    a, b, _c = desks
    case_id = concurrent_status(desks)
    sync(a, b)
    [conflict] = conflicts_for_case(b.db, case_id)
    keep_current_value(b.repo, conflict.id)
    # The choice is audited: who kept which field's value.
    audit = b.repo.audit_entries(case_id)[-1]
    assert (audit["action"], audit["user_id"], audit["field"], audit["new_value"]) == (
        KEEP_VALUE,
        b.repo.user.id,
        "status",
        "referred",
    )
    with pytest.raises(KeyError):
        keep_current_value(b.repo, conflict.id)  # settled already
    sync(a, b)
    for desk in (a, b):
        assert desk.repo.open_case_header(case_id)["status"] == "referred"
        assert conflicts_for_case(desk.db, case_id) == []
    assert dump(a.db) == dump(b.db)


def test_changes_for_what_does_not_sync_are_refused_whole(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    good = everything(a)
    before = stored(b)
    stamp = Timestamp(START_MS + 5, 0, a.id).text
    for bad, message in [
        (Change(stamp, a.id, "users", "u1", "password_hash", "x"), "users.password_hash does not"),
        (Change(stamp, a.id, "cases", "c1", "rowid", 5), "cases.rowid does not sync"),
        (Change(stamp, a.id, "cases", case_id, "person_name", None), "NOT NULL"),
    ]:
        with pytest.raises(MergeError, match=message):
            apply_changes(b.db, [*good, bad])
        assert stored(b) == before


def test_a_different_value_under_a_held_timestamp_is_refused(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    send(a, b)
    before = stored(b)
    [name] = [x for x in everything(a) if x.row_id == case_id and x.col == "person_name"]
    forged = Change(name.hlc, name.origin, name.tbl, name.row_id, name.col, "Someone Else")
    with pytest.raises(MergeError, match="differs from the version held"):
        apply_changes(b.db, [forged])
    assert stored(b) == before


def test_entries_stay_append_only_across_desks(desks: Desks) -> None:
    a, b, _c = desks
    case_id = a.repo.create_case(WORKER)
    entry_id = a.repo.add_entry(case_id, "note", {"text": "original"})
    send(a, b)
    before = stored(b)
    [payload] = [x for x in everything(a) if x.row_id == entry_id and x.col == "payload"]
    rewrite = Change(
        Timestamp(START_MS + 60_000, 0, a.id).text,
        a.id,
        "case_entries",
        entry_id,
        "payload",
        '{"text": "rewritten"}',
        payload.hlc,
    )
    with pytest.raises(MergeError, match="append-only"):
        apply_changes(b.db, [rewrite])
    assert stored(b) == before


def test_a_clock_far_ahead_is_refused_and_one_a_little_ahead_warns(desks: Desks) -> None:
    a, b, c = desks
    a.set_clock(START_MS + 25 * 60 * MINUTE_MS)
    a.repo.create_case(WORKER)
    before = stored(b)
    with pytest.raises(ClockSkewError, match="25 hours ahead"):
        send(a, b)
    assert stored(b) == before  # refused whole
    c.set_clock(START_MS + 10 * MINUTE_MS)
    case_id = c.repo.create_case(WORKER)
    result = send(c, b)
    assert result.clock_ahead_ms == 10 * MINUTE_MS
    assert "10 minutes ahead" in (result.clock_warning or "")
    # B's next edit is stamped after what it saw, though its own clock is behind.
    b.repo.update_case(case_id, {"status": "referred"})
    mine = oplog(b.db, row_id=case_id, col="status")[-1]
    assert mine["origin"] == b.id and mine["hlc"] > oplog(c.db, row_id=case_id)[0]["hlc"]
