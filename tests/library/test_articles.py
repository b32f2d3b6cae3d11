"""Loading and validating articles: problems name file:line and never stop the rest loading."""

import datetime as dt
from pathlib import Path

from mrc_desktop.library.articles import load_library
from tests.library.conftest import write_article


def test_all_fixture_articles_load(content: Path) -> None:
    library = load_library(content)
    assert library.problems == []
    assert library.languages_of("fees") == ["en", "km", "lo", "my", "th", "vi", "ar"]
    fees = library.get("fees", "en")
    assert fees is not None and [s.heading for s in fees.sections] == ["One", "Two"]
    assert fees.countries == ("MY", "TH")


def problems_for(content: Path, path: Path) -> list[str]:
    return [str(p) for p in load_library(content).problems if p.path == path]


def test_broken_header_is_skipped_with_file_and_line(content: Path) -> None:
    path = content / "en" / "broken.md"
    path.write_text("This file has no header\n\nJust text.\n", encoding="utf-8")
    library = load_library(content)
    assert ("broken", "en") not in library.articles
    assert problems_for(content, path) == [f"{path}:1: no metadata header (Title: …)"]
    assert library.get("fees", "en") is not None


def test_missing_title_bad_date_and_unknown_values(content: Path) -> None:
    path = write_article(content, "en", "bad", title="", reviewed="x")
    text = path.read_text("utf-8").replace("Reviewed: 2026-01-15", "Reviewed: 15/01/2026")
    text = text.replace("Topic: recruitment", "Topic: astrology").replace("MY,TH", "MY,XX")
    path.write_text(text, "utf-8")
    found = "\n".join(problems_for(content, path))
    assert "missing 'title:'" in found
    assert ":6: reviewed date '15/01/2026' is not YYYY-MM-DD" in found
    assert ":2: unknown topic 'astrology'" in found
    assert ":4: 'XX' is not an ISO 3166 country code" in found


def test_future_review_date_is_refused(content: Path) -> None:
    path = write_article(content, "en", "future")
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    path.write_text(path.read_text("utf-8").replace("2026-01-15", future), "utf-8")
    assert any("in the future" in p for p in problems_for(content, path))


def test_invalid_utf8_names_the_line(content: Path) -> None:
    path = content / "en" / "latin1.md"
    path.write_bytes(b"Title: ok\nTopic: rights\nSummary: caf\xe9\n")
    assert problems_for(content, path) == [f"{path}:3: not valid UTF-8 text"]


def test_unknown_language_folder(content: Path) -> None:
    path = write_article(content, "xx", "fees")
    assert any("unknown language folder 'xx'" in p for p in problems_for(content, path))


def test_terminology_is_enforced(content: Path) -> None:
    path = write_article(
        content, "en", "words", one="Help for illegal migrants and unskilled jobs."
    )
    found = problems_for(content, path)
    assert any("'illegal migrants'" in p for p in found)
    assert any("'unskilled'" in p and "low-skilled" in p for p in found)


def test_translation_needs_matching_sections_and_a_source(content: Path) -> None:
    orphan = write_article(content, "th", "orphan")
    assert any("no English source" in p for p in problems_for(content, orphan))
    fewer = content / "km" / "fees.md"
    fewer.write_text(fewer.read_text("utf-8").split("## Two")[0], "utf-8")
    library = load_library(content)
    assert library.get("fees", "km") is None
    assert any("sections" in str(p) for p in library.problems if p.path == fewer)


def test_out_of_date_translation_is_detected(content: Path) -> None:
    english = content / "en" / "fees.md"
    english.write_text(english.read_text("utf-8").replace("Revision: 1", "Revision: 2"), "utf-8")
    library = load_library(content)
    thai = library.get("fees", "th")
    assert thai is not None and library.is_out_of_date(thai)
    assert not library.is_out_of_date(library.get("fees", "en"))  # type: ignore[arg-type]


def test_staleness_after_18_months(content: Path) -> None:
    article = load_library(content).get("fees", "en")
    assert article is not None
    assert not article.is_stale(today=dt.date(2027, 6, 1))
    assert article.is_stale(today=dt.date(2027, 8, 1))
