"""Which library articles to offer beside a country or corridor.

Articles naming the country in their ``Countries:`` header come first; then the
articles every corridor needs: recruitment and fees, contracts and documents, and
how to complain.
"""

from __future__ import annotations

from collections.abc import Iterable

CORRIDOR_TOPICS = ("recruitment", "contracts", "unions")


def related_slugs(
    articles: Iterable[tuple[str, tuple[str, ...], str]], codes: Iterable[str]
) -> list[str]:
    """``articles`` are (slug, countries, topic); returns slugs, most specific first."""
    wanted = set(codes)
    if not wanted:
        return []
    listed = list(articles)
    specific = [slug for slug, countries, _topic in listed if wanted & set(countries)]
    general = [
        slug
        for topic in CORRIDOR_TOPICS
        for slug, _countries, t in listed
        if t == topic and slug not in specific
    ]
    return specific + general
