"""USB bundles from the app: ``mrc sync export-bundle`` and ``import-bundle`` with buttons.

"Save a bundle for the hub…" writes this desk's unsent changes, sealed to the hub, to a
file (a USB stick carried to the hub); "Open a bundle from the hub…" applies the hub's
return bundle. Both run on a worker thread (``jobs.run_export`` / ``run_import``); a bundle
that is damaged, meant for another desk or already applied changes nothing, and its reason
is shown after a translated sentence.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.i18n import _, ngettext
from mrc_desktop.sync.bundle import BUNDLE_SUFFIX, BundleError
from mrc_desktop.sync.inbox import ReceiveError
from mrc_desktop.sync.outbox import BundleExport, OutboxError
from mrc_desktop.sync.state import NotEnrolledError
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_number
from mrc_desktop.ui.sync import words
from mrc_desktop.ui.sync.jobs import ImportOutcome, run_export, run_import
from mrc_desktop.ui.sync.service import EXPORT, IMPORT, SyncService
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import show_message


def bundle_name(desk_id: str, today: dt.date | None = None) -> str:
    """``mrc-desk-<first 8 of the desk id>-<date>.mrcbundle``."""
    day = (today or dt.date.today()).isoformat()
    return f"mrc-desk-{desk_id[:8]}-{day}{BUNDLE_SUFFIX}"


class UsbPanel(Translatable, QWidget):
    def __init__(self, service: SyncService, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sync_usb")
        self.service = service
        self.ctx = ctx
        self.box = QGroupBox()
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.save_button = QPushButton()
        self.save_button.setObjectName("sync_save_bundle")
        self.save_button.clicked.connect(self.choose_export)
        self.open_button = QPushButton()
        self.open_button.setObjectName("sync_open_bundle")
        self.open_button.clicked.connect(self.choose_import)
        self.busy = QProgressBar()
        self.busy.setObjectName("sync_usb_busy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.message = QLabel()
        self.message.setObjectName("sync_usb_message")
        self.message.setWordWrap(True)
        self.message.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.busy, 1)
        buttons.addStretch(1)
        layout = QVBoxLayout(self.box)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.box)
        self._folder = Path.home()
        service.changed.connect(self._enable)
        service.job_done.connect(self._job_done)
        service.job_failed.connect(self._job_failed)
        self.retranslate()

    def retranslate(self) -> None:
        # TRANSLATORS: a "bundle" is a file that carries cases between this desk and the hub
        # on a USB stick.
        self.box.setTitle(_("No internet? Use a USB stick"))
        self.intro.setText(
            _(
                "Save a bundle with this desk's changes on a USB stick and take it to the hub. "
                "Open the bundle the hub gives back to receive the other desks' changes."
            )
        )
        self.save_button.setText(_("Save a &bundle for the hub…"))
        self.open_button.setText(_("&Open a bundle from the hub…"))
        self._enable()

    def _enable(self) -> None:
        idle = self.service.job is None and self.service.store_open
        self.save_button.setEnabled(idle)
        self.open_button.setEnabled(idle)
        self.busy.setVisible(self.service.job_kind in (EXPORT, IMPORT))

    def _say(self, text: str, problem: bool = False) -> None:
        show_message(self.message, text, problem)

    # -- saving ----------------------------------------------------------------------------
    def choose_export(self) -> None:
        suggested = self._folder / bundle_name(self.service.session.desk_id)
        # TRANSLATORS: file type filter in the save and open dialogs; keep the *.mrcbundle.
        kinds = _("MRC Desk bundles (*{suffix})").format(suffix=BUNDLE_SUFFIX)
        path, _filter = QFileDialog.getSaveFileName(
            self, _("Save a bundle for the hub"), str(suggested), kinds
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> bool:
        if path.suffix != BUNDLE_SUFFIX:
            path = path.with_name(path.name + BUNDLE_SUFFIX)
        self._folder = path.parent
        if not self.service.start(EXPORT, lambda db, _job: run_export(db, path)):
            return False
        self._say(_("Saving the bundle…"))
        return True

    # -- opening ---------------------------------------------------------------------------
    def choose_import(self) -> None:
        kinds = _("MRC Desk bundles (*{suffix})").format(suffix=BUNDLE_SUFFIX)
        path, _filter = QFileDialog.getOpenFileName(
            self, _("Open a bundle from the hub"), str(self._folder), kinds
        )
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path) -> bool:
        self._folder = path.parent
        if not self.service.start(IMPORT, lambda db, _job: run_import(db, path)):
            return False
        self._say(_("Opening the bundle…"))
        return True

    # -- results ---------------------------------------------------------------------------
    def _job_done(self, kind: str, result: object) -> None:
        if kind == EXPORT and isinstance(result, BundleExport):
            self._say(self._exported(result))
        elif kind == IMPORT and isinstance(result, ImportOutcome):
            self._say(self._imported(result))

    @staticmethod
    def _exported(made: BundleExport) -> str:
        parts = [
            ngettext(
                "Saved {count} change for the hub in {file}.",
                "Saved {count} changes for the hub in {file}.",
                made.changes,
            ).format(count=show_number(made.changes), file=made.path.name)
        ]
        if made.left:
            parts.append(
                _("More changes did not fit: save another bundle after the hub has read this one.")
            )
        return " ".join(parts)

    @staticmethod
    def _imported(outcome: ImportOutcome) -> str:
        got = outcome.done.received
        parts = [words.received_sentence(got.changes, outcome.new_conflict_cases)]
        if outcome.done.acknowledged:
            parts.append(_("The hub confirmed it holds this desk's earlier changes."))
        return " ".join(parts)

    def _job_failed(self, kind: str, exc: object) -> None:
        if kind not in (EXPORT, IMPORT) or not isinstance(exc, BaseException):
            return
        known = (BundleError, ReceiveError, OutboxError, NotEnrolledError, OSError)
        reason = str(exc) if isinstance(exc, known) else ""
        if kind == EXPORT:
            # TRANSLATORS: {reason} explains why, in English.
            text = _("The bundle was not saved: {reason}").format(reason=reason)
        else:
            text = _("Nothing from this bundle was applied: {reason}").format(reason=reason)
        self._say(text if reason else words.failed(exc), problem=True)
