"""Searching ``content.db``: substrings in every script, ranked, with highlighted snippets.

A query is folded like the index, split on spaces into terms, and every term
must match: terms of 3+ characters through the trigram table (as a quoted
phrase, so FTS syntax in user input is just text), 2-character terms through
the bigram table, single characters are ignored. Nothing the user types is
passed to MATCH unquoted, so quotes, '*', '-', NEAR or stray brackets never
raise an error.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from mrc_desktop.library.textfold import fold, fold_with_map
from mrc_desktop.storage import sqlite_build

SNIPPET_CHARS = 160
LEAD = 50  # characters of context kept before the first match
WINDOW = SNIPPET_CHARS + 80


@dataclass(frozen=True)
class SearchHit:
    slug: str
    lang: str
    title: str
    topic: str
    snippet_html: str
    score: float

    def as_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "lang": self.lang,
            "title": self.title,
            "snippet": self.snippet_html,
            "score": round(self.score, 4),
        }


def query_terms(query: str) -> tuple[list[str], list[str]]:
    """(terms for the trigram table, 2-character terms for the bigram table)."""
    long_terms: list[str] = []
    short_terms: list[str] = []
    # Control characters (NUL included) mean nothing in a search and upset the FTS parser.
    cleaned = "".join(ch for ch in query if unicodedata.category(ch) != "Cc")
    for term in fold(cleaned).split():
        term = term.strip("\"'()[]{}*^:+-,.;!?")
        if len(term) >= 3:
            long_terms.append(term)
        elif len(term) == 2:
            short_terms.append(term)
    return long_terms, short_terms


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SearchIndex:
    """A read-only connection to ``content.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite_build.connect(f"file:{path}?mode=ro", timeout_s=5.0)

    def close(self) -> None:
        self.conn.close()

    def count(self) -> int:
        return int(self.conn.execute("select count(*) from articles").fetchone()[0])

    def search(
        self,
        query: str,
        lang: str | None = None,
        topic: str | None = None,
        country: str | None = None,
        limit: int = 30,
    ) -> list[SearchHit]:
        long_terms, short_terms = query_terms(query)
        if not long_terms and not short_terms:
            return []
        where: list[str] = ["1"]
        params: list[object] = []
        for term in short_terms:
            where.append("a.id in (select rowid from fts_bigram where fts_bigram match ?)")
            params.append(_phrase(term))
        if lang:
            where.append("a.lang = ?")
            params.append(lang)
        if topic:
            where.append("a.topic = ?")
            params.append(topic)
        if country:
            where.append("(',' || a.countries || ',') like ?")
            params.append(f"%,{country},%")
        if long_terms:
            # Rank on ids only; the long text columns are read for the top hits alone, so the
            # sorter never carries whole articles for every match.
            sql = (
                "select fts_trigram.rowid, -bm25(fts_trigram, 10.0, 4.0, 1.0) as score "
                "from fts_trigram join articles a on a.id = fts_trigram.rowid "
                f"where fts_trigram match ? and {' and '.join(where)} "
                "order by score desc limit ?"
            )
            params = [" AND ".join(_phrase(t) for t in long_terms), *params, limit]
        else:
            sql = f"select a.id, 0.0 from articles a where {' and '.join(where)} limit ?"
            params.append(limit)
        ranked = self.conn.execute(sql, params).fetchall()
        if not ranked:
            return []
        terms = long_terms + short_terms
        marks = ",".join("?" * len(ranked))
        # Only a window of text around the first match leaves SQLite; the whole text only
        # where folding changed its length (Arabic written with vowel marks).
        rows = {
            row[0]: row[1:]
            for row in self.conn.execute(
                "select a.id, a.slug, a.lang, a.title, a.topic,"
                " length(a.plain) = length(t.body) as same,"
                " max(instr(t.body, ?) - ?, 1) as start,"
                " substr(a.plain, max(instr(t.body, ?) - ?, 1), ?),"
                " substr(t.body, max(instr(t.body, ?) - ?, 1), ?)"
                f" from articles a join fts_trigram t on t.rowid = a.id where a.id in ({marks})",
                [
                    terms[0],
                    LEAD,
                    terms[0],
                    LEAD,
                    WINDOW,
                    terms[0],
                    LEAD,
                    WINDOW,
                    *[rowid for rowid, _score in ranked],
                ],
            )
        }
        hits = []
        for rowid, score in ranked:
            slug, row_lang, title, row_topic, same, start, plain, folded = rows[rowid]
            if not same:
                plain = self.conn.execute(
                    "select plain from articles where id = ?", [rowid]
                ).fetchone()[0]
                folded, start = None, 1
            text = snippet(plain, terms, folded)
            if start > 1 and not text.startswith("…"):
                text = "…" + text
            hits.append(SearchHit(slug, row_lang, title, row_topic, text, float(score)))
        if not long_terms:
            # Without bm25: titles that contain the term first, then shorter articles.
            hits.sort(key=lambda h: (not any(t in fold(h.title) for t in terms), h.slug))
        return hits


def snippet(
    plain: str, terms: list[str], folded: str | None = None, width: int = SNIPPET_CHARS
) -> str:
    """A window of the original text around the first match, matches wrapped in <mark>.

    ``folded`` is the index's folded copy of ``plain``; when folding kept the length (the
    usual case: only Arabic vowel marks and a few Latin letters change it), positions in
    the two are the same and no per-character mapping is needed.
    """
    origin: list[int] | range
    if folded is not None and len(folded) == len(plain):
        origin = range(len(plain))
    else:
        folded, origin = fold_with_map(plain)
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = folded.find(term)
        while start != -1:
            end = start + len(term)
            spans.append((origin[start], origin[end - 1] + 1))
            start = folded.find(term, end)
    if not spans:
        return html.escape(plain[:width].replace("\n", " "))
    spans.sort()
    first = spans[0][0]
    begin = max(0, first - width // 3)
    finish = min(len(plain), begin + width)
    pieces: list[str] = ["…" if begin > 0 else ""]
    cursor = begin
    for start, end in spans:
        if start < cursor or start >= finish:
            continue
        pieces.append(html.escape(plain[cursor:start]))
        pieces.append(f"<mark>{html.escape(plain[start:end])}</mark>")
        cursor = end
    pieces.append(html.escape(plain[cursor:finish]))
    pieces.append("…" if finish < len(plain) else "")
    return "".join(pieces).replace("\n", " ")
