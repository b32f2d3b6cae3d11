"""Publishing content packs: ``mrc-hub content publish DIR`` and ``mrc-hub content list``.

The hub checks the folder with exactly the checks of ``mrc content check`` (one function,
:func:`mrc_desktop.sync.content_check.check_content_folder`) and refuses it with their
file:line messages; then it gives it the next version, builds and signs the pack with
its own identity (the key desks pinned at enrolment), reads it back as a desk would, and
stores it. Desks fetch it with ``GET /v1/content/latest`` and ``GET /v1/content/{version}``.

The next version is one more than both the newest published pack and the folder's own
``pack-version`` (the shipped content's version, when publishing from an installer's
folder): a desk refuses any pack that is not newer than what it has.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Any

from mrc_desktop.hub.storage import ContentPackInfo, HubStorage
from mrc_desktop.storage.files import atomic_write_bytes
from mrc_desktop.storage.paths import SHIPPED_VERSION_FILE, shipped_content_version
from mrc_desktop.sync.content_check import check_content_folder
from mrc_desktop.sync.content_pack import SUFFIX as PACK_SUFFIX
from mrc_desktop.sync.content_pack import ContentPackError, build_pack, folder_files
from mrc_desktop.sync.content_unpack import read_pack
from mrc_desktop.sync.keys import Identity


class PublishRefused(Exception):
    """The folder cannot be published; ``problems`` are file:line lines, the message one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def publish_folder(
    storage: HubStorage, folder: Path, now: dt.datetime | None = None
) -> ContentPackInfo:
    """Check ``folder``, sign it as the next content pack and store it (or raise
    ``PublishRefused`` having stored nothing)."""
    if not folder.is_dir():
        raise PublishRefused(f"{folder}: not a folder")
    checked = check_content_folder(folder)
    if not checked.ok:
        raise PublishRefused(
            f"{folder}: {checked.summary()}; nothing was published",
            [str(problem) for problem in checked.problems],
        )
    try:
        files = folder_files(folder, skip=[SHIPPED_VERSION_FILE])
    except ContentPackError as exc:
        raise PublishRefused(f"{exc}; nothing was published") from None
    latest = storage.latest_content_pack()
    version = max(latest.version if latest else 0, shipped_content_version(folder)) + 1
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    identity = Identity(storage.hub_key_seed())
    try:
        data = build_pack(files, identity, version, when)
        # Read back as a desk will: a pack the hub cannot read itself is never published.
        manifest = read_pack(data, identity.public)
    except ContentPackError as exc:
        raise PublishRefused(f"{folder}: {exc}; nothing was published") from None
    info = ContentPackInfo(
        version=version,
        published_at=when,
        files=len(manifest.files),
        content_bytes=manifest.total_size,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    storage.add_content_pack(info, data)
    return info


# --- the commands ---------------------------------------------------------------------------


def add_parsers(commands: Any, db: argparse.ArgumentParser) -> None:
    """``mrc-hub content publish DIR`` and ``mrc-hub content list``."""
    content = commands.add_parser("content", help="content packs for the desks").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    publish = content.add_parser(
        "publish", parents=[db], help="check DIR, sign it as the next content pack, publish it"
    )
    publish.add_argument("dir", type=Path, metavar="DIR", help="a content folder")
    content.add_parser("list", parents=[db], help="published content packs")
    export = content.add_parser(
        "export", parents=[db], help="write a published pack to a file (a USB stick for desks)"
    )
    export.add_argument("out", type=Path, metavar="OUT", help="the .mrcpack file, or a folder")
    export.add_argument("--version", type=int, help="which pack (default: the newest)")


def run(storage: HubStorage, args: argparse.Namespace) -> int:
    if args.action == "publish":
        return publish_command(storage, args.dir)
    if args.action == "export":
        return export_command(storage, args.out, args.version)
    return list_command(storage)


def export_command(storage: HubStorage, out: Path, version: int | None) -> int:
    """Copy a stored pack, byte for byte, to ``out`` (written whole or not at all): desks
    that never reach the hub install it with ``mrc content install``."""
    info = storage.latest_content_pack() if version is None else None
    wanted = version if version is not None else (info.version if info else None)
    data = None if wanted is None else storage.content_pack_data(wanted)
    if wanted is None or data is None:
        what = "no content pack published" if wanted is None else f"no content pack {wanted}"
        print(f"mrc-hub: {what}", file=sys.stderr)
        return 1
    target = out / f"content-{wanted}{PACK_SUFFIX}" if out.is_dir() else out
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        print(f"mrc-hub: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote content pack {wanted} to {target} ({len(data):,} bytes)")
    return 0


def publish_command(storage: HubStorage, folder: Path) -> int:
    try:
        info = publish_folder(storage, folder)
    except PublishRefused as exc:
        for problem in exc.problems:
            print(problem)
        print(f"mrc-hub: {exc}", file=sys.stderr)
        return 2 if not folder.is_dir() else 1
    print(
        f"published content pack version {info.version}: {info.files} files,"
        f" {info.content_bytes:,} bytes of content, pack {info.size:,} bytes"
    )
    print(f"sha256 {info.sha256}")
    return 0


def list_command(storage: HubStorage) -> int:
    packs = storage.content_packs()
    for info in packs:
        print(
            f"{info.version:>5}  {info.published_at}  {info.files} files"
            f"  {info.size:,} bytes  sha256 {info.sha256}"
        )
    if not packs:
        print("no content pack published")
    return 0
