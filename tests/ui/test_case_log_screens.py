"""The case log as a counsellor uses it: set up, unlock, intake, referral, follow-up, lock."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

from mrc_desktop.cases import drafts
from mrc_desktop.cases.repository import CaseRepository, PermissionDenied
from mrc_desktop.cases.users import create_user
from mrc_desktop.ui.cases.case_table_model import CaseTableModel
from mrc_desktop.ui.cases.cases_screen import CasesScreen
from mrc_desktop.ui.cases.session import CLOSED, LOCKED, UNLOCKED, CaseSession
from mrc_desktop.ui.cases.workspace import CaseWorkspace
from tests.fast_keys import FAST, MIN_COST, PASS

NAME = "Invented Worker Chanthy"


def fresh_session(ctx) -> CaseSession:  # type: ignore[no-untyped-def]
    session = CaseSession(ctx.paths, ctx.desk.desk_id, key_params=FAST, password_cost=MIN_COST)
    ctx.cases = session
    return session


def all_text(root: QWidget) -> str:
    """Every text held by a widget below ``root``, shown or not, including list/table cells."""
    from PySide6.QtCore import QAbstractListModel, QModelIndex

    parts = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QLineEdit):
            parts.append(widget.text())
        elif isinstance(widget, QPlainTextEdit):
            parts.append(widget.toPlainText())
        elif isinstance(widget, QComboBox):
            parts.extend(widget.itemText(i) for i in range(widget.count()))
        model = getattr(widget, "model", None)
        if callable(model) and hasattr(model(), "rowCount"):
            m = model()
            for row in range(m.rowCount(QModelIndex())):
                columns = 1 if isinstance(m, QAbstractListModel) else m.columnCount(QModelIndex())
                for column in range(columns):
                    parts.append(str(m.data(m.index(row, column))))
    return "\n".join(parts)


def test_first_setup_creates_an_encrypted_store_and_logs_the_admin_in(qtbot, ctx) -> None:  # type: ignore[no-untyped-def]
    session = fresh_session(ctx)
    screen = CasesScreen(ctx)
    qtbot.addWidget(screen)
    assert screen.stack.currentWidget() is screen.setup
    page = screen.setup
    page.passphrase.setText("short")
    page.passphrase_again.setText("short")
    page.submit()
    assert "at least 10" in page.message.text()
    page.passphrase.setText(PASS)
    page.passphrase_again.setText(PASS)
    page.username.setText("mina")
    page.display.setText("Mina")
    page.password.setText("a-password")
    page.password_again.setText("another-one")
    page.submit()
    assert page.message.text() == "The two passwords are not the same."
    page.password_again.setText("a-password")
    page.submit()
    qtbot.waitUntil(lambda: session.state == UNLOCKED, timeout=10_000)
    assert screen.stack.currentWidget() is screen.workspace
    assert session.user is not None and session.user.role == "admin"
    assert ctx.paths.cases_db.exists()
    assert b"SQLite format 3" not in ctx.paths.cases_db.read_bytes()[:16]


def test_wrong_passphrase_and_wrong_password_get_plain_messages(qtbot, ctx) -> None:  # type: ignore[no-untyped-def]
    session = fresh_session(ctx)
    db = session.create_store(PASS)
    session.create_admin(db, "mina", "Mina", "a-password")
    db.close()
    screen = CasesScreen(ctx)
    qtbot.addWidget(screen)
    assert session.state == CLOSED and screen.stack.currentWidget() is screen.unlock
    page = screen.unlock
    page.passphrase.setText("not the passphrase at all")
    page.username.setText("mina")
    page.password.setText("a-password")
    page.submit()
    qtbot.waitUntil(lambda: page.unlock_button.isEnabled(), timeout=10_000)
    assert "does not open the case log" in page.message.text()
    assert session.state == CLOSED
    page.passphrase.setText(PASS)
    page.password.setText("wrong-password")
    page.submit()
    qtbot.waitUntil(lambda: session.state == LOCKED, timeout=10_000)
    qtbot.waitUntil(lambda: "Wrong user name or password." in page.message.text())
    assert not page.form.isRowVisible(0)  # the passphrase is not asked again
    page.password.setText("a-password")
    page.submit()
    qtbot.waitUntil(lambda: session.state == UNLOCKED, timeout=10_000)
    assert screen.stack.currentWidget() is screen.workspace


@pytest.fixture
def workspace(qtbot, ctx, case_session):  # type: ignore[no-untyped-def]
    view = CaseWorkspace(case_session, ctx)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    return view


def fill_intake(view: CaseWorkspace) -> None:
    form = view.intake
    form.inputs["person_name"].setText(NAME)  # type: ignore[attr-defined]
    form.inputs["birth_date"].setText("1996-07-14")  # type: ignore[attr-defined]
    form.inputs["phone"].setText("+855 12 345 678")  # type: ignore[attr-defined]
    form.inputs["destination_country"].select("TH")  # type: ignore[attr-defined]
    sector = form.inputs["sector"]
    assert isinstance(sector, QComboBox)
    sector.setCurrentIndex(sector.findData("domestic_work"))
    form.narrative.setPlainText("The employer kept her passport and paid half the wage.")
    for row in range(form.categories.count()):
        item = form.categories.item(row)
        if item.data(Qt.ItemDataRole.UserRole) in ("wages", "documents_held"):
            item.setCheckState(Qt.CheckState.Checked)
    form.indicators["documents"].setChecked(True)
    form.consent_checks["counselling"].setChecked(True)


def test_intake_validates_each_field_saves_and_reopens(workspace, case_session) -> None:  # type: ignore[no-untyped-def]
    workspace.new_case()
    form = workspace.intake
    fill_intake(workspace)
    form.inputs["birth_date"].setText("2025-02-30")
    assert not form.check_field("birth_date")
    assert form.errors["birth_date"].text() == "Write the date as YYYY-MM-DD."
    assert form.errors["birth_date"].isVisibleTo(form)
    form.inputs["person_name"].setText("Name\u202eevil")
    assert form.save() is None
    assert "2 fields need attention" in form.message.text()
    assert case_session.repo.count() == 0  # nothing half-written
    form.inputs["person_name"].setText(NAME)
    form.inputs["birth_date"].setText("1996-07-14")
    case_id = form.save()
    assert case_id
    assert workspace.right.currentWidget() is workspace.case_page
    assert workspace.model.total == 1 and workspace.model.case_id(0) == case_id
    page = workspace.case_page
    assert NAME in page.heading.text()
    assert "Unpaid, withheld or illegally deducted wages" in page.summary.text()
    consent = case_session.repo.open_case(case_id)["consent"]
    assert '"by": "admin"' in consent and '"given": true' in consent
    page.edit_intake.emit(case_id)
    assert workspace.intake.values()["categories"] == ["documents_held", "wages"]
    assert workspace.intake.values()["destination_country"] == "TH"
    assert workspace.intake.indicators["documents"].isChecked()


def test_possible_duplicate_is_shown_at_intake(workspace, case_session) -> None:  # type: ignore[no-untyped-def]
    first = case_session.repo.create_case(
        {"person_name": NAME, "birth_date": "1996-07-14", "phone": "+855 1"}
    )
    workspace.new_case()
    form = workspace.intake
    form.inputs["person_name"].setText("chanthy")
    form.inputs["birth_date"].setText("1996-07-14")
    form.check_field("birth_date")
    assert form.duplicates.isVisibleTo(form)
    assert first in form.duplicates.text() and NAME in form.duplicates.text()


def test_a_draft_survives_a_crash(qtbot, ctx, case_session) -> None:  # type: ignore[no-untyped-def]
    view = CaseWorkspace(case_session, ctx)
    qtbot.addWidget(view)
    view.new_case()
    view.intake.inputs["person_name"].setText(NAME)  # type: ignore[attr-defined]
    view.intake.inputs["person_name"].textEdited.emit(NAME)  # type: ignore[attr-defined]
    user = case_session.user
    qtbot.waitUntil(
        lambda: drafts.load_draft(case_session.db, user.id, "intake:new") is not None,
        timeout=3000,
    )
    # The process dies here: nothing is saved or closed. A new run opens the same files.
    again = fresh_session(ctx)
    db = again.open_store(PASS)
    again.attach(db, PASS)
    again.log_in(again.check_login(db, "admin", "admin-password"))
    revived = CaseWorkspace(again, ctx)
    qtbot.addWidget(revived)
    assert revived.right.currentWidget() is revived.intake
    assert revived.intake.values()["person_name"] == NAME
    assert revived.intake.recovered.isVisibleTo(revived.intake)
    assert revived.intake.save()
    assert drafts.load_draft(db, user.id, "intake:new") is None
    again.close()


def test_auto_lock_hides_personal_data_and_keeps_the_draft(  # type: ignore[no-untyped-def]
    qtbot, ctx, case_session, monkeypatch
) -> None:
    from mrc_desktop.ui.cases.idle_lock import IdleLock

    monkeypatch.setattr(IdleLock, "interval_ms", lambda self: 300)
    case_id = case_session.repo.create_case({"person_name": NAME, "phone": "+855 99"})
    user_id = case_session.user.id
    screen = CasesScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.workspace.apply_filters()
    screen.workspace.open_case(case_id)
    assert NAME in all_text(screen)
    screen.workspace.edit_case(case_id)
    screen.workspace.intake.inputs["phone"].setText("+855 77")  # type: ignore[attr-defined]
    screen.workspace.intake.dirty = True
    qtbot.waitUntil(lambda: case_session.state == LOCKED, timeout=5000)
    assert screen.stack.currentWidget() is screen.unlock
    text = all_text(screen)
    assert NAME not in text and "+855" not in text
    saved = drafts.load_draft(case_session.db, user_id, f"intake:{case_id}")
    assert saved is not None and saved.payload["phone"] == "+855 77"


def test_counsellor_cannot_see_audit_users_or_delete(qtbot, ctx, case_session) -> None:  # type: ignore[no-untyped-def]
    assert case_session.db is not None
    counsellor = create_user(
        case_session.db, ctx.desk.desk_id, "dara", "Dara", "counsellor", "password-1", **MIN_COST
    )
    case_id = case_session.repo.create_case({"person_name": NAME})
    case_session.lock()
    case_session.log_in(counsellor)
    view = CaseWorkspace(case_session, ctx)
    qtbot.addWidget(view)
    assert not view.audit_button.isVisibleTo(view)
    assert not view.users_button.isVisibleTo(view)
    view.open_case(case_id)
    assert not view.case_page.delete_button.isVisibleTo(view.case_page)
    with pytest.raises(PermissionDenied):
        case_session.repo.delete_case(case_id)


def test_refer_to_a_union_and_set_a_follow_up(qtbot, workspace, case_session) -> None:  # type: ignore[no-untyped-def]
    case_id = case_session.repo.create_case(
        {"person_name": NAME, "destination_country": "TH", "origin_country": "NP"}
    )
    workspace.open_case(case_id)
    page = workspace.case_page
    dialog = page.refer()
    kinds = dialog.inputs["org_kind"]
    assert isinstance(kinds, QComboBox)
    kinds.setCurrentIndex(kinds.findData("union"))
    names = dialog.inputs["org_name"]
    assert isinstance(names, QComboBox)
    assert "General Federation of Nepalese Trade Unions (GEFONT)" in [
        names.itemText(i) for i in range(names.count())
    ]
    dialog.inputs["reason"].setPlainText("Wages unpaid for three months")  # type: ignore[attr-defined]
    dialog._accept()
    assert dialog.message.text() == ""
    assert not [e.text() for e in dialog.errors.values() if e.text()]
    assert dialog.result() == dialog.DialogCode.Accepted
    assert case_session.repo.open_case_header(case_id)["status"] == "referred"
    assert page.status.currentData() == "referred"
    assert "GEFONT" in page.referrals.item(0).text()
    follow = page.set_follow_up()
    follow.inputs["due_on"].setDate(dt.date.today())  # type: ignore[attr-defined]
    follow.inputs["text"].setPlainText("Call the union")  # type: ignore[attr-defined]
    follow._accept()
    assert "due today" in page.follow_ups.item(0).text()
    assert workspace.reminder.text() == "1 follow-up is due today."
    workspace.show_due()
    assert "Call the union" in workspace.due_list.item(0).text()
    page.follow_ups.setCurrentRow(0)
    page.complete_follow_up()
    assert "(done)" in page.follow_ups.item(0).text()
    assert page.timeline.count() == 3  # referral, follow-up, done


def test_bad_referral_keeps_the_dialog_open_with_messages(workspace, case_session) -> None:  # type: ignore[no-untyped-def]
    case_id = case_session.repo.create_case({"person_name": NAME})
    workspace.open_case(case_id)
    dialog = workspace.case_page.refer()
    dialog.inputs["org_name"].setEditText("")  # type: ignore[attr-defined]
    dialog._accept()
    assert dialog.isVisible()
    assert dialog.errors["org_name"].text() == "This cannot be empty."
    assert case_session.repo.entries(case_id) == []


def test_case_list_model_is_lazy_sorts_and_filters(qtbot, qtmodeltester, case_session) -> None:  # type: ignore[no-untyped-def]
    repo: CaseRepository = case_session.repo
    for n in range(450):
        repo.create_case(
            {
                "person_name": f"Invented Person {n:03d}",
                "destination_country": "MY" if n % 3 else "TH",
                "categories": ["wages"] if n % 2 else ["deception"],
            }
        )
    model = CaseTableModel(case_session)
    model.reload()
    assert model.total == 450 and model.rowCount() == 200 and model.canFetchMore()
    model.fetchMore()
    model.fetchMore()
    assert model.rowCount() == 450 and not model.canFetchMore()
    model.sort(1, Qt.SortOrder.AscendingOrder)
    assert model.data(model.index(0, 1)) == "Invented Person 000"
    from mrc_desktop.cases.repository import CaseFilter

    model.set_filter(CaseFilter(destination="TH", category="deception"))
    assert model.total == 75
    assert model.data(model.index(0, 3)) == "Thailand"
    model.set_filter(CaseFilter(text="Person 12"))
    assert model.total == 10  # 120–129
    # The model tester, once attached, fetches more from inside its modelReset handler before
    # it clears its own "reset in flight" flag, so it is attached last, after the resets above.
    checked = CaseTableModel(case_session)
    checked.sort(2, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(checked)
    case_session.lock()
    assert model.rowCount() == 0


def test_quick_lock_shortcut_from_the_main_window(qtbot, ctx, case_session) -> None:  # type: ignore[no-untyped-def]
    from mrc_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show_screen("cases")
    assert window.lock_action.shortcut().toString() == "Ctrl+L"
    window.lock_action.trigger()
    assert case_session.state == LOCKED


def test_first_unlock_of_the_day_makes_an_encrypted_backup(qtbot, workspace, ctx) -> None:  # type: ignore[no-untyped-def]
    from mrc_desktop.storage.backup import list_backups

    qtbot.waitUntil(lambda: "Last backup" in workspace.backup_label.text(), timeout=15_000)
    [made] = list_backups(ctx.paths.backups)
    assert made.path.read_bytes()[:16] != b"SQLite format 3\x00"
    workspace._backup_task = None
    workspace.start_daily_backup()  # the same day: no second backup
    qtbot.waitUntil(lambda: workspace._backup_task.isFinished(), timeout=15_000)
    assert len(list_backups(ctx.paths.backups)) == 1


def test_a_fee_check_is_attached_to_the_open_case(qtbot, workspace, ctx, case_session) -> None:  # type: ignore[no-untyped-def]
    from mrc_desktop.ui.fee_checker_screen import FeeCheckerScreen
    from tests.countries.test_country_screens import fill_row

    fees = FeeCheckerScreen(ctx)
    qtbot.addWidget(fees)
    fees.origin.setCurrentIndex(fees.origin.findData("NP"))
    fees.destination.setCurrentIndex(fees.destination.findData("MY"))
    fees.wage.setText("1700")
    fill_row(fees, 0, "agency_fee", "150000")
    fees.add_to_case()
    assert fees.case_message.text().startswith("Open a case in the Cases screen first")
    case_id = case_session.repo.create_case({"person_name": NAME})
    workspace.open_case(case_id)
    fees.add_to_case()
    reference = case_session.repo.open_case_header(case_id)["reference"]
    assert fees.case_message.text() == f"Added to case {reference}."
    [entry] = case_session.repo.entries(case_id)
    assert entry["kind"] == "fee_check"
    assert fees.result is not None
    assert entry["payload"]["result"]["items"][0]["verdict"] == fees.result.items[0].verdict
    assert entry["payload"]["result"]["total_worker"] == "150000.00"
    assert "NP → MY: 1 cost checked" in workspace.case_page.timeline.item(0).text()


def test_every_set_up_and_unlock_field_has_a_visible_label(qtbot, ctx) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFormLayout

    session = fresh_session(ctx)
    screen = CasesScreen(ctx)
    qtbot.addWidget(screen)
    for form in (screen.setup.passphrase_form, screen.setup.admin_form, screen.unlock.form):
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
            assert isinstance(label, QLabel) and label.text()
            assert label.buddy() is field and field.accessibleName() == label.text()
    assert session.state == "missing"


def test_auto_lock_and_backup_settings_are_saved_and_bounded(qtbot, ctx) -> None:  # type: ignore[no-untyped-def]
    import json

    from mrc_desktop.ui.settings_screen import SettingsScreen

    screen = SettingsScreen(ctx)
    qtbot.addWidget(screen)
    assert screen.spins["auto_lock_minutes"].value() == 5  # the default
    screen.spins["auto_lock_minutes"].setValue(500)  # beyond the limit: held at 60
    screen.spins["backup_keep"].setValue(30)
    assert screen.save()
    stored = json.loads(ctx.paths.settings_file.read_text("utf-8"))["values"]
    assert stored["auto_lock_minutes"] == 60 and stored["backup_keep"] == 30
    with pytest.raises(ValueError):
        ctx.settings.set("auto_lock_minutes", 0)


def test_search_box_waits_for_two_characters(workspace, case_session) -> None:  # type: ignore[no-untyped-def]
    for name in ("Invented Alpha", "Invented Beta", "Other Gamma"):
        case_session.repo.create_case({"person_name": name})
    workspace.search.setText("a")
    workspace.apply_filters()
    assert workspace.model.total == 3  # one letter does not filter (it would scan every case)
    workspace.search.setText("nv")
    workspace.apply_filters()
    assert workspace.model.total == 2


@pytest.mark.parametrize("lang", ["km", "ar"])
def test_intake_in_khmer_and_arabic(workspace, case_session, ctx, lang) -> None:  # type: ignore[no-untyped-def]
    from mrc_desktop.i18n import _

    ctx.languages.apply(lang)
    try:
        assert workspace.isRightToLeft() == (lang == "ar")
        workspace.new_case()
        form = workspace.intake
        assert form.save_button.text() != "&Save case"  # translated
        fill_intake(workspace)
        form.inputs["birth_date"].setText("1996-13-01")
        assert form.save() is None
        message = form.errors["birth_date"].text()
        assert (
            message == _("Write the date as YYYY-MM-DD.")
            and message != "Write the date as YYYY-MM-DD."
        )
        form.inputs["birth_date"].setText("1996-07-14")
        case_id = form.save()
        assert case_id and workspace.model.total == 1
        dialog = workspace.case_page.refer()
        dialog.inputs["org_name"].setEditText("Invented Union")  # type: ignore[attr-defined]
        dialog._accept()
        assert case_session.repo.open_case_header(case_id)["status"] == "referred"
    finally:
        ctx.languages.apply("en")
