"""A joined desk at a glance: connected or not, last sync, what waits, what to review.

One headline says the most important thing (syncing, offline, a problem and what to do,
or when the cases last reached the hub); the rows below give the details; "Sync now"
runs a sync with a progress bar and Cancel. Nothing here is personal data: counts, the
hub's address, times.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.i18n import _, ngettext
from mrc_desktop.sync.client import Progress
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_number
from mrc_desktop.ui.sync import words
from mrc_desktop.ui.sync.jobs import CANCELLED, CERTIFICATE, OFFLINE, OK, SyncOutcome
from mrc_desktop.ui.sync.service import SYNC, SyncService
from mrc_desktop.ui.sync.status import SyncStatus
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import ERROR_STYLE

GOOD, CALM, WARN, BAD = "#1b5e20", "#1f5f8b", "#8d6e00", "#a40000"
ROWS = ("hub", "centre", "last", "waiting", "kept", "conflicts", "auto")


class StatusPanel(Translatable, QWidget):
    def __init__(self, service: SyncService, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sync_status")
        self.service = service
        self.ctx = ctx
        self.headline = QLabel()
        self.headline.setObjectName("sync_headline")
        self.headline.setWordWrap(True)
        font = QFont(self.headline.font())
        font.setPointSizeF(max(font.pointSizeF(), 9) * 1.25)
        font.setBold(True)
        self.headline.setFont(font)
        self.clock_warning = QLabel()
        self.clock_warning.setObjectName("sync_clock_warning")
        self.clock_warning.setWordWrap(True)
        self.clock_warning.setStyleSheet(ERROR_STYLE)
        self.details = QGroupBox()
        self.form = QFormLayout(self.details)
        self.labels: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        self.conflicts_button = QPushButton()
        self.conflicts_button.setObjectName("sync_show_conflicts")
        self.conflicts_button.clicked.connect(self.show_conflicted_cases)
        for key in ROWS:
            label, value = QLabel(), QLabel()
            value.setObjectName(f"sync_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setBuddy(value)
            self.labels[key], self.values[key] = label, value
            if key == "conflicts":
                row = QHBoxLayout()
                row.addWidget(value, 1)
                row.addWidget(self.conflicts_button)
                self.form.addRow(label, row)
            else:
                self.form.addRow(label, value)
        self.progress = QProgressBar()
        self.progress.setObjectName("sync_progress")
        self.progress.setTextVisible(False)
        self.stage = QLabel()
        self.stage.setObjectName("sync_stage")
        self.result = QLabel()
        self.result.setObjectName("sync_result")
        self.result.setWordWrap(True)
        self.sync_button = QPushButton()
        self.sync_button.setObjectName("sync_now")
        self.sync_button.setDefault(True)
        self.sync_button.clicked.connect(self.sync_now)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("sync_cancel")
        self.cancel_button.clicked.connect(service.cancel)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.stage)
        progress_row.addWidget(self.progress, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.result, 1)
        buttons.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        buttons.addWidget(self.sync_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.clock_warning)
        layout.addWidget(self.details)
        layout.addLayout(progress_row)
        layout.addLayout(buttons)
        self._status: SyncStatus | None = None
        self._progress: Progress | None = None
        service.progressed.connect(self._progressed)
        service.job_done.connect(self._job_done)
        service.job_failed.connect(self._job_failed)
        self.retranslate()

    # -- texts ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.details.setTitle(_("This desk and the hub"))
        row_names = {
            "hub": _("Hub address"),
            # TRANSLATORS: the centre this desk belongs to, as the hub knows it (an id).
            "centre": _("Centre on the hub"),
            "last": _("Last successful sync"),
            "waiting": _("Waiting to be sent"),
            "kept": _("Kept on this computer"),
            # TRANSLATORS: a "desk" is one computer running MRC Desk; these cases were
            # changed on two of them before they synced (a conflict to review).
            "conflicts": _("Edited at two desks"),
            "auto": _("Automatic sync"),
        }
        for key, text in row_names.items():
            self.labels[key].setText(text)
            self.values[key].setAccessibleName(text)
        self.conflicts_button.setText(_("&Show these cases"))
        self.sync_button.setText(_("S&ync now"))
        self.cancel_button.setText(_("&Cancel"))
        self.show_status(self._status)

    def show_status(self, status: SyncStatus | None) -> None:
        """Fill every row from ``status`` and the service's run (what it is doing, how the
        last sync went, when the next one comes)."""
        self._status = status
        if status is None:
            return
        state = status.state
        self.values["hub"].setText(state.hub_url or "")
        self.values["centre"].setText(state.centre_id or "")
        last = status.last_success
        self.values["last"].setText(words.moment(last) if last else _("Not yet"))
        self.values["waiting"].setText(self._waiting(status))
        kept = self._kept(status)
        self.values["kept"].setText(kept)
        self.form.setRowVisible(self.labels["kept"], bool(kept))
        self.values["conflicts"].setText(self._conflicts(status))
        self.conflicts_button.setVisible(bool(status.conflicted_cases))
        self.values["auto"].setText(self._automatic())
        self._show_run()

    @staticmethod
    def _waiting(status: SyncStatus) -> str:
        if not status.unsent_changes:
            return _("Nothing: everything has reached the hub.")
        return ngettext(
            "{count} change not yet sent", "{count} changes not yet sent", status.unsent_changes
        ).format(count=show_number(status.unsent_changes))

    @staticmethod
    def _kept(status: SyncStatus) -> str:
        lines = []
        if status.held_cases:
            lines.append(
                ngettext(
                    "{count} case: its consent does not allow sharing it with the hub.",
                    "{count} cases: their consent does not allow sharing them with the hub.",
                    status.held_cases,
                ).format(count=show_number(status.held_cases))
            )
        if status.too_large:
            lines.append(
                ngettext(
                    "{count} change too large to send yet (a big attached file).",
                    "{count} changes too large to send yet (big attached files).",
                    status.too_large,
                ).format(count=show_number(status.too_large))
            )
        return "\n".join(lines)

    @staticmethod
    def _conflicts(status: SyncStatus) -> str:
        cases = len(status.conflicted_cases)
        lines = [
            ngettext("{count} case to review", "{count} cases to review", cases).format(
                count=show_number(cases)
            )
            if cases
            else _("None")
        ]
        if status.conflicted_agencies:
            lines.append(
                ngettext(
                    "{count} agency to review in the agency register",
                    "{count} agencies to review in the agency register",
                    status.conflicted_agencies,
                ).format(count=show_number(status.conflicted_agencies))
            )
        return "\n".join(lines)

    def _automatic(self) -> str:
        minutes = int(self.ctx.settings.get("sync_interval_minutes"))
        if minutes <= 0:
            return _("Off. Turn it on in Settings.")
        parts = [
            ngettext("Every {count} minute.", "Every {count} minutes.", minutes).format(
                count=show_number(minutes)
            )
        ]
        service = self.service
        if service.last_tried is not None:
            # TRANSLATORS: {time_ago} is like "5 minutes ago".
            parts.append(
                _("Last tried {time_ago}.").format(time_ago=words.relative(service.last_tried))
            )
        if service.next_try is not None and service.job is None:
            # TRANSLATORS: {time_from_now} is like "in 12 minutes".
            parts.append(
                _("Next try {time_from_now}.").format(
                    time_from_now=words.relative(service.next_try)
                )
            )
        return " ".join(parts)

    # -- the headline and the running sync ------------------------------------------------
    def _show_run(self) -> None:
        service = self.service
        running = service.job_kind == SYNC
        self.progress.setVisible(running)
        self.stage.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.sync_button.setEnabled(service.job is None and service.store_open)
        if running:
            self.stage.setText(words.stage(self._progress))
        else:
            self._progress = None
        outcome = service.last_outcome
        skew = outcome.report.clock_skew_s if outcome is not None else None
        warning = words.clock(skew)
        self.clock_warning.setText(warning)
        self.clock_warning.setVisible(bool(warning))
        text, colour = self._headline(running, outcome)
        self.headline.setText(text)
        self.headline.setStyleSheet(f"color: {colour};")

    def _headline(self, running: bool, outcome: SyncOutcome | None) -> tuple[str, str]:
        status = self._status
        assert status is not None
        if running:
            return _("Syncing with the hub…"), CALM
        if self.service.last_failure is not None:
            return words.failed(self.service.last_failure), BAD
        if outcome is not None and outcome.kind != OK:
            colour = {OFFLINE: CALM, CANCELLED: CALM, CERTIFICATE: BAD}.get(outcome.kind, WARN)
            return words.problem(outcome), colour
        last, error = status.last_success, status.last_error
        if error is not None and outcome is None:
            when, reason = error
            ago = words.relative(when) if when is not None else ""
            if "cannot reach the hub" in reason:
                return _(
                    "The last sync could not reach the hub ({time_ago}). Your cases are safe on "
                    "this computer and will be sent when the connection is back."
                ).format(time_ago=ago), CALM
            return words.refused(reason), WARN
        if last is not None:
            # TRANSLATORS: {time_ago} is like "5 minutes ago".
            return _("Connected. Your cases last reached the hub {time_ago}.").format(
                time_ago=words.relative(last)
            ), GOOD
        return _("This desk has not synced yet. Press Sync now to send its cases to the hub."), CALM

    def _progressed(self, progress: object) -> None:
        if not isinstance(progress, Progress):
            return
        self._progress = progress
        if progress.stage != "pull" and progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        else:
            self.progress.setRange(0, 0)  # receiving: how much comes is not known
        self.stage.setText(words.stage(progress))

    # -- actions -------------------------------------------------------------------------
    def sync_now(self) -> None:
        self.progress.setRange(0, 0)
        self._progress = None
        if self.service.sync_now():
            self.result.clear()
            self.result.setStyleSheet("")

    def _job_done(self, kind: str, result: object) -> None:
        if kind != SYNC or not isinstance(result, SyncOutcome):
            return
        report = result.report
        moved = report.pushed_changes or report.received.changes or result.new_conflict_cases
        self.result.setText(words.result(result) if result.kind == OK or moved else "")

    def _job_failed(self, kind: str, _exc: object) -> None:
        if kind == SYNC:
            self.result.clear()

    def show_conflicted_cases(self) -> None:
        """Open the Cases screen with its list filtered to the cases edited at two desks."""
        window = self.window()
        show = getattr(window, "show_screen", None)
        if show is not None:
            show("cases")
        self.ctx.events.show_conflicted_cases.emit()
