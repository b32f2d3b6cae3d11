"""USB bundles: a file carried between a desk and its hub is imported whole or not at all.

Invented desks A and B of one centre, their hub, and an outsider desk C (not enrolled).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_desktop.sync import bundle as bundle_module
from mrc_desktop.sync.batches import (
    GENESIS,
    ChainLink,
    SignedBatch,
    canonical_json,
    decode_batch,
    seal_batch,
    sign_batch,
)
from mrc_desktop.sync.bundle import (
    BundleError,
    BundleReplayError,
    pack_bundle,
    read_bundle,
    unpack_bundle,
    write_bundle,
)
from mrc_desktop.sync.keys import Identity, Peers

DESK_A = "0190f0a0-0000-7000-8000-0000000000a1"
DESK_B = "0190f0a0-0000-7000-8000-0000000000b2"
DESK_C = "0190f0a0-0000-7000-8000-0000000000c3"
A, B, C, HUB = (Identity(bytes([n]) * 32) for n in (11, 12, 13, 14))
AT_HUB = Peers({DESK_A: A.public, DESK_B: B.public})
AT_B = Peers({DESK_A: A.public, DESK_B: B.public}, relays={"hub": HUB.public})
WHEN = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)


def signed_chain(count: int, ident: Identity = A, origin: str = DESK_A) -> list[SignedBatch]:
    prev, out = GENESIS, []
    for seq in range(1, count + 1):
        change = {"case": f"0190f0a1-0000-7000-8000-{seq:012d}", "field": "note", "value": "ថៃ"}
        out.append(sign_batch(ident, origin, seq, prev, [change]))
        prev = out[-1].this_hash
    return out


def desk_bundle(batches: list[SignedBatch], **extra: Any) -> bytes:
    """Desk A's bundle for the hub, carrying the given batches of its own."""
    args: dict[str, Any] = {
        "sender": DESK_A,
        "recipient": "hub",
        "recipient_key": HUB.public,
        "batches": [seal_batch(A, HUB.public, b.raw) for b in batches],
        "has": {},
        "created_at": WHEN,
        **extra,
    }
    return pack_bundle(A, **args)[0]


def test_a_desk_bundle_reaches_the_hub_whole(tmp_path: Path) -> None:
    batches = signed_chain(3)
    has = {DESK_B: ChainLink(4, b"\x07" * 32)}
    target = tmp_path / "usb" / "to-hub.mrcbundle"
    sealed = [seal_batch(A, HUB.public, b.raw) for b in reversed(batches)]  # any order
    write_bundle(
        target,
        A,
        sender=DESK_A,
        recipient="hub",
        recipient_key=HUB.public,
        batches=sealed,
        has=has,
        created_at=WHEN,
    )
    got = read_bundle(target, HUB, AT_HUB, {})
    assert [b.seq for b in got.batches] == [1, 2, 3] and got.already_had == 0
    assert [b.this_hash for b in got.batches] == [b.this_hash for b in batches]
    assert got.batches[0].changes[0]["value"] == "ថៃ"
    m = got.manifest
    assert (m.sender, m.recipient, m.created_at) == (DESK_A, "hub", WHEN)
    assert m.carries == {DESK_A: (1, 3)} and m.has == has
    assert m.sender_key == A.public and m.recipient_key == HUB.public
    assert [p.name for p in target.parent.iterdir()] == ["to-hub.mrcbundle"]  # no temp left


def test_a_return_bundle_carries_acknowledgements_and_other_desks_batches() -> None:
    from_a = signed_chain(2)
    at_hub = {DESK_A: ChainLink(2, from_a[-1].this_hash)}
    data, _ = pack_bundle(
        HUB,
        sender="hub",
        recipient=DESK_B,
        recipient_key=B.public,
        batches=[seal_batch(HUB, B.public, b.raw) for b in from_a],
        has=at_hub,
        created_at=WHEN,
    )
    got = unpack_bundle(data, B, AT_B, {})
    assert [(b.origin, b.seq, b.sealed_by) for b in got.batches] == [
        (DESK_A, 1, "hub"),
        (DESK_A, 2, "hub"),
    ]
    assert got.manifest.has == at_hub


def test_an_acknowledgement_only_bundle_is_fine() -> None:
    data, _ = pack_bundle(
        HUB, sender="hub", recipient=DESK_B, recipient_key=B.public, batches=[], has={}
    )
    got = unpack_bundle(data, B, AT_B, {})
    assert got.batches == [] and got.manifest.carries == {}


def test_every_flipped_byte_of_a_bundle_is_refused() -> None:
    data = desk_bundle(signed_chain(1))
    for offset in range(len(data)):
        bad = bytearray(data)
        bad[offset] ^= 0x20
        with pytest.raises(BundleError):
            unpack_bundle(bytes(bad), HUB, AT_HUB, {})


def test_truncation_at_any_length_is_refused() -> None:
    data = desk_bundle(signed_chain(2))
    for length in range(len(data)):
        with pytest.raises(BundleError):
            unpack_bundle(data[:length], HUB, AT_HUB, {})
    with pytest.raises(BundleError, match="bad signature"):
        unpack_bundle(data + b"\x00", HUB, AT_HUB, {})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_bundle_error_and_nothing_else(noise: bytes) -> None:
    for data in (noise, b"MRCBUNDL\x01" + noise):
        with pytest.raises(BundleError):
            unpack_bundle(data, HUB, AT_HUB, {})


def test_a_bundle_for_another_recipient_is_refused() -> None:
    with pytest.raises(BundleError, match="for another desk or hub"):
        unpack_bundle(desk_bundle(signed_chain(1)), B, AT_B, {})


def test_a_bundle_from_an_unknown_desk_is_refused() -> None:
    data, _ = pack_bundle(
        C,
        sender=DESK_C,
        recipient="hub",
        recipient_key=HUB.public,
        batches=[seal_batch(C, HUB.public, b.raw) for b in signed_chain(1, C, DESK_C)],
        has={},
    )
    with pytest.raises(BundleError, match="unknown sender"):
        unpack_bundle(data, HUB, AT_HUB, {})


def test_a_desk_cannot_sign_a_bundle_in_another_desks_name() -> None:
    data, _ = pack_bundle(
        B, sender=DESK_A, recipient="hub", recipient_key=HUB.public, batches=[], has={}
    )
    with pytest.raises(BundleError, match="sender says"):
        unpack_bundle(data, HUB, AT_HUB, {})


def test_a_replayed_bundle_is_refused_and_an_overlapping_one_gives_only_the_new() -> None:
    batches = signed_chain(4)
    first = unpack_bundle(desk_bundle(batches[:2]), HUB, AT_HUB, {})
    chain = {DESK_A: first.batches[-1].link}
    with pytest.raises(BundleReplayError, match="nothing new: all 2 batches"):
        unpack_bundle(desk_bundle(batches[:2]), HUB, AT_HUB, chain)
    with pytest.raises(BundleReplayError):
        unpack_bundle(desk_bundle(batches[:1]), HUB, AT_HUB, chain)
    again = unpack_bundle(desk_bundle(batches), HUB, AT_HUB, chain)
    assert [b.seq for b in again.batches] == [3, 4] and again.already_had == 2


def test_a_gap_or_a_fork_refuses_the_whole_bundle() -> None:
    batches = signed_chain(4)
    with pytest.raises(BundleError, match="gap: batch #3"):
        unpack_bundle(desk_bundle(batches[2:]), HUB, AT_HUB, {DESK_A: ChainLink(1, GENESIS)})
    other = sign_batch(A, DESK_A, 1, GENESIS, [{"n": "restored from an old backup"}])
    with pytest.raises(BundleError, match="fork: #1"):
        unpack_bundle(desk_bundle(batches), HUB, AT_HUB, {DESK_A: ChainLink(1, other.this_hash)})
    with pytest.raises(BundleError, match="broken chain: batch #2"):
        unpack_bundle(
            desk_bundle(batches[1:]), HUB, AT_HUB, {DESK_A: ChainLink(1, other.this_hash)}
        )


def test_batches_in_a_bundle_must_be_one_chain() -> None:
    one, two = signed_chain(2)
    stray_two = sign_batch(A, DESK_A, 2, b"\x09" * 32, [{"n": 2}])
    with pytest.raises(BundleError, match="do not form one chain"):
        unpack_bundle(desk_bundle([one, stray_two]), HUB, AT_HUB, {})
    assert len(unpack_bundle(desk_bundle([one, two]), HUB, AT_HUB, {}).batches) == 2


def test_every_batch_is_checked_before_anything_is_returned() -> None:
    """A bad last batch refuses the bundle: the good ones before it are not handed out."""
    good = signed_chain(2)
    from_c = sign_batch(C, DESK_C, 1, GENESIS, [{"n": 1}])
    data, _ = pack_bundle(
        HUB,
        sender="hub",
        recipient=DESK_B,
        recipient_key=B.public,
        batches=[seal_batch(HUB, B.public, b.raw) for b in [*good, from_c]],
        has={},
    )
    with pytest.raises(
        BundleError, match=f"batch 3 of 3: unknown desk: no key for origin {DESK_C}"
    ):
        unpack_bundle(data, B, AT_B, {})


def test_the_writer_refuses_batches_that_do_not_belong_and_writes_nothing(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out.mrcbundle"
    one, _, three = signed_chain(3)
    cases = [
        ([seal_batch(A, B.public, one.raw)], "sealed for another recipient"),
        ([seal_batch(HUB, HUB.public, one.raw)], "sealed by another key"),
        ([seal_batch(A, HUB.public, b.raw) for b in (one, three)], "not consecutive"),
        ([seal_batch(A, HUB.public, one.raw)] * 2, "not consecutive"),
        ([b"garbage"], "batch 1: truncated"),
    ]
    for batches, reason in cases:
        with pytest.raises(BundleError, match=reason):
            write_bundle(
                target,
                A,
                sender=DESK_A,
                recipient="hub",
                recipient_key=HUB.public,
                batches=batches,
                has={},
            )
    assert not target.exists()
    with pytest.raises(BundleError, match="time zone"):
        desk_bundle([one], created_at=dt.datetime(2026, 1, 1))


@pytest.mark.parametrize("fail_in", ["fsync", "replace"])
def test_a_crash_while_writing_leaves_the_old_file_and_no_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_in: str
) -> None:
    target = tmp_path / "to-hub.mrcbundle"
    old = desk_bundle(signed_chain(1))
    target.write_bytes(old)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError(5, "Input/output error (USB stick pulled)")

    monkeypatch.setattr(os, fail_in, crash)
    with pytest.raises(OSError, match="USB stick pulled"):
        write_bundle(
            target,
            A,
            sender=DESK_A,
            recipient="hub",
            recipient_key=HUB.public,
            batches=[seal_batch(A, HUB.public, b.raw) for b in signed_chain(3)],
            has={},
        )
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert len(read_bundle(target, HUB, AT_HUB, {}).batches) == 1


def test_file_problems_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.mrcbundle"
    with pytest.raises(BundleError, match=r"nowhere\.mrcbundle: cannot read"):
        read_bundle(missing, HUB, AT_HUB, {})
    odd = tmp_path / "holiday.jpg"
    odd.write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    with pytest.raises(BundleError, match=r"holiday\.jpg: not an MRC Desk bundle"):
        read_bundle(odd, HUB, AT_HUB, {})
    big = tmp_path / "big.mrcbundle"
    big.write_bytes(desk_bundle(signed_chain(3)))
    monkeypatch.setattr(bundle_module, "MAX_BUNDLE_BYTES", 1000)
    with pytest.raises(BundleError, match="larger than a bundle can be"):
        read_bundle(big, HUB, AT_HUB, {})


def test_batches_from_a_bundle_decode_like_batches_sent_online() -> None:
    """The bundle is only a carrier: each batch in it is the same sealed batch as online."""
    batches = signed_chain(2)
    got = unpack_bundle(desk_bundle(batches), HUB, AT_HUB, {})
    online = decode_batch(HUB, AT_HUB, seal_batch(A, HUB.public, batches[0].raw), {})
    assert got.batches[0].signed == online.signed and got.batches[0].changes == online.changes


def hand_packed(
    ident: Identity, recipient: Identity, manifest: bytes, batches: list[bytes]
) -> bytes:
    """A bundle built byte by byte as docs/sync.md lays it out, signed by a real key."""
    body = (
        b"MRCBUNDL\x01"
        + ident.public.verify_key
        + recipient.public.verify_key
        + len(manifest).to_bytes(4, "big")
        + manifest
        + len(batches).to_bytes(4, "big")
        + b"".join(len(b).to_bytes(4, "big") + b for b in batches)
    )
    return body + ident.signing_key().sign(bundle_module.SIGN_CONTEXT + body).signature


def test_the_hand_built_layout_is_the_real_one() -> None:
    data, manifest = pack_bundle(
        HUB, sender="hub", recipient=DESK_B, recipient_key=B.public, batches=[], has={}
    )
    assert hand_packed(HUB, B, manifest.to_json(), []) == data


def test_a_batch_sealed_by_someone_else_than_the_bundles_sender_is_refused() -> None:
    """The hub's bundle must hold batches the hub sealed, not ones slipped in by a desk."""
    one = signed_chain(1)[0]
    _, manifest = pack_bundle(
        HUB,
        sender="hub",
        recipient=DESK_B,
        recipient_key=B.public,
        batches=[seal_batch(HUB, B.public, one.raw)],
        has={},
    )
    slipped_in = hand_packed(HUB, B, manifest.to_json(), [seal_batch(A, B.public, one.raw)])
    with pytest.raises(BundleError, match=f"sealed by {DESK_A}, not by the bundle's sender"):
        unpack_bundle(slipped_in, B, AT_B, {})
    good = hand_packed(HUB, B, manifest.to_json(), [seal_batch(HUB, B.public, one.raw)])
    assert len(unpack_bundle(good, B, AT_B, {}).batches) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"carries": {DESK_A: [1, 2]}}, "carries does not match"),
        ({"created_at": "yesterday"}, "created_at 'yesterday'"),
        ({"has": {DESK_A: {"seq": -1, "hash": "00" * 32}}}, "seq must be a whole number"),
        ({"has": {DESK_A: {"seq": 1, "hash": "00"}}}, "hash must be 64 hex digits"),
        ({"sender_key": B.public.hex}, "sender_key differs"),
        ({"extra": 1}, "expected fields"),
    ],
)
def test_a_signed_but_wrong_manifest_is_refused(change: dict[str, Any], reason: str) -> None:
    one = signed_chain(1)[0]
    _, manifest = pack_bundle(
        A,
        sender=DESK_A,
        recipient="hub",
        recipient_key=HUB.public,
        batches=[seal_batch(A, HUB.public, one.raw)],
        has={},
    )
    doc = {**json.loads(manifest.to_json()), **change}
    data = hand_packed(A, HUB, canonical_json(doc), [seal_batch(A, HUB.public, one.raw)])
    with pytest.raises(BundleError, match=reason):
        unpack_bundle(data, HUB, AT_HUB, {})
