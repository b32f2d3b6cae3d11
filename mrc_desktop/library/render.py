"""Article Markdown → safe HTML for the reader and for handouts.

Markdown is converted with tables and heading anchors, then cleaned by nh3
(a maintained sanitizer): no scripts, no event handlers, no images or style
sheets (nothing remote can load), links only to http(s), mailto, tel and the
app's own ``mrc:`` pages. The text is wrapped in a block carrying ``dir`` and
``lang`` so Arabic reads right-to-left inside an English window and English
left-to-right inside an Arabic one.
"""

from __future__ import annotations

import html
import re

import markdown
import nh3

from mrc_desktop.i18n import is_rtl

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "div": {"dir", "lang", "class"},
    "span": {"dir", "lang"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
URL_SCHEMES = {"http", "https", "mailto", "tel", "mrc"}
_TABLE = re.compile(r"<table>")


def markdown_to_safe_html(text: str) -> str:
    raw = markdown.markdown(text, extensions=["tables", "sane_lists", "toc"], output_format="html")
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    # Qt's rich text draws table borders from attributes, not CSS.
    return _TABLE.sub('<table border="1" cellspacing="0" cellpadding="6" width="100%">', clean)


def wrap_language(body_html: str, lang: str) -> str:
    direction = "rtl" if is_rtl(lang) else "ltr"
    return f'<div dir="{direction}" lang="{html.escape(lang)}">{body_html}</div>'


def is_external(href: str) -> bool:
    return href.lower().startswith(("http://", "https://", "mailto:", "tel:"))
