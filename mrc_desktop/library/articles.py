"""Articles: ``content/<lang>/<slug>.md`` with a metadata header, loaded and validated.

The header is read with Python-Markdown's ``meta`` extension. The same slug in
several language folders is the same article; English is the source, and each
translation names the English revision it was made from. Every problem is
reported as ``file:line: message`` and the article is skipped; the rest loads.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import markdown

from mrc_desktop.i18n import LANGUAGES, SOURCE_LANGUAGE
from mrc_desktop.library.topics import SECTORS, TOPICS
from mrc_desktop.problems import ContentError, ContentProblem, is_stale

STATUSES = ("source", "draft", "reviewed")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HEADER_KEY = re.compile(r"^[ ]{0,3}([A-Za-z0-9_-]+):")
H2 = re.compile(r"^## +(.+?)\s*#*\s*$")
# Words that must not appear in content (ARCHITECTURE.md, "Content rules").
BANNED_TERMS: dict[str, str] = {
    r"\billegal (?:migrants?|workers?|immigrants?|aliens?)\b": (
        "say 'migrant with irregular status'"
    ),
    r"\bunskilled\b": "say 'low-skilled'",
    r"\b(?:sending|receiving) countr(?:y|ies)\b": "say 'country of origin/destination'",
}
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Section:
    heading: str
    markdown: str


@dataclass(frozen=True)
class Article:
    slug: str
    lang: str
    path: Path
    title: str
    topic: str
    summary: str
    sources: tuple[str, ...]
    reviewed: dt.date
    status: str
    revision: int  # English: its own revision; translations: the English revision translated
    body: str
    intro: str = ""
    sections: tuple[Section, ...] = field(default=())
    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()

    @property
    def is_source(self) -> bool:
        return self.status == "source"

    def is_stale(self, today: dt.date | None = None) -> bool:
        return is_stale(self.reviewed, today)


def _line_of_key(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, start=1):
        match = HEADER_KEY.match(line)
        if match and match.group(1).lower() == key:
            return number
        if not line.strip():
            break
    return 1


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError([ContentProblem(path, line, "not valid UTF-8 text")]) from exc


def split_sections(body: str) -> tuple[str, tuple[Section, ...]]:
    """Text before the first '## ' heading, and each '## ' section (used to align languages)."""
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    fenced = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else H2.match(line)
        if match:
            sections.append((match.group(1), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            intro.append(line)
    return "\n".join(intro).strip(), tuple(
        Section(heading, "\n".join(lines).strip()) for heading, lines in sections
    )


def parse_article(path: Path, lang: str, today: dt.date | None = None) -> Article:
    """Read one article file, or raise ContentError listing every problem found in it."""
    problems: list[ContentProblem] = []

    def problem(line: int, message: str) -> None:
        problems.append(ContentProblem(path, line, message))

    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise ContentError([ContentProblem(path, 1, "file is larger than 2 MB")])
    # NFC, so that precomposed and decomposed accents search and compare alike.
    text = unicodedata.normalize("NFC", _decode(path, raw).replace("\r\n", "\n").lstrip("\ufeff"))
    lines = text.split("\n")
    if lang not in LANGUAGES:
        problem(1, f"unknown language folder '{lang}' (expected one of {', '.join(LANGUAGES)})")
    slug = path.stem
    if not SLUG.match(slug):
        problem(1, f"file name '{path.name}' is not a slug (lowercase letters, digits, hyphens)")
    if not lines or not HEADER_KEY.match(lines[0]):
        raise ContentError([*problems, ContentProblem(path, 1, "no metadata header (Title: …)")])
    md = markdown.Markdown(extensions=["meta"])
    md.convert(text)
    meta: dict[str, list[str]] = getattr(md, "Meta", {})
    header_end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    body = "\n".join(lines[header_end + 1 :]).strip()

    def one(key: str, required: bool = True) -> str:
        values = [v.strip() for v in meta.get(key, []) if v.strip()]
        if not values:
            if required:
                problem(header_end + 1 if header_end else 1, f"missing '{key}:' in the header")
            return ""
        return " ".join(values)

    title = one("title")
    topic = one("topic")
    summary = one("summary")
    status = one("translation")
    sources = tuple(v.strip() for v in meta.get("sources", []) if v.strip())
    if not sources:
        problem(_line_of_key(lines, "sources"), "every article needs at least one source")
    if topic and topic not in TOPICS:
        problem(_line_of_key(lines, "topic"), f"unknown topic '{topic}'")
    if status and status not in STATUSES:
        problem(
            _line_of_key(lines, "translation"),
            f"translation must be one of {', '.join(STATUSES)}, not '{status}'",
        )
    if lang == SOURCE_LANGUAGE and status and status != "source":
        problem(
            _line_of_key(lines, "translation"),
            "English articles are the source: 'translation: source'",
        )
    if lang != SOURCE_LANGUAGE and status == "source":
        problem(_line_of_key(lines, "translation"), "a translation is 'draft' or 'reviewed'")
    reviewed = dt.date.min
    reviewed_text = one("reviewed")
    if reviewed_text:
        try:
            reviewed = dt.date.fromisoformat(reviewed_text)
        except ValueError:
            problem(
                _line_of_key(lines, "reviewed"),
                f"reviewed date '{reviewed_text}' is not YYYY-MM-DD",
            )
        else:
            if reviewed > (today or dt.date.today()):
                problem(_line_of_key(lines, "reviewed"), "reviewed date is in the future")
    revision_key = "revision" if lang == SOURCE_LANGUAGE else "translated-from"
    revision = 0
    revision_text = one(revision_key)
    if revision_text:
        if revision_text.isdigit() and int(revision_text) > 0:
            revision = int(revision_text)
        else:
            problem(
                _line_of_key(lines, revision_key),
                f"'{revision_key}' must be a whole number (the English revision)",
            )
    countries = _list(meta.get("countries", []))
    from mrc_desktop.i18n import country_names

    known_countries = country_names("en")
    for code in countries:
        if code not in known_countries:
            problem(_line_of_key(lines, "countries"), f"'{code}' is not an ISO 3166 country code")
    sectors = _list(meta.get("sectors", []))
    for sector in sectors:
        if sector not in SECTORS:
            problem(_line_of_key(lines, "sectors"), f"unknown sector '{sector}'")
    if not body:
        problem(len(lines), "the article has no text after its header")
    for pattern, advice in BANNED_TERMS.items():
        for number, line in enumerate(lines, start=1):
            found = re.search(pattern, line, flags=re.IGNORECASE)
            if found:
                problem(number, f"terminology: '{found.group(0)}' — {advice}")
    if problems:
        raise ContentError(problems)
    intro, sections = split_sections(body)
    return Article(
        slug=slug,
        lang=lang,
        path=path,
        title=title,
        topic=topic,
        summary=summary,
        sources=sources,
        reviewed=reviewed,
        status=status,
        revision=revision,
        body=body,
        intro=intro,
        sections=sections,
        countries=countries,
        sectors=sectors,
    )


def _list(values: list[str]) -> tuple[str, ...]:
    items: list[str] = []
    for value in values:
        items += [part.strip() for part in value.split(",") if part.strip()]
    return tuple(items)


@dataclass
class Library:
    """Every article that loaded, keyed by (slug, lang), and the problems of those that did not."""

    articles: dict[tuple[str, str], Article] = field(default_factory=dict)
    problems: list[ContentProblem] = field(default_factory=list)

    def get(self, slug: str, lang: str) -> Article | None:
        return self.articles.get((slug, lang))

    def slugs(self) -> list[str]:
        return sorted({slug for slug, _lang in self.articles})

    def languages_of(self, slug: str) -> list[str]:
        return [lang for lang in LANGUAGES if (slug, lang) in self.articles]

    def source(self, slug: str) -> Article | None:
        return self.articles.get((slug, SOURCE_LANGUAGE))

    def is_out_of_date(self, article: Article) -> bool:
        source = self.source(article.slug)
        return bool(source and not article.is_source and article.revision < source.revision)


def load_library(root: Path, today: dt.date | None = None) -> Library:
    """Load ``root/<lang>/*.md``; bad files become problems, never exceptions."""
    library = Library()
    if not root.is_dir():
        return library
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name in {"countries", "corridors"}:
            continue
        for path in sorted(folder.glob("*.md")):
            try:
                article = parse_article(path, folder.name, today)
            except ContentError as err:
                library.problems.extend(err.problems)
            except OSError as exc:
                library.problems.append(ContentProblem(path, 1, f"cannot read: {exc.strerror}"))
            else:
                library.articles[(article.slug, article.lang)] = article
    _check_translations(library)
    return library


def _check_translations(library: Library) -> None:
    """A translation needs its English source and the same sections to align with it."""
    for (slug, lang), article in list(library.articles.items()):
        if article.is_source:
            continue
        source = library.source(slug)
        if source is None:
            library.problems.append(
                ContentProblem(
                    article.path, 1, f"translation of '{slug}' has no English source article"
                )
            )
            del library.articles[(slug, lang)]
            continue
        if article.revision > source.revision:
            library.problems.append(
                ContentProblem(
                    article.path,
                    1,
                    f"translated-from {article.revision} is newer than the English "
                    f"revision {source.revision}",
                )
            )
        if len(article.sections) != len(source.sections):
            library.problems.append(
                ContentProblem(
                    article.path,
                    1,
                    f"has {len(article.sections)} '## ' sections but the English "
                    f"source has {len(source.sections)}; they must match so the two can be read "
                    "side by side",
                )
            )
            del library.articles[(slug, lang)]
