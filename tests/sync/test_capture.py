"""Change capture: every write of a synced column lands in the oplog, whoever makes it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mrc_desktop.cases.drafts import save_draft
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import CASE_FIELDS, open_case_store
from mrc_desktop.storage import sqlite_build
from mrc_desktop.storage.change_capture import register_functions
from mrc_desktop.storage.encrypted import KeyParams, derive_key, key_file
from mrc_desktop.sync import capture
from mrc_desktop.sync.changes import Change, ChangeFormatError, changes_from_json
from tests.fast_keys import PASS
from tests.sync.desks import START_MS, Desk, open_desk, oplog

WORKER = {
    "person_name": "Invented Worker Mala",
    "phone": "+977 98 0000 1111",
    "destination_country": "MY",
    "categories": ["wages"],
    "narrative": "Wages unpaid for two months.",
}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    desk = open_desk(tmp_path, "a")
    yield desk
    desk.db.close()


def test_a_new_case_is_captured_column_by_column_under_one_timestamp(desk: Desk) -> None:
    case_id = desk.repo.create_case(WORKER)
    rows = oplog(desk.db, tbl="cases", row_id=case_id)
    columns = [r[1] for r in desk.db.execute("pragma table_info(cases)") if r[1] != "id"]
    assert sorted(r["col"] for r in rows) == sorted(columns)
    assert set(CASE_FIELDS) <= {r["col"] for r in rows}
    assert len({r["hlc"] for r in rows}) == 1  # one event, one timestamp
    assert {r["origin"] for r in rows} == {desk.id} and {r["base"] for r in rows} == {""}
    values = {r["col"]: r["value"] for r in rows}
    assert values["person_name"] == "Invented Worker Mala"
    assert json.loads(values["categories"]) == ["wages"] and values["deleted"] == 0
    # The audit entry of the creation is captured too; users are not.
    [audit] = {r["row_id"] for r in oplog(desk.db, tbl="audit_log")}
    assert audit
    assert oplog(desk.db, tbl="users") == []


def test_an_edit_captures_only_what_changed_after_the_previous_version(desk: Desk) -> None:
    case_id = desk.repo.create_case(WORKER)
    created = oplog(desk.db, tbl="cases", row_id=case_id)[0]["hlc"]
    desk.set_clock(START_MS + 1000)
    desk.repo.update_case(case_id, {"status": "in_progress", "phone": WORKER["phone"]})
    edits = [r for r in oplog(desk.db, tbl="cases", row_id=case_id) if r["hlc"] != created]
    assert sorted(r["col"] for r in edits) == ["status", "updated_at"]  # phone did not change
    [status] = [r for r in edits if r["col"] == "status"]
    assert status["value"] == "in_progress" and status["base"] == created
    assert status["hlc"] > created
    # Later edits keep climbing, even within one millisecond.
    desk.repo.update_case(case_id, {"status": "referred"})
    desk.repo.update_case(case_id, {"status": "in_progress"})
    stamps = [r["hlc"] for r in oplog(desk.db, tbl="cases", row_id=case_id, col="status")]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    bases = [r["base"] for r in oplog(desk.db, tbl="cases", row_id=case_id, col="status")]
    assert bases == ["", *stamps[:-1]]  # each edit names the version it replaced


def test_an_update_that_changes_nothing_writes_nothing(desk: Desk) -> None:
    case_id = desk.repo.create_case(WORKER)
    before = len(oplog(desk.db))
    assert desk.repo.update_case(case_id, {"status": "new"}) == []
    desk.db.execute("update cases set status = status, phone = phone where id = ?", [case_id])
    desk.db.conn.commit()
    assert len(oplog(desk.db)) == before


def test_delete_and_notes_are_captured_and_entries_stay_append_only(desk: Desk) -> None:
    case_id = desk.repo.create_case(WORKER)
    entry_id = desk.repo.add_entry(case_id, "note", {"text": "Called the employer."})
    entry = {r["col"]: r["value"] for r in oplog(desk.db, tbl="case_entries", row_id=entry_id)}
    assert entry["case_id"] == case_id and json.loads(entry["payload"])["text"].startswith("Called")
    desk.repo.delete_case(case_id)
    [tombstone] = oplog(desk.db, tbl="cases", row_id=case_id, col="deleted")[1:]
    assert tombstone["value"] == 1
    with pytest.raises(sqlite_build.sqlite.IntegrityError, match="append-only"):
        desk.db.execute("update case_entries set kind = 'action' where id = ?", [entry_id])
    with pytest.raises(sqlite_build.sqlite.IntegrityError, match="keeps its id"):
        desk.db.execute("update cases set id = 'another' where id = ?", [case_id])
    desk.db.conn.rollback()


def test_an_attachment_travels_with_its_content_in_parts(desk: Desk) -> None:
    case_id = desk.repo.create_case(WORKER)
    content = bytes(range(256)) * 4
    digest = hashlib.sha256(content).hexdigest()
    attachment_id = desk.repo.add_attachment_row(case_id, "scan.png", "image/png", content, digest)
    rows = {r["col"]: r for r in oplog(desk.db, tbl="attachments", row_id=attachment_id)}
    assert rows["content"]["value"] == b"" and rows["sha256"]["value"] == digest
    [(part_id,)] = desk.db.execute("select id from attachment_parts").fetchall()
    part = {r["col"]: r for r in oplog(desk.db, tbl="attachment_parts", row_id=part_id)}
    assert part["content"]["value"] == content and part["attachment_id"]["value"] == attachment_id
    change = Change(**part["content"])
    wire = json.loads(json.dumps(change.to_json()))
    assert set(wire["value"]) == {"b64"}
    assert Change.from_json(wire) == change


def test_drafts_never_leave_the_desk(desk: Desk) -> None:
    save_draft(desk.db, desk.repo.user.id, "intake", {"person_name": "Half typed"})
    assert oplog(desk.db, tbl="drafts") == []


def test_a_connection_without_the_functions_fails_loudly(desk: Desk) -> None:
    """A connection opened around ``open_encrypted`` has no capture functions: it cannot
    write a synced row unnoticed."""
    params = KeyParams.from_json(key_file(desk.path).read_text("utf-8"))
    raw = sqlite_build.connect(str(desk.path))
    raw.execute(f"pragma key = \"x'{derive_key(PASS, params).hex()}'\"")
    before = len(oplog(desk.db))
    with pytest.raises(sqlite_build.sqlite.OperationalError, match="no such function"):
        raw.execute(
            "insert into agencies (id, name, created_at, updated_at, origin_desk)"
            " values ('x', 'Invented Agency', '', '', '')"
        )
    raw.rollback()
    raw.close()
    assert len(oplog(desk.db)) == before
    assert desk.db.execute("select count(*) from agencies").fetchone()[0] == 0


def test_writes_made_while_applying_are_not_captured(desk: Desk) -> None:
    before = len(oplog(desk.db))
    with capture.applying(desk.db):
        desk.db.execute(
            "insert into agencies (id, name, created_at, updated_at, origin_desk)"
            " values ('x', 'Invented Agency', '', '', '')"
        )
    desk.db.execute("update agencies set name = 'Renamed Agency' where id = 'x'")
    desk.db.conn.commit()
    assert [r["col"] for r in oplog(desk.db)[before:]] == ["name"]


def test_changes_since_sends_what_comes_after_each_origins_cursor(desk: Desk) -> None:
    first = desk.repo.create_case(WORKER)
    cursor = capture.cursors(desk.db)
    assert list(cursor) == [desk.id]
    second = desk.repo.create_case({**WORKER, "person_name": "Invented Worker Two"})
    later = capture.changes_since(desk.db, cursor)
    assert {c.row_id for c in later if c.tbl == "cases"} == {second}
    everything = capture.changes_since(desk.db, {})
    assert {c.row_id for c in everything if c.tbl == "cases"} == {first, second}
    assert capture.changes_since(desk.db, capture.cursors(desk.db)) == []
    assert capture.changes_since(desk.db, {}, limit=5) == everything[:5]
    assert [c.hlc for c in everything] == sorted(c.hlc for c in everything)
    assert capture.changes_since(desk.db, {}, only=[desk.id]) == everything
    assert capture.changes_since(desk.db, {}, only=["another desk"]) == []


def test_a_store_made_before_capture_sends_its_old_cases(tmp_path: Path) -> None:
    """Migration 0004 writes the values already stored as changes, so cases typed before
    sync existed reach the other desks too."""
    from tests.cases.test_case_migrations import first_release_store

    path = tmp_path / "old.db"
    first_release_store(path)
    db = open_case_store(path, PASS)
    changes = capture.changes_since(db, {})
    names = [c.value for c in changes if c.tbl == "cases" and c.col == "person_name"]
    assert names == ["Invented Old Case"]
    assert not [c for c in changes if c.tbl == "users"]
    db.close()


GOOD = {
    "hlc": "1790000000000-00000-0190f0a0-0000-7000-8000-0000000000a1",
    "origin": "0190f0a0-0000-7000-8000-0000000000a1",
    "tbl": "cases",
    "row_id": "0190f0a0-0000-7000-8000-000000000001",
    "col": "status",
    "value": "new",
    "base": "",
}


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"origin": None}, "origin: missing"),
        ({"extra": 1}, "extra: unknown field"),
        ({"hlc": "17900000000000-00000-x"}, "hlc: not a timestamp"),
        ({"origin": "0190f0a0-0000-7000-8000-0000000000b2"}, "origin: is not the desk"),
        ({"tbl": "cases; drop table cases"}, "tbl: not a table or column name"),
        ({"row_id": ""}, "row_id: not a row id"),
        ({"value": True}, "value: not text, a number"),
        ({"value": [1]}, "value: not text, a number"),
        ({"value": {"b64": "***"}}, "value: not base64"),
        ({"value": {"hex": "00"}}, 'value: an object must be {"b64": text}'),
        ({"base": GOOD["hlc"]}, "base: a change can only replace an older version"),
        ({"base": "y"}, "base: not a timestamp"),
    ],
)
def test_a_malformed_change_is_refused_naming_the_field(
    patch: dict[str, object], message: str
) -> None:
    assert Change.from_json(GOOD).to_json() == GOOD
    bad = {k: v for k, v in {**GOOD, **patch}.items() if v is not None}
    with pytest.raises(ChangeFormatError, match="^change 1: " + re.escape(message)):
        changes_from_json([GOOD, bad])
    with pytest.raises(ChangeFormatError, match=r"^change 0: a change must be a JSON object"):
        changes_from_json(["not an object"])


def test_two_connections_share_one_clock(desk: Desk) -> None:
    """Another connection to the store (the daily backup, the mrc command) stamps its
    writes from the same stored clock: even in the same millisecond, no two events get
    one timestamp."""
    second = open_case_store(desk.path, PASS)
    register_functions(second.conn, wall_ms=lambda: START_MS)
    other = CaseRepository(second, desk.repo.user, desk.repo.desk_id)
    made = []
    for n in range(3):
        made.append(desk.repo.create_case({**WORKER, "person_name": f"Invented {n}"}))
        made.append(other.create_case({**WORKER, "person_name": f"Invented other {n}"}))
    stamps = [oplog(desk.db, tbl="cases", row_id=m, col="status")[0]["hlc"] for m in made]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(made)
    second.close()
