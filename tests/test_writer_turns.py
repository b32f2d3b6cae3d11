"""Writers of one file take turns in the order they asked: a save on the UI thread gets in
between a worker's back-to-back transactions instead of sleeping through them in SQLite's
busy handler (storage/writer_turns.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils

from mrc_desktop.storage import sqlite_build, writer_turns
from mrc_desktop.storage.database import open_database, write_transaction

WAIT_S = 10


def store(path: Path) -> sqlite_utils.Database:
    db = open_database(path)
    db.execute("create table if not exists log (id integer primary key, who text)")
    return db


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def queued(path: Path) -> int:
    return len(writer_turns._queue(str(path)).waiting)


def test_a_save_asked_for_during_a_workers_transaction_goes_before_its_next_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cases.db"
    ui, worker_db = store(path), store(path)
    holding, go_on = threading.Event(), threading.Event()

    def worker() -> None:
        with write_transaction(worker_db):
            worker_db.execute("insert into log (who) values ('worker 1')")
            holding.set()
            go_on.wait(WAIT_S)
        with write_transaction(worker_db):  # at once, as a sync's next batch does
            worker_db.execute("insert into log (who) values ('worker 2')")

    thread = threading.Thread(target=worker)
    thread.start()
    assert holding.wait(WAIT_S)
    saving = threading.Thread(target=lambda: save(ui))
    saving.start()
    until(lambda: queued(path) == 1)  # the save waits for its turn (in SQLite's busy handler,
    # without the queue: this line then gives up after 10 s and the order below is wrong) …
    go_on.set()  # … and the worker ends its transaction and asks again straight away
    saving.join(WAIT_S)
    thread.join(WAIT_S)
    order = [r[0] for r in store(path).execute("select who from log order by id")]
    assert order == ["worker 1", "save", "worker 2"]


def save(db: sqlite_utils.Database) -> None:
    with write_transaction(db):
        db.execute("insert into log (who) values ('save')")


def test_nested_writes_and_savepoints_keep_the_turn(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    db = store(path)
    with write_transaction(db):
        db.execute("insert into log (who) values ('outer')")
        with write_transaction(db):  # a savepoint
            db.execute("insert into log (who) values ('inner')")
        with writer_turns.writer_turn(str(path), 1.0):  # the same thread enters again
            pass
    assert writer_turns._queue(str(path)).owner is None
    assert db.execute("select count(*) from log").fetchone()[0] == 2


def test_a_turn_that_never_comes_falls_back_to_sqlites_own_answer(tmp_path: Path) -> None:
    """A thread holding the turn that never lets go (a bug elsewhere) makes the next writer
    fail as SQLite always did — "database is locked" after the busy timeout — not hang."""
    path = tmp_path / "cases.db"
    holder = store(path)
    other = store(path)
    other.execute("pragma busy_timeout = 200")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with write_transaction(holder):
            holder.execute("insert into log (who) values ('holder')")
            holding.set()
            release.wait(WAIT_S)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(WAIT_S)
    queue = writer_turns._queue(str(path))
    with (
        pytest.raises(sqlite_build.sqlite.OperationalError, match="locked"),
        writer_turns.writer_turn(str(path), 0.2),
    ):
        other.execute("begin immediate")
    assert list(queue.waiting) == []  # it left the line
    release.set()
    thread.join(WAIT_S)
    save(other)  # and the file is free for the next writer
    assert queue.owner is None


def test_an_in_memory_database_has_no_queue() -> None:
    db = sqlite_utils.Database(memory=True)
    db.execute("create table t (x)")
    with write_transaction(db):
        db.execute("insert into t values (1)")
    assert "" not in writer_turns._QUEUES
