"""The agency register screen: add and change agencies, the agency page, search, lock."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QWidget,
)

from mrc_desktop.cases import agencies
from mrc_desktop.ui.cases.agency_register import AgencyRegister
from mrc_desktop.ui.cases.session import CaseSession

GOLDEN = "Golden Star Manpower Co."


def shown_text(root: QWidget) -> str:
    """Every text held below ``root`` (shown or not), including list and table cells."""
    parts = []
    for widget in [root, *root.findChildren(QWidget)]:
        if isinstance(widget, QLabel | QLineEdit):
            parts.append(widget.text())
        elif isinstance(widget, QPlainTextEdit):
            parts.append(widget.toPlainText())
        elif isinstance(widget, QListWidget):
            parts.extend(widget.item(i).text() for i in range(widget.count()))
        elif isinstance(widget, QAbstractItemView) and not isinstance(widget, QComboBox):
            model = widget.model()
            for row in range(model.rowCount(QModelIndex())):
                for column in range(model.columnCount(QModelIndex())):
                    parts.append(str(model.data(model.index(row, column))))
    return "\n".join(parts)


def make_register(qtbot, session: CaseSession, ctx) -> AgencyRegister:  # type: ignore[no-untyped-def]
    register = AgencyRegister(session, ctx)
    qtbot.addWidget(register)
    register.resize(1000, 700)
    register.show()
    return register


def test_add_an_agency_through_the_form(qtbot, qtmodeltester, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    register = make_register(qtbot, case_session, ctx)
    assert register.model.rowCount() == 0
    assert register.empty.isVisible() and "empty" in register.empty.text()
    qtbot.mouseClick(register.add_button, Qt.MouseButton.LeftButton)
    form = register.form
    assert register.showing() is form
    form.name.setText(GOLDEN)
    form.licence_no.setText("DOE-2019-0142")
    form.country.select("KH")
    form.licence_status.setCurrentIndex(form.licence_status.findData("suspended"))
    form.contacts.setPlainText("Street 123, Phnom Penh\n+855 23 000 000")
    with qtbot.waitSignal(case_session.agencies_changed):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)

    qtmodeltester.check(register.model)
    assert register.model.rowCount() == 1
    row = [register.model.index(0, c).data() for c in range(register.model.columnCount())]
    assert row == [GOLDEN, "DOE-2019-0142", "Cambodia", "Licence suspended", "0"]
    assert register.showing() is register.page
    page = register.page
    assert page.title.text() == GOLDEN
    assert page.details["licence_status"].text() == "Licence suspended"
    assert page.details["contacts"].text().startswith("Street 123")
    assert page.internal.isVisible() and "Internal only" in page.internal.text()
    assert page.no_cases.isVisible()
    audit = case_session.repo.audit_page(0, 10, action="add_agency")
    assert [(a["agency_name"], a["user_name"]) for a in audit] == [(GOLDEN, "Test Admin")]


def test_bad_input_is_shown_beside_each_field_and_nothing_is_saved(
    qtbot, case_session, ctx
) -> None:  # type: ignore[no-untyped-def]
    register = make_register(qtbot, case_session, ctx)
    register.add_agency()
    form = register.form
    form.name.setText("Golden\u202eStar")  # a right-to-left override hides the real name
    form.country.setEditText("Atlantis")
    form.contacts.setPlainText("x" * 2001)
    assert form.save() == ""
    assert form.errors["name"].isVisible()
    assert form.errors["name"].text() == (
        "Contains hidden direction marks that can disguise text: retype it."
    )
    assert form.errors["country"].text() == "Choose a country from the list."
    assert form.errors["contacts"].text() == "Too long: shorten it."
    assert not form.errors["licence_no"].isVisible()
    assert register.showing() is form
    form.name.setText("")
    form.country.select("")
    form.contacts.setPlainText("")
    form.save()
    assert form.errors["name"].text() == "Enter the agency's name."
    assert not form.errors["country"].isVisible()
    assert agencies.list_agencies(case_session.db) == []

    agencies.add_agency(case_session.repo, {"name": GOLDEN})
    form.name.setText("golden star manpower co.")
    form.save()
    assert form.errors["name"].text() == "There is already an agency with this name."
    assert len(agencies.list_agencies(case_session.db)) == 1
    # Cancel goes back without saving anything.
    qtbot.mouseClick(form.cancel_button, Qt.MouseButton.LeftButton)
    assert register.showing() is register.hint


def test_agency_page_lists_cases_and_categories(qtbot, qtmodeltester, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    golden = agencies.add_agency(repo, {"name": GOLDEN, "country": "KH"})
    agencies.add_agency(repo, {"name": "Mekong Workers Supply"})
    worker = {"person_name": "Invented Worker Sophea", "phone": "+855 12 000 222"}
    first = repo.create_case(
        {
            **worker,
            "agency_id": golden,
            "destination_country": "TH",
            "categories": ["excessive_fees", "documents_held"],
        }
    )
    second = repo.create_case(
        {
            **worker,
            "agency_id": golden,
            "destination_country": "MY",
            "categories": ["excessive_fees"],
        }
    )
    repo.update_case(second, {"status": "referred"})
    register = make_register(qtbot, case_session, ctx)
    qtmodeltester.check(register.model)
    assert [register.model.index(r, 4).data() for r in range(2)] == ["2", "0"]
    register.select(golden)
    page = register.page
    assert register.showing() is page
    qtmodeltester.check(page.cases_model)
    cases = [
        [page.cases_model.index(r, c).data() for c in range(3)]
        for r in range(page.cases_model.rowCount())
    ]
    references = {
        row[0] for row in case_session.db.execute("select reference from cases").fetchall()
    }
    assert {c[0] for c in cases} == references
    assert sorted(c[1:] for c in cases) == [["New", "Thailand"], ["Referred", "Malaysia"]]
    categories = [page.categories.item(i).text() for i in range(page.categories.count())]
    assert categories == [
        "Excessive or illegal recruitment fees — 2",
        "Passport or identity document kept by someone else — 1",
    ]
    assert "Referred: 1" in page.statuses.text() and "New: 1" in page.statuses.text()
    # No personal field appears anywhere on the register.
    assert "Sophea" not in shown_text(register) and "000 222" not in shown_text(register)

    page.cases.setFocus()
    row = next(r for r in range(2) if page.cases_model.index(r, 1).data() == "New")
    page.cases.setCurrentIndex(page.cases_model.index(row, 0))
    with qtbot.waitSignal(register.open_case) as opened:
        qtbot.keyClick(page.cases.viewport(), Qt.Key.Key_Return)
    assert opened.args == [first]


def test_search_edit_and_refresh_on_changes(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    golden = agencies.add_agency(repo, {"name": GOLDEN, "licence_no": "DOE-2019-0142"})
    agencies.add_agency(repo, {"name": "Ángkor Manpower Services"})
    register = make_register(qtbot, case_session, ctx)
    register.search.setText("angkor")  # accents and case are ignored
    assert register.model.rowCount() == 1
    assert register.model.index(0, 0).data() == "Ángkor Manpower Services"
    register.search.setText("0142")
    assert register.model.rowCount() == 1
    register.search.setText("no such agency")
    assert register.model.rowCount() == 0 and register.empty.text() == (
        "No agency matches this search."
    )
    register.search.clear()
    register.select(golden)
    qtbot.mouseClick(register.page.edit_button, Qt.MouseButton.LeftButton)
    form = register.form
    assert form.agency_id == golden and form.name.text() == GOLDEN
    form.licence_status.setCurrentIndex(form.licence_status.findData("revoked"))
    form.save()
    assert register.page.details["licence_status"].text() == "Licence revoked"
    row = register.model.row_of(golden)
    assert register.model.index(row, 3).data() == "Licence revoked"
    changes = case_session.repo.audit_page(0, 10, action="change_agency")
    assert [(c["field"], c["old_value"], c["new_value"]) for c in changes] == [
        ("licence_status", "unknown", "revoked")
    ]
    # A case linked elsewhere (e.g. at intake) updates the counts when announced.
    repo.create_case({"person_name": "Invented Worker Dara", "agency_id": golden})
    case_session.cases_changed.emit("")
    assert register.model.index(register.model.row_of(golden), 4).data() == "1"
    assert register.page.cases_model.rowCount() == 1


def test_the_register_empties_when_the_case_log_locks(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    golden = agencies.add_agency(case_session.repo, {"name": GOLDEN})
    admin = case_session.user
    register = make_register(qtbot, case_session, ctx)
    register.select(golden)
    register.edit_agency(golden)
    assert GOLDEN in shown_text(register)
    case_session.lock()
    assert GOLDEN not in shown_text(register)
    assert register.model.rowCount() == 0 and register.page.cases_model.rowCount() == 0
    assert register.locked.isVisible() and not register.body.isVisible()
    register.add_agency()  # nothing happens while locked
    assert register.showing() is register.hint
    case_session.log_in(admin)
    assert register.model.rowCount() == 1 and not register.locked.isVisible()


def test_sorting_by_a_column(qtbot, case_session, ctx) -> None:  # type: ignore[no-untyped-def]
    repo = case_session.repo
    agencies.add_agency(repo, {"name": "Beta Recruiters", "licence_status": "valid"})
    agencies.add_agency(repo, {"name": "Alpha Manpower", "licence_status": "revoked"})
    register = make_register(qtbot, case_session, ctx)
    names = lambda: [register.model.index(r, 0).data() for r in range(2)]  # noqa: E731
    assert names() == ["Alpha Manpower", "Beta Recruiters"]
    register.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert names() == ["Beta Recruiters", "Alpha Manpower"]
    register.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)  # "Licence revoked" < "Licensed"
    assert names() == ["Alpha Manpower", "Beta Recruiters"]
