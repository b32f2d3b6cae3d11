"""The hub's storage logic written once, for every SQL backend.

SQLite and PostgreSQL keep the same tables and the same rules, so the queries, the
slot and hub-sequence logic and the schema live here, written in the SQL both
dialects accept (SQLite ≥ 3.39 reads ``is distinct from``, ``returning`` and a
qualified column in an upsert). A backend only brings what really differs:

- how it gets a connection and a write transaction (:meth:`SqlHubStorage._transaction`,
  :meth:`SqlHubStorage._reading`) and its placeholder style (:class:`Tx` takes
  ``?`` and turns it into what the driver wants);
- row locks: PostgreSQL must lock a centre's or desk's row (``for update``) for
  its writers to queue, SQLite's write transaction already holds the whole file,
  and rejects the clause (:attr:`SqlHubStorage.row_lock`);
- enrolments: PostgreSQL locks the desks table, SQLite needs nothing more
  (:meth:`SqlHubStorage._serialise_enrolments`);
- the column types in the schema (:data:`MIGRATIONS` with :class:`ColumnTypes`).

Keeping one text means a fix or a new query cannot reach one backend and miss the
other; the shared tests (``tests/hub/test_storage.py``) run on both.
"""

from __future__ import annotations

import abc
import base64
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from mrc_desktop.hub.storage import (
    ALERT_COLUMNS,
    CONTENT_COLUMNS,
    DESK_COLUMNS,
    FEED_COLUMNS,
    GENESIS_HASH,
    Alert,
    Centre,
    ChainHead,
    ConsentMark,
    ContentPackInfo,
    ContentVersionError,
    Desk,
    DeskConflictError,
    DeskStatus,
    FeedItem,
    HubStorage,
    IncomingBatch,
    PutOutcome,
    PutResult,
    SchemaTooNewError,
    UnknownCentreError,
    UnknownDeskError,
    alert_from_row,
    consent_refusals,
    content_pack_from_row,
    describe_other_centre,
    describe_refusals,
    desk_from_row,
    feed_item_from_row,
    new_enrolment_code,
    sha256_hex,
    utc_now,
)


@dataclass(frozen=True)
class ColumnTypes:
    """The few words of the schema the dialects spell differently."""

    bigint: str  # a 64-bit integer (hub sequence numbers, desk sequence numbers, counts)
    blob: str  # opaque bytes (a sealed batch)
    identity: str  # an integer primary key the database numbers itself


# Each migration is a name and its statements, with {bigint}, {blob} and {identity}
# left for the backend's ColumnTypes: both backends get the same tables by construction.
MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_hub_core",
        (
            "create table hub_meta (key text primary key, value text not null)",
            "create table centres (id text primary key, name text not null unique,"
            " created_at text not null, last_hub_seq {bigint} not null default 0)",
            "create table desks (id text primary key, signing_key text not null unique,"
            " box_key text, label text not null default '', code text not null unique,"
            " status text not null check (status in ('pending', 'approved', 'revoked')),"
            " centre_id text references centres(id), certificate text,"
            " enrolled_at text not null, changed_at text not null)",
            "create table batches (origin text not null references desks(id),"
            " seq {bigint} not null check (seq >= 1),"
            " centre_id text not null references centres(id), hub_seq {bigint} not null,"
            " sha256 text not null, data {blob} not null, received_at text not null,"
            " primary key (origin, seq), unique (centre_id, hub_seq))",
            "create table alerts (id {identity}, kind text not null,"
            " origin text not null, seq {bigint} not null, stored_sha256 text not null,"
            " offered_sha256 text not null, count {bigint} not null default 1,"
            " first_seen text not null, last_seen text not null,"
            " unique (kind, origin, seq, offered_sha256))",
        ),
    ),
    (
        # Batches are now the desks' signed batches, checked and chained (see relay.py);
        # each centre's cases' newest accepted consent change decides what may be stored.
        "0002_relay",
        (
            "create table case_consent (centre_id text not null references centres(id),"
            " case_id text not null, hlc text not null,"
            " allows_sync integer not null check (allows_sync in (0, 1)),"
            " primary key (centre_id, case_id))",
        ),
    ),
    (
        # Content packs the hub signed and publishes to every desk (hub/content.py).
        "0003_content_packs",
        (
            "create table content_packs (version {bigint} primary key check (version >= 1),"
            " published_at text not null, files {bigint} not null,"
            " content_bytes {bigint} not null, size {bigint} not null, sha256 text not null,"
            " data {blob} not null)",
        ),
    ),
    (
        # Each case belongs to the centre whose desk's batch first touched it: a desk of
        # another centre may not write to it (storage.py, "Centres"). Cases stored before
        # are in case_consent (every stored batch's cases are); a case found there under
        # two centres (possible only before this rule) goes to the first centre id.
        "0004_case_centres",
        (
            "create table case_centres (case_id text primary key,"
            " centre_id text not null references centres(id), first_seen text not null)",
            "insert into case_centres (case_id, centre_id, first_seen)"
            " select case_id, min(centre_id), 'before 0004_case_centres' from case_consent"
            " group by case_id",
        ),
    ),
)
# Cases looked up per query when checking a batch's consent (a batch touches a few hundred).
CONSENT_LOOKUP_CHUNK = 200


def migrations_for(types: ColumnTypes) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """:data:`MIGRATIONS` in one dialect's column types."""
    words = asdict(types)
    return tuple(
        (name, tuple(sql.format(**words) for sql in statements)) for name, statements in MIGRATIONS
    )


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class DbConnection(Protocol):
    """What a DB-API connection offers that :class:`Tx` uses (sqlite3 and psycopg both do)."""

    def execute(self, sql: str, params: Sequence[Any], /) -> Cursor: ...


class Tx:
    """A connection as the shared methods see it: SQL written with ``?`` placeholders,
    rows as tuples. ``pyformat`` drivers (psycopg) get ``%s`` and literal ``%`` doubled."""

    def __init__(
        self, conn: DbConnection, paramstyle: Literal["qmark", "pyformat"] = "qmark"
    ) -> None:
        self._conn = conn
        self._pyformat = paramstyle == "pyformat"

    def execute(self, sql: str, *params: object) -> Cursor:
        if self._pyformat:
            # The shared SQL never holds a ? in a literal or an operator.
            sql = sql.replace("%", "%%").replace("?", "%s")
        return self._conn.execute(sql, params)

    def one(self, sql: str, *params: object) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.execute(sql, *params).fetchone()
        return row

    def all(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        return list(self.execute(sql, *params).fetchall())


def _centre_from_row(row: tuple[Any, ...]) -> Centre:
    centre_id, name, created_at = row
    return Centre(str(centre_id), str(name), str(created_at))


class _RolledBack(Exception):
    """A put refused after it wrote (the transaction must not commit): its result."""

    def __init__(self, result: PutResult) -> None:
        super().__init__(result.reason)
        self.result = result


class SqlHubStorage(HubStorage):
    """Every :class:`HubStorage` method, on the connections a backend provides."""

    # Appended to a select that must lock the rows it reads until the transaction ends.
    row_lock: str = ""

    # --- what a backend provides ----------------------------------------------------------------

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[Tx]:
        """One write transaction: committed when the block ends, rolled back on an exception.
        Concurrent writers must not both read a state and then both act on it: the backend
        either serialises whole transactions or relies on :attr:`row_lock`."""

    @abc.abstractmethod
    def _reading(self) -> AbstractContextManager[Tx]:
        """A connection for one read statement (autocommit, no transaction held)."""

    def _serialise_enrolments(self, tx: Tx) -> None:
        """Make concurrent enrolments queue, so their id/key/code checks cannot race.

        Nothing to do where a write transaction already excludes every other writer."""

    # --- migrations ---------------------------------------------------------------------------

    def _apply_migrations(
        self, tx: Tx, migrations: tuple[tuple[str, tuple[str, ...]], ...], where: str
    ) -> None:
        """Create or bring up to date the schema, in the caller's transaction; ``where`` names
        the database in the message for one made by a newer hub."""
        tx.execute(
            "create table if not exists hub_migrations"
            " (name text primary key, applied_at text not null)"
        )
        applied = {row[0] for row in tx.all("select name from hub_migrations")}
        known = {name for name, _ in migrations}
        if applied - known:
            raise SchemaTooNewError(
                f"{where}: the hub database was made by a newer mrc-hub"
                f" (unknown migrations: {', '.join(sorted(applied - known))})"
            )
        for name, statements in migrations:
            if name in applied:
                continue
            for sql in statements:
                tx.execute(sql)
            tx.execute("insert into hub_migrations values (?, ?)", name, utc_now())

    # --- reads outside a transaction ------------------------------------------------------------

    def _one(self, sql: str, *params: object) -> tuple[Any, ...] | None:
        with self._reading() as tx:
            return tx.one(sql, *params)

    def _all(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with self._reading() as tx:
            return tx.all(sql, *params)

    # --- centres ------------------------------------------------------------------------------

    def add_centre(self, name: str) -> Centre:
        from mrc_desktop.storage.ids import uuid7

        centre = Centre(uuid7(), name, utc_now())
        with self._transaction() as tx:
            row = tx.one(
                "insert into centres (id, name, created_at) values (?, ?, ?)"
                " on conflict (name) do nothing returning id",
                centre.id,
                centre.name,
                centre.created_at,
            )
            if row is None:
                raise DeskConflictError(f"a centre named {name!r} exists already")
        return centre

    def centres(self) -> list[Centre]:
        rows = self._all("select id, name, created_at from centres order by created_at, id")
        return [_centre_from_row(row) for row in rows]

    def centre(self, centre_id: str) -> Centre | None:
        row = self._one("select id, name, created_at from centres where id = ?", centre_id)
        return None if row is None else _centre_from_row(row)

    # --- desks --------------------------------------------------------------------------------

    def enrol_desk(
        self, desk_id: str, signing_key: str, box_key: str | None, label: str, now: str
    ) -> Desk:
        with self._transaction() as tx:
            self._serialise_enrolments(tx)
            found = tx.one(f"select {DESK_COLUMNS} from desks where id = ?", desk_id)
            if found is not None:
                desk = desk_from_row(found)
                if desk.signing_key != signing_key:
                    raise DeskConflictError(f"desk {desk_id} is already enrolled with another key")
                return desk
            if tx.one("select 1 from desks where signing_key = ?", signing_key):
                raise DeskConflictError("this signing key is already enrolled for another desk")
            code = new_enrolment_code()
            while tx.one("select 1 from desks where code = ?", code):
                code = new_enrolment_code()
            row = tx.one(
                f"insert into desks ({DESK_COLUMNS}) values (?, ?, ?, ?, ?, ?, null, null, ?, ?)"
                f" returning {DESK_COLUMNS}",
                desk_id,
                signing_key,
                box_key,
                label,
                code,
                DeskStatus.PENDING.value,
                now,
                now,
            )
            assert row is not None
            return desk_from_row(row)

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
        with self._transaction() as tx:
            desk = self._locked_desk(tx, desk_id)
            if not tx.one("select 1 from centres where id = ?", centre_id):
                raise UnknownCentreError(f"no centre with id {centre_id}")
            if desk.status is not DeskStatus.PENDING:
                raise DeskConflictError(f"desk {desk_id} is {desk.status}, not pending")
            row = tx.one(
                "update desks set status = ?, centre_id = ?, certificate = ?, changed_at = ?"
                f" where id = ? returning {DESK_COLUMNS}",
                DeskStatus.APPROVED.value,
                centre_id,
                certificate,
                now,
                desk_id,
            )
            assert row is not None
            return desk_from_row(row)

    def revoke_desk(self, desk_id: str, now: str) -> Desk:
        with self._transaction() as tx:
            desk = self._locked_desk(tx, desk_id)
            if desk.status is DeskStatus.REVOKED:
                return desk
            row = tx.one(
                "update desks set status = ?, changed_at = ?"
                f" where id = ? returning {DESK_COLUMNS}",
                DeskStatus.REVOKED.value,
                now,
                desk_id,
            )
            assert row is not None
            return desk_from_row(row)

    def centre_desks(self, centre_id: str) -> list[Desk]:
        rows = self._all(
            f"select {DESK_COLUMNS} from desks where centre_id = ? order by enrolled_at, id",
            centre_id,
        )
        return [desk_from_row(row) for row in rows]

    def _locked_desk(self, tx: Tx, desk_id: str) -> Desk:
        row = tx.one(f"select {DESK_COLUMNS} from desks where id = ?{self.row_lock}", desk_id)
        if row is None:
            raise UnknownDeskError(f"no desk with id {desk_id}")
        return desk_from_row(row)

    # --- batches ------------------------------------------------------------------------------

    def put_batch(self, centre_id: str, batch: IncomingBatch, now: str) -> PutResult:
        try:
            return self._put_batch(centre_id, batch, now)
        except _RolledBack as refused:
            return refused.result

    def _put_batch(self, centre_id: str, batch: IncomingBatch, now: str) -> PutResult:
        origin, seq, data = batch.origin, batch.seq, batch.data
        digest = sha256_hex(data)
        with self._transaction() as tx:
            # The centre's row lock queues this centre's puts (an origin's batches all go to
            # its one centre): the slot, chain and consent checks, the next hub sequence
            # number and the inserts then cannot race, and numbers commit in order.
            centre = tx.one(
                f"select last_hub_seq from centres where id = ?{self.row_lock}", centre_id
            )
            if centre is None:
                raise UnknownCentreError(f"no centre with id {centre_id}")
            stored = tx.one(
                "select hub_seq, sha256 from batches where origin = ? and seq = ?", origin, seq
            )
            if stored is not None:
                hub_seq, stored_digest = int(stored[0]), str(stored[1])
                if stored_digest == digest:
                    return PutResult(PutOutcome.DUPLICATE, hub_seq, stored_digest)
                self._alert(tx, "batch_conflict", origin, seq, stored_digest, digest, now)
                return PutResult(PutOutcome.CONFLICT, hub_seq, stored_digest)
            refused = self._chain_refusal(tx, batch)
            if refused is not None:
                return refused
            consent = self._stored_consent(tx, centre_id, batch.cases)
            no_consent = consent_refusals(batch, consent)
            if no_consent:
                reason = f"batch #{seq} of desk {origin}: {describe_refusals(no_consent)}"
                return PutResult(PutOutcome.NO_CONSENT, 0, "", reason)
            elsewhere = self._claim_cases(tx, centre_id, batch.cases, now)
            if elsewhere:
                reason = f"batch #{seq} of desk {origin}: {describe_other_centre(elsewhere)}"
                # Raised, not returned: the claims made above for new cases are undone.
                raise _RolledBack(PutResult(PutOutcome.OTHER_CENTRE, 0, "", reason))
            hub_seq = int(centre[0]) + 1
            tx.execute("update centres set last_hub_seq = ? where id = ?", hub_seq, centre_id)
            tx.execute(
                f"insert into batches ({FEED_COLUMNS}, centre_id) values (?, ?, ?, ?, ?, ?, ?)",
                origin,
                seq,
                hub_seq,
                digest,
                data,
                now,
                centre_id,
            )
            for case_id, mark in sorted(batch.consent.items()):
                tx.execute(
                    "insert into case_consent (centre_id, case_id, hlc, allows_sync)"
                    " values (?, ?, ?, ?) on conflict (centre_id, case_id) do update"
                    " set hlc = excluded.hlc, allows_sync = excluded.allows_sync"
                    " where excluded.hlc > case_consent.hlc",
                    centre_id,
                    case_id,
                    mark.hlc,
                    int(mark.allows_sync),
                )
            return PutResult(PutOutcome.STORED, hub_seq, digest)

    def _alert(
        self, tx: Tx, kind: str, origin: str, seq: int, stored: str, offered: str, now: str
    ) -> None:
        tx.execute(
            "insert into alerts (kind, origin, seq, stored_sha256, offered_sha256,"
            " first_seen, last_seen) values (?, ?, ?, ?, ?, ?, ?)"
            " on conflict (kind, origin, seq, offered_sha256)"
            " do update set count = alerts.count + 1, last_seen = excluded.last_seen",
            kind,
            origin,
            seq,
            stored,
            offered,
            now,
            now,
        )

    def _claim_cases(self, tx: Tx, centre_id: str, case_ids: frozenset[str], now: str) -> list[str]:
        """Record ``centre_id`` as the centre of the cases no centre has yet; return (sorted,
        at most 3) those that belong to another centre.

        Claim first, then read the owners: a concurrent put of another centre (PostgreSQL
        locks only each centre's row) that claimed one of these cases first has committed
        by the time the insert, which waited for its row, moves on, and the read sees it.
        Sorted ids make concurrent claims take row locks in one order (no deadlock)."""
        ids = sorted(case_ids)
        elsewhere: list[str] = []
        for start in range(0, len(ids), CONSENT_LOOKUP_CHUNK):
            chunk = ids[start : start + CONSENT_LOOKUP_CHUNK]
            rows = ", ".join("(?, ?, ?)" for _ in chunk)
            tx.execute(
                f"insert into case_centres (case_id, centre_id, first_seen) values {rows}"
                " on conflict (case_id) do nothing",
                *(value for case_id in chunk for value in (case_id, centre_id, now)),
            )
            marks = ", ".join("?" * len(chunk))
            found = tx.all(
                f"select case_id from case_centres where case_id in ({marks})"
                " and centre_id <> ? order by case_id",
                *chunk,
                centre_id,
            )
            elsewhere += [str(row[0]) for row in found]
            if len(elsewhere) >= 3:
                break
        return elsewhere[:3]

    def _chain_refusal(self, tx: Tx, batch: IncomingBatch) -> PutResult | None:
        """GAP or FORK if ``batch`` does not continue its origin's stored chain, else None."""
        head = self._chain_head(tx, batch.origin)
        last_seq, last_hash = (head.seq, head.sha256) if head else (0, GENESIS_HASH)
        where = f"batch #{batch.seq} of desk {batch.origin}"
        if batch.seq != last_seq + 1:
            # A stored seq was answered above; any other seq skips at least one batch.
            reason = f"gap: {where} arrived but #{last_seq + 1} is the next the hub expects"
            return PutResult(PutOutcome.GAP, 0, "", reason)
        if batch.prev_hash != last_hash:
            stored = f"batch #{last_seq}" if last_seq else "the start of its chain"
            reason = f"fork: {where} does not follow {stored} stored from it"
            return PutResult(PutOutcome.FORK, 0, "", reason)
        return None

    def _chain_head(self, tx: Tx, origin: str) -> ChainHead | None:
        row = tx.one(
            "select seq, sha256 from batches where origin = ? order by seq desc limit 1", origin
        )
        return None if row is None else ChainHead(int(row[0]), str(row[1]))

    def _stored_consent(
        self, tx: Tx, centre_id: str, case_ids: frozenset[str]
    ) -> dict[str, ConsentMark]:
        found: dict[str, ConsentMark] = {}
        ids = sorted(case_ids)
        for start in range(0, len(ids), CONSENT_LOOKUP_CHUNK):
            chunk = ids[start : start + CONSENT_LOOKUP_CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = tx.all(
                "select case_id, hlc, allows_sync from case_consent"
                f" where centre_id = ? and case_id in ({marks})",
                centre_id,
                *chunk,
            )
            for case_id, hlc, allows in rows:
                found[str(case_id)] = ConsentMark(str(hlc), bool(allows))
        return found

    def chain_head(self, origin: str) -> ChainHead | None:
        with self._reading() as tx:
            return self._chain_head(tx, origin)

    def case_consent(self, centre_id: str, case_id: str) -> ConsentMark | None:
        with self._reading() as tx:
            return self._stored_consent(tx, centre_id, frozenset([case_id])).get(case_id)

    def feed(
        self,
        centre_id: str,
        after: int,
        limit: int,
        exclude_origin: str | None = None,
        held: Mapping[str, int] | None = None,
    ) -> list[FeedItem]:
        held = held or {}
        rows = self._all(
            f"select {FEED_COLUMNS} from batches where centre_id = ? and hub_seq > ?"
            " and origin is distinct from ?"
            + " and not (origin = ? and seq <= ?)" * len(held)
            + " order by hub_seq limit ?",
            centre_id,
            after,
            exclude_origin,
            *(value for origin, seq in held.items() for value in (origin, seq)),
            limit,
        )
        return [feed_item_from_row(row) for row in rows]

    def last_hub_seq(self, centre_id: str) -> int:
        row = self._one("select last_hub_seq from centres where id = ?", centre_id)
        return 0 if row is None else int(row[0])

    def alerts(self) -> list[Alert]:
        rows = self._all(f"select {ALERT_COLUMNS} from alerts order by first_seen, id")
        return [alert_from_row(row) for row in rows]

    # --- content packs --------------------------------------------------------------------------

    def add_content_pack(self, info: ContentPackInfo, data: bytes) -> None:
        with self._transaction() as tx:
            row = tx.one("select max(version) from content_packs")
            latest = 0 if row is None or row[0] is None else int(row[0])
            stored = None
            if info.version > latest:
                stored = tx.one(
                    f"insert into content_packs ({CONTENT_COLUMNS}, data)"
                    " values (?, ?, ?, ?, ?, ?, ?) on conflict (version) do nothing"
                    " returning version",
                    info.version,
                    info.published_at,
                    info.files,
                    info.content_bytes,
                    info.size,
                    info.sha256,
                    data,
                )
            if stored is None:  # not newer, or another publisher took the number meanwhile
                raise ContentVersionError(
                    f"content pack version {info.version} is not newer than the published"
                    f" version {max(latest, info.version)}; nothing was published"
                )

    def content_packs(self) -> list[ContentPackInfo]:
        rows = self._all(f"select {CONTENT_COLUMNS} from content_packs order by version")
        return [content_pack_from_row(row) for row in rows]

    def latest_content_pack(self) -> ContentPackInfo | None:
        row = self._one(
            f"select {CONTENT_COLUMNS} from content_packs order by version desc limit 1"
        )
        return None if row is None else content_pack_from_row(row)

    def content_pack_data(self, version: int) -> bytes | None:
        row = self._one("select data from content_packs where version = ?", version)
        return None if row is None else bytes(row[0])

    # --- the hub's key, health ------------------------------------------------------------------

    def hub_key_seed(self) -> bytes:
        fresh = base64.b64encode(os.urandom(32)).decode("ascii")
        with self._transaction() as tx:
            tx.execute(
                "insert into hub_meta (key, value) values ('hub_signing_seed', ?)"
                " on conflict (key) do nothing",
                fresh,
            )
            row = tx.one("select value from hub_meta where key = 'hub_signing_seed'")
            assert row is not None
            return base64.b64decode(row[0])

    def ping(self) -> None:
        self._one("select 1")
