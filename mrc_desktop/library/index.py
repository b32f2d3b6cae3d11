"""``content.db``: the derived full-text index of the articles (never the source of truth).

Two FTS5 tables over folded text (see ``textfold``):

* ``fts_trigram`` (trigram tokenizer): any substring of 3 or more characters,
  which is what Thai, Khmer, Lao and Myanmar need (no spaces between words);
* ``fts_bigram`` (contentless, unicode61 over space-separated character pairs):
  2-character queries, which trigram cannot answer without scanning every row.

The index records a hash of the content files and is rebuilt, into a new file
that then replaces the old one, whenever that hash changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mrc_desktop.library.articles import Article, Library, load_library
from mrc_desktop.library.plaintext import markdown_to_text
from mrc_desktop.library.textfold import bigrams, fold
from mrc_desktop.storage import sqlite_build
from mrc_desktop.storage.database import connect

INDEX_VERSION = "1"
SCHEMA = """
create table meta (key text primary key, value text not null);
create table articles (
    id integer primary key,
    slug text not null,
    lang text not null,
    title text not null,
    summary text not null,
    topic text not null,
    countries text not null,
    status text not null,
    plain text not null,
    unique (slug, lang)
);
create virtual table fts_trigram using fts5(
    title, summary, body, tokenize = 'trigram', detail = 'full'
);
create virtual table fts_bigram using fts5(
    grams, content = '', detail = 'none',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* M* Co'"
);
"""


class IndexCancelled(Exception):
    pass


@dataclass(frozen=True)
class IndexStatus:
    path: Path
    rebuilt: bool
    articles: int


def content_hash(root: Path) -> str:
    """Hash of every file under the content folder (names and bytes), plus the index version."""
    digest = hashlib.sha256(INDEX_VERSION.encode())
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode("utf-8", "surrogateescape"))
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def stored_hash(db_path: Path) -> str | None:
    if not db_path.exists():
        return None
    conn = sqlite_build.connect(str(db_path))
    try:
        row = conn.execute("select value from meta where key = 'content_hash'").fetchone()
    except sqlite_build.sqlite.DatabaseError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def is_current(db_path: Path, root: Path) -> bool:
    return stored_hash(db_path) == content_hash(root)


ProgressFn = Callable[[int, int], None]


def build_index(
    db_path: Path,
    library: Library,
    content_digest: str,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Write a complete new index next to ``db_path``, then swap it in atomically."""
    tmp = db_path.with_name(f"{db_path.name}.building-{os.getpid()}-{threading.get_ident()}")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    conn = connect(tmp)
    try:
        conn.executescript(SCHEMA)
        articles = sorted(library.articles.values(), key=lambda a: (a.slug, a.lang))
        total = len(articles)
        with conn:
            for done, article in enumerate(articles, start=1):
                if cancelled is not None and cancelled():
                    raise IndexCancelled
                _insert(conn, article)
                if progress is not None and (done % 50 == 0 or done == total):
                    progress(done, total)
            conn.execute("insert into meta values ('content_hash', ?)", [content_digest])
            conn.execute("insert into meta values ('index_version', ?)", [INDEX_VERSION])
            conn.execute("insert into fts_trigram(fts_trigram) values ('optimize')")
        conn.execute("pragma wal_checkpoint(truncate)")
        conn.execute("pragma journal_mode = delete")
    except BaseException:
        conn.close()
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(tmp, db_path)
    for stale in (Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    return total


def _insert(conn: sqlite_build.Connection, article: Article) -> None:
    plain = markdown_to_text(article.body)
    cursor = conn.execute(
        "insert into articles (slug, lang, title, summary, topic, countries, status, plain)"
        " values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            article.slug,
            article.lang,
            article.title,
            article.summary,
            article.topic,
            ",".join(article.countries),
            article.status,
            plain,
        ],
    )
    rowid = cursor.lastrowid
    folded_title, folded_summary, folded_body = (
        fold(article.title),
        fold(article.summary),
        fold(plain),
    )
    conn.execute(
        "insert into fts_trigram (rowid, title, summary, body) values (?, ?, ?, ?)",
        [rowid, folded_title, folded_summary, folded_body],
    )
    grams = bigrams(folded_title) | bigrams(folded_summary) | bigrams(folded_body)
    conn.execute(
        "insert into fts_bigram (rowid, grams) values (?, ?)", [rowid, " ".join(sorted(grams))]
    )


def ensure_index(
    db_path: Path,
    content_root: Path,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    library: Library | None = None,
) -> IndexStatus:
    """Rebuild ``content.db`` if the content changed since it was built.

    Several screens load the library at once; one build at a time, and whoever waited
    finds the index already current."""
    with _BUILD_LOCK:
        return _ensure_index(db_path, content_root, progress, cancelled, library)


_BUILD_LOCK = threading.Lock()


def _ensure_index(
    db_path: Path,
    content_root: Path,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
    library: Library | None,
) -> IndexStatus:
    digest = content_hash(content_root)
    if stored_hash(db_path) == digest:
        conn = sqlite_build.connect(str(db_path))
        try:
            count = conn.execute("select count(*) from articles").fetchone()[0]
        finally:
            conn.close()
        return IndexStatus(db_path, False, count)
    if library is None:
        library = load_library(content_root)
    count = build_index(db_path, library, digest, progress, cancelled)
    return IndexStatus(db_path, True, count)
