"""Hub test set-up: every storage and API test runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from ``MRC_TEST_POSTGRES_URL`` (``scripts/dev.sh test`` starts a
throwaway server on loopback and sets it); each test gets its own schema, dropped
afterwards. Without the variable the PostgreSQL variants are skipped, saying why.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from mrc_desktop.hub.storage import HubStorage, open_storage

ENV_POSTGRES = "MRC_TEST_POSTGRES_URL"
SKIP_POSTGRES = (
    f"{ENV_POSTGRES} is not set: the PostgreSQL hub backend needs a server"
    " (scripts/dev.sh test starts a throwaway one on loopback)"
)


def postgres_schema_url(base: str, schema: str) -> str:
    """``base`` with every connection's search_path set to ``schema`` (a libpq option)."""
    option = quote(f"-c search_path={schema}", safe="")
    return f"{base}{'&' if '?' in base else '?'}options={option}"


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty hub database of each backend: a SQLite path or a postgresql:// URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "hub.db")
        return
    with throwaway_postgres_schema() as url:
        yield url


@contextmanager
def throwaway_postgres_schema(prefix: str = "hub_test") -> Iterator[str]:
    """A new, empty schema on the test PostgreSQL (skips the test without one), dropped after."""
    base = os.environ.get(ENV_POSTGRES, "").strip()
    if not base:
        pytest.skip(SKIP_POSTGRES)
    import psycopg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    try:
        yield postgres_schema_url(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"drop schema {schema} cascade")


@pytest.fixture
def storage(hub_url: str) -> Iterator[HubStorage]:
    store = open_storage(hub_url)
    yield store
    store.close()
