"""Opening the case store without the app: passphrase, acting user, backups, restore.

The ``mrc`` command uses these; the app reuses ``ensure_daily_backup`` once the store is
unlocked. The passphrase comes from ``MRC_PASSPHRASE`` (automation only) or a getpass
prompt; it is never printed or logged. Every problem is an ``UnlockError`` whose message
is one line for a person, never a traceback.

Acting user: ``--user NAME`` is checked against the users table (password from
``MRC_PASSWORD`` or a prompt). Without it the command line acts as the built-in ``cli``
identity, which has a counsellor's rights at most: it may list cases without personal
fields, make backups and check an import, but never export personal data.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import migrations, open_case_store
from mrc_desktop.cases.users import User, authenticate
from mrc_desktop.storage import backup
from mrc_desktop.storage.database import DatabaseOpenError
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.encrypted import WrongPassphraseError
from mrc_desktop.storage.migrate import DatabaseTooNewError

if TYPE_CHECKING:
    import sqlite_utils

    from mrc_desktop.storage.paths import AppPaths

ENV_PASSPHRASE = "MRC_PASSPHRASE"
ENV_PASSWORD = "MRC_PASSWORD"
# Audit identities that are not people: the app's own scheduled work, and the command line
# run without --user. Both have counsellor rights (no personal export, no audit log).
SYSTEM_USER = User("system", "system", "MRC Desk (automatic)", "counsellor")
CLI_USER = User("cli", "cli", "command line", "counsellor")


class UnlockError(RuntimeError):
    """The store cannot be opened or the user not identified; the message is one line."""


def read_secret(env_name: str, prompt: str) -> str:
    """A secret from the environment (automation) or typed at a hidden prompt."""
    value = os.environ.get(env_name)
    if value:
        return value
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt) as exc:
        raise UnlockError(f"no input (set {env_name} for unattended use)") from exc


def read_passphrase(prompt: str = "Case store passphrase: ") -> str:
    return read_secret(ENV_PASSPHRASE, prompt)


def desk_id_of(paths: AppPaths) -> str:
    store = DeskStore(paths.desk_db)
    try:
        return store.desk_id()
    finally:
        store.close()


def unlock(paths: AppPaths, passphrase: str | None = None) -> tuple[sqlite_utils.Database, str]:
    """Open ``paths.cases_db`` (migrated) and return it with this desk's id."""
    path = paths.cases_db
    if not path.exists():
        raise UnlockError(f"{path}: no case store here yet (create it in MRC Desk first)")
    if passphrase is None:
        passphrase = read_passphrase()
    try:
        db = open_case_store(path, passphrase)
    except WrongPassphraseError as exc:
        raise UnlockError(f"{path}: the passphrase does not open this case store") from exc
    except (DatabaseOpenError, DatabaseTooNewError) as exc:
        raise UnlockError(str(exc)) from exc
    try:
        return db, desk_id_of(paths)
    except BaseException:
        db.close()
        raise


def acting_user(db: sqlite_utils.Database, username: str | None) -> User:
    """The user a command acts as: ``username`` after a password check, else ``CLI_USER``."""
    if not username:
        return CLI_USER
    password = read_secret(ENV_PASSWORD, f"Password for {username}: ")
    user = authenticate(db, username, password)
    if user is None:
        raise UnlockError(f"user {username!r}: unknown, disabled, or wrong password")
    return user


def backup_case_store(
    db: sqlite_utils.Database,
    passphrase: str,
    db_path: Path,
    dest_dir: Path,
    user: User,
    desk_id: str,
    keep: int,
    now: dt.datetime | None = None,
) -> tuple[Path, list[Path]]:
    """Back up now, record it in the audit log, rotate; return the file and those removed."""
    made = backup.make_backup(db, passphrase, backup.read_key_params(db_path), dest_dir, now)
    CaseRepository(db, user, desk_id).record("backup", None, new=made.name)
    return made, backup.rotate(dest_dir, keep, now)


def ensure_daily_backup(
    paths: AppPaths,
    db: sqlite_utils.Database,
    passphrase: str,
    keep: int,
    user: User = SYSTEM_USER,
    desk_id: str | None = None,
    now: dt.datetime | None = None,
) -> Path | None:
    """Make a backup if the newest in ``paths.backups`` is a day old (or none); rotate.

    Returns the new backup, or None when a recent one exists.
    """
    made = None
    if backup.backup_due(paths.backups, now):
        made, _removed = backup_case_store(
            db,
            passphrase,
            paths.cases_db,
            paths.backups,
            user,
            desk_id or desk_id_of(paths),
            keep,
            now,
        )
    else:
        backup.rotate(paths.backups, keep, now)
    return made


def restore_case_store(
    paths: AppPaths,
    backup_file: Path,
    passphrase: str,
    user: User,
    confirm: Callable[[], bool] | None = None,
    prepare: Callable[[sqlite_utils.Database], None] | None = None,
) -> backup.RestoreResult | None:
    """Check ``backup_file`` and put it in place of ``paths.cases_db`` (see ``backup.restore``).

    The restored store gets a ``restore`` audit row naming the backup, written into the
    checked copy before it goes into place, and ``prepare`` (the sync layer's
    ``start_as_new_desk``) runs there too. A wrong passphrase is an ``UnlockError``; a
    damaged backup a ``BackupError``, one from a newer app a ``DatabaseTooNewError``.
    """

    def record(db: sqlite_utils.Database) -> None:
        CaseRepository(db, user, desk_id_of(paths)).record("restore", None, new=backup_file.name)
        if prepare is not None:
            prepare(db)

    try:
        return backup.restore(
            backup_file, passphrase, paths.cases_db, migrations, confirm, on_verified=record
        )
    except WrongPassphraseError as exc:
        raise UnlockError(str(exc)) from exc
