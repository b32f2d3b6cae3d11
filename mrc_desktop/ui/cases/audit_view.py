"""The audit log for supervisors and administrators: who did what, to which case, when.

Rows load lazily, 500 at a time, newest first (``CaseRepository.audit_page``). A change
row holds the old and new value of the field, and for personal fields those values are
personal data: supervisors may see them, but the view empties itself as soon as the case
log locks. Opening this view is not itself audited; counsellors only get a one-line note.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QDateTime,
    QLocale,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.cases import agencies, vocab
from mrc_desktop.cases.fields import FIELDS, label_of
from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.cases.agency_register import FIELD_LABELS as AGENCY_FIELD_LABELS
from mrc_desktop.ui.cases.agency_register import typed
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.row_table_model import Index, PagedRowTableModel, row_table_view

PAGE = 500
FILTER_DELAY_MS = 300
SHOWN_VALUE = 200  # characters of an old/new value shown in the cell (all in the tooltip)
TOOLTIP_VALUE = 2000
CASE_ID_ROLE = Qt.ItemDataRole.UserRole

# What each audited action is called; an action missing here is shown as stored.
ACTIONS = {
    "create": N_("Created"),
    "import": N_("Imported"),
    "change": N_("Changed"),
    "view": N_("Viewed personal data"),
    "export": N_("Exported"),
    "delete": N_("Deleted"),
    "login": N_("Logged in"),
    "lock": N_("Locked"),
    "backup": N_("Backup made"),
    "restore": N_("Backup restored"),
    "add_note": N_("Added a note"),
    "add_action": N_("Added an action"),
    "add_referral": N_("Referred"),
    "add_referral_update": N_("Updated a referral"),
    "add_follow_up": N_("Set a follow-up"),
    "add_follow_up_done": N_("Follow-up done"),
    "add_fee_check": N_("Added a fee check"),
    "add_document": N_("Added a document"),
    "view_attachment": N_("Viewed an attachment"),
    "add_user": N_("Added a user"),
    "add_agency": N_("Added an agency"),
    "change_agency": N_("Changed an agency"),
    # TRANSLATORS: a field had two values from two desks; the user kept the one shown.
    "keep_value": N_("Kept a value edited at two desks"),
}
AGENCY_ACTIONS = (agencies.ADD, agencies.CHANGE)
COLUMNS = (
    ("at", N_("When")),
    ("user", N_("Who")),
    ("action", N_("Action")),
    ("subject", N_("Case or agency")),
    ("field", N_("Field")),
    # TRANSLATORS: audit log column; in a right-to-left language use ← (old ← new).
    ("change", N_("Old → new")),
)
OTHER_FIELDS = {"username": N_("User name")}


def action_label(action: str) -> str:
    return _(ACTIONS[action]) if action in ACTIONS else action


def _when(stamp: str) -> QDateTime | None:
    try:
        parsed = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return QDateTime.fromMSecsSinceEpoch(int(parsed.timestamp() * 1000))  # local time


class AuditModel(PagedRowTableModel):
    """The audit log as a table; pages of rows are read as the view scrolls."""

    columns = COLUMNS
    page_size = PAGE

    def __init__(self, session: CaseSession) -> None:
        super().__init__()
        self.session = session
        self.action = ""
        self.reference = ""

    # -- loading -----------------------------------------------------------------------
    def allowed(self) -> bool:
        user = self.session.user
        return self.session.state == UNLOCKED and user is not None and user.can("see_audit")

    def can_load(self) -> bool:
        return self.allowed()

    def reload(self) -> None:
        self.load_first()

    def set_filter(self, action: str = "", reference: str = "") -> None:
        self.action, self.reference = action, reference.strip()
        self.reload()

    def page(self, offset: int) -> list[dict[str, Any]]:
        return self.session.repo.audit_page(
            offset, PAGE, action=self.action or None, reference=self.reference
        )

    # -- model -------------------------------------------------------------------------
    def display(self, key: str, row: dict[str, Any]) -> Any:
        return self._display(key, row)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == CASE_ID_ROLE and index.isValid() and 0 <= index.row() < len(self._rows):
            row = self._rows[index.row()]
            return row["case_id"] if row.get("reference") else None
        return super().data(index, role)

    def cell(self, key: str, row: dict[str, Any], role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "at":
                when = _when(row["at"])
                return QLocale().toString(when, QLocale.FormatType.LongFormat) if when else None
            if key == "change":
                return self._change(row, TOOLTIP_VALUE) or None
        return None

    def case_id(self, row: int) -> str:
        """The case a row is about ("" for log-ins, agencies, users…)."""
        if 0 <= row < len(self._rows) and self._rows[row].get("reference"):
            return str(self._rows[row]["case_id"])
        return ""

    # -- display -----------------------------------------------------------------------
    def _display(self, key: str, row: dict[str, Any]) -> str:
        if key == "at":
            when = _when(row["at"])
            return QLocale().toString(when, QLocale.FormatType.ShortFormat) if when else row["at"]
        if key == "user":
            return typed(str(row.get("user_name") or row["user_id"]))
        if key == "action":
            return action_label(row["action"])
        if key == "subject":
            return typed(str(row.get("reference") or row.get("agency_name") or ""))
        if key == "field":
            return self._field_label(row)
        if key == "change":
            return self._change(row, SHOWN_VALUE)
        return ""

    @staticmethod
    def _field_label(row: dict[str, Any]) -> str:
        name = row.get("field") or ""
        if not name:
            return ""
        if row["action"] in AGENCY_ACTIONS and name in AGENCY_FIELD_LABELS:
            return _(AGENCY_FIELD_LABELS[name])
        if name in OTHER_FIELDS:
            return _(OTHER_FIELDS[name])
        label = label_of(name)
        return _(label) if label != name else name

    @staticmethod
    def _value(row: dict[str, Any], value: str | None, limit: int) -> str:
        if value is None or value == "":
            # TRANSLATORS: in the audit log, a field that had (or was given) no value.
            return _("(empty)")
        name = row.get("field") or ""
        if row["action"] in AGENCY_ACTIONS:
            choices = vocab.LICENCE_STATUS if name == "licence_status" else None
        elif name == "status":
            choices = vocab.STATUSES
        else:
            choices = FIELDS[name].choices if name in FIELDS else None
        if choices and value in choices:
            return _(choices[value])
        return typed(value if len(value) <= limit else value[: limit - 1] + "…")

    def _change(self, row: dict[str, Any], limit: int) -> str:
        old, new = row.get("old_value"), row.get("new_value")
        if old is None and new is None:
            return ""
        if old is None:
            return self._value(row, new, limit)
        # TRANSLATORS: a changed value in the audit log: the value before, then after.
        # In a right-to-left language use ← so the arrow points from old to new.
        return _("{old} → {new}").format(
            old=self._value(row, old, limit), new=self._value(row, new, limit)
        )


class AuditView(Translatable, QWidget):
    """The audit log screen: a filterable table, or a note for those who may not see it."""

    open_case = Signal(str)  # case id of an activated row

    def __init__(
        self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("audit_view")
        self.session = session
        self.ctx = ctx
        self._stale = False
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.message = QLabel()
        self.message.setObjectName("audit_message")
        self.message.setWordWrap(True)
        self.action = QComboBox()
        self.action.setObjectName("audit_action")
        self.action.addItem("", "")
        for key in ACTIONS:
            self.action.addItem("", key)
        self.action.currentIndexChanged.connect(self.apply_filters)
        self.reference = QLineEdit()
        self.reference.setObjectName("audit_reference")
        self.reference.setClearButtonEnabled(True)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filters)
        self.reference.textChanged.connect(self._filter_timer.start)
        self.refresh_button = QPushButton()
        self.refresh_button.setObjectName("audit_refresh")
        self.refresh_button.clicked.connect(self.reload)
        self.action_label, self.reference_label = QLabel(), QLabel()
        self.action_label.setBuddy(self.action)
        self.reference_label.setBuddy(self.reference)
        filters = QHBoxLayout()
        filters.addWidget(self.action_label)
        filters.addWidget(self.action)
        filters.addWidget(self.reference_label)
        filters.addWidget(self.reference, 1)
        filters.addWidget(self.refresh_button)
        self.model = AuditModel(session)
        self.table = row_table_view(self.model, "audit_table")
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.activated.connect(self._activated)
        self.body = QWidget()
        body_layout = QVBoxLayout(self.body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addLayout(filters)
        body_layout.addWidget(self.table, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.message)
        layout.addWidget(self.body, 1)
        session.state_changed.connect(self._state_changed)
        session.cases_changed.connect(self._changed)
        session.agencies_changed.connect(self._changed)
        self.retranslate()
        self._state_changed(session.state)

    def retranslate(self) -> None:
        self.heading.setText(_("Audit log"))
        self.action_label.setText(_("&Action:"))
        self.reference_label.setText(_("Case &reference:"))
        self.reference.setPlaceholderText(_("Part of a case reference"))
        self.refresh_button.setText(_("&Refresh"))
        self.action.setItemText(0, _("All actions"))
        for row in range(1, self.action.count()):
            self.action.setItemText(row, action_label(self.action.itemData(row)))
        self._show_message()
        self.model.retranslate()

    # -- state -------------------------------------------------------------------------
    def _show_message(self) -> None:
        if self.session.state != UNLOCKED:
            text = _("The case log is locked. Log in to see the audit log.")
        elif not self.model.allowed():
            text = _("Only supervisors and administrators can see the audit log.")
        else:
            text = ""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.body.setVisible(not text)

    def _state_changed(self, state: str) -> None:
        if state == UNLOCKED and self.model.allowed():
            self.model.reload()
            self._stale = False
        else:
            self.model.clear()
        self._show_message()

    def _changed(self, *_args: object) -> None:
        # New audit rows: read them when the view is next shown (not while it is hidden).
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.reload()

    def reload(self) -> None:
        self._stale = False
        if self.model.allowed():
            self.model.reload()
        else:
            self.model.clear()
        self._show_message()

    def apply_filters(self) -> None:
        self._filter_timer.stop()
        self._stale = False
        if not self.model.allowed():
            self.model.clear()
            return
        self.model.set_filter(str(self.action.currentData() or ""), self.reference.text())

    def _activated(self, index: QModelIndex) -> None:
        case_id = self.model.case_id(index.row())
        if case_id:
            self.open_case.emit(case_id)
