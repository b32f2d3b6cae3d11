"""Desks syncing through a real hub: A → hub → B and back, over a link that fails, by USB,
and with the ``mrc`` commands against ``mrc-hub serve`` running as a program."""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.cli import main as mrc
from mrc_desktop.hub.certs import make_self_signed
from mrc_desktop.hub.cli import main as hub_cli
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.paths import app_paths
from mrc_desktop.sync import capture
from mrc_desktop.sync import client as sync_client
from mrc_desktop.sync.batches import seal_batch
from mrc_desktop.sync.bundle import BundleError, BundleReplayError, read_bundle, write_bundle
from mrc_desktop.sync.client import SyncReport
from mrc_desktop.sync.inbox import import_bundle
from mrc_desktop.sync.keys import Peers
from mrc_desktop.sync.merge import open_conflicts
from mrc_desktop.sync.outbox import export_bundle, fill_outbox, pending
from mrc_desktop.sync.state import (
    HUB_NAME,
    load_chain,
    load_state,
    require_identity,
    update_state,
)
from tests.fast_keys import FAST, MIN_COST, PASS
from tests.sync.desks import Desk, dump
from tests.sync.test_client import GIVEN, NO_WAIT, Hub, enrolled_desk, make_hub, new_case, sync

NOT_GIVEN = {"counselling": {"given": True, "on": "2026-11-23", "by": "sup-a"}}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with make_hub(tmp_path / "hub.db") as running:
        yield running


def synced(desk: Desk, hub: Hub, **options: Any) -> SyncReport:
    report = sync(desk, hub, **options)
    assert isinstance(report, SyncReport)
    assert report.ok, report.errors
    return report


def desk_id(desk: Desk) -> str:
    return str(load_state(desk.db).desk_id)


def test_two_desks_exchange_cases_through_the_hub_and_both_see_the_conflict(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    from_a = new_case(a, "Invented Worker Dara")
    a.repo.add_entry(from_a, "note", {"text": "Employer keeps the passport."})
    from_b = new_case(b, "Invented Worker Sokha")

    first = synced(a, hub)
    assert (first.pushed_batches, first.received.batches) == (1, 0)
    got = synced(b, hub)
    assert got.pushed_batches == 1 and got.received.batches == 1
    assert synced(a, hub).received.batches == 1
    for desk in (a, b):
        names = {r[0] for r in desk.db.execute("select person_name from cases")}
        assert names == {"Invented Worker Dara", "Invented Worker Sokha"}
    assert [e["payload"] for e in b.repo.entries(from_a)] == [
        {"text": "Employer keeps the passport."}
    ]

    # Both desks change one field of one case before hearing from each other.
    a.repo.update_case(from_b, {"status": "referred"})
    b.repo.update_case(from_b, {"status": "in_progress"})
    for desk in (a, b, a):
        synced(desk, hub)
    assert dump(a.db) == dump(b.db)
    seen = {
        name: {(c.row_id, c.col, c.winner_value, c.loser_value) for c in open_conflicts(d.db)}
        for name, d in (("a", a), ("b", b))
    }
    assert seen["a"] == seen["b"] and len(seen["a"]) == 1
    (row, col, winner, loser) = next(iter(seen["a"]))
    assert (row, col, {winner, loser}) == (from_b, "status", {"referred", "in_progress"})
    assert hub.storage.alerts() == []


def test_a_case_without_sync_consent_reaches_nobody_until_it_is_given(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    private = a.repo.create_case({"person_name": "Invented Worker Sokha", "consent": NOT_GIVEN})
    a.repo.add_entry(private, "note", {"text": "Wants to wait before telling the hub."})
    new_case(a, "Invented Worker Dara")
    report = synced(a, hub)
    assert report.held_cases == 1
    synced(b, hub)
    assert b.db.execute("select count(*) from cases where id = ?", [private]).fetchone()[0] == 0
    assert private.encode() not in b"".join(
        item.data for item in hub.storage.feed(hub.centre, 0, 100, None)
    )

    a.repo.update_case(private, {"consent": {**NOT_GIVEN, **GIVEN}})
    assert synced(a, hub).held_cases == 0  # the hub took the case's whole history
    synced(b, hub)
    assert b.repo.open_case(private)["person_name"] == "Invented Worker Sokha"
    assert len(b.repo.entries(private)) == 1


def test_a_link_that_drops_and_loses_answers_delivers_everything_exactly_once(
    tmp_path: Path, hub: Hub
) -> None:
    """Requests fail before reaching the hub, or the hub's answer is lost after it committed
    (uploads and feed pages alike); each sync may give up part way. After the link
    recovers, every batch is at the hub once, B holds exactly A's changes, nothing waits."""
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    chance = random.Random(6)  # the same faults on every run
    faults: list[tuple[str, str]] = []

    def flaky(request: httpx.Request, n: int) -> str | None:
        fault = chance.choice(["before", "after", None, None])
        if fault:
            faults.append((request.method, fault))
        return fault

    hub.fault = flaky
    reports = []
    for n in range(10):  # a works and syncs, b syncs, over and over
        case = a.repo.create_case({"person_name": f"Invented Worker {n}", "consent": GIVEN})
        a.repo.add_entry(case, "note", {"text": f"Note {n}"})
        reports += [sync(a, hub, feed_page=1), sync(b, hub, feed_page=1)]
    assert any(not r.ok for r in reports)  # some gave up …
    assert any(r.ok for r in reports)  # … some got through
    assert ("PUT", "after") in faults and ("GET", "after") in faults  # answers were lost
    hub.fault = lambda request, n: None
    synced(a, hub)
    synced(b, hub)

    sent = load_state(a.db).sent_seq
    assert sent >= 5
    stored = hub.storage.feed(hub.centre, 0, 1000, desk_id(b))
    assert [(i.origin, i.seq) for i in stored] == [(desk_id(a), n) for n in range(1, sent + 1)]
    assert hub.storage.alerts() == []
    assert pending(a.db, desk_id(a)) == []
    assert load_chain(b.db)[desk_id(a)].seq == sent
    mine = capture.changes_since(a.db, {}, only=[a.id])
    theirs = capture.changes_since(b.db, {}, only=[a.id])
    assert theirs == mine  # every change once: the oplog's key would refuse a second copy
    assert b.db.execute("select count(*) from sync_pending").fetchone()[0] == 0
    assert b.db.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_a_pull_cut_off_part_way_keeps_what_it_applied_and_resumes(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    for n in range(3):
        new_case(a, f"Invented Worker {n}")
        synced(a, hub)  # three batches
    feed_pages = []

    def cut_after_two_pages(request: httpx.Request, n: int) -> str | None:
        if request.url.path == "/v1/feed":
            feed_pages.append(n)
            return "before" if len(feed_pages) > 2 else None
        return None

    hub.fault = cut_after_two_pages
    report = sync(b, hub, feed_page=1)
    assert isinstance(report, SyncReport)
    assert not report.ok and report.received.batches == 2
    assert "cannot reach the hub" in report.errors[0]
    assert b.db.execute("select count(*) from cases").fetchone()[0] == 2
    hub.fault = lambda request, n: None
    assert synced(b, hub, feed_page=1).received.batches == 1
    assert b.db.execute("select count(*) from cases").fetchone()[0] == 3


def test_a_damaged_feed_item_changes_nothing_and_is_taken_again_next_time(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    new_case(a)
    synced(a, hub)
    before = dump(b.db)

    def flip_a_byte(request: httpx.Request, body: bytes) -> bytes:
        if request.url.path != "/v1/feed":
            return body
        answer = json.loads(body)
        for item in answer["batches"]:
            data = bytearray(base64.b64decode(item["data"]))
            data[len(data) // 2] ^= 0x40
            item["data"] = base64.b64encode(bytes(data)).decode("ascii")
        return json.dumps(answer).encode()

    hub.rewrite = flip_a_byte
    report = sync(b, hub)
    assert isinstance(report, SyncReport) and not report.ok
    assert "was refused and will be offered again: bad seal" in report.errors[0]
    assert dump(b.db) == before and load_state(b.db).feed_cursor == 0
    hub.rewrite = None
    assert synced(b, hub).received.batches == 1
    assert dump(b.db) == dump(a.db)


def test_a_desk_approved_meanwhile_is_learnt_and_a_revoked_ones_batches_still_arrive(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    new_case(a, "Invented Worker Dara")
    synced(a, hub)
    answers = {"peers": 0}

    def stale_peers(request: httpx.Request, body: bytes) -> bytes:
        """The first list of desks is read before a's approval reached it."""
        if request.url.path != "/v1/peers":
            return body
        answers["peers"] += 1
        answer = json.loads(body)
        if answers["peers"] == 1:
            answer["desks"] = [d for d in answer["desks"] if d["desk_id"] != desk_id(a)]
        return json.dumps(answer).encode()

    hub.rewrite = stale_peers
    assert synced(b, hub).received.batches == 1 and answers["peers"] == 2
    hub.rewrite = None

    # A lost laptop is revoked after its last sync: what it sent while approved still
    # reaches the other desks (the hub took nothing from it after the revocation).
    new_case(a, "Invented Worker Sokha")
    synced(a, hub)
    assert hub_cli(["desk", "revoke", desk_id(a), "--db", str(tmp_path / "hub.db")]) == 0
    c = enrolled_desk(tmp_path, "c", hub)
    for desk in (b, c):
        report = synced(desk, hub)
        assert report.revoked_skipped == 0
        names = {r[0] for r in desk.db.execute("select person_name from cases")}
        assert names == {"Invented Worker Dara", "Invented Worker Sokha"}
    assert synced(b, hub).received.batches == 0

    # A hub that lists no certificate for a revoked desk (before revoked_desks existed):
    # its batches cannot be checked, so they are skipped and counted, and the cursor moves.
    new_case(a, "Invented Worker Kosal")  # never sent: a is refused
    d = open_desk_enrolled_without_revoked_certificates(tmp_path, hub)
    report = synced(d, hub)
    assert (report.received.batches, report.revoked_skipped) == (0, 2)
    assert synced(d, hub).revoked_skipped == 0


def open_desk_enrolled_without_revoked_certificates(tmp_path: Path, hub: Hub) -> Desk:
    def old_hub(request: httpx.Request, body: bytes) -> bytes:
        if request.url.path != "/v1/peers":
            return body
        answer = json.loads(body)
        answer.pop("revoked_desks")
        return json.dumps(answer).encode()

    desk = enrolled_desk(tmp_path, "d", hub)
    hub.rewrite = old_hub
    return desk


def test_cancelling_keeps_what_was_sent_and_the_rest_goes_next_time(
    tmp_path: Path, hub: Hub
) -> None:
    a = enrolled_desk(tmp_path, "a", hub)
    for n in range(3):  # three batches wait in the outbox
        new_case(a, f"Invented Worker {n}")
        fill_outbox(a.db, require_identity(a.db), desk_id(a))
    puts: list[int] = []

    def count_puts(request: httpx.Request, n: int) -> str | None:
        if request.method == "PUT":
            puts.append(n)
        return None

    hub.fault = count_puts
    report = sync(a, hub, cancelled=lambda: bool(puts))  # Cancel once an upload went out
    assert isinstance(report, SyncReport)
    assert report.cancelled and (report.pushed_batches, report.outbox_left) == (1, 2)
    assert "cancelled" in report.errors[0]
    assert load_state(a.db).last_error is not None
    again = synced(a, hub)
    assert (again.pushed_batches, again.outbox_left) == (2, 0)
    assert [i.seq for i in hub.storage.feed(hub.centre, 0, 10, None)] == [1, 2, 3]


def test_usb_bundles_carry_batches_both_ways_and_mix_with_https(
    tmp_path: Path, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    synced(b, hub)  # b knows its peers (a's certificate) from the hub once
    case = new_case(a, "Invented Worker Dara")
    out = tmp_path / "stick"
    out.mkdir()
    made = export_bundle(a.db, require_identity(a.db), out)
    assert made.batches == 1 and made.path.parent == out and made.path.suffix == ".mrcbundle"

    # At the hub: the bundle opens with the hub's identity and a's key, nothing else.
    a_key = require_identity(a.db).public
    bundle = read_bundle(made.path, hub.identity, Peers(desks={desk_id(a): a_key}), {})
    assert bundle.manifest.sender == desk_id(a) and bundle.manifest.recipient == HUB_NAME
    assert [x.signed for x in bundle.batches] == [p.signed for p in pending(a.db, desk_id(a))]
    # (The hub's bundle commands are tested in tests/hub/test_bundles.py: here a's batch
    # reaches the hub over HTTPS, and the test writes the hub's return bundle for b.)
    synced(a, hub)
    stored = hub.storage.feed(hub.centre, 0, 100, desk_id(b))
    back = tmp_path / "return.mrcbundle"

    def return_bundle(to: Desk, signed: list[bytes], has: dict[str, Any]) -> None:
        key = require_identity(to.db).public
        write_bundle(
            back,
            hub.identity,
            sender=HUB_NAME,
            recipient=desk_id(to),
            recipient_key=key,
            batches=[seal_batch(hub.identity, key, data) for data in signed],
            has=has,
        )

    return_bundle(b, [item.data for item in stored], {})
    before = dump(b.db)
    damaged = tmp_path / "damaged.mrcbundle"
    data = bytearray(back.read_bytes())
    data[len(data) // 2] ^= 1
    damaged.write_bytes(bytes(data))
    with pytest.raises(BundleError):
        import_bundle(b.db, require_identity(b.db), damaged)
    assert dump(b.db) == before  # refused whole

    done = import_bundle(b.db, require_identity(b.db), back)
    assert (done.received.batches, done.sender) == (1, HUB_NAME)
    assert b.repo.open_case(case)["person_name"] == "Invented Worker Dara"
    with pytest.raises(BundleReplayError, match="nothing new"):
        import_bundle(b.db, require_identity(b.db), back)
    # Online, b says which batches it holds: the hub leaves out what came by USB, and b's
    # feed position moves past it.
    again = synced(b, hub)
    assert (again.received.batches, again.received.skipped) == (0, 0)
    assert load_state(b.db).feed_cursor == hub.storage.last_hub_seq(hub.centre) > 0
    # A hub that offers the batch anyway (one from before ``have``): skipped, not applied twice.
    update_state(b.db, feed_cursor=0)
    monkeypatch.setattr(sync_client, "load_chain", lambda db: {})
    offered = synced(b, hub)
    assert (offered.received.batches, offered.received.skipped) == (0, 1)
    monkeypatch.undo()

    # The hub's acknowledgement by USB empties a's outbox.
    new_case(a, "Invented Worker Sokha")
    made = export_bundle(a.db, require_identity(a.db), tmp_path / "second.mrcbundle")
    assert made.path == tmp_path / "second.mrcbundle" and made.batches == 1
    last = pending(a.db, desk_id(a))[-1]
    return_bundle(a, [], {desk_id(a): last.link})  # acknowledgements only
    ack = import_bundle(a.db, require_identity(a.db), back)
    assert ack.acknowledged == 1 and pending(a.db, desk_id(a)) == []


# --- the commands, against mrc-hub serve ---------------------------------------------------


def desk_home(root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A desk's data folder with a case store (a supervisor in it) and its desk.db."""
    home = root / name
    monkeypatch.setenv("MRC_HOME", str(home))
    paths = app_paths()
    paths.cases_db.parent.mkdir(parents=True, exist_ok=True)
    db = open_case_store(paths.cases_db, PASS, create=True, params=FAST)
    DeskStore(paths.desk_db).close()
    db.close()
    return home


def at(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MRC_HOME", str(home))


def add_case(home: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> str:
    at(home, monkeypatch)
    paths = app_paths()
    db = open_case_store(paths.cases_db, PASS)
    try:
        store = DeskStore(paths.desk_db)
        desk = store.desk_id()
        store.close()
        user = create_user(db, desk, f"sup-{name.split()[-1].lower()}", "Supervisor", "supervisor",
                           "password123", **MIN_COST)  # fmt: skip
        return CaseRepository(db, user, desk).create_case({"person_name": name, "consent": GIVEN})
    finally:
        db.close()


def case_names(home: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    at(home, monkeypatch)
    db = open_case_store(app_paths().cases_db, PASS)
    try:
        return {r[0] for r in db.execute("select person_name from cases")}
    finally:
        db.close()


@pytest.mark.slow
def test_mrc_enrol_and_mrc_sync_against_mrc_hub_serve_over_pinned_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.hub.test_serve import running_hub

    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    hub_db = str(tmp_path / "hub.db")
    assert hub_cli(["centre", "add", "Centre North", "--db", hub_db]) == 0
    homes = {name: desk_home(tmp_path, name, monkeypatch) for name in ("a", "b")}
    capsys.readouterr()
    tls = ["--tls", "--tls-dir", str(tmp_path / "tls")]
    with running_hub(hub_db, *tls, scheme="https") as hub:
        url = hub.base_url
        printed = re.search(r"fingerprint: ([0-9A-F:]{95})", hub.printed())
        assert printed, hub.printed()
        fingerprint = printed[1]

        at(homes["a"], monkeypatch)
        assert mrc(["sync"]) == 2
        assert "not enrolled with a hub: run mrc enrol --hub URL" in capsys.readouterr().err
        wrong = ("E" if fingerprint[0] == "F" else "F") + fingerprint[1:]
        assert mrc(["enrol", "--hub", url, "--fingerprint", wrong]) == 1
        assert "not enrolling" in capsys.readouterr().err

        codes = {}
        for name, home in homes.items():
            at(home, monkeypatch)
            pin = ["--fingerprint", fingerprint] if name == "a" else []  # b: trust on first use
            assert mrc(["enrol", "--hub", url, "--label", f"desk {name}", *pin]) == 0
            out, err = capsys.readouterr()
            assert f"hub TLS certificate pinned: {fingerprint}" in out
            assert ("compare it with the fingerprint" in err) == (name == "b")
            codes[name] = re.search(r"enrolment code: (\S+)", out)[1]  # type: ignore[index]
            assert mrc(["enrol", "--hub", url, "--code", codes[name]]) == 1
            assert f"the hub has not approved code {codes[name]} yet" in capsys.readouterr().err
            assert hub_cli(["desk", "approve", codes[name], "--db", hub_db]) == 0
            at(home, monkeypatch)
            assert mrc(["enrol", "--hub", url, "--code", codes[name]]) == 0
            out, err = capsys.readouterr()
            assert "enrolled: this desk belongs to centre" in out
            assert "compare it" not in err  # pinned before: the same certificate is expected

        add_case(homes["a"], monkeypatch, "Invented Worker Dara")
        add_case(homes["b"], monkeypatch, "Invented Worker Sokha")
        for name in ("a", "b", "a"):
            at(homes[name], monkeypatch)
            assert mrc(["sync"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "sent 1 batch" in out and "received 1 batch" in out
        for home in homes.values():
            assert case_names(home, monkeypatch) == {
                "Invented Worker Dara",
                "Invented Worker Sokha",
            }
        at(homes["b"], monkeypatch)
        assert mrc(["sync", "export-bundle", str(tmp_path)]) == 0
        assert "wrote" in capsys.readouterr().out
        assert mrc(["sync", "import-bundle", hub_db]) == 1  # not a bundle at all
        err = capsys.readouterr().err
        assert "not an MRC Desk bundle" in err and "nothing from the bundle was applied" in err

        # A desk pinned to another certificate refuses the hub at once (no retries).
        other_pem, _key = make_self_signed(["127.0.0.1"])
        db = open_case_store(app_paths().cases_db, PASS)
        update_state(db, tls_certificate=other_pem.decode("ascii"))
        db.close()
        assert mrc(["sync"]) == 1
        assert "presented another TLS certificate than the one pinned" in capsys.readouterr().err
    # The hub is gone: a sync says so and exits 1, keeping everything.
    at(homes["a"], monkeypatch)
    add_case(homes["a"], monkeypatch, "Invented Worker Kosal")
    at(homes["a"], monkeypatch)
    monkeypatch.setattr("mrc_desktop.sync.client.RetryPolicy", lambda: NO_WAIT)
    assert mrc(["sync"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the hub" in err
