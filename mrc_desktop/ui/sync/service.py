"""The app's sync with its hub: one job at a time, off the UI thread, and a background timer.

``SyncService`` lives as long as the case log (``AppContext.sync_service``), whether or not
the Sync screen was ever opened, so background sync runs from the moment the case log is
open. Every job — a sync, an enrolment step, a USB bundle — runs on a worker thread with
its **own connection** to the case store, opened with the session's passphrase the way the
daily backup does: the session's connection belongs to the UI thread, and SQLite's
``BEGIN IMMEDIATE`` (``write_transaction``) lets the two take turns writing. The first job
opens it and later jobs reuse it (deriving the key again would cost every sync ~2 s and
256 MB); it closes with the case log.

Jobs never overlap (they all write the sync state). While one runs, ``job_kind`` names it;
``changed`` tells the screen to read everything again, ``progressed`` carries the sync's
``Progress``, ``job_done``/``job_failed`` the result of the job that just ended.

Background sync. While the case log is open — also while it is locked for users: the key
is still in memory, a sync reads and writes only the encrypted store, and nothing personal
is shown — and the desk is joined and approved, a single-shot timer starts a sync every
``sync_interval_minutes`` (0 = off). A sync that fails (offline, refused) doubles the wait,
up to an hour (or the interval, if that is longer), so an unreachable hub is not hammered;
the next success brings the interval back. Failures never open a dialog: the screen shows
"last tried …, next try …". The first try comes shortly after the case log opens.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlite_utils
from PySide6.QtCore import QObject, QTimer, Signal

from mrc_desktop.ui.background import Task
from mrc_desktop.ui.cases.session import CaseSession

if TYPE_CHECKING:
    from mrc_desktop.ui.context import AppContext
    from mrc_desktop.ui.sync.jobs import Network, SyncOutcome

log = logging.getLogger("mrc_desktop.sync")

SYNC, ENROL, FINGERPRINT, EXPORT, IMPORT = "sync", "enrol", "fingerprint", "export", "import"
CONTENT = "content"
FIRST_TRY_MS = 20_000  # after the case log opens: let the unlock settle first
MAX_BACKOFF_MS = 60 * 60_000


class SyncJob(Task):
    """A ``Task`` that can be cancelled (``stop_all`` on quit cancels it) and reports
    progress as a queued signal; ``work(job)`` runs on the worker thread."""

    progressed = Signal(object)

    def __init__(self, kind: str, work: Callable[[SyncJob], Any]) -> None:
        self.kind = kind
        self._stop = threading.Event()
        super().__init__(partial(work, self))

    def cancel(self) -> None:
        self._stop.set()

    def cancelled(self) -> bool:
        return self._stop.is_set()


class SyncService(QObject):
    changed = Signal()
    progressed = Signal(object)  # sync.client.Progress
    job_done = Signal(str, object)  # kind, result
    job_failed = Signal(str, object)  # kind, exception

    def __init__(self, ctx: AppContext, session: CaseSession) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.session = session
        self.network: Network | None = None  # tests reach the hub app through its transport
        self.job: SyncJob | None = None
        self.background = False  # the running sync was started by the timer
        self.last_outcome: SyncOutcome | None = None  # of this run's last sync
        self.last_failure: BaseException | None = None  # a sync that raised (not the hub)
        self.last_tried: dt.datetime | None = None
        self.next_try: dt.datetime | None = None
        self.failures = 0  # syncs in a row that did not get through
        # The jobs' own connection: opened by the first job (the key derivation takes ~2 s
        # and 256 MB, too much to pay for every sync), used by one job at a time, closed
        # when the case log closes.
        self._db: sqlite_utils.Database | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._tick)
        session.state_changed.connect(self._state_changed)
        ctx.events.settings_changed.connect(self._settings_changed)
        self._state_changed(session.state)

    # -- what may run --------------------------------------------------------------------
    @property
    def job_kind(self) -> str | None:
        return self.job.kind if self.job is not None else None

    @property
    def store_open(self) -> bool:
        return self.session.db is not None and bool(self.session.passphrase)

    def joined(self) -> bool:
        """The hub approved this desk (read from the session's connection: one row)."""
        if self.session.db is None:
            return False
        from mrc_desktop.sync.state import load_state

        return load_state(self.session.db).enrolled

    def interval_ms(self) -> int:
        return int(self.ctx.settings.get("sync_interval_minutes")) * 60_000

    def wait_ms(self) -> int:
        """The interval, doubled for every failed sync in a row, up to an hour (or the
        interval, if it is longer)."""
        base = self.interval_ms()
        return min(base * 2**self.failures, max(base, MAX_BACKOFF_MS))

    # -- jobs ----------------------------------------------------------------------------
    def hub_network(self) -> Network:
        from mrc_desktop.ui.sync.jobs import Network

        return self.network or Network()

    def start(self, kind: str, work: Callable[[sqlite_utils.Database, SyncJob], Any]) -> bool:
        """Run ``work(db, job)`` on a worker thread with the jobs' own connection; False
        when another job runs or the case log is not open."""
        if not self.store_open:
            return False
        passphrase = self.session.passphrase

        def with_store(job: SyncJob) -> Any:
            db = self._connection(passphrase)
            try:
                return work(db, job)
            finally:
                if db.conn.in_transaction:  # never leave a snapshot or a lock behind
                    db.conn.rollback()

        return self.start_without_store(kind, with_store)

    def start_without_store(self, kind: str, work: Callable[[SyncJob], Any]) -> bool:
        """Run ``work(job)`` on a worker thread (content packs: public, no case log needed);
        False when another job runs."""
        if self.job is not None:
            return False
        job = SyncJob(kind, work)
        job.done.connect(self._done)
        job.failed.connect(self._failed)
        job.progressed.connect(self.progressed)
        self.job = job
        job.start()
        self.changed.emit()
        return True

    def sync_now(self, background: bool = False) -> bool:
        """Push and pull now (the Sync now button, or the timer)."""
        from mrc_desktop.ui.sync.jobs import run_sync

        network = self.hub_network()

        def work(db: sqlite_utils.Database, job: SyncJob) -> SyncOutcome:
            return run_sync(db, network, job.cancelled, job.progressed.emit)

        if not self.start(SYNC, work):
            return False
        self.background = background
        self.timer.stop()
        self.next_try = None
        self.last_tried = dt.datetime.now(dt.UTC)
        return True

    def cancel(self) -> None:
        """Stop the running job at its next check (what was done so far is kept)."""
        if self.job is not None:
            self.job.cancel()

    def _done(self, result: object) -> None:
        kind = self._finish()
        received = kind == IMPORT
        if kind == SYNC:
            received = self._sync_ended(result)
        if received:  # the case list and agency register read them again
            self.session.cases_changed.emit("")
            self.session.agencies_changed.emit()
        if kind == ENROL:
            self.schedule(FIRST_TRY_MS)
        self.job_done.emit(kind, result)
        self.changed.emit()

    def _failed(self, exc: BaseException) -> None:
        kind = self._finish()
        log.warning("sync job %s failed: %s", kind, type(exc).__name__)
        if kind == SYNC:
            self.last_outcome = None
            self.last_failure = exc
            self.failures += 1
            self.schedule()
        self.job_failed.emit(kind, exc)
        self.changed.emit()

    def _connection(self, passphrase: str) -> sqlite_utils.Database:
        """The jobs' connection (on the worker thread; jobs never overlap)."""
        if self._db is None:
            self._db = self.session.open_store(passphrase)
        return self._db

    def _close_connection(self) -> None:
        if self._db is not None and self.job is None:
            self._db.close()
            self._db = None

    def _finish(self) -> str:
        kind = self.job.kind if self.job is not None else ""
        self.job = None
        if not self.store_open:
            self._close_connection()  # the case log closed while the job ran
        return kind

    def _sync_ended(self, result: object) -> bool:
        """Remember how it went and set the next try; True when changes arrived."""
        from mrc_desktop.ui.sync.jobs import CANCELLED, OK, SyncOutcome

        assert isinstance(result, SyncOutcome)
        self.last_outcome = result
        self.last_failure = None
        if result.kind == OK:
            self.failures = 0
        elif result.kind != CANCELLED:
            self.failures += 1
        log.info("sync %s (%s)", result.kind, "background" if self.background else "asked")
        self.schedule()
        return result.received_anything

    # -- background ----------------------------------------------------------------------
    def schedule(self, after_ms: int | None = None) -> None:
        """Set the next background sync (``after_ms``, or the interval with backoff)."""
        if self.interval_ms() <= 0 or not self.store_open or not self.joined():
            self.timer.stop()
            self.next_try = None
            self.changed.emit()
            return
        wait = self.wait_ms() if after_ms is None else after_ms
        self.timer.start(wait)
        self.next_try = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=wait)
        self.changed.emit()

    def _tick(self) -> None:
        self.next_try = None
        if self.job is not None:
            return  # the running job's end schedules the next try
        if not self.sync_now(background=True):
            self.schedule()

    def _state_changed(self, _state: str) -> None:
        if not self.store_open:
            self._close_connection()
            self.timer.stop()
            self.next_try = None
            self.changed.emit()
        elif not self.timer.isActive() and self.job is None:
            self.schedule(FIRST_TRY_MS)

    def _settings_changed(self) -> None:
        if self.job is None:
            self.schedule(None if self.last_tried else FIRST_TRY_MS)
