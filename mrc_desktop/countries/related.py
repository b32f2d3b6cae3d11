"""Which library articles concern a country (joined here, above both packages' data)."""

from __future__ import annotations

from collections.abc import Iterable


def related_slugs(
    article_countries: Iterable[tuple[str, tuple[str, ...]]], codes: Iterable[str]
) -> list[str]:
    """Slugs whose ``Countries:`` header names any of ``codes``, in the order given."""
    wanted = set(codes)
    return [slug for slug, countries in article_countries if wanted & set(countries)]
