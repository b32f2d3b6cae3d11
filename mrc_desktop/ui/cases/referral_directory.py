"""Where a case can be referred: organisations and complaint channels from the country data.

The country files list referral organisations (unions, legal aid, NGOs, embassies) and
official complaint channels (treated as labour offices). The data is read once, on first
use, and kept; a counsellor can always type an organisation that is not listed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from mrc_desktop.countries.loader import load_country_data
from mrc_desktop.countries.model import CountryData
from mrc_desktop.storage.paths import content_dir

log = logging.getLogger("mrc_desktop.cases")


@dataclass(frozen=True)
class DirectoryEntry:
    kind: str
    name: str
    contact: str
    country: str


@cache
def _country_data() -> CountryData:
    data, problems = load_country_data(content_dir())
    for problem in problems:
        log.warning("country data problem: %s", problem)
    return data


def directory_for(countries: list[str]) -> list[DirectoryEntry]:
    """Organisations and channels of the given countries, in that order, without repeats."""
    data = _country_data()
    found: list[DirectoryEntry] = []
    seen: set[tuple[str, str]] = set()
    for code in countries:
        country = data.countries.get(code)
        if country is None:
            continue
        entries = [
            DirectoryEntry(org.kind, org.name, org.contact, code) for org in country.organizations
        ] + [
            DirectoryEntry(
                "labour_office",
                channel.name,
                " · ".join(part for part in (channel.phone, channel.web) if part),
                code,
            )
            for channel in country.channels
        ]
        for entry in entries:
            if (entry.kind, entry.name) not in seen:
                seen.add((entry.kind, entry.name))
                found.append(entry)
    return found
