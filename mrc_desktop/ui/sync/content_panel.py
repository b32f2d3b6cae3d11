"""Content updates from the app: which content is in use, and installing a pack from a file.

The library articles, country profiles and fee rules come from the hub as signed, versioned
packs: ``mrc sync`` (and Sync now) fetches a newer one, or a trainer brings a ``.mrcpack``
on a USB stick. "Install a content update from a file…" runs ``install_pack`` on a worker
thread (``jobs.run_install``) with a progress bar and Cancel. Content is public and the pack
is checked with the hub key kept in ``desk.db``, so this works without unlocking the case
log: the panel sits below the Sync screen's pages, always visible. A refused pack leaves the
content in use as it was, and the reason is shown.
"""

from __future__ import annotations

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

from mrc_desktop.i18n import _
from mrc_desktop.sync.client import Progress
from mrc_desktop.sync.content_install import ContentInfo, installed_content
from mrc_desktop.sync.content_pack import ContentPackError
from mrc_desktop.sync.content_unpack import PackCancelled
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.sync import words
from mrc_desktop.ui.sync.jobs import SyncOutcome, run_install
from mrc_desktop.ui.sync.service import CONTENT, SYNC, SyncJob, SyncService
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import show_message

PACK_SUFFIX = ".mrcpack"


class ContentPanel(Translatable, QWidget):
    def __init__(self, service: SyncService, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sync_content")
        self.service = service
        self.ctx = ctx
        self.box = QGroupBox()
        self.in_use_label = QLabel()
        self.in_use = QLabel()
        self.in_use.setObjectName("sync_content_in_use")
        self.in_use.setWordWrap(True)
        self.install_button = QPushButton()
        self.install_button.setObjectName("sync_install_content")
        self.install_button.clicked.connect(self.choose_pack)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("sync_content_cancel")
        self.cancel_button.clicked.connect(service.cancel)
        self.progress = QProgressBar()
        self.progress.setObjectName("sync_content_progress")
        self.progress.setTextVisible(False)
        self.stage = QLabel()
        self.message = QLabel()
        self.message.setObjectName("sync_content_message")
        self.message.setWordWrap(True)
        self.message.hide()
        row = QHBoxLayout()
        row.addWidget(self.in_use_label)
        row.addWidget(self.in_use, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.install_button)
        buttons.addWidget(self.stage)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(0)
        layout = QVBoxLayout(self.box)
        layout.addLayout(row)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.box)
        self._folder = Path.home()
        self._info: ContentInfo | None = None
        service.changed.connect(self._enable)
        service.progressed.connect(self._progressed)
        service.job_done.connect(self._job_done)
        service.job_failed.connect(self._job_failed)
        self.retranslate()
        self.refresh()

    def retranslate(self) -> None:
        # TRANSLATORS: "content" = the library articles, country profiles and fee rules.
        self.box.setTitle(_("Information content"))
        self.in_use_label.setText(_("In use:"))
        self.install_button.setText(_("&Install a content update from a file…"))
        self.cancel_button.setText(_("&Cancel"))
        self.refresh()

    def refresh(self) -> None:
        """Read which content is in use (one small file) and what may run."""
        self._info = installed_content(self.ctx.paths)
        self.in_use.setText(words.content_in_use(self._info))
        self._enable()

    def _enable(self) -> None:
        running = self.service.job_kind == CONTENT
        self.install_button.setEnabled(self.service.job is None)
        for widget in (self.progress, self.stage, self.cancel_button):
            widget.setVisible(running)

    def _say(self, text: str, problem: bool = False) -> None:
        show_message(self.message, text, problem)

    def choose_pack(self) -> None:
        # TRANSLATORS: file type filter; keep the *.mrcpack.
        kinds = _("MRC Desk content packs (*{suffix})").format(suffix=PACK_SUFFIX)
        path, _filter = QFileDialog.getOpenFileName(
            self, _("Install a content update"), str(self._folder), kinds
        )
        if path:
            self.install(Path(path))

    def install(self, path: Path) -> bool:
        self._folder = path.parent

        def work(job: SyncJob) -> ContentInfo:
            return run_install(path, job.cancelled, job.progressed.emit)

        if not self.service.start_without_store(CONTENT, work):
            return False
        self.progress.setRange(0, 0)
        self.stage.setText(words.stage(Progress("content", 0, 0)))
        self._say(_("Installing the content update…"))
        return True

    def _progressed(self, progress: object) -> None:
        if not isinstance(progress, Progress) or progress.stage not in ("content", "index"):
            return
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        else:
            self.progress.setRange(0, 0)
        self.stage.setText(words.stage(progress))

    def _job_done(self, kind: str, result: object) -> None:
        if kind == CONTENT and isinstance(result, ContentInfo):
            self._say(words.content_installed(result))
        elif kind == SYNC and isinstance(result, SyncOutcome):
            update = result.report.content
            if update is not None and update.installed:
                self._say(words.content_installed(update.current))
            elif result.report.content_error:
                self._say(words.content_refused(result.report.content_error), problem=True)
        self.refresh()

    def _job_failed(self, kind: str, exc: object) -> None:
        if kind != CONTENT or not isinstance(exc, BaseException):
            return
        if isinstance(exc, PackCancelled):
            self._say(_("Cancelled. The content in use has not changed."))
        elif isinstance(exc, ContentPackError):
            self._say(words.content_refused(str(exc)), problem=True)
        else:
            self._say(words.failed(exc), problem=True)
        self.refresh()
