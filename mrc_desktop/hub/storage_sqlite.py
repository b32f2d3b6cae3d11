"""The hub's default store: one SQLite file (a network of a few centres on one small server).

One connection behind a lock serves the server's threads; writes start with
``BEGIN IMMEDIATE`` so a write made while the admin command writes waits for it
instead of failing on a stale snapshot, and one write transaction holds the whole
file: no row locks needed. ``synchronous=FULL``: the hub tells a desk its batch is
durable only after the commit reached the disk. The queries are in
:mod:`mrc_desktop.hub.storage_sql`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mrc_desktop.hub.storage_sql import ColumnTypes, SqlHubStorage, Tx, migrations_for
from mrc_desktop.storage.sqlite_build import Connection, connect

MIGRATIONS = migrations_for(
    ColumnTypes(bigint="integer", blob="blob", identity="integer primary key")
)


class SqliteStorage(SqlHubStorage):
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Owner-only from the start (it holds the hub's signing seed); SQLite gives its
            # -wal and -shm files the database file's permissions.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.path = path
        self._lock = threading.RLock()
        self._conn: Connection = connect(str(path), timeout_s=10.0)
        self._conn.isolation_level = None  # transactions are explicit
        self._conn.execute("pragma journal_mode=wal")
        self._conn.execute("pragma synchronous=full")
        self._conn.execute("pragma foreign_keys=on")
        try:
            with self._transaction() as tx:
                self._apply_migrations(tx, MIGRATIONS, str(path))
        except BaseException:
            self._conn.close()
            raise

    @contextmanager
    def _transaction(self) -> Iterator[Tx]:
        with self._lock:
            self._conn.execute("begin immediate")
            try:
                yield Tx(self._conn)
            except BaseException:
                self._conn.execute("rollback")
                raise
            self._conn.execute("commit")

    @contextmanager
    def _reading(self) -> Iterator[Tx]:
        with self._lock:
            yield Tx(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
