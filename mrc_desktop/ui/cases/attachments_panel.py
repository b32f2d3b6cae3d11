"""A case's files: the list, "Add file…" and the in-app viewer.

Reading and checking a chosen file (up to 20 MB, from a USB stick perhaps) runs on a
worker thread. Storing it runs back on the UI thread, in one short transaction: the
case store has one connection, and a transaction open on a worker thread would take in
whatever the UI thread wrote meanwhile (an autosaved draft, the lock's audit row) and
could commit or roll it back with the file. Everything shown is dropped when the desk
locks.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.cases.attachments import (
    ALLOWED,
    MAX_BYTES,
    AttachmentError,
    AttachmentInfo,
    PreparedFile,
    list_attachments,
    prepare_file,
    read_attachment,
    store_file,
)
from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.background import run_task
from mrc_desktop.ui.cases.attachment_viewer import AttachmentViewer
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_datetime
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.row_table_model import RowTableModel, row_table_view

log = logging.getLogger("mrc_desktop.cases")

ID_ROLE = Qt.ItemDataRole.UserRole
ERROR_STYLE = "color: #b00020;"
Index = QModelIndex | QPersistentModelIndex


def size_text(size: int) -> str:
    """A byte count as people read it ("2.4 MB", "20 MB"), in the interface's digits."""
    leading = float(size)
    while leading >= 1024:
        leading /= 1024
    precision = 0 if leading >= 10 or size < 1024 else 1
    return QLocale().formattedDataSize(
        size, precision, QLocale.DataSizeFormat.DataSizeTraditionalFormat
    )


class AttachmentsModel(RowTableModel):
    """The files of one case: name, type, size, when added and by whom (no content)."""

    columns = (
        ("name", N_("File")),
        ("media_type", N_("Type")),
        ("size", N_("Size")),
        ("created_at", N_("Added")),
        ("author_name", N_("Added by")),
    )

    @property
    def rows(self) -> list[AttachmentInfo]:
        return self._rows

    def display(self, key: str, info: AttachmentInfo) -> str:
        if key == "media_type":
            kind = ALLOWED.get(info.media_type)
            return _(kind.label) if kind else info.media_type
        if key == "size":
            return size_text(info.size)
        if key == "created_at":
            try:
                added = dt.datetime.fromisoformat(info.created_at).astimezone()
            except ValueError:
                return info.created_at
            return show_datetime(added, "short")
        return str(getattr(info, key))

    def cell(self, key: str, info: AttachmentInfo, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and key == "name":
            return info.name
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "size":
            return int(Qt.AlignmentFlag.AlignTrailing | Qt.AlignmentFlag.AlignVCenter)
        return None


def _prepare(case_id: str, path: Path) -> tuple[str, PreparedFile]:
    """Worker thread: check and read the file; no database access here."""
    return case_id, prepare_file(path)


class AttachmentsPanel(Translatable, QWidget):
    def __init__(
        self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attachments_panel")
        self.session = session
        self.ctx = ctx
        self.case_id = ""
        self.viewer: AttachmentViewer | None = None
        self._busy = False
        self._message: Callable[[], str] | None = None

        self.add_button = QPushButton()
        self.add_button.setObjectName("attachments_add")
        self.add_button.clicked.connect(self.choose_file)
        self.view_button = QPushButton()
        self.view_button.setObjectName("attachments_view")
        self.view_button.clicked.connect(self.view_selected)
        self.hint = QLabel()
        self.hint.setObjectName("attachments_hint")
        self.hint.setWordWrap(True)
        self.model = AttachmentsModel(self)
        self.table = row_table_view(self.model, "attachments_table")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.message = QLabel()
        self.message.setObjectName("attachments_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.view_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        session.state_changed.connect(self._state_changed)
        session.cases_changed.connect(self._case_changed)
        self.retranslate()
        self._update_buttons()

    # -- text ------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.add_button.setText(_("&Add file…"))
        self.view_button.setText(_("&View"))
        self.hint.setText(
            # TRANSLATORS: {limit} is a size such as "20 MB".
            _(
                "Scanned contracts, receipts and photos: PDF, JPEG, PNG or WebP, up to "
                "{limit}. Files are stored encrypted with the case and open only here."
            ).format(limit=size_text(MAX_BYTES))
        )
        self.model.retranslate()
        self._show_message()

    def _say(self, text: Callable[[], str] | None, error: bool = False) -> None:
        """Show a message; kept as a function so it follows a language switch."""
        self._message = text
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self._show_message()

    def _show_message(self) -> None:
        text = self._message() if self._message else ""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _say_error(self, exc: AttachmentError) -> None:
        self._say(functools.partial(exc.text, size_text), error=True)

    # -- the case ----------------------------------------------------------------------
    def set_case(self, case_id: str) -> None:
        """Show the files of ``case_id`` ("" shows nothing)."""
        if case_id != self.case_id:
            self._close_viewer()
            self._say(None)
        self.case_id = case_id
        self.refresh()

    def refresh(self) -> None:
        db = self.session.db
        if self.case_id and self.session.state == UNLOCKED and db is not None:
            self.model.set_rows(list_attachments(db, self.case_id))
        else:
            self.model.set_rows([])
        self._update_buttons()

    def clear(self) -> None:
        """Forget the case and everything shown of it (the desk locked or closed)."""
        self.case_id = ""
        self._close_viewer()
        self.model.set_rows([])
        self._say(None)
        self._update_buttons()

    def _state_changed(self, state: str) -> None:
        if state != UNLOCKED:
            self.clear()

    def _case_changed(self, case_id: str) -> None:
        if self.case_id and case_id in (self.case_id, ""):
            self.refresh()

    def _update_buttons(self) -> None:
        ready = bool(self.case_id) and self.session.state == UNLOCKED
        self.add_button.setEnabled(ready and not self._busy)
        self.view_button.setEnabled(
            ready and (info := self.selected()) is not None and info.complete
        )

    def selected(self) -> AttachmentInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or not 0 <= rows[0].row() < len(self.model.rows):
            return None
        return self.model.rows[rows[0].row()]

    # -- adding ------------------------------------------------------------------------
    def choose_file(self) -> None:
        patterns = " ".join(f"*{e}" for t in ALLOWED.values() for e in t.extensions)
        filters = ";;".join(
            (
                # TRANSLATORS: a file-type filter in the "Attach a file" dialog.
                _("Scans and photos ({patterns})").format(patterns=patterns),
                _("All files (*)"),
            )
        )
        path, _chosen = QFileDialog.getOpenFileName(self, _("Attach a file"), "", filters)
        if path:
            self.add_file(Path(path))

    def add_file(self, path: Path) -> None:
        """Check, read and attach ``path`` to the open case (the file dialog's next step)."""
        if not self.case_id or self.session.state != UNLOCKED or self._busy:
            return
        self._busy = True
        self._update_buttons()
        name = path.name
        self._say(lambda: _("Reading {name}…").format(name=name))
        run_task(functools.partial(_prepare, self.case_id, path), self._prepared, self._failed)

    def _prepared(self, result: tuple[str, PreparedFile]) -> None:
        self._busy = False
        case_id, prepared = result
        if self.session.state != UNLOCKED:
            return  # locked meanwhile: the panel was cleared, nothing is stored
        try:
            store_file(self.session.repo, case_id, prepared)
        except AttachmentError as exc:
            self._say_error(exc)
        except KeyError:
            self._say(lambda: _("This case no longer exists."), error=True)
        else:
            name = prepared.name
            self._say(lambda: _("{name} was attached.").format(name=name))
            self.session.cases_changed.emit(case_id)
            if case_id == self.case_id:
                self.refresh()
                self.table.selectRow(len(self.model.rows) - 1)
        self._update_buttons()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        if self.session.state == UNLOCKED and self.case_id:
            if isinstance(exc, AttachmentError):
                self._say_error(exc)
            else:  # the type only: a message could name the worker's file
                log.warning("attaching a file failed: %s", type(exc).__name__)
                self._say(lambda: _("The file could not be attached."), error=True)
        self._update_buttons()

    # -- viewing -----------------------------------------------------------------------
    def _double_clicked(self, _index: QModelIndex) -> None:
        self.view_selected()

    def view_selected(self) -> None:
        info = self.selected()
        if info is not None:
            self.view(info)

    def view(self, info: AttachmentInfo) -> AttachmentViewer | None:
        """Open ``info`` in the viewer (the read is audited); None if it cannot be read."""
        if self.session.state != UNLOCKED:
            return None
        try:
            content = read_attachment(self.session.repo, info.id)
        except AttachmentError as exc:
            self._say_error(exc)
            return None
        except KeyError:
            self._say(lambda: _("This file is no longer in the case log."), error=True)
            return None
        self._close_viewer()
        self._say(None)
        self.viewer = AttachmentViewer(info.name, info.media_type, content, self)
        self.viewer.finished.connect(self._viewer_gone)
        self.viewer.show()
        return self.viewer

    def _viewer_gone(self, _result: int) -> None:
        self.viewer = None

    def _close_viewer(self) -> None:
        viewer, self.viewer = self.viewer, None
        if viewer is not None:
            viewer.clear()
            viewer.close()
