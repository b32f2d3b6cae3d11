"""Crash-stress the case store: kill a saving process with SIGKILL, again and again.

    .venv/bin/python scripts/crash_stress.py [--kills 200] [--store DIR] [--seed N]
                                             [--max-delay 0.4] [--json]

A child process unlocks the encrypted store and saves as fast as it can through the
app's one write path — new cases (every intake field), changes, notes and draft
autosaves — printing ``ACK ...`` only after each save has returned. The parent kills
it at a random moment (while opening the store, mid-transaction, between saves), then
opens the store itself and checks what a counsellor relies on:

* ``PRAGMA integrity_check`` is ``ok``, foreign keys hold, the FTS5 index is sound;
* every acknowledged save is there (case, change, note, draft);
* nothing is half-written: each case has its "create" audit row and its search-index
  row, each note its audit row, each audited change the value in the case.

Exit code 0 when every check passed after every kill, 1 otherwise. The store uses
Argon2id's minimum cost: key derivation is not what is tested, and 200 unlocks at the
app's cost would add minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.pwhash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import case_data  # noqa: E402
from mrc_desktop.cases import drafts, vocab  # noqa: E402
from mrc_desktop.cases.repository import CaseRepository  # noqa: E402
from mrc_desktop.cases.schema import open_case_store  # noqa: E402
from mrc_desktop.cases.users import User, create_user  # noqa: E402
from mrc_desktop.storage.encrypted import KeyParams  # noqa: E402

PASSPHRASE = "crash stress passphrase, not a secret"
DESK = "0190f0a0-cccc-7000-8000-00000000c4a5"
USERNAME = "stress"
DRAFT_FORM = "intake:new"
CHEAP = KeyParams.new(nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)


# -- the child: save, acknowledge, repeat until killed ----------------------------------
def child(store: Path, seed: int) -> None:
    rng = random.Random(seed)
    say("OPENING")
    db = open_case_store(store / "cases.db", PASSPHRASE)
    row = db.execute(
        "select id, username, display_name, role from users where username = ?", [USERNAME]
    ).fetchone()
    user = User(*row)
    repo = CaseRepository(db, user, DESK)
    say("READY")
    for n in range(1_000_000):
        marker = f"mk{seed}x{n}z"
        roll = rng.random()
        existing = db.execute("select id from cases order by random() limit 1").fetchone()
        if roll < 0.3 or existing is None:
            say("TRY create")
            fields = case_data.intake(rng, [], every_field=True)
            fields["narrative"] += f" Reference {marker}."
            say(f"ACK create {repo.create_case(fields)} {marker}")
        elif roll < 0.55:
            status = rng.choice(list(vocab.STATUSES))
            say("TRY update")
            repo.update_case(existing[0], {"assignee": marker, "status": status})
            say(f"ACK update {existing[0]} {marker}")
        elif roll < 0.85:
            kind, payload = case_data.entry(rng, {}, dt.date.today())
            payload["text"] += f" {marker}"
            say("TRY entry")
            entry_id = repo.add_entry(existing[0], kind, payload)
            say(f"ACK entry {existing[0]} {entry_id} {marker}")
        else:
            say("TRY draft")
            drafts.save_draft(db, user.id, DRAFT_FORM, {"seq": f"{seed:012d}.{n:07d}"})
            say(f"ACK draft {seed:012d}.{n:07d}")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# -- the parent: kill, then check ---------------------------------------------------
@dataclass
class Acks:
    cases: dict[str, str] = field(default_factory=dict)  # case id -> marker
    updates: list[tuple[str, str]] = field(default_factory=list)  # (case id, marker)
    entries: list[tuple[str, str, str]] = field(default_factory=list)  # (case, entry, marker)
    draft: str = ""  # highest acknowledged draft sequence

    def add(self, line: str) -> None:
        parts = line.split()
        if parts[:2] == ["ACK", "create"]:
            self.cases[parts[2]] = parts[3]
        elif parts[:2] == ["ACK", "update"]:
            self.updates.append((parts[2], parts[3]))
        elif parts[:2] == ["ACK", "entry"]:
            self.entries.append((parts[2], parts[3], parts[4]))
        elif parts[:2] == ["ACK", "draft"]:
            self.draft = max(self.draft, parts[2])

    @property
    def total(self) -> int:
        return len(self.cases) + len(self.updates) + len(self.entries) + bool(self.draft)


@dataclass
class Summary:
    kills: int = 0
    killed_while_opening: int = 0
    killed_during_a_save: int = 0
    saves_acknowledged: int = 0
    acknowledged_found: int = 0
    integrity_ok: int = 0
    problems: list[str] = field(default_factory=list)
    cases: int = 0
    entries: int = 0
    seconds: float = 0.0


def make_store(store: Path) -> None:
    db = open_case_store(store / "cases.db", PASSPHRASE, create=True, params=CHEAP)
    create_user(
        db,
        DESK,
        USERNAME,
        "Stress",
        "counsellor",
        "stress password",
        nacl.pwhash.argon2id.OPSLIMIT_MIN,
        nacl.pwhash.argon2id.MEMLIMIT_MIN,
    )
    db.close()


def run_once(
    store: Path, seed: int, rng: random.Random, max_delay: float
) -> tuple[list[str], bool]:
    """Start a saving child, kill it at a random moment; return its complete lines."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(store), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    opening, ready = threading.Event(), threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.endswith("\n"):  # a line cut by the kill was never acknowledged
                lines.append(line.rstrip("\n"))
                (ready if line == "READY\n" else opening).set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    early = rng.random() < 0.1  # sometimes kill while the store is being opened
    if not (opening if early else ready).wait(timeout=60):
        proc.kill()
        raise RuntimeError(f"the saving process did not start: {proc.stderr.read()[-2000:]}")
    time.sleep(rng.uniform(0, 0.03 if early else max_delay))
    if proc.poll() is not None:
        raise RuntimeError(f"the saving process died by itself: {proc.stderr.read()[-2000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    return lines, "READY" not in lines


@contextmanager
def opened(store: Path) -> Iterator[Any]:
    db = open_case_store(store / "cases.db", PASSPHRASE)
    try:
        yield db
    finally:
        db.close()


def check(store: Path, acks: Acks) -> tuple[bool, int, list[str]]:
    """Open the store as the app would and check it; (integrity ok, acks found, problems).

    The whole store is checked for consistency; ``acks`` are the saves to look for.
    """
    problems: list[str] = []
    with opened(store) as db:
        integrity = [r[0] for r in db.execute("pragma integrity_check").fetchall()]
        ok = integrity == ["ok"]
        if not ok:
            problems.append(f"integrity_check: {integrity[:5]}")
        if db.execute("pragma foreign_key_check").fetchall():
            problems.append("foreign_key_check found rows pointing nowhere")
        try:
            db.execute("insert into case_search (case_search) values ('integrity-check')")
        except Exception as exc:  # sqlcipher3's DatabaseError has no stubs
            problems.append(f"search index integrity-check: {exc}")
        problems += half_written(db)
        found = 0
        for case_id, marker in acks.cases.items():
            row = db.execute("select narrative from cases where id = ?", [case_id]).fetchone()
            if row and marker in row[0]:
                found += 1
            else:
                problems.append(f"acknowledged case {case_id} is missing")
        for case_id, marker in acks.updates:
            if db.execute(
                "select 1 from audit_log where case_id = ? and action = 'change'"
                " and field = 'assignee' and new_value = ?",
                [case_id, marker],
            ).fetchone():
                found += 1
            else:
                problems.append(f"acknowledged change {marker} of case {case_id} is missing")
        for case_id, entry_id, marker in acks.entries:
            entry = db.execute(
                "select payload from case_entries where id = ? and case_id = ?", [entry_id, case_id]
            ).fetchone()
            indexed = db.execute(
                "select count(*) from case_search s join cases c on c.rowid = s.rowid"
                " where c.id = ? and case_search match ?",
                [case_id, f'"{marker}"'],
            ).fetchone()[0]
            if entry and marker in entry[0] and indexed:
                found += 1
            else:
                problems.append(f"acknowledged note {entry_id} is missing or not searchable")
        if acks.draft:
            user_id = db.execute("select id from users where username = ?", [USERNAME]).fetchone()
            draft = drafts.load_draft(db, user_id[0], DRAFT_FORM)
            if draft is not None and str(draft.payload.get("seq", "")) >= acks.draft:
                found += 1
            else:
                problems.append(f"acknowledged draft {acks.draft} is missing or older")
    return ok, found, problems


def half_written(db: Any) -> list[str]:
    """Signs of a save that was applied in part."""
    problems = []
    for (case_id,) in db.execute(
        "select id from cases c where not exists (select 1 from audit_log a"
        " where a.case_id = c.id and a.action = 'create')"
        " or not exists (select 1 from case_search s where s.rowid = c.rowid)"
        " or not exists (select 1 from case_bigrams b where b.rowid = c.rowid)"
    ).fetchall():
        problems.append(f"case {case_id} has no create audit row or no search row")
    searchable = db.execute("select count(*) from case_search").fetchone()[0]
    live = db.execute("select count(*) from cases where deleted = 0").fetchone()[0]
    if searchable != live:
        problems.append(f"{searchable} search rows for {live} cases")
    entries = db.execute("select count(*) from case_entries").fetchone()[0]
    audited = db.execute("select count(*) from audit_log where action like 'add\\_%' escape '\\'")
    audited_n = audited.fetchone()[0]
    if entries != audited_n:
        problems.append(f"{entries} entries but {audited_n} 'add' audit rows")
    for (case_id,) in db.execute(
        "select c.id from cases c where c.assignee != '' and c.assignee != (select a.new_value"
        " from audit_log a where a.case_id = c.id and a.field = 'assignee'"
        " order by a.at desc, a.id desc limit 1)"
    ).fetchall():
        problems.append(f"case {case_id}: the assignee is not the last audited value")
    return problems


def stress(store: Path, kills: int, seed: int, max_delay: float, progress: bool) -> Summary:
    store.mkdir(parents=True, exist_ok=True)
    if not (store / "cases.db").exists():
        make_store(store)
    rng = random.Random(seed)
    acks = Acks()
    summary = Summary()
    start = time.perf_counter()
    for kill in range(kills):
        lines, while_opening = run_once(store, seed * 100_000 + kill, rng, max_delay)
        summary.kills += 1
        summary.killed_while_opening += while_opening
        tries = [line for line in lines if line.startswith(("TRY", "ACK"))]
        summary.killed_during_a_save += bool(tries) and tries[-1].startswith("TRY")
        latest = Acks(draft=acks.draft)  # this run's saves (and the newest draft so far)
        for line in lines:
            acks.add(line)
            latest.add(line)
        ok, _found, problems = check(store, latest)
        summary.integrity_ok += ok
        record(summary, f"after kill {kill + 1}", problems)
        if progress:
            print(f"\r  kill {kill + 1}/{kills}: {acks.total} saves acknowledged", end="")
    if progress:
        print()
    # Every acknowledged save, once more, after the last kill.
    _ok, summary.acknowledged_found, problems = check(store, acks)
    record(summary, "after the last kill", problems)
    summary.saves_acknowledged = acks.total
    with opened(store) as db:
        summary.cases = db.execute("select count(*) from cases").fetchone()[0]
        summary.entries = db.execute("select count(*) from case_entries").fetchone()[0]
    summary.seconds = time.perf_counter() - start
    return summary


def record(summary: Summary, when: str, problems: list[str]) -> None:
    seen = {p.split(": ", 1)[1] for p in summary.problems}
    summary.problems += [f"{when}: {p}" for p in problems if p not in seen]


def report(summary: Summary) -> None:
    print(
        f"kills: {summary.kills} ({summary.killed_during_a_save} between a save's start and its"
        f" acknowledgement, {summary.killed_while_opening} while opening the store)"
    )
    print(
        f"saves acknowledged: {summary.saves_acknowledged}; found after the last kill:"
        f" {summary.acknowledged_found}"
    )
    print(f"integrity_check ok after {summary.integrity_ok} of {summary.kills} kills")
    print(f"store: {summary.cases} cases, {summary.entries} entries; {summary.seconds:.0f} s")
    for problem in summary.problems[:20]:
        print("PROBLEM:", problem)
    print("all checks passed" if not summary.problems else f"{len(summary.problems)} problems")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--store", type=Path, help="folder for the store (default: a temp one)")
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--max-delay", type=float, default=0.4, help="seconds before a kill")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seed)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        store = args.store or Path(scratch)
        if not args.json:
            print(f"seed {args.seed}; store in {store}")
        summary = stress(store, args.kills, args.seed, args.max_delay, not args.json)
    if args.json:
        print(json.dumps(summary.__dict__))
    else:
        report(summary)
    ok = not summary.problems and summary.acknowledged_found == summary.saves_acknowledged
    return 0 if ok and summary.integrity_ok == summary.kills else 1


if __name__ == "__main__":
    raise SystemExit(main())
