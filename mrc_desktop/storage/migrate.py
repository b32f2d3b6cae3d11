"""Apply named, ordered, transactional migrations; refuse databases from newer apps.

Each store declares one ``sqlite_utils.Migrations`` set. Before any window
opens the app applies what is pending. If the file records a migration this
build does not know, it was written by a newer MRC Desk and is refused rather
than guessed at.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mrc_desktop.storage import sqlite_build

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils import Migrations

MIGRATIONS_TABLE = "_sqlite_migrations"  # the table sqlite_utils.Migrations keeps


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
    import sqlite_utils

    return [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


def applied_names(conn: sqlite_build.Connection, set_name: str) -> list[str]:
    """Names recorded as applied for one migration set, read without sqlite-utils."""
    exists = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = ?", [MIGRATIONS_TABLE]
    ).fetchone()
    if not exists:
        return []
    rows = conn.execute(
        f"select name from {MIGRATIONS_TABLE} where migration_set = ? order by rowid", [set_name]
    ).fetchall()
    return [row[0] for row in rows]


def refuse_if_newer(path: Path, applied: list[str], known: list[str]) -> None:
    unknown = [name for name in applied if name not in known]
    if unknown:
        raise DatabaseTooNewError(path, unknown)


def apply_migrations(db: sqlite_utils.Database, migrations: Migrations, path: Path) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    refuse_if_newer(path, [m.name for m in migrations.applied(db)], known_names(migrations))
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
