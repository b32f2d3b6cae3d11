"""Sync benchmark: desk A → hub → desk B over loopback with the real programs and client.

    .venv/bin/python bench/sync.py [--cases 10000] [--notes-per-case 1] [--rounds 10]
                                   [--edits 10] [--load-desks 50] [--load-centres 10]
                                   [--postgres URL | --pg-throwaway] [--rebuild]
                                   [--skip-cut] [--profile DIR]

Desk A's store holds ``--cases`` invented cases made through the real repository (cached
between runs, keyed by size: ``bench/sync_store.py``); each run copies it, so every sync
measured is a first sync. The hub is ``mrc-hub serve`` in its own process (uvicorn) on
loopback — SQLite by default, PostgreSQL with ``--postgres URL`` or ``--pg-throwaway`` (a
server started and removed like ``scripts/dev.sh test`` does) — served over HTTP and,
for one row, over HTTPS with the certificate the desks pinned at enrolment. Desks enrol
through ``mrc_desktop.sync.client.enrol`` and are approved as ``mrc-hub desk approve``
does. Every sync is ``sync_with_hub``, with an httpx transport that counts body bytes.

Figures, each against the issue's target (exit 1 if one is missed):

* first sync: A signs its changes into batches and pushes them, B pulls and applies
  them; the total A → hub → B (≤ 10 s), with the bare loopback HTTP time of the same
  requests and bytes (``bench/sync_echo.py``) as the baseline;
* incremental: ``--edits`` field edits at A, A syncs, B syncs — median and p95 over
  ``--rounds`` rounds (≤ 0.5 s), over HTTP and over HTTPS;
* bytes on the wire (request and answer bodies) against the uncompressed canonical JSON
  of the same changes (≤ 0.3×), each way;
* after a new desk got everything by USB (the hub's return bundles), the bytes its first
  online sync pulls (the feed leaves out what the desk holds; printed, no target);
* a link cut at 90 % of a full push's bytes (another desk of A's centre with a copy of
  A's store), then a second sync: bytes sent again for nothing (≤ one batch, 256 KiB),
  with the cut in an upload and with the answer lost;
* ``--load-desks`` desks pushing at once (bounded by ``--load-concurrency``): upload
  latency p50/p95/max and throughput (no target in the issue: printed).

Wall times depend on what else the machine runs, so the desk's and the hub's CPU seconds
are printed beside them. ``--profile DIR`` writes a cProfile file per desk phase.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import hashlib
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import case_data, sync_load  # noqa: E402
from bench.sync_hub import (  # noqa: E402
    Exchange,
    Hub,
    WireMeter,
    echo_server,
    enrol_desk,
    meter,
    replay,
    running_hub,
    throwaway_postgres,
)
from bench.sync_store import (  # noqa: E402
    STORE,
    StoreFigures,
    copy_store,
    new_store,
    open_store,
    ready_store,
    repository,
)
from mrc_desktop.hub.bundles import export_return_bundle, hub_relay  # noqa: E402
from mrc_desktop.sync import capture  # noqa: E402
from mrc_desktop.sync.batches import MAX_BATCH_BYTES  # noqa: E402
from mrc_desktop.sync.bundle import BUNDLE_SUFFIX  # noqa: E402
from mrc_desktop.sync.client import (  # noqa: E402
    RetryPolicy,
    SyncReport,
    pinned_context,
    sync_with_hub,
)
from mrc_desktop.sync.inbox import import_bundle  # noqa: E402
from mrc_desktop.sync.outbox import fill_outbox  # noqa: E402
from mrc_desktop.sync.state import load_chain, load_state, require_identity  # noqa: E402

TARGET_FIRST_SYNC_S = 10.0
TARGET_INCREMENTAL_S = 0.5
TARGET_WIRE_RATIO = 0.3
TARGET_RESENT_BYTES = MAX_BATCH_BYTES
CUT_AT = 0.9
NO_WAIT = RetryPolicy(attempts=5, base_delay_s=0.0)  # the cut sync gives up at once


class BenchError(RuntimeError):
    """The sync did not do what it must (a refusal, missing data): no figure is printed."""


@dataclass
class Row:
    label: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)

    def add(self, label: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(label, value, target, met))
        verdict = "" if met is None else ("met" if met else "MISSED")
        print(f"  {label}: {value} {target} {verdict}".rstrip(), flush=True)


@dataclass
class Timing:
    wall: float = 0.0
    desk_cpu: float = 0.0  # this process: the desk's side
    hub_cpu: float = 0.0  # the HTTP hub's process

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU: desk {self.desk_cpu:.1f} s, hub {self.hub_cpu:.1f} s)"


def process_cpu(pid: int) -> float:
    """CPU seconds a process has used (Linux /proc), 0.0 where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Phases:
    """Times what a block does: wall clock, CPU of the desk (this process) and of the hub.
    With ``profile_dir``, each phase is also profiled (cProfile) into ``NAME.prof`` there."""

    hub_pid: int
    profile_dir: Path | None = None
    profiles: dict[str, cProfile.Profile] = field(default_factory=dict)

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[Timing]:
        timing = Timing()
        profile = None
        if self.profile_dir is not None:
            profile = self.profiles.setdefault(name, cProfile.Profile())
        wall, cpu, hub = time.perf_counter(), time.process_time(), process_cpu(self.hub_pid)
        if profile is not None:
            profile.enable()
        try:
            yield timing
        finally:
            if profile is not None:
                profile.disable()
            timing.wall = time.perf_counter() - wall
            timing.desk_cpu = time.process_time() - cpu
            timing.hub_cpu = process_cpu(self.hub_pid) - hub

    def save(self) -> None:
        if self.profile_dir is None:
            return
        for name, profile in self.profiles.items():
            profile.dump_stats(self.profile_dir / f"desk-{name}.prof")


# --- helpers --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def kib(n: float) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 10 * 2**20 else f"{n / 2**20:,.1f} MiB"


def body_bytes(exchanges: list[Exchange], method: str | None = None) -> int:
    return sum(e.sent + e.received for e in exchanges if method in (None, e.method))


def synced(db: sqlite_utils.Database, url: str, wire: WireMeter, **options: Any) -> SyncReport:
    report = sync_with_hub(db, hub_url=url, transport=wire, **options)
    if not report.ok:
        raise BenchError(f"sync failed: {report.errors}")
    return report


# Audit rows that name an agency in ``case_id`` (add_agency, change_agency) stay on the desk
# that wrote them (sync/outbox.py); they are left out of the comparison.
AGENCY_AUDIT = "audit_log where case_id is not null and case_id not in (select id from cases)"


def digest(db: sqlite_utils.Database) -> str:
    """A hash of every synced table's rows, sorted: equal on replicas that converged."""
    h = hashlib.sha256()
    for (table,) in db.execute("select tbl from sync_tables order by position").fetchall():
        where = " where rowid not in (select rowid from " + AGENCY_AUDIT + ")"
        sql = f'select * from "{table}"' + (where if table == "audit_log" else "")
        for row in sorted(db.execute(sql).fetchall(), key=repr):
            h.update(repr(row).encode())
    return h.hexdigest()


def schema_url(base: str, schema: str) -> str:
    """``base`` with every connection's search_path set to ``schema`` (a libpq option)."""
    option = quote(f"-c search_path={schema}", safe="")
    return f"{base}{'&' if '?' in base else '?'}options={option}"


@contextlib.contextmanager
def hub_database(args: argparse.Namespace, work: Path) -> Iterator[str]:
    """The hub's database: a SQLite file, or a fresh schema on a PostgreSQL server."""
    if not (args.postgres or args.pg_throwaway):
        yield str(work / "hub.db")
        return
    import psycopg

    with contextlib.ExitStack() as stack:
        base = args.postgres or stack.enter_context(throwaway_postgres())
        schema = f"mrc_bench_{secrets.token_hex(4)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"create schema {schema}")
        try:
            yield schema_url(base, schema)
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"drop schema {schema} cascade")


# --- the figures ----------------------------------------------------------------------------


@dataclass
class Desks:
    a: sqlite_utils.Database
    b: sqlite_utils.Database
    a_id: str
    centre: str
    push_bytes: int  # PUT bodies and answers of A's whole first push
    pull_bytes: int  # GET bodies of B's whole first pull


def first_sync(
    hub: Hub,
    echo_url: str,
    folder: Path,
    figures: StoreFigures,
    work: Path,
    phases: Phases,
    results: Results,
) -> Desks:
    print("\nfirst sync: desk A → hub → desk B")
    a = open_store(copy_store(folder, work / "a"))
    b = new_store(work / "b" / STORE)
    centre = hub.storage.add_centre("Centre North").id
    a_id = enrol_desk(a, hub, centre, "desk A")
    enrol_desk(b, hub, centre, "desk B")

    with phases.measure("sign") as signing:
        filled = fill_outbox(a, require_identity(a), a_id)
    push_wire = meter()
    with phases.measure("push") as pushing:
        pushed = synced(a, hub.http_url, push_wire)
    pull_wire = meter()
    with phases.measure("pull") as pulling:
        pulled = synced(b, hub.http_url, pull_wire)
    total = signing.wall + pushing.wall + pulling.wall
    cpu = sum(t.desk_cpu + t.hub_cpu for t in (signing, pushing, pulling))

    if pushed.pushed_changes != filled.changes or pulled.received.changes != filled.changes:
        raise BenchError(
            f"A signed {filled.changes} changes, pushed {pushed.pushed_changes},"
            f" B applied {pulled.received.changes}"
        )
    if digest(a) != digest(b):
        raise BenchError("desks A and B hold different cases after the first sync")
    baseline = replay(echo_url, push_wire.exchanges) + replay(echo_url, pull_wire.exchanges)
    push_bytes = body_bytes(push_wire.exchanges, "PUT")
    pull_bytes = body_bytes(pull_wire.exchanges, "GET")
    results.add(
        "desk A's store",
        f"{figures.cases:,} cases x {figures.notes_per_case} note(s): {figures.changes:,}"
        f" changes, {kib(figures.json_bytes)} of canonical JSON, {kib(figures.file_bytes)} file",
    )
    results.add(
        "A signs its changes into batches",
        f"{signing} ({filled.batches} batches, {filled.changes:,} changes)",
    )
    results.add("A pushes them (sync_with_hub)", str(pushing))
    if pushed.held_cases:
        results.add("  held back at A", f"{pushed.held_cases} cases without consent to sync")
    results.add(
        "B pulls and applies them (sync_with_hub)",
        f"{pulling} ({pulled.received.batches} batches)",
    )
    results.add(
        "first sync A → hub → B",
        f"{total:.1f} s (CPU {cpu:.1f} s)",
        f"≤ {TARGET_FIRST_SYNC_S:.0f} s",
        total <= TARGET_FIRST_SYNC_S,
    )
    results.add(
        "  bare loopback HTTP, same requests and bytes",
        f"{baseline:.2f} s (the sync takes {total / baseline:.0f}x)",
    )
    for label, sent in (("push", push_bytes), ("pull", pull_bytes)):
        ratio = sent / figures.json_bytes
        results.add(
            f"wire bytes, {label} (bodies) / canonical JSON",
            f"{ratio:.3f}x ({kib(sent)} / {kib(figures.json_bytes)})",
            f"≤ {TARGET_WIRE_RATIO}x",
            ratio <= TARGET_WIRE_RATIO,
        )
    return Desks(a, b, a_id, centre, push_bytes, pull_bytes)


def edit_cases(db: sqlite_utils.Database, rng: random.Random, edits: int) -> dict[str, str]:
    """``edits`` field edits at a desk, one case each; returns case id → new assignee."""
    repo = repository(db)
    ids = [r[0] for r in db.execute("select id from cases order by random() limit ?", [edits])]
    made = {}
    for case_id in ids:
        current = db.execute("select assignee from cases where id = ?", [case_id]).fetchone()[0]
        choice = rng.choice([c for c in case_data.COUNSELLORS if c != current])
        repo.update_case(case_id, {"assignee": choice})
        made[case_id] = choice
    return made


def incremental(
    hub: Hub,
    echo_url: str,
    desks: Desks,
    rounds: int,
    edits: int,
    phases: Phases,
    results: Results,
) -> None:
    print(f"\nincremental sync: {edits} edits at A, then A and B sync ({rounds} rounds)")
    rng = random.Random(7)
    pem = load_state(desks.a).tls_certificate
    for scheme, url in (("HTTP", hub.http_url), ("HTTPS, pinned", hub.https_url)):
        verify = pinned_context(str(pem)) if url.startswith("https") else True
        totals: list[float] = []
        at_a: list[float] = []
        at_b: list[float] = []
        baseline: list[float] = []
        changes = 0
        for _ in range(rounds):
            before = len(capture.changes_since(desks.a, capture.cursors(desks.b)))
            made = edit_cases(desks.a, rng, edits)
            changes += len(capture.changes_since(desks.a, capture.cursors(desks.b))) - before
            wire_a, wire_b = meter(verify=verify), meter(verify=verify)
            with phases.measure("incremental-a") as at_a_timing:
                synced(desks.a, url, wire_a)
            with phases.measure("incremental-b") as at_b_timing:
                synced(desks.b, url, wire_b)
            a_s, b_s = at_a_timing.wall, at_b_timing.wall
            for case_id, assignee in made.items():
                row = desks.b.execute("select assignee from cases where id = ?", [case_id])
                if row.fetchone()[0] != assignee:
                    raise BenchError("an edit made at A did not reach B")
            at_a.append(a_s)
            at_b.append(b_s)
            totals.append(a_s + b_s)
            if scheme == "HTTP":
                baseline.append(replay(echo_url, wire_a.exchanges + wire_b.exchanges))
        p95 = percentile(totals, 0.95)
        results.add(
            f"incremental A → hub → B over {scheme}",
            f"median {statistics.median(totals):.3f} s, p95 {p95:.3f} s"
            f" ({changes // rounds} changes a round)",
            f"≤ {TARGET_INCREMENTAL_S} s",
            p95 <= TARGET_INCREMENTAL_S,
        )
        results.add(
            "  A's sync / B's sync, median",
            f"{statistics.median(at_a):.3f} s / {statistics.median(at_b):.3f} s",
        )
        if baseline:
            results.add(
                "  bare loopback HTTP, same requests, median",
                f"{statistics.median(baseline):.3f} s",
            )


def usb_then_online(hub: Hub, work: Path, desks: Desks, results: Results) -> None:
    """A new desk of A's centre gets everything by USB (the hub's return bundles, as
    ``mrc-hub bundle export`` writes them), then syncs online: the feed leaves out what the
    bundles brought (``have``), so the link carries the peers and an empty page, not every
    batch again."""
    print("\nUSB first, then online: a new desk C of A's centre")
    c = new_store(work / "c" / STORE)
    c_id = enrol_desk(c, hub, desks.centre, "desk C")
    relay = hub_relay(hub.storage)
    bundles = 0
    more = True
    while more:
        path = work / f"return-{bundles}{BUNDLE_SUFFIX}"
        made = export_return_bundle(hub.storage, relay, c_id, path, load_chain(c))
        import_bundle(c, require_identity(c), path)
        bundles, more = bundles + 1, made.more
    if digest(c) != digest(desks.a):
        raise BenchError("desk C does not hold A's cases after the return bundles")
    wire = meter()
    online = synced(c, hub.http_url, wire)
    got = online.received
    pulled = body_bytes(wire.exchanges, "GET")
    results.add(
        "online sync after a USB delivery: pull bytes",
        f"{kib(pulled)} ({got.batches} batches applied, {got.skipped} sent again and skipped;"
        f" {bundles} return bundle(s) first; B's first pull took {kib(desks.pull_bytes)})",
    )
    c.close()


def cut_link(hub: Hub, folder: Path, work: Path, desks: Desks, mode: str, results: Results) -> None:
    """Another desk of A's centre, with a copy of A's store (the hub lets a case belong to
    one centre only), loses its link at 90 % of a full push's bytes, then syncs again.
    Bytes that brought the hub nothing new are the cut request itself (an upload the hub
    never got) and every batch sent again that the hub already held."""
    full_push = desks.push_bytes
    how = "in an upload" if mode == "upload" else "the answer lost"
    print(f"\ncut at {CUT_AT:.0%} of a full push ({how})")
    db = open_store(copy_store(folder, work / f"cut-{mode}"))
    desk_id = enrol_desk(db, hub, desks.centre, f"desk cut {mode}")
    fill_outbox(db, require_identity(db), desk_id)
    first = meter(cut_after=int(full_push * CUT_AT), cut=mode)
    report = sync_with_hub(db, hub_url=hub.http_url, transport=first, retry=NO_WAIT)
    if report.ok:
        raise BenchError("the cut did not stop the sync")
    second = meter()
    synced(db, hub.http_url, second)
    cut = [e for e in first.exchanges if e.method == "PUT" and e.status == 0]
    wasted = body_bytes(cut) if mode == "upload" else 0
    again = [e for e in second.exchanges if e.method == "PUT" and e.status == 200]
    resent = wasted + body_bytes(again)
    before = body_bytes(first.exchanges, "PUT")
    label = "cut in an upload" if mode == "upload" else "cut, answer lost"
    results.add(
        f"{label}: bytes sent again",
        f"{kib(resent)} ({len(again)} batch(es) sent twice; {kib(before)} before the cut,"
        f" {kib(body_bytes(second.exchanges, 'PUT'))} after)",
        f"≤ {kib(TARGET_RESENT_BYTES)}",
        resent <= TARGET_RESENT_BYTES,
    )
    db.close()


def load(hub: Hub, work: Path, args: argparse.Namespace, results: Results) -> None:
    print(
        f"\n{args.load_desks} desks in {args.load_centres} centres pushing at once"
        f" ({hub.backend} hub, at most {args.load_concurrency} at a time)"
    )
    desks = sync_load.prepare(
        hub, work, args.load_desks, args.load_centres, args.load_batches,
        args.load_cases_per_batch, args.seed,
    )  # fmt: skip
    hub_cpu = process_cpu(hub.http.process.pid)
    try:
        done = sync_load.push_at_once(hub.http_url, desks, args.load_concurrency, args.load_centres)
        hub_cpu = process_cpu(hub.http.process.pid) - hub_cpu
    finally:
        for desk in desks:
            desk.db.close()
    if done.failures:
        raise BenchError(f"desks failed to push: {done.failures[:3]}")
    latency = [e.seconds for e in done.puts]
    size = body_bytes(done.puts)
    results.add(
        f"{done.desks} desks pushing at once ({hub.backend}): upload latency",
        f"p50 {statistics.median(latency) * 1000:.0f} ms, p95"
        f" {percentile(latency, 0.95) * 1000:.0f} ms, max {max(latency) * 1000:.0f} ms"
        f" ({len(latency)} uploads of {kib(size / len(latency))} on average)",
    )
    results.add(
        "  throughput",
        f"{len(latency) / done.wall_s:.1f} batches/s, {done.changes / done.wall_s:,.0f}"
        f" changes/s, {kib(size / done.wall_s)}/s ({done.wall_s:.1f} s in all; the hub's"
        f" process used {hub_cpu:.1f} s of CPU)",
    )


# --- report ---------------------------------------------------------------------------------


def report(results: Results, hub_backend: str) -> int:
    cores = os.cpu_count()
    print(
        f"\nsync benchmark, {dt.date.today()}, {cores} cores, Python {platform.python_version()},"
        f" {hub_backend} hub on loopback"
    )
    width = max(len(r.label) for r in results.rows)
    for r in results.rows:
        verdict = "" if r.met is None else ("met" if r.met else "MISSED")
        print(f"{r.label:<{width}}  {r.value}  {r.target}  {verdict}".rstrip())
    missed = [r.label for r in results.rows if r.met is False]
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases at desk A")
    parser.add_argument("--notes-per-case", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=10, help="incremental rounds per scheme")
    parser.add_argument("--edits", type=int, default=10, help="field edits per round")
    parser.add_argument("--load-desks", type=int, default=50)
    parser.add_argument("--load-centres", type=int, default=10)
    parser.add_argument("--load-concurrency", type=int, default=50)
    parser.add_argument("--load-batches", type=int, default=4, help="batches per load desk")
    parser.add_argument("--load-cases-per-batch", type=int, default=5)
    parser.add_argument("--skip-cut", action="store_true", help="leave out the 90 %% cut rows")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--postgres", metavar="URL", help="run the hub on this PostgreSQL server")
    db.add_argument(
        "--pg-throwaway", action="store_true", help="start a throwaway PostgreSQL for the hub"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where A's store is kept",
    )
    parser.add_argument("--rebuild", action="store_true", help="build desk A's store again")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="write cProfile files of the desk's phases"
    )
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    if args.cases < 1 or args.rounds < 1 or args.edits < 1 or args.load_desks < 0:
        parser.error("--cases, --rounds and --edits must be at least 1")
    folder, figures = ready_store(
        args.cache_dir, args.cases, args.notes_per_case, args.seed, args.rebuild
    )
    results = Results()
    with (
        tempfile.TemporaryDirectory(prefix="mrc-bench-sync.") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        db_url = stack.enter_context(hub_database(args, work))
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            print(f"profiling (figures are slower): cProfile files in {args.profile}")
        hub = stack.enter_context(running_hub(db_url, work))
        echo = stack.enter_context(echo_server())
        print(f"hub: {hub.backend} at {hub.http_url} and {hub.https_url}; baseline {echo.url}")
        phases = Phases(hub.http.process.pid, args.profile)
        stack.callback(phases.save)
        try:
            desks = first_sync(hub, echo.url, folder, figures, work, phases, results)
            try:
                incremental(hub, echo.url, desks, args.rounds, args.edits, phases, results)
                usb_then_online(hub, work, desks, results)
            finally:
                desks.a.close()
                desks.b.close()
            if not args.skip_cut:
                for mode in ("upload", "answer"):
                    cut_link(hub, folder, work, desks, mode, results)
            if args.load_desks:
                load(hub, work, args, results)
        except BenchError as exc:
            print(f"bench/sync.py: {exc}", file=sys.stderr)
            return 2
        backend = hub.backend
    return report(results, backend)


if __name__ == "__main__":
    raise SystemExit(main())
