"""The hub opens, checks and relays batches (docs/sync.md, "Hub relay"), on both backends.

What a desk would notice: its real batch is taken once (a retry is a duplicate even
with a new seal), reaches the other desks of its centre sealed to each of them and
signed by it, and anything else — a flipped bit, another desk's signature, a gap or
fork in its chain, a case without consent to sync, a clock a day ahead — is refused
with a reason, leaving the hub's database exactly as it was.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.auth import unb64, verify_certificate
from mrc_desktop.hub.relay import consent_allows_sync
from mrc_desktop.hub.storage import HubStorage
from mrc_desktop.hub.storage_sql import SqlHubStorage
from mrc_desktop.sync import capture
from mrc_desktop.sync.batches import BatchError, ChainLink, decode_batch, open_batch
from mrc_desktop.sync.changes import changes_from_json
from mrc_desktop.sync.keys import Identity, Peers, PublicIdentity
from mrc_desktop.sync.merge import apply_changes
from tests.hub.batches import (
    HOUR_MS,
    NO_SYNC_CONSENT,
    SYNC_CONSENT,
    WITHDRAWN,
    Outbox,
    Replica,
    sealed_by,
)
from tests.hub.desks import FakeDesk
from tests.hub.test_api import enrolled, feed, put
from tests.sync.desks import open_desk

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HUB_TABLES = ("hub_meta", "centres", "desks", "batches", "alerts", "case_consent")


@pytest.fixture
def client(storage: HubStorage) -> Iterator[TestClient]:
    with TestClient(create_app(storage)) as c:
        yield c


@pytest.fixture
def hub_key(storage: HubStorage) -> PublicIdentity:
    return Identity(storage.hub_key_seed()).public


@pytest.fixture
def centre(storage: HubStorage) -> str:
    return storage.add_centre("Centre A").id


def hub_tables(storage: HubStorage) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every hub table: 'nothing stored' means this did not change."""
    assert isinstance(storage, SqlHubStorage)
    return {
        table: sorted((tuple(row) for row in storage._all(f"select * from {table}")), key=repr)
        for table in HUB_TABLES
    }


def peers_seen_by(client: TestClient, desk: FakeDesk, hub_key: PublicIdentity) -> Peers:
    """What a desk trusts after GET /v1/peers: each certificate checked with the pinned key."""
    answer = client.get("/v1/peers", auth=desk.auth())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    pinned = base64.b64encode(hub_key.verify_key).decode()
    assert body["hub_key"] == pinned
    desks = {}
    for entry in body["desks"]:
        claims = verify_certificate(entry["certificate"], pinned)
        assert claims["desk_id"] == entry["desk_id"]
        desks[claims["desk_id"]] = PublicIdentity(unb64(claims["desk_signing_key"], 32))
    for revoked in body["revoked"]:
        desks.pop(revoked, None)
    return Peers(desks=desks, relays={"hub": hub_key})


def refused(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    detail: str = response.json()["detail"]
    for word in words:
        assert word in detail, detail
    return detail


def test_a_desks_real_batch_is_stored_signed_and_opens_at_the_other_desk(
    client: TestClient,
    storage: HubStorage,
    centre: str,
    hub_key: PublicIdentity,
    tmp_path: Path,
) -> None:
    store_a, store_b = open_desk(tmp_path, "a"), open_desk(tmp_path, "b")
    writer = enrolled(client, storage, "Centre A", "writer")
    reader = enrolled(client, storage, "Centre A", "reader")
    outsider = enrolled(client, storage, "Centre A", "outsider")
    case_id = store_a.repo.create_case(
        {"person_name": "Invented Worker Malee", "consent": SYNC_CONSENT}
    )
    store_a.repo.add_entry(case_id, "note", {"text": "Wages unpaid since March."})
    changes = [c.to_json() for c in capture.changes_since(store_a.db, {})]
    outbox = Outbox(writer, hub_key)
    signed = outbox.sign(changes)

    answer = put(client, writer, 1, outbox.seal(signed))
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "origin": writer.id,
        "seq": 1,
        "hub_seq": 1,
        "sha256": signed.this_hash.hex(),
        "status": "stored",
    }
    [item] = storage.feed(centre, 0, 10)
    assert item.data == signed.raw  # the signed batch, not the desk's seal
    consent = storage.case_consent(centre, case_id)
    assert consent is not None and consent.allows_sync

    peers = peers_seen_by(client, reader, hub_key)
    [relayed] = feed(client, reader).json()["batches"]
    data = base64.b64decode(relayed["data"])
    batch = decode_batch(reader.identity, peers, data, {})
    assert (batch.origin, batch.seq, batch.sealed_by) == (writer.id, 1, "hub")
    assert batch.signed == signed.raw and relayed["sha256"] == batch.this_hash.hex()
    with pytest.raises(BatchError, match="wrong recipient"):
        open_batch(outsider.identity, peers, data)  # sealed to the reader alone
    other_seal = base64.b64decode(feed(client, outsider).json()["batches"][0]["data"])
    assert other_seal != data and open_batch(outsider.identity, peers, other_seal).signed == (
        signed.raw
    )

    apply_changes(store_b.db, changes_from_json(batch.changes))
    assert store_b.repo.open_case(case_id)["person_name"] == "Invented Worker Malee"
    with pytest.raises(BatchError, match="replay"):
        decode_batch(reader.identity, peers, data, {writer.id: ChainLink(1, batch.this_hash)})


def test_the_same_batch_sealed_again_is_a_duplicate(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    outbox = Outbox(desk, hub_key)
    signed = outbox.sign(Replica().new_case()[1])
    first, second = outbox.seal(signed), outbox.seal(signed)
    assert first != second  # a fresh nonce each time
    assert put(client, desk, 1, first).status_code == 201
    again = put(client, desk, 1, second)
    assert again.status_code == 200
    assert again.json() == {
        "origin": desk.id,
        "seq": 1,
        "hub_seq": 1,
        "sha256": signed.this_hash.hex(),
        "status": "duplicate",
    }
    assert [i.data for i in storage.feed(centre, 0, 10)] == [signed.raw]
    assert storage.alerts() == []


def test_another_batch_for_a_stored_seq_is_409_and_alerts_the_admin(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    replica = Replica()
    kept = Outbox(desk, hub_key).sign(replica.new_case()[1])
    assert put(client, desk, 1, Outbox(desk, hub_key).seal(kept)).status_code == 201
    other = Outbox(desk, hub_key).sign(replica.new_case()[1])  # another seq 1 (a restored desk)
    clash = put(client, desk, 1, Outbox(desk, hub_key).seal(other))
    refused(clash, 409, kept.this_hash.hex(), "alerted")
    [alert] = storage.alerts()
    assert (alert.kind, alert.origin, alert.seq) == ("batch_conflict", desk.id, 1)
    assert (alert.stored_sha256, alert.offered_sha256) == (
        kept.this_hash.hex(),
        other.this_hash.hex(),
    )
    assert [i.data for i in storage.feed(centre, 0, 10)] == [kept.raw]


def test_a_gap_or_a_fork_in_the_chain_is_409_naming_it(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    replica, outbox = Replica(), Outbox(desk, hub_key)
    assert put(client, desk, 1, outbox.next(replica.new_case()[1])).status_code == 201
    before = hub_tables(storage)

    lost = outbox.sign(replica.new_case()[1])  # #2 never arrives
    third = outbox.next(replica.new_case()[1])
    refused(put(client, desk, 3, third), 409, "gap: batch #3", "#2 is the next")
    forked = Outbox(desk, hub_key, seq=1, last=bytes(32)).next(replica.new_case()[1])
    refused(put(client, desk, 2, forked), 409, "fork: batch #2", "does not follow batch #1")
    assert hub_tables(storage) == before

    assert put(client, desk, 2, outbox.seal(lost)).status_code == 201
    assert put(client, desk, 3, third).status_code == 201
    assert [i.seq for i in storage.feed(centre, 0, 10)] == [1, 2, 3]


def test_a_flipped_bit_or_a_cut_anywhere_is_refused_and_nothing_is_stored(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    sealed = Outbox(desk, hub_key).next(Replica().new_case()[1])
    before = hub_tables(storage)
    head = 4 + 1 + 32 + 32 + 8 + 1 + len(desk.id)  # the clear header: every byte of it
    offsets = sorted({*range(head), *range(head, len(sealed), 13), len(sealed) - 1})
    for offset in offsets:
        flipped = bytearray(sealed)
        flipped[offset] ^= 1 << (offset % 8)
        answer = put(client, desk, 1, bytes(flipped))
        assert answer.status_code in (400, 422), (offset, answer.text)
    for length in (1, head - 1, head, head + 24, len(sealed) // 2, len(sealed) - 1):
        answer = put(client, desk, 1, sealed[:length])
        assert answer.status_code == 400, (length, answer.text)
    assert hub_tables(storage) == before
    assert put(client, desk, 1, sealed).status_code == 201


def test_a_batch_signed_or_sealed_by_another_desk_is_refused(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    colleague = enrolled(client, storage, "Centre A", "colleague")
    changes = Replica().new_case()[1]
    before = hub_tables(storage)
    forged = sealed_by(colleague.identity, desk.identity, hub_key, desk.id, 1, changes)
    refused(put(client, desk, 1, forged), 400, "bad signature")
    theirs = Outbox(colleague, hub_key).next(changes)
    refused(put(client, desk, 1, theirs), 400, "cannot be opened")
    not_for_hub = Outbox(desk, colleague.identity.public).next(changes)
    refused(put(client, desk, 1, not_for_hub), 400, "wrong recipient")
    other_slot = Outbox(desk, hub_key).next(changes)  # batch #1 offered as #2
    refused(put(client, desk, 2, other_slot), 400, "not #2")
    assert hub_tables(storage) == before


def test_a_case_without_consent_to_sync_refuses_the_whole_batch(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    replica, outbox = Replica(), Outbox(desk, hub_key)
    allowed_id, allowed = replica.new_case(SYNC_CONSENT)
    private_id, private = replica.new_case(NO_SYNC_CONSENT, name="Invented Worker Thida")
    before = hub_tables(storage)
    refused(put(client, desk, 1, outbox.next(allowed + private)), 422, private_id, "consent")
    assert allowed_id not in refused(
        put(client, desk, 1, Outbox(desk, hub_key).next(allowed + replica.note(private_id))),
        422,
        private_id,
    )
    assert hub_tables(storage) == before

    # Consent given later in the same batch: the newest consent change counts.
    outbox = Outbox(desk, hub_key)
    given = private + replica.note(private_id) + replica.consent(private_id, SYNC_CONSENT)
    assert put(client, desk, 1, outbox.next(allowed + given)).status_code == 201
    # Then the hub's stored consent allows edits and notes that carry none.
    later = replica.edit(private_id, "status", "closed") + replica.note(allowed_id)
    assert put(client, desk, 2, outbox.next(later)).status_code == 201
    # A withdrawal is refused with the batch it is in (the desk holds such changes back).
    withdrawn = outbox.next(replica.consent(private_id, WITHDRAWN))
    refused(put(client, desk, 3, withdrawn), 422, private_id)
    consent = storage.case_consent(centre, private_id)
    assert consent is not None and consent.allows_sync
    assert [i.seq for i in storage.feed(centre, 0, 10)] == [1, 2]


def test_timestamps_more_than_24_hours_ahead_of_the_hub_are_refused(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    replica, outbox = Replica(), Outbox(desk, hub_key)
    before = hub_tables(storage)
    ahead = outbox.next(replica.new_case()[1] + replica.new_case(ahead_ms=25 * HOUR_MS)[1])
    refused(put(client, desk, 1, ahead), 422, "change 4 is stamped 25.0 hours ahead")
    assert hub_tables(storage) == before
    within = Outbox(desk, hub_key).next(replica.new_case(ahead_ms=23 * HOUR_MS)[1])
    assert put(client, desk, 1, within).status_code == 201


def test_a_malformed_change_is_422_naming_it(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, "Centre A", "desk")
    changes = Replica().new_case()[1]
    changes[1] = {**changes[1], "tbl": "Cases; drop table"}
    refused(put(client, desk, 1, Outbox(desk, hub_key).next(changes)), 422, "change 1: tbl")
    assert storage.feed(centre, 0, 10) == []


def test_peers_lists_the_centres_certificates_and_its_revoked_desks(
    client: TestClient, storage: HubStorage, centre: str, hub_key: PublicIdentity
) -> None:
    storage.add_centre("Centre B")
    one = enrolled(client, storage, "Centre A", "one")
    two = enrolled(client, storage, "Centre A", "two")
    gone = enrolled(client, storage, "Centre A", "gone")
    elsewhere = enrolled(client, storage, "Centre B", "elsewhere")
    # The revoked desk's batch, accepted while it was approved, stays in the feed.
    sealed = Outbox(gone, hub_key).next(Replica().new_case()[1])
    assert put(client, gone, 1, sealed).status_code == 201
    storage.revoke_desk(gone.id, "2026-11-20T09:00:00.000Z")

    body = client.get("/v1/peers", auth=one.auth()).json()
    assert (body["centre_id"], body["revoked"]) == (centre, [gone.id])
    assert sorted(d["desk_id"] for d in body["desks"]) == sorted([one.id, two.id])
    peers = peers_seen_by(client, one, hub_key)
    assert dict(peers.desks) == {one.id: one.identity.public, two.id: two.identity.public}
    assert client.get("/v1/peers", auth=gone.auth()).status_code == 403
    theirs = client.get("/v1/peers", auth=elsewhere.auth()).json()
    assert [d["desk_id"] for d in theirs["desks"]] == [elsewhere.id] and theirs["revoked"] == []
    assert client.get("/v1/peers").status_code == 401
    spec = client.get("/openapi.json").json()
    assert {"200", "401", "403"} <= set(spec["paths"]["/v1/peers"]["get"]["responses"])
    assert {"400", "409", "422"} <= set(
        spec["paths"]["/v1/batches/{origin}/{seq}"]["put"]["responses"]
    )


@pytest.mark.parametrize(
    ("consent", "allows"),
    [
        ('{"sync": {"given": true, "on": "2026-11-02"}}', True),
        ('{"sync": {"given": false}}', False),
        ('{"sync": {"given": "true"}}', False),
        ('{"sync": true}', False),
        ('{"counselling": {"given": true}}', False),
        ("{}", False),
        ("not JSON", False),
        (None, False),
    ],
)
def test_only_consent_given_for_sync_allows_it(consent: str | None, allows: bool) -> None:
    assert consent_allows_sync(consent) is allows
