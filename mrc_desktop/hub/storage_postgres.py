"""The hub's store for a national network: PostgreSQL through psycopg 3 and a connection pool.

The same tables and rules as the SQLite backend. Writes run in one transaction
each; a batch put first locks its centre's row (``SELECT … FOR UPDATE``), which
serialises the puts of one centre: the slot check, the hub sequence number and the
insert can then not race, and hub sequence numbers commit in order. Migrations run
under an advisory lock, so two hub processes starting at once do not both create
tables.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

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
    HubStorageError,
    PutOutcome,
    PutResult,
    SchemaTooNewError,
    UnknownCentreError,
    UnknownDeskError,
    alert_from_row,
    desk_from_row,
    feed_item_from_row,
    new_enrolment_code,
    redact_url,
    sha256_hex,
    utc_now,
)

# Any fixed number: the key of the advisory lock held while migrating.
_MIGRATION_LOCK = 0x6D72_6368_7562
POOL_MAX = 10

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_hub_core",
        (
            "create table hub_meta (key text primary key, value text not null)",
            "create table centres (id text primary key, name text not null unique,"
            " created_at text not null, last_hub_seq bigint not null default 0)",
            "create table desks (id text primary key, signing_key text not null unique,"
            " box_key text, label text not null default '', code text not null unique,"
            " status text not null check (status in ('pending', 'approved', 'revoked')),"
            " centre_id text references centres(id), certificate text,"
            " enrolled_at text not null, changed_at text not null)",
            "create table batches (origin text not null references desks(id),"
            " seq bigint not null check (seq >= 1),"
            " centre_id text not null references centres(id), hub_seq bigint not null,"
            " sha256 text not null, data bytea not null, received_at text not null,"
            " primary key (origin, seq), unique (centre_id, hub_seq))",
            "create table alerts (id bigint generated always as identity primary key,"
            " kind text not null, origin text not null, seq bigint not null,"
            " stored_sha256 text not null, offered_sha256 text not null,"
            " count bigint not null default 1, first_seen text not null,"
            " last_seen text not null, unique (kind, origin, seq, offered_sha256))",
        ),
    ),
)

Conn = psycopg.Connection[Any]


class PostgresStorage(HubStorage):
    backend = "postgresql"

    def __init__(self, url: str, pool_max: int = POOL_MAX) -> None:
        self.url = url
        try:
            with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
                self._migrate(conn)
        except psycopg.OperationalError as exc:
            # libpq's message names host and port, never the password.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HubStorageError(f"cannot reach {redact_url(url)}: {first}") from None
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_max,
            kwargs={"autocommit": True},
            open=True,
            name="mrc-hub",
        )

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Conn]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _one(self, sql: str, *params: object) -> tuple[Any, ...] | None:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def _all(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _migrate(self, conn: Conn) -> None:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "create table if not exists hub_migrations"
                " (name text primary key, applied_at text not null)"
            )
            applied = {row[0] for row in conn.execute("select name from hub_migrations")}
            known = {name for name, _ in MIGRATIONS}
            if applied - known:
                raise SchemaTooNewError(
                    f"{redact_url(self.url)}: the hub database was made by a newer mrc-hub"
                    f" (unknown migrations: {', '.join(sorted(applied - known))})"
                )
            for name, statements in MIGRATIONS:
                if name in applied:
                    continue
                for sql in statements:
                    conn.execute(sql)
                conn.execute("insert into hub_migrations values (%s, %s)", (name, utc_now()))

    # --- centres ------------------------------------------------------------------------------

    def add_centre(self, name: str) -> Centre:
        from mrc_desktop.storage.ids import uuid7

        centre = Centre(uuid7(), name, utc_now())
        with self._write() as conn:
            row = conn.execute(
                "insert into centres (id, name, created_at) values (%s, %s, %s)"
                " on conflict (name) do nothing returning id",
                (centre.id, centre.name, centre.created_at),
            ).fetchone()
            if row is None:
                raise DeskConflictError(f"a centre named {name!r} exists already")
        return centre

    def centres(self) -> list[Centre]:
        rows = self._all("select id, name, created_at from centres order by created_at, id")
        return [Centre(*row) for row in rows]

    def centre(self, centre_id: str) -> Centre | None:
        row = self._one("select id, name, created_at from centres where id = %s", centre_id)
        return None if row is None else Centre(*row)

    # --- desks --------------------------------------------------------------------------------

    def enrol_desk(
        self, desk_id: str, signing_key: str, box_key: str | None, label: str, now: str
    ) -> Desk:
        with self._write() as conn:
            # Serialise enrolments: the id/key/code checks below then cannot race.
            conn.execute("lock table desks in share row exclusive mode")
            found = conn.execute(
                f"select {DESK_COLUMNS} from desks where id = %s", (desk_id,)
            ).fetchone()
            if found is not None:
                desk = desk_from_row(found)
                if desk.signing_key != signing_key:
                    raise DeskConflictError(f"desk {desk_id} is already enrolled with another key")
                return desk
            taken = conn.execute("select 1 from desks where signing_key = %s", (signing_key,))
            if taken.fetchone():
                raise DeskConflictError("this signing key is already enrolled for another desk")
            code = new_enrolment_code()
            while conn.execute("select 1 from desks where code = %s", (code,)).fetchone():
                code = new_enrolment_code()
            row = conn.execute(
                f"insert into desks ({DESK_COLUMNS})"
                " values (%s, %s, %s, %s, %s, %s, null, null, %s, %s)"
                f" returning {DESK_COLUMNS}",
                (desk_id, signing_key, box_key, label, code, DeskStatus.PENDING.value, now, now),
            ).fetchone()
            assert row is not None
            return desk_from_row(row)

    def desk(self, desk_id: str) -> Desk | None:
        row = self._one(f"select {DESK_COLUMNS} from desks where id = %s", desk_id)
        return None if row is None else desk_from_row(row)

    def desk_by_code(self, code: str) -> Desk | None:
        row = self._one(f"select {DESK_COLUMNS} from desks where code = %s", code)
        return None if row is None else desk_from_row(row)

    def desks(self) -> list[Desk]:
        rows = self._all(f"select {DESK_COLUMNS} from desks order by enrolled_at, id")
        return [desk_from_row(row) for row in rows]

    def approve_desk(self, desk_id: str, centre_id: str, certificate: str, now: str) -> Desk:
        with self._write() as conn:
            desk = self._locked_desk(conn, desk_id)
            if not conn.execute("select 1 from centres where id = %s", (centre_id,)).fetchone():
                raise UnknownCentreError(f"no centre with id {centre_id}")
            if desk.status is not DeskStatus.PENDING:
                raise DeskConflictError(f"desk {desk_id} is {desk.status}, not pending")
            row = conn.execute(
                "update desks set status = %s, centre_id = %s, certificate = %s, changed_at = %s"
                f" where id = %s returning {DESK_COLUMNS}",
                (DeskStatus.APPROVED.value, centre_id, certificate, now, desk_id),
            ).fetchone()
            assert row is not None
            return desk_from_row(row)

    def revoke_desk(self, desk_id: str, now: str) -> Desk:
        with self._write() as conn:
            desk = self._locked_desk(conn, desk_id)
            if desk.status is DeskStatus.REVOKED:
                return desk
            row = conn.execute(
                f"update desks set status = %s, changed_at = %s where id = %s"
                f" returning {DESK_COLUMNS}",
                (DeskStatus.REVOKED.value, now, desk_id),
            ).fetchone()
            assert row is not None
            return desk_from_row(row)

    @staticmethod
    def _locked_desk(conn: Conn, desk_id: str) -> Desk:
        row = conn.execute(
            f"select {DESK_COLUMNS} from desks where id = %s for update", (desk_id,)
        ).fetchone()
        if row is None:
            raise UnknownDeskError(f"no desk with id {desk_id}")
        return desk_from_row(row)

    # --- batches ------------------------------------------------------------------------------

    def put_batch(self, centre_id: str, origin: str, seq: int, data: bytes, now: str) -> PutResult:
        digest = sha256_hex(data)
        with self._write() as conn:
            centre = conn.execute(
                "select last_hub_seq from centres where id = %s for update", (centre_id,)
            ).fetchone()
            if centre is None:
                raise UnknownCentreError(f"no centre with id {centre_id}")
            stored = conn.execute(
                "select hub_seq, sha256, data from batches where origin = %s and seq = %s",
                (origin, seq),
            ).fetchone()
            if stored is not None:
                hub_seq, stored_digest, stored_data = stored
                if stored_digest == digest and bytes(stored_data) == data:
                    return PutResult(PutOutcome.DUPLICATE, hub_seq, stored_digest)
                conn.execute(
                    "insert into alerts (kind, origin, seq, stored_sha256, offered_sha256,"
                    " first_seen, last_seen) values ('batch_conflict', %s, %s, %s, %s, %s, %s)"
                    " on conflict (kind, origin, seq, offered_sha256)"
                    " do update set count = alerts.count + 1, last_seen = excluded.last_seen",
                    (origin, seq, stored_digest, digest, now, now),
                )
                return PutResult(PutOutcome.CONFLICT, hub_seq, stored_digest)
            hub_seq = int(centre[0]) + 1
            conn.execute("update centres set last_hub_seq = %s where id = %s", (hub_seq, centre_id))
            conn.execute(
                f"insert into batches ({FEED_COLUMNS}, centre_id)"
                " values (%s, %s, %s, %s, %s, %s, %s)",
                (origin, seq, hub_seq, digest, data, now, centre_id),
            )
            return PutResult(PutOutcome.STORED, hub_seq, digest)

    def feed(
        self, centre_id: str, after: int, limit: int, exclude_origin: str | None = None
    ) -> list[FeedItem]:
        rows = self._all(
            f"select {FEED_COLUMNS} from batches where centre_id = %s and hub_seq > %s"
            " and origin is distinct from %s order by hub_seq limit %s",
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
                "insert into hub_meta (key, value) values ('hub_signing_seed', %s)"
                " on conflict (key) do nothing",
                (fresh,),
            )
            row = conn.execute("select value from hub_meta where key = 'hub_signing_seed'")
            value = row.fetchone()
            assert value is not None
            return base64.b64decode(value[0])

    def ping(self) -> None:
        self._one("select 1")

    def close(self) -> None:
        self._pool.close()
