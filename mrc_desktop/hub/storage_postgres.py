"""The hub's store for a national network: PostgreSQL through psycopg 3 and a connection pool.

The same tables, queries and rules as the SQLite backend (all in
:mod:`mrc_desktop.hub.storage_sql`). Writes run in one transaction each; a batch
put first locks its centre's row (``SELECT … FOR UPDATE``), which serialises the
puts of one centre: the slot check, the hub sequence number and the insert can
then not race, and hub sequence numbers commit in order. Enrolments lock the desks
table for the same reason. Migrations run under an advisory lock, so two hub
processes starting at once do not both create tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from mrc_desktop.hub.storage import HubStorageError, redact_url
from mrc_desktop.hub.storage_sql import ColumnTypes, SqlHubStorage, Tx, migrations_for

# Any fixed number: the key of the advisory lock held while migrating.
_MIGRATION_LOCK = 0x6D72_6368_7562
POOL_MAX = 10

MIGRATIONS = migrations_for(
    ColumnTypes(
        bigint="bigint", blob="bytea", identity="bigint generated always as identity primary key"
    )
)

Conn = psycopg.Connection[Any]


class PostgresStorage(SqlHubStorage):
    backend = "postgresql"
    row_lock = " for update"

    def __init__(self, url: str, pool_max: int = POOL_MAX) -> None:
        self.url = url
        try:
            with (
                psycopg.connect(url, connect_timeout=10, autocommit=True) as conn,
                conn.transaction(),
            ):
                tx = _tx(conn)
                tx.execute("select pg_advisory_xact_lock(?)", _MIGRATION_LOCK)
                self._apply_migrations(tx, MIGRATIONS, redact_url(url))
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

    @contextmanager
    def _transaction(self) -> Iterator[Tx]:
        with self._pool.connection() as conn, conn.transaction():
            yield _tx(conn)

    @contextmanager
    def _reading(self) -> Iterator[Tx]:
        with self._pool.connection() as conn:
            yield _tx(conn)

    def _serialise_enrolments(self, tx: Tx) -> None:
        # Row locks cannot cover rows not yet inserted: lock out other writers of desks.
        tx.execute("lock table desks in share row exclusive mode")

    def close(self) -> None:
        self._pool.close()


def _tx(conn: Conn) -> Tx:
    return Tx(conn, paramstyle="pyformat")
