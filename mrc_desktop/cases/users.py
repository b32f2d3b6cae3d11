"""Desk users: counsellor, supervisor, admin; passwords stored as Argon2id hashes."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass

import nacl.exceptions
import nacl.pwhash
import sqlite_utils

from mrc_desktop.cases import vocab
from mrc_desktop.storage.ids import uuid7

MIN_PASSWORD = 8


class UserError(ValueError):
    """Why a user could not be created or changed (a short English reason for logs/CLI)."""


@dataclass(frozen=True)
class User:
    id: str
    username: str
    display_name: str
    role: str

    def can(self, permission: str) -> bool:
        allowed = {
            "see_audit": ("supervisor", "admin"),
            "manage_users": ("admin",),
            "delete_case": ("supervisor", "admin"),
            "export_personal": ("supervisor", "admin"),
        }
        return self.role in allowed.get(permission, ("counsellor", "supervisor", "admin"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def create_user(
    db: sqlite_utils.Database,
    desk_id: str,
    username: str,
    display_name: str,
    role: str,
    password: str,
    ops: int = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
    mem: int = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
) -> User:
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").isalnum():
        raise UserError("user names use letters, digits, '.' and '-'")
    if role not in vocab.ROLES:
        raise UserError(f"role must be one of {', '.join(vocab.ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"passwords need at least {MIN_PASSWORD} characters")
    if db.execute("select 1 from users where username = ?", [username]).fetchone():
        raise UserError(f"there is already a user '{username}'")
    hashed = nacl.pwhash.argon2id.str(password.encode("utf-8"), opslimit=ops, memlimit=mem)
    user = User(uuid7(), username, display_name.strip() or username, role)
    now = _now()
    with db.conn:
        db.execute(
            "insert into users (id, username, display_name, role, password_hash, created_at,"
            " updated_at, origin_desk) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                user.id,
                user.username,
                user.display_name,
                role,
                hashed.decode("ascii"),
                now,
                now,
                desk_id,
            ],
        )
    return user


def authenticate(db: sqlite_utils.Database, username: str, password: str) -> User | None:
    row = db.execute(
        "select id, username, display_name, role, password_hash from users"
        " where username = ? and disabled = 0",
        [username.strip().lower()],
    ).fetchone()
    if row is None:
        # Spend the same effort as a real check, so timing does not reveal user names.
        with contextlib.suppress(
            nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError, ValueError
        ):
            nacl.pwhash.verify(
                b"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$cV3G2Ak0zR3s0z3Q2d0xWw",
                password.encode("utf-8"),
            )
        return None
    try:
        nacl.pwhash.verify(row[4].encode("ascii"), password.encode("utf-8"))
    except (nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError):
        return None
    return User(row[0], row[1], row[2], row[3])


def has_users(db: sqlite_utils.Database) -> bool:
    return db.execute("select 1 from users limit 1").fetchone() is not None


def list_users(db: sqlite_utils.Database) -> list[User]:
    rows = db.execute(
        "select id, username, display_name, role from users where disabled = 0 order by username"
    ).fetchall()
    return [User(*row) for row in rows]
