"""No lost writes when the sync process dies: `mrc sync` killed with SIGKILL at exact points
and at random times, against `mrc-hub serve` running as a program.

Each desk is a data folder with its encrypted case store, enrolled and approved at the
hub like a real one. The killed sync is a separate process (``tests/sync/sync_killer.py``
runs the real ``mrc sync``, wrapping real functions to kill itself at the chosen moment):
before the outbox or an applied batch commits, right after, after the hub committed an
upload but before the desk handled its answer, between an acknowledgement and the next
upload, with a feed page in hand. Then the desks sync again normally, and:

* the killed store opens and passes ``PRAGMA integrity_check``;
* every batch a desk made is in its outbox or at the hub — the same batch — at every
  moment, and the hub raised no alert;
* after clean syncs, every change each desk committed is at the hub exactly once, in one
  unbroken chain, and applied at the other desk; the synced tables are equal; the counts of
  cases and notes are what the counsellors typed (nothing lost, nothing twice).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlite_utils

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.unlock import desk_id_of
from mrc_desktop.cases.users import create_user
from mrc_desktop.hub.cli import main as hub_cli
from mrc_desktop.hub.storage import HubStorage, open_storage
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.paths import app_paths
from mrc_desktop.sync.client import SyncReport, enrol, sync_with_hub
from mrc_desktop.sync.outbox import fill_outbox
from mrc_desktop.sync.state import load_state, require_identity
from tests.fast_keys import FAST, MIN_COST, PASS
from tests.sync.sync_killer import ENV_KILL_AT, POINTS
from tests.sync.test_client import GIVEN, NO_WAIT
from tests.sync.test_faulty_transport import (
    assert_delivered_once,
    assert_outboxes_keep_what_the_hub_lacks,
)

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 60


@dataclass
class Served:
    url: str
    db: str  # the hub's SQLite file, shared with the serving process
    storage: HubStorage  # read by the test beside the server


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from tests.hub.test_serve import running_hub

    hub_db = str(tmp_path_factory.mktemp("hub") / "hub.db")
    storage = open_storage(hub_db)
    try:
        with running_hub(hub_db) as running:
            yield Served(running.base_url, hub_db, storage)
    finally:
        storage.close()


@dataclass
class Desk:
    """A desk's data folder as `mrc` uses it, and the test's own connection to its store."""

    name: str
    home: Path
    store: Path  # its cases.db
    db: sqlite_utils.Database
    repo: CaseRepository
    cases: int = 0
    notes: int = 0

    def reopen(self) -> None:
        self.db = open_case_store(self.store, PASS)
        self.repo = CaseRepository(self.db, self.repo.user, self.repo.desk_id)

    def work(self, n: int = 1) -> None:
        """A counsellor records ``n`` new cases, each with a note and an edit."""
        for _ in range(n):
            self.cases += 1
            case = self.repo.create_case(
                {"person_name": f"Invented Worker {self.name}{self.cases}", "consent": GIVEN}
            )
            self.repo.add_entry(case, "note", {"text": "Wages unpaid since March."})
            self.repo.update_case(case, {"status": "in_progress"})
            self.notes += 1

    def sync(self) -> SyncReport:
        with at_home(self.home):
            return sync_with_hub(self.db, retry=NO_WAIT)


@contextmanager
def at_home(home: Path) -> Iterator[None]:
    """MRC_HOME pointing at one desk's folder for the block (paths, content packs)."""
    before = os.environ.get("MRC_HOME")
    os.environ["MRC_HOME"] = str(home)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MRC_HOME", None)
        else:
            os.environ["MRC_HOME"] = before


def new_centre(hub: Served, tag: str) -> str:
    name = f"Centre {tag} {random.randrange(10**9)}"
    assert hub_cli(["centre", "add", name, "--db", hub.db]) == 0
    return name


def enrolled(root: Path, name: str, hub: Served, centre: str) -> Desk:
    """A desk folder (case store, desk.db, a supervisor), enrolled and approved at ``hub``."""
    home = root / name
    with at_home(home):
        paths = app_paths()
        paths.cases_db.parent.mkdir(parents=True, exist_ok=True)
        db = open_case_store(paths.cases_db, PASS, create=True, params=FAST)
        DeskStore(paths.desk_db).close()
        desk_id = desk_id_of(paths)
        first = enrol(db, desk_id, hub.url, retry=NO_WAIT)
        approve = ["desk", "approve", first.code, "--centre", centre, "--db", hub.db]
        assert hub_cli(approve) == 0
        assert enrol(db, desk_id, hub.url, code=first.code).status == "approved"
    user = create_user(db, desk_id, f"sup-{name}", f"Supervisor {name}", "supervisor",
                       "password123", **MIN_COST)  # fmt: skip
    return Desk(name, home, paths.cases_db, db, CaseRepository(db, user, desk_id))


def spawn(desk: Desk, kill_at: str | None) -> subprocess.Popen[str]:
    """`mrc sync` for ``desk`` as its own process (the test's connection is closed first)."""
    desk.db.close()
    env = {**os.environ, "MRC_HOME": str(desk.home), "MRC_PASSPHRASE": PASS}
    env.pop(ENV_KILL_AT, None)
    if kill_at:
        env[ENV_KILL_AT] = kill_at
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.sync_killer"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(desk: Desk, process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for the process, then open the store again: it must be sound."""
    try:
        output, _ = process.communicate(timeout=CHILD_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    desk.reopen()
    assert desk.db.execute("pragma integrity_check").fetchone()[0] == "ok", output
    return process.returncode, output


def check_all(hub: Served, centre: str, desks: list[Desk]) -> None:
    """Clean syncs until every desk has everything, then the whole invariant."""
    centre_id = next(c.id for c in hub.storage.centres() if c.name == centre)
    stores = {d.name: d.db for d in desks}
    assert_outboxes_keep_what_the_hub_lacks(hub.storage, centre_id, stores)
    for desk in (*desks, *desks[:-1]):
        report = desk.sync()
        assert report.ok, report.errors
    assert_delivered_once(hub.storage, centre_id, stores)
    for desk in desks:
        counts = desk.db.execute(
            "select (select count(*) from cases), (select count(*) from case_entries)"
        ).fetchone()
        assert tuple(counts) == (sum(d.cases for d in desks), sum(d.notes for d in desks))


def test_a_sync_killed_at_each_exact_point_loses_nothing(hub: Served, tmp_path: Path) -> None:
    """One pair of desks, killed at each point in turn; after each kill the desks sync
    normally and everything must have arrived once."""
    centre = new_centre(hub, "exact points")
    a, b = enrolled(tmp_path, "a", hub, centre), enrolled(tmp_path, "b", hub, centre)
    for point in POINTS:
        for _ in range(2):  # two of b's batches wait in the feed for a
            b.work()
            assert b.sync().ok
        for _ in range(2):  # two batches wait in a's outbox; the sync makes a third
            a.work()
            fill_outbox(a.db, require_identity(a.db), str(load_state(a.db).desk_id))
        a.work()
        # Where a point is passed more than once, the second time: an upload, its
        # acknowledgement or an applied batch went through before the kill.
        times = 1 if point.startswith(("fill", "feed")) else 2
        code, output = finish(a, spawn(a, f"{point}:{times}"))
        assert code == -signal.SIGKILL and f"KILLED at {point}" in output, output
        a.work()  # the counsellor carries on; the next syncs run normally
        try:
            check_all(hub, centre, [a, b])
        except AssertionError as exc:
            raise AssertionError(f"after a kill at {point}: {exc}") from exc
    for desk in (a, b):
        desk.db.close()


def timed_sync(desk: Desk) -> float:
    """Seconds from "SYNCING" to the end of an unkilled `mrc sync` of a little new work."""
    desk.work(2)
    process = spawn(desk, None)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "SYNCING"
    start = time.monotonic()
    process.wait(CHILD_TIMEOUT_S)
    took = time.monotonic() - start
    code, output = finish(desk, process)
    assert code == 0, output
    return took


def random_kills(hub: Served, root: Path, kills: int, seed: int) -> None:
    """Sync processes of two desks killed at random moments while the desks keep working."""
    chance = random.Random(seed)
    centre = new_centre(hub, f"random {seed}")
    desks = [enrolled(root, name, hub, centre) for name in ("a", "b")]
    # How long one such sync runs here, exit included (machines differ): the kills fall in it.
    # A desk's first sync does more (peers, content), so it is not the one timed.
    for desk in desks:
        timed_sync(desk)
    window = min(timed_sync(desk) for desk in (*desks, *desks))
    killed = 0
    for _ in range(kills):
        desk = chance.choice(desks)
        desk.work(chance.randint(1, 3))
        process = spawn(desk, None)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "SYNCING"
        time.sleep(chance.uniform(0.0, window))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        code, _output = finish(desk, process)
        killed += code == -signal.SIGKILL
        centre_id = next(c.id for c in hub.storage.centres() if c.name == centre)
        assert_outboxes_keep_what_the_hub_lacks(
            hub.storage, centre_id, {d.name: d.db for d in desks}
        )
    assert killed >= kills // 2, f"only {killed} of {kills} syncs were killed before they ended"
    check_all(hub, centre, desks)
    for desk in desks:
        desk.db.close()


def test_syncs_killed_at_random_moments_lose_nothing(hub: Served, tmp_path: Path) -> None:
    random_kills(hub, tmp_path, kills=4, seed=6)


@pytest.mark.slow
def test_many_syncs_killed_at_random_moments_lose_nothing(hub: Served, tmp_path: Path) -> None:
    random_kills(hub, tmp_path, kills=30, seed=int(time.time()))
