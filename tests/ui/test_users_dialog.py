"""Adding desk users: administrators only, clear messages at each field, closed on lock."""

from __future__ import annotations

from PySide6.QtCore import Qt

from mrc_desktop.cases import users
from mrc_desktop.ui.cases.session import CaseSession
from mrc_desktop.ui.cases.users_dialog import UsersDialog


def make_dialog(qtbot, session: CaseSession) -> UsersDialog:  # type: ignore[no-untyped-def]
    dialog = UsersDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill(
    dialog: UsersDialog,
    username: str = "sokha.p",
    display: str = "Sokha P.",
    role: str = "counsellor",
    password: str = "a long password",
    repeat: str | None = None,
) -> None:
    dialog.username.setText(username)
    dialog.display_name.setText(display)
    dialog.role.setCurrentIndex(dialog.role.findData(role) if role else 0)
    dialog.password.setText(password)
    dialog.repeat.setText(password if repeat is None else repeat)


def user_rows(dialog: UsersDialog) -> list[list[str]]:
    model = dialog.model
    return [[model.index(r, c).data() for c in range(3)] for r in range(model.rowCount())]


def test_an_admin_adds_a_counsellor_who_can_then_log_in(qtbot, qtmodeltester, case_session) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, case_session)
    qtmodeltester.check(dialog.model)
    assert user_rows(dialog) == [["admin", "Test Admin", "Administrator"]]
    assert not dialog.denied.isVisible() and dialog.add_box.isVisible()
    labels = [dialog.role.itemText(i) for i in range(dialog.role.count())]
    assert labels == ["Choose a role…", "Counsellor", "Supervisor", "Administrator"]
    fill(dialog, username="  Sokha.P ")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text() == "Sokha P. can now log in."
    assert ["sokha.p", "Sokha P.", "Counsellor"] in user_rows(dialog)
    qtmodeltester.check(dialog.model)
    assert dialog.password.text() == "" and dialog.repeat.text() == ""
    assert dialog.username.text() == "" and dialog.role.currentIndex() == 0
    made = users.authenticate(case_session.db, "sokha.p", "a long password")
    assert made is not None and made.role == "counsellor"
    audit = case_session.repo.audit_page(0, 10, action="add_user")
    assert [(a["new_value"], a["user_name"]) for a in audit] == [("sokha.p", "Test Admin")]


def test_bad_input_gets_a_message_beside_the_field(qtbot, case_session) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, case_session)

    def problems() -> dict[str, str]:
        return {k: e.text() for k, e in dialog.errors.items() if e.isVisible()}

    fill(dialog, username="", role="", password="short")
    assert dialog.add_user() is False
    assert problems() == {
        "username": "Enter a user name.",
        "role": "Choose a role.",
        "password": f"A password needs at least {users.MIN_PASSWORD} characters.",
    }
    fill(dialog, repeat="a long passwort")
    dialog.add_user()
    assert problems() == {"repeat": "The two passwords are not the same."}
    fill(dialog, display="Sokha\u202eP")
    dialog.add_user()
    assert list(problems()) == ["display_name"]
    # Reasons found by users.create_user come back translated, at the right field.
    fill(dialog, username="admin")
    dialog.add_user()
    assert problems() == {"username": "There is already a user with this name."}
    fill(dialog, username="sokha p!")
    dialog.add_user()
    assert problems() == {"username": "A user name can hold letters, digits, '.' and '-' only."}
    assert [r[0] for r in user_rows(dialog)] == ["admin"]
    assert case_session.db.execute("select count(*) from users").fetchone()[0] == 1
    fill(dialog)
    assert dialog.add_user() is True and problems() == {}


def test_only_administrators_see_and_add_users(qtbot, case_session) -> None:  # type: ignore[no-untyped-def]
    supervisor = case_session.new_user("sam", "Sam", "supervisor", "password123")
    case_session.lock()
    case_session.log_in(supervisor)
    dialog = make_dialog(qtbot, case_session)
    assert dialog.denied.isVisible()
    assert dialog.denied.text() == "Only administrators can see and add users."
    assert not dialog.table.isVisible() and not dialog.add_box.isVisible()
    assert dialog.model.rowCount() == 0
    fill(dialog, username="mallory")
    assert dialog.add_user() is False
    assert users.authenticate(case_session.db, "mallory", "a long password") is None


def test_the_dialog_closes_and_forgets_passwords_when_the_log_locks(qtbot, case_session) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, case_session)
    fill(dialog)
    with qtbot.waitSignal(dialog.rejected):
        case_session.lock()
    assert not dialog.isVisible()
    assert dialog.password.text() == "" and dialog.repeat.text() == ""
    assert dialog.model.rowCount() == 0
