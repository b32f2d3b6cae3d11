"""Checking a content folder: the articles and the country data, with file:line problems.

One function for ``mrc content check`` (a writer checking their work) and ``mrc-hub
content publish`` (the hub refusing to sign a folder that fails it), so the two can
never disagree about what is publishable. It sits in sync, the lowest layer that may
use both the library and the country data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mrc_desktop.countries.loader import load_country_data
from mrc_desktop.library.articles import load_library
from mrc_desktop.problems import ContentProblem


@dataclass(frozen=True)
class ContentCheck:
    problems: list[ContentProblem]
    articles: dict[str, int] = field(default_factory=dict)  # language → articles loaded
    countries: int = 0
    corridors: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        total = sum(self.articles.values())
        counts = ", ".join(f"{lang} {n}" for lang, n in sorted(self.articles.items()))
        return (
            f"{total} articles loaded ({counts or 'none'}); {self.countries} country profiles,"
            f" {self.corridors} corridors; {len(self.problems)} problems"
        )


def check_content_folder(root: Path) -> ContentCheck:
    """Load every article and country file under ``root``; bad files become problems."""
    library = load_library(root)
    country_data, country_problems = load_country_data(root)
    per_language: dict[str, int] = {}
    for _slug, lang in library.articles:
        per_language[lang] = per_language.get(lang, 0) + 1
    return ContentCheck(
        problems=[*library.problems, *country_problems],
        articles=per_language,
        countries=len(country_data.countries),
        corridors=len(country_data.corridors),
    )
