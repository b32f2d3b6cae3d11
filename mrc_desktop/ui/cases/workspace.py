"""The unlocked case log: find cases (search and filters), open one, take a new intake.

Left: the lazily loaded case list. Right: whatever is being worked on — a case, the
intake form, the agency register, follow-ups due, the audit log.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.cases import vocab
from mrc_desktop.cases.repository import CaseFilter
from mrc_desktop.i18n import _
from mrc_desktop.sync.merge import flagged_cases
from mrc_desktop.ui.background import run_task
from mrc_desktop.ui.cases.case_page import CasePage
from mrc_desktop.ui.cases.case_table_model import CaseTableModel
from mrc_desktop.ui.cases.intake_form import NEW_FORM, IntakeForm
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_date, show_datetime, show_number
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.pickers import CountryPicker
from mrc_desktop.ui.widgets.row_table_model import ID_ROLE, row_table_view

SEARCH_DELAY_MS = 250
MIN_SEARCH = 2
OPEN = "__open__"


class CaseWorkspace(Translatable, QWidget):
    def __init__(self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("case_workspace")
        self.session = session
        self.ctx = ctx
        self._extras: dict[str, QWidget] = {}
        self._fitted = False

        self.new_button = QPushButton()
        self.new_button.setObjectName("cases_new")
        self.new_button.clicked.connect(self.new_case)
        self.search = QLineEdit()
        self.search.setObjectName("cases_search")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.lock_button = QPushButton()
        self.lock_button.setObjectName("cases_lock")
        self.lock_button.clicked.connect(session.lock)
        self.user_label = QLabel()
        self.user_label.setObjectName("cases_user")
        top = QHBoxLayout()
        top.addWidget(self.new_button)
        top.addWidget(self.search, 1)
        top.addWidget(self.user_label)
        top.addWidget(self.lock_button)

        self.status_filter = QComboBox()
        self.status_filter.setObjectName("filter_status")
        self.category_filter = QComboBox()
        self.category_filter.setObjectName("filter_category")
        self.destination_filter = CountryPicker()
        self.destination_filter.setObjectName("filter_destination")
        self.agency_filter = QComboBox()
        self.agency_filter.setObjectName("filter_agency")
        self.assignee_filter = QComboBox()
        self.assignee_filter.setObjectName("filter_assignee")
        self.from_filter = QLineEdit()
        self.from_filter.setObjectName("filter_from")
        self.to_filter = QLineEdit()
        self.to_filter.setObjectName("filter_to")
        for line in (self.from_filter, self.to_filter):
            line.setMaximumWidth(150)
            line.setMinimumWidth(120)
            line.editingFinished.connect(self.apply_filters)
        for combo in (
            self.status_filter,
            self.category_filter,
            self.agency_filter,
            self.assignee_filter,
        ):
            combo.activated.connect(self.apply_filters)
            # Long category names must not push the window wider than a small screen.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(10)
        self.destination_filter.activated.connect(self.apply_filters)
        self.destination_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.destination_filter.setMinimumContentsLength(10)
        # Shown while some case is edited at two desks (or the filter is on).
        self.conflict_filter = QCheckBox()
        self.conflict_filter.setObjectName("filter_conflicts")
        self.conflict_filter.toggled.connect(self.apply_filters)
        self.conflict_filter.hide()
        self.clear_button = QPushButton()
        self.clear_button.setObjectName("filter_clear")
        self.clear_button.clicked.connect(self.clear_filters)
        filters = QHBoxLayout()
        for widget in (
            self.status_filter,
            self.category_filter,
            self.destination_filter,
            self.agency_filter,
            self.assignee_filter,
            self.from_filter,
            self.to_filter,
            self.clear_button,
        ):
            filters.addWidget(widget)
        filters.addStretch(1)

        self.reminder = QLabel()
        self.reminder.setObjectName("cases_reminder")
        self.reminder.setWordWrap(True)
        self.reminder.setStyleSheet(
            "background: #fff4ce; border: 1px solid #e0c060; padding: 6px; color: #3a2c00;"
        )
        self.reminder.hide()
        self.due_button = QPushButton()
        self.due_button.setObjectName("cases_due")
        self.due_button.clicked.connect(self.show_due)
        self.agencies_button = QPushButton()
        self.agencies_button.setObjectName("cases_agencies")
        self.agencies_button.clicked.connect(self.show_agencies)
        self.audit_button = QPushButton()
        self.audit_button.setObjectName("cases_audit")
        self.audit_button.clicked.connect(self.show_audit)
        self.users_button = QPushButton()
        self.users_button.setObjectName("cases_users")
        self.users_button.clicked.connect(self.show_users)
        tools = QHBoxLayout()
        tools.addWidget(self.reminder, 1)
        # The filter row is full on a small screen; the reminder's row has room.
        tools.addWidget(self.conflict_filter)
        for button in (
            self.due_button,
            self.agencies_button,
            self.audit_button,
            self.users_button,
        ):
            tools.addWidget(button)

        self.model = CaseTableModel(session)
        self.table = row_table_view(self.model, "cases_table")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.activated.connect(lambda index: self.open_case(self.model.case_id(index.row())))
        self.table.clicked.connect(lambda index: self.open_case(self.model.case_id(index.row())))
        self.count_label = QLabel()
        self.count_label.setObjectName("cases_count")
        self.backup_label = QLabel()
        self.backup_label.setObjectName("cases_backup")
        self.backup_label.setWordWrap(True)
        self._backup_state: tuple[str, str] = ("", "")
        self._backup_task: Any = None
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        under_table = QHBoxLayout()
        under_table.addWidget(self.count_label)
        under_table.addStretch(1)
        under_table.addWidget(self.backup_label)
        left_layout.addLayout(under_table)

        self.right = QStackedWidget()
        self.hint = QLabel()
        self.hint.setObjectName("cases_hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.case_page = CasePage(session, ctx)
        self.case_page.edit_intake.connect(self.edit_case)
        self.case_page.closed.connect(self.show_hint)
        self.intake = IntakeForm(session, ctx)
        self.intake.saved.connect(self.open_case)
        self.intake.cancelled.connect(self._intake_closed)
        self.intake.open_case.connect(self.open_case)
        self.due_list = QListWidget()
        self.due_list.setObjectName("cases_due_list")
        self.due_list.itemActivated.connect(lambda item: self.open_case(item.data(ID_ROLE)))
        self.due_heading = QLabel()
        self.due_heading.setObjectName("screen_heading")
        due_page = QWidget()
        due_layout = QVBoxLayout(due_page)
        due_layout.addWidget(self.due_heading)
        due_layout.addWidget(self.due_list, 1)
        for page in (self.hint, self.case_page, self.intake, due_page):
            self.right.addWidget(page)
        self.due_page = due_page

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([560, 640])
        self.splitter = splitter
        self.right.currentChanged.connect(self._fit_panes)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addLayout(tools)
        layout.addWidget(splitter, 1)

        self.model.modelReset.connect(self._show_count)
        self.model.modelReset.connect(self._fit_columns)
        self.model.rowsInserted.connect(self._show_count)
        session.cases_changed.connect(self._cases_changed)
        session.agencies_changed.connect(self._fill_agencies)
        session.state_changed.connect(self._state_changed)
        ctx.events.attach_fee_check.connect(self._attach_fee_check)
        new_shortcut = QShortcut(QKeySequence("Ctrl+N"), self)
        new_shortcut.activated.connect(self.new_case)
        find_shortcut = QShortcut(QKeySequence("Ctrl+F"), self)
        find_shortcut.activated.connect(self.search.setFocus)
        self.retranslate()
        self._state_changed(session.state)

    # -- texts -------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.new_button.setText(_("&New case"))
        self.search.setPlaceholderText(_("Search names, references, employers, notes…"))
        self.search.setAccessibleName(_("Search cases"))
        self.lock_button.setText(_("&Lock"))
        self.lock_button.setToolTip(_("Hide all personal data until someone logs in (Ctrl+L)"))
        self._fill_status()
        self._fill_categories()
        self._fill_agencies()
        self._fill_assignees()
        self.from_filter.setPlaceholderText(_("From YYYY-MM-DD"))
        self.to_filter.setPlaceholderText(_("To YYYY-MM-DD"))
        self.from_filter.setAccessibleName(_("Opened from"))
        self.to_filter.setAccessibleName(_("Opened until"))
        self.clear_button.setText(_("Clear filters"))
        self._show_conflict_filter()
        self.due_button.setText(_("Follow-ups due"))
        self.agencies_button.setText(_("Agencies"))
        self.audit_button.setText(_("Audit log"))
        self.users_button.setText(_("Users"))
        self.hint.setText(
            _("Choose a case in the list, or start a new intake with New case (Ctrl+N).")
        )
        self.due_heading.setText(_("Follow-ups due today or overdue"))
        self.model.retranslate()
        self._show_count()
        self._show_backup()
        self._show_user()
        if self.session.state == UNLOCKED:
            self._remind()

    def _refill(self, combo: QComboBox, items: list[tuple[str, Any]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
        index = combo.findData(current)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)

    def _fill_status(self) -> None:
        items: list[tuple[str, Any]] = [(_("All statuses"), ""), (_("Open cases"), OPEN)]
        items += [(_(label), key) for key, label in vocab.STATUSES.items()]
        self._refill(self.status_filter, items)
        self.status_filter.setAccessibleName(_("Status"))

    def _fill_categories(self) -> None:
        items: list[tuple[str, Any]] = [(_("All categories"), "")]
        items += [(_(label), key) for key, label in vocab.CATEGORIES.items()]
        self._refill(self.category_filter, items)
        self.category_filter.setAccessibleName(_("Grievance category"))

    def _fill_agencies(self) -> None:
        items: list[tuple[str, Any]] = [(_("All agencies"), "")]
        if self.session.db is not None and self.session.state == UNLOCKED:
            items += [
                (str(row[1]), str(row[0]))
                for row in self.session.db.execute(
                    "select id, name from agencies where deleted = 0 order by name"
                )
            ]
        self._refill(self.agency_filter, items)
        self.agency_filter.setAccessibleName(_("Recruitment agency"))

    def _fill_assignees(self) -> None:
        items: list[tuple[str, Any]] = [(_("All counsellors"), "")]
        if self.session.db is not None and self.session.state == UNLOCKED:
            items += [
                (str(row[1]), str(row[0]))
                for row in self.session.db.execute(
                    "select username, display_name from users order by display_name"
                )
            ]
        self._refill(self.assignee_filter, items)
        self.assignee_filter.setAccessibleName(_("Counsellor"))

    def _show_conflict_filter(self) -> None:
        db = self.session.db
        count = len(flagged_cases(db)) if db is not None and self.session.state == UNLOCKED else 0
        # TRANSLATORS: a filter of the case list: cases changed at two desks before they
        # synced, with their number.
        text = _("Edited at two desks ({count})").format(count=show_number(count))
        self.conflict_filter.setText(text)
        self.conflict_filter.setToolTip(
            _("Cases where two desks changed the same information: choose which value to keep")
        )
        self.conflict_filter.setVisible(count > 0 or self.conflict_filter.isChecked())

    def _show_count(self, *_args: object) -> None:
        total = self.model.total
        self.count_label.setText(
            i18n.ngettext("{count} case", "{count} cases", total).format(count=show_number(total))
        )

    def _fit_columns(self) -> None:
        if self.model.rowCount() and not self._fitted:
            self.table.resizeColumnsToContents()
            for column in range(self.model.columnCount()):
                width = min(self.table.columnWidth(column), 240)
                if column == 0:  # room for the "edited at two desks" flag on any row
                    width += self.table.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize) + 8
                self.table.setColumnWidth(column, width)
            self._fitted = True

    def _show_user(self) -> None:
        user = self.session.user
        if user is None:
            self.user_label.clear()
            return
        self.user_label.setText(
            _("{name} ({role})").format(name=user.display_name, role=_(vocab.ROLES[user.role]))
        )
        self.audit_button.setVisible(user.can("see_audit"))
        self.users_button.setVisible(user.can("manage_users"))

    # -- filters ---------------------------------------------------------------------
    def current_filter(self) -> CaseFilter | None:
        """The filter the controls describe, or None if a date is not valid."""
        status = self.status_filter.currentData() or ""
        statuses: tuple[str, ...] = (
            vocab.OPEN_STATUSES if status == OPEN else ((status,) if status else ())
        )
        dates = []
        for line in (self.from_filter, self.to_filter):
            text = line.text().strip()
            try:
                if text:
                    dt.date.fromisoformat(text)
            except ValueError:
                line.setStyleSheet("border: 1px solid #a40000;")
                line.setToolTip(_("Write the date as YYYY-MM-DD."))
                return None
            line.setStyleSheet("")
            line.setToolTip("")
            dates.append(text)
        return CaseFilter(
            status=statuses,
            category=self.category_filter.currentData() or "",
            destination=self.destination_filter.current_code(),
            agency_id=self.agency_filter.currentData() or "",
            assignee=self.assignee_filter.currentData() or "",
            created_from=dates[0],
            created_to=dates[1],
            edited_at_two_desks=self.conflict_filter.isChecked(),
            # One character matches nearly everything and scans every case: wait for two.
            text=self.search.text() if len(self.search.text().strip()) >= MIN_SEARCH else "",
        )

    def apply_filters(self, *_args: object) -> None:
        self._search_timer.stop()
        filters = self.current_filter()
        if filters is not None and self.session.state == UNLOCKED:
            self.model.set_filter(filters)

    def clear_filters(self) -> None:
        self._reset_filters(edited_at_two_desks=False)
        self.apply_filters()

    def show_edited_at_two_desks(self) -> None:
        """The list with only the cases edited at two desks (every other filter cleared)."""
        self._reset_filters(edited_at_two_desks=True)
        self.apply_filters()

    def _reset_filters(self, edited_at_two_desks: bool) -> None:
        for combo in (
            self.status_filter,
            self.category_filter,
            self.agency_filter,
            self.assignee_filter,
        ):
            combo.setCurrentIndex(0)
        self.destination_filter.select("")
        for line in (self.from_filter, self.to_filter):
            line.clear()
        self.conflict_filter.blockSignals(True)
        self.conflict_filter.setChecked(edited_at_two_desks)
        self.conflict_filter.blockSignals(False)
        self._show_conflict_filter()
        self.search.clear()  # starts the search timer; applying the filters stops it

    # -- pages -------------------------------------------------------------------------
    def open_case(self, case_id: str) -> None:
        if not case_id or self.session.state != UNLOCKED:
            return
        if self.intake.dirty:
            self.intake.save_draft_now()
        self.case_page.open(case_id)
        self.right.setCurrentWidget(self.case_page)
        row = self.model.row_of(case_id)
        if row >= 0:
            self.table.selectRow(row)

    def new_case(self) -> None:
        if self.session.state != UNLOCKED:
            return
        self.intake.start_new()
        self.right.setCurrentWidget(self.intake)

    def edit_case(self, case_id: str) -> None:
        self.intake.edit(case_id)
        self.right.setCurrentWidget(self.intake)

    def show_hint(self) -> None:
        self.right.setCurrentWidget(self.hint)

    def _intake_closed(self) -> None:
        if self.intake.case_id:
            self.open_case(self.intake.case_id)
        else:
            self.show_hint()

    def show_due(self) -> None:
        self.due_list.clear()
        for due in self.session.repo.due_follow_ups(dt.date.today()):
            when = show_date(dt.date.fromisoformat(due["due_on"]), "medium")
            state = _("overdue") if due["overdue"] else _("due today")
            item = QListWidgetItem(
                _("{reference} · {date} ({state}) · {text}").format(
                    reference=due["reference"], date=when, state=state, text=due["text"]
                )
            )
            item.setData(ID_ROLE, due["case_id"])
            self.due_list.addItem(item)
        if self.due_list.count() == 0:
            self.due_list.addItem(_("Nothing is due. Well done."))
        self.right.setCurrentWidget(self.due_page)

    def _extra(self, module: str, name: str) -> QWidget:
        """A page from its own module, made on first use."""
        if name not in self._extras:
            widget_class = getattr(importlib.import_module(module), name)
            widget = widget_class(self.session, self.ctx)
            if hasattr(widget, "open_case"):
                widget.open_case.connect(self.open_case)
            self.right.addWidget(widget)
            self._extras[name] = widget
        return self._extras[name]

    def _fit_panes(self, _index: int) -> None:
        """The agency register and the audit log are wide: they get the whole width."""
        wide = self.right.currentWidget() in self._extras.values()
        total = sum(self.splitter.sizes())
        if wide:
            self.splitter.setSizes([0, total])
        elif self.splitter.sizes()[0] == 0:
            self.splitter.setSizes([total * 9 // 20, total - total * 9 // 20])

    def show_agencies(self) -> None:
        self.right.setCurrentWidget(
            self._extra("mrc_desktop.ui.cases.agency_register", "AgencyRegister")
        )

    def show_audit(self) -> None:
        self.right.setCurrentWidget(self._extra("mrc_desktop.ui.cases.audit_view", "AuditView"))

    def show_users(self) -> None:
        from mrc_desktop.ui.cases.users_dialog import UsersDialog

        dialog = UsersDialog(self.session, self)
        dialog.setModal(True)
        dialog.open()

    # -- refresh -----------------------------------------------------------------------
    def _remind(self) -> None:
        due = self.session.repo.due_follow_ups(dt.date.today())
        overdue = sum(1 for d in due if d["overdue"])
        if not due:
            self.reminder.hide()
            return
        if overdue:
            text = i18n.ngettext(
                "{count} follow-up is due today or overdue ({overdue} overdue).",
                "{count} follow-ups are due today or overdue ({overdue} overdue).",
                len(due),
            )
        else:
            text = i18n.ngettext(
                "{count} follow-up is due today.", "{count} follow-ups are due today.", len(due)
            )
        self.reminder.setText(
            text.format(count=show_number(len(due)), overdue=show_number(overdue))
        )
        self.reminder.show()

    def _cases_changed(self, case_id: str) -> None:
        if self.session.state != UNLOCKED:
            return
        selected = self.case_page.case_id
        self.model.reload()
        row = self.model.row_of(selected) if selected else -1
        if row >= 0:
            self.table.selectRow(row)
        self._remind()
        self._show_conflict_filter()

    def _state_changed(self, state: str) -> None:
        unlocked = state == UNLOCKED
        if unlocked:
            self._fill_agencies()
            self._fill_assignees()
            self._show_user()
            self._remind()
            self._show_conflict_filter()
            self.apply_filters()
            self._resume_draft()
            self.start_daily_backup()
        else:
            self.model.filters = CaseFilter()
            self.search.clear()
            self.reminder.hide()
            self.due_list.clear()
            self.user_label.clear()
            self._refill(self.agency_filter, [(_("All agencies"), "")])
            self._refill(self.assignee_filter, [(_("All counsellors"), "")])
            self.show_hint()

    def _attach_fee_check(self, request: dict[str, Any]) -> None:
        """The fee checker's result becomes a ``fee_check`` entry of the open case."""
        case_id = self.case_page.case_id
        if not case_id or self.session.state != UNLOCKED:
            return
        self.session.repo.add_entry(case_id, "fee_check", {"result": request["result"]})
        request["added_to"] = self.case_page.case.get("reference", "")
        self.session.cases_changed.emit(case_id)

    # -- daily backup ------------------------------------------------------------------
    def start_daily_backup(self) -> None:
        """Once a day, on the first unlock: an encrypted backup on a worker thread.

        The worker opens its own connection, so the list stays usable while it runs."""
        if self._backup_task is not None or self.session.user is None:
            return
        from mrc_desktop.cases.schema import open_case_store
        from mrc_desktop.cases.unlock import ensure_daily_backup

        paths, passphrase = self.session.paths, self.session.passphrase
        user, desk_id = self.session.user, self.session.desk_id
        keep = int(self.ctx.settings.get("backup_keep"))

        def work() -> object:
            db = open_case_store(paths.cases_db, passphrase)
            try:
                return ensure_daily_backup(paths, db, passphrase, keep, user, desk_id)
            finally:
                db.close()

        self.backup_label.setText(_("Making today's backup…"))
        self._backup_task = run_task(work, self._backup_done, self._backup_failed)

    def _backup_done(self, _made: object) -> None:
        from mrc_desktop.storage.backup import list_backups

        found = list_backups(self.session.paths.backups)
        stamp = found[-1].taken_at.astimezone().isoformat() if found else ""
        self._backup_state = ("ok", stamp)
        self._show_backup()

    def _backup_failed(self, exc: BaseException) -> None:
        self._backup_state = ("failed", type(exc).__name__)
        self._show_backup()

    def _show_backup(self) -> None:
        state, detail = self._backup_state
        if state == "ok" and detail:
            when = show_datetime(dt.datetime.fromisoformat(detail), "short")
            self.backup_label.setText(_("Last backup: {when}").format(when=when))
            self.backup_label.setStyleSheet("")
        elif state == "failed":
            self.backup_label.setText(
                _("Today's backup failed ({error}). Check the free space on this computer.").format(
                    error=detail
                )
            )
            self.backup_label.setStyleSheet("color: #a40000;")

    def _resume_draft(self) -> None:
        """A new intake left unsaved (crash, lock, window closed) comes back at once."""
        from mrc_desktop.cases.drafts import load_draft

        assert self.session.db is not None and self.session.user is not None
        if load_draft(self.session.db, self.session.user.id, NEW_FORM) is not None:
            self.new_case()
