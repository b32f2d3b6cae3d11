"""Bookmarks and recently opened articles, kept in ``desk.db`` (no personal data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mrc_desktop.storage.sqlite_build import Connection

RECENT_KEEP = 30


@dataclass(frozen=True)
class ArticleRef:
    slug: str
    lang: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def bookmarks(conn: Connection) -> list[ArticleRef]:
    rows = conn.execute("select slug, lang from bookmarks order by created_at desc").fetchall()
    return [ArticleRef(slug, lang) for slug, lang in rows]


def is_bookmarked(conn: Connection, slug: str) -> bool:
    return conn.execute("select 1 from bookmarks where slug = ?", [slug]).fetchone() is not None


def set_bookmark(conn: Connection, slug: str, lang: str, on: bool) -> None:
    with conn:
        if on:
            conn.execute(
                "insert into bookmarks (slug, lang, created_at) values (?, ?, ?) "
                "on conflict (slug) do update set lang = excluded.lang",
                [slug, lang, _now()],
            )
        else:
            conn.execute("delete from bookmarks where slug = ?", [slug])


def record_opened(conn: Connection, slug: str, lang: str) -> None:
    with conn:
        conn.execute(
            "insert into recent (slug, lang, opened_at) values (?, ?, ?) "
            "on conflict (slug) do update set lang = excluded.lang, opened_at = excluded.opened_at",
            [slug, lang, _now()],
        )
        conn.execute(
            "delete from recent where slug not in "
            "(select slug from recent order by opened_at desc limit ?)",
            [RECENT_KEEP],
        )


def recent(conn: Connection) -> list[ArticleRef]:
    rows = conn.execute("select slug, lang from recent order by opened_at desc").fetchall()
    return [ArticleRef(slug, lang) for slug, lang in rows]
