"""The open case log, shared by the case screens: store, logged-in user, change signals.

States: ``missing`` (no store on this desk yet), ``closed`` (store on disk, not opened in
this run), ``locked`` (opened, nobody logged in: no personal data may be shown) and
``unlocked``. Screens listen to ``state_changed`` and hide everything personal unless
the state is ``unlocked``; writers announce changes through ``cases_changed``.

The passphrase and the key stay in memory while the store is open (backups need them);
locking forgets the user, closing the store forgets the key.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from PySide6.QtCore import QObject, Signal

from mrc_desktop.cases import users
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.storage.encrypted import KeyParams
from mrc_desktop.storage.paths import AppPaths

log = logging.getLogger("mrc_desktop.cases")

MISSING, CLOSED, LOCKED, UNLOCKED = "missing", "closed", "locked", "unlocked"


class CaseSession(QObject):
    state_changed = Signal(str)
    about_to_lock = Signal()  # forms save their drafts while the user is still known
    cases_changed = Signal(str)  # a case id, or "" when many changed
    agencies_changed = Signal()

    def __init__(
        self,
        paths: AppPaths,
        desk_id: str,
        key_params: KeyParams | None = None,
        password_cost: dict[str, int] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.desk_id = desk_id
        self.db: sqlite_utils.Database | None = None
        self.user: users.User | None = None
        self._passphrase = ""
        self._key_params = key_params  # tests pass cheap Argon2id limits
        self._password_cost = password_cost or {}

    # -- state ---------------------------------------------------------------------
    @property
    def state(self) -> str:
        if self.db is None:
            return CLOSED if self.paths.cases_db.exists() else MISSING
        return UNLOCKED if self.user is not None else LOCKED

    @property
    def repo(self) -> CaseRepository:
        if self.db is None or self.user is None:
            raise PermissionError("the case log is locked")
        return CaseRepository(self.db, self.user, self.desk_id)

    @property
    def passphrase(self) -> str:
        return self._passphrase

    # -- opening (slow: Argon2id; callers run these on a worker thread) -----------------
    def create_store(self, passphrase: str) -> sqlite_utils.Database:
        return open_case_store(
            self.paths.cases_db, passphrase, create=True, params=self._key_params
        )

    def open_store(self, passphrase: str) -> sqlite_utils.Database:
        return open_case_store(self.paths.cases_db, passphrase)

    def create_admin(
        self, db: sqlite_utils.Database, username: str, display: str, password: str
    ) -> users.User:
        return users.create_user(
            db, self.desk_id, username, display, "admin", password, **self._password_cost
        )

    def new_user(self, username: str, display: str, role: str, password: str) -> users.User:
        if self.db is None or self.user is None or not self.user.can("manage_users"):
            raise PermissionError("only administrators add users")
        made = users.create_user(
            self.db, self.desk_id, username, display, role, password, **self._password_cost
        )
        self.repo.record("add_user", None, "username", None, made.username)
        return made

    @staticmethod
    def check_login(db: sqlite_utils.Database, username: str, password: str) -> Any:
        return users.authenticate(db, username, password)

    # -- transitions (UI thread) ---------------------------------------------------
    def attach(self, db: sqlite_utils.Database, passphrase: str) -> None:
        """Adopt a store opened on a worker thread."""
        self.close()
        self.db = db
        self._passphrase = passphrase
        self.state_changed.emit(self.state)

    def log_in(self, user: users.User) -> None:
        self.user = user
        self.repo.record("login", None)
        log.info("case log unlocked (role %s)", user.role)
        self.state_changed.emit(self.state)

    def lock(self) -> None:
        if self.user is None:
            return
        self.about_to_lock.emit()
        self.repo.record("lock", None)
        self.user = None
        log.info("case log locked")
        self.state_changed.emit(self.state)

    def close(self) -> None:
        if self.db is not None:
            self.lock()
            self.db.close()
            self.db = None
            self._passphrase = ""
            self.state_changed.emit(self.state)

    def has_users(self) -> bool:
        return self.db is not None and users.has_users(self.db)
