"""What `mrc doctor` reports: paths, versions, the SQLite build, fonts and catalogs.

The report stays in English on purpose: it is pasted into support requests
and compared across desks.
"""

from __future__ import annotations

import platform
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from mrc_desktop import __version__, i18n
from mrc_desktop.storage.paths import AppPaths, locales_dir
from mrc_desktop.storage.sqlite_build import probe_features


@dataclass(frozen=True)
class CatalogCompleteness:
    code: str
    translated: int
    total: int
    fuzzy: int
    compiled: bool
    status: str

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.translated == self.total and self.fuzzy == 0


def catalog_completeness(locales: Path | None = None) -> list[CatalogCompleteness]:
    folder = locales or locales_dir()
    pot = folder / f"{i18n.DOMAIN}.pot"
    total = _count_ids(pot) if pot.is_file() else 0
    result = []
    for code in i18n.LANGUAGES:
        if code == i18n.SOURCE_LANGUAGE:
            result.append(CatalogCompleteness(code, total, total, 0, True, "source"))
            continue
        po_path = folder / code / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        compiled = i18n.mo_path(folder, code).is_file()
        if not po_path.is_file():
            result.append(CatalogCompleteness(code, 0, total, 0, compiled, "missing"))
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=None)
        done = fuzzy = 0
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                fuzzy += 1
            elif _is_translated(message.string):
                done += 1
        status = "draft"
        for key, value in catalog.mime_headers:
            if key.lower() == i18n.STATUS_HEADER:
                status = value.strip()
        result.append(CatalogCompleteness(code, done, total, fuzzy, compiled, status))
    return result


def _is_translated(string: Any) -> bool:
    if isinstance(string, tuple | list):
        return all(bool(s) for s in string)
    return bool(string)


def _count_ids(pot: Path) -> int:
    with pot.open("rb") as fh:
        return sum(1 for m in read_po(fh) if m.id)


def doctor_report(paths: AppPaths, qt: dict[str, Any]) -> dict[str, Any]:
    features = probe_features()
    return {
        "version": __version__,
        "paths": {**paths.as_dict(), "resources": str(locales_dir().parent)},
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "platform": platform.platform(),
        "qt": qt,
        "sqlite": {
            "library": features.sqlite_version,
            "sqlcipher": features.sqlcipher_version,
            "fts5": features.fts5,
            "trigram": features.trigram,
            "two_char_non_ascii_like": features.short_non_ascii_like,
            "python_bundled_sqlite3": sqlite3.sqlite_version,
        },
        "locales": [
            {
                "code": c.code,
                "translated": c.translated,
                "total": c.total,
                "fuzzy": c.fuzzy,
                "compiled": c.compiled,
                "status": c.status,
            }
            for c in catalog_completeness()
        ],
    }
