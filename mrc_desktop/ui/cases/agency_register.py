"""The agency register: a searchable list of recruitment agencies, a form to add or
change one, and the agency page with its cases and the grievances raised against it.

What the centre records about agencies is internal only, and it lives in the encrypted
case store, so the whole register empties itself whenever the case log is not unlocked.
Writes go through ``cases.agencies`` (validated and audited) and are announced with
``session.agencies_changed``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.cases import agencies, vocab
from mrc_desktop.cases.agencies import Agency, AgencyCase, AgencySummary
from mrc_desktop.cases.repository import ValidationError
from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_date, show_number
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import ERROR_STYLE, error_label, with_message
from mrc_desktop.ui.widgets.pickers import CountryPicker
from mrc_desktop.ui.widgets.row_table_model import RowTableModel, row_table_view

ID_ROLE = Qt.ItemDataRole.UserRole
INTERNAL_STYLE = "background-color: #fff4ce; color: #5c4400; padding: 4px;"
Index = QModelIndex | QPersistentModelIndex

FIELD_LABELS = {
    "name": N_("Name"),
    "licence_no": N_("Licence number"),
    "country": N_("Country"),
    "licence_status": N_("Licence status"),
    "contacts": N_("Contacts"),
}


def typed(text: str) -> str:
    """Text someone typed (a name, a licence number…) as shown in the interface.

    In a right-to-left interface a Latin value such as "Golden Star Co." would lose its
    order at the edges (".Golden Star Co"), so it is shown as a first-strong isolate:
    it keeps its own direction and sits on the interface's side. Display only: the
    stored value never carries these marks.
    """
    return f"\u2068{text}\u2069" if text and i18n.is_rtl() else text


def country_name(code: str) -> str:
    """The country's name in the interface language (the code if CLDR has none)."""
    return i18n.country_names().get(code, code) if code else ""


def licence_label(status: str) -> str:
    return _(vocab.LICENCE_STATUS[status]) if status in vocab.LICENCE_STATUS else status


def local_date(stamp: str) -> str:
    """A stored UTC timestamp as a date in this desk's time zone."""
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return show_date(when.astimezone().date(), "medium")


class AgencyTableModel(RowTableModel):
    """The register's list: one row per agency, with the number of its live cases."""

    columns = (
        ("name", N_("Agency")),
        ("licence_no", N_("Licence number")),
        ("country", N_("Country")),
        ("licence_status", N_("Licence status")),
        ("case_count", N_("Cases")),
    )

    def __init__(self) -> None:
        super().__init__()
        self._sort_column = 0
        self._sort_order = Qt.SortOrder.AscendingOrder

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self._rows = sorted(rows, key=self._key(self._sort_column))
        if self._sort_order == Qt.SortOrder.DescendingOrder:
            self._rows.reverse()
        self.endResetModel()

    def agency_id(self, row: int) -> str:
        agency = self.row_data(row)
        return agency.id if agency is not None else ""

    def row_of(self, agency_id: str) -> int:
        return next((n for n, a in enumerate(self._rows) if a.id == agency_id), -1)

    def display(self, key: str, row: Agency) -> str:
        if key == "country":
            return country_name(row.country)
        if key == "licence_status":
            return licence_label(row.licence_status)
        if key == "case_count":
            return show_number(row.case_count)
        return typed(str(getattr(row, key)))

    def cell(self, key: str, row: Agency, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "case_count":
            return int(Qt.AlignmentFlag.AlignTrailing | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort_column, self._sort_order = column, order
        self._rows.sort(key=self._key(column), reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def _key(self, column: int) -> Callable[[Agency], Any]:
        key = self.columns[column][0]
        if key == "case_count":
            return lambda a: (a.case_count, agencies.sort_key(a.name))
        return lambda a: (agencies.sort_key(self.display(key, a)), agencies.sort_key(a.name))


class AgencyCasesModel(RowTableModel):
    """The agency page's cases: reference, status, destination, date — nothing personal."""

    columns = (
        ("reference", N_("Reference")),
        ("status", N_("Status")),
        ("destination_country", N_("Destination")),
        ("created_at", N_("Opened")),
    )

    def display(self, key: str, row: AgencyCase) -> str:
        if key == "status":
            return _(vocab.STATUSES.get(row.status, row.status))
        if key == "destination_country":
            return country_name(row.destination_country)
        if key == "created_at":
            return local_date(row.created_at)
        return typed(str(getattr(row, key)))


def _plain_label(name: str = "") -> QLabel:
    """A label for stored text: never interpreted as HTML, selectable, wrapped."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class AgencyPage(Translatable, QWidget):
    """One agency: its details, its cases and the grievance categories raised in them."""

    open_case = Signal(str)  # case id
    edit_requested = Signal(str)  # agency id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agency_page")
        self.summary: AgencySummary | None = None
        self.title = _plain_label("agency_title")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.edit_button = QPushButton()
        self.edit_button.setObjectName("agency_edit")
        self.edit_button.clicked.connect(self._edit)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.edit_button)
        self.internal = QLabel()
        self.internal.setObjectName("agency_internal")
        self.internal.setWordWrap(True)
        self.internal.setStyleSheet(INTERNAL_STYLE)
        self.details = {key: _plain_label(f"agency_detail_{key}") for key in FIELD_LABELS}
        self.detail_labels = {key: QLabel() for key in FIELD_LABELS}
        form = QFormLayout()
        for key in ("licence_no", "country", "licence_status", "contacts"):
            form.addRow(self.detail_labels[key], self.details[key])
        self.statuses = _plain_label("agency_statuses")

        self.cases_box = QGroupBox()
        self.cases_model = AgencyCasesModel()
        self.cases = row_table_view(self.cases_model, "agency_cases")
        cases_header = self.cases.horizontalHeader()
        cases_header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        cases_header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.cases.activated.connect(self._activated)
        self.cases.setMinimumHeight(140)
        self.no_cases = QLabel()
        self.no_cases.setObjectName("agency_no_cases")
        cases_layout = QVBoxLayout(self.cases_box)
        cases_layout.addWidget(self.statuses)
        cases_layout.addWidget(self.cases, 1)
        cases_layout.addWidget(self.no_cases)

        self.categories_box = QGroupBox()
        self.categories = QListWidget()
        self.categories.setObjectName("agency_categories")
        self.categories.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.categories.setMinimumHeight(90)
        QVBoxLayout(self.categories_box).addWidget(self.categories)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.internal)
        layout.addLayout(form)
        layout.addWidget(self.cases_box, 2)
        layout.addWidget(self.categories_box, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.edit_button.setText(_("&Change details"))
        self.internal.setText(
            _(
                "Internal only: what this page shows about the agency stays inside the centre "
                "and is never shared or synced."
            )
        )
        for key, label in self.detail_labels.items():
            # TRANSLATORS: a label in front of a value, e.g. "Licence number:".
            label.setText(_("{label}:").format(label=_(FIELD_LABELS[key])))
        self.cases_box.setTitle(_("Cases linked to this agency"))
        self.categories_box.setTitle(_("Grievances raised in these cases"))
        self.no_cases.setText(_("No case is linked to this agency yet."))
        # Values hug the interface's side whatever their script (a Latin licence number
        # would otherwise sit on the left of an Arabic page).
        side = Qt.AlignmentFlag.AlignRight if self.isRightToLeft() else Qt.AlignmentFlag.AlignLeft
        for label in (self.title, *self.details.values()):
            label.setAlignment(
                side | Qt.AlignmentFlag.AlignAbsolute | Qt.AlignmentFlag.AlignVCenter
            )
        self.cases_model.retranslate()
        self._fill()

    def show_summary(self, summary: AgencySummary) -> None:
        self.summary = summary
        self.cases_model.set_rows(summary.cases)
        self._fill()

    def clear(self) -> None:
        self.summary = None
        self.cases_model.clear()
        self._fill()

    def _fill(self) -> None:
        summary = self.summary
        agency = summary.agency if summary else None
        self.title.setText(typed(agency.name) if agency else "")
        self.edit_button.setEnabled(agency is not None)
        values = {
            "licence_no": typed(agency.licence_no) if agency else "",
            "country": country_name(agency.country) if agency else "",
            "licence_status": licence_label(agency.licence_status) if agency else "",
            "contacts": typed(agency.contacts) if agency else "",
        }
        for key, value in values.items():
            self.details[key].setText((value or "—") if agency else "")
        self.categories.clear()
        statuses = []
        if summary is not None:
            for key, count in summary.categories:
                label = _(vocab.CATEGORIES[key]) if key in vocab.CATEGORIES else key
                # TRANSLATORS: a grievance category and how many of the agency's cases raise it.
                text = _("{category} — {count}").format(category=label, count=show_number(count))
                self.categories.addItem(text)
            for status, count in summary.statuses.items():
                statuses.append(
                    # TRANSLATORS: a case status and how many cases have it, e.g. "New: 3".
                    _("{status}: {count}").format(
                        status=_(vocab.STATUSES.get(status, status)), count=show_number(count)
                    )
                )
        self.statuses.setText(" · ".join(statuses))
        has_cases = bool(summary and summary.cases)
        self.cases.setVisible(has_cases)
        self.statuses.setVisible(has_cases)
        self.no_cases.setVisible(summary is not None and not has_cases)

    def _activated(self, index: QModelIndex) -> None:
        case_id = self.cases_model.data(index, ID_ROLE)
        if case_id:
            self.open_case.emit(str(case_id))

    def _edit(self) -> None:
        if self.summary is not None:
            self.edit_requested.emit(self.summary.agency.id)


class AgencyForm(Translatable, QWidget):
    """Add an agency or change its details; each problem is shown beside its field."""

    saved = Signal(str)  # agency id
    cancelled = Signal()

    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agency_form")
        self.session = session
        self.agency_id = ""  # empty while adding a new agency
        self.title = QLabel()
        self.title.setObjectName("agency_form_title")
        self.name = QLineEdit()
        self.name.setObjectName("agency_name")
        self.name.setMaxLength(agencies.MAX_TEXT["name"] + 20)  # longer gets a message, not a cut
        self.licence_no = QLineEdit()
        self.licence_no.setObjectName("agency_licence_no")
        self.country = CountryPicker()
        self.country.setObjectName("agency_country")
        self.licence_status = QComboBox()
        self.licence_status.setObjectName("agency_licence_status")
        for key in vocab.LICENCE_STATUS:
            self.licence_status.addItem("", key)
        self.contacts = QPlainTextEdit()
        self.contacts.setObjectName("agency_contacts")
        self.contacts.setTabChangesFocus(True)
        self.contacts.setMaximumHeight(110)
        self.inputs: dict[str, QWidget] = {
            "name": self.name,
            "licence_no": self.licence_no,
            "country": self.country,
            "licence_status": self.licence_status,
            "contacts": self.contacts,
        }
        self.labels = {key: QLabel() for key in FIELD_LABELS}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for key, widget in self.inputs.items():
            self.labels[key].setBuddy(widget)
            error = error_label(f"agency_{key}_error")
            self.errors[key] = error
            form.addRow(self.labels[key], with_message(widget, error))
        self.message = QLabel()
        self.message.setObjectName("agency_form_message")
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        self.save_button = QPushButton()
        self.save_button.setObjectName("agency_save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("agency_cancel")
        self.cancel_button.clicked.connect(self.cancelled.emit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.name.textEdited.connect(lambda _text: self.errors["name"].hide())
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(_("Change the agency's details") if self.agency_id else _("New agency"))
        labels = {
            "name": _("&Name:"),
            "licence_no": _("&Licence number:"),
            "country": _("C&ountry:"),
            "licence_status": _("Licence &status:"),
            "contacts": _("Con&tacts:"),
        }
        for key, text in labels.items():
            self.labels[key].setText(text)
        self.licence_no.setPlaceholderText(_("As printed on the licence, if known"))
        self.contacts.setPlaceholderText(_("Address, phone, e-mail, contact person"))
        for row in range(self.licence_status.count()):
            key = self.licence_status.itemData(row)
            self.licence_status.setItemText(row, _(vocab.LICENCE_STATUS[key]))
        self.save_button.setText(_("&Save agency"))
        self.cancel_button.setText(_("Cancel"))
        for error in self.errors.values():
            problem = error.property("problem")
            if problem:
                error.setText(_(problem))
        if self.message.property("problem"):
            self.message.setText(_(self.message.property("problem")))

    # -- filling -----------------------------------------------------------------------
    def start_new(self, name: str = "") -> None:
        self.agency_id = ""
        self._set(name, "", "", "unknown", "")
        self.retranslate()
        self.name.setFocus()

    def start_edit(self, agency: Agency) -> None:
        self.agency_id = agency.id
        self._set(
            agency.name, agency.licence_no, agency.country, agency.licence_status, agency.contacts
        )
        self.retranslate()
        self.name.setFocus()

    def clear(self) -> None:
        self.agency_id = ""
        self._set("", "", "", "unknown", "")

    def _set(self, name: str, licence: str, country: str, status: str, contacts: str) -> None:
        self.name.setText(name)
        self.licence_no.setText(licence)
        self.country.select(country)
        self.licence_status.setCurrentIndex(max(self.licence_status.findData(status), 0))
        self.contacts.setPlainText(contacts)
        self.show_problems({})

    def values(self) -> dict[str, str]:
        return {
            "name": self.name.text(),
            "licence_no": self.licence_no.text(),
            "country": self.country.current_code(),
            "licence_status": str(self.licence_status.currentData()),
            "contacts": self.contacts.toPlainText(),
        }

    # -- saving ------------------------------------------------------------------------
    def save(self) -> str:
        """Add or change the agency; returns its id, or "" with the problems shown."""
        if self.session.state != UNLOCKED:
            return ""
        values = self.values()
        problems: dict[str, str] = {}
        typed = self.country.currentText().strip()
        if values["country"] == "" and typed and typed != self.country.itemText(0):
            problems["country"] = N_("Choose a country from the list.")
        repo = self.session.repo
        try:
            if problems:  # report every field at once, then stop
                agencies.check_agency(repo.db, values, not self.agency_id, self.agency_id)
            elif self.agency_id:
                agencies.update_agency(repo, self.agency_id, values)
            else:
                self.agency_id = agencies.add_agency(repo, values)
        except ValidationError as exc:
            problems = {**exc.problems, **problems}
        except KeyError:
            problems["_"] = N_("This agency is no longer in the register.")
        self.show_problems(problems)
        if problems:
            return ""
        saved = self.agency_id
        self.session.agencies_changed.emit()
        self.saved.emit(saved)
        return saved

    def show_problems(self, problems: dict[str, str]) -> None:
        first: QWidget | None = None
        for key, error in self.errors.items():
            problem = problems.get(key, "")
            error.setProperty("problem", problem)
            error.setText(_(problem) if problem else "")
            error.setVisible(bool(problem))
            if problem and first is None:
                first = self.inputs[key]
        other = problems.get("_", "") or next(
            (p for k, p in problems.items() if k not in self.errors), ""
        )
        self.message.setProperty("problem", other)
        self.message.setText(_(other) if other else "")
        self.message.setVisible(bool(other))
        if first is not None:
            first.setFocus()


class AgencyRegister(Translatable, QWidget):
    """The register screen: list and search on one side, the agency page or form on the other."""

    open_case = Signal(str)  # case id, from the agency page

    def __init__(
        self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("agency_register")
        self.session = session
        self.ctx = ctx
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.locked = QLabel()
        self.locked.setObjectName("agency_locked")
        self.locked.setWordWrap(True)

        self.search = QLineEdit()
        self.search.setObjectName("agency_search")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.reload)
        self.add_button = QPushButton()
        self.add_button.setObjectName("agency_add")
        self.add_button.clicked.connect(self.add_agency)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.add_button)
        self.model = AgencyTableModel()
        self.table = row_table_view(self.model, "agency_table")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.empty = QLabel()
        self.empty.setObjectName("agency_empty")
        self.empty.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(search_row)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.empty)

        self.hint = QLabel()
        self.hint.setObjectName("agency_hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.page = AgencyPage()
        self.page.open_case.connect(self.open_case.emit)
        self.page.edit_requested.connect(self.edit_agency)
        self.form = AgencyForm(session)
        self.form.saved.connect(self._saved)
        self.form.cancelled.connect(self._cancelled)
        self.stack = QStackedWidget()
        self.stack.setObjectName("agency_stack")
        self._scrolls: dict[QWidget, QScrollArea] = {}
        for widget in (self.hint, self.page, self.form):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(widget)
            self._scrolls[widget] = scroll
            self.stack.addWidget(scroll)

        self.body = QSplitter(Qt.Orientation.Horizontal)
        self.body.setObjectName("agency_body")
        self.body.setChildrenCollapsible(False)
        self.body.addWidget(left)
        self.body.addWidget(self.stack)
        self.body.setStretchFactor(0, 3)
        self.body.setStretchFactor(1, 2)
        self.body.setSizes([600, 400])  # the list gets the larger share, as stretch says
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.locked)
        layout.addWidget(self.body, 1)

        session.state_changed.connect(self._state_changed)
        session.agencies_changed.connect(self.reload)
        session.cases_changed.connect(self._cases_changed)
        self.retranslate()
        self._state_changed(session.state)

    def retranslate(self) -> None:
        self.heading.setText(_("Recruitment agencies"))
        self.locked.setText(_("The case log is locked. Log in to see the agency register."))
        self.search.setPlaceholderText(_("Search by name or licence number"))
        self.search.setAccessibleName(_("Search agencies"))
        self.add_button.setText(_("&Add agency"))
        self.hint.setText(_("Choose an agency to see its page, or add one."))
        self._update_empty()
        self.model.retranslate()

    # -- loading -----------------------------------------------------------------------
    def _state_changed(self, state: str) -> None:
        unlocked = state == UNLOCKED
        self.locked.setVisible(not unlocked)
        self.body.setVisible(unlocked)
        if unlocked:
            self.reload()
        else:
            self.clear()

    def clear(self) -> None:
        """Forget everything shown (the case log locked or closed)."""
        self.model.clear()
        self.page.clear()
        self.form.clear()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.show_pane(self.hint)
        self._update_empty()

    def reload(self) -> None:
        """Read the list again (keeping the chosen agency) and refresh its page."""
        if self.session.state != UNLOCKED:
            return
        current = self.current_agency_id()
        self.model.set_rows(agencies.list_agencies(self.session.repo.db, self.search.text()))
        self._update_empty()
        if current:
            self.select(current)
        if self.showing() is self.page and self.page.summary is not None:
            self.show_agency(self.page.summary.agency.id)

    def _cases_changed(self, _case_id: str) -> None:
        self.reload()

    def _update_empty(self) -> None:
        if self.model.rowCount():
            self.empty.hide()
            return
        self.empty.setText(
            _("No agency matches this search.")
            if self.search.text().strip()
            else _("The register is empty. Add the agencies your centre's workers name.")
        )
        self.empty.setVisible(self.session.state == UNLOCKED)

    def current_agency_id(self) -> str:
        index = self.table.currentIndex()
        return self.model.agency_id(index.row()) if index.isValid() else ""

    def select(self, agency_id: str) -> None:
        row = self.model.row_of(agency_id)
        if row >= 0:
            self.table.selectRow(row)
            self.table.setCurrentIndex(self.model.index(row, 0))

    # -- pages -------------------------------------------------------------------------
    def show_pane(self, widget: QWidget) -> None:
        """Show the hint, the agency page or the form beside the list."""
        self.stack.setCurrentWidget(self._scrolls[widget])

    def showing(self) -> QWidget:
        current = self.stack.currentWidget()
        inner = current.widget() if isinstance(current, QScrollArea) else None
        return inner if inner is not None else self.hint

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.showing() is not self.form:
            self.show_agency(self.model.agency_id(current.row()))

    def show_agency(self, agency_id: str) -> None:
        if self.session.state != UNLOCKED:
            return
        summary = agencies.agency_summary(self.session.repo.db, agency_id)
        if summary is None:
            self.page.clear()
            self.show_pane(self.hint)
            return
        self.page.show_summary(summary)
        self.show_pane(self.page)

    def add_agency(self) -> None:
        if self.session.state != UNLOCKED:
            return
        self.form.start_new(self.search.text().strip())
        self.show_pane(self.form)

    def edit_agency(self, agency_id: str) -> None:
        if self.session.state != UNLOCKED:
            return
        agency = agencies.get_agency(self.session.repo.db, agency_id)
        if agency is not None:
            self.form.start_edit(agency)
            self.show_pane(self.form)

    def _saved(self, agency_id: str) -> None:
        # The search may hide the agency just saved: clear it so the list shows it.
        if self.model.row_of(agency_id) < 0:
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self.reload()
        self.show_pane(self.page)
        self.select(agency_id)
        self.show_agency(agency_id)

    def _cancelled(self) -> None:
        self.form.clear()
        if self.page.summary is not None:
            self.show_agency(self.page.summary.agency.id)
        else:
            self.show_pane(self.hint)
