"""Encrypted backups: complete, unreadable without the passphrase, rotated; restore checks first."""

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import migrations, open_case_store
from mrc_desktop.cases.unlock import (
    UnlockError,
    backup_case_store,
    desk_id_of,
    ensure_daily_backup,
    restore_case_store,
)
from mrc_desktop.cases.users import User, create_user
from mrc_desktop.storage import backup
from mrc_desktop.storage.encrypted import WrongPassphraseError, key_file, open_encrypted
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.storage.migrate import DatabaseTooNewError
from mrc_desktop.storage.paths import AppPaths, app_paths
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000bb"
NOON = dt.datetime(2026, 11, 20, 12, 0, 0, tzinfo=dt.UTC)
# Invented people; the markers must never appear in a backup's bytes.
MARKERS = ("Sokunthea Testperson", "สมหญิง ทดสอบ", "+855 12 345 678", "hidden the passport")
PEOPLE = [
    {
        "person_name": "Sokunthea Testperson",
        "phone": "+855 12 345 678",
        "destination_country": "TH",
        "narrative": "The broker hidden the passport in a locked drawer.",
    },
    {"person_name": "สมหญิง ทดสอบ", "destination_country": "MY", "narrative": "Unpaid wages."},
]


@pytest.fixture
def paths() -> AppPaths:
    return app_paths()


@pytest.fixture
def store(paths: AppPaths):  # type: ignore[no-untyped-def]
    db = open_case_store(paths.cases_db, PASS, create=True, params=FAST)
    yield db
    db.close()


@pytest.fixture
def repo(store) -> CaseRepository:  # type: ignore[no-untyped-def]
    user = create_user(store, DESK, "vanna", "Vanna", "supervisor", "password123", **MIN_COST)
    repo = CaseRepository(store, user, DESK)
    for person in PEOPLE:
        case_id = repo.create_case(person)
        repo.add_entry(case_id, "note", {"text": "Met at the desk."})
    store.execute(
        "insert into attachments (id, case_id, name, media_type, size, sha256, content,"
        " created_at, origin_desk, author) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            uuid7(),
            case_id,
            "receipt.png",
            "image/png",
            12,
            hashlib.sha256(b"receipt-body").hexdigest(),
            b"receipt-body",
            "2026-11-20T10:00:00+00:00",
            DESK,
            user.id,
        ],
    )
    store.conn.commit()
    return repo


def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    tables = ("cases", "case_entries", "attachments", "audit_log", "users")
    return {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_backup_opens_with_the_same_passphrase_and_holds_everything(
    paths: AppPaths, store, repo: CaseRepository
) -> None:  # type: ignore[no-untyped-def]
    before = counts(store)
    made, removed = backup_case_store(
        store, PASS, paths.cases_db, paths.backups, repo.user, DESK, keep=14, now=NOON
    )
    assert made == paths.backups / "cases-20261120-120000.db" and removed == []
    assert key_file(made).read_text("utf-8") == key_file(paths.cases_db).read_text("utf-8")
    assert sorted(p.name for p in paths.backups.iterdir()) == [
        "cases-20261120-120000.db",
        "cases-20261120-120000.key.json",
    ]
    copy = open_encrypted(made, PASS)
    try:
        assert counts(copy) == before
        assert copy.execute("select content from attachments").fetchone()[0] == b"receipt-body"
        names = {r[0] for r in copy.execute("select person_name from cases")}
        assert names == {p["person_name"] for p in PEOPLE}
    finally:
        copy.close()
    with pytest.raises(WrongPassphraseError):
        open_encrypted(made, "not the passphrase at all")
    last = store.execute(
        "select user_id, action, new_value from audit_log order by at desc, id desc limit 1"
    ).fetchone()
    assert last == (repo.user.id, "backup", made.name)


def test_no_personal_data_in_the_bytes_of_a_backup(
    paths: AppPaths, store, repo: CaseRepository
) -> None:  # type: ignore[no-untyped-def]
    made = backup.make_backup(store, PASS, backup.read_key_params(paths.cases_db), paths.backups)
    for path in (made, key_file(made)):
        data = path.read_bytes()
        for marker in MARKERS:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                assert marker.encode(encoding) not in data, (path.name, marker, encoding)
    # The scan itself can fail: the plaintext is there when the copy is opened.
    copy = open_encrypted(made, PASS)
    assert copy.execute("select count(*) from cases where phone = ?", [MARKERS[2]]).fetchone()[0]
    copy.close()


def test_two_backups_in_one_second_do_not_overwrite_each_other(
    paths: AppPaths, store, repo: CaseRepository
) -> None:  # type: ignore[no-untyped-def]
    params = backup.read_key_params(paths.cases_db)
    first = backup.make_backup(store, PASS, params, paths.backups, NOON)
    second = backup.make_backup(store, PASS, params, paths.backups, NOON)
    assert (first.name, second.name) == ("cases-20261120-120000.db", "cases-20261120-120000-2.db")
    assert [b.path for b in backup.list_backups(paths.backups)] == [second, first]
    assert not list(paths.backups.glob(".partial-*"))


def test_rotation_keeps_the_newest(paths: AppPaths, store, repo: CaseRepository) -> None:  # type: ignore[no-untyped-def]
    params = backup.read_key_params(paths.cases_db)
    made = [
        backup.make_backup(store, PASS, params, paths.backups, NOON + dt.timedelta(days=d))
        for d in (3, 0, 4, 1, 2)
    ]
    unrelated = paths.backups / "notes.txt"
    unrelated.write_text("kept")
    removed = backup.rotate(paths.backups, keep=2)
    assert sorted(removed) == sorted([made[1], made[3], made[4]])
    left = sorted(p.name for p in paths.backups.iterdir())
    assert left == [
        "cases-20261123-120000.db",
        "cases-20261123-120000.key.json",
        "cases-20261124-120000.db",
        "cases-20261124-120000.key.json",
        "notes.txt",
    ]
    with pytest.raises(ValueError):
        backup.rotate(paths.backups, keep=0)


def test_daily_backup_only_when_the_last_is_a_day_old(
    paths: AppPaths, store, repo: CaseRepository
) -> None:  # type: ignore[no-untyped-def]
    first = ensure_daily_backup(paths, store, PASS, keep=2, desk_id=DESK, now=NOON)
    assert first is not None and first.exists()
    later = NOON + dt.timedelta(hours=23)
    assert ensure_daily_backup(paths, store, PASS, keep=2, desk_id=DESK, now=later) is None
    for hours in (25, 50):
        made = ensure_daily_backup(
            paths, store, PASS, keep=2, desk_id=DESK, now=NOON + dt.timedelta(hours=hours)
        )
        assert made is not None
    assert len(backup.list_backups(paths.backups)) == 2 and not first.exists()
    # A clock that went backwards: the newest backup looks "in the future", so back up.
    assert ensure_daily_backup(paths, store, PASS, keep=2, desk_id=DESK, now=NOON) is not None
    actions = [r[0] for r in store.execute("select user_id from audit_log where action='backup'")]
    assert actions == ["system"] * 4


def test_restore_puts_the_backup_in_place_and_keeps_the_old_store(
    paths: AppPaths, store, repo: CaseRepository
) -> None:  # type: ignore[no-untyped-def]
    made, _ = backup_case_store(
        store, PASS, paths.cases_db, paths.backups, repo.user, DESK, keep=14
    )
    repo.create_case({"person_name": "Added After Backup"})
    store.close()
    result = restore_case_store(paths, made, PASS, repo.user)
    assert result is not None and result.moved_aside is not None
    assert result.moved_aside.name.startswith("cases.db.before-restore-")
    assert "cases.db" in result.moved_files and "cases.key.json" in result.moved_files
    restored = open_case_store(paths.cases_db, PASS)
    try:
        names = {r[0] for r in restored.execute("select person_name from cases")}
        assert names == {p["person_name"] for p in PEOPLE}
        last = restored.execute(
            "select action, new_value from audit_log order by at desc, id desc limit 1"
        ).fetchone()
        assert last == ("restore", made.name)
        assert restored.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        restored.close()
    old = open_case_store(result.moved_aside / "cases.db", PASS)
    try:
        assert old.execute(
            "select count(*) from cases where person_name = 'Added After Backup'"
        ).fetchone() == (1,)
    finally:
        old.close()
    leftovers = [p.name for p in paths.data.iterdir() if p.name.startswith(".restoring")]
    assert leftovers == []


@pytest.fixture
def closed_store_with_backup(paths: AppPaths, store, repo: CaseRepository) -> Path:  # type: ignore[no-untyped-def]
    made = backup.make_backup(store, PASS, backup.read_key_params(paths.cases_db), paths.backups)
    repo.create_case({"person_name": "Only In The Live Store"})
    store.close()
    desk_id_of(paths)  # a real desk has its desk.db already
    return made


def damaged_copies(made: Path, folder: Path) -> dict[str, Path]:
    data = made.read_bytes()
    variants = {
        "truncated to half": data[: len(data) // 2],
        "truncated mid-page": data[:5000],
        "first page only": data[:4096],
        "page flipped": data[: 3 * 4096]
        + bytes(b ^ 0xFF for b in data[3 * 4096 : 4 * 4096])
        + data[4 * 4096 :],
        "empty": b"",
    }
    copies = {}
    for label, content in variants.items():
        path = folder / f"{label.replace(' ', '-')}.db"
        path.write_bytes(content)
        key_file(path).write_bytes(key_file(made).read_bytes())
        copies[label] = path
    return copies


def test_a_bad_backup_leaves_the_current_store_byte_for_byte(
    paths: AppPaths, closed_store_with_backup: Path, tmp_path: Path
) -> None:
    before = files_of(paths.data)
    backup_before = closed_store_with_backup.read_bytes()
    user = User("cli", "cli", "cli", "counsellor")
    with pytest.raises(UnlockError, match="passphrase does not open this backup"):
        restore_case_store(paths, closed_store_with_backup, "a different passphrase", user)
    (tmp_path / "bad").mkdir()
    for label, copy in damaged_copies(closed_store_with_backup, tmp_path / "bad").items():
        with pytest.raises((backup.BackupError, UnlockError)) as err:
            restore_case_store(paths, copy, PASS, user)
        assert str(copy) in str(err.value), label
        if label != "page flipped":  # a damaged first page cannot be told from a wrong key
            assert "damaged" in str(err.value), label
    no_key = tmp_path / "no-key.db"
    no_key.write_bytes(backup_before)
    with pytest.raises(backup.BackupError, match="key file"):
        restore_case_store(paths, no_key, PASS, user)
    assert files_of(paths.data) == before
    assert sorted(p.name for p in paths.data.iterdir()) == sorted([*before, "backups"])
    assert "cases.db" in before and "cases.key.json" in before
    assert closed_store_with_backup.read_bytes() == backup_before


def test_a_backup_from_a_newer_app_or_another_store_is_refused(
    paths: AppPaths, closed_store_with_backup: Path, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.db"
    newer.write_bytes(closed_store_with_backup.read_bytes())
    key_file(newer).write_bytes(key_file(closed_store_with_backup).read_bytes())
    db = open_encrypted(newer, PASS)
    db.execute(
        "insert into _sqlite_migrations (migration_set, name, applied_at)"
        " values (?, '0099_from_the_future', '2030-01-01')",
        [migrations.name],
    )
    db.conn.commit()
    db.execute("pragma journal_mode = delete")
    db.close()
    other = tmp_path / "other.db"
    plain = open_encrypted(other, PASS, create=True, params=FAST)
    plain.execute("create table notes (x)")
    plain.execute("pragma journal_mode = delete")
    plain.close()
    before = files_of(paths.data)
    user = User("cli", "cli", "cli", "counsellor")
    with pytest.raises(DatabaseTooNewError, match="0099_from_the_future"):
        restore_case_store(paths, newer, PASS, user)
    with pytest.raises(backup.BackupError, match="not a backup"):
        restore_case_store(paths, other, PASS, user)
    assert files_of(paths.data) == before


def test_restore_stops_when_not_confirmed(paths: AppPaths, closed_store_with_backup: Path) -> None:
    before = files_of(paths.data)
    asked = []

    def decline() -> bool:
        asked.append(True)
        return False

    user = User("cli", "cli", "cli", "counsellor")
    assert restore_case_store(paths, closed_store_with_backup, PASS, user, decline) is None
    assert asked == [True] and files_of(paths.data) == before


def test_restore_onto_a_desk_with_no_store(paths: AppPaths, closed_store_with_backup: Path) -> None:
    for path in list(paths.data.iterdir()):
        if path.is_file():
            path.unlink()
    result = backup.restore(closed_store_with_backup, PASS, paths.cases_db, migrations)
    assert result is not None and result.moved_aside is None
    db = open_case_store(paths.cases_db, PASS)
    assert db.execute("select count(*) from cases").fetchone()[0] == len(PEOPLE)
    db.close()
