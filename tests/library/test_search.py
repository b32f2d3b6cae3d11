"""Search in every script: substrings without word spaces, 2-character queries, folded accents."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_desktop.library.articles import load_library
from mrc_desktop.library.index import build_index, content_hash, ensure_index, is_current
from mrc_desktop.library.search import SearchIndex
from tests.library.conftest import write_article


@pytest.fixture
def index(content: Path, tmp_path: Path) -> SearchIndex:
    db = tmp_path / "content.db"
    ensure_index(db, content)
    return SearchIndex(db)


def found(
    index: SearchIndex,
    query: str,
    lang: str | None = None,
    topic: str | None = None,
    country: str | None = None,
) -> set[tuple[str, str]]:
    return {(h.slug, h.lang) for h in index.search(query, lang=lang, topic=topic, country=country)}


@pytest.mark.parametrize(
    ("query", "lang"),
    [
        ("ค่าธรรมเนียม", "th"),  # Thai: a word inside running text
        ("ธรรม", "th"),
        ("ថ្លៃសេវា", "km"),  # Khmer
        ("ជ្រើសរើស", "km"),
        ("ຄ່າທຳນຽມ", "lo"),  # Lao
        ("အကျိုးဆောင်", "my"),  # Myanmar
        ("tuyển dụng", "vi"),
        ("tuyen dung", "vi"),  # Vietnamese without diacritics
        ("nguoi", "vi"),
        ("رسوم التوظيف", "ar"),
        ("يدفع صاحب", "ar"),  # Arabic without the vowel marks the text has
        ("PASSPORT", "en"),  # case-insensitive Latin
    ],
)
def test_finds_text_in_every_script(index: SearchIndex, query: str, lang: str) -> None:
    assert any(hit_lang == lang for _slug, hit_lang in found(index, query))


@pytest.mark.parametrize(
    ("query", "lang"),
    [("ថ្ល", "km"), ("សុ", "km"), ("ใบ", "th"), ("ຂໍ", "lo"), ("ပေး", "my"), ("ai", "vi")],
)
def test_two_character_queries(index: SearchIndex, query: str, lang: str) -> None:
    assert ("fees", lang) in found(index, query)


def test_a_two_letter_khmer_word(index: SearchIndex) -> None:
    # "សុំ" (to ask) is 3 code points; its first two, "សុ", is a 2-character query.
    assert found(index, "សុ") == {("fees", "km")}


def test_filters(index: SearchIndex) -> None:
    assert found(index, "passport", lang="en") == {("fees", "en"), ("passport", "en")}
    assert found(index, "passport", topic="contracts") == {("passport", "en")}
    assert found(index, "recruitment", country="TH") == {("fees", "en")}
    assert found(index, "recruitment", country="SA") == set()


def test_ranking_prefers_titles(index: SearchIndex) -> None:
    hits = index.search("passport", lang="en")
    assert hits[0].slug == "passport"


def test_snippets_highlight_the_original_text(index: SearchIndex) -> None:
    hit = index.search("nguoi lao dong", lang="vi")[0]
    assert "<mark>Người</mark>" in hit.snippet_html
    assert "<mark>lao</mark>" in hit.snippet_html


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"unbalanced',
        "*",
        "-",
        "NEAR",
        "NEAR(a b)",
        "a OR",
        "()",
        "^x",
        "col:val",
        "'",
        "'; drop table x",
    ],
)
def test_fts_syntax_in_queries_never_errors(index: SearchIndex, query: str) -> None:
    index.search(query)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_any_query_is_safe(tmp_path_factory: pytest.TempPathFactory, query: str) -> None:
    root = tmp_path_factory.mktemp("c")
    write_article(root, "en", "fees")
    db = root / "content.db"
    if not db.exists():
        ensure_index(db, root)
    SearchIndex(db).search(query)


def test_index_rebuilds_when_content_changes(content: Path, tmp_path: Path) -> None:
    db = tmp_path / "content.db"
    assert ensure_index(db, content).rebuilt
    assert not ensure_index(db, content).rebuilt
    write_article(content, "en", "new-one", one="Brand new words: zebrafish.")
    assert not is_current(db, content)
    status = ensure_index(db, content)
    assert status.rebuilt and status.articles == 9
    assert found(SearchIndex(db), "zebrafish") == {("new-one", "en")}


def test_cancelled_build_keeps_the_old_index(content: Path, tmp_path: Path) -> None:
    from mrc_desktop.library.index import IndexCancelled

    db = tmp_path / "content.db"
    ensure_index(db, content)
    before = db.read_bytes()
    with pytest.raises(IndexCancelled):
        build_index(db, load_library(content), content_hash(content), cancelled=lambda: True)
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []


def test_two_loaders_at_once_build_one_valid_index(content: Path, tmp_path: Path) -> None:
    """The Library and Countries screens may both ask for the index at the same moment."""
    import threading

    db = tmp_path / "content.db"
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_index(db, content))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.rebuilt for r in results) == [False, True]
    assert found(SearchIndex(db), "passport", lang="en") == {("fees", "en"), ("passport", "en")}
    assert [p.name for p in tmp_path.iterdir() if "building" in p.name] == []
