"""Desk stores for the sync benchmark: invented cases written through the real repository.

A desk's store is built the way a counsellor fills it: agencies with ``add_agency``, cases
with ``CaseRepository.create_case`` (fields from :mod:`bench.case_data`) and notes with
``add_entry``, so change capture writes exactly the oplog a real desk would have. Every
case is given consent to sync (the invented intakes give it to about half, and a case
without it never leaves the desk, which is not what is measured).

Building 10,000 cases takes minutes, so the built store is kept in a cache folder keyed
by its parameters, with its figures (changes, their canonical JSON size) in ``meta.json``.
Each run copies it: the sync itself is always measured on a store that never synced.

The stores use Argon2id at its minimum cost (as the tests do, ``tests/fast_keys.py``):
unlocking is not what this benchmark measures, and 50 desks would otherwise spend
minutes deriving keys.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nacl.pwhash
import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import case_data  # noqa: E402
from mrc_desktop.cases import vocab  # noqa: E402
from mrc_desktop.cases.agencies import add_agency  # noqa: E402
from mrc_desktop.cases.repository import CaseRepository  # noqa: E402
from mrc_desktop.cases.schema import migrations, open_case_store  # noqa: E402
from mrc_desktop.cases.users import User, create_user  # noqa: E402
from mrc_desktop.storage.database import write_transaction  # noqa: E402
from mrc_desktop.storage.encrypted import KeyParams  # noqa: E402
from mrc_desktop.storage.migrate import known_names  # noqa: E402
from mrc_desktop.sync import capture  # noqa: E402
from mrc_desktop.sync.batches import canonical_json  # noqa: E402

PASSPHRASE = "benchmark passphrase, not a secret"
FAST_KEYS = KeyParams.new(nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
CHEAP_HASH = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
DATA_VERSION = 1  # bump when what is generated changes
AGENCIES = 100
CASES_PER_TRANSACTION = 500
STORE = "cases.db"
SYNC_CONSENT = {"given": True, "on": "2026-11-02", "by": "dara"}


@dataclass(frozen=True)
class StoreFigures:
    """What a built store holds: its own changes and their uncompressed canonical JSON."""

    cases: int
    notes_per_case: int
    changes: int
    json_bytes: int
    file_bytes: int
    build_s: float


def cache_folder(root: Path, cases: int, notes: int, seed: int) -> Path:
    """Keyed by the parameters and the case store's newest migration: a store built by
    another schema (an older or newer checkout) is never reused."""
    schema = known_names(migrations)[-1]
    return root / f"mrc-bench-sync-{cases}x{notes}-s{seed}-v{DATA_VERSION}-{schema}"


def new_store(path: Path) -> sqlite_utils.Database:
    return open_case_store(path, PASSPHRASE, create=True, params=FAST_KEYS)


def open_store(path: Path) -> sqlite_utils.Database:
    return open_case_store(path, PASSPHRASE)


def supervisor(db: sqlite_utils.Database, name: str = "dara") -> User:
    """The store's supervisor (made on first call): the user every write is made as."""
    row = db.execute(
        "select id, username, display_name, role from users where username = ?", [name]
    ).fetchone()
    if row is not None:
        return User(*row)
    return create_user(
        db, capture.replica_id(db), name, name.title(), "supervisor", "bench password", *CHEAP_HASH
    )


def repository(db: sqlite_utils.Database) -> CaseRepository:
    return CaseRepository(db, supervisor(db), capture.replica_id(db))


def add_cases(
    repo: CaseRepository,
    rng: random.Random,
    cases: int,
    notes: int,
    agencies: list[tuple[str, str]],
    progress: bool = False,
) -> list[str]:
    """``cases`` invented cases with ``notes`` entries each, every one allowed to sync."""
    made: list[str] = []
    today = dt.date.today()
    for first in range(0, cases, CASES_PER_TRANSACTION):
        with write_transaction(repo.db):
            for _ in range(min(CASES_PER_TRANSACTION, cases - first)):
                fields = case_data.intake(rng, agencies, today=today)
                fields["consent"] = {**fields["consent"], "sync": SYNC_CONSENT}
                case_id = repo.create_case(fields)
                for _note in range(notes):
                    kind, payload = case_data.entry(rng, fields, today)
                    repo.add_entry(case_id, kind, payload)
                made.append(case_id)
        if progress:
            print(f"\r  built {len(made):,} / {cases:,} cases", end="", flush=True)
    if progress:
        print()
    return made


def add_agencies(repo: CaseRepository, rng: random.Random, count: int) -> list[tuple[str, str]]:
    rows = []
    with write_transaction(repo.db):
        for fields in case_data.invented_agencies(rng, count):
            # case_data invents "expired" licences (bench/cases.py writes rows directly);
            # the register's vocabulary has no such status.
            if fields["licence_status"] not in vocab.LICENCE_STATUS:
                fields["licence_status"] = "unknown"
            rows.append((add_agency(repo, fields), fields["name"]))
    return rows


def own_changes(db: sqlite_utils.Database) -> tuple[int, int]:
    """(number of this replica's changes, bytes of their canonical JSON list)."""
    changes = capture.changes_since(db, {}, only=[capture.replica_id(db)])
    size = sum(len(canonical_json(c.to_json())) for c in changes)
    return len(changes), size + max(0, len(changes) - 1) + 2  # commas and brackets


def build_store(folder: Path, cases: int, notes: int, seed: int) -> StoreFigures:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    rng = random.Random(seed)
    db = new_store(folder / STORE)
    try:
        repo = repository(db)
        agencies = add_agencies(repo, rng, min(AGENCIES, max(1, cases // 10)))
        add_cases(repo, rng, cases, notes, agencies, progress=True)
        db.execute("pragma wal_checkpoint(truncate)")
        built = time.perf_counter() - start
        changes, json_bytes = own_changes(db)
    finally:
        db.close()
    return StoreFigures(
        cases, notes, changes, json_bytes, (folder / STORE).stat().st_size, round(built, 1)
    )


def ready_store(
    root: Path, cases: int, notes: int, seed: int, rebuild: bool
) -> tuple[Path, StoreFigures]:
    """The cached store for these parameters (built first if needed) and its figures."""
    folder = cache_folder(root, cases, notes, seed)
    meta = folder / "meta.json"
    if rebuild or not meta.exists():
        print(f"building desk A's store: {cases:,} cases x {notes} notes in {folder}")
        figures = build_store(folder, cases, notes, seed)
        meta.write_text(json.dumps(asdict(figures)))
        print(f"  built in {figures.build_s:.0f} s")
    else:
        print(f"using desk A's store built earlier in {folder} (--rebuild to make it again)")
    return folder, StoreFigures(**json.loads(meta.read_text()))


def copy_store(folder: Path, target: Path) -> Path:
    """A copy of the cached store (its database and key file) in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        if item.name.startswith(Path(STORE).stem):
            shutil.copy2(item, target / item.name)
    return target / STORE
