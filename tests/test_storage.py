"""Storage foundation: pragmas, migrations on a hand-built old file, refusal of newer files."""

import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlite_utils
from sqlite_utils import Migrations

from mrc_desktop.storage.database import DatabaseOpenError, open_database
from mrc_desktop.storage.desk_store import MIGRATION_NAMES, DeskStore, migration_set
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.storage.migrate import DatabaseTooNewError, apply_migrations, known_names
from mrc_desktop.storage.sqlite_build import probe_features


def test_open_database_sets_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.db")
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("pragma foreign_keys").fetchone()[0] == 1
    assert db.execute("pragma busy_timeout").fetchone()[0] >= 5000


def test_a_file_that_is_not_a_database_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseOpenError) as err:
        open_database(path)
    assert err.value.path == path


def _hand_built_v1(path: Path) -> str:
    """desk.db as the first release wrote it: only migration 0001, made with plain sqlite3."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        create table desk_identity (desk_id text primary key, created_at text not null,
                                    created_by_version text not null);
        insert into desk_identity values ('0190f0a0-0000-7000-8000-000000000001',
                                          '2026-01-02T03:04:05+00:00', '0.0.1');
        create table _sqlite_migrations (id integer primary key, migration_set text,
                                         name text, applied_at text);
        create unique index idx_mig on _sqlite_migrations (migration_set, name);
        insert into _sqlite_migrations (migration_set, name, applied_at)
            values ('mrc_desktop.desk', '0001_desk_identity', '2026-01-02 03:04:05+00:00');
        """
    )
    conn.commit()
    conn.close()
    return "0190f0a0-0000-7000-8000-000000000001"


def test_old_desk_db_is_upgraded_and_keeps_its_identity(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    desk_id = _hand_built_v1(path)
    store = DeskStore(path)
    state = store.start_run()
    assert state.desk_id == desk_id
    assert state.previous_run_unclean is False
    assert "app_runs" in store.table_names()
    store.close()


def test_database_from_a_newer_app_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    DeskStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "insert into _sqlite_migrations (migration_set, name, applied_at) "
        "values ('mrc_desktop.desk', '0099_from_the_future', 'x')"
    )
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseTooNewError, match="newer version") as err:
        DeskStore(path)
    assert err.value.unknown == ["0099_from_the_future"]
    assert path.read_bytes() == before


def test_a_failing_migration_rolls_back_and_stays_pending(tmp_path: Path) -> None:
    migrations = Migrations("test.set")

    @migrations(name="0001_ok")
    def _ok(db: sqlite_utils.Database) -> None:
        db.execute("create table a (x)")

    @migrations(name="0002_breaks")
    def _breaks(db: sqlite_utils.Database) -> None:
        db.execute("create table b (x)")
        raise RuntimeError("boom")

    db = open_database(tmp_path / "m.db")
    with pytest.raises(RuntimeError):
        apply_migrations(db, migrations, tmp_path / "m.db")
    assert "a" in db.table_names() and "b" not in db.table_names()
    assert [m.name for m in migrations.pending(db)] == ["0002_breaks"]
    assert known_names(migrations) == ["0001_ok", "0002_breaks"]


def test_unclean_previous_run_is_reported(tmp_path: Path) -> None:
    store = DeskStore(tmp_path / "desk.db")
    first = store.start_run()
    second = store.start_run()  # the first run never ended: a crash or power cut
    assert second.previous_run_unclean
    store.end_run(second.run_id)
    assert store.start_run().previous_run_unclean is False
    assert first.desk_id == second.desk_id
    store.close()


def test_uuid7_is_version_7_and_sorts_by_time() -> None:
    ids = [uuid7(now_ms=1_700_000_000_000 + i) for i in range(50)]
    assert ids == sorted(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert len({uuid7() for _ in range(1000)}) == 1000


def test_the_sqlite_build_finds_two_character_khmer_substrings() -> None:
    features = probe_features()
    assert features.search_ready, features
    assert tuple(int(x) for x in features.sqlite_version.split(".")[:2]) >= (3, 45)


def test_desk_migration_names_match_the_migration_set() -> None:
    assert known_names(migration_set()) == list(MIGRATION_NAMES)


def test_a_fresh_desk_db_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    DeskStore(path).close()
    db = open_database(path)
    assert [m.name for m in migration_set().applied(db)] == list(MIGRATION_NAMES)


def test_uuid7_made_in_the_same_millisecond_keep_their_order() -> None:
    from mrc_desktop.storage import ids

    made = [uuid7() for _ in range(5000)]  # many share a millisecond
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(i[14] == "7" and i[19] in "89ab" for i in made)  # version and variant kept
    last = int(made[-1].replace("-", ""), 16)
    wrapped = ids._next_after(last | 0x3FFF_FFFF_FFFF_FFFF)  # the low counter runs out
    assert wrapped > last and (wrapped >> 76) & 0xF == 7 and (wrapped >> 62) & 0b11 == 0b10
