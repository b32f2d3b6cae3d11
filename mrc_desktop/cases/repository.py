"""Reading and writing cases: the one write path, with validation and the audit log.

Every write runs in one transaction: the row, its audit entries and the search index
change together or not at all. That takes an explicit transaction (sqlite-utils commits
each statement run outside one, so ``with conn:`` alone would not), started with ``BEGIN
IMMEDIATE`` (``storage.database.write_transaction``) so that a write waits for another
connection's write instead of failing on a stale read snapshot. Personal
data is read through ``open_case``, which records who viewed it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from mrc_desktop.cases.schema import (
    CASE_FIELDS,
    JSON_FIELDS,
    insert_attachment_parts,
    search_bigrams,
)
from mrc_desktop.cases.users import User
from mrc_desktop.cases.validation import clean_text, validate_case
from mrc_desktop.cases.vocab import ENTRY_KINDS, STATUSES
from mrc_desktop.storage.database import write_transaction
from mrc_desktop.storage.ids import uuid7

LIST_COLUMNS = (
    "id",
    "reference",
    "status",
    "person_name",
    "destination_country",
    "agency_id",
    "assignee",
    "created_at",
    "updated_at",
    "categories",
)
# A text search with at least this many matches walks a list index (testing each case
# against the search) instead of reading every match by rowid.
BROAD_TEXT = 1000
SORTABLE = ("reference", "status", "person_name", "destination_country", "created_at", "updated_at")


class ValidationError(ValueError):
    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(problems)))
        self.problems = problems


class PermissionDenied(PermissionError):
    pass


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class CaseFilter:
    status: tuple[str, ...] = ()
    category: str = ""
    destination: str = ""
    agency_id: str = ""
    assignee: str = ""
    created_from: str = ""  # YYYY-MM-DD
    created_to: str = ""
    text: str = ""  # full-text search over names, narrative and notes
    edited_at_two_desks: bool = False  # only cases with an open sync conflict

    def where(
        self, text_hits: list[int] | None = None, broad_text: bool = False, ordered: bool = False
    ) -> tuple[str, list[Any]]:
        """The SQL condition on ``cases c`` and its parameters.

        The repository says how to run the text search (``CaseRepository._where``): with
        ``text_hits`` (the few matching rowids, fetched one by one) or ``broad_text`` (many
        matches: walk an index and test each case against the search). ``ordered`` is for a
        list in ``updated_at`` order: with several statuses it then walks the list index in
        order instead of sorting every match. A unary ``+`` keeps SQLite from driving the
        query by that term.
        """
        clauses, params = ["c.deleted = 0"], []
        if self.status:
            plus = "+" if ordered and len(self.status) > 1 else ""
            clauses.append(f"{plus}c.status in ({','.join('?' * len(self.status))})")
            params += list(self.status)
        if self.category:
            # Categories are a JSON list of vocabulary keys: the quoted key is one element.
            clauses.append("instr(c.categories, ?) > 0")
            params.append(json.dumps(self.category, ensure_ascii=False))
        for column, value in (
            ("destination_country", self.destination),
            ("agency_id", self.agency_id),
            ("assignee", self.assignee),
        ):
            if value:
                clauses.append(f"c.{column} = ?")
                params.append(value)
        if self.edited_at_two_desks:
            clauses.append(
                "c.id in (select row_id from conflicts where tbl = 'cases' and resolved = 0)"
            )
        if self.created_from:
            clauses.append("c.created_at >= ?")
            params.append(self.created_from)
        if self.created_to:
            clauses.append("c.created_at < date(?, '+1 day')")
            params.append(self.created_to)
        search = self.text_search()
        if text_hits is not None:
            clauses.append("c.rowid in (select value from json_each(?))")
            params.append(json.dumps(text_hits))
        elif search:
            table, expr = search
            plus = "+" if broad_text else ""
            clauses.append(f"{plus}c.rowid in (select rowid from {table} where {table} match ?)")
            params.append(expr)
        elif self.text.strip():
            clauses.append("c.rowid in (select rowid from case_search where text like ?)")
            params.append(f"%{self.text.strip()}%")
        return " and ".join(clauses), params

    def text_search(self) -> tuple[str, str] | None:
        """(full-text table, MATCH expression) for the text, or None if no index can answer.

        Three or more characters: any substring, through the trigram index. Two letters:
        the bigram index. One character (or two with a space or sign) is matched with LIKE,
        which reads every case.
        """
        text = self.text.strip()
        if len(text) >= 3:
            return "case_search", '"' + text.replace('"', '""') + '"'
        grams = search_bigrams(text)
        if len(text) == 2 and grams and " " not in grams:
            return "case_bigrams", f'"{grams}"'
        return None


@dataclass
class CaseRepository:
    db: sqlite_utils.Database
    user: User
    desk_id: str
    _listeners: list[Any] = field(default_factory=list)
    # The last text search's matches, valid while the database is unchanged (see _text_hits).
    _hits_cache: tuple[tuple[Any, ...], list[int] | None] | None = None

    # -- writes -------------------------------------------------------------------
    def create_case(self, fields: dict[str, Any]) -> str:
        values = self._checked(fields, creating=True)
        with write_transaction(self.db):
            return self._insert_case(values, "create")

    def create_cases(self, rows: list[dict[str, Any]], action: str = "create") -> list[str]:
        """Create many cases in one transaction: all of them, or none (imports).

        Every row is validated before anything is written; a bad row raises
        ``ValidationError`` with a note naming its index. ``action`` names the audit row
        each case gets (``import`` for spreadsheet imports).
        """
        checked = []
        for index, fields in enumerate(rows):
            try:
                checked.append(self._checked(fields, creating=True))
            except ValidationError as exc:
                exc.add_note(f"row {index}")
                raise
        with write_transaction(self.db):
            return [self._insert_case(values, action) for values in checked]

    def update_case(self, case_id: str, changes: dict[str, Any]) -> list[str]:
        """Change header fields; every changed field is audited (old → new). Returns them."""
        values = self._checked(changes, creating=False)
        current = self._row(case_id)
        changed = {k: v for k, v in values.items() if current.get(k) != v}
        if not changed:
            return []
        with write_transaction(self.db):
            assignments = ", ".join(f"{k} = ?" for k in changed)
            self.db.execute(
                f"update cases set {assignments}, updated_at = ? where id = ?",
                [*changed.values(), now(), case_id],
            )
            for name, value in changed.items():
                self._audit("change", case_id, name, current.get(name), value)
            self._reindex(case_id)
        return list(changed)

    def delete_case(self, case_id: str) -> None:
        if not self.user.can("delete_case"):
            raise PermissionDenied("only supervisors and admins delete cases")
        with write_transaction(self.db):
            self.db.execute(
                "update cases set deleted = 1, updated_at = ? where id = ?", [now(), case_id]
            )
            self._audit("delete", case_id)
            # A deleted case is never found again: its text leaves the search indexes, so a
            # search is counted in its index alone (count()).
            for table in ("case_search", "case_bigrams"):
                self.db.execute(
                    f"delete from {table} where rowid = (select rowid from cases where id = ?)",
                    [case_id],
                )

    def add_entry(
        self, case_id: str, kind: str, payload: dict[str, Any], status: str | None = None
    ) -> str:
        """Append a note, action, referral… ``status``, if given, changes the case's status
        in the same transaction (a referral moves a new case to "referred")."""
        if kind not in ENTRY_KINDS:
            raise ValueError(f"unknown entry kind {kind!r}")
        current = self._row(case_id)
        if status is not None and status not in STATUSES:
            raise ValidationError({"status": "Choose one of the options."})
        entry_id = uuid7()
        with write_transaction(self.db):
            if status is not None and status != current["status"]:
                self.db.execute("update cases set status = ? where id = ?", [status, case_id])
                self._audit("change", case_id, "status", current["status"], status)
            self.db.execute(
                "insert into case_entries (id, case_id, kind, created_at, origin_desk, author,"
                " payload) values (?, ?, ?, ?, ?, ?, ?)",
                [
                    entry_id,
                    case_id,
                    kind,
                    now(),
                    self.desk_id,
                    self.user.id,
                    json.dumps(payload, ensure_ascii=False, sort_keys=True),
                ],
            )
            self.db.execute("update cases set updated_at = ? where id = ?", [now(), case_id])
            self._audit(f"add_{kind}", case_id)
            self._reindex(case_id)
        return entry_id

    def add_attachment_row(
        self, case_id: str, name: str, media_type: str, content: bytes, sha256: str
    ) -> str:
        """Store a file checked by ``cases.attachments`` with its ``document`` entry and
        audit row in one transaction; returns the attachment id. The bytes go into
        ``attachment_parts`` (``content`` stays empty) so they can sync in batches."""
        self._row(case_id)
        attachment_id, stamp = uuid7(), now()
        payload: dict[str, Any] = {
            "attachment": attachment_id,
            "name": name,
            "media_type": media_type,
            "size": len(content),
        }
        with write_transaction(self.db):
            self.db.execute(
                "insert into attachments (id, case_id, name, media_type, size, sha256, content,"
                " created_at, origin_desk, author) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    attachment_id,
                    case_id,
                    name,
                    media_type,
                    len(content),
                    sha256,
                    b"",
                    stamp,
                    self.desk_id,
                    self.user.id,
                ],
            )
            insert_attachment_parts(self.db, attachment_id, case_id, content, stamp, self.desk_id)
            self.db.execute(
                "insert into case_entries (id, case_id, kind, created_at, origin_desk, author,"
                " payload) values (?, ?, 'document', ?, ?, ?, ?)",
                [
                    uuid7(),
                    case_id,
                    stamp,
                    self.desk_id,
                    self.user.id,
                    json.dumps(payload, ensure_ascii=False, sort_keys=True),
                ],
            )
            self.db.execute("update cases set updated_at = ? where id = ?", [stamp, case_id])
            self._audit("add_document", case_id, "attachment", None, attachment_id)
        return attachment_id

    def record(
        self,
        action: str,
        case_id: str | None,
        name: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        """Write one audit entry on its own (log-in, lock, export, a viewed attachment…)."""
        with write_transaction(self.db):
            self._audit(action, case_id, name, old, new)

    # -- reads --------------------------------------------------------------------
    def open_case(self, case_id: str) -> dict[str, Any]:
        """The whole case with its personal data; the view is recorded in the audit log."""
        row = self._row(case_id)
        with write_transaction(self.db):
            self._audit("view", case_id)
        return row

    def open_case_header(self, case_id: str) -> dict[str, Any]:
        """The case row without an audited view (for workflow checks, never for display)."""
        return self._row(case_id)

    def entries(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "select id, kind, created_at, author, payload from case_entries where case_id = ?"
            " order by created_at, id",
            [case_id],
        ).fetchall()
        return [
            {
                "id": r[0],
                "kind": r[1],
                "created_at": r[2],
                "author": r[3],
                "payload": json.loads(r[4]),
            }
            for r in rows
        ]

    def list_cases(
        self,
        filters: CaseFilter | None = None,
        order_by: str = "updated_at",
        descending: bool = True,
        offset: int = 0,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        column = order_by if order_by in SORTABLE else "updated_at"
        where, params = self._where(filters, ordered=column == "updated_at")
        order = f"c.{column} {'desc' if descending else 'asc'}, c.id"
        # The page is chosen in the list indexes alone (they hold every filter column, the
        # order and ``id``); only its rows are then read.
        rows = self.db.execute(
            f"select {', '.join('c.' + c for c in LIST_COLUMNS)} from cases c"
            f" where c.rowid in (select c.rowid from cases c where {where}"
            f" order by {order} limit ? offset ?) order by {order}",
            [*params, limit, offset],
        ).fetchall()
        return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in rows]

    def count(self, filters: CaseFilter | None = None) -> int:
        filters = filters or CaseFilter()
        search = filters.text_search()
        if search and filters == CaseFilter(text=filters.text):
            # A search alone: the search index holds live cases only (delete_case).
            hits = self._text_hits(search)
            if hits is not None:
                return len(hits)
            table, expr = search
            sql = f"select count(*) from {table} where {table} match ?"
            return int(self.db.execute(sql, [expr]).fetchone()[0])
        where, params = self._where(filters, ordered=False)
        return int(
            self.db.execute(f"select count(*) from cases c where {where}", params).fetchone()[0]
        )

    def _where(self, filters: CaseFilter | None, ordered: bool) -> tuple[str, list[Any]]:
        """``filters.where()``, told how to search text: a search with few matches is
        looked up first and its cases read by rowid; with many, the query walks an index."""
        filters = filters or CaseFilter()
        search = filters.text_search()
        if search is None:
            return filters.where(ordered=ordered)
        hits = self._text_hits(search)
        if hits is not None:
            return filters.where(text_hits=hits, ordered=ordered)
        return filters.where(broad_text=True, ordered=ordered)

    def _text_hits(self, search: tuple[str, str]) -> list[int] | None:
        """The matching rowids if there are fewer than BROAD_TEXT, else None.

        The list asks for a count and then pages with the same search: the answer is kept
        while nothing has changed (no write on this connection, none by another).
        """
        table, expr = search
        total = self.db.execute("select total_changes()").fetchone()[0]
        version = self.db.execute("pragma data_version").fetchone()[0]
        key = (table, expr, total, version)
        if self._hits_cache and self._hits_cache[0] == key:
            return self._hits_cache[1]
        rows = self.db.execute(
            f"select rowid from {table} where {table} match ? limit {BROAD_TEXT}", [expr]
        ).fetchall()
        hits = [r[0] for r in rows] if len(rows) < BROAD_TEXT else None
        self._hits_cache = (key, hits)
        return hits

    def possible_duplicates(
        self, name: str, birth_date: str = "", phone: str = "", exclude: str = ""
    ) -> list[dict[str, Any]]:
        """Cases with the same phone, or a similar name and the same date of birth."""
        name = clean_text(name).casefold()
        rows = self.db.execute(
            "select id, reference, person_name, birth_date, phone from cases"
            " where deleted = 0 and id != ? and ((? != '' and phone = ?)"
            " or (? != '' and birth_date = ?))",
            [exclude, phone, phone, birth_date, birth_date],
        ).fetchall()
        found = []
        for row in rows:
            same_phone = bool(phone) and row[4] == phone
            similar = bool(name) and (name in row[2].casefold() or row[2].casefold() in name)
            if same_phone or similar:
                found.append({"id": row[0], "reference": row[1], "person_name": row[2]})
        return found

    def due_follow_ups(self, today: dt.date) -> list[dict[str, Any]]:
        """Follow-ups due today or overdue that have not been marked done."""
        rows = self.db.execute(
            "select e.id, e.case_id, c.reference, json_extract(e.payload, '$.due_on'),"
            " json_extract(e.payload, '$.text') from case_entries e join cases c"
            " on c.id = e.case_id where e.kind = 'follow_up' and c.deleted = 0"
            " and json_extract(e.payload, '$.due_on') <= ? and not exists ("
            "  select 1 from case_entries d where d.kind = 'follow_up_done'"
            "  and json_extract(d.payload, '$.follow_up') = e.id)"
            " order by 4",
            [today.isoformat()],
        ).fetchall()
        return [
            {
                "id": r[0],
                "case_id": r[1],
                "reference": r[2],
                "due_on": r[3],
                "text": r[4],
                "overdue": r[3] < today.isoformat(),
            }
            for r in rows
        ]

    def audit_entries(self, case_id: str | None = None) -> list[dict[str, Any]]:
        if not self.user.can("see_audit"):
            raise PermissionDenied("only supervisors and admins see the audit log")
        sql = (
            "select at, user_id, action, case_id, field, old_value, new_value from audit_log"
            + (" where case_id = ?" if case_id else "")
            + " order by at, id"
        )
        rows = self.db.execute(sql, [case_id] if case_id else []).fetchall()
        keys = ("at", "user_id", "action", "case_id", "field", "old_value", "new_value")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def audit_page(
        self,
        offset: int,
        limit: int,
        case_id: str | None = None,
        action: str | None = None,
        reference: str = "",
    ) -> list[dict[str, Any]]:
        """One page of the audit log, newest first, for the audit view.

        Rows carry the actor's display name (``user_name``), and what the row is about:
        the case ``reference``, or ``agency_name`` when ``case_id`` names an agency.
        ``reference`` keeps rows whose case reference contains it. Pages follow the
        primary key (UUIDv7, so creation order to the millisecond): sorting the whole
        log by ``at`` would cost seconds on a large store; within a page rows are put in
        exact ``at`` order.
        """
        if not self.user.can("see_audit"):
            raise PermissionDenied("only supervisors and admins see the audit log")
        clauses, params = [], []
        if case_id:
            clauses.append("a.case_id = ?")
            params.append(case_id)
        if action:
            clauses.append("a.action = ?")
            params.append(action)
        if reference.strip():
            text = reference.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("c.reference like ? escape '\\'")
            params.append(f"%{text}%")
        where = f"where {' and '.join(clauses)}" if clauses else ""
        keys = (
            "id",
            "at",
            "user_id",
            "action",
            "case_id",
            "field",
            "old_value",
            "new_value",
            "user_name",
            "reference",
            "agency_name",
        )
        rows = self.db.execute(
            "select * from (select a.id, a.at, a.user_id, a.action, a.case_id, a.field,"
            " a.old_value, a.new_value, u.display_name, c.reference, g.name"
            " from audit_log a left join users u on u.id = a.user_id"
            " left join cases c on c.id = a.case_id left join agencies g on g.id = a.case_id"
            f" {where} order by a.id desc limit ? offset ?) order by at desc, id desc",
            [*params, limit, offset],
        ).fetchall()
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- helpers ------------------------------------------------------------------
    def _insert_case(self, values: dict[str, Any], action: str) -> str:
        """Insert one checked case with its audit row and index entry; the caller commits."""
        case_id, stamp = uuid7(), now()
        values.setdefault("reference", self._next_reference(stamp))
        values.setdefault("status", "new")
        columns = ["id", "created_at", "updated_at", "origin_desk", "created_by", *values]
        self.db.execute(
            f"insert into cases ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [case_id, stamp, stamp, self.desk_id, self.user.id, *values.values()],
        )
        self._audit(action, case_id)
        self._reindex(case_id)
        return case_id

    def _checked(self, fields: dict[str, Any], creating: bool) -> dict[str, Any]:
        unknown = [k for k in fields if k not in CASE_FIELDS]
        if unknown:
            raise ValidationError({k: "unknown field" for k in unknown})
        if creating:
            fields = {"person_name": "", **fields}
        problems = validate_case(fields)
        if problems:
            raise ValidationError(problems)
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name in JSON_FIELDS:
                values[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
            elif value is None:
                values[name] = None if name == "agency_id" else ""
            else:
                values[name] = clean_text(str(value)) if name != "narrative" else str(value)
        return values

    def _row(self, case_id: str) -> dict[str, Any]:
        cursor = self.db.execute("select * from cases where id = ? and deleted = 0", [case_id])
        row = cursor.fetchone()
        if row is None:
            raise KeyError(case_id)
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def _next_reference(self, stamp: str) -> str:
        year = stamp[:4]
        prefix = f"{self.desk_id[:4].upper()}-{year}-"
        count = self.db.execute(
            "select count(*) from cases where reference like ?", [prefix + "%"]
        ).fetchone()[0]
        return f"{prefix}{count + 1:05d}"

    def _audit(
        self,
        action: str,
        case_id: str | None,
        name: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        self.db.execute(
            "insert into audit_log (id, at, user_id, action, case_id, field, old_value,"
            " new_value, origin_desk) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                uuid7(),
                now(),
                self.user.id,
                action,
                case_id,
                name,
                None if old is None else str(old),
                None if new is None else str(new),
                self.desk_id,
            ],
        )

    def refresh_search(self, case_id: str) -> None:
        """Bring the search indexes up to date for a case written outside this repository
        (changes merged from another desk): a deleted case leaves them, a live one is
        indexed again. The caller holds the transaction."""
        deleted = self.db.execute("select deleted from cases where id = ?", [case_id]).fetchone()
        if deleted is None:
            raise KeyError(case_id)
        if not deleted[0]:
            self._reindex(case_id)
            return
        for table in ("case_search", "case_bigrams"):
            self.db.execute(
                f"delete from {table} where rowid = (select rowid from cases where id = ?)",
                [case_id],
            )

    def _reindex(self, case_id: str) -> None:
        row = self.db.execute(
            "select rowid, reference, person_name, employer, narrative from cases where id = ?",
            [case_id],
        ).fetchone()
        notes = [
            r[0]
            for r in self.db.execute(
                "select json_extract(payload, '$.text') from case_entries where case_id = ?"
                " and kind in ('note', 'action', 'referral', 'follow_up')",
                [case_id],
            )
        ]
        text = "\n".join(str(part) for part in (*row[1:], *notes) if part)
        self.db.execute("delete from case_search where rowid = ?", [row[0]])
        self.db.execute(
            "insert into case_search (rowid, case_id, text) values (?, ?, ?)",
            [row[0], case_id, text],
        )
        self.db.execute(
            "insert or replace into case_bigrams (rowid, grams) values (?, ?)",
            [row[0], search_bigrams(text)],
        )
