"""Where MRC Desk keeps its files: the one place paths are decided.

Everything lives under platformdirs' per-user folders unless ``MRC_HOME`` is
set, in which case data, config, cache and logs all live below that folder
(tests always set it; a centre can point it at an encrypted USB drive).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from mrc_desktop import APP_ID

ENV_HOME = "MRC_HOME"


class DataDirError(RuntimeError):
    """A data folder cannot be created or written; ``path`` names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class AppPaths:
    data: Path
    config: Path
    cache: Path
    logs: Path

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    @property
    def desk_db(self) -> Path:
        return self.data / "desk.db"

    @property
    def cases_db(self) -> Path:
        """The encrypted case store (SQLCipher); its key-derivation file sits beside it."""
        return self.data / "cases.db"

    @property
    def backups(self) -> Path:
        """Encrypted daily backups of the case store, rotated."""
        return self.data / "backups"

    @property
    def content_packs(self) -> Path:
        """Content packs installed from the hub (``packs/<version>/``) and the pointer
        (``current.json``) naming the one in use; see :func:`content_dir`."""
        return self.data / "content"

    @property
    def content_db(self) -> Path:
        """The search index: derived from the content folder, public, rebuilt at will."""
        return self.cache / "content.db"

    def as_dict(self) -> dict[str, str]:
        return {
            "data": str(self.data),
            "config": str(self.config),
            "cache": str(self.cache),
            "logs": str(self.logs),
        }


def app_paths(env: dict[str, str] | None = None) -> AppPaths:
    """Resolve the folders, honouring ``MRC_HOME``. Nothing is created here."""
    environ = os.environ if env is None else env
    home = environ.get(ENV_HOME, "").strip()
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(
            data=root / "data", config=root / "config", cache=root / "cache", logs=root / "logs"
        )
    return AppPaths(
        data=Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
        config=Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_ID, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_ID, appauthor=False)),
    )


def ensure_writable(paths: AppPaths) -> None:
    """Create every folder and prove it is writable, or raise DataDirError naming it."""
    for folder in (paths.data, paths.config, paths.cache, paths.logs):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise DataDirError(folder, exc.strerror or str(exc)) from exc


def resource_root() -> Path:
    """Folder holding ``content/`` and ``locales/``: the checkout, or the bundle."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent.parent


def locales_dir() -> Path:
    return resource_root() / "locales"


def shipped_content_dir() -> Path:
    """The content folder that came with this copy of MRC Desk (checkout or installer)."""
    return resource_root() / "content"


# Content packs (see mrc_desktop/sync/content_install.py, which writes these):
# ``<data>/content/current.json`` names the installed pack in use, whose files are in
# ``<data>/content/packs/<version>/content/``. The shipped folder may hold ``pack-version``
# (one integer: the pack version it equals; 0 when absent), so that a pack must be newer.
CONTENT_POINTER = "current.json"
SHIPPED_VERSION_FILE = "pack-version"
_content_log = logging.getLogger("mrc_desktop.content")


@dataclass(frozen=True)
class ContentPointer:
    """What ``current.json`` says, once its pack folder was found."""

    version: int
    published_at: str
    publisher: str  # the hub key (hex) that signed the pack
    folder: Path  # packs/<version>
    previous: int | None  # the pack in use before (kept for one rollback)

    @property
    def root(self) -> Path:
        return self.folder / "content"


def shipped_content_version(root: Path | None = None) -> int:
    """The pack version the shipped content equals (``pack-version``; 0 when absent or bad)."""
    try:
        text = ((root or shipped_content_dir()) / SHIPPED_VERSION_FILE).read_text("ascii")
        version = int(text.strip())
    except (OSError, ValueError):
        return 0
    return max(version, 0)


def content_pointer(paths: AppPaths | None = None) -> ContentPointer | None:
    """The installed pack named by ``current.json``, or None (no pack, or a damaged pointer:
    logged, without personal data — content is public). Never raises."""
    folder = (paths or app_paths()).content_packs
    pointer = folder / CONTENT_POINTER
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _content_log.warning("content pointer unreadable (%s): using the shipped content", exc)
        return None
    try:
        data = json.loads(raw)
        version = data["version"]
        if type(version) is not int or version < 1 or data["folder"] != f"packs/{version}":
            raise ValueError("version and folder do not agree")
        previous = data.get("previous")
        if previous is not None and type(previous) is not int:
            raise ValueError("previous is not a version")
        found = ContentPointer(
            version, str(data["published_at"]), str(data["publisher"]),
            folder / "packs" / str(version), previous,
        )  # fmt: skip
        if not found.root.is_dir():
            raise ValueError(f"its folder packs/{version} is missing")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        _content_log.warning("content pointer damaged (%s): using the shipped content", exc)
        return None
    return found


def content_dir() -> Path:
    """The content in use: the installed pack if the pointer names a valid one newer than
    the shipped content, else the shipped folder. Fast (one small file), never raises."""
    try:
        pointer = content_pointer()
    except Exception:  # a broken environment must not stop the library from opening
        _content_log.exception("looking for installed content failed")
        pointer = None
    if pointer is not None and pointer.version > shipped_content_version():
        return pointer.root
    return shipped_content_dir()


def fonts_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "fonts"
