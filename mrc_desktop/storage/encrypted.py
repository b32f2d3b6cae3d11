"""The encrypted case store: SQLCipher, with its key derived from a passphrase by Argon2id.

The passphrase never touches the disk. Beside ``cases.db`` a small ``cases.key.json``
holds only what is needed to derive the key again (salt and Argon2id limits, which are
not secret). A wrong passphrase is reported as ``WrongPassphraseError`` — never as an
empty database or a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nacl.pwhash
import nacl.utils
import sqlite_utils

from mrc_desktop.storage import change_capture, sqlite_build
from mrc_desktop.storage.database import BUSY_TIMEOUT_MS, DatabaseOpenError
from mrc_desktop.storage.files import atomic_write_text

KEY_BYTES = 32
KDF = nacl.pwhash.argon2id
MIN_PASSPHRASE = 10


class WrongPassphraseError(RuntimeError):
    """The passphrase does not open this store."""


class WeakPassphraseError(ValueError):
    """A new passphrase is too short."""


@dataclass(frozen=True)
class KeyParams:
    salt: bytes
    opslimit: int
    memlimit: int

    @classmethod
    def new(
        cls, opslimit: int = KDF.OPSLIMIT_MODERATE, memlimit: int = KDF.MEMLIMIT_MODERATE
    ) -> KeyParams:
        return cls(nacl.utils.random(KDF.SALTBYTES), opslimit, memlimit)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": 1,
                "kdf": "argon2id",
                "salt": self.salt.hex(),
                "opslimit": self.opslimit,
                "memlimit": self.memlimit,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> KeyParams:
        data = json.loads(text)
        return cls(bytes.fromhex(data["salt"]), int(data["opslimit"]), int(data["memlimit"]))


def key_file(db_path: Path) -> Path:
    return db_path.with_name(db_path.stem + ".key.json")


def derive_key(passphrase: str, params: KeyParams) -> bytes:
    return KDF.kdf(
        KEY_BYTES,
        passphrase.encode("utf-8"),
        params.salt,
        opslimit=params.opslimit,
        memlimit=params.memlimit,
    )


def _connect(path: Path, key: bytes) -> sqlite_build.Connection:
    conn = sqlite_build.connect(str(path), timeout_s=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"pragma key = \"x'{key.hex()}'\"")
    conn.execute("pragma cipher_log_level = NONE")
    return conn


def open_encrypted(
    path: Path, passphrase: str, create: bool = False, params: KeyParams | None = None
) -> sqlite_utils.Database:
    """Open (or with ``create``, make) the encrypted store at ``path``."""
    keyfile = key_file(path)
    if not path.exists():
        if not create:
            raise DatabaseOpenError(path, "no case store here yet")
        if len(passphrase) < MIN_PASSPHRASE:
            raise WeakPassphraseError(f"use at least {MIN_PASSPHRASE} characters")
        params = params or KeyParams.new()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(keyfile, params.to_json() + "\n")
    else:
        try:
            params = KeyParams.from_json(keyfile.read_text("utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise DatabaseOpenError(keyfile, "the key file is missing or damaged") from exc
    conn = _connect(path, derive_key(passphrase, params))
    try:
        conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite_build.sqlite.DatabaseError as exc:
        conn.close()
        raise WrongPassphraseError("the passphrase does not open this case store") from exc
    # The functions change-capture triggers call (hlc_now, sync_applying): on every
    # connection, since a trigger fires whoever writes.
    change_capture.register_functions(conn)
    conn.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("pragma foreign_keys = on")
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma secure_delete = on")
    return sqlite_utils.Database(conn)


def export_encrypted(
    db: sqlite_utils.Database, target: Path, passphrase: str, params: KeyParams
) -> None:
    """Write an encrypted copy of ``db`` to ``target`` (same passphrase, its own salt file)."""
    key = derive_key(passphrase, params)
    tmp = target.with_name(f".{target.name}.part")
    tmp.unlink(missing_ok=True)
    db.execute(f"attach database ? as backup key \"x'{key.hex()}'\"", [str(tmp)])
    try:
        db.execute("select sqlcipher_export('backup')")
    finally:
        db.execute("detach database backup")
    atomic_write_text(key_file(target), params.to_json() + "\n")
    tmp.replace(target)
