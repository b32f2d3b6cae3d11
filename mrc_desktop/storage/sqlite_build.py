"""The SQLite library MRC Desk runs on, and what it can do.

Python 3.11's bundled SQLite (3.40.1) misses two-character non-ASCII
patterns in trigram ``LIKE`` queries, which Khmer, Thai, Lao and Myanmar
search depends on. MRC Desk therefore drives the SQLite that ships inside
``sqlcipher3`` (SQLCipher 4 on a current SQLite), for both the plain content
index and the encrypted case store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlcipher3.dbapi2 as sqlite

Connection = Any  # sqlcipher3's Connection class has no type stubs


def connect(path: str, timeout_s: float = 5.0) -> Connection:
    return sqlite.connect(path, timeout=timeout_s, check_same_thread=False)


@dataclass(frozen=True)
class SqliteFeatures:
    sqlite_version: str
    sqlcipher_version: str
    fts5: bool
    trigram: bool
    short_non_ascii_like: bool

    @property
    def search_ready(self) -> bool:
        return self.fts5 and self.trigram and self.short_non_ascii_like


def probe_features() -> SqliteFeatures:
    """Check, on a scratch in-memory database, what the linked SQLite can do."""
    conn = connect(":memory:")
    try:
        version = conn.execute("select sqlite_version()").fetchone()[0]
        row = conn.execute("pragma cipher_version").fetchone()
        cipher = row[0] if row else ""
        fts5 = _works(conn, "create virtual table f using fts5(x)")
        trigram = _works(conn, "create virtual table t using fts5(x, tokenize='trigram')")
        short_like = False
        if trigram:
            # Khmer "ការងារ" (work): a two-character pattern must still match.
            conn.execute("insert into t values (?)", ("ស្រុក ការងារ",))
            hits = conn.execute("select count(*) from t where x like ?", ("%កា%",)).fetchone()
            short_like = bool(hits and hits[0] == 1)
        return SqliteFeatures(version, cipher, fts5, trigram, short_like)
    finally:
        conn.close()


def _works(conn: Connection, sql: str) -> bool:
    try:
        conn.execute(sql)
    except sqlite.Error:
        return False
    return True
