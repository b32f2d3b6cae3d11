"""Importing cases from a spreadsheet saved as CSV: check every row, then all or nothing.

Centres moving from spreadsheets export a CSV (UTF-8, delimiter ``,`` ``;`` or tab). Its
headers are case fields (``person_name``, ``destination_country``…) or are mapped to them
by a TOML file (format: docs/case-import.md). Each row is converted (lists split on ``;``,
dates to YYYY-MM-DD, spreadsheet words translated to the fixed vocabularies) and checked
with the same validation as the intake form. ``plan_import`` reports every problem as
file, line, column and message without writing anything; ``apply_import`` writes all
the rows in one transaction, or none.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrc_desktop.cases import vocab
from mrc_desktop.cases.agencies import add_agency
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import CASE_FIELDS
from mrc_desktop.cases.validation import BIDI_CONTROLS, CHOICES, MAX_TEXT, validate_case
from mrc_desktop.storage.database import write_transaction

AGENCY = "agency"
NOT_IMPORTED = {
    "agency_id": "give the agency's name in an 'agency' column instead",
    "consent": "consent is recorded per purpose in MRC Desk, not imported",
}
IMPORT_FIELDS = (*(f for f in CASE_FIELDS if f not in NOT_IMPORTED), AGENCY)
REQUIRED = ("person_name",)
LIST_FIELDS = ("categories", "forced_labour", "risk_flags")
DATE_FIELDS = ("birth_date",)
LIST_SEPARATOR = ";"
DELIMITERS = (",", ";", "\t")
VOCABULARIES: dict[str, dict[str, str]] = {
    **CHOICES,
    "categories": vocab.CATEGORIES,
    "forced_labour": vocab.FORCED_LABOUR_INDICATORS,
}
MAX_AGENCY_NAME = 200
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAPPING_KEYS = ("columns", "values", "date_format")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (encoding, header, mapping); one line."""


@dataclass(frozen=True)
class ImportMapping:
    """Spreadsheet header → case field, per-field value translations, a date format."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str = ""


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def format(self, path: Path) -> str:
        return f"{path}:{self.line}: {self.column}: {self.message}"


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line where the record starts, cells)
    delimiter: str


@dataclass
class ReadyRow:
    line: int
    fields: dict[str, Any]
    agency: str = ""


@dataclass
class ImportPlan:
    """What a run would do: the rows that pass, every problem, and what is ignored."""

    path: Path
    rows_total: int = 0
    ready: list[ReadyRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    new_agencies: list[str] = field(default_factory=list)
    mapping: ImportMapping = field(default_factory=ImportMapping)
    table: Table | None = None
    columns: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems})


# -- reading ------------------------------------------------------------------------


def load_mapping(path: Path) -> ImportMapping:
    """Read and check a mapping TOML file; problems raise ImportFileError naming it."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ImportFileError(f"{path}: not valid TOML: {exc}") from exc
    unknown = [key for key in data if key not in MAPPING_KEYS]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown key(s) {', '.join(unknown)} (use {', '.join(MAPPING_KEYS)})"
        )
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise ImportFileError(f"{path}: [columns] must be a table of header = field")
    for header, target in columns.items():
        if target not in IMPORT_FIELDS:
            raise ImportFileError(
                f"{path}: [columns] {header!r} = {target!r}: not a field that can be imported"
            )
    values = data.get("values", {})
    if not isinstance(values, dict):
        raise ImportFileError(f"{path}: [values] must hold one table per field")
    for name, table in values.items():
        if name not in IMPORT_FIELDS:
            raise ImportFileError(f"{path}: [values.{name}]: not a field that can be imported")
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise ImportFileError(f"{path}: [values.{name}] must map text to text")
    date_format = data.get("date_format", "")
    if not isinstance(date_format, str) or (date_format and "%" not in date_format):
        raise ImportFileError(f'{path}: date_format must be like "%d/%m/%Y"')
    return ImportMapping(dict(columns), {k: dict(v) for k, v in values.items()}, date_format)


def read_table(path: Path) -> Table:
    """Read a UTF-8 CSV (BOM optional) with ``,``, ``;`` or tab between cells."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        hint = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise ImportFileError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at line {line}){hint};"
            " save it as 'CSV UTF-8'"
        ) from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ImportFileError(
            f"{path}: not UTF-8 text (NUL byte at line {line}; is it UTF-16?);"
            " save it as 'CSV UTF-8'"
        )
    if not text.strip():
        raise ImportFileError(f"{path}: the file is empty (no header row)")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        header = [cell.strip() for cell in next(reader)]
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"{path}:{start}: {exc}") from exc
    return Table(header, rows, delimiter)


def _delimiter(text: str) -> str:
    """The delimiter that splits the header row into the most cells (``,`` on a tie)."""
    first = text.splitlines()[0]
    counts = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
    return max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))


# -- planning -----------------------------------------------------------------------


def read_import(path: Path, mapping: ImportMapping | None = None) -> ImportPlan:
    """Read ``path`` and match its columns: every whole-file problem, no store needed."""
    mapping = mapping or ImportMapping()
    table = read_table(path)
    plan = ImportPlan(path, rows_total=len(table.rows), mapping=mapping, table=table)
    plan.columns = _resolve_columns(path, table.header, mapping, plan)
    return plan


def plan_import(
    repo: CaseRepository,
    path: Path,
    mapping: ImportMapping | None = None,
    today: dt.date | None = None,
) -> ImportPlan:
    """Read ``path`` and check every row against the store; nothing is written."""
    return check_rows(repo, read_import(path, mapping), today)


def check_rows(repo: CaseRepository, plan: ImportPlan, today: dt.date | None = None) -> ImportPlan:
    """Convert and validate every row of a read plan; fills ``ready`` and ``problems``."""
    assert plan.table is not None, "read_import first"
    path, table, columns = plan.path, plan.table, plan.columns
    existing_refs = {
        row[0] for row in repo.db.execute("select reference from cases").fetchall()
    }  # tombstoned cases too: a reference is never reused
    known_people = _people(repo)
    agencies = _agencies(repo)
    seen_refs: dict[str, int] = {}
    new_agencies: dict[str, str] = {}
    width = len(table.header)
    for line, cells in table.rows:
        problems: list[RowProblem] = []
        if len(cells) < width or any(c.strip() for c in cells[width:]):
            message = (
                f"{len(cells)} cells but the header has {width} (check quotes and the delimiter)"
            )
            plan.problems.append(RowProblem(line, "(row)", message))
            continue
        fields, agency = _convert_row(line, cells, columns, plan.mapping, problems, today)
        reference = str(fields.get("reference", ""))
        ref_label = _column_label(columns, "reference")
        if reference in existing_refs:
            problems.append(RowProblem(line, ref_label, "a case with this reference exists"))
        elif reference in seen_refs:
            message = f"the same reference is on line {seen_refs[reference]}"
            problems.append(RowProblem(line, ref_label, message))
        elif reference:
            seen_refs[reference] = line
        if problems:
            plan.problems += problems
            continue
        if agency and agency.casefold() not in agencies:
            new_agencies.setdefault(agency.casefold(), agency)
        if not reference:
            same = _possible_duplicate(fields, known_people)
            if same:
                plan.warnings.append(
                    f"{path}:{line}: may be the same person as case {same}"
                    " (same phone, or similar name and date of birth)"
                )
        plan.ready.append(ReadyRow(line, fields, agency))
    plan.new_agencies = list(new_agencies.values())
    return plan


def _column_label(columns: dict[int, tuple[str, str]], target: str) -> str:
    for header, name in columns.values():
        if name == target:
            return _label(header, name)
    return target


def _label(header: str, name: str) -> str:
    return name if header == name else f"{header} ({name})"


def _resolve_columns(
    path: Path, header: list[str], mapping: ImportMapping, plan: ImportPlan
) -> dict[int, tuple[str, str]]:
    """Column index → (header, field); unknown headers are listed as ignored."""
    by_header = {k.strip(): v for k, v in mapping.columns.items()}
    folded = {k.casefold(): v for k, v in by_header.items()}
    columns: dict[int, tuple[str, str]] = {}
    taken: dict[str, str] = {}
    for index, name in enumerate(header):
        target = by_header.get(name) or folded.get(name.casefold())
        if target is None:
            guess = name.casefold().replace(" ", "_")
            target = guess if guess in IMPORT_FIELDS else None
        if target is None:
            reason = NOT_IMPORTED.get(name.casefold())
            shown = name or f"(column {index + 1}, no header)"
            plan.ignored_columns.append(f"{shown}: {reason}" if reason else shown)
            continue
        if target in taken:
            raise ImportFileError(
                f"{path}: columns {taken[target]!r} and {name!r} both give {target}"
            )
        taken[target] = name
        columns[index] = (name, target)
    for key in by_header:
        if key not in header and key.casefold() not in {h.casefold() for h in header}:
            plan.warnings.append(f"{path}: the mapping names column {key!r}, not in the file")
    missing = [name for name in REQUIRED if name not in taken]
    if missing:
        raise ImportFileError(
            f"{path}: missing column(s): {', '.join(missing)}"
            " (use these headers, or map yours with --mapping)"
        )
    return columns


def _convert_row(
    line: int,
    cells: list[str],
    columns: dict[int, tuple[str, str]],
    mapping: ImportMapping,
    problems: list[RowProblem],
    today: dt.date | None,
) -> tuple[dict[str, Any], str]:
    """Spreadsheet cells → case fields; conversion problems are appended to ``problems``."""
    fields: dict[str, Any] = {"person_name": ""}
    labels: dict[str, str] = {}
    agency = ""
    for index, (header, name) in columns.items():
        label = labels[name] = _label(header, name)
        raw = cells[index]
        if not raw.strip():
            continue
        translate = mapping.values.get(name, {})
        try:
            if name in LIST_FIELDS:
                items = [i.strip() for i in raw.split(LIST_SEPARATOR) if i.strip()]
                fields[name] = [_choice(name, _translated(i, translate)) for i in items]
            elif name in DATE_FIELDS:
                fields[name] = _date(raw.strip(), mapping.date_format)
            elif name == AGENCY:
                agency = _agency_name(raw)
            else:
                value = raw if name == "narrative" else raw.strip()
                value = _translated(value.strip(), translate) if translate else value
                fields[name] = _choice(name, value) if name in VOCABULARIES else value
        except ValueError as exc:
            problems.append(RowProblem(line, label, str(exc)))
    failed = {p.column for p in problems}
    checked = {k: v for k, v in fields.items() if labels.get(k, k) not in failed}
    for name, message in sorted(validate_case(checked, today).items()):
        limit = MAX_TEXT.get(name)
        given = checked.get(name)
        if limit and isinstance(given, str) and len(given) > limit:
            message = f"{message} (at most {limit} characters, this has {len(given)})"
        problems.append(RowProblem(line, labels.get(name, name), message))
    return checked, agency


def _translated(value: str, table: dict[str, str]) -> str:
    if value in table:
        return table[value]
    folded = {k.casefold(): v for k, v in table.items()}
    return folded.get(value.casefold(), value)


def _choice(name: str, value: str) -> str:
    """A vocabulary key from its key or English label (any case); ValueError otherwise."""
    allowed = VOCABULARIES.get(name)
    if allowed is None or value in allowed:
        return value
    wanted = value.casefold()
    for key, label in allowed.items():
        if wanted in (key.casefold(), label.casefold()):
            return key
    raise ValueError(
        f"{value!r} is not one of: {', '.join(allowed)} (or map it in [values.{name}])"
    )


def _date(value: str, date_format: str) -> str:
    if ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("not a real calendar date (check the day and month)") from None
    if date_format:
        try:
            return dt.datetime.strptime(value, date_format).date().isoformat()
        except ValueError:
            example = dt.date(1990, 1, 31).strftime(date_format)
            raise ValueError(
                f"not a date: write it as YYYY-MM-DD or like {example} (a real day)"
            ) from None
    raise ValueError("write the date as YYYY-MM-DD (or set date_format in the mapping)")


def _agency_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).strip()
    if len(name) > MAX_AGENCY_NAME:
        raise ValueError(f"Too long: shorten it. (at most {MAX_AGENCY_NAME} characters)")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ValueError("Contains invisible control characters: retype it.")
    if any(c in BIDI_CONTROLS for c in name):
        raise ValueError("Contains hidden direction marks that can disguise text: retype it.")
    return " ".join(name.split())


def _agencies(repo: CaseRepository) -> dict[str, str]:
    """Agency name (case-folded) → id, for the agencies not deleted."""
    rows = repo.db.execute("select id, name from agencies where deleted = 0 order by created_at")
    found: dict[str, str] = {}
    for agency_id, name in rows.fetchall():
        found.setdefault(str(name).strip().casefold(), agency_id)
    return found


def _people(repo: CaseRepository) -> dict[str, list[tuple[str, str, str]]]:
    """Existing cases by phone and by date of birth: (reference, folded name, phone)."""
    index: dict[str, list[tuple[str, str, str]]] = {}
    rows = repo.db.execute(
        "select reference, person_name, birth_date, phone from cases where deleted = 0"
    ).fetchall()
    for reference, name, birth, phone in rows:
        entry = (reference, str(name).casefold(), phone)
        for key in (f"phone:{phone}" if phone else "", f"born:{birth}" if birth else ""):
            if key:
                index.setdefault(key, []).append(entry)
    return index


def _possible_duplicate(
    fields: dict[str, Any], people: dict[str, list[tuple[str, str, str]]]
) -> str:
    """The reference of an existing case with the same phone, or a similar name and the
    same date of birth (the rule ``CaseRepository.possible_duplicates`` uses)."""
    phone = str(fields.get("phone", "")).strip()
    if phone and people.get(f"phone:{phone}"):
        return people[f"phone:{phone}"][0][0]
    name = unicodedata.normalize("NFC", str(fields.get("person_name", ""))).strip().casefold()
    for reference, other, _phone in people.get(f"born:{fields.get('birth_date', '')}", []):
        if name and (name in other or other in name):
            return reference
    return ""


# -- writing ------------------------------------------------------------------------


def apply_import(repo: CaseRepository, plan: ImportPlan) -> list[str]:
    """Create the planned agencies and cases in one transaction; return the case ids.

    Refuses a plan with problems: an import is all or nothing.
    """
    if plan.problems:
        raise ValueError(f"{plan.rejected} rows are rejected: nothing is imported")
    db = repo.db
    # One transaction for the new agencies and every case (create_cases nests a savepoint
    # inside it); any error rolls all of it back.
    with write_transaction(db):
        ids = _agencies(repo)
        for name in plan.new_agencies:
            if name.casefold() not in ids:  # the register's own path: checked and audited
                ids[name.casefold()] = add_agency(repo, {"name": name})
        rows = [
            {**row.fields, "agency_id": ids[row.agency.casefold()]} if row.agency else row.fields
            for row in plan.ready
        ]
        return repo.create_cases(rows, action="import")
