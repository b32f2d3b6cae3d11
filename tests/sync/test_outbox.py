"""The desk's outbox: own changes only, consent hold-back and release, signed bytes kept until
the hub acknowledges them, a fresh seal for every attempt."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mrc_desktop.cases.agencies import add_agency, update_agency
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.batches import GENESIS, ChainLink, open_batch
from mrc_desktop.sync.changes import Change, changes_from_json
from mrc_desktop.sync.keys import Identity, Peers, new_identity
from mrc_desktop.sync.merge import apply_changes
from mrc_desktop.sync.outbox import (
    AcknowledgementError,
    OutboxBatch,
    acknowledge,
    fill_outbox,
    pending,
    pending_counts,
    seal,
    sync_allowed,
)
from mrc_desktop.sync.state import ensure_identity, load_state, update_state
from tests.sync.desks import Desk, open_desk, send

HUB = new_identity()
GIVEN = {"sync": {"given": True, "on": "2026-11-23", "by": "sup-a"}}
NOT_GIVEN = {"counselling": {"given": True, "on": "2026-11-23", "by": "sup-a"}}


class Outbox:
    """A desk with a sync identity and the desk id its batches go out under."""

    def __init__(self, folder: Path, name: str) -> None:
        self.desk: Desk = open_desk(folder, name)
        self.identity: Identity = ensure_identity(self.desk.db)[0]
        self.desk_id = uuid7()
        update_state(self.desk.db, desk_id=self.desk_id)

    def fill(self) -> list[OutboxBatch]:
        """Fill the outbox; the batches made by this fill."""
        before = load_state(self.desk.db).sent_seq
        fill_outbox(self.desk.db, self.identity, self.desk_id)
        return [b for b in pending(self.desk.db, self.desk_id) if b.seq > before]

    def opened(self, batch: OutboxBatch) -> list[Change]:
        """The batch as the hub reads it: sealed to the hub, opened, signature checked."""
        peers = Peers(desks={self.desk_id: self.identity.public})
        got = open_batch(HUB, peers, seal(self.identity, HUB.public, batch))
        assert (got.seq, got.this_hash, got.signed) == (batch.seq, batch.this_hash, batch.signed)
        return changes_from_json(got.changes)


def worker(name: str, consent: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"person_name": name, "destination_country": "TH", "consent": consent, **extra}


CHILDREN = ("case_entries", "attachments", "audit_log")


def rows_of(desk: Desk, case_id: str) -> set[tuple[str, str]]:
    """(table, row id) of the case's own row and of every row naming it (notes, files, audit)."""
    rows = {("cases", case_id)}
    for table in CHILDREN:
        found = desk.db.execute(f"select id from {table} where case_id = ?", [case_id])
        rows |= {(table, r[0]) for r in found}
    return rows


def owned_by(desk: Desk, changes: list[Change], case_id: str) -> set[tuple[str, str, str, str]]:
    rows = rows_of(desk, case_id)
    return {(c.tbl, c.row_id, c.col, c.hlc) for c in changes if (c.tbl, c.row_id) in rows}


def own_history(desk: Desk, case_id: str) -> set[tuple[str, str, str, str]]:
    """Every change this desk made to the case and its rows, read from the oplog directly."""
    rows = rows_of(desk, case_id)
    found = desk.db.execute("select tbl, row_id, col, hlc from oplog where origin = ?", [desk.id])
    return {tuple(r) for r in found if (r[0], r[1]) in rows}


def case_rows(desk: Desk, case_id: str) -> dict[str, list[tuple[Any, ...]]]:
    db = desk.db
    return {
        "cases": db.execute("select * from cases where id = ?", [case_id]).fetchall(),
        "entries": sorted(
            db.execute("select * from case_entries where case_id = ?", [case_id]).fetchall()
        ),
        "audit": sorted(
            db.execute("select * from audit_log where case_id = ?", [case_id]).fetchall()
        ),
    }


def test_only_own_changes_go_out_in_chained_batches_and_the_cursor_moves(
    tmp_path: Path,
) -> None:
    a, b = Outbox(tmp_path, "a"), Outbox(tmp_path, "b")
    b_case = b.desk.repo.create_case(worker("Invented Worker Kosal", GIVEN))
    send(b.desk, a.desk)  # a now holds b's changes too: they are the hub's to forward
    a_case = a.desk.repo.create_case(worker("Invented Worker Dara", GIVEN))

    first = a.fill()
    assert [batch.seq for batch in first] == [1]
    changes = a.opened(first[0])
    assert {c.origin for c in changes} == {a.desk.id}
    assert owned_by(a.desk, changes, a_case) == own_history(a.desk, a_case)
    assert owned_by(a.desk, changes, b_case) == set()
    assert first[0].changes == len(changes)
    assert a.fill() == []  # nothing new: the cursor moved past everything sent

    a.desk.repo.update_case(a_case, {"status": "in_progress"})
    second = a.fill()
    assert [batch.seq for batch in second] == [2]
    assert (
        open_batch(
            HUB,
            Peers(desks={a.desk_id: a.identity.public}),
            seal(a.identity, HUB.public, second[0]),
        ).prev_hash
        == first[0].this_hash
    )
    sent = a.opened(second[0])
    assert {(c.tbl, c.col) for c in sent if c.tbl == "cases"} >= {("cases", "status")}
    assert all(c.origin == a.desk.id for c in sent)


def test_a_case_waits_for_consent_then_its_whole_history_goes(tmp_path: Path) -> None:
    a = Outbox(tmp_path, "a")
    repo = a.desk.repo
    shared = repo.create_case(worker("Invented Worker Dara", GIVEN))
    private = repo.create_case(worker("Invented Worker Sokha", NOT_GIVEN))
    repo.add_entry(private, "note", {"text": "Employer keeps the passport."})
    repo.update_case(private, {"status": "in_progress"})
    repo.open_case(private)  # a 'view' audit row names the case too

    held_batches = a.fill()
    held = [c for batch in held_batches for c in a.opened(batch)]
    assert owned_by(a.desk, held, shared) == own_history(a.desk, shared)
    assert owned_by(a.desk, held, private) == set()  # not its row, its note nor its audit rows
    assert pending_counts(a.desk.db)[1] == 1

    repo.update_case(private, {"consent": {**NOT_GIVEN, **GIVEN}})
    released_batches = a.fill()
    released = [c for batch in released_batches for c in a.opened(batch)]
    assert pending_counts(a.desk.db)[1] == 0
    assert owned_by(a.desk, released, private) == own_history(a.desk, private)
    # Applied in order at another desk, the case arrives whole: row, note and audit trail.
    other = open_desk(tmp_path, "other")
    for batch in [*held_batches, *released_batches]:
        apply_changes(other.db, a.opened(batch))
    assert case_rows(other, private) == case_rows(a.desk, private)
    assert case_rows(other, shared) == case_rows(a.desk, shared)
    assert other.db.execute("select count(*) from sync_pending").fetchone()[0] == 0


def test_every_batch_passes_the_hubs_consent_rule_when_a_history_spans_batches(
    tmp_path: Path,
) -> None:
    """Eighty cases typed before consent was asked, then consent given to each: their released
    history fills several batches, and the first ones hold the case rows as first typed
    (no sync consent). The hub checks every case a batch touches against the newest consent
    it knows, so each batch must bring the case's current consent with it."""
    a = Outbox(tmp_path, "a")
    ids = [
        a.desk.repo.create_case(
            worker(f"Invented Worker {n}", NOT_GIVEN, narrative=os.urandom(4000).hex())
        )
        for n in range(80)
    ]
    assert a.fill() == []  # nothing of these cases goes yet
    assert pending_counts(a.desk.db)[1] == 80
    for case_id in ids:
        a.desk.repo.update_case(case_id, {"consent": GIVEN})
    batches = [a.opened(batch) for batch in a.fill()]
    assert len(batches) >= 2
    hub_rule(batches)
    sent = [(c.tbl, c.row_id, c.col, c.hlc) for batch in batches for c in batch]
    assert len(sent) == len(set(sent))  # nothing twice
    everything = [c for batch in batches for c in batch]
    for case_id in ids:
        assert owned_by(a.desk, everything, case_id) == own_history(a.desk, case_id)


def test_no_row_is_cut_between_two_batches(tmp_path: Path) -> None:
    """The hub finds a note's case by its case_id column; a note whose columns were cut over
    two batches would reach it half without one. Notes of every length, sizes chosen so the
    batch ends fall at many places inside rows."""
    a = Outbox(tmp_path, "a")
    case_id = a.desk.repo.create_case(worker("Invented Worker Dara", GIVEN))
    for n in range(80):
        text = os.urandom(300 + 75 * n).hex()
        a.desk.repo.add_entry(case_id, "note", {"text": text})
    batches = [a.opened(batch) for batch in a.fill()]
    assert len(batches) >= 2
    where: dict[tuple[str, str, str], set[int]] = {}
    for number, batch in enumerate(batches):
        for c in batch:
            where.setdefault((c.hlc, c.tbl, c.row_id), set()).add(number)
    assert all(len(found) == 1 for found in where.values()), "a row was cut between batches"
    hub_rule(batches)
    notes = [c for batch in batches for c in batch if c.tbl == "case_entries"]
    assert {c.row_id for c in notes if c.col == "case_id" and c.value == case_id} == {
        c.row_id for c in notes
    }


def hub_rule(batches: list[list[Change]]) -> None:
    """The hub's consent rule, written from the contract: every case a batch touches (its row,
    or a row naming it in case_id) allows sync by its newest consent change, in the batch
    or accepted before."""
    known: dict[str, tuple[str, bool]] = {}
    for number, batch in enumerate(batches, 1):
        newest = dict(known)
        for c in batch:
            if c.tbl == "cases" and c.col == "consent":
                mark = (c.hlc, sync_allowed(c.value))
                if c.row_id not in newest or mark[0] > newest[c.row_id][0]:
                    newest[c.row_id] = mark
        touched = {c.row_id for c in batch if c.tbl == "cases"}
        touched |= {str(c.value) for c in batch if c.col == "case_id" and c.value}
        for case_id in touched:
            assert newest.get(case_id, ("", False))[1], f"batch {number}: {case_id} refused"
        known = newest


def test_an_agency_syncs_and_who_changed_it_stays_in_this_desks_audit_log(tmp_path: Path) -> None:
    """The audit log names an agency in ``case_id`` (add_agency, change_agency); those rows are
    not a case waiting for consent, and the hub would refuse a batch carrying them."""
    a = Outbox(tmp_path, "a")
    agency = add_agency(a.desk.repo, {"name": "Invented Manpower Ltd", "country": "NP"})
    case_id = a.desk.repo.create_case(worker("Invented Worker Dara", GIVEN, agency_id=agency))
    update_agency(a.desk.repo, agency, {"licence_status": "suspended"})
    # A store filled by the previous release held the agency back as a case without consent.
    a.desk.db.execute("insert into sync_consent (case_id, held) values (?, 1)", [agency])

    batches = [a.opened(batch) for batch in a.fill()]
    sent = [c for batch in batches for c in batch]
    assert {c.col: c.value for c in sent if c.tbl == "agencies"}["licence_status"] == "suspended"
    assert [c for c in sent if c.col == "case_id" and c.value == agency] == []
    assert owned_by(a.desk, sent, case_id) == own_history(a.desk, case_id)
    assert pending_counts(a.desk.db)[1] == 0  # the Sync screen counts no case kept here
    hub_rule(batches)
    assert (
        a.desk.db.execute("select count(*) from audit_log where case_id = ?", [agency]).fetchone()[
            0
        ]
        == 2
    )  # still on this desk


def test_signed_bytes_stay_until_acknowledged_and_every_attempt_reseals(tmp_path: Path) -> None:
    a = Outbox(tmp_path, "a")
    a.desk.repo.create_case(worker("Invented Worker Dara", GIVEN))
    (batch,) = a.fill()
    first, second = seal(a.identity, HUB.public, batch), seal(a.identity, HUB.public, batch)
    assert first != second  # a fresh nonce each time …
    assert a.opened(batch)  # … around the same signed batch (opened() checks bytes and hash)

    with pytest.raises(AcknowledgementError, match="another batch #1"):
        acknowledge(a.desk.db, a.desk_id, ChainLink(1, bytes(32)))
    with pytest.raises(AcknowledgementError, match="acknowledges batch #2"):
        acknowledge(a.desk.db, a.desk_id, ChainLink(2, bytes(32)))
    assert pending(a.desk.db, a.desk_id) == [batch]  # a wrong acknowledgement drops nothing

    db = a.desk.db
    db.close()  # a restarted desk still has it, byte for byte
    a.desk.reopen()
    assert pending(a.desk.db, a.desk_id) == [batch]
    assert acknowledge(a.desk.db, a.desk_id, batch.link) == 1
    assert pending(a.desk.db, a.desk_id) == []
    assert acknowledge(a.desk.db, a.desk_id, batch.link) == 0  # a repeated answer is harmless
    state = load_state(a.desk.db)
    assert (state.sent_seq, state.acked_seq, state.sent_hash) == (1, 1, batch.this_hash)
    assert state.sent_hash != GENESIS


def test_sync_state_never_reaches_the_oplog_and_the_identity_is_made_once(
    tmp_path: Path,
) -> None:
    a = Outbox(tmp_path, "a")
    a.desk.repo.create_case(worker("Invented Worker Dara", GIVEN))
    count = a.desk.db.execute("select count(*) from oplog").fetchone()[0]
    a.fill()
    acknowledge(a.desk.db, a.desk_id, ChainLink(1, pending(a.desk.db, a.desk_id)[0].this_hash))
    update_state(a.desk.db, feed_cursor=7, last_error="x")
    assert a.desk.db.execute("select count(*) from oplog").fetchone()[0] == count
    captured = {r[0] for r in a.desk.db.execute("select tbl from sync_tables")}
    assert not {t for t in captured if t.startswith("sync_")}
    again, made = ensure_identity(a.desk.db)
    assert (again, made) == (a.identity, False)


def test_a_large_file_goes_in_parts_and_nothing_waits(tmp_path: Path) -> None:
    a = Outbox(tmp_path, "a")
    repo = a.desk.repo
    case_id = repo.create_case(worker("Invented Worker Dara", GIVEN))
    photo = os.urandom(300_000)  # does not compress: one change of it would fit no batch
    attachment = repo.add_attachment_row(case_id, "passport.jpg", "image/jpeg", photo, "0" * 64)
    repo.add_entry(case_id, "note", {"text": "Called the employer."})
    sent = [c for batch in a.fill() for c in a.opened(batch)]
    [content] = [c for c in sent if c.tbl == "attachments" and c.col == "content"]
    assert content.row_id == attachment and content.value == b""
    parts = sorted(
        (c.row_id, c.value) for c in sent if c.tbl == "attachment_parts" and c.col == "content"
    )
    order = dict(a.desk.db.execute("select id, idx from attachment_parts").fetchall())
    assert b"".join(v for _i, v in sorted(parts, key=lambda p: order[p[0]])) == photo
    assert [c for c in sent if c.tbl == "case_entries" and "employer" in str(c.value)]
    assert pending_counts(a.desk.db)[2] == 0


def test_a_change_too_large_for_any_batch_waits_and_the_rest_still_goes(tmp_path: Path) -> None:
    """The safety net: no form writes such a value, but one written another way must not
    stop every later change behind it."""
    a = Outbox(tmp_path, "a")
    repo = a.desk.repo
    case_id = repo.create_case(worker("Invented Worker Dara", GIVEN))
    huge = os.urandom(400_000).hex()  # text that compresses to ~400 KB
    repo.add_entry(case_id, "note", {"text": huge})
    repo.add_entry(case_id, "note", {"text": "Called the employer."})
    sent = [c for batch in a.fill() for c in a.opened(batch)]
    notes = [c for c in sent if c.tbl == "case_entries" and c.col == "payload"]
    assert [json.loads(str(c.value))["text"] for c in notes] == ["Called the employer."]
    assert pending_counts(a.desk.db)[2] == 1
    reason = a.desk.db.execute("select tbl, col, reason from sync_deferred").fetchone()
    assert reason[:2] == ("case_entries", "payload") and "compressed" in reason[2]


def test_consent_json_is_read_strictly() -> None:
    assert sync_allowed(json.dumps(GIVEN))
    assert not sync_allowed(json.dumps(NOT_GIVEN))
    assert not sync_allowed(json.dumps({"sync": {"given": "yes"}}))
    assert not sync_allowed("not json")
    assert not sync_allowed(None)
