"""The encrypted store: nothing readable on disk, wrong passphrases refused clearly."""

from pathlib import Path

import pytest

from mrc_desktop.storage.database import DatabaseOpenError
from mrc_desktop.storage.encrypted import (
    WeakPassphraseError,
    WrongPassphraseError,
    export_encrypted,
    key_file,
    open_encrypted,
)
from tests.fast_keys import FAST, PASS

SECRET = "Sokha Chanthy +855 12 345 678 was beaten by the employer"


def make(path: Path):  # type: ignore[no-untyped-def]
    db = open_encrypted(path, PASS, create=True, params=FAST)
    db.execute("create table notes (body text)")
    db.execute("insert into notes values (?)", [SECRET])
    db.conn.commit()
    return db


def test_no_plaintext_in_the_file_or_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    db = make(path)
    for file in tmp_path.iterdir():
        data = file.read_bytes()
        assert b"Sokha" not in data and b"345 678" not in data and b"beaten" not in data, file
    assert db.execute("select body from notes").fetchone()[0] == SECRET
    db.close()


def test_the_key_file_holds_no_secret(tmp_path: Path) -> None:
    make(tmp_path / "cases.db").close()
    text = key_file(tmp_path / "cases.db").read_text("utf-8")
    assert "argon2id" in text and PASS not in text


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    make(tmp_path / "cases.db").close()
    with pytest.raises(WrongPassphraseError):
        open_encrypted(tmp_path / "cases.db", "not the passphrase at all")
    assert (
        open_encrypted(tmp_path / "cases.db", PASS)
        .execute("select count(*) from notes")
        .fetchone()[0]
        == 1
    )


def test_missing_store_and_weak_passphrase(tmp_path: Path) -> None:
    with pytest.raises(DatabaseOpenError):
        open_encrypted(tmp_path / "none.db", PASS)
    with pytest.raises(WeakPassphraseError):
        open_encrypted(tmp_path / "new.db", "short", create=True)
    assert not (tmp_path / "new.db").exists()


def test_an_exported_copy_is_encrypted_and_opens(tmp_path: Path) -> None:
    db = make(tmp_path / "cases.db")
    target = tmp_path / "backup" / "cases-backup.db"
    target.parent.mkdir()
    export_encrypted(db, target, PASS, FAST)
    assert b"Sokha" not in target.read_bytes()
    copy = open_encrypted(target, PASS)
    assert copy.execute("select body from notes").fetchone()[0] == SECRET
