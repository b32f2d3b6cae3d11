"""Encrypted backups of the case store, their rotation, and restoring one.

A backup is ``cases-YYYYMMDD-HHMMSS.db`` (UTC) with its ``.key.json`` beside it: a
SQLCipher copy made by ``export_encrypted`` with the store's own key-derivation
parameters, so the same passphrase opens it. Everything in the database goes with it:
cases, entries, attachments, users and the audit log.

Nothing here knows what a case is. The caller passes the migration set a restored file
must not be newer than, and records audit rows (the case layer does that).

Crash safety: a backup is built in a hidden ``.partial-*`` folder, fsynced, and only
then renamed to its final name, key file first, so a file under a backup name is
always complete. A restore copies the backup next to the store, checks that copy
(passphrase, ``PRAGMA integrity_check``, migrations), and only then moves the current
store aside and renames the checked copy into place.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mrc_desktop.storage import sqlite_build
from mrc_desktop.storage.database import DatabaseOpenError
from mrc_desktop.storage.encrypted import (
    KeyParams,
    WrongPassphraseError,
    export_encrypted,
    key_file,
    open_encrypted,
)
from mrc_desktop.storage.files import fsync_dir, fsync_file
from mrc_desktop.storage.migrate import applied_names, known_names, refuse_if_newer

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils import Migrations

NAME = re.compile(r"^cases-(\d{8}-\d{6})(?:-(\d+))?\.db$")
STAMP = "%Y%m%d-%H%M%S"
DAY = dt.timedelta(hours=24)
PARTIAL_PREFIX = ".partial-"
STALE_PARTIAL = dt.timedelta(hours=1)
SQLITE_CORRUPT = 11


class BackupError(RuntimeError):
    """A backup cannot be made or restored; the message is one line for a person."""


@dataclass(frozen=True, order=True)
class Backup:
    """One backup file; ordered oldest first by its UTC time stamp."""

    taken_at: dt.datetime
    sequence: int
    path: Path

    @property
    def key_path(self) -> Path:
        return key_file(self.path)


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    target: Path
    moved_aside: Path | None  # the folder holding the previous store, or None if there was none
    moved_files: tuple[str, ...]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_key_params(db_path: Path) -> KeyParams:
    """The store's key-derivation parameters (salt and limits), from the file beside it."""
    keyfile = key_file(db_path)
    try:
        return KeyParams.from_json(keyfile.read_text("utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise DatabaseOpenError(keyfile, "the key file is missing or damaged") from exc


# -- making backups -----------------------------------------------------------------


def list_backups(dest_dir: Path) -> list[Backup]:
    """Backups in ``dest_dir``, newest first (files that merely look similar are ignored)."""
    if not dest_dir.is_dir():
        return []
    found = []
    for path in dest_dir.iterdir():
        match = NAME.match(path.name)
        if not match or not path.is_file():
            continue
        taken = dt.datetime.strptime(match[1], STAMP).replace(tzinfo=dt.UTC)
        found.append(Backup(taken, int(match[2] or 0), path))
    return sorted(found, reverse=True)


def make_backup(
    db: sqlite_utils.Database,
    passphrase: str,
    params: KeyParams,
    dest_dir: Path,
    now: dt.datetime | None = None,
) -> Path:
    """Write an encrypted backup of ``db`` into ``dest_dir`` and return its path.

    ``params`` must be the store's own (``read_key_params``) for the same passphrase to
    open the backup; it costs one key derivation.
    """
    taken = (now or utc_now()).astimezone(dt.UTC)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = _free_name(dest_dir, taken)
    partial = dest_dir / f"{PARTIAL_PREFIX}{final.stem}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        staged = partial / final.name
        try:
            export_encrypted(db, staged, passphrase, params)
        except sqlite_build.sqlite.Error as exc:
            raise BackupError(f"{dest_dir}: the backup could not be written ({exc})") from exc
        fsync_file(staged)
        fsync_file(key_file(staged))
        # Key file first: a database under a backup name always has its key beside it.
        os.replace(key_file(staged), key_file(final))
        os.replace(staged, final)
        fsync_dir(dest_dir)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BackupError(f"{dest_dir}: the backup could not be written ({reason})") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


def rotate(dest_dir: Path, keep: int, now: dt.datetime | None = None) -> list[Path]:
    """Keep the newest ``keep`` backups (database and key file); delete older ones.

    Also removes what an interrupted backup left behind (``.partial-*`` folders older
    than an hour). Returns the backup files deleted.
    """
    if keep < 1:
        raise ValueError("keep at least one backup")
    removed = []
    for backup in list_backups(dest_dir)[keep:]:
        backup.key_path.unlink(missing_ok=True)
        backup.path.unlink(missing_ok=True)
        removed.append(backup.path)
    cutoff = (now or utc_now()) - STALE_PARTIAL
    if dest_dir.is_dir():
        for leftover in dest_dir.glob(f"{PARTIAL_PREFIX}*"):
            modified = dt.datetime.fromtimestamp(leftover.stat().st_mtime, dt.UTC)
            if leftover.is_dir() and modified < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)
    return removed


def backup_due(dest_dir: Path, now: dt.datetime | None = None, max_age: dt.timedelta = DAY) -> bool:
    """True when there is no backup, the newest is older than ``max_age``, or it is dated
    in the future (a clock that went backwards must not stop backups for good)."""
    backups = list_backups(dest_dir)
    if not backups:
        return True
    age = (now or utc_now()) - backups[0].taken_at
    return age >= max_age or age < dt.timedelta(0)


# -- restoring ----------------------------------------------------------------------


def restore(
    backup_file: Path,
    passphrase: str,
    target_db_path: Path,
    migrations: Migrations,
    confirm: Callable[[], bool] | None = None,
    on_verified: Callable[[sqlite_utils.Database], None] | None = None,
    now: dt.datetime | None = None,
) -> RestoreResult | None:
    """Replace the store at ``target_db_path`` with ``backup_file``, after checking it.

    The backup is copied beside the store and that copy is opened with ``passphrase``,
    checked with ``PRAGMA integrity_check`` and against ``migrations`` (a backup from a
    newer app is refused). Any problem raises ``BackupError`` or ``WrongPassphraseError``
    and leaves the current store exactly as it was. ``on_verified`` may write to the
    checked copy (an audit row) before it goes into place; ``confirm`` returning False
    stops there (result None). Then the current store (database, ``-wal``, ``-shm``, key
    file) is moved into a ``<name>.before-restore-<stamp>`` folder and the copy renamed
    into place.
    """
    keyfile = key_file(backup_file)
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such backup file")
    if not keyfile.is_file():
        raise BackupError(f"{backup_file}: its key file {keyfile.name} is missing beside it")
    size = backup_file.stat().st_size
    if size == 0 or size % 512:
        raise BackupError(f"{backup_file}: the file is damaged or truncated")
    stamp = (now or utc_now()).astimezone(dt.UTC).strftime(STAMP)
    target_dir = target_db_path.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    staging = target_dir / f".restoring-{stamp}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        staged = staging / target_db_path.name
        shutil.copyfile(backup_file, staged)
        shutil.copyfile(keyfile, key_file(staged))
        _verify_copy(backup_file, staged, passphrase, migrations, on_verified)
        fsync_file(staged)
        fsync_file(key_file(staged))
        if confirm is not None and not confirm():
            return None
        aside, moved = _move_aside(target_db_path, stamp)
        os.replace(key_file(staged), key_file(target_db_path))
        os.replace(staged, target_db_path)
        fsync_dir(target_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreResult(backup_file, target_db_path, aside, moved)


def _verify_copy(
    original: Path,
    staged: Path,
    passphrase: str,
    migrations: Migrations,
    on_verified: Callable[[sqlite_utils.Database], None] | None,
) -> None:
    try:
        db = open_encrypted(staged, passphrase)
    except WrongPassphraseError as exc:
        cause = exc.__cause__
        if getattr(cause, "sqlite_errorcode", None) == SQLITE_CORRUPT:
            raise BackupError(f"{original}: the file is damaged or truncated") from exc
        raise WrongPassphraseError(
            f"{original}: the passphrase does not open this backup (or the file is damaged)"
        ) from exc
    except DatabaseOpenError as exc:
        raise BackupError(f"{original}: {exc.reason}") from exc
    try:
        try:
            result = [row[0] for row in db.execute("pragma integrity_check").fetchall()]
            applied = applied_names(db.conn, migrations.name)
        except sqlite_build.sqlite.DatabaseError as exc:
            raise BackupError(f"{original}: the file is damaged ({exc})") from exc
        if result != ["ok"]:
            raise BackupError(f"{original}: the integrity check failed ({result[0]})")
        if not applied:
            raise BackupError(f"{original}: this is not a backup of this kind of store")
        refuse_if_newer(original, applied, known_names(migrations))
        if on_verified is not None:
            on_verified(db)
        # No -wal/-shm beside the copy: everything is in the one file that gets renamed.
        db.execute("pragma journal_mode = delete")
    finally:
        db.close()


def _move_aside(target: Path, stamp: str) -> tuple[Path | None, tuple[str, ...]]:
    """Move the current store's files into one folder beside it; return it and the names."""
    companions = [
        target,
        target.with_name(target.name + "-wal"),
        target.with_name(target.name + "-shm"),
        key_file(target),
    ]
    present = [path for path in companions if path.exists()]
    if not present:
        return None, ()
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    aside.mkdir()
    for path in present:
        os.replace(path, aside / path.name)
    fsync_dir(aside)
    return aside, tuple(path.name for path in present)


# -- helpers ------------------------------------------------------------------------


def _free_name(dest_dir: Path, taken: dt.datetime) -> Path:
    base = f"cases-{taken.strftime(STAMP)}"
    candidate = dest_dir / f"{base}.db"
    sequence = 1
    while candidate.exists() or key_file(candidate).exists():
        sequence += 1
        candidate = dest_dir / f"{base}-{sequence}.db"
    return candidate
