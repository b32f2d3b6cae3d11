"""Crash safety: a save is whole or absent, even when the process dies in the middle.

The deterministic tests make a save fail after its first statement; the stress test
kills a real saving process with SIGKILL at random moments (scripts/crash_stress.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000cc"
WORKER = {
    "person_name": "Invented Worker Lina",
    "phone": "+855 10 000 222",
    "narrative": "The employer kept back two months of pay.",
}


@pytest.fixture
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    user = create_user(db, DESK, "lina", "Lina", "counsellor", "password123", **MIN_COST)
    yield CaseRepository(db, user, DESK)
    db.close()


class Boom(RuntimeError):
    pass


def fail(*_args: object) -> None:
    raise Boom


def counts(repo: CaseRepository) -> tuple[int, ...]:
    tables = ("cases", "case_entries", "audit_log", "case_search")
    return tuple(repo.db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables)


def test_a_case_that_fails_half_way_is_not_saved_at_all(
    repo: CaseRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(repo)
    monkeypatch.setattr(repo, "_reindex", fail)  # the row and its audit entry are written
    with pytest.raises(Boom):
        repo.create_case(WORKER)
    assert counts(repo) == before
    assert not repo.db.conn.in_transaction


def test_a_note_that_fails_half_way_is_not_saved_at_all(
    repo: CaseRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = repo.create_case(WORKER)
    before = counts(repo)
    updated = repo.db.execute("select updated_at from cases where id = ?", [case_id]).fetchone()
    monkeypatch.setattr(repo, "_reindex", fail)
    with pytest.raises(Boom):
        repo.add_entry(case_id, "note", {"text": "Called the employer."})
    assert counts(repo) == before
    assert (
        repo.db.execute("select updated_at from cases where id = ?", [case_id]).fetchone()
        == updated
    )


def test_a_change_that_fails_half_way_changes_nothing(
    repo: CaseRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = repo.create_case(WORKER)
    monkeypatch.setattr(repo, "_reindex", fail)
    with pytest.raises(Boom):
        repo.update_case(case_id, {"status": "in_progress", "phone": "+855 10 999 999"})
    row = repo.open_case_header(case_id)
    assert (row["status"], row["phone"]) == ("new", "+855 10 000 222")
    audit = repo.db.execute(
        "select count(*) from audit_log where case_id = ? and action = 'change'", [case_id]
    ).fetchone()[0]
    assert audit == 0
