"""Cases edited at two desks, as the counsellor sees them: a banner with both values and a
choice on the case page, a flag and a filter in the case list, a refresh when a sync
brings changes, nothing left on screen when the log locks, Arabic right to left.

The conflicts are real: the GUI's case log (desk A) and a second encrypted store (desk B,
tests/sync/desks.py) change the same fields offline and exchange their changes with
``changes_since`` + ``apply_changes``, as a sync does.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel

from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.sync import capture
from mrc_desktop.sync.merge import KEEP_VALUE, apply_changes, conflicts_for_case
from mrc_desktop.ui.cases.case_table_model import CaseTableModel
from mrc_desktop.ui.cases.cases_screen import CasesScreen
from mrc_desktop.ui.cases.conflict_banner import ConflictRow, short_desk
from mrc_desktop.ui.cases.session import LOCKED, CaseSession
from mrc_desktop.ui.cases.workspace import CaseWorkspace
from tests.fast_keys import PASS
from tests.sync.desks import Desk, open_desk
from tests.ui.test_case_log_screens import all_text

NAME = "Invented Worker Sreymom"
NAME_AT_A = "Invented Worker Srey Mom"
NAME_AT_B = "Invented Worker Sreymom Chan"
CONSENT = {"counselling": {"given": True, "on": "2026-11-02", "by": "admin"}}
SYNC = {"given": True, "on": "2026-11-20", "by": "sup-b"}


def now_ms() -> int:
    return int(time.time() * 1000)


def send_to(db_source, db_target) -> None:  # type: ignore[no-untyped-def]
    """What a sync does: everything ``source`` holds that ``target`` lacks, merged."""
    apply_changes(db_target, capture.changes_since(db_source, capture.cursors(db_target)))


def exchange(session: CaseSession, b: Desk) -> None:
    """A sync between the GUI's desk and B; it announces what changed, as the Sync screen does."""
    send_to(session.db, b.db)
    send_to(b.db, session.db)
    session.cases_changed.emit("")


@pytest.fixture
def desk_b(tmp_path: Path, case_session: CaseSession):  # type: ignore[no-untyped-def]
    desk = open_desk(tmp_path, "b", wall_ms=now_ms())
    yield desk
    desk.db.close()


def edit_at_two_desks(session: CaseSession, b: Desk) -> str:
    """A case made here (desk A) and synced to B; then both change its status, name and
    consent without seeing each other, B a minute later by the clock; then they sync."""
    case_id = session.repo.create_case(
        {"person_name": NAME, "phone": "+855 10 000 333", "consent": CONSENT}
    )
    send_to(session.db, b.db)
    session.repo.update_case(case_id, {"status": "in_progress", "person_name": NAME_AT_A})
    b.set_clock(now_ms() + 60_000)
    b.repo.update_case(
        case_id,
        {"status": "referred", "person_name": NAME_AT_B, "consent": {**CONSENT, "sync": SYNC}},
    )
    session.repo.update_case(case_id, {"consent": {**CONSENT, "union": SYNC}})
    exchange(session, b)
    return case_id


@pytest.fixture
def workspace(qtbot, ctx, case_session):  # type: ignore[no-untyped-def]
    view = CaseWorkspace(case_session, ctx)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    return view


def rows(view: CaseWorkspace) -> dict[str, ConflictRow]:
    """The banner's rows by field name."""
    return {row.conflict.col: row for row in view.case_page.banner.rows}


def test_the_case_page_shows_both_values_and_where_each_came_from(  # type: ignore[no-untyped-def]
    workspace, case_session, desk_b
) -> None:
    case_id = edit_at_two_desks(case_session, desk_b)
    workspace.open_case(case_id)
    banner = workspace.case_page.banner
    assert banner.isVisible()
    assert banner.title.text() == "This case was edited at two desks"
    shown = rows(workspace)
    assert set(shown) == {"status", "person_name", "consent"}  # updated_at is no conflict
    status = shown["status"]
    assert status.findChild(QLabel, "conflict_field").text() == "Status"
    # Vocabulary values by their labels, the consent record as purposes, names as typed.
    assert (status.current.text(), status.other.text()) == ("Referred", "In progress")
    assert shown["person_name"].current.text() == NAME_AT_B
    assert shown["person_name"].other.text() == NAME_AT_A
    assert shown["consent"].current.text() == (
        "Counselling at this centre; Sending to the network hub"
    )
    assert shown["consent"].other.text() == "Counselling at this centre; Sharing with a union"
    # Which desk and when: B (shortened) for the value now shown, this desk for the other.
    origins = [label.text() for label in status.findChildren(QLabel, "conflict_origin")]
    b_id = capture.replica_id(desk_b.db)
    assert origins[0].startswith(f"desk {short_desk(b_id)}, ")
    assert origins[1].startswith("this desk, ")
    assert b_id not in origins[0]  # shortened, not the whole id
    # The page itself shows the winning values.
    assert workspace.case_page.status.currentData() == "referred"
    assert NAME_AT_B in workspace.case_page.heading.text()


def test_use_the_other_value_is_an_audited_edit_that_settles_it(  # type: ignore[no-untyped-def]
    qtbot, workspace, case_session, desk_b
) -> None:
    case_id = edit_at_two_desks(case_session, desk_b)
    workspace.apply_filters()
    workspace.open_case(case_id)
    qtbot.mouseClick(rows(workspace)["status"].take_button, Qt.MouseButton.LeftButton)
    page = workspace.case_page
    assert page.status.currentData() == "in_progress"  # the field shows it
    assert set(rows(workspace)) == {"person_name", "consent"}  # that row is gone
    audit = case_session.repo.audit_entries(case_id)
    change = [a for a in audit if a["action"] == "change" and a["field"] == "status"][-1]
    assert (change["old_value"], change["new_value"]) == ("referred", "in_progress")
    assert change["user_id"] == case_session.user.id
    assert {c.col for c in conflicts_for_case(case_session.db, case_id)} == {
        "person_name",
        "consent",
    }
    # The other two: the name taken, the consent kept; then the banner is gone.
    qtbot.mouseClick(rows(workspace)["person_name"].take_button, Qt.MouseButton.LeftButton)
    assert NAME_AT_A in page.heading.text()
    qtbot.mouseClick(rows(workspace)["consent"].keep_button, Qt.MouseButton.LeftButton)
    assert not page.banner.isVisible() and page.banner.rows == []
    assert conflicts_for_case(case_session.db, case_id) == []
    assert "Sending to the network hub" in page.summary.text()
    kept = case_session.repo.audit_entries(case_id)[-1]
    assert (kept["action"], kept["field"]) == (KEEP_VALUE, "consent")
    assert "sync" in kept["new_value"]
    # The list lost its flag; desk B, once synced, holds the choices and no conflict.
    assert workspace.model.data(workspace.model.index(0, 0), Qt.ItemDataRole.DecorationRole) is None
    exchange(case_session, desk_b)
    at_b = desk_b.repo.open_case_header(case_id)
    assert (at_b["status"], at_b["person_name"]) == ("in_progress", NAME_AT_A)
    assert conflicts_for_case(desk_b.db, case_id) == []


def test_keep_this_value_leaves_the_case_as_it_is_and_settles_it(  # type: ignore[no-untyped-def]
    qtbot, workspace, case_session, desk_b
) -> None:
    case_id = edit_at_two_desks(case_session, desk_b)
    workspace.open_case(case_id)
    qtbot.mouseClick(rows(workspace)["status"].keep_button, Qt.MouseButton.LeftButton)
    assert workspace.case_page.status.currentData() == "referred"
    assert "status" not in rows(workspace)
    assert "status" not in {c.col for c in conflicts_for_case(case_session.db, case_id)}
    kept = case_session.repo.audit_entries(case_id)[-1]
    assert (kept["action"], kept["field"], kept["new_value"]) == (KEEP_VALUE, "status", "referred")
    # Settled at B too once it has the choice, and nothing changed the value there.
    exchange(case_session, desk_b)
    assert "status" not in {c.col for c in conflicts_for_case(desk_b.db, case_id)}
    assert desk_b.repo.open_case_header(case_id)["status"] == "referred"


def test_a_choice_already_made_elsewhere_is_a_plain_message(  # type: ignore[no-untyped-def]
    qtbot, workspace, case_session, desk_b
) -> None:
    case_id = edit_at_two_desks(case_session, desk_b)
    workspace.open_case(case_id)
    row = rows(workspace)["status"]
    # Settled meanwhile (another window, a sync): the button finds nothing to settle.
    case_session.db.execute("update conflicts set resolved = 1 where id = ?", [row.conflict.id])
    case_session.db.conn.commit()
    qtbot.mouseClick(row.take_button, Qt.MouseButton.LeftButton)
    banner = workspace.case_page.banner
    assert banner.message.text() == "This was settled already, here or at another desk."
    assert "status" not in rows(workspace)
    assert workspace.case_page.status.currentData() == "referred"


def test_the_list_flags_and_filters_exactly_the_cases_edited_at_two_desks(  # type: ignore[no-untyped-def]
    qtbot, qtmodeltester, workspace, case_session, desk_b
) -> None:
    plain = [
        case_session.repo.create_case({"person_name": f"Invented Other {n}"}) for n in range(3)
    ]
    conflicted = edit_at_two_desks(case_session, desk_b)
    workspace.apply_filters()
    model = workspace.model
    assert model.total == 4
    flagged = {
        model.case_id(row)
        for row in range(model.rowCount())
        if isinstance(model.data(model.index(row, 0), Qt.ItemDataRole.DecorationRole), QIcon)
    }
    assert flagged == {conflicted}
    row = model.row_of(conflicted)
    assert model.data(model.index(row, 0), Qt.ItemDataRole.ToolTipRole).startswith(
        "Edited at two desks"
    )
    assert model.data(model.index(model.row_of(plain[0]), 0), Qt.ItemDataRole.ToolTipRole) is None
    # The filter: shown because a case needs it, with the count; on, only that case.
    box = workspace.conflict_filter
    assert box.isVisible() and box.text() == "Edited at two desks (1)"
    box.setChecked(True)
    assert model.total == 1 and model.case_id(0) == conflicted
    assert workspace.count_label.text() == "1 case"
    workspace.clear_filters()
    assert not box.isChecked() and model.total == 4
    # Settling every conflict empties the filter and hides it.
    box.setChecked(True)
    workspace.open_case(conflicted)
    for _ in range(3):
        qtbot.mouseClick(workspace.case_page.banner.rows[0].keep_button, Qt.MouseButton.LeftButton)
    assert model.total == 0 and box.text() == "Edited at two desks (0)"
    workspace.clear_filters()
    assert not box.isVisible()
    # A model of its own for the model tester, with a flagged row in its first page.
    edit_at_two_desks(case_session, desk_b)
    checked = CaseTableModel(case_session)
    checked.reload()
    assert any(
        checked.data(checked.index(r, 0), Qt.ItemDataRole.DecorationRole) is not None
        for r in range(checked.rowCount(QModelIndex()))
    )
    qtmodeltester.check(checked)


def test_the_list_flag_is_read_with_one_query_per_page(case_session, desk_b) -> None:  # type: ignore[no-untyped-def]
    for n in range(250):
        case_session.repo.create_case({"person_name": f"Invented Person {n:03d}"})
    conflicted = edit_at_two_desks(case_session, desk_b)
    model = CaseTableModel(case_session)
    statements: list[str] = []
    case_session.db.conn.set_trace_callback(statements.append)
    try:
        model.reload()
        model.fetchMore()
    finally:
        case_session.db.conn.set_trace_callback(None)
    assert model.rowCount() == 251
    assert sum("from conflicts" in s for s in statements) == 2  # one per page read
    assert model.data(model.index(model.row_of(conflicted), 0), Qt.ItemDataRole.DecorationRole)


def test_a_sync_that_brings_a_conflict_refreshes_the_open_case_and_keeps_a_dialog(  # type: ignore[no-untyped-def]
    workspace, case_session, desk_b, ctx
) -> None:
    case_id = case_session.repo.create_case({"person_name": NAME, "consent": CONSENT})
    send_to(case_session.db, desk_b.db)
    workspace.apply_filters()
    workspace.open_case(case_id)
    page = workspace.case_page
    assert not page.banner.isVisible()
    dialog = page.add_note("note")
    dialog.inputs["text"].setPlainText("Half typed: she called from the shelter")  # type: ignore[attr-defined]
    case_session.repo.update_case(case_id, {"status": "in_progress"})
    desk_b.set_clock(now_ms() + 60_000)
    desk_b.repo.update_case(case_id, {"status": "awaiting_response"})
    # The sync runs on its own connection (a worker thread), then announces the change.
    worker = open_case_store(ctx.paths.cases_db, PASS)
    try:
        send_to(worker, desk_b.db)
        send_to(desk_b.db, worker)
    finally:
        worker.close()
    case_session.cases_changed.emit("")
    assert page.status.currentData() == "awaiting_response"
    assert set(rows(workspace)) == {"status"}
    assert rows(workspace)["status"].other.text() == "In progress"
    flag = workspace.model.data(workspace.model.index(0, 0), Qt.ItemDataRole.DecorationRole)
    assert isinstance(flag, QIcon)
    # The dialog is still open with what was typed, and saves it.
    assert dialog.isVisible()
    text = dialog.inputs["text"].toPlainText()  # type: ignore[attr-defined]
    assert text == "Half typed: she called from the shelter"
    dialog._accept()
    notes = [e["payload"]["text"] for e in case_session.repo.entries(case_id)]
    assert notes == ["Half typed: she called from the shelter"]


def test_locking_empties_the_banner(qtbot, ctx, case_session, desk_b) -> None:  # type: ignore[no-untyped-def]
    case_id = edit_at_two_desks(case_session, desk_b)
    screen = CasesScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.workspace.apply_filters()
    screen.workspace.open_case(case_id)
    assert NAME_AT_A in all_text(screen.workspace.case_page.banner)
    case_session.lock()
    assert case_session.state == LOCKED
    text = all_text(screen)
    assert NAME_AT_A not in text and NAME_AT_B not in text and "Srey" not in text
    assert not screen.workspace.case_page.banner.isVisible()
    assert screen.workspace.case_page.banner.findChildren(ConflictRow) == []


def test_the_sync_screen_signal_shows_the_filtered_list(qtbot, ctx, case_session, desk_b) -> None:  # type: ignore[no-untyped-def]
    from mrc_desktop.ui.main_window import MainWindow

    case_session.repo.create_case({"person_name": "Invented Other"})
    conflicted = edit_at_two_desks(case_session, desk_b)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.show_screen("home")
    # The Sync screen's button: the Cases screen (made now, on first use), then the signal.
    window.show_screen("cases")
    ctx.events.show_conflicted_cases.emit()
    screen = window.page("cases")
    assert isinstance(screen, CasesScreen)
    workspace = screen.workspace
    assert workspace.conflict_filter.isChecked()
    assert workspace.model.total == 1 and workspace.model.case_id(0) == conflicted
    # Asked again from another screen, with other filters set: only that filter is on.
    workspace.clear_filters()
    workspace.status_filter.setCurrentIndex(2)
    window.show_screen("home")
    ctx.events.show_conflicted_cases.emit()
    assert window.current_key() == "cases" and workspace.status_filter.currentIndex() == 0
    assert workspace.model.total == 1


def test_right_to_left_in_arabic(qtbot, workspace, case_session, desk_b, ctx, english) -> None:  # type: ignore[no-untyped-def]
    case_id = edit_at_two_desks(case_session, desk_b)
    workspace.apply_filters()
    workspace.open_case(case_id)
    ctx.languages.apply("ar")
    banner = workspace.case_page.banner
    assert banner.isRightToLeft()
    shown = rows(workspace)
    assert set(shown) == {"status", "person_name", "consent"}
    # The rows were made again in Arabic: the field's label and the vocabulary values.
    assert shown["status"].findChild(QLabel, "conflict_field").text() not in ("", "Status")
    assert shown["status"].current.text() not in ("", "Referred")
    # A Latin name keeps its own direction inside the Arabic interface.
    assert shown["person_name"].current.text() == f"\u2068{NAME_AT_B}\u2069"
    qtbot.mouseClick(shown["status"].take_button, Qt.MouseButton.LeftButton)
    assert workspace.case_page.status.currentData() == "in_progress"
    ctx.languages.apply("en")
    assert not banner.isRightToLeft()
