"""Where MRC Desk keeps its files: the one place paths are decided.

Everything lives under platformdirs' per-user folders unless ``MRC_HOME`` is
set, in which case data, config, cache and logs all live below that folder
(tests always set it; a centre can point it at an encrypted USB drive).
"""

from __future__ import annotations

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


def content_dir() -> Path:
    return resource_root() / "content"


def fonts_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "fonts"
