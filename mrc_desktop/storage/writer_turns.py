"""Writers of one database file in this process take turns in the order they asked.

The app writes to the case store from the UI thread (a counsellor's save) while a worker
thread syncs, backs up or imports through its own connection. SQLite lets one writer in at
a time, and a connection that finds the lock taken sleeps in its busy handler — 1, 2, 5 …
up to 100 ms at a time — and checks again. A worker that commits and at once begins its
next short transaction wins nearly every time: measured with a first sync of 800 cases,
transactions of at most 0.15 s kept a save waiting 0.9–1.1 s (``bench/sync_ui.py``).

Here each file has a first-come, first-served queue: a thread waits for its turn on a
condition (woken the moment the turn before it ends) and only then asks SQLite for the
lock. A thread already holding the turn enters again (nested writes, savepoints). A wait
longer than the busy timeout stops queueing and leaves it to SQLite as before, so a
mistake elsewhere (waiting for a thread while holding a turn) fails as it always did —
"database is locked" — rather than hanging. Other processes (the ``mrc`` command) are not
in the queue; SQLite's lock still keeps them apart.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class _Queue:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: deque[object] = deque()
        self.owner: int | None = None
        self.depth = 0


_QUEUES: dict[str, _Queue] = {}
_QUEUES_LOCK = threading.Lock()


def _queue(path: str) -> _Queue:
    with _QUEUES_LOCK:
        return _QUEUES.setdefault(path, _Queue())


@contextmanager
def writer_turn(path: str, timeout_s: float) -> Iterator[None]:
    """Hold this process's turn to write ``path`` (empty: an in-memory database, no queue)."""
    if not path:
        yield
        return
    queue = _queue(path)
    me = threading.get_ident()
    ticket = object()
    with queue.cond:
        if queue.owner == me:
            queue.depth += 1
            owned = True
        else:
            queue.waiting.append(ticket)
            owned = False
            try:
                owned = queue.cond.wait_for(
                    lambda: queue.owner is None and queue.waiting[0] is ticket, timeout_s
                )
            finally:
                queue.waiting.remove(ticket)
                if owned:
                    queue.owner, queue.depth = me, 1
                else:  # timed out or interrupted: out of the line, the next may go
                    queue.cond.notify_all()
    try:
        yield
    finally:
        if owned:
            with queue.cond:
                queue.depth -= 1
                if queue.depth == 0:
                    queue.owner = None
                    queue.cond.notify_all()
