"""One case: status and counsellor, a summary, the timeline, referrals, follow-ups, files.

Opening a case reads its personal data through ``repo.open_case``, which records the view
in the audit log. Every step is added through ``cases.workflow`` and announced with
``session.cases_changed``, so the list and this page refresh themselves.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.cases import vocab, workflow
from mrc_desktop.cases.fields import FIELDS
from mrc_desktop.cases.repository import ValidationError
from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.cases.conflict_banner import ConflictBanner
from mrc_desktop.ui.cases.entry_dialogs import StepDialog
from mrc_desktop.ui.cases.field_values import field_value_text
from mrc_desktop.ui.cases.referral_directory import directory_for
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_date, show_datetime
from mrc_desktop.ui.translatable import Translatable

ID_ROLE = Qt.ItemDataRole.UserRole
ENTRY_LABELS = {
    "note": N_("Note"),
    "action": N_("Action taken"),
    "referral": N_("Referred"),
    "referral_update": N_("Referral outcome"),
    "follow_up": N_("Follow-up set"),
    "follow_up_done": N_("Follow-up done"),
    "fee_check": N_("Fee check"),
    "document": N_("File added"),
}


def field_label(name: str) -> str:
    """A case field's label in the interface language (the key is never a msgid)."""
    return _(FIELDS[name].label)


def fee_check_summary(result: dict[str, Any]) -> str:
    """One line for a fee check in the timeline, in the interface language."""
    items = result.get("items") or []
    not_lawful = sum(1 for item in items if item.get("verdict") == "not_lawful")
    total = result.get("total_worker")
    currency = result.get("worker_currency") or ""
    line = i18n.ngettext(
        "{origin} → {destination}: {count} cost checked, {bad} not lawful",
        "{origin} → {destination}: {count} costs checked, {bad} not lawful",
        len(items),
    ).format(
        origin=result.get("origin", ""),
        destination=result.get("destination", ""),
        count=len(items),
        bad=not_lawful,
    )
    if total:
        line += " · " + _("total paid {amount} {currency}").format(amount=total, currency=currency)
    return line


class CasePage(Translatable, QWidget):
    edit_intake = Signal(str)
    closed = Signal()

    def __init__(self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("case_page")
        self.session = session
        self.ctx = ctx
        self.case_id = ""
        self.case: dict[str, Any] = {}
        self._entries: list[dict[str, Any]] = []
        self._users: dict[str, str] = {}
        self._updating = False

        self.banner = ConflictBanner(session, ctx)
        self.heading = QLabel()
        self.heading.setObjectName("case_heading")
        heading_font = self.heading.font()
        heading_font.setPointSizeF(heading_font.pointSizeF() * 1.35)
        heading_font.setBold(True)
        self.heading.setFont(heading_font)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel()
        self.status = QComboBox()
        self.status.setObjectName("case_status")
        self.status.activated.connect(self._status_chosen)
        self.assignee_label = QLabel()
        self.assignee = QComboBox()
        self.assignee.setObjectName("case_assignee")
        self.assignee.activated.connect(self._assignee_chosen)
        self.edit_button = QPushButton()
        self.edit_button.setObjectName("case_edit")
        self.edit_button.clicked.connect(lambda: self.edit_intake.emit(self.case_id))
        self.delete_button = QPushButton()
        self.delete_button.setObjectName("case_delete")
        self.delete_button.clicked.connect(self._delete)
        top = QHBoxLayout()
        top.addWidget(self.status_label)
        top.addWidget(self.status)
        top.addWidget(self.assignee_label)
        top.addWidget(self.assignee)
        top.addStretch(1)
        top.addWidget(self.edit_button)
        top.addWidget(self.delete_button)
        self.summary = QLabel()
        self.summary.setObjectName("case_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel()
        self.message.setObjectName("case_message")
        self.message.setWordWrap(True)

        self.tabs = QTabWidget()
        self.timeline = QListWidget()
        self.timeline.setObjectName("case_timeline")
        self.timeline.setWordWrap(True)
        self.note_button = QPushButton()
        self.note_button.setObjectName("case_add_note")
        self.note_button.clicked.connect(lambda: self.add_note("note"))
        self.action_button = QPushButton()
        self.action_button.setObjectName("case_add_action")
        self.action_button.clicked.connect(lambda: self.add_note("action"))
        self.timeline_tab = self._tab(self.timeline, self.note_button, self.action_button)

        self.referrals = QListWidget()
        self.referrals.setObjectName("case_referrals")
        self.referrals.setWordWrap(True)
        self.refer_button = QPushButton()
        self.refer_button.setObjectName("case_refer")
        self.refer_button.clicked.connect(self.refer)
        self.outcome_button = QPushButton()
        self.outcome_button.setObjectName("case_outcome")
        self.outcome_button.clicked.connect(self.record_outcome)
        self.referrals_tab = self._tab(self.referrals, self.refer_button, self.outcome_button)

        self.follow_ups = QListWidget()
        self.follow_ups.setObjectName("case_follow_ups")
        self.follow_ups.setWordWrap(True)
        self.follow_up_button = QPushButton()
        self.follow_up_button.setObjectName("case_set_follow_up")
        self.follow_up_button.clicked.connect(self.set_follow_up)
        self.done_button = QPushButton()
        self.done_button.setObjectName("case_follow_up_done")
        self.done_button.clicked.connect(self.complete_follow_up)
        self.follow_ups_tab = self._tab(self.follow_ups, self.follow_up_button, self.done_button)

        self.tabs.addTab(self.timeline_tab, "")
        self.tabs.addTab(self.referrals_tab, "")
        self.tabs.addTab(self.follow_ups_tab, "")
        self.attachments: Any = None
        try:  # the attachments panel is its own module; the page works without it
            panel_module = importlib.import_module("mrc_desktop.ui.cases.attachments_panel")
        except ImportError:
            panel_module = None
        if panel_module is not None:
            self.attachments = panel_module.AttachmentsPanel(session, ctx)
            self.tabs.addTab(self.attachments, "")

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs, 1)
        session.state_changed.connect(self._state_changed)
        session.cases_changed.connect(self._case_changed)
        self.retranslate()

    def _tab(self, view: QWidget, *buttons: QPushButton) -> QWidget:
        tab = QWidget()
        row = QHBoxLayout()
        for button in buttons:
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(tab)
        layout.addLayout(row)
        layout.addWidget(view, 1)
        return tab

    def retranslate(self) -> None:
        self.status_label.setText(_("Status"))
        self.assignee_label.setText(_("Counsellor"))
        self.edit_button.setText(_("&Edit intake"))
        self.delete_button.setText(_("Delete case"))
        self.note_button.setText(_("Add &note"))
        self.action_button.setText(_("Record &action"))
        self.refer_button.setText(_("&Refer…"))
        self.outcome_button.setText(_("Record &outcome…"))
        self.follow_up_button.setText(_("Set &follow-up…"))
        self.done_button.setText(_("Mark follow-up &done"))
        self.tabs.setTabText(0, _("Timeline"))
        self.tabs.setTabText(1, _("Referrals"))
        self.tabs.setTabText(2, _("Follow-ups"))
        if self.attachments is not None:
            self.tabs.setTabText(3, _("Files"))
        self.status.setAccessibleName(_("Status"))
        self.assignee.setAccessibleName(_("Counsellor"))
        if self.case_id:
            self._show()

    # -- opening -------------------------------------------------------------------
    def open(self, case_id: str) -> None:
        self.case_id = case_id
        self.case = self.session.repo.open_case(case_id)
        self._users = {
            row[0]: row[1]
            for row in self.session.db.execute("select id, display_name from users")  # type: ignore[union-attr]
        }
        self.message.clear()
        self._show()
        if self.attachments is not None:
            self.attachments.set_case(case_id)

    def _reload(self) -> None:
        self.case = self.session.repo.open_case_header(self.case_id)
        self._show()

    def _show(self) -> None:
        repo = self.session.repo
        case = self.case
        self._updating = True
        self.heading.setText(
            _("{reference} — {name}").format(
                reference=case["reference"], name=case["person_name"] or _("(no name)")
            )
        )
        self.status.clear()
        for key, label in vocab.STATUSES.items():
            self.status.addItem(_(label), key)
        self.status.setCurrentIndex(self.status.findData(case["status"]))
        self.assignee.clear()
        self.assignee.addItem(_("Nobody yet"), "")
        assert self.session.db is not None
        for username, display in self.session.db.execute(
            "select username, display_name from users where disabled = 0 order by display_name"
        ):
            self.assignee.addItem(display, username)
        index = self.assignee.findData(case["assignee"])
        if index < 0 and case["assignee"]:
            self.assignee.addItem(case["assignee"], case["assignee"])
            index = self.assignee.count() - 1
        self.assignee.setCurrentIndex(max(index, 0))
        user = self.session.user
        self.delete_button.setVisible(bool(user and user.can("delete_case")))
        self._updating = False
        self.summary.setText(self._summary_html(case))
        self.banner.show_case(self.case_id)
        self._entries = repo.entries(self.case_id)
        self._fill_timeline()
        self._fill_referrals()
        self._fill_follow_ups()

    def _summary_html(self, case: dict[str, Any]) -> str:
        db = self.session.db
        rows = []

        def add(label: str, value: str) -> None:
            if value:
                rows.append(f"<b>{html.escape(label)}</b>: {html.escape(value)}")

        for name in ("destination_country", "sector", "agency_id"):
            add(field_label(name), field_value_text(db, name, case.get(name)))
        add(_("Grievance categories"), field_value_text(db, "categories", case["categories"]))
        add(
            _("ILO indicators of forced labour seen"),
            field_value_text(db, "forced_labour", case["forced_labour"]),
        )
        add(
            field_label("retaliation_risk"),
            field_value_text(db, "retaliation_risk", case.get("retaliation_risk")),
        )
        add(_("Consent given for"), field_value_text(db, "consent", case["consent"]))
        return "<br>".join(rows)

    def _when(self, stamp: str) -> str:
        return show_datetime(dt.datetime.fromisoformat(stamp).astimezone(), "short")

    def _fill_timeline(self) -> None:
        self.timeline.clear()
        for entry in reversed(self._entries):
            payload = entry["payload"]
            text = self._entry_text(entry["kind"], payload)
            line = _("{when} · {what} · {who}").format(
                when=self._when(entry["created_at"]),
                what=_(ENTRY_LABELS.get(entry["kind"], entry["kind"])),
                who=self._users.get(entry["author"], "?"),
            )
            item = QListWidgetItem(f"{line}\n{text}" if text else line)
            item.setData(ID_ROLE, entry["id"])
            self.timeline.addItem(item)

    def _entry_text(self, kind: str, payload: dict[str, Any]) -> str:
        if kind == "referral":
            return _("To {organisation} ({kind}) on {date}: {reason}").format(
                organisation=payload.get("org_name", ""),
                kind=_(vocab.ORG_KINDS.get(payload.get("org_kind", ""), "")),
                date=payload.get("sent_on", ""),
                reason=payload.get("text", ""),
            )
        if kind == "referral_update":
            outcome = _(vocab.REFERRAL_OUTCOMES.get(payload.get("outcome", ""), ""))
            return f"{outcome}: {payload.get('text', '')}".rstrip(": ")
        if kind == "follow_up":
            return _("Due {date}: {text}").format(
                date=payload.get("due_on", ""), text=payload.get("text", "")
            )
        if kind == "document":
            return str(payload.get("name", ""))
        if kind == "fee_check":
            return fee_check_summary(payload.get("result") or {})
        return str(payload.get("text", ""))

    def _fill_referrals(self) -> None:
        self.referrals.clear()
        for referral in workflow.referrals(self.session.repo, self.case_id):
            outcome = (referral["outcome"] or {}).get("outcome", "")
            label = vocab.REFERRAL_OUTCOMES.get(outcome)
            state = _(label) if label else _("waiting for an answer")
            item = QListWidgetItem(
                _("{organisation} — sent {date} — {state}").format(
                    organisation=referral["org_name"], date=referral["sent_on"], state=state
                )
            )
            item.setData(ID_ROLE, referral["id"])
            self.referrals.addItem(item)
        self.outcome_button.setEnabled(self.referrals.count() > 0)

    def _fill_follow_ups(self) -> None:
        self.follow_ups.clear()
        today = dt.date.today().isoformat()
        for follow_up in workflow.follow_ups(self.session.repo, self.case_id):
            if follow_up.done:
                state = _("done")
            elif follow_up.due_on < today:
                state = _("overdue")
            elif follow_up.due_on == today:
                state = _("due today")
            else:
                state = _("open")
            item = QListWidgetItem(
                _("{date} — {text} ({state})").format(
                    date=show_date(dt.date.fromisoformat(follow_up.due_on), "medium"),
                    text=follow_up.text,
                    state=state,
                )
            )
            item.setData(ID_ROLE, follow_up.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, follow_up.done)
            self.follow_ups.addItem(item)

    # -- header changes ---------------------------------------------------------------
    def _status_chosen(self, _index: int) -> None:
        self._change("status", self.status.currentData())

    def _assignee_chosen(self, _index: int) -> None:
        self._change("assignee", self.assignee.currentData() or "")

    def _change(self, name: str, value: str) -> None:
        if self._updating or not self.case_id:
            return
        try:
            self.session.repo.update_case(self.case_id, {name: value})
        except ValidationError as exc:
            self.message.setText(_(next(iter(exc.problems.values()))))
            return
        self.session.cases_changed.emit(self.case_id)

    def _delete(self) -> None:
        answer = QMessageBox.question(
            self,
            _("Delete case"),
            _(
                "Delete case {reference}? It disappears from the list; the audit log keeps a "
                "record that you deleted it."
            ).format(reference=self.case["reference"]),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.session.repo.delete_case(self.case_id)
        self.session.cases_changed.emit(self.case_id)
        self.clear()
        self.closed.emit()

    # -- workflow steps -----------------------------------------------------------
    def _step_done(self) -> None:
        self.session.cases_changed.emit(self.case_id)

    def add_note(self, kind: str) -> StepDialog:
        title = _("Add a note") if kind == "note" else _("Record an action taken")
        dialog = StepDialog(
            title,
            lambda v: workflow.add_note(self.session.repo, self.case_id, v["text"], kind),
            self,
        )
        dialog.add_text("text", _("Text"), lines=6)
        return self._run(dialog)

    def refer(self) -> StepDialog:
        dialog = StepDialog(
            _("Refer the case"),
            lambda v: workflow.refer(
                self.session.repo,
                self.case_id,
                v["org_kind"],
                v["org_name"],
                v["sent_on"],
                v["reason"],
                v["contact"],
            ),
            self,
        )
        kinds = dialog.add_choice(
            "org_kind", _("Kind of organisation"), {k: _(v) for k, v in vocab.ORG_KINDS.items()}
        )
        countries = [
            self.case.get(k, "") for k in ("destination_country", "origin_country", "nationality")
        ]
        directory = directory_for([c for c in countries if c])
        names = dialog.add_choice("org_name", _("Organisation"), {}, editable=True)
        contact = QLineEdit()
        dialog.add_row("contact", _("Contact"), contact)

        def fill(_index: int = 0) -> None:
            names.clear()
            for org in directory:
                if org.kind == kinds.currentData():
                    names.addItem(org.name, org.name)
            names.setCurrentIndex(-1 if names.count() == 0 else 0)
            if names.count() == 0:
                names.setEditText("")

        def show_contact(_index: int) -> None:
            found = next((o for o in directory if o.name == names.currentText()), None)
            if found is not None:
                contact.setText(found.contact)

        kinds.currentIndexChanged.connect(fill)
        names.currentIndexChanged.connect(show_contact)
        fill()
        dialog.add_date("sent_on", _("Sent on"))
        dialog.add_text("reason", _("What is asked of them"), lines=3)
        hint = QLabel(
            _("Organisations from the country data are listed; type another name if needed.")
        )
        hint.setWordWrap(True)
        dialog.form.addRow(hint)
        return self._run(dialog)

    def record_outcome(self) -> StepDialog | None:
        item = self.referrals.currentItem() or self.referrals.item(0)
        if item is None:
            return None
        referral_id = item.data(ID_ROLE)
        dialog = StepDialog(
            _("Record the outcome of a referral"),
            lambda v: workflow.record_outcome(
                self.session.repo, self.case_id, referral_id, v["outcome"], v["on"], v["text"]
            ),
            self,
        )
        dialog.add_choice(
            "outcome", _("Outcome"), {k: _(v) for k, v in vocab.REFERRAL_OUTCOMES.items()}
        )
        dialog.add_date("on", _("Date"))
        dialog.add_text("text", _("Details"), lines=3)
        return self._run(dialog)

    def set_follow_up(self) -> StepDialog:
        dialog = StepDialog(
            _("Set a follow-up"),
            lambda v: workflow.set_follow_up(
                self.session.repo, self.case_id, v["due_on"], v["text"]
            ),
            self,
        )
        dialog.add_date("due_on", _("Due on"), dt.date.today() + dt.timedelta(days=7))
        dialog.add_text("text", _("What to do"), lines=3)
        return self._run(dialog)

    def complete_follow_up(self) -> None:
        item = self.follow_ups.currentItem()
        if item is None or item.data(Qt.ItemDataRole.UserRole + 1):
            self.message.setText(_("Choose an open follow-up first."))
            return
        try:
            workflow.complete_follow_up(self.session.repo, self.case_id, item.data(ID_ROLE))
        except ValidationError as exc:
            self.message.setText(_(next(iter(exc.problems.values()))))
            return
        self._step_done()

    def _run(self, dialog: StepDialog) -> StepDialog:
        """Show the dialog (tests drive it through ``dialog.open()`` instead)."""
        dialog.accepted.connect(self._step_done)
        dialog.open()
        return dialog

    # -- refresh and lock ------------------------------------------------------------
    def _case_changed(self, case_id: str) -> None:
        if self.case_id and case_id in (self.case_id, "") and self.session.state == UNLOCKED:
            try:
                self._reload()
            except KeyError:  # deleted meanwhile
                self.clear()
                self.closed.emit()

    def clear(self) -> None:
        self.case_id = ""
        self.case = {}
        self._entries = []
        self.heading.clear()
        self.summary.clear()
        self.message.clear()
        self.timeline.clear()
        self.referrals.clear()
        self.follow_ups.clear()
        self.status.clear()
        self.assignee.clear()
        self.banner.clear()
        if self.attachments is not None:
            self.attachments.set_case("")

    def _state_changed(self, state: str) -> None:
        if state != UNLOCKED:
            self.clear()
