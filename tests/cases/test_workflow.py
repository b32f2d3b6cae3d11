"""Referrals, outcomes, follow-ups and drafts: what a counsellor does after intake."""

import datetime as dt
from pathlib import Path

import pytest

from mrc_desktop.cases import drafts, workflow
from mrc_desktop.cases.repository import CaseRepository, ValidationError
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000bb"


@pytest.fixture
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    user = create_user(db, DESK, "sokha", "Sokha", "counsellor", "password123", **MIN_COST)
    yield CaseRepository(db, user, DESK)
    db.close()


def test_referral_moves_a_new_case_to_referred_and_outcome_to_awaiting(repo) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case({"person_name": "Invented Person A"})
    ref = workflow.refer(
        repo, case_id, "union", "Example Workers Union", "2026-11-20", "Unpaid wages"
    )
    assert repo.open_case_header(case_id)["status"] == "referred"
    workflow.record_outcome(repo, case_id, ref, "accepted", "2026-11-22", "They took the case")
    assert repo.open_case_header(case_id)["status"] == "awaiting_response"
    [found] = workflow.referrals(repo, case_id)
    assert found["org_name"] == "Example Workers Union"
    assert found["outcome"]["outcome"] == "accepted"
    changes = [a for a in repo_audit(repo, case_id) if a["field"] == "status"]
    assert [(a["old_value"], a["new_value"]) for a in changes] == [
        ("new", "referred"),
        ("referred", "awaiting_response"),
    ]


def repo_audit(repo: CaseRepository, case_id: str) -> list[dict]:  # type: ignore[type-arg]
    rows = repo.db.execute(
        "select field, old_value, new_value from audit_log where case_id = ? order by at, id",
        [case_id],
    ).fetchall()
    return [{"field": r[0], "old_value": r[1], "new_value": r[2]} for r in rows]


def test_bad_referral_names_fields_and_writes_nothing(repo) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case({"person_name": "Invented Person B"})
    with pytest.raises(ValidationError) as err:
        workflow.refer(repo, case_id, "church", "", "2026-02-30", "x\u202eevil")
    assert set(err.value.problems) == {"org_kind", "org_name", "sent_on", "reason"}
    assert repo.entries(case_id) == []
    assert repo.open_case_header(case_id)["status"] == "new"


def test_follow_ups_become_due_and_can_be_completed_once(repo) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case({"person_name": "Invented Person C"})
    today = dt.date.today()
    overdue = workflow.set_follow_up(
        repo, case_id, (today - dt.timedelta(days=2)).isoformat(), "Call"
    )
    workflow.set_follow_up(repo, case_id, (today + dt.timedelta(days=5)).isoformat(), "Later")
    due = repo.due_follow_ups(today)
    assert [(d["id"], d["overdue"]) for d in due] == [(overdue, True)]
    workflow.complete_follow_up(repo, case_id, overdue, "Called, no answer")
    assert repo.due_follow_ups(today) == []
    with pytest.raises(ValidationError):
        workflow.complete_follow_up(repo, case_id, overdue)
    assert [f.done for f in workflow.follow_ups(repo, case_id)] == [True, False]


def test_empty_note_is_refused(repo) -> None:  # type: ignore[no-untyped-def]
    case_id = repo.create_case({"person_name": "Invented Person D"})
    with pytest.raises(ValidationError) as err:
        workflow.add_note(repo, case_id, "   ")
    assert "text" in err.value.problems
    workflow.add_note(repo, case_id, "Met the worker", kind="action")
    assert [e["kind"] for e in repo.entries(case_id)] == ["action"]


def test_drafts_survive_reopening_and_are_per_user(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    db = open_case_store(path, PASS, create=True, params=FAST)
    drafts.save_draft(db, "u1", "intake:new", {"person_name": "Invented Draft"})
    drafts.save_draft(db, "u1", "intake:new", {"person_name": "Invented Draft 2"})
    db.close()
    db = open_case_store(path, PASS)
    found = drafts.load_draft(db, "u1", "intake:new")
    assert found is not None and found.payload == {"person_name": "Invented Draft 2"}
    assert drafts.load_draft(db, "u2", "intake:new") is None
    drafts.discard_draft(db, "u1", "intake:new")
    assert drafts.load_draft(db, "u1", "intake:new") is None
    db.close()
