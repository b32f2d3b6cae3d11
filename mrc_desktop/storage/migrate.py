"""Apply named, ordered, transactional migrations; refuse databases from newer apps.

Each store declares one ``sqlite_utils.Migrations`` set. Before any window
opens the app applies what is pending. If the file records a migration this
build does not know, it was written by a newer MRC Desk and is refused rather
than guessed at.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations


class DatabaseTooNewError(RuntimeError):
    """The database was written by a newer version of the app."""

    def __init__(self, path: Path, unknown: list[str]) -> None:
        super().__init__(
            f"{path} was written by a newer version of MRC Desk "
            f"(unknown migrations: {', '.join(unknown)}). Update MRC Desk to open it."
        )
        self.path = path
        self.unknown = unknown


def known_names(migrations: Migrations) -> list[str]:
    """Every migration this build knows, in order (all of them are pending on an empty db)."""
    return [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


def apply_migrations(db: sqlite_utils.Database, migrations: Migrations, path: Path) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    applied = [m.name for m in migrations.applied(db)]
    known = known_names(migrations)
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise DatabaseTooNewError(path, unknown)
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
