"""Many desks pushing to one hub at once: request latency and throughput under load.

Each desk is its own encrypted store (Argon2id at minimum cost, see ``sync_store``) with its
own identity, enrolled and approved like any desk, with a few batches of invented cases
signed into its outbox beforehand. Then every desk uploads its outbox at the same moment
from its own thread (at most ``concurrency`` at a time), through the real ``HubClient``
(signed requests, retries) and ``acknowledge``, each upload timed by the wire meter.

Threads in one process, not processes: the desk's share of a request (sealing a few KB,
one small write) is small next to the hub's (opening, checking, storing), and 50
processes would each spend a second importing. The hub is a separate process.
"""

from __future__ import annotations

import functools
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.sync_hub import Exchange, Hub, enrol_desk, meter  # noqa: E402
from bench.sync_store import STORE, add_agencies, add_cases, new_store, repository  # noqa: E402
from mrc_desktop.sync.client import HubClient  # noqa: E402
from mrc_desktop.sync.outbox import acknowledge, fill_outbox, pending, seal  # noqa: E402
from mrc_desktop.sync.state import load_state, require_identity  # noqa: E402


@dataclass
class LoadDesk:
    label: str
    desk_id: str
    db: sqlite_utils.Database
    batches: int
    changes: int


@dataclass
class LoadResult:
    desks: int
    centres: int
    concurrency: int
    puts: list[Exchange]
    changes: int
    wall_s: float
    failures: list[str]


def prepare(
    hub: Hub,
    work: Path,
    desks: int,
    centres: int,
    batches: int,
    cases_per_batch: int,
    seed: int,
) -> list[LoadDesk]:
    """``desks`` enrolled desks spread over ``centres``, each with ``batches`` in its outbox."""
    rng = random.Random(seed)
    centre_ids = [hub.storage.add_centre(f"Load centre {n + 1}").id for n in range(centres)]
    made = []
    for n in range(desks):
        label = f"load desk {n + 1}"
        db = new_store(work / f"load-{n + 1}" / STORE)
        repo = repository(db)
        agencies = add_agencies(repo, rng, 3)
        desk_id = enrol_desk(db, hub, centre_ids[n % centres], label)
        identity = require_identity(db)
        changes = 0
        for _ in range(batches):
            add_cases(repo, rng, cases_per_batch, 1, agencies)
            changes += fill_outbox(db, identity, desk_id).changes
        made.append(LoadDesk(label, desk_id, db, len(pending(db, desk_id)), changes))
        print(f"\r  {n + 1} / {desks} desks enrolled, outboxes filled", end="", flush=True)
    print()
    return made


def push_outbox(desk: LoadDesk, url: str, go: threading.Event) -> tuple[list[Exchange], str]:
    """Upload the desk's outbox in order; ("", exchanges) when every batch was taken."""
    state = load_state(desk.db)
    identity = require_identity(desk.db)
    hub_key = state.hub_identity()
    wire = meter()
    with HubClient(url, identity, desk.desk_id, transport=wire) as client:
        go.wait()
        for batch in pending(desk.db, desk.desk_id):
            response = client.put_batch(
                desk.desk_id, batch.seq, functools.partial(seal, identity, hub_key, batch)
            )
            if response.status_code not in (200, 201):
                return wire.exchanges, f"{desk.label}: #{batch.seq} {response.status_code}"
            if response.json().get("sha256") != batch.this_hash.hex():
                return wire.exchanges, f"{desk.label}: #{batch.seq} acknowledged another hash"
            acknowledge(desk.db, desk.desk_id, batch.link)
    return wire.exchanges, ""


def push_at_once(hub_url: str, desks: list[LoadDesk], concurrency: int, centres: int) -> LoadResult:
    go = threading.Event()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(push_outbox, desk, hub_url, go) for desk in desks]
        time.sleep(0.5)  # let the first threads open their connections' clients
        start = time.perf_counter()
        go.set()
        outcomes = [f.result() for f in futures]
        wall = time.perf_counter() - start
    puts = [e for exchanges, _ in outcomes for e in exchanges if e.method == "PUT"]
    failures = [problem for _, problem in outcomes if problem]
    left = sum(len(pending(d.db, d.desk_id)) for d in desks)
    if left:
        failures.append(f"{left} batches still in the outboxes")
    return LoadResult(
        len(desks), centres, concurrency, puts, sum(d.changes for d in desks), wall, failures
    )
