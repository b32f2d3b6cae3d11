"""USB sync at the hub (docs/sync.md, "USB bundles, hub side"), on SQLite and PostgreSQL.

Real desks (encrypted case stores, enrolled through the real hub app) carry their bundles to
the hub and take its answers home: a desk that never synced online gets the centre's peers
in the bundle and so can check the other desks' batches; the sender's outbox empties once
the hub's acknowledgement comes back; another centre's desk gets nothing of this centre.
Anything the hub must not take — a revoked, unknown or pending desk, a bundle for another
hub, a flipped byte, a batch without consent — is refused with a one-line reason and leaves
the hub's tables as they were (for a refused batch: as they were after the batches before it).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.auth import issue_certificate
from mrc_desktop.hub.bundles import (
    FRAME_RESERVE,
    BundleRefused,
    export_return_bundle,
    hub_relay,
    import_desk_bundle,
)
from mrc_desktop.hub.cli import desk_approve, desk_revoke
from mrc_desktop.hub.cli import main as hub_cli
from mrc_desktop.hub.relay import HubRelay
from mrc_desktop.hub.storage import HubStorage, utc_now
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.batches import canonical_json, seal_batch
from mrc_desktop.sync.bundle import BundleError, read_bundle, write_bundle
from mrc_desktop.sync.inbox import import_bundle
from mrc_desktop.sync.keys import new_identity
from mrc_desktop.sync.outbox import export_bundle, pending
from mrc_desktop.sync.state import HUB_NAME, load_chain, load_peers, load_state, require_identity
from tests.hub.batches import NO_SYNC_CONSENT, Outbox, Replica
from tests.hub.desks import FakeDesk
from tests.hub.test_relay import hub_tables
from tests.sync.desks import START_MS, Desk, open_desk
from tests.sync.test_client import HUB_URL, NO_WAIT, Hub, new_case

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture
def hub(storage: HubStorage) -> Iterator[Hub]:
    centre = storage.add_centre("Centre North").id
    with TestClient(create_app(storage)) as client:
        yield Hub(storage, client, centre)


@pytest.fixture
def relay(storage: HubStorage) -> HubRelay:
    return hub_relay(storage)


def enrolled(folder: Path, name: str, hub: Hub, centre: str | None = None) -> Desk:
    """A desk enrolled online and approved into ``centre``; it has not synced (no peers)."""
    from mrc_desktop.sync.client import enrol

    desk = open_desk(folder, name)
    ident = uuid7()
    first = enrol(desk.db, ident, HUB_URL, transport=hub.transport, retry=NO_WAIT)
    assert desk_approve(hub.storage, first.code, centre or hub.centre) == 0
    enrol(desk.db, ident, HUB_URL, code=first.code, transport=hub.transport, retry=NO_WAIT)
    assert load_state(desk.db).enrolled
    return desk


def fake_desk(storage: HubStorage, centre: str) -> FakeDesk:
    """An approved desk whose batches the test signs by hand (to send what no desk would)."""
    desk = FakeDesk("Invented back office")
    made = storage.enrol_desk(desk.id, desk.signing_key, desk.box_key, desk.label, utc_now())
    assert desk_approve(storage, made.code, centre) == 0
    return desk


def desk_id(desk: Desk) -> str:
    return str(load_state(desk.db).desk_id)


def names(desk: Desk) -> set[str]:
    return {row[0] for row in desk.db.execute("select person_name from cases")}


def stick_bundle(desk: Desk, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    return export_bundle(desk.db, require_identity(desk.db), folder).path


def test_usb_round_trip_reaches_a_desk_that_never_synced_online_and_acknowledges_the_sender(
    tmp_path: Path, hub: Hub, relay: HubRelay
) -> None:
    a, b = enrolled(tmp_path, "a", hub), enrolled(tmp_path, "b", hub)
    other = hub.storage.add_centre("Centre South").id
    c = enrolled(tmp_path, "c", hub, other)
    case = new_case(a, "Invented Worker Dara")
    a.repo.add_entry(case, "note", {"text": "Employer keeps the passport."})
    new_case(b, "Invented Worker Sokha")
    new_case(c, "Invented Worker Kosal")

    from_a = stick_bundle(a, tmp_path / "stick-a")
    got = import_desk_bundle(hub.storage, relay, from_a.read_bytes())
    assert (got.desk_id, got.centre_id, got.batches, got.stored, got.duplicates) == (
        desk_id(a),
        hub.centre,
        1,
        1,
        0,
    )
    assert got.refused is None and got.not_tried == 0
    stored = hub.storage.feed(hub.centre, 0, 10, None)
    assert [(i.origin, i.seq) for i in stored] == [(desk_id(a), 1)]
    assert stored[0].data == pending(a.db, desk_id(a))[0].signed  # the desk's signed bytes

    # b has never synced: no peers stored, so it could not check a's batch on its own.
    assert set(load_peers(b.db).peers.desks) == {desk_id(b)}
    from_b = stick_bundle(b, tmp_path / "stick-b")
    got_b = import_desk_bundle(hub.storage, relay, from_b.read_bytes())
    assert got_b.stored == 1 and got_b.has == {}
    answer = export_return_bundle(hub.storage, relay, desk_id(b), tmp_path / "stick-b", got_b.has)
    assert (answer.batches, answer.origins, answer.more) == (1, 1, False)
    assert answer.path.parent == tmp_path / "stick-b" and answer.size == answer.path.stat().st_size
    assert answer.acknowledged is not None and answer.acknowledged.seq == 1
    done = import_bundle(b.db, require_identity(b.db), answer.path)
    assert (done.sender, done.received.batches, done.acknowledged, done.peers) == (
        HUB_NAME,
        1,
        1,
        2,
    )
    assert names(b) == {"Invented Worker Dara", "Invented Worker Sokha"}
    assert [e["payload"] for e in b.repo.entries(case)] == [
        {"text": "Employer keeps the passport."}
    ]
    assert set(load_peers(b.db).peers.desks) == {desk_id(a), desk_id(b)}  # kept for later
    assert pending(b.db, desk_id(b)) == []

    # a's answer: b's case, and the acknowledgement that empties a's outbox.
    answer_a = export_return_bundle(hub.storage, relay, desk_id(a), tmp_path / "for-a", got.has)
    assert answer_a.path == tmp_path / "for-a" and answer_a.batches == 1
    done_a = import_bundle(a.db, require_identity(a.db), answer_a.path)
    assert done_a.acknowledged == 1 and pending(a.db, desk_id(a)) == []
    assert names(a) == names(b)

    # Another centre's desk: its answer holds none of Centre North's batches or desks.
    from_c = stick_bundle(c, tmp_path / "stick-c")
    assert import_desk_bundle(hub.storage, relay, from_c.read_bytes()).stored == 1
    answer_c = export_return_bundle(hub.storage, relay, desk_id(c), tmp_path / "for-c")
    assert answer_c.batches == 0
    peek = read_bundle(
        answer_c.path, require_identity(c.db), load_peers(c.db).peers, load_chain(c.db)
    )
    assert peek.manifest.peers is not None
    listed = {d["desk_id"] for d in peek.manifest.peers["desks"]}
    assert listed == {desk_id(c)} and peek.manifest.peers["centre_id"] == other
    import_bundle(c.db, require_identity(c.db), answer_c.path)
    assert names(c) == {"Invented Worker Kosal"} and pending(c.db, desk_id(c)) == []


def test_the_same_bundle_twice_is_all_duplicates_and_changes_nothing(
    tmp_path: Path, hub: Hub, hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a = enrolled(tmp_path, "a", hub)
    new_case(a, "Invented Worker Dara")
    path = stick_bundle(a, tmp_path / "stick")
    assert hub_cli(["bundle", "import", str(path), "--db", hub_url]) == 0
    out = capsys.readouterr().out
    assert f"from desk {desk_id(a)}" in out and "stored 1 batch, 0 already here, 0 refused" in out
    before = hub_tables(hub.storage)
    assert hub_cli(["bundle", "import", str(path), "--db", hub_url]) == 0
    captured = capsys.readouterr()
    assert "stored 0 batches, 1 already here, 0 refused" in captured.out and not captured.err
    assert hub_tables(hub.storage) == before


def test_import_with_reply_writes_the_answer_onto_the_stick(
    tmp_path: Path, hub: Hub, relay: HubRelay, hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = enrolled(tmp_path, "a", hub), enrolled(tmp_path, "b", hub)
    new_case(a, "Invented Worker Dara")
    import_desk_bundle(hub.storage, relay, stick_bundle(a, tmp_path / "a").read_bytes())
    new_case(b, "Invented Worker Sokha")
    stick = tmp_path / "stick"
    path = stick_bundle(b, stick)
    capsys.readouterr()
    assert hub_cli(["bundle", "import", str(path), "--reply", str(stick), "--db", hub_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "stored 1 batch" in out[0]
    assert out[1].startswith(f"wrote {stick}/mrc-hub-for-{desk_id(b)[:8]}")
    assert "bytes) for desk" in out[1] and "1 batch of 1 other desk" in out[1]
    assert "its own batches stored: up to #1" in out[1]
    (answer,) = [p for p in stick.iterdir() if p.name.startswith("mrc-hub-for-")]
    done = import_bundle(b.db, require_identity(b.db), answer)
    assert done.acknowledged == 1 and names(b) == {"Invented Worker Dara", "Invented Worker Sokha"}

    # Exported again without the desk's bundle: everything from the start, ack included.
    again = tmp_path / "again.mrcbundle"
    assert hub_cli(["bundle", "export", "--desk", desk_id(b), str(again), "--db", hub_url]) == 0
    assert f"wrote {again} (" in capsys.readouterr().out
    with pytest.raises(BundleError, match="nothing new"):  # b holds it all already
        import_bundle(b.db, require_identity(b.db), again)


@pytest.mark.parametrize("status", ["revoked", "unknown", "pending"])
def test_a_bundle_from_a_desk_that_may_not_sync_is_refused_whole(
    tmp_path: Path,
    hub: Hub,
    hub_url: str,
    status: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = enrolled(tmp_path, "a", hub)
    new_case(a, "Invented Worker Dara")
    path = stick_bundle(a, tmp_path / "stick")
    if status == "revoked":
        desk_revoke(hub.storage, desk_id(a))
        reason = f"desk {desk_id(a)} has been revoked"
    elif status == "unknown":  # a desk of another hub, whose bundle lands here
        stranger, ident = uuid7(), new_identity()
        path = tmp_path / "stranger.mrcbundle"
        batch = seal_batch(ident, hub.identity.public, pending(a.db, desk_id(a))[0].signed)
        write_bundle(path, ident, sender=stranger, recipient=HUB_NAME,
                     recipient_key=hub.identity.public, batches=[batch], has={})  # fmt: skip
        reason = f"desk '{stranger}' is not enrolled at this hub"
    else:
        waiting = FakeDesk("Invented waiting desk")
        hub.storage.enrol_desk(waiting.id, waiting.signing_key, None, "", utc_now())
        path = tmp_path / "waiting.mrcbundle"
        write_bundle(path, waiting.identity, sender=waiting.id, recipient=HUB_NAME,
                     recipient_key=hub.identity.public, batches=[], has={})  # fmt: skip
        reason = f"desk {waiting.id} is waiting for approval (mrc-hub desk approve CODE)"
    before = hub_tables(hub.storage)
    capsys.readouterr()
    reply = tmp_path / "reply.mrcbundle"
    assert hub_cli(["bundle", "import", str(path), "--reply", str(reply), "--db", hub_url]) == 1
    err = capsys.readouterr().err
    assert err == f"mrc-hub: {path}: {reason}; nothing stored\n"
    assert hub_tables(hub.storage) == before and not reply.exists()
    assert hub_cli(["bundle", "export", "--desk", desk_id(a), str(reply), "--db", hub_url]) == (
        1 if status == "revoked" else 0
    )


def test_a_bundle_for_another_hub_or_altered_anywhere_stores_nothing(
    tmp_path: Path, hub: Hub, relay: HubRelay
) -> None:
    a = enrolled(tmp_path, "a", hub)
    new_case(a, "Invented Worker Dara")
    good = stick_bundle(a, tmp_path / "stick").read_bytes()
    ident = require_identity(a.db)
    elsewhere = new_identity().public
    path = tmp_path / "elsewhere.mrcbundle"
    batch = seal_batch(ident, elsewhere, pending(a.db, desk_id(a))[0].signed)
    write_bundle(path, ident, sender=desk_id(a), recipient=HUB_NAME, recipient_key=elsewhere,
                 batches=[batch], has={})  # fmt: skip
    before = hub_tables(hub.storage)
    with pytest.raises(BundleRefused, match="for another desk or hub, not this one"):
        import_desk_bundle(hub.storage, relay, path.read_bytes())

    reasons = set()
    for offset in range(len(good)):
        bad = bytearray(good)
        bad[offset] ^= 0x01
        with pytest.raises(BundleRefused) as refused:
            import_desk_bundle(hub.storage, relay, bytes(bad))
        reasons.add(str(refused.value).split(" (")[0].split(":")[0])
    for cut in (0, 8, 100, len(good) // 2, len(good) - 1):
        with pytest.raises(BundleRefused):
            import_desk_bundle(hub.storage, relay, good[:cut])
    assert hub_tables(hub.storage) == before
    assert "bad signature" in reasons  # most flips: the signature no longer covers the bytes
    assert import_desk_bundle(hub.storage, relay, good).stored == 1  # the real one still goes in


def test_a_batch_without_consent_stops_the_import_there_and_is_not_stored(
    tmp_path: Path,
    hub: Hub,
    relay: HubRelay,
    hub_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    desk = fake_desk(hub.storage, hub.centre)
    outbox, replica = Outbox(desk, hub.identity.public), Replica()
    given, first = replica.new_case(name="Invented Worker Dara")
    private, second = replica.new_case(consent=NO_SYNC_CONSENT, name="Invented Worker Sokha")
    _, third = replica.new_case(name="Invented Worker Kosal")
    batches = [outbox.next(changes) for changes in (first, second, third)]
    path = tmp_path / "office.mrcbundle"
    write_bundle(path, desk.identity, sender=desk.id, recipient=HUB_NAME,
                 recipient_key=hub.identity.public, batches=batches, has={})  # fmt: skip

    assert hub_cli(["bundle", "import", str(path), "--db", hub_url]) == 1
    out, err = capsys.readouterr()
    assert "stored 1 batch, 0 already here, 1 refused" in out
    assert err == (
        f"mrc-hub: refused batch 2 of 3 (#2): batch #2 of desk {desk.id}: consent does not allow"
        f" sync for case {private} (no consent to sending it to the network hub is recorded);"
        " the whole batch is refused; 1 after it not tried\n"
    )
    assert [i.seq for i in hub.storage.feed(hub.centre, 0, 10, None)] == [1]
    assert hub.storage.case_consent(hub.centre, private) is None
    assert b"Invented Worker Sokha" not in json.dumps(hub_tables(hub.storage), default=str).encode()
    assert hub.storage.case_consent(hub.centre, given) is not None

    # The same bundle again: batch 1 a duplicate, batch 2 refused the same way.
    got = import_desk_bundle(hub.storage, relay, path.read_bytes())
    assert (got.stored, got.duplicates, got.not_tried) == (0, 1, 1)
    assert got.refused is not None and got.refused.startswith("batch 2 of 3 (#2): ")


def test_a_return_bundle_holds_what_fits_and_the_rest_comes_next_time(
    tmp_path: Path, hub: Hub, relay: HubRelay
) -> None:
    office = fake_desk(hub.storage, hub.centre)
    outbox, replica = Outbox(office, hub.identity.public), Replica(ms=START_MS)
    sealed = [outbox.next(replica.new_case(name=f"Invented Worker {n}")[1]) for n in range(4)]
    path = tmp_path / "office.mrcbundle"
    write_bundle(path, office.identity, sender=office.id, recipient=HUB_NAME,
                 recipient_key=hub.identity.public, batches=sealed, has={})  # fmt: skip
    assert import_desk_bundle(hub.storage, relay, path.read_bytes()).stored == 4
    b = enrolled(tmp_path, "b", hub)
    peers = relay.centre_peers(hub.storage, hub.centre)
    one = max(len(s) for s in sealed) + 4
    room = FRAME_RESERVE + len(canonical_json(peers)) + 2 * one + one // 2  # 2.5 batches

    seen = []
    while True:
        answer = export_return_bundle(
            hub.storage, relay, desk_id(b), tmp_path / "for-b.mrcbundle", load_chain(b.db),
            max_bytes=room,
        )  # fmt: skip
        if answer.batches == 0:
            break
        import_bundle(b.db, require_identity(b.db), answer.path)
        seen.append((answer.batches, answer.more, load_chain(b.db)[office.id].seq))
    assert seen == [(2, True, 2), (2, False, 4)]


def test_revoked_desks_batches_still_go_and_an_old_bundle_cannot_bring_the_desk_back(
    tmp_path: Path, hub: Hub, relay: HubRelay
) -> None:
    a, b = enrolled(tmp_path, "a", hub), enrolled(tmp_path, "b", hub)
    new_case(a, "Invented Worker Dara")
    import_desk_bundle(hub.storage, relay, stick_bundle(a, tmp_path / "a").read_bytes())
    older = export_return_bundle(hub.storage, relay, desk_id(b), tmp_path / "older.mrcbundle")
    assert older.batches == 1
    desk_revoke(hub.storage, desk_id(a))
    # What a sent while approved still reaches b: the peers carry its certificate as revoked.
    newer = export_return_bundle(hub.storage, relay, desk_id(b), tmp_path / "newer.mrcbundle")
    assert newer.batches == 1
    import_bundle(b.db, require_identity(b.db), newer.path)
    assert desk_id(a) in load_peers(b.db).revoked and names(b) == {"Invented Worker Dara"}
    before = load_peers(b.db)
    with pytest.raises(BundleError, match="nothing new"):
        import_bundle(b.db, require_identity(b.db), older.path)  # lists a as approved
    assert load_peers(b.db) == before


def test_a_desk_checks_the_carried_peers_with_its_pinned_hub_key_and_reads_old_bundles(
    tmp_path: Path, hub: Hub, relay: HubRelay
) -> None:
    a, b = enrolled(tmp_path, "a", hub), enrolled(tmp_path, "b", hub)
    new_case(a, "Invented Worker Dara")
    import_desk_bundle(hub.storage, relay, stick_bundle(a, tmp_path / "a").read_bytes())
    b_key = require_identity(b.db).public
    signed = [i.data for i in hub.storage.feed(hub.centre, 0, 10, desk_id(b))]
    path = tmp_path / "for-b.mrcbundle"

    def answer(peers: dict[str, object] | None) -> Path:
        write_bundle(path, hub.identity, sender=HUB_NAME, recipient=desk_id(b),
                     recipient_key=b_key, batches=[seal_batch(hub.identity, b_key, s)
                                                   for s in signed],
                     has={}, peers=peers)  # fmt: skip
        return path

    listed = relay.centre_peers(hub.storage, hub.centre)
    # A certificate signed by another key than the pinned hub key is left out.
    a_desk = hub.storage.desk(desk_id(a))
    assert a_desk is not None
    other_hub = SigningKey.generate()
    forged = {**listed, "desks": [
        {"desk_id": a_desk.id,
         "certificate": issue_certificate(other_hub, a_desk.id, hub.centre, a_desk.signing_key,
                                          utc_now())},
    ]}  # fmt: skip
    with pytest.raises(BundleError, match="unknown desk"):
        import_bundle(b.db, require_identity(b.db), answer(forged))
    with pytest.raises(BundleError, match="another key than the one pinned"):
        import_bundle(b.db, require_identity(b.db), answer({**listed, "hub_key": "QUJD"}))
    with pytest.raises(BundleError, match="the desks of another centre"):
        import_bundle(b.db, require_identity(b.db), answer({**listed, "centre_id": uuid7()}))
    # A bundle without peers (as before the field existed) is read; b then lacks a's key.
    with pytest.raises(BundleError, match="unknown desk"):
        import_bundle(b.db, require_identity(b.db), answer(None))
    assert names(b) == set() and set(load_peers(b.db).peers.desks) == {desk_id(b)}
    done = import_bundle(b.db, require_identity(b.db), answer(listed))
    assert done.received.batches == 1 and names(b) == {"Invented Worker Dara"}


def test_bundle_commands_say_what_is_wrong_with_their_arguments(
    tmp_path: Path, hub: Hub, hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.mrcbundle"
    assert hub_cli(["bundle", "import", str(missing), "--db", hub_url]) == 1
    assert f"mrc-hub: {missing}: cannot read" in capsys.readouterr().err
    assert hub_cli(["bundle", "import", hub_url if "://" not in hub_url else __file__,
                    "--db", hub_url]) == 1  # fmt: skip
    assert "not an MRC Desk bundle; nothing stored" in capsys.readouterr().err
    nobody = uuid7()
    assert hub_cli(["bundle", "export", "--desk", nobody, str(tmp_path), "--db", hub_url]) == 1
    assert capsys.readouterr().err == (
        f"mrc-hub: desk '{nobody}' is not enrolled at this hub; no return bundle written\n"
    )
    with pytest.raises(SystemExit) as usage:
        hub_cli(["bundle", "export", str(tmp_path), "--db", hub_url])
    assert usage.value.code == 2 and "--desk" in capsys.readouterr().err
