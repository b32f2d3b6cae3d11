"""The ``mrc-hub`` command: run the hub and administer its centres and desks.

    mrc-hub serve [--db URL] [--host H] [--port P] [--tls [--tls-dir DIR] [--tls-name NAME]]
    mrc-hub centre add NAME              prints the new centre's id
    mrc-hub centre list
    mrc-hub desk list [--json]
    mrc-hub desk approve CODE [--centre ID|NAME]
    mrc-hub desk revoke ID
    mrc-hub alerts                       exit 1 when there are any
    mrc-hub content publish DIR          check DIR, sign it as the next content pack
    mrc-hub content list
    mrc-hub content export [--version N] OUT   a published pack, for a USB stick
    mrc-hub bundle import IN [--reply OUT]   a desk's USB bundle; --reply writes its answer
    mrc-hub bundle export --desk ID OUT      a return bundle for a desk (OUT: file or folder)

``--db`` takes a SQLite path (default: ``hub.db`` in the data folder, or
``MRC_HUB_DB``) or a ``postgresql://`` URL. Exit codes: 0 ok, 1 refused or problems
found, 2 usage errors or a database that cannot be opened.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from nacl.signing import SigningKey

from mrc_desktop import __version__
from mrc_desktop.hub import content
from mrc_desktop.hub.auth import issue_certificate, verify_key_b64
from mrc_desktop.hub.storage import (
    Centre,
    HubStorage,
    HubStorageError,
    normalise_code,
    open_storage,
    redact_url,
    utc_now,
)
from mrc_desktop.storage.paths import app_paths

if TYPE_CHECKING:
    from mrc_desktop.sync.batches import ChainLink

ENV_DB = "MRC_HUB_DB"
DEFAULT_PORT = 8443
NAME_MAX = 100


def hub_folder() -> Path:
    return app_paths().data / "hub"


def default_db() -> str:
    return os.environ.get(ENV_DB, "").strip() or str(hub_folder() / "hub.db")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrc-hub", description="MRC Desk hub server")
    parser.add_argument("--version", action="version", version=f"mrc-hub {__version__}")
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        default=None,
        help=f"SQLite path or postgresql:// URL (default: ${ENV_DB} or the data folder's hub.db)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", parents=[db], help="run the hub's HTTP API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--tls", action="store_true", help="HTTPS with a self-signed certificate")
    serve.add_argument("--tls-dir", type=Path, help="certificate folder (default: data folder)")
    serve.add_argument(
        "--tls-name",
        action="append",
        default=[],
        help="a host name or address desks use for the hub (repeatable; for a new certificate)",
    )

    centre = commands.add_parser("centre", help="centres").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = centre.add_parser("add", parents=[db], help="add a centre; prints its id")
    add.add_argument("name")
    centre.add_parser("list", parents=[db], help="list centres")

    desk = commands.add_parser("desk", help="desks").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    listing = desk.add_parser("list", parents=[db], help="list desks and their enrolment codes")
    listing.add_argument("--json", action="store_true")
    approve = desk.add_parser("approve", parents=[db], help="approve a desk by its code")
    approve.add_argument("code", help="the code the desk shows, e.g. 7KQ2-M9XD")
    approve.add_argument("--centre", help="centre id or name (needed when there are several)")
    revoke = desk.add_parser("revoke", parents=[db], help="revoke a desk: it is refused from now")
    revoke.add_argument("desk_id")

    commands.add_parser("alerts", parents=[db], help="batch conflicts seen by the hub")
    content.add_parsers(commands, db)

    bundle = commands.add_parser("bundle", help="USB bundles from and for desks").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    take = bundle.add_parser("import", parents=[db], help="store the batches of a desk's bundle")
    take.add_argument("bundle", type=Path, metavar="IN", help="the desk's .mrcbundle file")
    take.add_argument(
        "--reply",
        type=Path,
        metavar="OUT",
        help="also write the desk's return bundle here (a file, or a folder such as the stick)",
    )
    answer = bundle.add_parser("export", parents=[db], help="write a return bundle for a desk")
    answer.add_argument("--desk", required=True, metavar="DESK_ID", help="the desk's id")
    answer.add_argument("out", type=Path, metavar="OUT", help="the bundle file, or a folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = args.db or default_db()
    try:
        storage = open_storage(url)
    except HubStorageError as exc:
        print(f"mrc-hub: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "serve":
            return serve(storage, url, args)
        if args.command == "centre":
            return centre_add(storage, args.name) if args.action == "add" else centre_list(storage)
        if args.command == "desk":
            if args.action == "list":
                return desk_list(storage, args.json)
            if args.action == "approve":
                return desk_approve(storage, args.code, args.centre)
            return desk_revoke(storage, args.desk_id)
        if args.command == "content":
            return content.run(storage, args)
        if args.command == "bundle":
            if args.action == "import":
                return bundle_import(storage, args.bundle, args.reply)
            return bundle_export(storage, args.desk.strip().lower(), args.out)
        return alerts(storage)
    except HubStorageError as exc:
        print(f"mrc-hub: {exc}", file=sys.stderr)
        return 1
    finally:
        storage.close()


def serve(storage: HubStorage, url: str, args: argparse.Namespace) -> int:
    import uvicorn

    from mrc_desktop.hub.app import create_app

    app = create_app(storage)
    hub_key = SigningKey(storage.hub_key_seed())
    print(f"mrc-hub {__version__}: database {redact_url(url)}", flush=True)
    print(f"hub signing key: {verify_key_b64(hub_key)}", flush=True)
    certfile: str | None = None
    keyfile: str | None = None
    scheme = "http"
    if args.tls:
        from mrc_desktop.hub.certs import ensure_certificate

        files = ensure_certificate(args.tls_dir or hub_folder() / "tls", [*args.tls_name])
        made = "new certificate" if files.created else "certificate"
        print(f"TLS {made}: {files.cert}", flush=True)
        print(f"TLS certificate SHA-256 fingerprint: {files.fingerprint}", flush=True)
        certfile, keyfile = str(files.cert), str(files.key)
        scheme = "https"
    where = f"{scheme}://{_host_in_url(args.host)}:{args.port}"
    print(f"starting on {where}", flush=True)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        server_header=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot listen (its log says why)
        print(f"mrc-hub: could not serve on {where}", file=sys.stderr)
        return 2
    return 0 if server.started else 2


def centre_add(storage: HubStorage, name: str) -> int:
    name = name.strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        print(f"mrc-hub: NAME must be 1 to {NAME_MAX} printable characters", file=sys.stderr)
        return 2
    print(storage.add_centre(name).id)
    return 0


def centre_list(storage: HubStorage) -> int:
    for centre in storage.centres():
        print(f"{centre.id}  {centre.name}")
    return 0


def desk_list(storage: HubStorage, as_json: bool) -> int:
    names = {c.id: c.name for c in storage.centres()}
    desks = storage.desks()
    if as_json:
        rows = [
            {
                "id": d.id,
                "status": d.status.value,
                "code": d.code,
                "centre_id": d.centre_id,
                "centre": names.get(d.centre_id or ""),
                "label": d.label,
                "enrolled_at": d.enrolled_at,
            }
            for d in desks
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for d in desks:
        centre = names.get(d.centre_id or "", "-")
        print(f"{d.id}  {d.status.value:<8}  {d.code}  {centre}  {d.label}")
    return 0


def desk_approve(storage: HubStorage, code: str, centre_ref: str | None) -> int:
    desk = storage.desk_by_code(normalise_code(code))
    if desk is None:
        print(f"mrc-hub: no desk has the enrolment code {code!r}", file=sys.stderr)
        return 1
    centre = _find_centre(storage.centres(), centre_ref)
    if centre is None:
        return 1
    now = utc_now()
    hub_key = SigningKey(storage.hub_key_seed())
    certificate = issue_certificate(hub_key, desk.id, centre.id, desk.signing_key, now)
    storage.approve_desk(desk.id, centre.id, certificate, now)
    label = f" ({desk.label})" if desk.label else ""
    print(f"approved desk {desk.id}{label} into centre {centre.name} ({centre.id})")
    return 0


def desk_revoke(storage: HubStorage, desk_id: str) -> int:
    desk = storage.revoke_desk(desk_id.strip().lower(), utc_now())
    print(f"revoked desk {desk.id}: its requests are refused from now on")
    return 0


def alerts(storage: HubStorage) -> int:
    found = storage.alerts()
    for a in found:
        print(
            f"{a.last_seen}  {a.kind}  desk {a.origin} batch {a.seq}: stored sha256"
            f" {a.stored_sha256[:16]}…, offered {a.offered_sha256[:16]}… ({a.count}×,"
            f" first {a.first_seen})"
        )
    if not found:
        print("no alerts")
    return 1 if found else 0


def bundle_import(storage: HubStorage, path: Path, reply: Path | None) -> int:
    """Store a desk's bundle; with ``reply``, write its return bundle right away (the usual
    visit: stick in, import, answer onto the stick). Exit 1 if anything was refused."""
    from mrc_desktop.hub.bundles import BundleRefused, hub_relay, import_desk_bundle
    from mrc_desktop.sync.bundle import BundleError, read_bundle_bytes

    relay = hub_relay(storage)
    try:
        data = read_bundle_bytes(path)
    except BundleError as exc:  # names the file
        print(f"mrc-hub: {exc}; nothing stored", file=sys.stderr)
        return 1
    try:
        receipt = import_desk_bundle(storage, relay, data)
    except BundleRefused as exc:
        print(f"mrc-hub: {path}: {exc}; nothing stored", file=sys.stderr)
        return 1
    print(
        f"{path}: from desk {receipt.desk_id}, made {receipt.created_at:%Y-%m-%d %H:%M} UTC:"
        f" stored {_count(receipt.stored, 'batch', 'batches')}, {receipt.duplicates}"
        f" already here, {1 if receipt.refused else 0} refused"
    )
    if receipt.refused:
        print(
            f"mrc-hub: refused {receipt.refused}; {receipt.not_tried} after it not tried",
            file=sys.stderr,
        )
    written = 0
    if reply is not None:
        written = bundle_export(storage, receipt.desk_id, reply, receipt.has)
    return 1 if receipt.refused or written else 0


def bundle_export(
    storage: HubStorage, desk_id: str, out: Path, has: Mapping[str, ChainLink] | None = None
) -> int:
    """Write a desk's return bundle: its acknowledgements, the centre's peers and the other
    desks' batches it lacks (all of them when ``has`` is unknown)."""
    from mrc_desktop.hub.bundles import BundleRefused, export_return_bundle, hub_relay

    relay = hub_relay(storage)
    try:
        made = export_return_bundle(storage, relay, desk_id, out, has)
    except BundleRefused as exc:
        print(f"mrc-hub: {exc}; no return bundle written", file=sys.stderr)
        return 1
    acked = f"up to #{made.acknowledged.seq}" if made.acknowledged else "none yet"
    print(
        f"wrote {made.path} ({made.size:,} bytes) for desk {desk_id}:"
        f" {_count(made.batches, 'batch', 'batches')} of"
        f" {_count(made.origins, 'other desk')}; its own batches stored: {acked}"
    )
    if made.more:
        print("more batches wait: they did not fit, write another return bundle after this one")
    return 0


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _find_centre(centres: list[Centre], ref: str | None) -> Centre | None:
    if ref is None:
        if len(centres) == 1:
            return centres[0]
        why = "add one first: mrc-hub centre add NAME" if not centres else "choose with --centre"
        print(f"mrc-hub: {len(centres)} centres on this hub; {why}", file=sys.stderr)
        return None
    for centre in centres:
        if ref in (centre.id, centre.name):
            return centre
    print(f"mrc-hub: no centre with the id or name {ref!r}", file=sys.stderr)
    return None


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main())
