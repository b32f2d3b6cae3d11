"""The hub's default store: one SQLite file (a network of a few centres on one small server).

One connection behind a lock serves the server's threads; writes start with
``BEGIN IMMEDIATE`` so a write made while the admin command writes waits for it
instead of failing on a stale snapshot. ``synchronous=FULL``: the hub tells a desk
its batch is durable only after the commit reached the disk.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mrc_desktop.hub.storage import (
    ALERT_COLUMNS,
    DESK_COLUMNS,
    FEED_COLUMNS,
    Alert,
    Centre,
    Desk,
    DeskConflictError,
    DeskStatus,
    FeedItem,
    HubStorage,
    PutOutcome,
    PutResult,
    SchemaTooNewError,
    UnknownCentreError,
    UnknownDeskError,
    alert_from_row,
    desk_from_row,
    feed_item_from_row,
    new_enrolment_code,
    sha256_hex,
    utc_now,
)
from mrc_desktop.storage.sqlite_build import Connection, connect

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_hub_core",
        (
            "create table hub_meta (key text primary key, value text not null)",
            "create table centres (id text primary key, name text not null unique,"
            " created_at text not null, last_hub_seq integer not null default 0)",
            "create table desks (id text primary key, signing_key text not null unique,"
            " box_key text, label text not null default '', code text not null unique,"
            " status text not null check (status in ('pending', 'approved', 'revoked')),"
            " centre_id text references centres(id), certificate text,"
            " enrolled_at text not null, changed_at text not null)",
            "create table batches (origin text not null references desks(id),"
            " seq integer not null check (seq >= 1),"
            " centre_id text not null references centres(id), hub_seq integer not null,"
            " sha256 text not null, data blob not null, received_at text not null,"
            " primary key (origin, seq), unique (centre_id, hub_seq))",
            "create table alerts (id integer primary key, kind text not null,"
            " origin text not null, seq integer not null, stored_sha256 text not null,"
            " offered_sha256 text not null, count integer not null default 1,"
            " first_seen text not null, last_seen text not null,"
            " unique (kind, origin, seq, offered_sha256))",
        ),
    ),
)


class SqliteStorage(HubStorage):
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
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._lock:
            self._conn.execute("begin immediate")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("rollback")
                raise
            self._conn.execute("commit")

    def _one(self, sql: str, *params: object) -> tuple[object, ...] | None:
        with self._lock:
            row: tuple[object, ...] | None = self._conn.execute(sql, params).fetchone()
            return row

    def _all(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def _migrate(self) -> None:
        with self._write() as conn:
            conn.execute(
                "create table if not exists hub_migrations"
                " (name text primary key, applied_at text not null)"
            )
            applied = {row[0] for row in conn.execute("select name from hub_migrations")}
            known = {name for name, _ in MIGRATIONS}
            if applied - known:
                raise SchemaTooNewError(
                    f"{self.path}: the hub database was made by a newer mrc-hub"
                    f" (unknown migrations: {', '.join(sorted(applied - known))})"
                )
            for name, statements in MIGRATIONS:
                if name in applied:
                    continue
                for sql in statements:
                    conn.execute(sql)
                conn.execute("insert into hub_migrations values (?, ?)", (name, utc_now()))

    # --- centres ------------------------------------------------------------------------------

    def add_centre(self, name: str) -> Centre:
        from mrc_desktop.storage.ids import uuid7

        centre = Centre(uuid7(), name, utc_now())
        with self._write() as conn:
            if conn.execute("select 1 from centres where name = ?", (name,)).fetchone():
                raise DeskConflictError(f"a centre named {name!r} exists already")
            conn.execute(
                "insert into centres (id, name, created_at) values (?, ?, ?)",
                (centre.id, centre.name, centre.created_at),
            )
        return centre

    def centres(self) -> list[Centre]:
        rows = self._all("select id, name, created_at from centres order by created_at, id")
        return [Centre(str(a), str(b), str(c)) for a, b, c in rows]

    def centre(self, centre_id: str) -> Centre | None:
        row = self._one("select id, name, created_at from centres where id = ?", centre_id)
        return None if row is None else Centre(str(row[0]), str(row[1]), str(row[2]))

    # --- desks --------------------------------------------------------------------------------

    def enrol_desk(
        self, desk_id: str, signing_key: str, box_key: str | None, label: str, now: str
    ) -> Desk:
        with self._write() as conn:
            row = conn.execute(f"select {DESK_COLUMNS} from desks where id = ?", (desk_id,))
            found = row.fetchone()
            if found is not None:
                desk = desk_from_row(found)
                if desk.signing_key != signing_key:
                    raise DeskConflictError(f"desk {desk_id} is already enrolled with another key")
                return desk
            if conn.execute("select 1 from desks where signing_key = ?", (signing_key,)).fetchone():
                raise DeskConflictError("this signing key is already enrolled for another desk")
            code = new_enrolment_code()
            while conn.execute("select 1 from desks where code = ?", (code,)).fetchone():
                code = new_enrolment_code()
            conn.execute(
                f"insert into desks ({DESK_COLUMNS}) values (?, ?, ?, ?, ?, ?, null, null, ?, ?)",
                (desk_id, signing_key, box_key, label, code, DeskStatus.PENDING, now, now),
            )
            inserted = conn.execute(f"select {DESK_COLUMNS} from desks where id = ?", (desk_id,))
            return desk_from_row(inserted.fetchone())

    def desk(self, desk_id: str) -> Desk | None:
        row = self._one(f"select {DESK_COLUMNS} from desks where id = ?", desk_id)
        return None if row is None else desk_from_row(row)

    def desk_by_code(self, code: str) -> Desk | None:
        row = self._one(f"select {DESK_COLUMNS} from desks where code = ?", code)
        return None if row is None else desk_from_row(row)

    def desks(self) -> list[Desk]:
        rows = self._all(f"select {DESK_COLUMNS} from desks order by enrolled_at, id")
        return [desk_from_row(row) for row in rows]

    def approve_desk(self, desk_id: str, centre_id: str, certificate: str, now: str) -> Desk:
        with self._write() as conn:
            desk = self._desk_in(conn, desk_id)
            if not conn.execute("select 1 from centres where id = ?", (centre_id,)).fetchone():
                raise UnknownCentreError(f"no centre with id {centre_id}")
            if desk.status is not DeskStatus.PENDING:
                raise DeskConflictError(f"desk {desk_id} is {desk.status}, not pending")
            conn.execute(
                "update desks set status = ?, centre_id = ?, certificate = ?, changed_at = ?"
                " where id = ?",
                (DeskStatus.APPROVED, centre_id, certificate, now, desk_id),
            )
            return self._desk_in(conn, desk_id)

    def revoke_desk(self, desk_id: str, now: str) -> Desk:
        with self._write() as conn:
            desk = self._desk_in(conn, desk_id)
            if desk.status is DeskStatus.REVOKED:
                return desk
            conn.execute(
                "update desks set status = ?, changed_at = ? where id = ?",
                (DeskStatus.REVOKED, now, desk_id),
            )
            return self._desk_in(conn, desk_id)

    @staticmethod
    def _desk_in(conn: Connection, desk_id: str) -> Desk:
        row = conn.execute(f"select {DESK_COLUMNS} from desks where id = ?", (desk_id,)).fetchone()
        if row is None:
            raise UnknownDeskError(f"no desk with id {desk_id}")
        return desk_from_row(row)

    # --- batches ------------------------------------------------------------------------------

    def put_batch(self, centre_id: str, origin: str, seq: int, data: bytes, now: str) -> PutResult:
        digest = sha256_hex(data)
        with self._write() as conn:
            centre = conn.execute(
                "select last_hub_seq from centres where id = ?", (centre_id,)
            ).fetchone()
            if centre is None:
                raise UnknownCentreError(f"no centre with id {centre_id}")
            stored = conn.execute(
                "select hub_seq, sha256, data from batches where origin = ? and seq = ?",
                (origin, seq),
            ).fetchone()
            if stored is not None:
                hub_seq, stored_digest, stored_data = stored
                if stored_digest == digest and bytes(stored_data) == data:
                    return PutResult(PutOutcome.DUPLICATE, hub_seq, stored_digest)
                conn.execute(
                    "insert into alerts (kind, origin, seq, stored_sha256, offered_sha256,"
                    " first_seen, last_seen) values ('batch_conflict', ?, ?, ?, ?, ?, ?)"
                    " on conflict (kind, origin, seq, offered_sha256)"
                    " do update set count = count + 1, last_seen = excluded.last_seen",
                    (origin, seq, stored_digest, digest, now, now),
                )
                return PutResult(PutOutcome.CONFLICT, hub_seq, stored_digest)
            hub_seq = int(centre[0]) + 1
            conn.execute("update centres set last_hub_seq = ? where id = ?", (hub_seq, centre_id))
            conn.execute(
                f"insert into batches ({FEED_COLUMNS}, centre_id) values (?, ?, ?, ?, ?, ?, ?)",
                (origin, seq, hub_seq, digest, data, now, centre_id),
            )
            return PutResult(PutOutcome.STORED, hub_seq, digest)

    def feed(
        self, centre_id: str, after: int, limit: int, exclude_origin: str | None = None
    ) -> list[FeedItem]:
        rows = self._all(
            f"select {FEED_COLUMNS} from batches where centre_id = ? and hub_seq > ?"
            " and origin is not ? order by hub_seq limit ?",
            centre_id,
            after,
            exclude_origin,
            limit,
        )
        return [feed_item_from_row(row) for row in rows]

    def alerts(self) -> list[Alert]:
        rows = self._all(f"select {ALERT_COLUMNS} from alerts order by first_seen, id")
        return [alert_from_row(row) for row in rows]

    # --- the hub's key, health ------------------------------------------------------------------

    def hub_key_seed(self) -> bytes:
        fresh = base64.b64encode(os.urandom(32)).decode("ascii")
        with self._write() as conn:
            conn.execute(
                "insert into hub_meta (key, value) values ('hub_signing_seed', ?)"
                " on conflict (key) do nothing",
                (fresh,),
            )
            row = conn.execute("select value from hub_meta where key = 'hub_signing_seed'")
            return base64.b64decode(row.fetchone()[0])

    def ping(self) -> None:
        self._one("select 1")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
