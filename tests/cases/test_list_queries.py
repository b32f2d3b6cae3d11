"""The case list's fast paths give the same answers as the plain reading of a filter.

bench/cases.py measures them on 100,000 cases; these tests check, on a few, that each
shortcut (bigram index for two letters, few/many text matches, category lookup, the
several-statuses list, counting a search in its index) finds exactly the right cases,
and that counts and lists are answered from indexes rather than from the case rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrc_desktop.cases import repository
from mrc_desktop.cases.repository import CaseFilter, CaseRepository
from mrc_desktop.cases.schema import migrations, open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.storage.encrypted import open_encrypted
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000ee"
PEOPLE = [
    # invented names: (name, status, categories, narrative)
    ("ពៅ សុខា", "new", ["wages"], "Unpaid for two months at the rubber farm."),
    ("ពៅរី ណាង", "referred", ["documents_held", "wages"], "Passport kept by the broker."),
    ("Rosa Tinul", "in_progress", ["excessive_fees"], "Paid a fee of 1,200 USD."),
    ("Maro Delin", "resolved", ["wages"], "Wages paid after a complaint."),
    ("ชัยศรี ทอง", "awaiting_response", ["tied_employment"], "Employer refused the transfer."),
    ("سامي نور", "new", ["documents_held"], "Dormitory without water; passport held."),
]


@pytest.fixture
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    user = create_user(db, DESK, "sam", "Sam", "supervisor", "password123", **MIN_COST)
    repo = CaseRepository(db, user, DESK)
    for name, status, categories, narrative in PEOPLE:
        repo.create_case(
            {
                "person_name": name,
                "status": status,
                "categories": categories,
                "narrative": narrative,
            }
        )
    yield repo
    db.close()


def names(repo: CaseRepository, filters: CaseFilter) -> set[str]:
    rows = repo.list_cases(filters)
    assert repo.count(filters) == len(rows)
    return {r["person_name"] for r in rows}


def expected(text: str) -> set[str]:
    """What a substring search must find (names and narratives; case-insensitive)."""
    return {p[0] for p in PEOPLE if text.casefold() in f"{p[0]}\n{p[3]}".casefold()}


@pytest.mark.parametrize("text", ["ពៅ", "RO", "ro", "ai", "سا", "ทอ", "ពៅរ", "passport", "x"])
def test_searches_find_exactly_the_cases_that_contain_the_text(
    repo: CaseRepository, text: str
) -> None:
    assert names(repo, CaseFilter(text=text)) == expected(text)


def test_two_letters_are_looked_up_in_the_bigram_index(repo: CaseRepository) -> None:
    assert CaseFilter(text="ពៅ").text_search() == ("case_bigrams", '"ពៅ"')
    assert CaseFilter(text="Ro").text_search() == ("case_bigrams", '"ro"')
    assert CaseFilter(text="a.").text_search() is None  # not two letters: LIKE


@pytest.mark.parametrize("text", ["ro", "pa", "passport", "ពៅ"])
def test_many_matches_give_the_same_answer_as_few(
    repo: CaseRepository, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    few = (names(repo, CaseFilter(text=text)), names(repo, CaseFilter(text=text, status=("new",))))
    monkeypatch.setattr(repository, "BROAD_TEXT", 1)  # every search is now "many matches"
    repo._hits_cache = None
    many = (names(repo, CaseFilter(text=text)), names(repo, CaseFilter(text=text, status=("new",))))
    assert many == few and few[0] == expected(text)


def test_a_cached_search_sees_a_new_case(repo: CaseRepository) -> None:
    assert repo.count(CaseFilter(text="Velorin")) == 0
    repo.create_case({"person_name": "Velorin Adu"})
    assert repo.count(CaseFilter(text="Velorin")) == 1
    assert [r["person_name"] for r in repo.list_cases(CaseFilter(text="Velorin"))] == [
        "Velorin Adu"
    ]


def test_deleted_cases_are_neither_found_nor_counted(repo: CaseRepository) -> None:
    case_id = repo.list_cases(CaseFilter(text="Rosa"))[0]["id"]
    repo.delete_case(case_id)
    for text in ("Rosa", "Ro", "fee of"):
        assert "Rosa Tinul" not in names(repo, CaseFilter(text=text))
    rowid = repo.db.execute("select rowid from cases where id = ?", [case_id]).fetchone()[0]
    for table in ("case_search", "case_bigrams"):
        found = repo.db.execute(f"select count(*) from {table} where rowid = ?", [rowid])
        assert found.fetchone()[0] == 0, table


def test_a_category_filter_matches_whole_category_keys(repo: CaseRepository) -> None:
    assert names(repo, CaseFilter(category="wages")) == {"ពៅ សុខា", "ពៅរី ណាង", "Maro Delin"}
    assert names(repo, CaseFilter(category="documents_held", status=("new",))) == {"سامي نور"}
    assert names(repo, CaseFilter(category="fees")) == set()


def test_several_statuses_list_newest_first_page_by_page(repo: CaseRepository) -> None:
    open_ = ("new", "in_progress", "referred", "awaiting_response")
    filters = CaseFilter(status=open_)
    pages = [repo.list_cases(filters, offset=offset, limit=2) for offset in (0, 2, 4)]
    rows = [row for page in pages for row in page]
    assert [r["updated_at"] for r in rows] == sorted((r["updated_at"] for r in rows), reverse=True)
    assert {r["person_name"] for r in rows} == {p[0] for p in PEOPLE if p[1] in open_}
    assert repo.count(filters) == len(rows) == 5


def plan(repo: CaseRepository, sql: str, params: list[object]) -> str:
    return " | ".join(r[3] for r in repo.db.execute("explain query plan " + sql, params))


@pytest.mark.parametrize(
    "filters",
    [
        CaseFilter(),
        CaseFilter(status=("new",)),
        CaseFilter(status=("new", "referred")),
        CaseFilter(category="wages"),
        CaseFilter(destination="MY", status=("referred",)),
        CaseFilter(assignee="dara", category="wages"),
        CaseFilter(agency_id="x"),
        CaseFilter(created_from="2026-01-01", created_to="2026-01-31", destination="TH"),
    ],
)
def test_counts_and_pages_are_read_from_indexes_not_case_rows(
    repo: CaseRepository, filters: CaseFilter
) -> None:
    where, params = filters.where()
    assert "COVERING INDEX" in plan(repo, f"select count(*) from cases c where {where}", params)
    where, params = filters.where(ordered=True)
    page = f"select c.rowid from cases c where {where} order by c.updated_at desc, c.id limit 200"
    assert "COVERING INDEX" in plan(repo, page, params)


@pytest.mark.parametrize("column", repository.SORTABLE)
@pytest.mark.parametrize("filters", [CaseFilter(), CaseFilter(status=("new",), category="wages")])
def test_every_sort_order_pages_through_an_index(
    repo: CaseRepository, column: str, filters: CaseFilter
) -> None:
    where, params = filters.where(ordered=column == "updated_at")
    page = f"select c.rowid from cases c where {where} order by c.{column}, c.id limit 200"
    steps = plan(repo, page, params)
    if filters == CaseFilter() or column not in ("person_name", "reference"):
        assert "COVERING INDEX" in steps, steps  # the case rows are not read to choose the page
    if filters == CaseFilter():
        assert "TEMP B-TREE FOR ORDER BY" not in steps, steps  # nor all cases sorted
    rows = repo.list_cases(filters, order_by=column, descending=False)
    assert [r[column] for r in rows] == sorted(r[column] for r in rows)


def test_numbering_a_new_case_reads_the_reference_index(repo: CaseRepository) -> None:
    sql = "select count(*) from cases where reference like ?"
    assert "COVERING INDEX cases_reference" in plan(repo, sql, ["ABCD-2026-%"])


def test_migration_indexes_existing_cases_and_forgets_deleted_ones(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    db = open_encrypted(path, PASS, create=True, params=FAST)
    migrations.apply(db, stop_before="0003_list_indexes")
    for rowid, (name, deleted) in enumerate([("ពៅ សុខា", 0), ("ពៅរី ណាង", 1)], start=1):
        db.execute(
            "insert into cases (rowid, id, created_at, updated_at, origin_desk, created_by,"
            " reference, person_name, deleted, categories) values (?, ?, '2026-01-01',"
            " '2026-01-01', ?, 'u', ?, ?, ?, ?)",
            [rowid, f"case-{rowid}", DESK, f"REF-{rowid}", name, deleted, json.dumps(["wages"])],
        )
        db.execute(
            "insert into case_search (rowid, case_id, text) values (?, ?, ?)",
            [rowid, f"case-{rowid}", name],
        )
    db.close()
    db = open_case_store(path, PASS)
    repo = CaseRepository(
        db, create_user(db, DESK, "dara", "D", "counsellor", "password1", **MIN_COST), DESK
    )
    assert names(repo, CaseFilter(text="ពៅ")) == {"ពៅ សុខា"}
    assert db.execute("select count(*) from case_search").fetchone()[0] == 1
    db.close()
