"""Setting up the case log, and unlocking it: the centre's passphrase, then a user's login.

The passphrase derives the encryption key (Argon2id, deliberately slow), so opening and
creating run on a worker thread while the page says what it is doing. A wrong passphrase
or password gets a plain message and the fields stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.cases.users import MIN_PASSWORD, User, UserError
from mrc_desktop.i18n import _
from mrc_desktop.storage.database import DatabaseOpenError
from mrc_desktop.storage.encrypted import MIN_PASSPHRASE, WrongPassphraseError
from mrc_desktop.storage.migrate import DatabaseTooNewError
from mrc_desktop.ui.background import run_task
from mrc_desktop.ui.cases.session import CLOSED, MISSING, CaseSession
from mrc_desktop.ui.locale_format import show_number
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.field_messages import ERROR_STYLE


def _secret() -> QLineEdit:
    line = QLineEdit()
    line.setEchoMode(QLineEdit.EchoMode.Password)
    return line


@dataclass(frozen=True)
class _Opened:
    db: sqlite_utils.Database
    passphrase: str
    user: User | None


def open_problem(exc: BaseException) -> str:
    """A translated, plain message for why the store did not open."""
    if isinstance(exc, WrongPassphraseError):
        return _(
            "This passphrase does not open the case log. Check the keyboard language and "
            "Caps Lock, then try again."
        )
    if isinstance(exc, DatabaseTooNewError):
        return _(
            "The case log was saved by a newer version of MRC Desk. Install that version to "
            "open it; nothing has been changed."
        )
    if isinstance(exc, DatabaseOpenError):
        return _(
            "The case log's key file is missing or damaged ({path}). Restore it from a "
            "backup; nothing has been changed."
        ).format(path=exc.path)
    return _("The case log could not be opened ({error}).").format(error=type(exc).__name__)


class SetupPage(Translatable, QWidget):
    """First use on this desk: choose the centre's passphrase and the first administrator."""

    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case_setup")
        self.session = session
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.passphrase_box = QGroupBox()
        self.passphrase = _secret()
        self.passphrase.setObjectName("setup_passphrase")
        self.passphrase_again = _secret()
        self.passphrase_again.setObjectName("setup_passphrase_again")
        self.passphrase_form = QFormLayout(self.passphrase_box)
        self.passphrase_form.addRow(QLabel(), self.passphrase)
        self.passphrase_form.addRow(QLabel(), self.passphrase_again)
        self.admin_box = QGroupBox()
        self.username = QLineEdit()
        self.username.setObjectName("setup_username")
        self.display = QLineEdit()
        self.display.setObjectName("setup_display")
        self.password = _secret()
        self.password.setObjectName("setup_password")
        self.password_again = _secret()
        self.password_again.setObjectName("setup_password_again")
        self.admin_form = QFormLayout(self.admin_box)
        for widget in (self.username, self.display, self.password, self.password_again):
            self.admin_form.addRow(QLabel(), widget)
        self.message = QLabel()
        self.message.setObjectName("setup_message")
        self.message.setWordWrap(True)
        self.create_button = QPushButton()
        self.create_button.setObjectName("setup_create")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.submit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.create_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.intro)
        layout.addWidget(self.passphrase_box)
        layout.addWidget(self.admin_box)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.task: Any = None
        session.state_changed.connect(self.prepare)
        self.retranslate()
        self.prepare()

    def prepare(self, _state: str = "") -> None:
        """A store with no users yet (set-up interrupted) only needs the administrator."""
        self.passphrase_box.setVisible(self.session.state == MISSING)

    def retranslate(self) -> None:
        self.heading.setText(_("Set up the case log"))
        self.intro.setText(
            _(
                "The case log keeps workers' personal data encrypted on this computer. "
                "Choose a passphrase for the centre: a few words are easier to remember than "
                "symbols. Write it down and keep it somewhere safe. Without it nobody can open "
                "the cases, not even the people who made MRC Desk."
            )
        )
        self.passphrase_box.setTitle(_("Centre passphrase"))
        self._label(self.passphrase_form, 0, _("Passphrase"))
        self._label(self.passphrase_form, 1, _("Passphrase again"))
        self.passphrase.setPlaceholderText(
            _("At least {count} characters").format(count=show_number(MIN_PASSPHRASE))
        )
        self.admin_box.setTitle(_("First administrator"))
        self._label(self.admin_form, 0, _("User name"))
        self._label(self.admin_form, 1, _("Full name"))
        self._label(self.admin_form, 2, _("Password"))
        self._label(self.admin_form, 3, _("Password again"))
        self.password.setPlaceholderText(
            _("At least {count} characters").format(count=show_number(MIN_PASSWORD))
        )
        self.create_button.setText(_("&Create the case log"))

    @staticmethod
    def _label(form: QFormLayout, row: int, text: str) -> None:
        """Name a form row (its label, and the field for screen readers)."""
        label_item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        field_item = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
        label = label_item.widget() if label_item is not None else None
        field = field_item.widget() if field_item is not None else None
        if isinstance(label, QLabel):
            label.setText(text)
        if field is not None:
            field.setAccessibleName(text)
            if isinstance(label, QLabel):
                label.setBuddy(field)

    def problems(self) -> str:
        passphrase = self.passphrase.text()
        needs_passphrase = self.session.state == MISSING
        if needs_passphrase and len(passphrase) < MIN_PASSPHRASE:
            return _("The passphrase needs at least {count} characters.").format(
                count=show_number(MIN_PASSPHRASE)
            )
        if needs_passphrase and passphrase != self.passphrase_again.text():
            return _("The two passphrases are not the same.")
        if not self.username.text().strip():
            return _("Enter a user name for the administrator.")
        if len(self.password.text()) < MIN_PASSWORD:
            return _("The password needs at least {count} characters.").format(
                count=show_number(MIN_PASSWORD)
            )
        if self.password.text() != self.password_again.text():
            return _("The two passwords are not the same.")
        return ""

    def submit(self) -> None:
        problem = self.problems()
        if problem:
            self.message.setText(problem)
            return
        self.message.setText(_("Creating the encrypted case log…"))
        self.create_button.setEnabled(False)
        session = self.session
        passphrase = self.passphrase.text() or session.passphrase
        username, display, password = (
            self.username.text(),
            self.display.text(),
            self.password.text(),
        )
        existing = session.db

        def work() -> _Opened:
            db = existing if existing is not None else session.create_store(passphrase)
            return _Opened(db, passphrase, session.create_admin(db, username, display, password))

        self.task = run_task(work, self._done, self._failed)

    def _done(self, opened: _Opened) -> None:
        self.create_button.setEnabled(True)
        for line in (self.passphrase, self.passphrase_again, self.password, self.password_again):
            line.clear()
        self.message.clear()
        if self.session.db is None:
            self.session.attach(opened.db, opened.passphrase)
        assert opened.user is not None
        self.session.log_in(opened.user)

    def _failed(self, exc: BaseException) -> None:
        self.create_button.setEnabled(True)
        if isinstance(exc, UserError):
            self.message.setText(_("This user name cannot be used: use letters, digits, . and -."))
        else:
            self.message.setText(open_problem(exc))


class UnlockPage(Translatable, QWidget):
    """The passphrase (once per run), then a user name and password (after every lock)."""

    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case_unlock")
        self.session = session
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.passphrase = _secret()
        self.passphrase.setObjectName("unlock_passphrase")
        self.username = QLineEdit()
        self.username.setObjectName("unlock_username")
        self.password = _secret()
        self.password.setObjectName("unlock_password")
        self.form = QFormLayout()
        self.form.addRow(QLabel(), self.passphrase)
        self.form.addRow(QLabel(), self.username)
        self.form.addRow(QLabel(), self.password)
        self.message = QLabel()
        self.message.setObjectName("unlock_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.unlock_button = QPushButton()
        self.unlock_button.setObjectName("unlock_button")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.submit)
        for line in (self.passphrase, self.username, self.password):
            line.returnPressed.connect(self.submit)
        box = QWidget()
        box.setMaximumWidth(560)
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self.heading)
        box_layout.addWidget(self.intro)
        box_layout.addLayout(self.form)
        box_layout.addWidget(self.message)
        box_layout.addWidget(self.unlock_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.task: Any = None
        session.state_changed.connect(self.prepare)
        self.retranslate()
        self.prepare()

    def retranslate(self) -> None:
        self.heading.setText(_("The case log is locked"))
        SetupPage._label(self.form, 0, _("Centre passphrase"))
        SetupPage._label(self.form, 1, _("User name"))
        SetupPage._label(self.form, 2, _("Password"))
        self.unlock_button.setText(_("&Unlock"))
        self._intro()

    def _intro(self) -> None:
        if self.session.state == CLOSED:
            self.intro.setText(
                _("Enter the centre passphrase to open the encrypted case log, then log in.")
            )
        else:
            self.intro.setText(
                _("The case log was locked to protect workers' data. Log in to continue.")
            )

    def prepare(self, _state: str = "") -> None:
        needs_passphrase = self.session.state == CLOSED
        self.form.setRowVisible(0, needs_passphrase)
        self._intro()
        self.password.clear()
        (self.passphrase if needs_passphrase else self.username).setFocus()

    def submit(self) -> None:
        if not self.unlock_button.isEnabled():  # already unlocking
            return
        session = self.session
        passphrase = self.passphrase.text()
        username, password = self.username.text(), self.password.text()
        if session.state == CLOSED and not passphrase:
            self.message.setText(_("Enter the centre passphrase."))
            return
        if not username or not password:
            self.message.setText(_("Enter your user name and password."))
            return
        self.message.setStyleSheet("")
        self.message.setText(_("Unlocking…"))
        self.unlock_button.setEnabled(False)
        existing = session.db

        def work() -> _Opened:
            db = existing if existing is not None else session.open_store(passphrase)
            try:
                return _Opened(db, passphrase, session.check_login(db, username, password))
            except Exception:
                if existing is None:
                    db.close()
                raise

        self.task = run_task(work, self._done, self._failed)

    def _done(self, opened: _Opened) -> None:
        self.unlock_button.setEnabled(True)
        self.message.setStyleSheet(ERROR_STYLE)
        if self.session.db is None:
            self.passphrase.clear()
            self.session.attach(opened.db, opened.passphrase)
        if opened.user is None:
            self.password.clear()
            self.message.setText(_("Wrong user name or password."))
            self.password.setFocus()
            return
        self.message.clear()
        self.password.clear()
        self.session.log_in(opened.user)

    def _failed(self, exc: BaseException) -> None:
        self.unlock_button.setEnabled(True)
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(open_problem(exc))
        self.passphrase.selectAll()
        self.passphrase.setFocus()
