"""Crash safety: a save is whole or absent, even when the process dies in the middle.

The deterministic tests make a save fail after its first statement; the stress test
kills a real saving process with SIGKILL at random moments (scripts/crash_stress.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from tests.fast_keys import FAST, MIN_COST, PASS

ROOT = Path(__file__).resolve().parents[2]
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


# -- the stress run: a saving process killed with SIGKILL at random moments ------------
sys.path.insert(0, str(ROOT / "scripts"))
import crash_stress  # noqa: E402


@pytest.mark.slow
def test_saves_survive_being_killed_at_random_moments(tmp_path: Path) -> None:
    summary = crash_stress.stress(tmp_path, kills=12, seed=20261123, max_delay=0.3, progress=False)
    assert summary.problems == []
    assert summary.kills == summary.integrity_ok == 12
    assert summary.saves_acknowledged > 12
    assert summary.acknowledged_found == summary.saves_acknowledged
    assert summary.killed_during_a_save > 0  # kills did land in the middle of saves
    assert summary.cases > 0 and summary.entries > 0


def test_the_stress_check_sees_missing_and_half_written_saves(tmp_path: Path) -> None:
    crash_stress.make_store(tmp_path)
    acks = crash_stress.Acks()
    acks.add("ACK create 0190f0a0-0000-7000-8000-00000000dead mk1x1z")
    with crash_stress.opened(tmp_path) as db, db.atomic():
        # A case row without its audit row and search entry, as a non-atomic save leaves.
        db.execute(
            "insert into cases (id, created_at, updated_at, origin_desk, created_by, reference)"
            " values ('half', '2026-11-23', '2026-11-23', 'desk', 'user', 'REF-1')"
        )
    ok, found, problems = crash_stress.check(tmp_path, acks)
    assert ok and found == 0
    assert any("is missing" in p for p in problems)
    assert any("case half has no create audit row" in p for p in problems)
