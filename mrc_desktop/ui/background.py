"""Work off the UI thread: one registry of running threads, and a small one-shot task.

A QThread destroyed while it runs aborts the process, so every thread started here is
kept in ``_RUNNING`` until it finishes, even if the screen that started it goes away.
``stop_all`` cancels and waits for them (on quit, and between tests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

log = logging.getLogger("mrc_desktop.background")

_RUNNING: set[QThread] = set()


def keep_alive(thread: QThread) -> None:
    """Hold a reference to ``thread`` until it has finished."""
    _RUNNING.add(thread)
    thread.finished.connect(lambda: _RUNNING.discard(thread))


def stop_all(timeout_ms: int = 10_000) -> None:
    for thread in list(_RUNNING):
        cancel = getattr(thread, "cancel", None)
        if cancel is not None:
            cancel()
        thread.wait(timeout_ms)


class Task(QThread):
    """Runs ``work()`` once on a worker thread; ``done(result)`` or ``failed(exception)``
    arrive on the UI thread (queued signals)."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self._work = work
        keep_alive(self)

    def run(self) -> None:
        try:
            result = self._work()
        except Exception as exc:  # handed to the screen, which says what went wrong
            self.failed.emit(exc)
        else:
            self.done.emit(result)


def run_task(
    work: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_failed: Callable[[BaseException], None],
) -> Task:
    task = Task(work)
    task.done.connect(on_done)
    task.failed.connect(on_failed)
    task.start()
    return task
