"""Desk users for administrators: who can log in to the case log, and adding someone.

Only administrators may open it for real; anyone else sees one line saying so. Each
problem is shown beside its field in the interface language (``users.UserError`` carries
an English reason for logs and the CLI; it is mapped to a translated message here). The
dialog closes when the case log locks, forgetting any password typed into it.
"""

from __future__ import annotations

import unicodedata

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.cases import users, vocab
from mrc_desktop.cases.validation import BIDI_CONTROLS
from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.cases.agency_register import typed
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.locale_format import show_number
from mrc_desktop.ui.translatable import Translatable, translate_buttons
from mrc_desktop.ui.widgets.field_messages import error_label, with_message
from mrc_desktop.ui.widgets.row_table_model import RowTableModel, row_table_view

Index = QModelIndex | QPersistentModelIndex
TOO_SHORT = "too_short"  # stands for the minimum-length message (a plural form)
FIELDS = ("username", "display_name", "role", "password", "repeat")
# users.UserError reasons (English, stable prefixes) → the field and what to tell the admin.
USER_ERRORS = (
    ("user names use", "username", N_("A user name can hold letters, digits, '.' and '-' only.")),
    ("role must be", "role", N_("Choose a role.")),
    ("passwords need", "password", TOO_SHORT),
    ("there is already", "username", N_("There is already a user with this name.")),
)


def too_short() -> str:
    return i18n.ngettext(
        "A password needs at least {count} character.",
        "A password needs at least {count} characters.",
        users.MIN_PASSWORD,
    ).format(count=show_number(users.MIN_PASSWORD))


def role_label(role: str) -> str:
    return _(vocab.ROLES[role]) if role in vocab.ROLES else role


class UsersModel(RowTableModel):
    """The desk's active users: user name, display name, role."""

    columns = (
        ("username", N_("User name")),
        ("display_name", N_("Name shown")),
        ("role", N_("Role")),
    )

    def display(self, key: str, row: users.User) -> str:
        return role_label(row.role) if key == "role" else typed(str(getattr(row, key)))

    def usernames(self) -> list[str]:
        return [u.username for u in self._rows]


class UsersDialog(Translatable, QDialog):
    def __init__(self, session: CaseSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("users_dialog")
        self.session = session
        self.denied = QLabel()
        self.denied.setObjectName("users_denied")
        self.denied.setWordWrap(True)
        self.model = UsersModel()
        self.table = row_table_view(self.model, "users_table")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)  # a list to read
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

        self.add_box = QGroupBox()
        self.add_box.setObjectName("users_add_box")
        self.username = QLineEdit()
        self.username.setObjectName("users_username")
        self.username.setMaxLength(64)
        self.display_name = QLineEdit()
        self.display_name.setObjectName("users_display_name")
        self.display_name.setMaxLength(120)
        self.role = QComboBox()
        self.role.setObjectName("users_role")
        self.role.addItem("", "")
        for key in vocab.ROLES:
            self.role.addItem("", key)
        self.password = QLineEdit()
        self.password.setObjectName("users_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("users_repeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.inputs: dict[str, QWidget] = {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "password": self.password,
            "repeat": self.repeat,
        }
        self.labels = {key: QLabel() for key in FIELDS}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout(self.add_box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for key, widget in self.inputs.items():
            self.labels[key].setBuddy(widget)
            error = error_label(f"users_{key}_error")
            self.errors[key] = error
            form.addRow(self.labels[key], with_message(widget, error))
        self.add_button = QPushButton()
        self.add_button.setObjectName("users_add")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_user)
        self.status = QLabel()
        self.status.setObjectName("users_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow("", self.add_button)
        form.addRow("", self.status)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.denied)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.add_box)
        layout.addWidget(self.buttons)
        self._problems: dict[str, str] = {}
        self._added = ""
        session.state_changed.connect(self._state_changed)
        self.resize(560, 560)
        self.retranslate()
        self.reload()

    def retranslate(self) -> None:
        self.setWindowTitle(_("Desk users"))
        self.denied.setText(_("Only administrators can see and add users."))
        self.add_box.setTitle(_("Add a user"))
        labels = {
            "username": _("&User name:"),
            "display_name": _("&Name shown:"),
            "role": _("&Role:"),
            "password": _("&Password:"),
            "repeat": _("Password &again:"),
        }
        for key, text in labels.items():
            self.labels[key].setText(text)
        self.username.setPlaceholderText(_("For logging in, e.g. sokha.p"))
        self.display_name.setPlaceholderText(_("As colleagues know them"))
        self.role.setItemText(0, _("Choose a role…"))
        for row in range(1, self.role.count()):
            self.role.setItemText(row, role_label(self.role.itemData(row)))
        self.add_button.setText(_("&Add user"))
        translate_buttons(self.buttons)
        self._show_problems(self._problems)
        if self._added:
            self.status.setText(_("{name} can now log in.").format(name=typed(self._added)))
        self.model.retranslate()

    # -- state -------------------------------------------------------------------------
    def allowed(self) -> bool:
        user = self.session.user
        return self.session.state == UNLOCKED and user is not None and user.can("manage_users")

    def reload(self) -> None:
        allowed = self.allowed()
        self.denied.setVisible(not allowed)
        self.table.setVisible(allowed)
        self.add_box.setVisible(allowed)
        self.add_box.setEnabled(allowed)
        if allowed and self.session.db is not None:
            self.model.set_rows(users.list_users(self.session.db))
        else:
            self.model.clear()

    def _state_changed(self, state: str) -> None:
        if state != UNLOCKED:
            self._forget()
            self.model.clear()
            self.reject()

    def _forget(self) -> None:
        for field in (self.password, self.repeat):
            field.clear()

    # -- adding ------------------------------------------------------------------------
    def add_user(self) -> bool:
        """Check the form, create the user, and say so; problems are shown at the fields."""
        self._added = ""
        self.status.clear()
        if not self.allowed():
            self.reload()
            return False
        username = self.username.text().strip()
        role = str(self.role.currentData() or "")
        password, repeat = self.password.text(), self.repeat.text()
        problems: dict[str, str] = {}
        if not username:
            problems["username"] = N_("Enter a user name.")
        display = self.display_name.text()
        if any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in display):
            problems["display_name"] = N_(
                "Contains hidden direction marks or control characters: retype it."
            )
        if not role:
            problems["role"] = N_("Choose a role.")
        if len(password) < users.MIN_PASSWORD:
            problems["password"] = TOO_SHORT
        elif password != repeat:
            problems["repeat"] = N_("The two passwords are not the same.")
        self._show_problems(problems)
        if problems:
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # Argon2id hashing
        try:
            made = self.session.new_user(username, display, role, password)
        except users.UserError as exc:
            self._show_problems(self._map_error(exc))
            return False
        except PermissionError:
            self.reload()
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._added = made.display_name
        self.status.setText(_("{name} can now log in.").format(name=typed(made.display_name)))
        for field in (self.username, self.display_name):
            field.clear()
        self.role.setCurrentIndex(0)
        self._forget()
        self.reload()
        return True

    @staticmethod
    def _map_error(exc: users.UserError) -> dict[str, str]:
        reason = str(exc)
        for prefix, field, message in USER_ERRORS:
            if reason.startswith(prefix):
                return {field: message}
        return {"_": reason}

    def _show_problems(self, problems: dict[str, str]) -> None:
        self._problems = problems
        first: QWidget | None = None
        for key, error in self.errors.items():
            problem = problems.get(key, "")
            text = too_short() if problem == TOO_SHORT else (_(problem) if problem else "")
            error.setText(text)
            error.setVisible(bool(text))
            if text and first is None:
                first = self.inputs[key]
        if "_" in problems:
            # An unforeseen reason: English from users.py, better than saying nothing.
            self.status.setText(
                _("The user could not be added: {reason}").format(reason=problems["_"])
            )
        if first is not None:
            first.setFocus()
