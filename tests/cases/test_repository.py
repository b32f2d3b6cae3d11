"""The case store's core: validated writes, append-only entries, audit, search, follow-ups."""

import datetime as dt
from pathlib import Path

import pytest

from mrc_desktop.cases.repository import (
    CaseFilter,
    CaseRepository,
    PermissionDenied,
    ValidationError,
)
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import UserError, authenticate, create_user
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000aa"
MIN = MIN_COST


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    yield db
    db.close()


@pytest.fixture
def repo(store) -> CaseRepository:  # type: ignore[no-untyped-def]
    user = create_user(store, DESK, "dara", "Dara", "counsellor", "password123", **MIN)
    return CaseRepository(store, user, DESK)


WORKER = {
    "person_name": "Test Worker Srey",
    "sex": "female",
    "birth_date": "1998-04-02",
    "phone": "+855 12 000 111",
    "destination_country": "TH",
    "sector": "domestic_work",
    "migration_status": "irregular",
    "categories": ["wages", "documents_held"],
    "forced_labour": ["documents", "wages"],
    "consent": {"counselling": {"given": True, "on": "2026-11-23", "by": "dara"}},
    "narrative": "Employer kept passport and has not paid for three months.",
}


def test_create_and_open_a_case(repo: CaseRepository) -> None:
    case_id = repo.create_case(WORKER)
    case = repo.open_case(case_id)
    assert case["person_name"] == "Test Worker Srey" and case["status"] == "new"
    assert case["reference"].endswith("-00001") and case["origin_desk"] == DESK
    assert case["id"][14] == "7"  # UUIDv7


def test_field_problems_are_named_and_nothing_is_written(repo: CaseRepository) -> None:
    bad = {
        **WORKER,
        "birth_date": "2090-01-01",
        "phone": "call me",
        "status": "illegal",
        "person_name": "Sre\u202eiy",
    }
    with pytest.raises(ValidationError) as err:
        repo.create_case(bad)
    assert set(err.value.problems) == {"birth_date", "phone", "status", "person_name"}
    assert repo.count() == 0


def test_changes_are_audited_field_by_field(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case(WORKER)
    assert repo.update_case(case_id, {"status": "in_progress", "sector": "domestic_work"}) == [
        "status"
    ]
    supervisor = create_user(store, DESK, "sam", "Sam", "supervisor", "password123", **MIN)
    audit = CaseRepository(store, supervisor, DESK).audit_entries(case_id)
    assert [
        (a["action"], a["field"], a["old_value"], a["new_value"])
        for a in audit
        if a["action"] == "change"
    ] == [("change", "status", "new", "in_progress")]
    with pytest.raises(PermissionDenied):
        repo.audit_entries(case_id)


def test_viewing_personal_data_is_audited(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case(WORKER)
    repo.open_case(case_id)
    rows = store.execute("select action from audit_log where case_id = ?", [case_id]).fetchall()
    assert [r[0] for r in rows] == ["create", "view"]


def test_entries_and_the_audit_log_are_append_only(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case(WORKER)
    entry = repo.add_entry(case_id, "note", {"text": "Called the employer."})
    for sql in (
        "update case_entries set payload = '{}' where id = ?",
        "delete from case_entries where id = ?",
    ):
        with pytest.raises(Exception, match="append-only"):
            store.execute(sql, [entry])
    with pytest.raises(Exception, match="append-only"):
        store.execute("delete from audit_log")
    assert [e["payload"]["text"] for e in repo.entries(case_id)] == ["Called the employer."]


def test_filters_sorting_and_full_text_search(repo: CaseRepository) -> None:
    first = repo.create_case(WORKER)
    repo.create_case(
        {
            **WORKER,
            "person_name": "Another Person",
            "destination_country": "MY",
            "phone": "",
            "categories": ["excessive_fees"],
            "narrative": "Paid a large fee to an agency.",
        }
    )
    repo.add_entry(first, "note", {"text": "ចៅហ្វាយមិនបើកប្រាក់ខែ"})
    assert repo.count(CaseFilter(destination="MY")) == 1
    assert repo.count(CaseFilter(category="wages")) == 1
    assert repo.count(CaseFilter(status=("new",))) == 2
    assert [c["id"] for c in repo.list_cases(CaseFilter(text="passport"))] == [first]
    assert [c["id"] for c in repo.list_cases(CaseFilter(text="ប្រាក់ខែ"))] == [first]
    assert [c["id"] for c in repo.list_cases(CaseFilter(text="ខែ"))] == [first]  # 2 characters
    names = [c["person_name"] for c in repo.list_cases(order_by="person_name", descending=False)]
    assert names == ["Another Person", "Test Worker Srey"]


def test_possible_duplicates(repo: CaseRepository) -> None:
    repo.create_case(WORKER)
    assert repo.possible_duplicates("test worker", "1998-04-02")
    assert repo.possible_duplicates("Someone Else", "", "+855 12 000 111")
    assert repo.possible_duplicates("Someone Else", "1998-04-02") == []


def test_follow_ups_due_and_done(repo: CaseRepository) -> None:
    case_id = repo.create_case(WORKER)
    due = repo.add_entry(case_id, "follow_up", {"due_on": "2026-11-20", "text": "Call back"})
    repo.add_entry(case_id, "follow_up", {"due_on": "2026-12-20", "text": "Later"})
    today = dt.date(2026, 11, 23)
    assert [(f["id"], f["overdue"]) for f in repo.due_follow_ups(today)] == [(due, True)]
    repo.add_entry(case_id, "follow_up_done", {"follow_up": due})
    assert repo.due_follow_ups(today) == []


def test_tombstones_and_roles(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case(WORKER)
    with pytest.raises(PermissionDenied):
        repo.delete_case(case_id)
    admin = create_user(store, DESK, "ana", "Ana", "admin", "password123", **MIN)
    CaseRepository(store, admin, DESK).delete_case(case_id)
    assert repo.count() == 0
    assert store.execute("select deleted from cases where id = ?", [case_id]).fetchone()[0] == 1


def test_users_and_passwords(store) -> None:  # type: ignore[no-untyped-def]
    create_user(store, DESK, "Dara", "Dara", "counsellor", "password123", **MIN)
    assert authenticate(store, "dara", "password123") is not None
    assert authenticate(store, "dara", "wrong-password") is None
    assert authenticate(store, "nobody", "password123") is None
    with pytest.raises(UserError):
        create_user(store, DESK, "dara", "Again", "counsellor", "password123", **MIN)
    with pytest.raises(UserError):
        create_user(store, DESK, "x", "X", "boss", "password123", **MIN)
    stored = store.execute("select password_hash from users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "password123" not in stored


def test_nothing_personal_in_the_files(tmp_path: Path, repo: CaseRepository) -> None:
    case_id = repo.create_case(WORKER)
    repo.add_entry(case_id, "note", {"text": "Srey is afraid of the broker Mr Bunthoeun"})
    for file in tmp_path.iterdir():
        data = file.read_bytes()
        for secret in (b"Srey", b"000 111", b"passport", b"Bunthoeun"):
            assert secret not in data, (file.name, secret)
