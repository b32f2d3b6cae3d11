"""An encrypted case store made by an older MRC Desk opens, migrates and keeps its cases."""

from pathlib import Path

import pytest
from sqlite_utils import Migrations

from mrc_desktop.cases import schema
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.users import create_user
from mrc_desktop.storage.encrypted import open_encrypted
from mrc_desktop.storage.migrate import DatabaseTooNewError
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000cc"


def first_release_store(path: Path) -> None:
    """A store as the first release wrote it: only migration 0001, with one case in it."""
    old = Migrations("mrc_desktop.cases")
    old(name="0001_core")(schema._m0001)
    db = open_encrypted(path, PASS, create=True, params=FAST)
    old.apply(db)
    user = create_user(db, DESK, "old", "Old User", "counsellor", "password123", **MIN_COST)
    db.execute(
        "insert into cases (id, created_at, updated_at, origin_desk, created_by, reference,"
        " person_name, narrative) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            "0190f0a0-0000-7000-8000-000000000001",
            "2026-01-02T03:04:05+00:00",
            "2026-01-02T03:04:05+00:00",
            DESK,
            user.id,
            "OLD-2026-00001",
            "Invented Old Case",
            "Written before attachments existed.",
        ],
    )
    db.conn.commit()
    db.close()


def test_an_old_store_gains_the_new_tables_and_keeps_its_cases(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    first_release_store(path)
    db = schema.open_case_store(path, PASS)
    tables = set(db.table_names())
    assert {"attachments", "drafts"} <= tables
    applied = [m.name for m in schema.migrations.applied(db)]
    assert applied[:2] == ["0001_core", "0002_attachments_drafts"]
    [(name, narrative)] = db.execute("select person_name, narrative from cases").fetchall()
    assert name == "Invented Old Case" and narrative == "Written before attachments existed."
    user = create_user(db, DESK, "new", "New User", "counsellor", "password123", **MIN_COST)
    repo = CaseRepository(db, user, DESK)
    assert repo.count() == 1
    repo.add_entry("0190f0a0-0000-7000-8000-000000000001", "note", {"text": "after upgrade"})
    db.close()


def test_a_store_from_a_newer_app_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    db = schema.open_case_store(path, PASS, create=True, params=FAST)
    db.execute(
        "insert into _sqlite_migrations (migration_set, name, applied_at)"
        " values ('mrc_desktop.cases', '0099_from_the_future', '2030-01-01')"
    )
    db.conn.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseTooNewError, match="newer version of MRC Desk"):
        schema.open_case_store(path, PASS)
    assert path.read_bytes() == before
