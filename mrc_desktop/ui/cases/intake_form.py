"""The intake form: a worker's details and grievance, checked field by field, never lost.

Every change is written as an encrypted draft a moment later, before the desk locks and
when the window closes; the draft comes back the next time the same form is opened and
is deleted when the case is saved.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.cases import drafts, vocab
from mrc_desktop.cases.fields import (
    CATEGORIES_LABEL,
    CONSENT_LABEL,
    FIELDS,
    FORCED_LABOUR_LABEL,
    NARRATIVE,
    SECTIONS,
    Field,
)
from mrc_desktop.cases.repository import ValidationError
from mrc_desktop.cases.validation import validate_case
from mrc_desktop.i18n import _
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_date, show_datetime
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import error_label, with_message
from mrc_desktop.ui.widgets.pickers import CountryPicker

NEW_FORM = "intake:new"
DRAFT_DELAY_MS = 800


class IntakeForm(Translatable, QWidget):
    saved = Signal(str)  # case id
    open_case = Signal(str)  # a possible duplicate was chosen
    cancelled = Signal()

    def __init__(self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("intake_form")
        self.session = session
        self.ctx = ctx
        self.case_id = ""
        self._loaded: dict[str, Any] = {}
        self._consent: dict[str, dict[str, Any]] = {}
        self._loading = False
        self.dirty = False
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(DRAFT_DELAY_MS)
        self._draft_timer.timeout.connect(self.save_draft_now)

        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.recovered = QLabel()
        self.recovered.setObjectName("intake_recovered")
        self.recovered.setWordWrap(True)
        self.recovered.hide()
        self.duplicates = QLabel()
        self.duplicates.setObjectName("intake_duplicates")
        self.duplicates.setWordWrap(True)
        self.duplicates.setTextFormat(Qt.TextFormat.RichText)
        self.duplicates.linkActivated.connect(self.open_case.emit)
        self.duplicates.hide()

        body = QWidget()
        body_layout = QVBoxLayout(body)
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.labels: dict[str, QLabel] = {}
        self.boxes: list[tuple[QGroupBox, str]] = []
        for section in SECTIONS:
            box = QGroupBox()
            form = QFormLayout(box)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            for field in section.fields:
                label = QLabel()
                self.labels[field.name] = label
                form.addRow(label, self._field_cell(field))
            self.boxes.append((box, section.title))
            body_layout.addWidget(box)

        self.categories_box = QGroupBox()
        self.categories = QListWidget()
        self.categories.setObjectName("intake_categories")
        for key in vocab.CATEGORIES:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.categories.addItem(item)
        self.categories.setMinimumHeight(220)
        self.categories.itemChanged.connect(self._changed)
        self.errors["categories"] = error_label()
        categories_layout = QVBoxLayout(self.categories_box)
        categories_layout.addWidget(self.categories)
        categories_layout.addWidget(self.errors["categories"])
        body_layout.addWidget(self.categories_box)

        self.indicators_box = QGroupBox()
        self.indicators: dict[str, QCheckBox] = {}
        grid = QGridLayout(self.indicators_box)
        for number, key in enumerate(vocab.FORCED_LABOUR_INDICATORS):
            check = QCheckBox()
            check.setObjectName(f"indicator_{key}")
            check.toggled.connect(self._changed)
            self.indicators[key] = check
            grid.addWidget(check, number // 2, number % 2)
        body_layout.addWidget(self.indicators_box)

        self.narrative_box = QGroupBox()
        self.narrative = QPlainTextEdit()
        self.narrative.setObjectName("intake_narrative")
        self.narrative.setMinimumHeight(140)
        self.narrative.textChanged.connect(self._changed)
        self.narrative_hint = QLabel()
        self.narrative_hint.setWordWrap(True)
        self.errors["narrative"] = error_label()
        self.inputs["narrative"] = self.narrative
        narrative_layout = QVBoxLayout(self.narrative_box)
        narrative_layout.addWidget(self.narrative_hint)
        narrative_layout.addWidget(self.narrative)
        narrative_layout.addWidget(self.errors["narrative"])
        body_layout.addWidget(self.narrative_box)

        self.consent_box = QGroupBox()
        self.consent_hint = QLabel()
        self.consent_hint.setWordWrap(True)
        self.consent_checks: dict[str, QCheckBox] = {}
        self.consent_notes: dict[str, QLabel] = {}
        consent_layout = QGridLayout(self.consent_box)
        consent_layout.addWidget(self.consent_hint, 0, 0, 1, 2)
        for row, key in enumerate(vocab.CONSENT_PURPOSES, start=1):
            check = QCheckBox()
            check.setObjectName(f"consent_{key}")
            check.toggled.connect(lambda on, k=key: self._consent_toggled(k, on))
            note = QLabel()
            note.setObjectName(f"consent_note_{key}")
            self.consent_checks[key] = check
            self.consent_notes[key] = note
            consent_layout.addWidget(check, row, 0)
            consent_layout.addWidget(note, row, 1)
        body_layout.addWidget(self.consent_box)
        body_layout.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.message = QLabel()
        self.message.setObjectName("intake_message")
        self.message.setWordWrap(True)
        self.save_button = QPushButton()
        self.save_button.setObjectName("intake_save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("intake_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.recovered)
        layout.addWidget(self.duplicates)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

        session.about_to_lock.connect(self.save_draft_now)
        session.state_changed.connect(self._state_changed)
        session.agencies_changed.connect(self._load_agencies)
        self.retranslate()

    # -- building ------------------------------------------------------------------
    def _field_cell(self, field: Field) -> QWidget:
        widget: QWidget
        if field.kind == "choice" or field.kind == "agency":
            combo = QComboBox()
            combo.currentIndexChanged.connect(self._changed)
            combo.activated.connect(lambda _i, n=field.name: self.check_field(n))
            widget = combo
        elif field.kind == "country":
            picker = CountryPicker()
            picker.currentIndexChanged.connect(self._changed)
            picker.activated.connect(lambda _i, n=field.name: self.check_field(n))
            widget = picker
        else:
            line = QLineEdit()
            line.textEdited.connect(self._changed)
            line.editingFinished.connect(lambda n=field.name: self.check_field(n))
            widget = line
        widget.setObjectName(f"intake_{field.name}")
        self.inputs[field.name] = widget
        error = error_label(f"intake_error_{field.name}")
        self.errors[field.name] = error
        return with_message(widget, error)

    def retranslate(self) -> None:
        self._loading, was_loading = True, self._loading
        self._update_heading()
        for box, title in self.boxes:
            box.setTitle(_(title))
        for name, label in self.labels.items():
            field = FIELDS[name]
            label.setText(_(field.label))
            label.setBuddy(self.inputs[name])
            widget = self.inputs[name]
            widget.setAccessibleName(_(field.label))
            if isinstance(widget, QLineEdit):
                widget.setPlaceholderText(_(field.hint) if field.hint else "")
            elif isinstance(widget, QComboBox) and field.kind == "choice":
                self._fill_choices(widget, field)
        self._load_agencies()
        self.categories_box.setTitle(_(CATEGORIES_LABEL))
        for row in range(self.categories.count()):
            item = self.categories.item(row)
            item.setText(_(vocab.CATEGORIES[item.data(Qt.ItemDataRole.UserRole)]))
        self.indicators_box.setTitle(_(FORCED_LABOUR_LABEL))
        for key, check in self.indicators.items():
            check.setText(_(vocab.FORCED_LABOUR_INDICATORS[key]))
        self.narrative_box.setTitle(_(NARRATIVE.label))
        self.narrative_hint.setText(_(NARRATIVE.hint))
        self.narrative.setAccessibleName(_(NARRATIVE.label))
        self.consent_box.setTitle(_(CONSENT_LABEL))
        self.consent_hint.setText(
            _(
                "Ask for each purpose separately. The worker can say no to any of them "
                "and still get help here."
            )
        )
        for key, check in self.consent_checks.items():
            check.setText(_(vocab.CONSENT_PURPOSES[key]))
        self._show_consent_notes()
        self.save_button.setText(_("&Save case"))
        self.cancel_button.setText(_("Close without saving"))
        self._loading = was_loading

    def _update_heading(self) -> None:
        reference = self._loaded.get("reference", "")
        self.heading.setText(
            _("Intake: {reference}").format(reference=reference) if reference else _("New case")
        )

    def _fill_choices(self, combo: QComboBox, field: Field) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(_("Not recorded"), "")
        for key, label in (field.choices or {}).items():
            combo.addItem(_(label), key)
        combo.setCurrentIndex(max(combo.findData(current), 0) if current else 0)
        combo.blockSignals(False)

    def _load_agencies(self) -> None:
        combo = self.inputs["agency_id"]
        assert isinstance(combo, QComboBox)
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(_("No agency, or not known"), "")
        if self.session.db is not None:
            for agency_id, name, licence in self.session.db.execute(
                "select id, name, licence_no from agencies where deleted = 0 order by name"
            ):
                label = _("{name} (licence {licence})").format(name=name, licence=licence)
                combo.addItem(label if licence else name, agency_id)
        combo.setCurrentIndex(max(combo.findData(current), 0) if current else 0)
        combo.blockSignals(False)

    # -- values --------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The form's contents in the repository's shape."""
        result: dict[str, Any] = {}
        for name, widget in self.inputs.items():
            if isinstance(widget, CountryPicker):
                result[name] = widget.current_code()
            elif isinstance(widget, QComboBox):
                result[name] = widget.currentData() or ""
            elif isinstance(widget, QLineEdit):
                result[name] = widget.text()
            elif isinstance(widget, QPlainTextEdit):
                result[name] = widget.toPlainText()
        result["agency_id"] = result.get("agency_id") or None
        result["categories"] = [
            self.categories.item(r).data(Qt.ItemDataRole.UserRole)
            for r in range(self.categories.count())
            if self.categories.item(r).checkState() == Qt.CheckState.Checked
        ]
        result["forced_labour"] = [k for k, c in self.indicators.items() if c.isChecked()]
        result["consent"] = {k: dict(v) for k, v in self._consent.items()}
        return result

    def set_values(self, values: dict[str, Any]) -> None:
        self._loading = True
        try:
            for name, widget in self.inputs.items():
                value = values.get(name) or ""
                if isinstance(widget, CountryPicker):
                    widget.select(str(value))
                elif isinstance(widget, QComboBox):
                    widget.setCurrentIndex(max(widget.findData(value), 0) if value else 0)
                elif isinstance(widget, QLineEdit):
                    widget.setText(str(value))
                elif isinstance(widget, QPlainTextEdit):
                    widget.setPlainText(str(value))
            chosen = set(values.get("categories") or ())
            for r in range(self.categories.count()):
                item = self.categories.item(r)
                checked = item.data(Qt.ItemDataRole.UserRole) in chosen
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            indicators = set(values.get("forced_labour") or ())
            for key, check in self.indicators.items():
                check.setChecked(key in indicators)
            consent = values.get("consent") or {}
            self._consent = {
                k: dict(v) for k, v in consent.items() if k in vocab.CONSENT_PURPOSES and v
            }
            for key, check in self.consent_checks.items():
                check.setChecked(bool(self._consent.get(key, {}).get("given")))
            self._show_consent_notes()
            for error in self.errors.values():
                error.hide()
        finally:
            self._loading = False

    def _consent_toggled(self, key: str, on: bool) -> None:
        if self._loading:
            return
        user = self.session.user
        self._consent[key] = {
            "given": on,
            "on": dt.date.today().isoformat(),
            "by": user.username if user else "",
        }
        self._show_consent_notes()
        self._changed()

    def _show_consent_notes(self) -> None:
        for key, note in self.consent_notes.items():
            record = self._consent.get(key)
            if not record:
                note.setText(_("Not asked yet"))
                continue
            day = show_date(dt.date.fromisoformat(record["on"]), "medium")
            text = (
                _("Given on {date}, recorded by {user}")
                if record.get("given")
                else _("Refused or withdrawn on {date}, recorded by {user}")
            )
            note.setText(text.format(date=day, user=record.get("by", "")))

    # -- opening -------------------------------------------------------------------
    @property
    def form_key(self) -> str:
        return f"intake:{self.case_id}" if self.case_id else NEW_FORM

    def start_new(self) -> None:
        self._open("", {})

    def edit(self, case_id: str) -> None:
        self._open(case_id, self.session.repo.open_case(case_id))

    def _open(self, case_id: str, row: dict[str, Any]) -> None:
        self._draft_timer.stop()
        self.case_id = case_id
        self._loaded = dict(row)
        for name in ("categories", "forced_labour", "consent"):
            if isinstance(self._loaded.get(name), str):
                self._loaded[name] = json.loads(self._loaded[name])
        self._load_agencies()
        draft = None
        if self.session.db is not None and self.session.user is not None:
            draft = drafts.load_draft(self.session.db, self.session.user.id, self.form_key)
        self.set_values(draft.payload if draft else self._loaded)
        self.dirty = draft is not None
        if draft is not None:
            saved = dt.datetime.fromisoformat(draft.saved_at).astimezone()
            self.recovered.setText(
                _(
                    "Recovered what was typed on {when} but not saved. Check it, then save, "
                    "or close without saving to drop it."
                ).format(when=show_datetime(saved, "short"))
            )
        self.recovered.setVisible(draft is not None)
        self.duplicates.hide()
        self.message.clear()
        self._update_heading()
        name_input = self.inputs["person_name"]
        name_input.setFocus()

    # -- changes, checks, drafts ----------------------------------------------------
    def _changed(self, *_args: object) -> None:
        if self._loading:
            return
        self.dirty = True
        self._draft_timer.start()

    def save_draft_now(self) -> None:
        self._draft_timer.stop()
        if not self.dirty or self.session.db is None or self.session.user is None:
            return
        drafts.save_draft(self.session.db, self.session.user.id, self.form_key, self.values())

    def check_field(self, name: str) -> bool:
        value = self.values().get(name)
        problem = validate_case({name: value}).get(name)
        self._show_problem(name, problem)
        if name in ("person_name", "birth_date", "phone"):
            self._check_duplicates()
        return problem is None

    def _show_problem(self, name: str, problem: str | None) -> None:
        error = self.errors.get(name)
        if error is None:
            return
        error.setText(_(problem) if problem else "")
        error.setVisible(bool(problem))
        widget = self.inputs.get(name)
        if widget is not None:
            widget.setAccessibleDescription(_(problem) if problem else "")

    def _check_duplicates(self) -> None:
        if self.session.state != UNLOCKED:
            return
        values = self.values()
        problems = validate_case(
            {k: values[k] for k in ("person_name", "birth_date", "phone") if values[k]}
        )
        if problems or not (values["birth_date"] or values["phone"]):
            self.duplicates.hide()
            return
        found = self.session.repo.possible_duplicates(
            values["person_name"], values["birth_date"], values["phone"].strip(), self.case_id
        )
        if not found:
            self.duplicates.hide()
            return
        links = ", ".join(
            f'<a href="{d["id"]}">{_escape(d["reference"])} ({_escape(d["person_name"])})</a>'
            for d in found[:5]
        )
        self.duplicates.setText(
            _(
                "Possible duplicate: the same phone, or a similar name and date of birth: {cases}"
            ).format(cases=links)
        )
        self.duplicates.show()

    # -- saving --------------------------------------------------------------------
    def save(self) -> str | None:
        values = self.values()
        problems = validate_case(values)
        try:
            if problems:
                raise ValidationError(problems)
            if self.case_id:
                fields = {k: v for k, v in values.items() if v != self._loaded.get(k)}
                self.session.repo.update_case(self.case_id, fields)
                case_id = self.case_id
            else:
                case_id = self.session.repo.create_case(values)
        except ValidationError as exc:
            for name in self.errors:
                self._show_problem(name, exc.problems.get(name))
            first = next((n for n in self.inputs if n in exc.problems), None)
            if first is not None:
                self.inputs[first].setFocus()
            self.message.setText(
                i18n.ngettext(
                    "{count} field needs attention: see the message beside it.",
                    "{count} fields need attention: see the messages beside them.",
                    len(exc.problems),
                ).format(count=len(exc.problems))
            )
            return None
        assert self.session.db is not None and self.session.user is not None
        drafts.discard_draft(self.session.db, self.session.user.id, self.form_key)
        self._draft_timer.stop()
        self.dirty = False
        self.recovered.hide()
        self.case_id = case_id
        self._loaded = self.session.repo.open_case_header(case_id)
        self._update_heading()
        self.message.setText(_("Saved."))
        self.session.cases_changed.emit(case_id)
        self.saved.emit(case_id)
        return case_id

    def cancel(self) -> None:
        """Close the form and drop its draft (the counsellor chose not to keep it)."""
        self._draft_timer.stop()
        if self.session.db is not None and self.session.user is not None:
            drafts.discard_draft(self.session.db, self.session.user.id, self.form_key)
        self.dirty = False
        self.cancelled.emit()

    def clear(self) -> None:
        self._draft_timer.stop()
        self.case_id = ""
        self._loaded = {}
        self.set_values({})
        self.dirty = False
        self.recovered.hide()
        self.duplicates.clear()
        self.duplicates.hide()
        self.message.clear()

    def _state_changed(self, state: str) -> None:
        if state != UNLOCKED:
            self.clear()


def _escape(text: str) -> str:
    return html.escape(text, quote=True)
