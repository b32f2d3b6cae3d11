"""Shipped articles: all load, all sourced, terminology respected, essentials translated."""

from pathlib import Path

import pytest

from mrc_desktop.i18n import LANGUAGES
from mrc_desktop.library.articles import Library, load_library
from mrc_desktop.storage.paths import content_dir

ESSENTIALS = (
    "rights-apply-abroad",
    "who-pays-recruitment-costs",
    "checking-an-agency",
    "contract-and-substitution",
    "keep-your-passport",
    "wages-and-deductions",
    "signs-of-forced-labour",
    "domestic-workers-c189",
    "complaining-safely",
    "pre-departure-checklist",
)
ENGLISH = (
    *ESSENTIALS,
    "irregular-status",
    "social-security",
    "health-and-hiv",
    "women-migrant-workers",
    "fishers-c188",
    "joining-a-union",
    "changing-employer",
    "coming-home",
    "skills-recognition",
    "sending-money-home",
    "safety-and-injuries",
    "how-to-use-this-library",
)


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(content_dir())


def test_every_shipped_file_loads_without_problems(library: Library) -> None:
    """Covers the header schema, dates, sources, terminology and section alignment."""
    assert [str(p) for p in library.problems] == []


def test_all_topics_are_in_english(library: Library) -> None:
    assert sorted(s for s, lang in library.articles if lang == "en") == sorted(ENGLISH)


@pytest.mark.parametrize("lang", [c for c in LANGUAGES if c != "en"])
def test_the_ten_essentials_are_translated_as_drafts(library: Library, lang: str) -> None:
    for slug in ESSENTIALS:
        article = library.get(slug, lang)
        assert article is not None, f"{lang}/{slug}.md missing"
        assert article.status == "draft"
        source = library.source(slug)
        assert source is not None and len(article.sections) == len(source.sections)


def test_every_article_names_sources_and_sections(library: Library) -> None:
    for article in library.articles.values():
        assert article.sources, article.path
        assert len(article.sections) == 4, article.path


def test_english_articles_use_the_four_sections(library: Library) -> None:
    wanted = ["What it means for you", "What the law says", "What you can do", "Where to get help"]
    for slug in ENGLISH:
        source = library.source(slug)
        assert source is not None
        assert [s.heading for s in source.sections] == wanted, slug


def test_legal_sections_cite_instruments(library: Library) -> None:
    """'What the law says' names a convention, recommendation or document in every article."""
    for slug in ENGLISH:
        source = library.source(slug)
        assert source is not None
        law = source.sections[1].markdown
        assert any(
            key in law
            for key in ("C1", "C9", "C8", "C4", "R2", "P029", "ILO", "Convention", "Article")
        ), slug


def test_content_check_cli_passes_on_shipped_content(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mrc_desktop.cli", "content", "check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
