"""Content packs on a desk: which content is in use, and installing a newer pack.

Layout in the data folder (``AppPaths.content_packs``)::

    content/current.json          the pointer: version, folder, publisher, previous
    content/packs/<version>/      manifest.json + signature (as signed) and content/

``storage.paths.content_dir()`` follows the pointer (the shipped folder when there is
none, it is damaged, or the shipped content is as new). Installing never touches what is
in use until the last step: the pack is checked and extracted into a new folder beside
the others (each file fsynced), renamed to ``packs/<version>``, and only then the
pointer is replaced (temp file, fsync, rename). A refused pack, a crash or a full disk at
any step leaves the pointer, and so the content, as it was. The pack in use before stays
(for one rollback); older ones are deleted. Then the search index is rebuilt.

The hub's key that packs must be signed with comes from ``desk.db`` (saved at enrolment
and every sync): content is public, and a trainer installs a pack from a USB stick
without unlocking the case log. Qt-free: the GUI calls :func:`installed_content` and
:func:`install_pack`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mrc_desktop.library.index import IndexCancelled, ensure_index
from mrc_desktop.storage import sqlite_build
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.files import atomic_write_bytes, fsync_dir
from mrc_desktop.storage.paths import (
    CONTENT_POINTER,
    AppPaths,
    app_paths,
    content_pointer,
    shipped_content_dir,
    shipped_content_version,
)
from mrc_desktop.sync.content_pack import ContentPackError, PackManifest
from mrc_desktop.sync.content_unpack import read_pack
from mrc_desktop.sync.hub_protocol import KeyFormatError, unb64
from mrc_desktop.sync.keys import InvalidKeyError, PublicIdentity

log = logging.getLogger("mrc_desktop.content")

SHIPPED = "shipped"
PACK = "pack"
INCOMING = ".incoming-"
STALE_INCOMING_S = 3600

# progress(stage, done, total): stage "verify" (files checked and written) or "index".
InstallProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ContentInfo:
    """The content in use: its pack version (the shipped content's own, 0 by default),
    when the hub published it (None for shipped content), where it came from, its folder."""

    version: int
    published_at: str | None
    source: str  # "shipped" or "pack"
    root: Path
    publisher: str | None = None  # hex key of the hub that signed the pack


def installed_content(paths: AppPaths | None = None) -> ContentInfo:
    """What ``content_dir()`` serves, and its version. Never raises."""
    shipped = ContentInfo(shipped_content_version(), None, SHIPPED, shipped_content_dir())
    pointer = content_pointer(paths)
    if pointer is None or pointer.version <= shipped.version:
        return shipped
    return ContentInfo(pointer.version, pointer.published_at, PACK, pointer.root, pointer.publisher)


def pinned_hub_key(paths: AppPaths | None = None) -> PublicIdentity | None:
    """The hub key saved in ``desk.db`` at enrolment, or None before any."""
    store = DeskStore((paths or app_paths()).desk_db)
    try:
        pin = store.hub_pin()
    finally:
        store.close()
    if pin is None:
        return None
    try:
        return PublicIdentity(unb64(pin.hub_key, 32, "hub key"))
    except (KeyFormatError, InvalidKeyError):
        log.warning("the hub key saved in desk.db is not a key")
        return None


def remember_hub_key(hub_url: str, hub_key: str, paths: AppPaths | None = None) -> None:
    """Save the hub's public key (base64) in ``desk.db`` for content packs. A failure is
    logged, not raised: the enrolment itself is kept in the case store."""
    try:
        store = DeskStore((paths or app_paths()).desk_db)
        try:
            store.pin_hub(hub_url, hub_key)
        finally:
            store.close()
    except (OSError, sqlite_build.sqlite.Error) as exc:
        log.warning("could not save the hub key in desk.db: %s", exc)


def install_pack(
    pack_path: Path | bytes,
    *,
    progress: InstallProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
    hub_key: PublicIdentity | None = None,
    paths: AppPaths | None = None,
    reindex: bool = True,
) -> ContentInfo:
    """Check ``pack_path`` (a ``.mrcpack`` file, or its bytes) and make it the content in use.

    Raises ``ContentPackError`` with one line saying why it was refused (bad signature,
    wrong publisher, file X hash mismatch, downgrade from N to M, unsafe path X, …); the
    content in use is then exactly as before. ``hub_key`` defaults to the one saved at
    enrolment. After the swap the search index is rebuilt (``progress("index", …)``); a
    cancel then leaves the new content in use and the index to be rebuilt when the
    library next opens.
    """
    paths = paths or app_paths()
    publisher = hub_key or pinned_hub_key(paths)
    if publisher is None:
        raise ContentPackError(
            "this desk has no hub key to check content packs with: enrol it first (mrc enrol)"
        )
    before = installed_content(paths)
    packs = paths.content_packs / "packs"
    incoming = packs / f"{INCOMING}{uuid.uuid4().hex}"
    try:
        incoming.mkdir(parents=True)
    except OSError as exc:
        raise ContentPackError(f"cannot write in {packs}: {exc.strerror or exc}") from None

    def newer_only(manifest: PackManifest) -> None:
        if manifest.version <= before.version:
            what = "the same version" if manifest.version == before.version else "a downgrade"
            raise ContentPackError(
                f"{what}: this pack is version {manifest.version}, the content in use is"
                f" version {before.version} ({before.source}); refused"
            )

    step = (lambda done, total: progress("verify", done, total)) if progress else None
    try:
        manifest = read_pack(
            pack_path,
            publisher,
            accept=newer_only,
            extract_to=incoming / "content",
            progress=step,
            cancelled=cancelled,
        )
        _write_beside(incoming, manifest)
        target = packs / str(manifest.version)
        _put_in_place(incoming, target, paths, manifest.version)
        _swap_pointer(paths, manifest, before)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    _remove_old(packs, keep={manifest.version, *_previous(before)})
    info = installed_content(paths)
    log.info("content pack version %d installed (was %d)", manifest.version, before.version)
    if reindex:
        rebuild_index(info.root, paths, progress, cancelled)
    return info


def rebuild_index(
    root: Path,
    paths: AppPaths,
    progress: InstallProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Re-index the content now; on a cancel or failure the library rebuilds it on opening."""
    step = (lambda done, total: progress("index", done, total)) if progress else None
    try:
        paths.cache.mkdir(parents=True, exist_ok=True)
        ensure_index(paths.content_db, root, progress=step, cancelled=cancelled)
    except IndexCancelled:
        log.info("re-indexing the new content was cancelled; it runs when the library opens")
    except (OSError, sqlite_build.sqlite.Error) as exc:
        log.warning("re-indexing the new content failed (%s); it runs when the library opens", exc)


def _write_beside(incoming: Path, manifest: PackManifest) -> None:
    """The signed manifest and signature beside the files (what was checked, for later)."""
    for name, data in (("manifest.json", manifest.raw), ("signature", manifest.signature)):
        _write_synced(incoming / name, data)
    for folder in sorted({p.parent for p in incoming.rglob("*")}, reverse=True):
        fsync_dir(folder)


def _write_synced(path: Path, data: bytes) -> None:
    try:
        with path.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise ContentPackError(f"cannot write {path}: {exc.strerror or exc}") from None


def _put_in_place(incoming: Path, target: Path, paths: AppPaths, version: int) -> None:
    """Rename the checked folder to ``packs/<version>``. A folder already there is what a
    crash left between this rename and the pointer swap: not in use, since it is newer."""
    _refuse_if_overtaken(paths, version)
    try:
        if target.exists():
            shutil.rmtree(target)
        os.replace(incoming, target)
    except OSError as exc:
        raise ContentPackError(
            f"cannot put the pack in place ({exc.strerror or exc}); the content in use is unchanged"
        ) from None
    fsync_dir(target.parent)


def _refuse_if_overtaken(paths: AppPaths, version: int) -> None:
    """Another install (the app and ``mrc`` at once) may have finished meanwhile."""
    now = installed_content(paths)
    if now.version >= version:
        raise ContentPackError(
            f"version {now.version} was installed meanwhile; this pack (version {version}) is"
            " not newer"
        )


def _swap_pointer(paths: AppPaths, manifest: PackManifest, before: ContentInfo) -> None:
    pointer = {
        "format": 1,
        "version": manifest.version,
        "folder": f"packs/{manifest.version}",
        "published_at": manifest.published_at,
        "publisher": manifest.publisher,
        "manifest_sha256": manifest.sha256,
        "previous": before.version if before.source == PACK else None,
    }
    target = paths.content_packs / "packs" / str(manifest.version)
    try:
        _refuse_if_overtaken(paths, manifest.version)
        atomic_write_bytes(
            paths.content_packs / CONTENT_POINTER,
            json.dumps(pointer, indent=2, sort_keys=True).encode("utf-8"),
        )
    except ContentPackError:
        if installed_content(paths).version != manifest.version:  # else: the other's copy
            shutil.rmtree(target, ignore_errors=True)
        raise
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise ContentPackError(
            f"cannot switch to the new content ({exc.strerror or exc}); the content in use is"
            " unchanged"
        ) from None
    fsync_dir(paths.content_packs)


def _previous(before: ContentInfo) -> set[int]:
    return {before.version} if before.source == PACK else set()


def _remove_old(packs: Path, keep: set[int]) -> None:
    """Delete packs other than ``keep``, and folders left by installs interrupted over an
    hour ago (a younger one may be another install at work). Best effort: a folder still
    open elsewhere (Windows) goes next time."""
    stale = time.time() - STALE_INCOMING_S
    for entry in packs.iterdir():
        old_pack = entry.name.isdigit() and int(entry.name) not in keep
        left_over = entry.name.startswith(INCOMING) and _mtime(entry) < stale
        if old_pack or left_over:
            shutil.rmtree(entry, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
