"""The hub's storage, the same suite on SQLite and PostgreSQL (see conftest.hub_url)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from mrc_desktop.hub.storage import (
    GENESIS_HASH,
    ChainHead,
    ConsentMark,
    DeskConflictError,
    DeskStatus,
    HubStorage,
    IncomingBatch,
    PutOutcome,
    SchemaTooNewError,
    UnknownCentreError,
    UnknownDeskError,
    normalise_code,
    open_storage,
    redact_url,
    sha256_hex,
    utc_now,
)
from tests.hub.desks import FakeDesk

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
CASE_1 = "01a20990-0000-7000-8000-000000000001"
CASE_2 = "01a20990-0000-7000-8000-000000000002"
# Consent changes' timestamps (only their order matters to the storage).
EARLY, LATER, LATEST = (
    f"17900000{n}0000-00000-01a20990-0000-7000-8000-0000000000aa" for n in (1, 2, 3)
)


def incoming(
    origin: str,
    seq: int,
    data: bytes,
    after: bytes | None = None,
    cases: tuple[str, ...] = (),
    consent: dict[str, ConsentMark] | None = None,
) -> IncomingBatch:
    """A batch as the relay hands it over: ``after`` is the previous batch's data (the
    storage treats data as opaque; its SHA-256 is the chain's hash)."""
    prev = GENESIS_HASH if after is None else sha256_hex(after)
    return IncomingBatch(origin, seq, prev, data, frozenset(cases), consent or {})


def approved(storage: HubStorage, centre_id: str, label: str = "desk") -> FakeDesk:
    desk = FakeDesk(label)
    storage.enrol_desk(desk.id, desk.signing_key, desk.box_key, label, utc_now())
    storage.approve_desk(desk.id, centre_id, "{}", utc_now())
    return desk


def test_centres_are_listed_in_order_and_names_are_unique(storage: HubStorage) -> None:
    north = storage.add_centre("North Centre")
    south = storage.add_centre("South Centre")
    assert [c.name for c in storage.centres()] == ["North Centre", "South Centre"]
    assert storage.centre(south.id) == south
    assert storage.centre("no-such-centre") is None
    with pytest.raises(DeskConflictError, match="North Centre"):
        storage.add_centre("North Centre")
    assert storage.centres() == [north, south]


def test_enrolment_gives_a_readable_code_and_a_retry_gets_the_same_one(
    storage: HubStorage,
) -> None:
    desk = FakeDesk("Intake desk")
    first = storage.enrol_desk(desk.id, desk.signing_key, desk.box_key, desk.label, utc_now())
    assert first.status is DeskStatus.PENDING
    assert CODE.match(first.code), first.code
    assert first.centre_id is None and first.certificate is None
    again = storage.enrol_desk(desk.id, desk.signing_key, desk.box_key, desk.label, utc_now())
    assert again == first
    assert storage.desk_by_code(first.code) == first
    assert storage.desks() == [first]


def test_a_desk_id_or_key_cannot_be_taken_over(storage: HubStorage) -> None:
    desk, intruder = FakeDesk(), FakeDesk()
    storage.enrol_desk(desk.id, desk.signing_key, None, "", utc_now())
    with pytest.raises(DeskConflictError, match="another key"):
        storage.enrol_desk(desk.id, intruder.signing_key, None, "", utc_now())
    with pytest.raises(DeskConflictError, match="another desk"):
        storage.enrol_desk(intruder.id, desk.signing_key, None, "", utc_now())
    assert [d.id for d in storage.desks()] == [desk.id]
    assert storage.desk(desk.id).signing_key == desk.signing_key  # type: ignore[union-attr]


def test_codes_differ_between_desks(storage: HubStorage) -> None:
    codes = {
        storage.enrol_desk(d.id, d.signing_key, None, "", utc_now()).code
        for d in (FakeDesk() for _ in range(20))
    }
    assert len(codes) == 20


def test_approval_puts_a_pending_desk_into_one_centre(storage: HubStorage) -> None:
    centre = storage.add_centre("Centre A")
    desk = FakeDesk()
    storage.enrol_desk(desk.id, desk.signing_key, None, "", utc_now())
    with pytest.raises(UnknownCentreError):
        storage.approve_desk(desk.id, "no-such-centre", "{}", utc_now())
    assert storage.desk(desk.id).status is DeskStatus.PENDING  # type: ignore[union-attr]
    done = storage.approve_desk(desk.id, centre.id, '{"cert": 1}', utc_now())
    assert (done.status, done.centre_id, done.certificate) == (
        DeskStatus.APPROVED,
        centre.id,
        '{"cert": 1}',
    )
    with pytest.raises(DeskConflictError, match="approved, not pending"):
        storage.approve_desk(desk.id, centre.id, "{}", utc_now())
    with pytest.raises(UnknownDeskError):
        storage.approve_desk(FakeDesk().id, centre.id, "{}", utc_now())


def test_revoked_desks_stay_revoked(storage: HubStorage) -> None:
    centre = storage.add_centre("Centre A")
    desk = approved(storage, centre.id)
    revoked = storage.revoke_desk(desk.id, utc_now())
    assert revoked.status is DeskStatus.REVOKED
    assert storage.revoke_desk(desk.id, utc_now()) == revoked
    with pytest.raises(DeskConflictError, match="revoked"):
        storage.approve_desk(desk.id, centre.id, "{}", utc_now())
    with pytest.raises(UnknownDeskError):
        storage.revoke_desk(FakeDesk().id, utc_now())
    # A retried enrolment with the same key does not bring it back.
    again = storage.enrol_desk(desk.id, desk.signing_key, None, "", utc_now())
    assert again.status is DeskStatus.REVOKED


def test_put_is_idempotent_and_a_conflict_changes_nothing_but_the_alerts(
    storage: HubStorage,
) -> None:
    centre = storage.add_centre("Centre A")
    desk = approved(storage, centre.id)
    batch = b"\x00signed batch one\xff"
    stored = storage.put_batch(centre.id, incoming(desk.id, 1, batch), utc_now())
    assert (stored.outcome, stored.hub_seq, stored.sha256) == (
        PutOutcome.STORED,
        1,
        sha256_hex(batch),
    )
    again = storage.put_batch(centre.id, incoming(desk.id, 1, batch), utc_now())
    assert (again.outcome, again.hub_seq) == (PutOutcome.DUPLICATE, 1)
    assert storage.alerts() == []

    other = b"other bytes for the same slot"
    clash = storage.put_batch(centre.id, incoming(desk.id, 1, other), utc_now())
    assert (clash.outcome, clash.hub_seq, clash.sha256) == (
        PutOutcome.CONFLICT,
        1,
        sha256_hex(batch),
    )
    storage.put_batch(centre.id, incoming(desk.id, 1, other), utc_now())
    [alert] = storage.alerts()
    assert (alert.kind, alert.origin, alert.seq, alert.count) == ("batch_conflict", desk.id, 1, 2)
    assert (alert.stored_sha256, alert.offered_sha256) == (sha256_hex(batch), sha256_hex(other))
    [item] = storage.feed(centre.id, 0, 10)
    assert item.data == batch


def test_hub_sequence_counts_per_centre(storage: HubStorage) -> None:
    a, b = storage.add_centre("Centre A"), storage.add_centre("Centre B")
    desk_a, desk_b = approved(storage, a.id), approved(storage, b.id)
    seqs_a = [
        storage.put_batch(a.id, incoming(desk_a.id, 1, b"a1"), utc_now()).hub_seq,
        storage.put_batch(a.id, incoming(desk_a.id, 2, b"a2", b"a1"), utc_now()).hub_seq,
    ]
    seqs_b = [
        storage.put_batch(b.id, incoming(desk_b.id, 1, b"b1"), utc_now()).hub_seq,
        storage.put_batch(b.id, incoming(desk_b.id, 2, b"b2", b"b1"), utc_now()).hub_seq,
    ]
    assert seqs_a == seqs_b == [1, 2]
    assert storage.put_batch(a.id, incoming(desk_a.id, 3, b"a3", b"a2"), utc_now()).hub_seq == 3


def test_feed_pages_in_hub_order_without_the_callers_own_or_other_centres(
    storage: HubStorage,
) -> None:
    a, b = storage.add_centre("Centre A"), storage.add_centre("Centre B")
    one, two, elsewhere = approved(storage, a.id), approved(storage, a.id), approved(storage, b.id)
    storage.put_batch(a.id, incoming(one.id, 1, b"one-1"), utc_now())
    storage.put_batch(a.id, incoming(two.id, 1, b"two-1"), utc_now())
    storage.put_batch(b.id, incoming(elsewhere.id, 1, b"elsewhere-1"), utc_now())
    storage.put_batch(a.id, incoming(one.id, 2, b"one-2", b"one-1"), utc_now())
    storage.put_batch(a.id, incoming(two.id, 2, b"two-2", b"two-1"), utc_now())

    everything = storage.feed(a.id, 0, 100)
    assert [(i.data, i.hub_seq) for i in everything] == [
        (b"one-1", 1),
        (b"two-1", 2),
        (b"one-2", 3),
        (b"two-2", 4),
    ]
    assert [i.data for i in storage.feed(a.id, 0, 100, exclude_origin=two.id)] == [
        b"one-1",
        b"one-2",
    ]
    first = storage.feed(a.id, 0, 2)
    rest = storage.feed(a.id, first[-1].hub_seq, 2)
    assert [i.data for i in first + rest] == [i.data for i in everything]
    assert storage.feed(a.id, 4, 100) == []
    assert [i.data for i in storage.feed(b.id, 0, 100)] == [b"elsewhere-1"]
    # What the caller holds (origin → last seq) is left out; other origins are untouched.
    held = storage.feed(a.id, 0, 100, exclude_origin=None, held={one.id: 1, elsewhere.id: 1})
    assert [i.data for i in held] == [b"two-1", b"one-2", b"two-2"]
    assert storage.feed(a.id, 0, 100, held={one.id: 2, two.id: 2}) == []
    assert (storage.last_hub_seq(a.id), storage.last_hub_seq(b.id)) == (4, 1)
    assert storage.last_hub_seq("no such centre") == 0


def test_a_put_that_fails_leaves_no_trace(storage: HubStorage) -> None:
    """The hub sequence is taken before the batch row is written: both or neither."""
    centre = storage.add_centre("Centre A")
    desk = approved(storage, centre.id)
    with pytest.raises(Exception):  # noqa: B017 - each driver names its own integrity error
        storage.put_batch(centre.id, incoming(FakeDesk().id, 1, b"never enrolled"), utc_now())
    assert storage.feed(centre.id, 0, 10) == []
    assert storage.put_batch(centre.id, incoming(desk.id, 1, b"real"), utc_now()).hub_seq == 1
    with pytest.raises(UnknownCentreError):
        storage.put_batch("no-such-centre", incoming(desk.id, 2, b"x", b"real"), utc_now())


def test_everything_survives_a_reopen_and_the_hub_key_is_made_once(hub_url: str) -> None:
    first = open_storage(hub_url)
    seed = first.hub_key_seed()
    centre = first.add_centre("Centre A")
    desk = approved(first, centre.id)
    consent = {CASE_1: ConsentMark(EARLY, True)}
    first.put_batch(centre.id, incoming(desk.id, 1, b"kept", None, (CASE_1,), consent), utc_now())
    first.close()
    second, third = open_storage(hub_url), open_storage(hub_url)
    try:
        assert len(seed) == 32
        assert second.hub_key_seed() == third.hub_key_seed() == seed
        assert second.desk(desk.id).status is DeskStatus.APPROVED  # type: ignore[union-attr]
        assert [i.data for i in third.feed(centre.id, 0, 10)] == [b"kept"]
        assert third.chain_head(desk.id) == ChainHead(1, sha256_hex(b"kept"))
        assert third.case_consent(centre.id, CASE_1) == ConsentMark(EARLY, True)
    finally:
        second.close()
        third.close()


def test_concurrent_puts_reach_a_tailing_reader_exactly_once(storage: HubStorage) -> None:
    centre = storage.add_centre("Centre A")
    desks = [approved(storage, centre.id, f"desk {n}") for n in range(4)]
    per_desk = 15
    expected = {(d.id, n) for d in desks for n in range(1, per_desk + 1)}
    seen: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    writers_done = threading.Event()

    def write(desk: FakeDesk) -> None:
        try:
            previous = None
            for n in range(1, per_desk + 1):
                data = f"{desk.id}/{n}".encode()
                batch = incoming(desk.id, n, data, previous)
                result = storage.put_batch(centre.id, batch, utc_now())
                assert result.outcome is PutOutcome.STORED
                previous = data
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        cursor = 0
        while True:
            finished = writers_done.is_set()
            for item in storage.feed(centre.id, cursor, 7):
                seen.append((item.origin, item.seq))
                cursor = item.hub_seq
            if finished and not storage.feed(centre.id, cursor, 1):
                return

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(d,)) for d in desks]
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    writers_done.set()
    reader.join(timeout=60)
    assert not errors
    assert len(seen) == len(expected) and set(seen) == expected
    hub_seqs = [i.hub_seq for i in storage.feed(centre.id, 0, 1000)]
    assert hub_seqs == list(range(1, len(expected) + 1))


def test_racing_puts_of_one_slot_store_one_batch(storage: HubStorage) -> None:
    centre = storage.add_centre("Centre A")
    desk = approved(storage, centre.id)
    outcomes: list[PutOutcome] = []
    lock = threading.Lock()

    def put(data: bytes) -> None:
        outcome = storage.put_batch(centre.id, incoming(desk.id, 1, data), utc_now()).outcome
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=put, args=(b"same",)) for _ in range(6)]
    threads += [threading.Thread(target=put, args=(b"different %d" % n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [item] = storage.feed(centre.id, 0, 10)
    assert outcomes.count(PutOutcome.STORED) == 1
    if item.data == b"same":
        assert sorted(outcomes).count(PutOutcome.DUPLICATE) == 5
        assert outcomes.count(PutOutcome.CONFLICT) == 3
    else:  # one of the different batches won the slot
        assert outcomes.count(PutOutcome.CONFLICT) == 8
    assert sum(a.count for a in storage.alerts()) == outcomes.count(PutOutcome.CONFLICT)


def test_a_chain_continues_only_from_its_stored_head(storage: HubStorage) -> None:
    centre = storage.add_centre("Centre A")
    desk = approved(storage, centre.id)
    assert storage.chain_head(desk.id) is None
    not_first = storage.put_batch(centre.id, incoming(desk.id, 1, b"one", b"made up"), utc_now())
    assert (not_first.outcome, not_first.hub_seq) == (PutOutcome.FORK, 0)
    assert "does not follow the start of its chain" in not_first.reason
    assert storage.put_batch(centre.id, incoming(desk.id, 1, b"one"), utc_now()).hub_seq == 1

    gap = storage.put_batch(centre.id, incoming(desk.id, 3, b"three", b"two"), utc_now())
    assert gap.outcome is PutOutcome.GAP
    assert gap.reason == (
        f"gap: batch #3 of desk {desk.id} arrived but #2 is the next the hub expects"
    )
    fork = storage.put_batch(centre.id, incoming(desk.id, 2, b"two", b"another one"), utc_now())
    assert fork.outcome is PutOutcome.FORK
    assert fork.reason == (
        f"fork: batch #2 of desk {desk.id} does not follow batch #1 stored from it"
    )
    assert storage.chain_head(desk.id) == ChainHead(1, sha256_hex(b"one"))
    assert [i.seq for i in storage.feed(centre.id, 0, 10)] == [1]
    assert storage.alerts() == []  # only a second batch for a stored slot is alerted

    then = storage.put_batch(centre.id, incoming(desk.id, 2, b"two", b"one"), utc_now())
    assert (then.outcome, then.hub_seq) == (PutOutcome.STORED, 2)
    assert storage.chain_head(desk.id) == ChainHead(2, sha256_hex(b"two"))


def test_a_case_is_stored_only_while_its_newest_consent_allows_sync(storage: HubStorage) -> None:
    a, b = storage.add_centre("Centre A"), storage.add_centre("Centre B")
    desk, other = approved(storage, a.id), approved(storage, b.id)
    given, withdrawn = ConsentMark(LATER, True), ConsentMark(LATEST, False)

    unknown = storage.put_batch(a.id, incoming(desk.id, 1, b"1", None, (CASE_1,)), utc_now())
    assert unknown.outcome is PutOutcome.NO_CONSENT
    assert CASE_1 in unknown.reason and "whole batch is refused" in unknown.reason
    refused = incoming(desk.id, 1, b"1", None, (CASE_1,), {CASE_1: ConsentMark(LATER, False)})
    assert storage.put_batch(a.id, refused, utc_now()).outcome is PutOutcome.NO_CONSENT
    assert storage.chain_head(desk.id) is None
    assert storage.case_consent(a.id, CASE_1) is None

    # Given in the batch itself, after an earlier refusal in the same batch: the newest counts.
    both = {CASE_1: given, CASE_2: ConsentMark(EARLY, True)}
    first = incoming(desk.id, 1, b"1", None, (CASE_1, CASE_2), both)
    assert storage.put_batch(a.id, first, utc_now()).outcome is PutOutcome.STORED
    assert storage.case_consent(a.id, CASE_1) == given
    # Later batches touch the case without a consent change: the stored one allows them.
    second = storage.put_batch(a.id, incoming(desk.id, 2, b"2", b"1", (CASE_1,)), utc_now())
    assert second.outcome is PutOutcome.STORED
    # An older refusal arriving late changes nothing; the stored consent stays the newest.
    late = incoming(desk.id, 3, b"3", b"2", (CASE_1,), {CASE_1: ConsentMark(EARLY, False)})
    assert storage.put_batch(a.id, late, utc_now()).outcome is PutOutcome.STORED
    assert storage.case_consent(a.id, CASE_1) == given
    # A newer withdrawal is refused with everything else in its batch.
    withdrawal = incoming(
        desk.id, 4, b"4", b"3", (CASE_1, CASE_2), {CASE_1: withdrawn, CASE_2: given}
    )
    assert storage.put_batch(a.id, withdrawal, utc_now()).outcome is PutOutcome.NO_CONSENT
    assert storage.case_consent(a.id, CASE_2) == ConsentMark(EARLY, True)
    assert storage.chain_head(desk.id) == ChainHead(3, sha256_hex(b"3"))

    # Consent recorded in one centre means nothing to another centre's batches.
    elsewhere = storage.put_batch(b.id, incoming(other.id, 1, b"1", None, (CASE_1,)), utc_now())
    assert elsewhere.outcome is PutOutcome.NO_CONSENT
    assert storage.case_consent(b.id, CASE_1) is None


def test_a_database_from_a_newer_hub_is_refused(hub_url: str) -> None:
    store = open_storage(hub_url)
    store.add_centre("Centre A")
    store.close()
    _add_future_migration(hub_url)
    with pytest.raises(SchemaTooNewError, match=r"newer mrc-hub.*0099_future"):
        open_storage(hub_url)


def _add_future_migration(hub_url: str) -> None:
    if hub_url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(hub_url, autocommit=True) as conn:
            conn.execute("insert into hub_migrations values ('0099_future', 'later')")
        return
    from mrc_desktop.storage.sqlite_build import connect

    conn = connect(hub_url)
    conn.execute("insert into hub_migrations values ('0099_future', 'later')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("7kq2-m9xd", "7KQ2-M9XD"), (" 7KQ2 M9XD ", "7KQ2-M9XD"), ("OIL0-ABCD", "0110-ABCD")],
)
def test_admins_may_type_codes_loosely(typed: str, stored: str) -> None:
    assert normalise_code(typed) == stored


def test_database_urls_in_messages_hide_the_password() -> None:
    url = "postgresql://hub:s3cret@db.example:5432/hub"
    assert redact_url(url) == "postgresql://hub:***@db.example:5432/hub"
    assert "s3cret" not in redact_url(url)
    assert redact_url("/srv/hub/hub.db") == "/srv/hub/hub.db"


def test_the_sqlite_hub_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """It holds the hub's signing seed; its -wal file takes the same mode."""
    store = open_storage(str(tmp_path / "hub" / "hub.db"))
    try:
        store.hub_key_seed()
        for name in ("hub.db", "hub.db-wal"):
            assert (tmp_path / "hub" / name).stat().st_mode & 0o777 == 0o600, name
    finally:
        store.close()
