"""`mrc backup`, `mrc restore`, `mrc cases list` and `mrc cases import`.

The parsers are declared here and joined to ``mrc`` by ``cli.py``. This module imports
only the standard library at the top, so ``mrc --version`` stays fast; each handler
imports the case store when it runs.

Exit codes: 0 ok, 1 problems found (rejected rows, a damaged backup), 2 usage or
unlock errors (wrong passphrase, unknown user, not allowed).
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

    from mrc_desktop.cases.csv_import import ImportPlan

COMMANDS = ("backup", "restore", "cases")
LIST_COLUMNS = (
    "reference",
    "status",
    "destination_country",
    "categories",
    "created_at",
    "updated_at",
    "assignee",
)
# --personal adds these; the narrative only goes into --json (too long for a table).
TABLE_PERSONAL = ("person_name", "birth_date", "age", "phone", "messaging", "employer")
HEADINGS = {
    "destination_country": "destination",
    "created_at": "created",
    "updated_at": "updated",
    "person_name": "name",
    "birth_date": "born",
}
USER_HELP = "act as this user (password from MRC_PASSWORD or a prompt); default: 'cli'"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def add_parsers(commands: Any) -> None:
    """Add ``backup``, ``restore`` and ``cases`` to the ``mrc`` sub-command set."""
    backup = commands.add_parser("backup", help="make an encrypted backup of the case store")
    backup.add_argument("--to", type=Path, help="folder for the backup (default: the app's)")
    backup.add_argument(
        "--keep",
        type=positive_int,
        help="backups to keep in that folder (default: the app's setting, 14 unless changed)",
    )
    backup.add_argument("--user", help=USER_HELP)
    restore = commands.add_parser(
        "restore", help="replace the case store with a backup (the current one is kept aside)"
    )
    restore.add_argument("file", type=Path, help="a cases-YYYYMMDD-HHMMSS.db backup")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cases = commands.add_parser("cases", help="list or import cases")
    cases.set_defaults(cases_help=cases.print_help)
    actions = cases.add_subparsers(dest="cases_command", metavar="ACTION")
    listing = actions.add_parser("list", help="list cases (no personal data unless --personal)")
    listing.add_argument(
        "--status", nargs="+", action="extend", default=[], metavar="S", help="only these"
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.add_argument(
        "--personal",
        action="store_true",
        help="include names, phones and narratives (supervisors and admins; audited)",
    )
    listing.add_argument("--limit", type=positive_int, help="at most N cases (newest first)")
    listing.add_argument("--user", help=USER_HELP)
    importing = actions.add_parser(
        "import", help="import cases from a CSV file (all rows or none; see docs/case-import.md)"
    )
    importing.add_argument("file", type=Path)
    importing.add_argument("--mapping", type=Path, help="TOML file mapping headers and values")
    importing.add_argument(
        "--dry-run", action="store_true", help="check every row, report, write nothing"
    )
    importing.add_argument("--user", help="the user the cases are imported as (needed to write)")


def run(args: argparse.Namespace) -> int:
    from mrc_desktop.cases.unlock import UnlockError

    handlers: dict[str | None, Callable[[argparse.Namespace], int]] = {
        "backup": backup_command,
        "restore": restore_command,
    }
    if args.command == "cases":
        handlers = {"list": list_command, "import": import_command}
        key = args.cases_command
        if key is None:
            args.cases_help()
            return 0
    else:
        key = args.command
    try:
        return handlers[key](args)
    except UnlockError as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 2


# -- backup and restore -------------------------------------------------------------


def backup_command(args: argparse.Namespace) -> int:
    from mrc_desktop.cases.unlock import acting_user, backup_case_store, read_passphrase, unlock
    from mrc_desktop.settings import load_settings
    from mrc_desktop.storage.backup import BackupError
    from mrc_desktop.storage.paths import app_paths

    paths = app_paths()
    keep = args.keep or int(load_settings(paths.settings_file)[0].get("backup_keep"))
    passphrase = read_passphrase()
    db, desk_id = unlock(paths, passphrase)
    try:
        user = acting_user(db, args.user)
        made, removed = backup_case_store(
            db, passphrase, paths.cases_db, args.to or paths.backups, user, desk_id, keep
        )
    except BackupError as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(made)
    if removed:
        print(f"removed {_count(len(removed), 'older backup')}; keeping {keep}", file=sys.stderr)
    return 0


def restore_command(args: argparse.Namespace) -> int:
    from mrc_desktop.cases.unlock import CLI_USER, read_passphrase, restore_case_store
    from mrc_desktop.storage.backup import BackupError
    from mrc_desktop.storage.migrate import DatabaseTooNewError
    from mrc_desktop.storage.paths import app_paths

    paths = app_paths()
    target = paths.cases_db

    def confirm() -> bool:
        print(
            f"Replace the case store {target} with {args.file}?"
            " The current one is moved aside, not deleted. [y/N] ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        answer = sys.stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    new_desk = _NewDesk()
    passphrase = read_passphrase("Backup passphrase: ")
    try:
        result = restore_case_store(
            paths, args.file, passphrase, CLI_USER, None if args.yes else confirm, new_desk.run
        )
    except (BackupError, DatabaseTooNewError) as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        print(f"nothing changed: {target} is as it was", file=sys.stderr)
        return 1
    if result is None:
        print("not restored: nothing changed", file=sys.stderr)
        return 1
    print(f"restored {result.restored_from} to {result.target}")
    if result.moved_aside is not None:
        print(f"moved aside to {result.moved_aside}: {', '.join(result.moved_files)}")
    if new_desk.hub_url:
        print(
            f"sync: the restored store is a new desk for the hub {new_desk.hub_url}; run"
            " mrc enrol --hub URL and ask the hub admin to approve it (the old desk's batches"
            " reach it through the hub)"
        )
    return 0


class _NewDesk:
    """Runs ``sync.restore.start_as_new_desk`` on the checked copy; remembers the hub."""

    hub_url: str | None = None

    def run(self, db: sqlite_utils.Database) -> None:
        from mrc_desktop.sync.restore import start_as_new_desk
        from mrc_desktop.sync.state import load_state

        self.hub_url = load_state(db).hub_url
        start_as_new_desk(db)


# -- cases list ---------------------------------------------------------------------


def list_command(args: argparse.Namespace) -> int:
    from mrc_desktop.cases.repository import CaseRepository
    from mrc_desktop.cases.unlock import acting_user, unlock
    from mrc_desktop.cases.vocab import STATUSES
    from mrc_desktop.storage.paths import app_paths

    unknown = [s for s in args.status if s not in STATUSES]
    if unknown:
        print(
            f"mrc: unknown status {', '.join(unknown)} (use {', '.join(STATUSES)})",
            file=sys.stderr,
        )
        return 2
    db, desk_id = unlock(app_paths())
    try:
        user = acting_user(db, args.user)
        if args.personal and not user.can("export_personal"):
            print(
                f"mrc: --personal needs a supervisor or admin (acting as {user.username!r};"
                " use --user NAME)",
                file=sys.stderr,
            )
            return 2
        rows = _case_rows(db, tuple(args.status), args.personal, args.limit)
        if args.personal:
            CaseRepository(db, user, desk_id).record(
                "export", None, "personal", None, f"mrc cases list: {len(rows)} cases"
            )
    finally:
        db.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        columns = [*LIST_COLUMNS, *(TABLE_PERSONAL if args.personal else ())]
        print(_table(rows, columns))
    print(_count(len(rows), "case"), file=sys.stderr)
    return 0


def _case_rows(
    db: sqlite_utils.Database, statuses: tuple[str, ...], personal: bool, limit: int | None
) -> list[dict[str, Any]]:
    from mrc_desktop.cases.repository import CaseFilter
    from mrc_desktop.cases.schema import PERSONAL_FIELDS

    columns = ["id", *LIST_COLUMNS, *(PERSONAL_FIELDS if personal else ())]
    where, params = CaseFilter(status=statuses).where()
    sql = (
        f"select {', '.join('c.' + c for c in columns)} from cases c where {where}"
        " order by c.updated_at desc, c.id"
    )
    if limit:
        sql += " limit ?"
        params.append(limit)
    rows = []
    for values in db.execute(sql, params).fetchall():
        row = dict(zip(columns, values, strict=True))
        row["categories"] = json.loads(row["categories"] or "[]")
        rows.append(row)
    return rows


def _width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _cell(row: dict[str, Any], column: str) -> str:
    value = row.get(column)
    if isinstance(value, list):
        return ", ".join(value)
    text = "" if value is None else str(value)
    if column in ("created_at", "updated_at"):
        return text[:10]
    return " ".join(text.split())


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    headings = [HEADINGS.get(c, c) for c in columns]
    cells = [[_cell(row, c) for c in columns] for row in rows]
    widths = [max([_width(h), *(_width(r[i]) for r in cells)]) for i, h in enumerate(headings)]

    def line(values: list[str]) -> str:
        padded = [v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headings), line(["-" * w for w in widths]), *map(line, cells)])


# -- cases import -------------------------------------------------------------------


def import_command(args: argparse.Namespace) -> int:
    from mrc_desktop.cases.csv_import import (
        ImportFileError,
        apply_import,
        check_rows,
        load_mapping,
        read_import,
    )
    from mrc_desktop.cases.repository import CaseRepository
    from mrc_desktop.cases.unlock import CLI_USER, acting_user, unlock
    from mrc_desktop.storage.paths import app_paths

    path: Path = args.file
    try:
        mapping = load_mapping(args.mapping) if args.mapping else None
    except ImportFileError as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 2
    if not path.is_file():
        print(f"mrc: {path}: no such file", file=sys.stderr)
        return 2
    try:
        plan = read_import(path, mapping)  # file-level problems show before any prompt
    except ImportFileError as exc:
        print(exc)
        return 1
    db, desk_id = unlock(app_paths())
    try:
        user = acting_user(db, args.user)
        if not args.dry_run and user == CLI_USER:
            print(
                "mrc: importing writes cases: name the user they are imported as with"
                " --user NAME (--dry-run works without)",
                file=sys.stderr,
            )
            return 2
        repo = CaseRepository(db, user, desk_id)
        _report(check_rows(repo, plan))
        if plan.rows_total == 0:
            print(f"{path}: no data rows under the header")
            return 1
        ok = len(plan.ready)
        if args.dry_run:
            print(
                f"{path}: {_count(ok, 'row')} ok, {plan.rejected} rejected"
                " (dry run: nothing written)"
            )
            return 1 if plan.rejected else 0
        if plan.rejected:
            print(f"{path}: nothing imported: {plan.rejected} of {plan.rows_total} rows rejected")
            return 1
        ids = apply_import(repo, plan)
    finally:
        db.close()
    agencies = f" and {_count(len(plan.new_agencies), 'new agency', 'new agencies')}"
    print(f"{path}: imported {_count(len(ids), 'case')}{agencies if plan.new_agencies else ''}")
    return 0


def _report(plan: ImportPlan) -> None:
    for ignored in plan.ignored_columns:
        print(f"warning: {plan.path}: column ignored: {ignored}", file=sys.stderr)
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in plan.problems:
        print(problem.format(plan.path))


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
