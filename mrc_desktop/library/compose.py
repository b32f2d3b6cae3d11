"""Whole pages for the reader and handouts: one article, or two languages side by side.

Side by side is a two-column table with one row per section (the opening text,
then each '## ' section), so each section of the worker's language sits next to
the same section in the counsellor's language however long either is. The foot
always shows the sources and when the facts were last checked.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass

from mrc_desktop.i18n import N_, _, is_rtl, translation_for
from mrc_desktop.library.articles import Article, Library
from mrc_desktop.library.render import markdown_to_safe_html
from mrc_desktop.storage.paths import locales_dir

DateFormatter = Callable[[dt.date, str], str]  # (date, language) → text


@dataclass(frozen=True)
class Badge:
    kind: str  # "untranslated", "draft", "outdated", "stale"
    text: str


def badges(
    library: Library, article: Article, wanted_lang: str, today: dt.date | None = None
) -> list[Badge]:
    """What a reader must know about the text shown: fallback, draft, out of date, stale."""
    found: list[Badge] = []
    if article.lang != wanted_lang:
        found.append(Badge("untranslated", _("Not yet translated: showing English")))
    if article.status == "draft":
        found.append(Badge("draft", _("Draft translation, not yet checked by a native speaker")))
    if library.is_out_of_date(article):
        found.append(Badge("outdated", _("May be out of date: the English text has changed")))
    if article.is_stale(today):
        found.append(
            Badge("stale", _("Facts last checked over 18 months ago: check before relying on them"))
        )
    return found


def _dir(lang: str) -> str:
    return "rtl" if is_rtl(lang) else "ltr"


def _block(lang: str, inner: str) -> str:
    return f'<div dir="{_dir(lang)}" lang="{html.escape(lang)}">{inner}</div>'


def foot_html(article: Article, show_date: DateFormatter) -> str:
    """Sources and the review date, labelled in the article's own language."""
    tr = translation_for(article.lang, locales_dir()).gettext
    sources = "".join(f"<li>{html.escape(s)}</li>" for s in article.sources)
    checked = tr(N_("Facts last checked on {date}.")).format(
        date=show_date(article.reviewed, article.lang)
    )
    # Marked outside the f-string: the extractor cannot see into f-strings.
    heading = tr(N_("Sources"))
    return (
        f'<hr/><div class="foot"><p><b>{html.escape(heading)}</b></p>'
        f"<ul>{sources}</ul><p>{html.escape(checked)}</p></div>"
    )


def article_html(article: Article, show_date: DateFormatter) -> str:
    body = markdown_to_safe_html(article.body)
    summary = f"<p><i>{html.escape(article.summary)}</i></p>"
    page = f"<h1>{html.escape(article.title)}</h1>{summary}{body}"
    return _block(article.lang, page + foot_html(article, show_date))


def bilingual_html(left: Article, right: Article, show_date: DateFormatter) -> str:
    """Two articles with the same slug, aligned section by section."""
    rows = [
        (
            f"<h1>{html.escape(left.title)}</h1>{markdown_to_safe_html(left.intro)}",
            f"<h1>{html.escape(right.title)}</h1>{markdown_to_safe_html(right.intro)}",
        ),
    ]
    for a, b in zip(left.sections, right.sections, strict=False):
        rows.append(
            (
                f"<h2>{html.escape(a.heading)}</h2>{markdown_to_safe_html(a.markdown)}",
                f"<h2>{html.escape(b.heading)}</h2>{markdown_to_safe_html(b.markdown)}",
            )
        )
    cells = "".join(
        f'<tr><td width="50%" valign="top">{_block(left.lang, a)}</td>'
        f'<td width="50%" valign="top">{_block(right.lang, b)}</td></tr>'
        for a, b in rows
    )
    table = f'<table width="100%" cellspacing="0" cellpadding="8">{cells}</table>'
    foot = (
        f'<table width="100%" cellpadding="8"><tr>'
        f'<td width="50%" valign="top">{_block(left.lang, foot_html(left, show_date))}</td>'
        f'<td width="50%" valign="top">{_block(right.lang, foot_html(right, show_date))}</td>'
        "</tr></table>"
    )
    return table + foot
