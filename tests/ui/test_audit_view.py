"""The audit log view: supervisors only, lazy pages, filters, translated rows, lock."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mrc_desktop.cases import agencies
from mrc_desktop.ui.cases.audit_view import PAGE, AuditView
from mrc_desktop.ui.cases.session import CaseSession
from tests.ui.test_agency_register import shown_text

NAME = "Invented Worker Bopha"
NEW_NAME = "Invented Worker Bopha Sok"


def make_view(qtbot, session: CaseSession, ctx) -> AuditView:  # type: ignore[no-untyped-def]
    view = AuditView(session, ctx)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    return view


def rows(view: AuditView) -> list[list[str]]:
    model = view.model
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def switch_user(session: CaseSession, username: str, role: str):  # type: ignore[no-untyped-def]
    made = session.new_user(username, username.title(), role, "password123")
    session.lock()
    session.log_in(made)
    return made


def test_supervisors_see_who_did_what_newest_first(qtbot, qtmodeltester, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    case_id = repo.create_case({"person_name": NAME, "phone": "+855 12 000 333"})
    reference = repo.open_case(case_id)["reference"]
    repo.update_case(case_id, {"status": "in_progress", "person_name": NEW_NAME})
    agency = agencies.add_agency(repo, {"name": "Golden Star Manpower Co."})
    agencies.update_agency(repo, agency, {"licence_status": "revoked"})
    view = make_view(qtbot, case_session, ctx)
    assert not view.message.isVisible() and view.table.isVisible()
    qtmodeltester.check(view.model)
    table = rows(view)
    by_action = {(r[2], r[4]): r for r in table}
    assert by_action[("Created", "")][1:4] == ["Test Admin", "Created", reference]
    assert by_action[("Viewed personal data", "")][3] == reference
    assert by_action[("Changed", "Status")][5] == "New → In progress"
    assert by_action[("Changed", "Name (or a nickname)")][5] == f"{NAME} → {NEW_NAME}"
    assert by_action[("Changed an agency", "Licence status")][3:] == [
        "Golden Star Manpower Co.",
        "Licence status",
        "Not known → Licence revoked",
    ]
    assert by_action[("Added an agency", "Name")][5] == "Golden Star Manpower Co."
    assert by_action[("Logged in", "")][1] == "Test Admin"
    actions = [r[2] for r in table]
    assert actions[0] == "Changed an agency" and actions[-1] == "Logged in"  # newest first
    assert view.model.index(0, 0).data()  # a local, QLocale-formatted time
    # A row about a case opens it; rows about agencies or log-ins do not.
    created = next(n for n, r in enumerate(table) if r[2] == "Created")
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(created, 0))
    with qtbot.waitSignal(view.open_case) as opened:
        qtbot.keyClick(view.table.viewport(), Qt.Key.Key_Return)
    assert opened.args == [case_id]
    assert view.model.case_id(0) == ""


def test_counsellors_get_one_line_and_no_rows(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    case_session.repo.create_case({"person_name": NAME})
    switch_user(case_session, "dara", "counsellor")
    view = make_view(qtbot, case_session, ctx)
    assert view.message.isVisible()
    assert view.message.text() == "Only supervisors and administrators can see the audit log."
    assert not view.table.isVisible() and view.model.rowCount() == 0
    view.reload()
    view.apply_filters()
    assert view.model.rowCount() == 0 and not view.model.canFetchMore()
    with pytest.raises(PermissionError):  # nor can the repository be asked directly
        case_session.repo.audit_page(0, 10)


def test_rows_load_lazily_in_pages(qtbot, qtmodeltester, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    with case_session.db.atomic():
        for n in range(PAGE * 2 + 40):
            repo.record("export", None, "note", None, f"export {n}")
    total = case_session.db.execute("select count(*) from audit_log").fetchone()[0]
    view = make_view(qtbot, case_session, ctx)
    model = view.model
    # The view may already have asked for a page to fill itself.
    assert model.rowCount() in (PAGE, 2 * PAGE)
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == total
    qtmodeltester.check(model)
    assert len({model.index(r, 5).data() for r in range(model.rowCount())}) >= PAGE * 2 + 40


def test_filter_by_action_and_case_reference(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    first = repo.create_case({"person_name": NAME})
    second = repo.create_case({"person_name": "Invented Worker Vanna"})
    repo.update_case(second, {"status": "referred"})
    second_ref = case_session.db.execute(
        "select reference from cases where id = ?", [second]
    ).fetchone()[0]
    view = make_view(qtbot, case_session, ctx)
    view.action.setCurrentIndex(view.action.findData("create"))
    assert {r[2] for r in rows(view)} == {"Created"} and len(rows(view)) == 2
    view.action.setCurrentIndex(0)  # all actions
    view.reference.setText(second_ref[-5:])
    qtbot.waitUntil(lambda: {r[3] for r in rows(view)} == {second_ref}, timeout=3000)
    assert [r[2] for r in rows(view)] == ["Changed", "Created"]
    view.reference.setText("no such reference")
    view.apply_filters()
    assert rows(view) == []
    assert first  # the other case is filtered out, not missing


def test_the_view_empties_when_the_case_log_locks(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    case_id = repo.create_case({"person_name": NAME})
    repo.update_case(case_id, {"person_name": NEW_NAME})
    supervisor = switch_user(case_session, "sam", "supervisor")
    view = make_view(qtbot, case_session, ctx)
    assert NEW_NAME in shown_text(view)  # supervisors may see old → new of personal fields
    case_session.lock()
    assert NAME not in shown_text(view)
    assert view.model.rowCount() == 0 and not view.model.canFetchMore()
    assert view.message.isVisible() and "locked" in view.message.text()
    view.model.fetchMore()
    assert view.model.rowCount() == 0
    case_session.log_in(supervisor)
    assert NEW_NAME in shown_text(view) and not view.message.isVisible()


def test_new_rows_appear_after_changes(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    view = make_view(qtbot, case_session, ctx)
    before = view.model.rowCount()
    case_id = case_session.repo.create_case({"person_name": NAME})
    case_session.cases_changed.emit(case_id)
    assert view.model.rowCount() == before + 1
    view.hide()
    case_session.repo.update_case(case_id, {"status": "in_progress"})
    case_session.cases_changed.emit(case_id)
    assert view.model.rowCount() == before + 1  # not read while hidden
    view.show()
    assert view.model.rowCount() == before + 2


def test_rows_follow_a_language_switch(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    case_id = case_session.repo.create_case({"person_name": NAME})
    case_session.repo.update_case(case_id, {"status": "in_progress"})
    view = make_view(qtbot, case_session, ctx)

    def status_change() -> str:
        # Right-to-left translations point the arrow the other way (←).
        return next(r[5] for r in rows(view) if r[5] and ("→" in r[5] or "←" in r[5]))

    assert status_change() == "New → In progress"
    ctx.languages.apply("ar")
    assert view.isRightToLeft()
    arabic = status_change()
    assert "New" not in arabic and "In progress" not in arabic  # vocabulary labels translated
    ctx.languages.apply("en")
    assert status_change() == "New → In progress"
