"""Joining a hub from the app: the GUI step of ``mrc enrol``.

``EnrolPanel`` asks for the hub's address (and, optionally, its certificate fingerprint)
and sends the same request as ``mrc enrol --hub URL`` (``sync.client.enrol``, through
``jobs.run_enrol`` on a worker thread). For an ``https://`` hub without a fingerprint it
first fetches the certificate the hub presents and asks the person to compare its
fingerprint with the one the hub admin gave (trust on first use); from then on only that
certificate is accepted. ``WaitingPanel`` shows the code for the hub admin and checks again
whether it was approved (``mrc enrol --hub URL --code CODE``).

Only administrators join a desk to a hub: it decides where the centre's cases go.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.i18n import _, pgettext
from mrc_desktop.sync.client import (
    HubError,
    normalise_fingerprint,
    normalise_url,
    unencrypted_remote,
)
from mrc_desktop.ui.cases.session import CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.sync import words
from mrc_desktop.ui.sync.jobs import EnrolRequest, hub_fingerprint, run_enrol
from mrc_desktop.ui.sync.service import ENROL, FINGERPRINT, SyncService
from mrc_desktop.ui.sync.status import SyncStatus
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import ERROR_STYLE, error_label, with_message

ENROL_PERMISSION = "manage_users"  # administrators only


def ask(parent: QWidget, title: str, text: str, yes: str) -> bool:
    """A question with our own button texts (translated), No/Cancel as the default."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton)
    box.setParent(parent, box.windowFlags())
    box.setObjectName("sync_question")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    accept = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    accept.setObjectName("sync_question_yes")
    cancel = box.addButton(pgettext("button", "Cancel"), QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is accept


class EnrolPanel(Translatable, QWidget):
    """Not joined yet (or revoked): the hub's address, a fingerprint, "Join the hub"."""

    def __init__(self, service: SyncService, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sync_enrol")
        self.service = service
        self.ctx = ctx
        self.session: CaseSession = service.session
        self.revoked_note = QLabel()
        self.revoked_note.setObjectName("sync_revoked")
        self.revoked_note.setWordWrap(True)
        self.revoked_note.setStyleSheet(ERROR_STYLE)
        self.box = QGroupBox()
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.address = QLineEdit()
        self.address.setObjectName("sync_hub_address")
        self.address_error = error_label("sync_hub_address_error")
        self.fingerprint = QLineEdit()
        self.fingerprint.setObjectName("sync_fingerprint")
        self.fingerprint_error = error_label("sync_fingerprint_error")
        self.form = QFormLayout()
        self.address_label, self.fingerprint_label = QLabel(), QLabel()
        self.form.addRow(self.address_label, with_message(self.address, self.address_error))
        self.form.addRow(
            self.fingerprint_label, with_message(self.fingerprint, self.fingerprint_error)
        )
        self.join_button = QPushButton()
        self.join_button.setObjectName("sync_join")
        self.join_button.setDefault(True)
        self.join_button.clicked.connect(self.join)
        self.address.returnPressed.connect(self.join)
        self.fingerprint.returnPressed.connect(self.join)
        self.message = QLabel()
        self.message.setObjectName("sync_enrol_message")
        self.message.setWordWrap(True)
        self.admin_only = QLabel()
        self.admin_only.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.join_button, 0, Qt.AlignmentFlag.AlignTop)
        box_layout = QVBoxLayout(self.box)
        box_layout.addWidget(self.intro)
        box_layout.addLayout(self.form)
        box_layout.addWidget(self.admin_only)
        box_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.revoked_note)
        layout.addWidget(self.box)
        layout.addStretch(1)
        self._url = ""
        self._status: SyncStatus | None = None
        service.job_done.connect(self._job_done)
        service.job_failed.connect(self._job_failed)
        service.changed.connect(self._enable)
        self.retranslate()

    def retranslate(self) -> None:
        # TRANSLATORS: join = enrol this computer (a "desk") with the hub, the network's server.
        self.box.setTitle(_("Join the hub"))
        self.intro.setText(
            _(
                "This desk is not connected to a hub yet. The hub admin gives you the hub's "
                "address and, for a secure address (https://), its certificate fingerprint."
            )
        )
        self.address_label.setText(_("Hub address"))
        self.address.setAccessibleName(_("Hub address"))
        self.address.setPlaceholderText("https://hub.example.org:8443")
        # TRANSLATORS: the SHA-256 fingerprint of the hub's security (TLS) certificate.
        self.fingerprint_label.setText(_("Certificate fingerprint (optional)"))
        self.fingerprint.setAccessibleName(_("Certificate fingerprint (optional)"))
        self.fingerprint.setPlaceholderText("AB:CD:EF:…")
        self.join_button.setText(_("&Join the hub"))
        self.admin_only.setText(
            _("Only an administrator can join this desk to a hub. Ask your centre's administrator.")
        )
        self.show_status(self._status)

    def show_status(self, status: SyncStatus | None) -> None:
        """Revoked desks say so above the form (they may join a hub again)."""
        self._status = status
        url = status.state.hub_url if status is not None else None
        revoked = status is not None and status.stage == "revoked"
        self.revoked_note.setVisible(revoked)
        if revoked:
            self.revoked_note.setText(
                _(
                    "The hub at {url} no longer accepts this desk: the hub admin has removed it. "
                    "The cases on this computer are safe and stay here. Ask the hub admin what "
                    "happened; to join a hub again, enter the address they give you."
                ).format(url=url)
            )
        self._enable()

    def _allowed(self) -> bool:
        user = self.session.user
        return user is not None and user.can(ENROL_PERMISSION)

    def _enable(self) -> None:
        allowed = self._allowed()
        self.admin_only.setVisible(not allowed)
        self.join_button.setEnabled(allowed and self.service.job is None)

    def _field_problem(self, label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    def join(self) -> None:
        """Check the fields, then (https without a fingerprint) fetch the hub's certificate
        for the person to compare, or ask to join at once."""
        if not self.join_button.isEnabled():
            return
        self._field_problem(self.address_error, "")
        self._field_problem(self.fingerprint_error, "")
        self.message.clear()
        self.message.setStyleSheet("")
        try:
            url = normalise_url(self.address.text())
        except HubError:
            self._field_problem(
                self.address_error,
                _("Enter the hub's address as the hub admin gave it, starting with https://"),
            )
            self.address.setFocus()
            return
        typed = self.fingerprint.text().strip()
        fingerprint = None
        if typed:
            try:
                fingerprint = normalise_fingerprint(typed)
            except HubError:
                self._field_problem(
                    self.fingerprint_error,
                    _(
                        "This is not a certificate fingerprint: it has 64 letters (A to F) and "
                        "digits, often in pairs with colons between them."
                    ),
                )
                self.fingerprint.setFocus()
                return
            if not url.startswith("https:"):
                self._field_problem(
                    self.fingerprint_error,
                    _("A fingerprint is only for secure addresses, starting with https://"),
                )
                return
        if unencrypted_remote(url) and not ask(
            self,
            _("Join the hub"),
            _(
                "This address starts with http://, so it is not encrypted: cases stay sealed, "
                "but anyone on the network can see when this desk syncs. Use the https:// "
                "address if the hub admin gave you one."
            ),
            _("Join anyway"),
        ):
            return
        self._url = url
        state = self._status.state if self._status is not None else None
        pinned = state is not None and state.hub_url == url and state.tls_certificate
        if url.startswith("https:") and fingerprint is None and not pinned:
            network = self.service.hub_network()
            if self.service.start(FINGERPRINT, lambda _db, _job: hub_fingerprint(url, network)):
                self.message.setText(_("Asking the hub for its certificate…"))
            return
        self.request(fingerprint)

    def request(self, fingerprint: str | None) -> None:
        request = EnrolRequest(
            self.session.desk_id,
            self._url,
            fingerprint=fingerprint,
            label=str(self.ctx.settings.get("centre_name") or ""),
        )
        network = self.service.hub_network()
        if self.service.start(ENROL, lambda db, _job: run_enrol(db, request, network)):
            self.message.setText(_("Asking the hub to let this desk join…"))

    def _job_done(self, kind: str, result: object) -> None:
        if kind == FINGERPRINT:
            self.message.clear()
            text = _(
                "The hub presented this certificate fingerprint:\n\n{fingerprint}\n\nCompare "
                "it with the fingerprint the hub admin gave you. Join only if they are the same."
            ).format(fingerprint=result)
            if ask(self, _("Check the hub's certificate"), text, _("They are the same: join")):
                self.request(str(result))
            else:
                self.message.setText(_("Not joined: the fingerprints were not confirmed."))
        elif kind == ENROL:
            self.message.clear()

    def _job_failed(self, kind: str, exc: object) -> None:
        if kind in (FINGERPRINT, ENROL) and isinstance(exc, BaseException):
            self.message.setText(words.enrol_problem(exc))
            self.message.setStyleSheet(ERROR_STYLE)


class WaitingPanel(Translatable, QWidget):
    """Asked to join, not yet approved: the code for the hub admin, and "Check again"."""

    def __init__(self, service: SyncService, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sync_waiting")
        self.service = service
        self.ctx = ctx
        self.box = QGroupBox()
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.code = QLabel()
        self.code.setObjectName("sync_code")
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFont(self.code.font())
        font.setPointSizeF(max(font.pointSizeF(), 9) * 2.6)
        font.setBold(True)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 3)
        self.code.setFont(font)
        self.code.setLayoutDirection(Qt.LayoutDirection.LeftToRight)  # a code reads one way
        self.copy_button = QPushButton()
        self.copy_button.setObjectName("sync_copy_code")
        self.copy_button.clicked.connect(self.copy_code)
        self.check_button = QPushButton()
        self.check_button.setObjectName("sync_check_again")
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check_again)
        self.message = QLabel()
        self.message.setObjectName("sync_waiting_message")
        self.message.setWordWrap(True)
        code_row = QHBoxLayout()
        code_row.addWidget(self.code)
        code_row.addWidget(self.copy_button)
        code_row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignTop)
        box_layout = QVBoxLayout(self.box)
        box_layout.addWidget(self.intro)
        box_layout.addLayout(code_row)
        box_layout.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box)
        layout.addStretch(1)
        self._status: SyncStatus | None = None
        service.job_done.connect(self._job_done)
        service.job_failed.connect(self._job_failed)
        service.changed.connect(self._enable)
        self.retranslate()

    def retranslate(self) -> None:
        # TRANSLATORS: the hub admin = the person who runs the network's server.
        self.box.setTitle(_("Waiting for the hub admin"))
        self.copy_button.setText(_("&Copy the code"))
        self.check_button.setText(_("C&heck again"))
        self.show_status(self._status)

    def show_status(self, status: SyncStatus | None) -> None:
        self._status = status
        state = status.state if status is not None else None
        self.code.setText((state.enrol_code or "") if state is not None else "")
        self.intro.setText(
            _(
                "This desk has asked to join the hub at {url}. Give this code to the hub "
                "admin. Once they have approved it, press Check again."
            ).format(url=state.hub_url if state is not None else "")
        )
        self._enable()

    def _enable(self) -> None:
        self.check_button.setEnabled(self.service.job is None)

    def copy_code(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.code.text())
        self.message.setStyleSheet("")
        self.message.setText(_("Code copied."))

    def check_again(self) -> None:
        state = self._status.state if self._status is not None else None
        if state is None or not state.hub_url:
            return
        request = EnrolRequest(
            self.service.session.desk_id,
            state.hub_url,
            code=state.enrol_code,
            label=str(self.ctx.settings.get("centre_name") or ""),
        )
        network = self.service.hub_network()
        if self.service.start(ENROL, lambda db, _job: run_enrol(db, request, network)):
            self.message.setStyleSheet("")
            self.message.setText(_("Asking the hub…"))

    def _job_done(self, kind: str, result: object) -> None:
        if kind != ENROL:
            return
        if getattr(result, "status", "") != "approved":
            self.message.setStyleSheet("")
            self.message.setText(
                _("Not approved yet. Press Check again once the hub admin has approved the code.")
            )

    def _job_failed(self, kind: str, exc: object) -> None:
        if kind == ENROL and isinstance(exc, BaseException):
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(words.enrol_problem(exc))
