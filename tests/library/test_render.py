"""Sanitizing: nothing in an article can run code or load anything from outside."""

import pytest

from mrc_desktop.library.render import markdown_to_safe_html, wrap_language


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>Hello", "<script"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="#" onclick="steal()">x</a>', "onclick"),
        ('<img src="https://tracker.example/p.png">', "<img"),
        ("![photo](https://tracker.example/p.png)", "tracker.example"),
        ('<link rel="stylesheet" href="https://x.example/s.css">', "<link"),
        ("<style>body{background:url(https://x.example/a)}</style>", "x.example"),
        ('<iframe src="https://x.example"></iframe>', "<iframe"),
        ('<p style="background:url(https://x.example/a)">x</p>', "x.example"),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:"),
    ],
)
def test_dangerous_markup_is_removed(source: str, forbidden: str) -> None:
    assert forbidden not in markdown_to_safe_html(source).lower()


def test_tables_headings_and_links_survive() -> None:
    text = (
        "## What you can do\n\n| Fee | Lawful |\n| --- | --- |\n| Visa | No |\n\n"
        "[ILO](https://www.ilo.org) · [call](tel:1955)"
    )
    out = markdown_to_safe_html(text)
    assert '<h2 id="what-you-can-do">' in out
    assert '<table border="1"' in out and "<td>Visa</td>" in out
    assert 'href="https://www.ilo.org"' in out and 'href="tel:1955"' in out


def test_direction_follows_the_article_language() -> None:
    assert wrap_language("<p>x</p>", "ar").startswith('<div dir="rtl" lang="ar">')
    assert wrap_language("<p>x</p>", "km").startswith('<div dir="ltr" lang="km">')
