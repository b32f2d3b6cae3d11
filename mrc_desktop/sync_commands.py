"""`mrc enrol` and `mrc sync`: the desk's side of sync with its hub, for admins and scripts.

    mrc enrol --hub URL [--fingerprint SHA256] [--label TEXT]
                                 make this desk's sync identity (once), pin the hub's TLS
                                 certificate and ask to join; prints the code for the hub admin
    mrc enrol --hub URL --code CODE
                                 after the admin approved CODE: store the desk's certificate
    mrc sync [--hub URL]         push this desk's changes, then pull the centre's
    mrc sync export-bundle OUT   the same by USB: a bundle for the hub (OUT: file or folder)
    mrc sync import-bundle IN    apply the hub's return bundle

The parsers are declared here and joined to ``mrc`` by ``cli.py``; handlers import the
case store and the sync client only when they run, so ``mrc --version`` stays fast.
Exit codes: 0 ok, 1 partial or refused (everything applied so far is kept), 2 usage,
unlock errors, or a desk that is not enrolled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

    from mrc_desktop.sync.client import SyncReport

COMMANDS = ("enrol", "sync")


def add_parsers(commands: Any) -> None:
    """Add ``enrol`` and ``sync`` to the ``mrc`` sub-command set."""
    enrol = commands.add_parser(
        "enrol", help="join this desk to a hub (then, once approved, run again with --code)"
    )
    enrol.add_argument("--hub", required=True, metavar="URL", help="the hub, https://HOST:PORT")
    enrol.add_argument("--code", help="the enrolment code, once the hub admin has approved it")
    enrol.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="the hub's TLS certificate fingerprint, as mrc-hub serve prints it",
    )
    enrol.add_argument("--label", default="", help="a name for this desk, shown to hub admins")
    sync = commands.add_parser("sync", help="send and receive cases through the hub")
    sync.add_argument("--hub", metavar="URL", help="this time, reach the hub at URL")
    actions = sync.add_subparsers(dest="sync_command", metavar="ACTION")
    export = actions.add_parser(
        "export-bundle", help="write this desk's unsent batches to a bundle for the hub (USB)"
    )
    export.add_argument("out", type=Path, help="the bundle file, or a folder for it")
    importing = actions.add_parser("import-bundle", help="apply a return bundle from the hub")
    importing.add_argument("bundle", type=Path, metavar="IN", help="the .mrcbundle file")


def run(args: argparse.Namespace) -> int:
    from mrc_desktop.cases.unlock import UnlockError
    from mrc_desktop.sync.state import NotEnrolledError

    handlers: dict[str | None, Callable[[argparse.Namespace], int]] = {
        "enrol": enrol_command,
        "sync": sync_command,
        "export-bundle": export_command,
        "import-bundle": import_command,
    }
    key = args.command if args.command == "enrol" else args.sync_command or "sync"
    from mrc_desktop.storage.sqlite_build import sqlite

    try:
        return handlers[key](args)
    except (UnlockError, NotEnrolledError) as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 2
    except sqlite.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        # What was committed before stays; the next run carries on from there.
        print(
            "mrc: the case store stayed busy (MRC Desk or another command is writing);"
            " try again in a moment",
            file=sys.stderr,
        )
        return 1


def _unlocked() -> tuple[sqlite_utils.Database, str]:
    from mrc_desktop.cases.unlock import unlock
    from mrc_desktop.storage.paths import app_paths

    return unlock(app_paths())


def _warn_plain_http(url: str) -> None:
    from mrc_desktop.sync.client import unencrypted_remote

    if unencrypted_remote(url):
        print(
            "warning: http:// is not encrypted: batches stay sealed and signed, but who syncs"
            " when can be seen on the network; use https://",
            file=sys.stderr,
        )


def enrol_command(args: argparse.Namespace) -> int:
    from mrc_desktop.sync.client import HubError, enrol

    db, desk_id = _unlocked()
    try:
        _warn_plain_http(args.hub)
        done = enrol(
            db, desk_id, args.hub, fingerprint=args.fingerprint, code=args.code, label=args.label
        )
    except HubError as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    if done.clock_warning:
        print(f"warning: {done.clock_warning}", file=sys.stderr)
    made = " (made now)" if done.identity_made else ""
    print(f"desk {done.desk_id}, sync key {done.desk_key_fingerprint}{made}")
    if done.tls_fingerprint:
        print(f"hub TLS certificate pinned: {done.tls_fingerprint}")
        if done.pinned_now and not args.fingerprint:
            print(
                "  compare it with the fingerprint mrc-hub serve prints; if they differ, do not"
                " continue",
                file=sys.stderr,
            )
    if done.status == "approved":
        print(f"enrolled: this desk belongs to centre {done.centre_id}; run mrc sync")
        return 0
    print(f"enrolment code: {done.code}")
    print(f"  the hub admin approves it with: mrc-hub desk approve {done.code}")
    print(f"  then run: mrc enrol --hub {done.hub_url} --code {done.code}")
    if args.code:
        print(f"mrc: the hub has not approved code {done.code} yet", file=sys.stderr)
        return 1
    return 0


def sync_command(args: argparse.Namespace) -> int:
    from mrc_desktop.sync.client import sync_with_hub

    db, _desk_id = _unlocked()
    try:
        if args.hub:
            _warn_plain_http(args.hub)
        report = sync_with_hub(db, hub_url=args.hub)
        conflicts = _open_conflict_count(db)
    finally:
        db.close()
    _print_report(report, conflicts)
    return 0 if report.ok else 1


def _open_conflict_count(db: sqlite_utils.Database) -> int:
    from mrc_desktop.sync.merge import open_conflicts

    return len(open_conflicts(db))


def _print_report(report: SyncReport, conflicts: int) -> None:
    got = report.received
    print(
        f"sent {_count(report.pushed_batches, 'batch', 'batches')}"
        f" ({_count(report.pushed_changes, 'change')}); {report.outbox_left} left to send"
    )
    print(
        f"received {_count(got.batches, 'batch', 'batches')} ({_count(got.changes, 'change')})"
        f" from other desks; {_count(got.new_conflicts, 'new conflict')},"
        f" {conflicts} open in all"
    )
    if report.held_cases:
        print(
            f"{_count(report.held_cases, 'case')} without consent to sync: kept on this desk"
            " until consent to sync is recorded"
        )
    if report.deferred:  # files travel in parts: only a value written outside the app
        print(
            f"warning: {_count(report.deferred, 'change')} too large for a sync batch"
            " stay on this desk",
            file=sys.stderr,
        )
    if report.revoked_skipped:
        print(
            f"skipped {_count(report.revoked_skipped, 'batch', 'batches')} of revoked desks",
            file=sys.stderr,
        )
    if report.content is not None and report.content.installed:
        info = report.content.current
        print(f"installed content version {info.version} (published {info.published_at})")
    if report.content_error:  # the cases synced all the same: exit 0
        print(f"mrc: {report.content_error}; the content in use is unchanged", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"mrc: {error}", file=sys.stderr)


def export_command(args: argparse.Namespace) -> int:
    from mrc_desktop.sync.bundle import BundleError
    from mrc_desktop.sync.outbox import OutboxError, export_bundle
    from mrc_desktop.sync.state import require_identity

    db, _desk_id = _unlocked()
    try:
        made = export_bundle(db, require_identity(db), args.out)
    except (BundleError, OutboxError) as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(
        f"wrote {made.path}: {_count(made.batches, 'batch', 'batches')}"
        f" ({_count(made.changes, 'change')}) for the hub"
    )
    if made.left:
        print(f"{made.left} more batches did not fit: export another bundle after this one")
    if made.held_cases:
        print(f"{_count(made.held_cases, 'case')} without consent to sync stay on this desk")
    return 0


def import_command(args: argparse.Namespace) -> int:
    from mrc_desktop.sync.bundle import BundleError
    from mrc_desktop.sync.inbox import ReceiveError, import_bundle
    from mrc_desktop.sync.state import require_identity

    db, _desk_id = _unlocked()
    try:
        done = import_bundle(db, require_identity(db), args.bundle)
        conflicts = _open_conflict_count(db)
    except (BundleError, ReceiveError) as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        print("nothing from the bundle was applied", file=sys.stderr)
        return 1
    finally:
        db.close()
    got = done.received
    print(
        f"{args.bundle}: from {done.sender}, made {done.created_at}: applied"
        f" {_count(got.batches, 'batch', 'batches')} ({_count(got.changes, 'change')}),"
        f" {got.skipped} already here; {_count(got.new_conflicts, 'new conflict')},"
        f" {conflicts} open in all"
    )
    print(f"the hub confirmed {_count(done.acknowledged, 'batch', 'batches')} of this desk")
    for warning in got.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
