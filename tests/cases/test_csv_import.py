"""CSV import: mapped columns and values, every bad row named by file:line, all or nothing."""

import json
from pathlib import Path
from typing import Any

import pytest

from mrc_desktop.cases import csv_import
from mrc_desktop.cases.csv_import import (
    ImportFileError,
    apply_import,
    load_mapping,
    plan_import,
    read_import,
)
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000cc"

MAPPING = """
date_format = "%d/%m/%Y"

[columns]
"Name" = "person_name"
"Destination" = "destination_country"
"Born" = "birth_date"
"Problems" = "categories"
"Recruiter" = "agency"
"Ref" = "reference"

[values.status]
"Open" = "in_progress"
"Closed" = "resolved"

[values.categories]
"Fees" = "excessive_fees"
"""

GOOD = (
    "Ref;Name;Destination;Born;Status;Problems;Recruiter;Phone;Notes\n"
    'IMP-1;Sokha Testworker;TH;02/04/1998;Open;"Fees; wages";Golden Test Jobs;+855 12 111 222;x\n'
    "IMP-2;บุญมี ทดลอง;MY;1990-01-31;Closed;documents_held;golden test jobs;;y\n"
    "IMP-3;Mariam Example;SA;;in progress;;Another Test Agency;;\n"
)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    yield db
    db.close()


@pytest.fixture
def repo(store) -> CaseRepository:  # type: ignore[no-untyped-def]
    user = create_user(store, DESK, "lina", "Lina", "counsellor", "password123", **MIN_COST)
    return CaseRepository(store, user, DESK)


@pytest.fixture
def mapping(tmp_path: Path) -> csv_import.ImportMapping:
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING, "utf-8")
    return load_mapping(path)


def write(tmp_path: Path, text: str, name: str = "cases.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def dump(db) -> list[Any]:  # type: ignore[no-untyped-def]
    """Everything an import could touch, to prove a rejected one changed nothing."""
    return [
        db.execute(f"select * from {table} order by 1").fetchall()
        for table in ("cases", "agencies", "audit_log", "case_search")
    ]


def test_a_mapped_file_imports_every_row(
    tmp_path: Path, store, repo: CaseRepository, mapping: csv_import.ImportMapping
) -> None:  # type: ignore[no-untyped-def]
    store.execute(
        "insert into agencies (id, name, created_at, updated_at, origin_desk)"
        " values ('agency-1', 'Golden Test Jobs', 'x', 'x', ?)",
        [DESK],
    )
    store.conn.commit()
    path = write(tmp_path, "\ufeff" + GOOD)  # Excel's "CSV UTF-8" starts with a BOM
    plan = plan_import(repo, path, mapping)
    assert plan.problems == [] and len(plan.ready) == 3
    assert plan.ignored_columns == ["Notes"]
    assert plan.new_agencies == ["Another Test Agency"]
    ids = apply_import(repo, plan)
    assert len(ids) == 3
    rows = store.execute(
        "select reference, person_name, destination_country, birth_date, status, categories,"
        " agency_id, phone from cases order by reference"
    ).fetchall()
    assert rows[0] == (
        "IMP-1",
        "Sokha Testworker",
        "TH",
        "1998-04-02",
        "in_progress",
        json.dumps(["excessive_fees", "wages"]),
        "agency-1",
        "+855 12 111 222",
    )
    assert rows[1][1:6] == ("บุญมี ทดลอง", "MY", "1990-01-31", "resolved", '["documents_held"]')
    assert rows[1][6] == "agency-1"  # matched by name whatever the case
    assert rows[2][4] == "in_progress"  # an English label is accepted too
    new_agency = store.execute(
        "select id, origin_desk from agencies where name = 'Another Test Agency'"
    ).fetchall()
    assert len(new_agency) == 1 and rows[2][6] == new_agency[0][0]
    audit = store.execute("select action, user_id from audit_log order by at, id").fetchall()
    assert audit == [("add_agency", repo.user.id)] + [("import", repo.user.id)] * 3


def test_importing_the_same_file_twice_is_refused(
    tmp_path: Path, store, repo: CaseRepository, mapping: csv_import.ImportMapping
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, GOOD)
    apply_import(repo, plan_import(repo, path, mapping))
    before = dump(store)
    again = plan_import(repo, path, mapping)
    assert [p.format(path) for p in again.problems] == [
        f"{path}:{line}: Ref (reference): a case with this reference exists" for line in (2, 3, 4)
    ]
    with pytest.raises(ValueError, match="nothing is imported"):
        apply_import(repo, again)
    assert dump(store) == before


def test_rows_without_references_warn_about_possible_duplicates(
    tmp_path: Path, repo: CaseRepository
) -> None:
    path = write(tmp_path, "person_name,phone\nSokha Testworker,+855 12 111 222\n")
    apply_import(repo, plan_import(repo, path))
    again = plan_import(repo, path)
    assert again.problems == []
    assert (
        len(again.warnings) == 1
        and f"{path}:2: may be the same person as case" in (again.warnings[0])
    )


def test_default_headers_and_tab_delimiter(tmp_path: Path, repo: CaseRepository) -> None:
    path = write(
        tmp_path,
        "person_name\tsex\tforced_labour\tnarrative\n"
        'Test Person\tFemale\tdocuments;debt\t"Two lines,\nof narrative"\n'
        "Second Person\tmale\t\t\n",
    )
    plan = plan_import(repo, path)
    assert plan.problems == []
    assert [r.line for r in plan.ready] == [2, 4]  # a quoted cell may span lines
    assert plan.ready[0].fields["sex"] == "female"
    assert plan.ready[0].fields["forced_labour"] == ["documents", "debt"]
    assert plan.ready[0].fields["narrative"] == "Two lines,\nof narrative"


@pytest.mark.parametrize(
    ("encoding", "text", "expected"),
    [
        ("cp1252", "person_name\nJosé Testperson\n", "byte 0xe9 at line 2)"),
        ("cp874", "person_name\nTest\nสมชาย ทดสอบ\n", "byte 0xca at line 3)"),
        ("utf-16", "person_name\nTest\n", "byte 0xff at line 1) (it looks like UTF-16)"),
    ],
)
def test_a_file_not_in_utf8_is_refused_with_where(
    tmp_path: Path, repo: CaseRepository, encoding: str, text: str, expected: str
) -> None:
    path = write(tmp_path, text, encoding=encoding)
    with pytest.raises(ImportFileError) as err:
        plan_import(repo, path)
    assert str(err.value) == (f"{path}: not UTF-8 ({expected}; save it as 'CSV UTF-8'")


def test_utf16_without_a_bom_is_caught(tmp_path: Path, repo: CaseRepository) -> None:
    path = write(tmp_path, "person_name\nTest\n", encoding="utf-16-le")
    with pytest.raises(ImportFileError, match="NUL byte at line 1; is it UTF-16"):
        plan_import(repo, path)


def test_missing_and_unknown_columns(tmp_path: Path, repo: CaseRepository) -> None:
    path = write(tmp_path, "Name,Destination\nTest,TH\n")
    with pytest.raises(ImportFileError) as err:
        plan_import(repo, path)
    assert str(err.value).startswith(f"{path}: missing column(s): person_name")
    path = write(tmp_path, "person_name,Shoe size,consent,agency_id\nTest,42,yes,x\n")
    plan = plan_import(repo, path)
    assert plan.problems == [] and plan.ignored_columns[0] == "Shoe size"
    assert plan.ignored_columns[1].startswith("consent: consent is recorded per purpose")
    assert plan.ignored_columns[2].startswith("agency_id: give the agency's name")


def test_bad_rows_are_named_and_nothing_is_written(
    tmp_path: Path, store, repo: CaseRepository, mapping: csv_import.ImportMapping
) -> None:  # type: ignore[no-untyped-def]
    repo.create_case({"person_name": "Already Here"})
    before = dump(store)
    rows = [
        "Name,Born,Status,Destination",
        "Fine Person,1990-05-05,new,TH",  # line 2: the only good row
        f"{'A' * 201},,new,TH",  # 3: overlong name
        "Bell\x07 Person,,new,TH",  # 4: control character
        "Evil\u202eNameTxt,,new,TH",  # 5: bidi override
        "Date Person,2025-02-30,new,TH",  # 6: impossible date
        "Status Person,,illegal,TH",  # 7: unknown status value
        "Other Date,31.12.1990,new,TH",  # 8: not the mapping's date format
        ",1990-01-01,new,TH",  # 9: no name
        "Too,Many,Cells,TH,here",  # 10: ragged row
    ]
    path = write(tmp_path, "\n".join(rows) + "\n")
    plan = plan_import(repo, path, mapping)
    messages = [p.format(path) for p in plan.problems]
    expected = [
        (3, "Name (person_name): Too long: shorten it. (at most 200 characters, this has 201)"),
        (4, "Name (person_name): Contains invisible control characters"),
        (5, "Name (person_name): Contains hidden direction marks"),
        (6, "Born (birth_date): not a real calendar date"),
        (7, "Status (status): 'illegal' is not one of: new, in_progress,"),
        (8, "Born (birth_date): not a date: write it as YYYY-MM-DD or like 31/01/1990"),
        (9, "Name (person_name): Enter the worker's name"),
        (10, "(row): 5 cells but the header has 4"),
    ]
    assert len(messages) == len(expected)
    for message, (line, text) in zip(messages, expected, strict=True):
        assert message.startswith(f"{path}:{line}: {text}"), message
    assert plan.rejected == 8 and [r.line for r in plan.ready] == [2]
    with pytest.raises(ValueError):
        apply_import(repo, plan)
    assert dump(store) == before


def test_a_failure_while_writing_rolls_back_agencies_and_cases(
    tmp_path: Path, store, repo: CaseRepository, mapping: csv_import.ImportMapping, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    before = dump(store)
    plan = plan_import(repo, write(tmp_path, GOOD), mapping)
    assert plan.problems == [] and plan.new_agencies
    real_insert = CaseRepository._insert_case
    calls = []

    def failing_insert(self, values, action):  # type: ignore[no-untyped-def]
        calls.append(action)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_insert(self, values, action)

    monkeypatch.setattr(CaseRepository, "_insert_case", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        apply_import(repo, plan)
    assert calls == ["import"] * 3
    assert dump(store) == before


def test_mapping_problems_name_the_file(tmp_path: Path) -> None:
    cases = {
        '[columns]\n"Name" = "full_name"\n': "'full_name': not a field that can be imported",
        "[columns\n": "not valid TOML",
        '[values.colour]\n"Red" = "red"\n': "[values.colour]: not a field",
        'extra = "x"\n': "unknown key(s) extra",
        'date_format = "dd/mm/yyyy"\n': "date_format must be like",
    }
    for text, expected in cases.items():
        path = tmp_path / "m.toml"
        path.write_text(text, "utf-8")
        with pytest.raises(ImportFileError) as err:
            load_mapping(path)
        assert str(err.value).startswith(f"{path}: ") and expected in str(err.value), text


def test_two_columns_for_one_field_and_a_stray_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "person_name,Name\nA,B\n")
    mapping_file = tmp_path / "m.toml"
    mapping_file.write_text('[columns]\n"Name" = "person_name"\n', "utf-8")
    with pytest.raises(ImportFileError, match="'person_name' and 'Name' both give person_name"):
        read_import(path, load_mapping(mapping_file))
    mapping_file.write_text('[columns]\n"Full name" = "person_name"\n', "utf-8")
    plan = read_import(write(tmp_path, "person_name\nA\n"), load_mapping(mapping_file))
    assert plan.warnings == [
        f"{tmp_path / 'cases.csv'}: the mapping names column 'Full name', not in the file"
    ]
