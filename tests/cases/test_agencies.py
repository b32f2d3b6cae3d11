"""The agency register (Qt-free): validated, audited writes and the agency page's summary."""

from pathlib import Path

import pytest

from mrc_desktop.cases import agencies
from mrc_desktop.cases.repository import CaseRepository, PermissionDenied, ValidationError
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000bb"
GOLDEN = {
    "name": "Golden Star Manpower Co.",
    "licence_no": "DOE-2019-0142",
    "country": "kh",
    "licence_status": "valid",
    "contacts": "Office: +855 23 000 000\nStreet 123, Phnom Penh",
}


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    yield db
    db.close()


@pytest.fixture
def repo(store) -> CaseRepository:  # type: ignore[no-untyped-def]
    user = create_user(
        store, DESK, "dara", "Dara Counsellor", "counsellor", "password123", **MIN_COST
    )
    return CaseRepository(store, user, DESK)


@pytest.fixture
def supervisor(store) -> CaseRepository:  # type: ignore[no-untyped-def]
    user = create_user(
        store, DESK, "sam", "Sam Supervisor", "supervisor", "password123", **MIN_COST
    )
    return CaseRepository(store, user, DESK)


def counts(store) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return (
        store.execute("select count(*) from agencies").fetchone()[0],
        store.execute("select count(*) from audit_log").fetchone()[0],
    )


def test_add_and_read_an_agency(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    agency_id = agencies.add_agency(repo, {**GOLDEN, "name": "  Golden Star Manpower Co. "})
    agency = agencies.get_agency(store, agency_id)
    assert agency is not None
    assert agency.name == "Golden Star Manpower Co."  # trimmed
    assert agency.country == "KH"  # ISO codes are stored upper-case
    assert agency.contacts.splitlines() == ["Office: +855 23 000 000", "Street 123, Phnom Penh"]
    row = store.execute("select origin_desk from agencies where id = ?", [agency_id]).fetchone()
    assert row[0] == DESK and agency_id[14] == "7"  # UUIDv7 made on this desk
    minimal = agencies.add_agency(repo, {"name": "Mekong Workers Supply"})
    assert agencies.get_agency(store, minimal).licence_status == "unknown"  # type: ignore[union-attr]


def test_list_search_and_find_by_name(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    golden = agencies.add_agency(repo, GOLDEN)
    agencies.add_agency(repo, {"name": "Ángkor Manpower Services", "licence_no": "DOE-2020-0007"})
    agencies.add_agency(repo, {"name": "บริษัท จัดหางาน สยาม"})
    assert [a.name for a in agencies.list_agencies(store)] == [
        "Ángkor Manpower Services",
        "Golden Star Manpower Co.",
        "บริษัท จัดหางาน สยาม",
    ]
    assert [a.name for a in agencies.list_agencies(store, "ÁNGKOR")] == ["Ángkor Manpower Services"]
    assert [a.name for a in agencies.list_agencies(store, "angkor")] == ["Ángkor Manpower Services"]
    assert [a.name for a in agencies.list_agencies(store, "0142")] == [GOLDEN["name"]]
    assert [a.name for a in agencies.list_agencies(store, "จัดหางาน")] == ["บริษัท จัดหางาน สยาม"]
    assert agencies.list_agencies(store, "nothing like it") == []
    found = agencies.find_by_name(store, "  golden star MANPOWER co. ")
    assert found is not None and found.id == golden
    assert agencies.find_by_name(store, "Golden Star") is None
    assert agencies.find_by_name(store, "") is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Golden\u202eStar"}, "name"),  # right-to-left override disguises text
        ({"name": "Golden\x07Star"}, "name"),
        ({"name": "Ok", "licence_no": "A\x00B"}, "licence_no"),
        ({"name": "Ok", "country": "Thailand"}, "country"),
        ({"name": "Ok", "country": "XX"}, "country"),
        ({"name": "Ok", "licence_status": "illegal"}, "licence_status"),
        ({"name": "Ok", "contacts": "c" * 2001}, "contacts"),
        ({"name": "Ok", "deleted": 1}, "deleted"),
        ({"name": 42}, "name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    store,  # type: ignore[no-untyped-def]
    repo: CaseRepository,
    fields: dict[str, object],
    field: str,
) -> None:
    before = counts(store)
    with pytest.raises(ValidationError) as err:
        agencies.add_agency(repo, fields)
    assert field in err.value.problems
    assert counts(store) == before


def test_names_are_unique_ignoring_case(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    golden = agencies.add_agency(repo, GOLDEN)
    other = agencies.add_agency(repo, {"name": "Mekong Workers Supply"})
    with pytest.raises(ValidationError) as err:
        agencies.add_agency(repo, {"name": "GOLDEN STAR MANPOWER CO."})
    assert err.value.problems == {"name": "There is already an agency with this name."}
    with pytest.raises(ValidationError):
        agencies.update_agency(repo, other, {"name": "golden star manpower co."})
    # Keeping (or re-casing) its own name is not a clash.
    assert agencies.update_agency(repo, golden, {"name": "Golden Star Manpower CO."}) == ["name"]


def test_changes_are_audited_old_to_new(store, repo, supervisor) -> None:  # type: ignore[no-untyped-def]
    agency_id = agencies.add_agency(repo, GOLDEN)
    changed = agencies.update_agency(
        repo,
        agency_id,
        {"licence_status": "revoked", "licence_no": GOLDEN["licence_no"], "country": "KH"},
    )
    assert changed == ["licence_status"]  # unchanged fields write nothing
    assert agencies.update_agency(repo, agency_id, {"licence_status": "revoked"}) == []
    agency = agencies.get_agency(store, agency_id)
    assert agency is not None and agency.licence_status == "revoked"
    assert agency.updated_at > agency.created_at
    rows = [
        (r["action"], r["field"], r["old_value"], r["new_value"], r["agency_name"], r["user_name"])
        for r in supervisor.audit_page(0, 50, case_id=agency_id)
    ]
    assert rows == [
        ("change_agency", "licence_status", "valid", "revoked", GOLDEN["name"], "Dara Counsellor"),
        ("add_agency", "name", None, GOLDEN["name"], GOLDEN["name"], "Dara Counsellor"),
    ]


def test_update_rejects_bad_values_and_unknown_agencies(store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    agency_id = agencies.add_agency(repo, GOLDEN)
    before = counts(store)
    with pytest.raises(ValidationError) as err:
        agencies.update_agency(repo, agency_id, {"name": "", "country": "ZZZ"})
    assert set(err.value.problems) == {"name", "country"}
    with pytest.raises(ValidationError):
        agencies.update_agency(repo, agency_id, {"created_at": "2020-01-01"})
    with pytest.raises(KeyError):
        agencies.update_agency(repo, "0190f0a0-0000-7000-8000-000000000000", {"name": "X"})
    assert counts(store) == before
    assert agencies.get_agency(store, agency_id) == agencies.get_agency(store, agency_id)
    assert agencies.get_agency(store, agency_id).name == GOLDEN["name"]  # type: ignore[union-attr]


def test_an_agency_and_its_audit_row_are_written_together(
    store,  # type: ignore[no-untyped-def]
    repo: CaseRepository,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    before = counts(store)
    monkeypatch.setattr(repo, "record", broken)
    with pytest.raises(OSError):
        agencies.add_agency(repo, GOLDEN)
    assert counts(store) == before


def test_agency_summary_lists_cases_and_counts_categories(store, repo, supervisor) -> None:  # type: ignore[no-untyped-def]
    golden = agencies.add_agency(repo, GOLDEN)
    other = agencies.add_agency(repo, {"name": "Mekong Workers Supply"})
    base = {"person_name": "Invented Worker One", "phone": "+855 12 345 678"}
    first = repo.create_case(
        {
            **base,
            "agency_id": golden,
            "destination_country": "TH",
            "categories": ["excessive_fees", "documents_held"],
        }
    )
    second = repo.create_case(
        {**base, "agency_id": golden, "destination_country": "MY", "categories": ["excessive_fees"]}
    )
    repo.update_case(second, {"status": "referred"})
    gone = repo.create_case({**base, "agency_id": golden, "categories": ["wages"]})
    supervisor.delete_case(gone)
    repo.create_case({**base, "agency_id": other, "categories": ["wages"]})

    summary = agencies.agency_summary(store, golden)
    assert summary is not None
    assert summary.agency.name == GOLDEN["name"] and summary.agency.case_count == 2
    assert [c.id for c in summary.cases] == [second, first]  # newest first, deleted left out
    assert {c.destination_country for c in summary.cases} == {"TH", "MY"}
    assert summary.categories == [("excessive_fees", 2), ("documents_held", 1)]
    assert summary.statuses == {"new": 1, "referred": 1}
    # The page never carries personal fields.
    assert not {"person_name", "phone"} & set(summary.cases[0].__dataclass_fields__)
    assert {a.name: a.case_count for a in agencies.list_agencies(store)} == {
        GOLDEN["name"]: 2,
        "Mekong Workers Supply": 1,
    }
    assert agencies.agency_summary(store, "0190f0a0-0000-7000-8000-000000000000") is None


def test_audit_pages_filters_and_roles(store, repo, supervisor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        repo.audit_page(0, 10)
    ids = [repo.create_case({"person_name": f"Invented Person {n}"}) for n in range(7)]
    reference = store.execute("select reference from cases where id = ?", [ids[3]]).fetchone()[0]
    repo.update_case(ids[3], {"status": "in_progress"})
    everything = supervisor.audit_page(0, 1000)
    total = store.execute("select count(*) from audit_log").fetchone()[0]
    assert len(everything) == total
    stamps = [r["at"] for r in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    paged = [r["id"] for offset in range(0, total, 3) for r in supervisor.audit_page(offset, 3)]
    assert sorted(paged) == sorted(r["id"] for r in everything) and len(set(paged)) == total
    creates = supervisor.audit_page(0, 100, action="create")
    assert len(creates) == 7 and {r["user_name"] for r in creates} == {"Dara Counsellor"}
    mine = supervisor.audit_page(0, 100, reference=reference[-5:])
    assert {r["case_id"] for r in mine} == {ids[3]}
    assert [r["action"] for r in mine] == ["change", "create"]
    assert mine[0]["reference"] == reference
    assert supervisor.audit_page(0, 100, reference="%") == []  # LIKE wildcards are literal
