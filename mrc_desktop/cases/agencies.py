"""The agency register: recruitment agencies, their licences, and what their cases show.

An agency row is a header with a few overwritable fields (name, licence number, country,
licence status, contacts); cases link to it through ``cases.agency_id``. What a centre
writes here about an agency — and the counts of grievances raised against it — is
internal to the centre: nothing in this module goes into a union's summary or a report.
Agency rows sync to the centre's other desks through its hub (the hub relays them to no
other centre); the audit rows below stay on the desk that wrote them (``sync/outbox.py``).

Writes go through the logged-in user's ``CaseRepository`` and ``Database.atomic()``, so
each one is audited in the same transaction: ``add_agency`` (field ``name``, new value the name) and
``change_agency`` (one row per changed field, old → new). The audit log's ``case_id``
column names the record an action is about, so for these two actions it holds the
agency's id.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from mrc_desktop import i18n
from mrc_desktop.cases import vocab
from mrc_desktop.cases.repository import CaseRepository, ValidationError, now
from mrc_desktop.cases.validation import BIDI_CONTROLS, clean_text
from mrc_desktop.i18n import N_
from mrc_desktop.storage.database import write_transaction
from mrc_desktop.storage.ids import uuid7

AGENCY_FIELDS = ("name", "licence_no", "country", "licence_status", "contacts")
MAX_TEXT = {"name": 200, "licence_no": 80, "contacts": 2000}
COLUMNS = ("id", *AGENCY_FIELDS, "created_at", "updated_at")
ADD, CHANGE = "add_agency", "change_agency"


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    licence_no: str
    country: str
    licence_status: str
    contacts: str
    created_at: str
    updated_at: str
    case_count: int = 0  # live cases linked to it (filled by list_agencies)


@dataclass(frozen=True)
class AgencyCase:
    """A case as the agency page lists it: no personal field."""

    id: str
    reference: str
    status: str
    destination_country: str
    created_at: str


@dataclass(frozen=True)
class AgencySummary:
    agency: Agency
    cases: list[AgencyCase]
    categories: list[tuple[str, int]]  # category key → cases raising it, most first
    statuses: dict[str, int]  # status key → cases


# -- validation -------------------------------------------------------------------------
def _text_problem(name: str, value: str) -> str | None:
    if len(value) > MAX_TEXT[name]:
        return N_("Too long: shorten it.")
    allowed = {"\n", "\t"} if name == "contacts" else set()
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        return N_("Contains invisible control characters: retype it.")
    if any(c in BIDI_CONTROLS for c in value):
        return N_("Contains hidden direction marks that can disguise text: retype it.")
    return None


def check_agency(
    db: sqlite_utils.Database,
    fields: Mapping[str, Any],
    creating: bool,
    agency_id: str = "",
) -> dict[str, str]:
    """Clean, storable values for ``fields``; raises ``ValidationError`` naming each field.

    Messages are N_-marked English (translate where shown). ``agency_id`` is the agency
    being changed, so keeping its own name is not reported as a duplicate.
    """
    problems: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, raw in fields.items():
        if name not in AGENCY_FIELDS:
            problems[name] = N_("Unknown field.")
            continue
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            problems[name] = N_("This field must be text.")
            continue
        value = clean_text(raw)
        problem = _text_problem(name, value) if name in MAX_TEXT else None
        if problem:
            problems[name] = problem
            continue
        values[name] = value
    if creating:
        values.setdefault("licence_status", "unknown")
    if "name" in values or creating:
        name = values.get("name", "")
        if not name and "name" not in problems:
            problems["name"] = N_("Enter the agency's name.")
        elif name:
            same = find_by_name(db, name)
            if same is not None and same.id != agency_id:
                problems["name"] = N_("There is already an agency with this name.")
    if "country" in values:
        code = values["country"].upper()
        if code and (len(code) != 2 or not code.isascii() or code not in i18n.country_names("en")):
            problems["country"] = N_("Choose a country from the list.")
        values["country"] = code
    status = values.get("licence_status")
    if status is not None and status not in vocab.LICENCE_STATUS:
        problems["licence_status"] = N_("Choose one of the options.")
    if problems:
        raise ValidationError(problems)
    return values


# -- writes ----------------------------------------------------------------------------
def add_agency(repo: CaseRepository, fields: Mapping[str, Any]) -> str:
    """Add an agency to the register; returns its id. Audited as ``add_agency``."""
    values = check_agency(repo.db, fields, creating=True)
    agency_id, stamp = uuid7(), now()
    columns = ["id", "created_at", "updated_at", "origin_desk", *values]
    with write_transaction(repo.db):
        repo.db.execute(
            f"insert into agencies ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [agency_id, stamp, stamp, repo.desk_id, *values.values()],
        )
        repo.record(ADD, agency_id, "name", None, values["name"])
    return agency_id


def update_agency(repo: CaseRepository, agency_id: str, changes: Mapping[str, Any]) -> list[str]:
    """Change header fields; each changed field is audited (old → new). Returns them.

    Raises ``KeyError`` if there is no such agency (or it was deleted).
    """
    current = get_agency(repo.db, agency_id)
    if current is None:
        raise KeyError(agency_id)
    values = check_agency(repo.db, changes, creating=False, agency_id=agency_id)
    changed = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not changed:
        return []
    with write_transaction(repo.db):
        assignments = ", ".join(f"{k} = ?" for k in changed)
        repo.db.execute(
            f"update agencies set {assignments}, updated_at = ? where id = ?",
            [*changed.values(), now(), agency_id],
        )
        for name, value in changed.items():
            repo.record(CHANGE, agency_id, name, getattr(current, name), value)
    return list(changed)


# -- reads -----------------------------------------------------------------------------
def sort_key(name: str) -> str:
    """Name order and matching that ignore case and Latin accents ("Ángkor" ~ "angkor").

    Only the Latin combining accents (U+0300–U+036F, e.g. Vietnamese tones) are dropped;
    the vowel signs of Thai, Khmer or Burmese are letters of the word and stay.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")


def _agency(row: tuple[Any, ...], case_count: int = 0) -> Agency:
    values = dict(zip(COLUMNS, (str(v) for v in row[: len(COLUMNS)]), strict=True))
    return Agency(**values, case_count=case_count)


def get_agency(db: sqlite_utils.Database, agency_id: str) -> Agency | None:
    row = db.execute(
        f"select {', '.join(COLUMNS)} from agencies where id = ? and deleted = 0", [agency_id]
    ).fetchone()
    return None if row is None else _agency(row)


def list_agencies(db: sqlite_utils.Database, text: str = "") -> list[Agency]:
    """Agencies whose name or licence number contains ``text`` (any case or accent), by name.

    Registers hold hundreds of agencies, not millions, so matching is done in Python
    with Unicode case folding (SQLite's LIKE folds ASCII only).
    """
    rows = db.execute(
        f"select {', '.join('a.' + c for c in COLUMNS)},"
        " (select count(*) from cases c where c.agency_id = a.id and c.deleted = 0)"
        " from agencies a where a.deleted = 0"
    ).fetchall()
    wanted = sort_key(clean_text(text))
    found = [
        _agency(row, int(row[-1]))
        for row in rows
        if not wanted or wanted in sort_key(str(row[1])) or wanted in sort_key(str(row[2]))
    ]
    return sorted(found, key=lambda a: (sort_key(a.name), a.id))


def find_by_name(db: sqlite_utils.Database, name: str) -> Agency | None:
    """The live agency called ``name``, ignoring case and surrounding spaces."""
    wanted = clean_text(name).casefold()
    if not wanted:
        return None
    rows = db.execute(
        f"select {', '.join(COLUMNS)} from agencies where deleted = 0 order by created_at, id"
    ).fetchall()
    return next((_agency(r) for r in rows if clean_text(str(r[1])).casefold() == wanted), None)


def agency_summary(db: sqlite_utils.Database, agency_id: str) -> AgencySummary | None:
    """The agency page: its live cases (newest first), categories raised, cases per status."""
    agency = get_agency(db, agency_id)
    if agency is None:
        return None
    cases = [
        AgencyCase(*(str(v) for v in row))
        for row in db.execute(
            "select id, reference, status, destination_country, created_at from cases"
            " where agency_id = ? and deleted = 0 order by created_at desc, id desc",
            [agency_id],
        ).fetchall()
    ]
    categories = [
        (str(key), int(count))
        for key, count in db.execute(
            "select j.value, count(distinct c.id) from cases c, json_each(c.categories) j"
            " where c.agency_id = ? and c.deleted = 0"
            " group by j.value order by 2 desc, 1",
            [agency_id],
        ).fetchall()
    ]
    statuses = {
        str(status): int(count)
        for status, count in db.execute(
            "select status, count(*) from cases where agency_id = ? and deleted = 0"
            " group by status order by 2 desc, 1",
            [agency_id],
        ).fetchall()
    }
    return AgencySummary(
        agency=dataclasses.replace(agency, case_count=len(cases)),
        cases=cases,
        categories=categories,
        statuses=statuses,
    )
