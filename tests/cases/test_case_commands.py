"""`mrc backup`, `mrc restore`, `mrc cases list` and `mrc cases import`, driven like a script."""

import io
import json
from pathlib import Path

import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.unlock import desk_id_of
from mrc_desktop.cases.users import create_user
from mrc_desktop.cli import main
from mrc_desktop.storage.backup import list_backups
from mrc_desktop.storage.paths import AppPaths, app_paths
from tests.fast_keys import FAST, MIN_COST, PASS

PEOPLE = [
    {
        "person_name": "Chanthy Testperson",
        "phone": "+855 16 222 333",
        "destination_country": "TH",
        "categories": ["wages"],
        "narrative": "Made up narrative for the list test.",
    },
    {"person_name": "Nimal Example", "destination_country": "MY", "status": "referred"},
    {"person_name": "ផល្លា សាកល្បង", "destination_country": "KR", "status": "resolved"},
]


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    """A desk with a case store, two users and three cases; the CLI only opens it."""
    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    monkeypatch.delenv("MRC_PASSWORD", raising=False)
    paths = app_paths()
    db = open_case_store(paths.cases_db, PASS, create=True, params=FAST)
    desk = desk_id_of(paths)
    counsellor = create_user(db, desk, "dara", "Dara", "counsellor", "password123", **MIN_COST)
    create_user(db, desk, "sophea", "Sophea", "supervisor", "password456", **MIN_COST)
    repo = CaseRepository(db, counsellor, desk)
    for person in PEOPLE:
        repo.create_case(person)
    db.close()
    return paths


def audit(paths: AppPaths, action: str) -> list[tuple[str, str | None, str | None]]:
    db = open_case_store(paths.cases_db, PASS)
    try:
        rows = db.execute(
            "select u.username, a.field, a.new_value from audit_log a"
            " left join users u on u.id = a.user_id where a.action = ? order by a.at",
            [action],
        ).fetchall()
    finally:
        db.close()
    return [tuple(r) for r in rows]


def case_count(paths: AppPaths) -> int:
    db = open_case_store(paths.cases_db, PASS)
    try:
        return int(db.execute("select count(*) from cases").fetchone()[0])
    finally:
        db.close()


# -- cases list ---------------------------------------------------------------------


def test_list_shows_no_personal_data_by_default(paths: AppPaths, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["cases", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "reference",
        "status",
        "destination",
        "categories",
        "created",
        "updated",
        "assignee",
    ]
    assert len(lines) == 2 + len(PEOPLE)
    assert "wages" in out and "referred" in out
    for person in PEOPLE:
        assert person["person_name"] not in out
    assert "+855" not in out


def test_list_as_json_with_status_filter_and_limit(paths: AppPaths, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["cases", "list", "--json", "--status", "new", "referred"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["status"] for r in rows) == ["new", "referred"]
    assert set(rows[0]) == {
        "id",
        "reference",
        "status",
        "destination_country",
        "categories",
        "created_at",
        "updated_at",
        "assignee",
    }
    wages = next(r for r in rows if r["destination_country"] == "TH")
    assert wages["categories"] == ["wages"]
    assert main(["cases", "list", "--json", "--limit", "1"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["cases", "list", "--status", "open"]) == 2
    assert "unknown status open" in capsys.readouterr().err


def test_personal_fields_need_a_supervisor_and_are_audited(
    paths: AppPaths, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert main(["cases", "list", "--personal"]) == 2
    assert "--personal needs a supervisor or admin (acting as 'cli'" in capsys.readouterr().err
    monkeypatch.setenv("MRC_PASSWORD", "password123")
    assert main(["cases", "list", "--personal", "--user", "dara"]) == 2
    assert "acting as 'dara'" in capsys.readouterr().err
    monkeypatch.setenv("MRC_PASSWORD", "wrong-password")
    assert main(["cases", "list", "--personal", "--user", "sophea"]) == 2
    err = capsys.readouterr().err
    assert err == "mrc: user 'sophea': unknown, disabled, or wrong password\n"
    assert audit(paths, "export") == []
    monkeypatch.setenv("MRC_PASSWORD", "password456")
    assert main(["cases", "list", "--personal", "--user", "sophea", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["person_name"] for r in rows}
    assert names == {p["person_name"] for p in PEOPLE}
    assert any(r["narrative"] == PEOPLE[0]["narrative"] for r in rows)
    assert audit(paths, "export") == [("sophea", "personal", "mrc cases list: 3 cases")]
    assert main(["cases", "list", "--personal", "--user", "sophea", "--status", "resolved"]) == 0
    out = capsys.readouterr().out
    assert "ផល្លា សាកល្បង" in out and "Chanthy" not in out
    assert audit(paths, "export")[-1] == ("sophea", "personal", "mrc cases list: 1 cases")


def test_unlock_problems_are_one_line(
    paths: AppPaths, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MRC_PASSPHRASE", "not the right passphrase")
    assert main(["cases", "list"]) == 2
    err = capsys.readouterr().err
    assert err == f"mrc: {paths.cases_db}: the passphrase does not open this case store\n"
    monkeypatch.setenv("MRC_HOME", str(paths.data.parent / "elsewhere"))
    assert main(["backup"]) == 2
    assert "no case store here yet" in capsys.readouterr().err


# -- backup and restore -------------------------------------------------------------


def test_backup_prints_the_file_and_rotates(
    paths: AppPaths, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert main(["backup"]) == 0
    made = Path(capsys.readouterr().out.strip())
    assert made.parent == paths.backups and made.is_file()
    assert made.with_name(made.stem + ".key.json").is_file()
    elsewhere = tmp_path / "usb"
    monkeypatch.setenv("MRC_PASSWORD", "password456")
    for _ in range(3):
        assert main(["backup", "--to", str(elsewhere), "--keep", "2", "--user", "sophea"]) == 0
    captured = capsys.readouterr()
    assert "removed 1 older backup; keeping 2" in captured.err
    assert len(list_backups(elsewhere)) == 2
    assert [row[0] for row in audit(paths, "backup")] == [None, "sophea", "sophea", "sophea"]
    with pytest.raises(SystemExit) as usage:
        main(["backup", "--keep", "0"])
    assert usage.value.code == 2 and "must be 1 or more" in capsys.readouterr().err


def test_restore_asks_then_replaces_the_store(
    paths: AppPaths, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert main(["backup"]) == 0
    made = capsys.readouterr().out.strip()
    db = open_case_store(paths.cases_db, PASS)
    db.execute("delete from cases where status = 'resolved'")  # an accident to undo
    db.conn.commit()
    db.close()
    assert case_count(paths) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["restore", made]) == 1
    captured = capsys.readouterr()
    assert "[y/N]" in captured.err and "nothing changed" in captured.err
    assert case_count(paths) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert main(["restore", made]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"restored {made} to {paths.cases_db}"
    assert out[1].startswith(f"moved aside to {paths.cases_db}.before-restore-")
    assert out[1].endswith(": cases.db, cases.key.json")
    assert case_count(paths) == 3
    assert audit(paths, "restore") == [(None, None, Path(made).name)]


def test_restore_refuses_a_bad_backup_without_touching_the_store(
    paths: AppPaths, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    assert main(["backup"]) == 0
    made = Path(capsys.readouterr().out.strip())
    before = paths.cases_db.read_bytes()
    monkeypatch.setenv("MRC_PASSPHRASE", "a different passphrase")
    assert main(["restore", str(made), "--yes"]) == 2
    assert "passphrase does not open this backup" in capsys.readouterr().err
    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    made.write_bytes(made.read_bytes()[:10_000])
    assert main(["restore", str(made), "--yes"]) == 1
    err = capsys.readouterr().err
    assert f"{made}: the file is damaged or truncated" in err and "Traceback" not in err
    assert paths.cases_db.read_bytes() == before
    assert not list(paths.data.glob("cases.db.before-restore-*"))


# -- cases import -------------------------------------------------------------------


def test_import_dry_run_then_real_run(
    paths: AppPaths, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    csv_file = tmp_path / "intake.csv"
    csv_file.write_text(
        "Name,Country,status,Remarks\n"
        "Kalpana Testperson,SA,Open,first\n"
        "Rina Example,MY,new,second\n",
        "utf-8",
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\n"Name" = "person_name"\n"Country" = "destination_country"\n'
        '[values.status]\n"Open" = "in_progress"\n',
        "utf-8",
    )
    assert main(["cases", "import", str(csv_file), "--mapping", str(mapping), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{csv_file}: 2 rows ok, 0 rejected (dry run: nothing written)\n"
    assert f"warning: {csv_file}: column ignored: Remarks" in captured.err
    assert case_count(paths) == 3
    assert main(["cases", "import", str(csv_file), "--mapping", str(mapping)]) == 2
    assert "--user NAME" in capsys.readouterr().err
    monkeypatch.setenv("MRC_PASSWORD", "password123")
    args = ["cases", "import", str(csv_file), "--mapping", str(mapping), "--user", "dara"]
    assert main(args) == 0
    assert capsys.readouterr().out == f"{csv_file}: imported 2 cases\n"
    assert case_count(paths) == 5
    assert [r[0] for r in audit(paths, "import")] == ["dara", "dara"]


def test_import_with_a_bad_row_writes_nothing(
    paths: AppPaths, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    csv_file = tmp_path / "intake.csv"
    csv_file.write_text(
        "person_name;birth_date;status\nGood Person;1990-01-01;new\nBad Date;2025-02-30;new\n",
        "utf-8",
    )
    monkeypatch.setenv("MRC_PASSWORD", "password123")
    for extra in (["--dry-run"], []):
        assert main(["cases", "import", str(csv_file), "--user", "dara", *extra]) == 1
        out = capsys.readouterr().out.splitlines()
        assert (
            out[0]
            == f"{csv_file}:3: birth_date: not a real calendar date (check the day and month)"
        )
    assert out[1] == f"{csv_file}: nothing imported: 1 of 2 rows rejected"
    assert case_count(paths) == 3


def test_import_file_problems(paths: AppPaths, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("person_name\nJosé\n".encode("cp1252"))
    assert main(["cases", "import", str(latin), "--dry-run"]) == 1
    assert capsys.readouterr().out == (
        f"{latin}: not UTF-8 (byte 0xe9 at line 2); save it as 'CSV UTF-8'\n"
    )
    assert main(["cases", "import", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad_map = tmp_path / "m.toml"
    bad_map.write_text('[columns]\n"Name" = "nom"\n', "utf-8")
    assert main(["cases", "import", str(latin), "--mapping", str(bad_map)]) == 2
    assert "'nom': not a field that can be imported" in capsys.readouterr().err
