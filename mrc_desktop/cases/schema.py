"""``cases.db`` schema: sync-ready from the first migration.

* Keys are UUIDv7 strings made on the desk; every row has ``created_at``, ``updated_at``
  (where it can change) and ``origin_desk``; nothing exposes an autoincrement id.
* A case is a header row with overwritable fields plus append-only ``case_entries``
  (notes, actions, referrals, follow-ups, fee checks, documents). Two desks adding
  entries never conflict. Triggers refuse any UPDATE or DELETE of entries and of the
  audit log, so "append-only" is enforced by the database, not only by the code.
* Deletion is a tombstone (``deleted = 1``).
"""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from mrc_desktop.storage.change_capture import SyncedTable, install
from mrc_desktop.storage.encrypted import KeyParams, open_encrypted
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.storage.migrate import apply_migrations

migrations = Migrations("mrc_desktop.cases")

CASE_FIELDS = (
    "reference",
    "status",
    "assignee",
    "categories",
    "risk_flags",
    "consent",
    "person_name",
    "sex",
    "birth_date",
    "age",
    "nationality",
    "language",
    "phone",
    "messaging",
    "origin_country",
    "destination_country",
    "sector",
    "occupation",
    "migration_status",
    "scheme",
    "employer",
    "recruitment_channel",
    "agency_id",
    "contract_written",
    "contract_substituted",
    "documents_held_by",
    "wage_agreed",
    "wage_paid",
    "forced_labour",
    "stage",
    "union_member",
    "retaliation_risk",
    "narrative",
)
JSON_FIELDS = ("categories", "risk_flags", "consent", "forced_labour")
PERSONAL_FIELDS = (
    "person_name",
    "birth_date",
    "age",
    "phone",
    "messaging",
    "employer",
    "narrative",
)


@migrations(name="0001_core")
def _m0001(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        create table users (
            id text primary key, username text not null unique, display_name text not null,
            role text not null check (role in ('counsellor', 'supervisor', 'admin')),
            password_hash text not null, disabled integer not null default 0,
            created_at text not null, updated_at text not null, origin_desk text not null);
        create table agencies (
            id text primary key, name text not null, licence_no text not null default '',
            country text not null default '', licence_status text not null default 'unknown',
            contacts text not null default '', deleted integer not null default 0,
            created_at text not null, updated_at text not null, origin_desk text not null);
        create table cases (
            id text primary key, created_at text not null, updated_at text not null,
            origin_desk text not null, created_by text not null,
            deleted integer not null default 0,
            reference text not null, status text not null default 'new',
            assignee text not null default '', categories text not null default '[]',
            risk_flags text not null default '[]', consent text not null default '{}',
            person_name text not null default '', sex text not null default '',
            birth_date text not null default '', age text not null default '',
            nationality text not null default '', language text not null default '',
            phone text not null default '', messaging text not null default '',
            origin_country text not null default '', destination_country text not null default '',
            sector text not null default '', occupation text not null default '',
            migration_status text not null default '', scheme text not null default '',
            employer text not null default '', recruitment_channel text not null default '',
            agency_id text references agencies(id), contract_written text not null default '',
            contract_substituted text not null default '',
            documents_held_by text not null default '', wage_agreed text not null default '',
            wage_paid text not null default '', forced_labour text not null default '[]',
            stage text not null default '', union_member text not null default '',
            retaliation_risk text not null default '', narrative text not null default '');
        create index cases_status on cases (status, updated_at);
        create index cases_destination on cases (destination_country);
        create index cases_agency on cases (agency_id);
        create index cases_created on cases (created_at);
        create table case_entries (
            id text primary key, case_id text not null references cases(id),
            kind text not null, created_at text not null, origin_desk text not null,
            author text not null, payload text not null);
        create index case_entries_case on case_entries (case_id, created_at);
        create trigger case_entries_no_update before update on case_entries
            begin select raise(abort, 'case entries are append-only'); end;
        create trigger case_entries_no_delete before delete on case_entries
            begin select raise(abort, 'case entries are append-only'); end;
        create table audit_log (
            id text primary key, at text not null, user_id text not null, action text not null,
            case_id text, field text, old_value text, new_value text,
            origin_desk text not null);
        create index audit_case on audit_log (case_id, at);
        create trigger audit_no_update before update on audit_log
            begin select raise(abort, 'the audit log is append-only'); end;
        create trigger audit_no_delete before delete on audit_log
            begin select raise(abort, 'the audit log is append-only'); end;
        create virtual table case_search using fts5(
            case_id unindexed, text, tokenize = 'trigram');
        """
    )


@migrations(name="0002_attachments_drafts")
def _m0002(db: sqlite_utils.Database) -> None:
    # Attachments live inside the encrypted database, so they are encrypted at rest and
    # included in every backup with no second key to manage. Append-only like entries.
    # Drafts are this desk's unsaved forms (per user); they are never synced.
    db.executescript(
        """
        create table attachments (
            id text primary key, case_id text not null references cases(id),
            name text not null, media_type text not null, size integer not null,
            sha256 text not null, content blob not null,
            created_at text not null, origin_desk text not null, author text not null);
        create index attachments_case on attachments (case_id, created_at);
        create trigger attachments_no_update before update on attachments
            begin select raise(abort, 'attachments are append-only'); end;
        create trigger attachments_no_delete before delete on attachments
            begin select raise(abort, 'attachments are append-only'); end;
        create table drafts (
            user_id text not null, form text not null, saved_at text not null,
            payload text not null, primary key (user_id, form));
        create index cases_live_updated on cases (deleted, updated_at);
        """
    )


# Columns the case list filters on (CaseFilter), held by every list index of migration 0003.
LIST_FILTER_COLUMNS = (
    "status",
    "destination_country",
    "agency_id",
    "assignee",
    "created_at",
    "categories",
)
BIGRAM_TABLE = """
create virtual table case_bigrams using fts5(
    grams, content = '', contentless_delete = 1, detail = 'none',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* M* Co'")
"""


def search_bigrams(text: str) -> str:
    """Every pair of neighbouring letters, marks or digits, case-folded, space-separated.

    Trigram search cannot answer a two-character query without reading every row; Khmer,
    Thai or Myanmar names often are two characters. ``case_bigrams`` indexes these pairs.
    """
    folded = text.casefold()
    pairs = {
        a + b
        for a, b in itertools.pairwise(folded)
        if unicodedata.category(a)[0] in "LMN" and unicodedata.category(b)[0] in "LMN"
    }
    return " ".join(sorted(pairs))


@migrations(name="0003_list_indexes")
def _m0003(db: sqlite_utils.Database) -> None:
    # Measured with bench/cases.py on 100,000 cases: a case row is ~1.5 KB and SQLCipher
    # decrypts every page it reads, so counting and listing must not read the rows.
    # Partial indexes over live cases, one per leading filter or sort column, each holding
    # every filter column (and ``id``, the list's tie-break), answer count + first page
    # from the index alone for any combination of filters and any sort order. The narrow
    # categories index is the cheapest full count. ``reference collate nocase`` serves the
    # ``like 'PREFIX%'`` count that numbers a new case. ``case_bigrams`` answers
    # two-character searches.
    statements = [
        f"drop index {name}"
        for name in ("cases_live_updated", "cases_status", "cases_destination", "cases_created")
    ]
    for lead in ("updated_at", *LIST_FILTER_COLUMNS[:-1], "person_name", "reference"):
        others = [c for c in LIST_FILTER_COLUMNS if c != lead]
        if lead in ("person_name", "reference"):  # sorted by it, then by id
            columns = [lead, "id", *others]
        elif lead == "updated_at":  # the list's usual order
            columns = [lead, *others, "id"]
        else:  # filtered by it, newest first
            columns = [lead, "updated_at", *others, "id"]
        statements.append(
            f"create index cases_live_by_{lead} on cases ({', '.join(columns)}) where deleted = 0"
        )
    statements += [
        "create index cases_live_categories on cases (categories) where deleted = 0",
        "create index cases_reference on cases (reference collate nocase)",
        # Deleted cases are never found: their text leaves the search index (a search
        # with many matches is then counted in the index alone).
        "delete from case_search where rowid in (select rowid from cases where deleted = 1)",
        BIGRAM_TABLE,
        # Merge the full-text segments less often: with FTS5's default (4), about one
        # save in ten waited ~100 ms for a merge at 100,000 cases; with 8, p95 is ~25 ms.
        "insert into case_search (case_search, rank) values ('automerge', 8)",
        "insert into case_bigrams (case_bigrams, rank) values ('automerge', 8)",
    ]
    for sql in statements:
        db.execute(sql)
    for rowid, text in db.execute("select rowid, text from case_search").fetchall():
        db.execute(
            "insert into case_bigrams (rowid, grams) values (?, ?)", [rowid, search_bigrams(text)]
        )


# What syncs between desks (issue 6), parents first. Users stay on their desk (password
# hashes never travel); drafts are one user's unsaved forms and never leave the desk.
# Migration 0004 captured these; 0006 adds attachment_parts (SYNCED_TABLES, below).
SYNCED_TABLES_0004 = (
    SyncedTable("agencies", quiet=("updated_at",)),
    SyncedTable("cases", quiet=("updated_at",)),
    SyncedTable("case_entries", append_only=True),
    SyncedTable("attachments", append_only=True),
    SyncedTable("audit_log", append_only=True),
)


@migrations(name="0004_change_capture")
def _m0004(db: sqlite_utils.Database) -> None:
    # Triggers write every change of a synced column to the oplog with a hybrid logical
    # clock timestamp (storage/change_capture.py); values stored before this migration
    # are written as changes too, so existing cases reach the other desks.
    install(db, SYNCED_TABLES_0004)


def open_case_store(
    path: Path, passphrase: str, create: bool = False, params: KeyParams | None = None
) -> sqlite_utils.Database:
    """Open the encrypted store and bring its schema up to date."""
    db = open_encrypted(path, passphrase, create=create, params=params)
    try:
        apply_migrations(db, migrations, path)
    except BaseException:
        db.close()  # a refused (newer) store is left exactly as it was
        raise
    return db


# The desk's side of sync with its hub (mrc_desktop/sync/state.py, outbox.py, inbox.py).
# Local only: none of these tables is in SYNCED_TABLES, so no capture trigger ever writes
# them to the oplog. They live in the encrypted store because the identity is a secret, and
# so that the outbox, the send cursor and the chains advance in the same transaction as the
# changes they describe.
SYNC_STATE_DDL = (
    """create table sync_identity (
        id integer primary key check (id = 1), secret blob not null, created_at text not null)""",
    """create table sync_state (
        id integer primary key check (id = 1),
        desk_id text, hub_url text, hub_key text, tls_fingerprint text, tls_certificate text,
        enrol_code text, enrol_status text, centre_id text, certificate text,
        feed_cursor integer not null default 0, send_cursor text not null default '',
        sent_seq integer not null default 0, sent_hash blob,
        acked_seq integer not null default 0, last_success text, last_error text)""",
    "insert into sync_state (id) values (1)",
    """create table sync_outbox (
        origin text not null, seq integer not null, signed blob not null,
        this_hash blob not null, changes integer not null, created_at text not null,
        primary key (origin, seq))""",
    """create table sync_chain (
        origin text primary key, seq integer not null, hash blob not null,
        updated_at text not null)""",
    """create table sync_consent (
        case_id text primary key, held integer not null default 0,
        sent_hlc text not null default '')""",
    """create table sync_peers (
        desk_id text primary key, certificate text, revoked integer not null default 0,
        updated_at text not null)""",
    # Own changes too large for any batch, kept, not sent. Before 0006 these were files over
    # ~250 KB (the outbox now moves them into parts and sends them); today only a value
    # written outside the app's forms could land here.
    """create table sync_deferred (
        hlc text not null, tbl text not null, row_id text not null, col text not null,
        reason text not null, primary key (tbl, row_id, col, hlc))""",
)


@migrations(name="0005_sync_state")
def _m0005(db: sqlite_utils.Database) -> None:
    for sql in SYNC_STATE_DDL:
        db.execute(sql)


# An attachment's bytes travel in parts no larger than this: one part, base64 in a batch's
# JSON and deflated, stays under the 256 KiB batch limit even when it does not compress
# (a 192 KiB random part with a consent change seals to ~195 KiB), with room to spare.
ATTACHMENT_PART_BYTES = 192 * 1024

SYNCED_TABLES = (
    *SYNCED_TABLES_0004[:4],
    SyncedTable("attachment_parts", append_only=True),
    SYNCED_TABLES_0004[4],
)

# Attachments before 0006 hold their bytes in ``attachments.content``; those values are in
# the oplog and may have been sent, so they stay (a version already sent cannot change:
# an append-only row at another desk refuses it). From 0006 an attachment's bytes are in
# ``attachment_parts`` and its ``content`` is the empty blob (files are never empty).
# ``attachments_no_update`` now lets one update through: emptying ``content`` once its
# parts hold every byte (the outbox does it for an old file too large for any batch,
# which therefore never left the desk); anything else is still refused.
ATTACHMENT_PARTS_DDL = (
    """create table attachment_parts (
        id text primary key, attachment_id text not null references attachments(id),
        case_id text not null references cases(id),
        idx integer not null check (idx >= 0),
        content blob not null check (length(content) > 0),
        created_at text not null, origin_desk text not null,
        unique (attachment_id, idx))""",
    """create trigger attachment_parts_no_update before update on attachment_parts
        begin select raise(abort, 'attachment parts are append-only'); end""",
    """create trigger attachment_parts_no_delete before delete on attachment_parts
        begin select raise(abort, 'attachment parts are append-only'); end""",
    # case_id repeats the attachment's so that the outbox's consent filter and the hub's
    # consent check see a part as the case's (they know a case's rows by case_id).
    """create trigger attachment_parts_same_case before insert on attachment_parts
        when new.case_id is not (select case_id from attachments where id = new.attachment_id)
        begin select raise(abort, 'an attachment part names another case than its file'); end""",
    "drop trigger attachments_no_update",
    """create trigger attachments_no_update before update on attachments
        when not (length(old.content) > 0 and length(new.content) = 0
            and typeof(new.content) = 'blob'
            and new.id is old.id and new.case_id is old.case_id and new.name is old.name
            and new.media_type is old.media_type and new.size is old.size
            and new.sha256 is old.sha256 and new.created_at is old.created_at
            and new.origin_desk is old.origin_desk and new.author is old.author
            and (select coalesce(sum(length(p.content)), 0) from attachment_parts p
                 where p.attachment_id = old.id) = old.size)
        begin select raise(abort, 'attachments are append-only'); end""",
)


@migrations(name="0006_attachment_parts")
def _m0006(db: sqlite_utils.Database) -> None:
    for sql in ATTACHMENT_PARTS_DDL:
        db.execute(sql)
    install(db, SYNCED_TABLES)


# A store restored from a backup writes under a new replica id (sync/restore.py): the
# replica ids it wrote under before are its retired ones, and their changes it holds that
# the hub may not have are still its to send, from ``send_cursor`` on.
RETIRED_REPLICAS_DDL = (
    """create table sync_retired_replicas (
        replica_id text primary key, send_cursor text not null default '',
        retired_at text not null)""",
)


@migrations(name="0007_retired_replicas")
def _m0007(db: sqlite_utils.Database) -> None:
    for sql in RETIRED_REPLICAS_DDL:
        db.execute(sql)


def insert_attachment_parts(
    db: sqlite_utils.Database,
    attachment_id: str,
    case_id: str,
    content: bytes,
    created_at: str,
    origin_desk: str,
) -> int:
    """Write ``content`` as the attachment's parts (inside the caller's transaction).

    Each part is a captured insert of its own, so it reaches the other desks as one small
    change. Returns the number of parts.
    """
    view = memoryview(content)
    rows = [
        (
            uuid7(),
            attachment_id,
            case_id,
            idx,
            view[start : start + ATTACHMENT_PART_BYTES],
            created_at,
            origin_desk,
        )
        for idx, start in enumerate(range(0, len(content), ATTACHMENT_PART_BYTES))
    ]
    db.conn.executemany(
        "insert into attachment_parts (id, attachment_id, case_id, idx, content, created_at,"
        " origin_desk) values (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)
