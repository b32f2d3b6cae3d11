"""Hostile input is refused whole, with a clear message, and changes nothing.

At the desk (``mrc sync import-bundle``, and the feed items a pull applies): a flipped
byte at every offset of a return bundle and of a feed item, a cut at every length, a
replayed bundle, two batches for one slot, a bundle not signed by the hub, one for
another desk, batches of an unknown, a revoked or another centre's desk, an
acknowledgement of a batch the desk never made. After each, the desk's case store file is
**byte-identical** (hashed with every connection closed; opening the store writes
nothing, and no -wal file is left).

At the hub (``PUT /v1/batches`` and ``mrc-hub bundle import``, on SQLite and PostgreSQL):
damaged and cut batches and bundles, a replayed batch or bundle (a duplicate, nothing
changes), two batches for one slot (409 and an alert, nothing else changes), an unenrolled
or revoked desk, a batch or bundle for another hub, and a batch touching a case of
another centre — which the hub refuses since this test found it took one (``OTHER_CENTRE``,
docs/sync.md "Fault tests"). Every table of the hub is unchanged after each.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.unlock import desk_id_of
from mrc_desktop.cases.users import create_user
from mrc_desktop.cli import main as mrc
from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.cli import bundle_import, desk_approve, desk_revoke
from mrc_desktop.hub.storage import ConsentMark, HubStorage, PutOutcome, utc_now
from mrc_desktop.hub.storage_sql import SqlHubStorage
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.storage.paths import app_paths
from mrc_desktop.sync.batches import ChainLink, SignedBatch, seal_batch, sign_batch
from mrc_desktop.sync.bundle import BundleError, write_bundle
from mrc_desktop.sync.client import enrol
from mrc_desktop.sync.inbox import ReceiveError, apply_sealed, import_bundle
from mrc_desktop.sync.keys import Identity, PublicIdentity, new_identity
from mrc_desktop.sync.state import HUB_NAME, load_peers, load_state, require_identity
from tests.fast_keys import FAST, MIN_COST, PASS
from tests.hub.batches import Outbox, Replica
from tests.hub.conftest import hub_url, storage  # noqa: F401 - both hub backends
from tests.hub.desks import FakeDesk
from tests.hub.test_api import enrolled, put
from tests.hub.test_storage import approved, incoming
from tests.sync.test_client import GIVEN, HUB_URL, NO_WAIT, Hub, make_hub, sync
from tests.sync.test_sync_killed import at_home

HOSTILE = "nothing from the bundle was applied"


# --- the desk -------------------------------------------------------------------------------


@dataclass
class HomeDesk:
    """A desk's data folder as ``mrc`` finds it; ``db`` is the test's own connection."""

    name: str
    home: Path
    store: Path
    db: sqlite_utils.Database
    repo: CaseRepository
    desk_id: str
    key: PublicIdentity

    def open(self) -> sqlite_utils.Database:
        self.db = open_case_store(self.store, PASS)
        self.repo = CaseRepository(self.db, self.repo.user, self.repo.desk_id)
        return self.db

    def files(self) -> dict[str, str]:
        """SHA-256 of the case store and its key file, with every connection closed; the
        store leaves no -wal or -shm file behind."""
        found = sorted(p.name for p in self.store.parent.iterdir() if p.name.startswith("cases"))
        assert found == ["cases.db", "cases.key.json"], found
        return {name: sha256(self.store.parent / name) for name in found}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def desk_at_home(root: Path, name: str, hub: Hub, centre: str | None = None) -> HomeDesk:
    home = root / name
    with at_home(home):
        paths = app_paths()
        paths.cases_db.parent.mkdir(parents=True, exist_ok=True)
        db = open_case_store(paths.cases_db, PASS, create=True, params=FAST)
        DeskStore(paths.desk_db).close()
        desk_id = desk_id_of(paths)
        first = enrol(db, desk_id, HUB_URL, transport=hub.transport, retry=NO_WAIT)
        assert desk_approve(hub.storage, first.code, centre) == 0
        enrol(db, desk_id, HUB_URL, code=first.code, transport=hub.transport)
    user = create_user(db, desk_id, f"sup-{name}", f"Supervisor {name}", "supervisor",
                       "password123", **MIN_COST)  # fmt: skip
    repo = CaseRepository(db, user, desk_id)
    return HomeDesk(name, home, paths.cases_db, db, repo, desk_id, require_identity(db).public)


def synced(desk: HomeDesk, hub: Hub) -> None:
    with at_home(desk.home):
        report = sync(desk, hub)  # type: ignore[arg-type]  # sync needs only .db
    assert report.ok, report.errors


def new_case(desk: HomeDesk, name: str) -> str:
    case = desk.repo.create_case({"person_name": name, "consent": GIVEN})
    desk.repo.add_entry(case, "note", {"text": "Wages unpaid since March."})
    return case


@dataclass
class Scene:
    """Desks a and b of Centre North and their hub: a's batch #1 is applied at b, #2 is
    at the hub and not yet at b (``fresh``: the signed batch the next bundle carries)."""

    hub: Hub
    a: HomeDesk
    b: HomeDesk
    first: bytes
    fresh: bytes
    root: Path

    def return_bundle(
        self,
        path: Path,
        signed: list[bytes],
        *,
        to: HomeDesk | None = None,
        writer: Identity | None = None,
        has: dict[str, ChainLink] | None = None,
    ) -> Path:
        """What ``mrc-hub bundle export`` writes for ``to`` (b): the hub's batches sealed
        by the hub, signed by the hub (or, to test, by ``writer``)."""
        to = to or self.b
        signer = writer or self.hub.identity
        write_bundle(
            path,
            signer,
            sender=HUB_NAME,
            recipient=to.desk_id,
            recipient_key=to.key,
            batches=[seal_batch(signer, to.key, data) for data in signed],
            has=has or {},
        )
        return path

    def import_at_b(self, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        """``mrc sync import-bundle`` at desk b, its store closed before and after."""
        capsys.readouterr()
        with at_home(self.b.home):
            code = mrc(["sync", "import-bundle", str(path)])
        captured = capsys.readouterr()
        return code, captured.err.strip() or captured.out.strip()


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    with make_hub(tmp_path / "hub.db") as hub:
        a, b = desk_at_home(tmp_path, "a", hub), desk_at_home(tmp_path, "b", hub)
        new_case(a, "Invented Worker Dara")
        synced(a, hub)
        synced(b, hub)  # b holds a's #1 and the centre's peers
        new_case(a, "Invented Worker Sokha")
        synced(a, hub)
        stored = hub.storage.feed(hub.centre, 0, 10, b.desk_id)
        assert [i.seq for i in stored] == [1, 2]
        for desk in (a, b):
            desk.db.close()
        yield Scene(hub, a, b, stored[0].data, stored[1].data, tmp_path)


def test_the_good_return_bundle_is_taken(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    """The bundle every hostile one below is made from imports (so they fail for their
    damage alone), and changes the store."""
    before = scene.b.files()
    good = scene.return_bundle(scene.root / "good.mrcbundle", [scene.fresh])
    code, said = scene.import_at_b(good, capsys)
    assert code == 0 and "applied 1 batch" in said, said
    assert scene.b.files() != before
    db = scene.b.open()
    assert db.execute("select count(*) from cases").fetchone()[0] == 2
    db.close()


def test_every_flipped_byte_and_every_cut_of_a_bundle_changes_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    good = scene.return_bundle(scene.root / "good.mrcbundle", [scene.fresh]).read_bytes()
    before = scene.b.files()
    bad = scene.root / "bad.mrcbundle"
    # Through the command for a few, with its message …
    for offset in (0, 9, len(good) // 2, len(good) - 1):
        bad.write_bytes(good[:offset] + bytes([good[offset] ^ 0xFF]) + good[offset + 1 :])
        code, said = scene.import_at_b(bad, capsys)
        assert code == 1 and HOSTILE in said and str(bad) in said, said
        assert scene.b.files() == before
    bad.write_bytes(good[: len(good) // 2])
    code, said = scene.import_at_b(bad, capsys)
    assert code == 1 and "truncated" in said and HOSTILE in said, said
    # … and every offset and length through the function the command calls, on one
    # connection (the command's open and close take ~20 ms each).
    db = scene.b.open()
    identity = require_identity(db)
    refused = 0
    for offset in range(len(good)):
        for damaged in (
            good[:offset] + bytes([good[offset] ^ (1 << (offset % 8))]) + good[offset + 1 :],
            good[:offset],
        ):
            bad.write_bytes(damaged)
            with pytest.raises((BundleError, ReceiveError)):
                import_bundle(db, identity, bad)
            refused += 1
    db.close()
    assert refused == 2 * len(good)
    assert scene.b.files() == before


def test_a_replayed_bundle_changes_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    good = scene.return_bundle(scene.root / "good.mrcbundle", [scene.fresh])
    assert scene.import_at_b(good, capsys)[0] == 0
    before = scene.b.files()
    code, said = scene.import_at_b(good, capsys)
    assert code == 1 and "nothing new" in said and HOSTILE in said, said
    assert scene.b.files() == before
    old = scene.return_bundle(scene.root / "old.mrcbundle", [scene.first])
    code, said = scene.import_at_b(old, capsys)
    assert code == 1 and "nothing new" in said, said
    assert scene.b.files() == before


def other_batch(scene: Scene, seq: int, prev: bytes, note: str) -> SignedBatch:
    """Another batch of desk a for slot ``seq``: signed by a's own key (a store restored
    from a backup, or a stolen key), so only the chain can tell it apart."""
    db = scene.a.open()
    identity = require_identity(db)
    db.close()
    replica = Replica()
    case_id, changes = replica.new_case(name="Invented Worker Mala")
    changes += replica.note(case_id, note)
    return sign_batch(identity, scene.a.desk_id, seq, prev, changes)


def test_two_batches_for_one_slot_change_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    good = scene.return_bundle(scene.root / "good.mrcbundle", [scene.fresh])
    assert scene.import_at_b(good, capsys)[0] == 0  # b holds a's #1 and #2
    before = scene.b.files()
    first_hash = hashlib.sha256(scene.first).digest()
    second = other_batch(scene, 2, first_hash, "another #2")
    third = sign_batch(require_identity(scene.a.open()), scene.a.desk_id, 3, second.this_hash, [])
    scene.a.db.close()
    forked = scene.return_bundle(scene.root / "fork.mrcbundle", [second.raw, third.raw])
    alone = scene.return_bundle(scene.root / "alone.mrcbundle", [second.raw])
    for path in (forked, alone):
        code, said = scene.import_at_b(path, capsys)
        assert code == 1 and "fork: #2" in said and HOSTILE in said, said
        assert scene.b.files() == before

    # The same other #2 as a feed item.
    db = scene.b.open()
    sealed = seal_batch(scene.hub.identity, scene.b.key, second.raw)
    with pytest.raises(ReceiveError, match=r"fork: batch #2 from .* differs from the one applied"):
        apply_sealed(db, require_identity(db), load_peers(db).peers, sealed, feed_cursor=9)
    db.close()
    assert scene.b.files() == before


def test_bundles_not_from_the_hub_or_not_for_this_desk_change_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    hub = scene.hub
    stranger = new_identity()  # enrolled nowhere
    # Desk c of the same centre, revoked after its first batch reached the hub and b; then
    # it writes a bundle of its own for b with a batch made after the revocation.
    c = desk_at_home(scene.root, "c", hub)
    new_case(c, "Invented Worker Kosal")
    synced(c, hub)
    assert desk_revoke(hub.storage, c.desk_id) == 0
    new_case(c, "Invented Worker Kosal")
    c_identity = require_identity(c.db)
    c_first = hub.storage.feed(hub.centre, 0, 10, scene.b.desk_id)[-1]
    assert c_first.origin == c.desk_id
    after_revocation = sign_batch(
        c_identity, c.desk_id, 2, bytes.fromhex(c_first.sha256), Replica().new_case()[1]
    )
    from_revoked = scene.root / "from-revoked.mrcbundle"
    write_bundle(
        from_revoked,
        c_identity,
        sender=c.desk_id,
        recipient=scene.b.desk_id,
        recipient_key=scene.b.key,
        batches=[seal_batch(c_identity, scene.b.key, after_revocation.raw)],
        has={},
    )
    # Desk d of another centre, whose batch the hub keeps in that centre.
    hub.storage.add_centre("Centre South")
    d = desk_at_home(scene.root, "d", hub, "Centre South")
    new_case(d, "Invented Worker Vanna")
    synced(d, hub)
    south = next(c.id for c in hub.storage.centres() if c.name == "Centre South")
    [from_d] = [i.data for i in hub.storage.feed(south, 0, 10, None)]
    db = scene.b.open()
    synced(scene.b, hub)  # b learns that c is revoked (and applies a's #2)
    db.close()
    before = scene.b.files()

    unknown = sign_batch(stranger, uuid7(), 1, bytes(32), Replica().new_case()[1]).raw
    cases = [
        ("a stranger's key", scene.return_bundle(
            scene.root / "x1.mrcbundle", [scene.fresh], writer=stranger), "unknown sender"),
        ("for another desk", scene.return_bundle(
            scene.root / "x2.mrcbundle", [scene.fresh], to=scene.a), "for another desk or hub"),
        ("an unknown desk's batch", scene.return_bundle(
            scene.root / "x3.mrcbundle", [unknown]), "unknown desk"),
        ("a revoked desk's own bundle", from_revoked, "unknown sender"),
        ("another centre's desk's batch", scene.return_bundle(
            scene.root / "x5.mrcbundle", [from_d]), "unknown desk"),
        ("an acknowledgement of a batch b never made", scene.return_bundle(
            scene.root / "x6.mrcbundle", [], has={scene.b.desk_id: ChainLink(7, bytes(32))}),
            "acknowledges batch #7"),
    ]  # fmt: skip
    for what, path, reason in cases:
        code, said = scene.import_at_b(path, capsys)
        assert code == 1 and reason in said and HOSTILE in said, f"{what}: {said}"
        assert scene.b.files() == before, what
    for closed in (c, d):
        closed.db.close()


def test_every_flipped_byte_and_cut_of_a_feed_item_changes_nothing(scene: Scene) -> None:
    """What a pull does with each feed item (``apply_sealed``), on items the test damages;
    test_end_to_end shows ``mrc sync`` taking the item again once it arrives whole."""
    before = scene.b.files()
    db = scene.b.open()
    identity, peers = require_identity(db), load_peers(db).peers
    item = seal_batch(scene.hub.identity, scene.b.key, scene.fresh)
    for_a = seal_batch(scene.hub.identity, scene.a.key, scene.fresh)
    for offset in range(len(item)):
        for damaged in (
            item[:offset] + bytes([item[offset] ^ (1 << (offset % 8))]) + item[offset + 1 :],
            item[:offset],
        ):
            with pytest.raises(ReceiveError):
                apply_sealed(db, identity, peers, damaged, feed_cursor=99)
    with pytest.raises(ReceiveError, match="wrong recipient"):
        apply_sealed(db, identity, peers, for_a, feed_cursor=99)
    assert load_state(db).feed_cursor != 99
    db.close()
    assert scene.b.files() == before


# --- the hub --------------------------------------------------------------------------------


def hub_rows(hub: HubStorage) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the hub's database."""
    assert isinstance(hub, SqlHubStorage)
    if hub.backend == "sqlite":
        sql = "select name from sqlite_master where type = 'table' order by name"
    else:
        sql = (
            "select table_name from information_schema.tables"
            " where table_schema = current_schema() order by table_name"
        )
    tables = [str(row[0]) for row in hub._all(sql)]
    return {
        t: sorted((tuple(row) for row in hub._all(f"select * from {t}")), key=repr) for t in tables
    }


@contextmanager
def api(hub: HubStorage) -> Iterator[Any]:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    with TestClient(create_app(hub)) as client:
        yield client


def refused(answer: Any, status: int, *words: str) -> None:
    assert answer.status_code == status, answer.text
    for word in words:
        assert word in answer.json()["detail"], answer.json()["detail"]


def test_hostile_uploads_change_nothing_at_the_hub(
    storage: HubStorage,  # noqa: F811
) -> None:
    storage.add_centre("Centre North")
    storage.add_centre("Centre South")
    hub_key = Identity(storage.hub_key_seed()).public
    with api(storage) as client:
        north = enrolled(client, storage, "Centre North", "north")
        south = enrolled(client, storage, "Centre South", "south")
        gone = enrolled(client, storage, "Centre North", "revoked")
        replica, outbox = Replica(), Outbox(north, hub_key)
        case_id, changes = replica.new_case()
        first = outbox.sign(changes)
        assert put(client, north, 1, outbox.seal(first)).status_code == 201
        assert put(client, gone, 1, Outbox(gone, hub_key).next(one_case())).status_code == 201
        storage.revoke_desk(gone.id, utc_now())
        second = outbox.sign(replica.note(case_id))
        sealed = outbox.seal(second)
        before = hub_rows(storage)

        for offset in range(0, len(sealed), max(1, len(sealed) // 24)):
            flipped = bytearray(sealed)
            flipped[offset] ^= 0x10
            refused(put(client, north, 2, bytes(flipped)), 400, "cannot be opened")
            refused(put(client, north, 2, sealed[:offset] or b"\0"), 400)
        # Another recipient: sealed for another hub's key.
        elsewhere = Outbox(north, new_identity().public, 1, first.this_hash).next([])
        refused(put(client, north, 2, elsewhere), 400, "wrong recipient")
        stranger = FakeDesk("never enrolled")
        refused(put(client, stranger, 1, Outbox(stranger, hub_key).next(one_case())), 401)
        refused(put(client, gone, 2, Outbox(gone, hub_key, 1).next(one_case())), 403, "revoked")
        # Centre South's desk writes to Centre North's case: a note, with the case's
        # consent (so consent is not what stops it).
        foreign = Replica()
        intrusion = [*foreign.consent(case_id, GIVEN), *foreign.note(case_id, "Moved.")]
        answer = put(client, south, 1, Outbox(south, hub_key).next(intrusion))
        refused(answer, 403, f"case {case_id} belongs to another centre", "whole batch")
        assert hub_rows(storage) == before

        # A replay of the stored #1 (sealed again) is a duplicate: 200, nothing changes.
        again = put(client, north, 1, outbox.seal(first))
        assert (again.status_code, again.json()["status"]) == (200, "duplicate")
        assert hub_rows(storage) == before
        # Another batch for slot #1: 409, and the alert is the only change.
        other = sign_batch(north.identity, north.id, 1, bytes(32), one_case())
        refused(put(client, north, 1, outbox.seal(other.raw)), 409, "stored with other content")
        after = hub_rows(storage)
        assert [row[1:3] for row in after.pop("alerts")] == [("batch_conflict", north.id)]
        before.pop("alerts")
        assert after == before
        assert put(client, north, 2, sealed).status_code == 201  # the real #2 still goes in


def one_case() -> list[dict[str, Any]]:
    return Replica().new_case()[1]


def desk_bundle(path: Path, desk: FakeDesk, hub_key: PublicIdentity, batches: list[bytes],
                writer: Identity | None = None) -> Path:  # fmt: skip
    write_bundle(
        path,
        writer or desk.identity,
        sender=desk.id,
        recipient=HUB_NAME,
        recipient_key=hub_key,
        batches=batches,
        has={},
    )
    return path


def test_hostile_bundles_change_nothing_at_the_hub(
    storage: HubStorage,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    storage.add_centre("Centre North")
    storage.add_centre("Centre South")
    hub_key = Identity(storage.hub_key_seed()).public
    with api(storage) as client:
        north = enrolled(client, storage, "Centre North", "north")
        south = enrolled(client, storage, "Centre South", "south")
        gone = enrolled(client, storage, "Centre North", "revoked")
    storage.revoke_desk(gone.id, utc_now())
    replica, outbox = Replica(), Outbox(north, hub_key)
    case_id, changes = replica.new_case()
    taken = desk_bundle(tmp_path / "taken.mrcbundle", north, hub_key, [outbox.next(changes)])
    assert bundle_import(storage, taken, None) == 0
    before = hub_rows(storage)

    good = desk_bundle(
        tmp_path / "good.mrcbundle", north, hub_key, [outbox.next(replica.note(case_id))]
    ).read_bytes()
    bad = tmp_path / "bad.mrcbundle"
    for offset in range(0, len(good), max(1, len(good) // 24)):
        bad.write_bytes(good[:offset] + bytes([good[offset] ^ 0x01]) + good[offset + 1 :])
        assert bundle_import(storage, bad, None) == 1
        bad.write_bytes(good[:offset])
        assert bundle_import(storage, bad, None) == 1
    foreign = Replica()
    intrusion = [*foreign.consent(case_id, GIVEN), *foreign.note(case_id, "Moved.")]
    stranger = FakeDesk("never enrolled")
    cases = [
        ("replayed", taken, "1 already here, 0 refused"),
        ("unenrolled", desk_bundle(tmp_path / "u.mrcbundle", stranger, hub_key, []),
         "is not enrolled at this hub"),
        ("revoked", desk_bundle(tmp_path / "r.mrcbundle", gone, hub_key, []),
         "has been revoked"),
        ("another hub", desk_bundle(tmp_path / "h.mrcbundle", north, new_identity().public, []),
         "for another desk or hub"),
        ("signed by another key", desk_bundle(
            tmp_path / "k.mrcbundle", north, hub_key, [], writer=new_identity()),
         "unknown sender"),
        ("another centre's case", desk_bundle(
            tmp_path / "c.mrcbundle", south, hub_key, [Outbox(south, hub_key).next(intrusion)]),
         f"case {case_id} belongs to another centre"),
    ]  # fmt: skip
    for what, path, reason in cases:
        capsys.readouterr()
        bundle_import(storage, path, None)
        said = " ".join(capsys.readouterr())
        assert reason in said, f"{what}: {said}"
        assert hub_rows(storage) == before, what
    bad.write_bytes(good)
    assert bundle_import(storage, bad, None) == 0  # the undamaged bundle goes in


def test_a_case_belongs_to_the_centre_that_first_stored_it(
    storage: HubStorage,  # noqa: F811
) -> None:
    """The hub's rule, in its storage: a batch of another centre touching the case is
    refused whole, including the new cases it would have claimed; the owner carries on."""
    north, south = storage.add_centre("Centre North"), storage.add_centre("Centre South")
    ours, theirs = approved(storage, north.id), approved(storage, south.id)
    given = ConsentMark("1790000000000-00000-01a20990-0000-7000-8000-0000000000aa", True)
    case, new = "01a20990-0000-7000-8000-000000000001", "01a20990-0000-7000-8000-000000000002"
    first = incoming(ours.id, 1, b"n1", None, (case,), {case: given})
    assert storage.put_batch(north.id, first, utc_now()).outcome is PutOutcome.STORED

    both = incoming(theirs.id, 1, b"s1", None, (new, case), {new: given, case: given})
    result = storage.put_batch(south.id, both, utc_now())
    assert result.outcome is PutOutcome.OTHER_CENTRE
    assert f"case {case} belongs to another centre" in result.reason
    assert new not in result.reason
    assert storage.chain_head(theirs.id) is None and storage.feed(south.id, 0, 10) == []
    assert storage.case_consent(south.id, case) is None
    # The new case was not claimed by the refused batch: South may still store it …
    alone = incoming(theirs.id, 1, b"s1b", None, (new,), {new: given})
    assert storage.put_batch(south.id, alone, utc_now()).outcome is PutOutcome.STORED
    # … and now it is South's: North may not touch it.
    second = incoming(ours.id, 2, b"n2", b"n1", (case, new), {new: given})
    assert storage.put_batch(north.id, second, utc_now()).outcome is PutOutcome.OTHER_CENTRE
    later = incoming(ours.id, 2, b"n2b", b"n1", (case,))
    assert storage.put_batch(north.id, later, utc_now()).outcome is PutOutcome.STORED


def test_a_hub_from_before_the_rule_gives_its_cases_to_their_centres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0004 takes the owners from what the hub stored before it."""
    from mrc_desktop.hub import storage_sqlite
    from mrc_desktop.hub.storage import open_storage

    path = str(tmp_path / "hub.db")
    given = ConsentMark("1790000000000-00000-01a20990-0000-7000-8000-0000000000aa", True)
    case = "01a20990-0000-7000-8000-0000000000c6"
    with monkeypatch.context() as before_the_rule:
        before_the_rule.setattr(storage_sqlite, "MIGRATIONS", storage_sqlite.MIGRATIONS[:3])
        old = open_storage(path)
        assert isinstance(old, SqlHubStorage)
        north = old.add_centre("Centre North")
        ours = approved(old, north.id)
        with old._transaction() as tx:  # what the hub's puts kept before the rule
            tx.execute(
                "insert into case_consent (centre_id, case_id, hlc, allows_sync)"
                " values (?, ?, ?, 1)",
                north.id,
                case,
                given.hlc,
            )
        old.close()
    hub = open_storage(path)
    south = hub.add_centre("Centre South")
    theirs = approved(hub, south.id)
    intrusion = incoming(theirs.id, 1, b"s1", None, (case,), {case: given})
    assert hub.put_batch(south.id, intrusion, utc_now()).outcome is PutOutcome.OTHER_CENTRE
    owned = incoming(ours.id, 1, b"n1", None, (case,))
    assert hub.put_batch(north.id, owned, utc_now()).outcome is PutOutcome.STORED
    hub.close()


def test_centres_racing_for_one_new_case_store_one_of_them(
    storage: HubStorage,  # noqa: F811
) -> None:
    """PostgreSQL locks only each centre's row: two centres' puts run at once, and still
    only one centre gets the case."""
    given = ConsentMark("1790000000000-00000-01a20990-0000-7000-8000-0000000000aa", True)
    case = "01a20990-0000-7000-8000-0000000000c5"
    centres = [storage.add_centre(f"Centre {n}") for n in range(4)]
    desks = [approved(storage, c.id) for c in centres]
    outcomes: list[PutOutcome] = []
    lock = threading.Lock()
    start = threading.Barrier(len(desks))

    def put_case(n: int) -> None:
        batch = incoming(desks[n].id, 1, b"%d" % n, None, (case,), {case: given})
        start.wait()
        outcome = storage.put_batch(centres[n].id, batch, utc_now()).outcome
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=put_case, args=(n,)) for n in range(len(desks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted([PutOutcome.STORED] + [PutOutcome.OTHER_CENTRE] * 3)
    holders = [c.id for c in centres if storage.feed(c.id, 0, 10)]
    assert len(holders) == 1
