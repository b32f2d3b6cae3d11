"""Loading the articles and (re)building the search index on a worker thread."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from mrc_desktop.library.articles import Library, load_library
from mrc_desktop.library.index import IndexCancelled, IndexStatus, ensure_index
from mrc_desktop.ui.background import keep_alive, stop_all

log = logging.getLogger("mrc_desktop.library")


__all__ = ["LibraryLoader", "LoadedLibrary", "stop_all"]


@dataclass(frozen=True)
class LoadedLibrary:
    library: Library
    index: IndexStatus


class LibraryLoader(QThread):
    """Emits ``progress(done, total)`` while indexing, then ``loaded``, ``cancelled`` or
    ``failed``. Results reach the UI thread through queued signals."""

    progress = Signal(int, int)
    loaded = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, content_root: Path, db_path: Path) -> None:
        super().__init__()
        self._root = content_root
        self._db = db_path
        self._stop = False
        keep_alive(self)  # a loader never dies with the screen that started it

    def cancel(self) -> None:
        self._stop = True

    def run(self) -> None:
        try:
            self._db.parent.mkdir(parents=True, exist_ok=True)
            library = load_library(self._root)
            for problem in library.problems:
                log.warning("content problem: %s", problem)
            status = ensure_index(
                self._db,
                self._root,
                progress=self.progress.emit,
                cancelled=lambda: self._stop,
                library=library,
            )
        except IndexCancelled:
            self.cancelled.emit()
        except Exception as exc:  # reported to the screen; the old index stays usable
            log.exception("building the content index failed")
            self.failed.emit(type(exc).__name__)
        else:
            if status.rebuilt:
                log.info("content index rebuilt: %d articles", status.articles)
            self.loaded.emit(LoadedLibrary(library, status))
