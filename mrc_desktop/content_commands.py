"""`mrc content update|install|status`: content packs from the hub, on the command line.

    mrc content status [--json]   the content in use: version, published, shipped or pack
    mrc content install PACK      install a .mrcpack (from a USB stick); no unlocking needed
    mrc content update            ask the hub for a newer pack and install it (unlocks the
                                  case store: requests are signed with the desk's key)

``mrc content check`` stays in ``cli.py``. Exit codes: 0 ok (also: already up to date),
1 refused (the content in use is unchanged) or the hub failed, 2 usage, unlock errors,
or a desk that has not enrolled with a hub.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ACTIONS = ("status", "install", "update")


def add_parsers(actions: Any) -> None:
    """Add ``status``, ``install`` and ``update`` to ``mrc content``."""
    status = actions.add_parser("status", help="the content in use: version, date and source")
    status.add_argument("--json", action="store_true", help="print it as JSON")
    install = actions.add_parser("install", help="install a content pack file (e.g. from USB)")
    install.add_argument("pack", type=Path, metavar="PACK", help="the .mrcpack file")
    actions.add_parser("update", help="fetch and install the hub's newest content pack")


def run(args: argparse.Namespace) -> int:
    if args.content_command == "status":
        return status_command(args.json)
    if args.content_command == "install":
        return install_command(args.pack)
    return update_command()


def _describe(version: int, source: str, published_at: str | None) -> str:
    if source == "shipped":
        return f"content version {version} (shipped with MRC Desk)"
    return f"content version {version}, published {published_at} (a pack from the hub)"


def status_command(as_json: bool) -> int:
    from mrc_desktop.sync.content_install import installed_content, pinned_hub_key

    info = installed_content()
    key = pinned_hub_key()
    if as_json:
        answer = {
            "version": info.version,
            "published_at": info.published_at,
            "source": info.source,
            "root": str(info.root),
            "hub_key": key.hex if key else None,
        }
        print(json.dumps(answer, indent=2))
        return 0
    print(_describe(info.version, info.source, info.published_at))
    print(f"folder {info.root}")
    if key is None:
        print("no hub key saved: packs can be installed once this desk has enrolled (mrc enrol)")
    else:
        print(f"packs must be signed by hub key {key.fingerprint}")
    return 0


class _Ticker:
    """One line per stage on stderr, so a long re-index is seen to move."""

    def __init__(self) -> None:
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stage = stage
            what = "checking files" if stage in ("verify", "content") else "re-indexing"
            print(f"{what} …", file=sys.stderr)


def install_command(pack: Path) -> int:
    from mrc_desktop.sync.content_install import install_pack, installed_content
    from mrc_desktop.sync.content_pack import ContentPackError

    before = installed_content()
    try:
        info = install_pack(pack, progress=_Ticker())
    except ContentPackError as exc:
        print(f"mrc: {pack}: {exc}", file=sys.stderr)
        print(f"the content in use is unchanged (version {before.version})", file=sys.stderr)
        return 2 if "no hub key" in str(exc) else 1
    print(f"installed {_describe(info.version, info.source, info.published_at)}")
    return 0


def update_command() -> int:
    from mrc_desktop.cases.unlock import UnlockError, unlock
    from mrc_desktop.storage.paths import app_paths
    from mrc_desktop.sync.client import HubClient, HubError, SyncCancelled, update_content
    from mrc_desktop.sync.content_pack import ContentPackError
    from mrc_desktop.sync.state import NotEnrolledError, load_state, require_identity

    try:
        db, _desk_id = unlock(app_paths())
    except UnlockError as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 2
    try:
        state = load_state(db)
        state.require_enrolled()
        identity = require_identity(db)
    except NotEnrolledError as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    assert state.hub_url is not None
    ticker = _Ticker()
    try:
        with HubClient(
            state.hub_url, identity, state.desk_id, tls_certificate=state.tls_certificate
        ) as client:
            done = update_content(
                client,
                state.hub_identity(),
                progress=lambda p: ticker(p.stage, p.done, p.total or 0),
            )
    except ContentPackError as exc:
        print(f"mrc: the hub's content pack was refused: {exc}", file=sys.stderr)
        print("the content in use is unchanged", file=sys.stderr)
        return 1
    except (HubError, SyncCancelled) as exc:
        print(f"mrc: {exc}", file=sys.stderr)
        return 1
    info = done.current
    described = _describe(info.version, info.source, info.published_at)
    if done.installed:
        print(f"installed {described}")
    elif done.hub_version is None:
        print(f"the hub has published no content pack; in use: {described}")
    else:
        print(f"up to date: {described}")
    return 0
