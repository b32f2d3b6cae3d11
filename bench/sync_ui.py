"""The window while a first sync runs: how long it stops answering, and how long a save waits.

    .venv/bin/python bench/sync_ui.py [--cases 1000] [--notes-per-case 1] [--idle-s 3]

The app as a counsellor runs it, offscreen: a case log opened in a ``CaseSession``, the Sync
screen shown, "Sync now" started through the real ``SyncService`` (a worker thread with its
own connection; progress reaches the screen as queued signals). Desk A (``--cases`` invented
cases, the store of ``bench/sync.py``) pushes everything to ``mrc-hub serve`` in its own
process over pinned HTTPS; then desk B, empty, pulls and applies it all. Meanwhile, on the
UI thread:

* a 10 ms ``QTimer``: the longest gap between two ticks is how long the window stopped
  answering (repaints, clicks, typing);
* every 250 ms a counsellor's save: one field of a case changed through the repository on the
  session's connection, as the case form does. It waits while the worker holds the write
  lock (one batch applied, or one outbox round signed, per transaction).

The baseline is the same screen, timer and saves for ``--idle-s`` seconds before each sync,
in the same process. No targets in the issue beyond "never blocking the UI": printed only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.sync_hub import Hub, enrol_desk, running_hub  # noqa: E402
from bench.sync_store import (  # noqa: E402
    PASSPHRASE,
    STORE,
    copy_store,
    new_store,
    open_store,
    ready_store,
    supervisor,
)
from mrc_desktop.settings import load_settings  # noqa: E402
from mrc_desktop.storage.desk_store import DeskStore  # noqa: E402
from mrc_desktop.storage.paths import app_paths, ensure_writable  # noqa: E402
from mrc_desktop.ui.background import stop_all  # noqa: E402
from mrc_desktop.ui.cases.session import CaseSession  # noqa: E402
from mrc_desktop.ui.context import AppContext, AppEvents, LanguageSwitcher  # noqa: E402
from mrc_desktop.ui.sync.jobs import OK, SyncOutcome  # noqa: E402
from mrc_desktop.ui.sync.sync_screen import SyncScreen  # noqa: E402

TICK_MS = 10
SAVE_EVERY_MS = 250
STATUSES = ("new", "in_progress")


@dataclass
class Watch:
    """What the UI thread saw: gaps between timer ticks, and how long each save took (s)."""

    gaps: list[float] = field(default_factory=list)
    saves: list[float] = field(default_factory=list)

    def line(self) -> str:
        gaps = sorted(self.gaps)
        p99 = gaps[int(0.99 * (len(gaps) - 1))] if gaps else 0.0
        saves = self.saves or [0.0]
        return (
            f"window: longest pause {max(gaps, default=0.0) * 1000:.0f} ms, p99"
            f" {p99 * 1000:.0f} ms; save: median {statistics.median(saves) * 1000:.0f} ms,"
            f" longest {max(saves) * 1000:.0f} ms ({len(self.saves)} saves)"
        )


class Desk:
    """One desk running the app: its own MRC_HOME, case log unlocked, Sync screen shown."""

    def __init__(self, app: QApplication, home: Path, hub: Hub, centre: str, label: str) -> None:
        os.environ["MRC_HOME"] = str(home)
        self.paths = app_paths()
        ensure_writable(self.paths)
        settings, _problem = load_settings(self.paths.settings_file)
        settings.set("first_run_done", True)
        settings.set("sync_interval_minutes", 0)  # only the measured "Sync now"
        settings.save()
        store = DeskStore(self.paths.desk_db)
        switcher = LanguageSwitcher(app)
        switcher.apply("en")
        self.ctx = AppContext(self.paths, settings, store.start_run(), switcher, AppEvents(), store)
        db = open_store(self.paths.cases_db)
        enrol_desk(db, hub, centre, label)
        self.session = CaseSession(self.paths, self.ctx.desk.desk_id)
        self.ctx.cases = self.session
        self.session.attach(db, PASSPHRASE)
        self.session.log_in(supervisor(db))
        self.service = self.ctx.sync_service()
        self.screen = SyncScreen(self.ctx)
        self.screen.resize(900, 700)
        self.screen.show()
        self.case_id = self.session.repo.create_case({"person_name": "Invented Worker Dara"})

    def watch(self, until: QEventLoop, watch: Watch) -> None:
        """Tick and save on the UI thread until ``until`` quits."""
        last = time.perf_counter()
        turn = 0

        def tick() -> None:
            nonlocal last
            now = time.perf_counter()
            watch.gaps.append(now - last - TICK_MS / 1000)
            last = now

        def save() -> None:
            nonlocal turn
            turn += 1
            start = time.perf_counter()
            self.session.repo.update_case(self.case_id, {"status": STATUSES[turn % 2]})
            watch.saves.append(time.perf_counter() - start)

        ticker, saver = QTimer(), QTimer()
        ticker.setInterval(TICK_MS)
        saver.setInterval(SAVE_EVERY_MS)
        ticker.timeout.connect(tick)
        saver.timeout.connect(save)
        ticker.start()
        saver.start()
        until.exec()
        ticker.stop()
        saver.stop()

    def idle(self, seconds: float) -> Watch:
        loop, watch = QEventLoop(), Watch()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        self.watch(loop, watch)
        return watch

    def sync(self) -> tuple[Watch, float, SyncOutcome]:
        loop, watch, ended = QEventLoop(), Watch(), list[object]()

        def end(_kind: str, result: object) -> None:
            ended.append(result)
            loop.quit()

        self.service.job_done.connect(end)
        self.service.job_failed.connect(end)
        start = time.perf_counter()
        if not self.service.sync_now():
            raise RuntimeError("the sync did not start")
        self.watch(loop, watch)
        took = time.perf_counter() - start
        outcome = ended[0]
        if not isinstance(outcome, SyncOutcome) or outcome.kind != OK:
            raise RuntimeError(f"the sync did not succeed: {outcome!r}")
        return watch, took, outcome

    def close(self) -> None:
        stop_all()
        self.screen.close()
        self.screen.deleteLater()
        self.session.close()
        self.ctx.store.close()


@contextlib.contextmanager
def desk(
    app: QApplication, home: Path, hub: Hub, centre: str, label: str, store: Path | None
) -> Iterator[Desk]:
    """A desk whose case log starts as ``store`` (a copy of it), or empty."""
    data = home / "data"
    if store is None:
        new_store(data / STORE).close()
    else:
        copy_store(store, data)
    made = Desk(app, home, hub, centre, label)
    try:
        yield made
    finally:
        made.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases at desk A")
    parser.add_argument("--notes-per-case", type=int, default=1)
    parser.add_argument("--idle-s", type=float, default=3.0, help="seconds of the baseline")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    folder, figures = ready_store(args.cache_dir, args.cases, args.notes_per_case, args.seed, False)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="mrc-bench-sync-ui.") as tmp:
        work = Path(tmp)
        with running_hub(str(work / "hub.db"), work) as hub:
            centre = hub.storage.add_centre("Centre North").id
            with desk(app, work / "a", hub, centre, "desk A", folder) as a:
                rows.append(("desk A, idle (baseline)", a.idle(args.idle_s).line()))
                watch, took, outcome = a.sync()
                pushed = outcome.report.pushed_changes
                rows.append((f"desk A pushes {pushed:,} changes ({took:.1f} s)", watch.line()))
            with desk(app, work / "b", hub, centre, "desk B", None) as b:
                rows.append(("desk B, idle (baseline)", b.idle(args.idle_s).line()))
                watch, took, outcome = b.sync()
                got = outcome.report.received.changes
                rows.append((f"desk B pulls {got:,} changes ({took:.1f} s)", watch.line()))
    print(
        f"\nthe window during a first sync: {figures.cases:,} cases, {figures.changes:,} changes,"
        f" {os.cpu_count()} cores, mrc-hub serve (SQLite) in its own process, pinned HTTPS"
    )
    width = max(len(label) for label, _ in rows)
    for label, line in rows:
        print(f"{label:<{width}}  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
