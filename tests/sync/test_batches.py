"""Sync batches: what a desk sends is what the other desk applies, or nothing at all.

Invented desks A and B of one centre, their hub, and an outsider desk C (not enrolled).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_desktop.sync.batches import (
    GENESIS,
    MAX_BATCH_BYTES,
    SIGN_CONTEXT,
    BatchError,
    BatchTooLarge,
    ChainLink,
    canonical_json,
    check_chain,
    decode_batch,
    encode_batch,
    open_batch,
    read_envelope,
    seal_batch,
    sign_batch,
    split_changes,
)
from mrc_desktop.sync.keys import (
    Identity,
    InvalidKeyError,
    Peers,
    PublicIdentity,
    new_identity,
)

DESK_A = "0190f0a0-0000-7000-8000-0000000000a1"
DESK_B = "0190f0a0-0000-7000-8000-0000000000b2"
DESK_C = "0190f0a0-0000-7000-8000-0000000000c3"

A, B, C, HUB = (Identity(bytes([n]) * 32) for n in (1, 2, 3, 4))
AT_HUB = Peers({DESK_A: A.public, DESK_B: B.public})  # the hub knows its centre's desks
AT_B = Peers({DESK_A: A.public, DESK_B: B.public}, relays={"hub": HUB.public})

CHANGES: list[dict[str, Any]] = [
    {"case": "0190f0a1-0000-7000-8000-000000000001", "field": "status", "value": "open"},
    {"case": "0190f0a1-0000-7000-8000-000000000001", "field": "note", "value": "ប្រាក់ឈ្នួល"},
    {"case": "0190f0a1-0000-7000-8000-000000000002", "field": "narrative", "value": "الأجور"},
]


def first_batch(changes: list[dict[str, Any]] = CHANGES) -> bytes:
    return encode_batch(A, HUB.public, DESK_A, 1, GENESIS, changes)


def test_a_batch_reaches_the_hub_as_sent() -> None:
    signed = sign_batch(A, DESK_A, 1, GENESIS, CHANGES)
    batch = decode_batch(HUB, AT_HUB, seal_batch(A, HUB.public, signed.raw), {})
    assert (batch.origin, batch.seq, batch.changes) == (DESK_A, 1, CHANGES)
    assert batch.this_hash == signed.this_hash == hashlib.sha256(signed.raw).digest()
    assert batch.sealed_by == DESK_A and batch.link == ChainLink(1, signed.this_hash)


def test_the_hub_forwards_the_signed_batch_unchanged() -> None:
    at_hub = decode_batch(HUB, AT_HUB, first_batch(), {})
    at_b = decode_batch(B, AT_B, seal_batch(HUB, B.public, at_hub.signed), {})
    assert at_b.signed == at_hub.signed and at_b.this_hash == at_hub.this_hash
    assert at_b.changes == CHANGES and at_b.sealed_by == "hub"


def test_the_hub_cannot_forge_a_desks_batch() -> None:
    forged = sign_batch(
        HUB, DESK_A, 1, GENESIS, [{"case": "x", "field": "status", "value": "closed"}]
    )
    with pytest.raises(BatchError, match=r"bad signature.*not signed by desk"):
        decode_batch(B, AT_B, seal_batch(HUB, B.public, forged.raw), {})


def test_canonical_json_makes_equal_changes_equal_bytes() -> None:
    one = sign_batch(A, DESK_A, 1, GENESIS, [{"b": 1, "a": "ក", "c": {"y": 2, "x": 1}}])
    two = sign_batch(A, DESK_A, 1, GENESIS, [{"c": {"x": 1, "y": 2}, "a": "ក", "b": 1}])
    assert one.raw == two.raw
    assert canonical_json({"b": 1, "a": "ក"}) == '{"a":"ក","b":1}'.encode()


def test_every_flipped_bit_of_a_sealed_batch_is_refused() -> None:
    data = first_batch()
    for offset in range(len(data)):
        for mask in (1, 2, 4, 8, 16, 32, 64, 128):
            bad = bytearray(data)
            bad[offset] ^= mask
            with pytest.raises(BatchError):
                decode_batch(HUB, AT_HUB, bytes(bad), {})


def test_every_flipped_byte_of_a_forwarded_signed_batch_is_refused() -> None:
    """A hub that alters a stored batch and seals it properly still cannot pass it off."""
    signed = sign_batch(A, DESK_A, 1, GENESIS, CHANGES).raw
    for offset in range(len(signed)):
        bad = bytearray(signed)
        bad[offset] ^= 0x04
        try:
            resealed = seal_batch(HUB, B.public, bytes(bad))
        except BatchError:
            continue  # the structure is broken already: it cannot even be sealed
        with pytest.raises(BatchError):
            decode_batch(B, AT_B, resealed, {})


def test_truncation_at_any_length_and_extra_bytes_are_refused() -> None:
    data = first_batch()
    for length in range(len(data)):
        with pytest.raises(BatchError):
            decode_batch(HUB, AT_HUB, data[:length], {})
    with pytest.raises(BatchError, match="bad seal"):
        decode_batch(HUB, AT_HUB, data + b"\x00", {})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_any_bytes_give_a_batch_error_and_nothing_else(noise: bytes, with_header: bool) -> None:
    data = first_batch()[:90] + noise if with_header else noise
    with pytest.raises(BatchError):
        decode_batch(HUB, AT_HUB, data, {})


def test_reasons_are_named() -> None:
    data = bytearray(first_batch())
    data[4] = 9
    with pytest.raises(BatchError, match="unknown batch format version 9"):
        decode_batch(HUB, AT_HUB, bytes(data), {})
    with pytest.raises(BatchError, match="not an MRC Desk sealed batch"):
        decode_batch(HUB, AT_HUB, b"PK\x03\x04" + bytes(200), {})
    with pytest.raises(BatchError, match="oversize"):
        decode_batch(HUB, AT_HUB, first_batch() + bytes(MAX_BATCH_BYTES), {})


def chain_of(count: int, origin: str = DESK_A, ident: Identity = A) -> list[bytes]:
    """`count` consecutive batches of one origin, sealed to the hub."""
    prev, out = GENESIS, []
    for seq in range(1, count + 1):
        signed = sign_batch(ident, origin, seq, prev, [{"n": seq}])
        out.append(seal_batch(ident, HUB.public, signed.raw))
        prev = signed.this_hash
    return out


def test_a_replayed_batch_is_refused() -> None:
    one, two = chain_of(2)
    chain: dict[str, ChainLink] = {}
    for data in (one, two):
        batch = decode_batch(HUB, AT_HUB, data, chain)
        chain[batch.origin] = batch.link
    for data in (one, two):
        with pytest.raises(BatchError, match=r"replay: batch #\d from .* already received"):
            decode_batch(HUB, AT_HUB, data, chain)


def test_a_gap_is_detected() -> None:
    one, two, three = chain_of(3)
    with pytest.raises(BatchError, match=r"gap: batch #2 .* #1 is missing"):
        decode_batch(HUB, AT_HUB, two, {})
    first = decode_batch(HUB, AT_HUB, one, {})
    with pytest.raises(BatchError, match=r"gap: batch #3 .* #2 is missing"):
        decode_batch(HUB, AT_HUB, three, {DESK_A: first.link})


def test_a_batch_that_does_not_follow_the_last_one_is_refused() -> None:
    """Same seq, other history: e.g. a desk restored from a backup numbering batches again."""
    one = decode_batch(HUB, AT_HUB, chain_of(1)[0], {})
    other_one = sign_batch(A, DESK_A, 1, GENESIS, [{"n": "other"}])
    two = encode_batch(A, HUB.public, DESK_A, 2, other_one.this_hash, [{"n": 2}])
    with pytest.raises(BatchError, match="broken chain: batch #2"):
        decode_batch(HUB, AT_HUB, two, {DESK_A: one.link})
    assert open_batch(HUB, AT_HUB, two).seq == 2  # well formed: only the chain is wrong


def test_a_batch_for_someone_else_is_refused() -> None:
    with pytest.raises(BatchError, match="wrong recipient"):
        decode_batch(B, AT_B, first_batch(), {})


def test_batches_from_unknown_desks_are_refused() -> None:
    from_c = encode_batch(C, HUB.public, DESK_C, 1, GENESIS, CHANGES)
    with pytest.raises(BatchError, match="unknown sender"):
        decode_batch(HUB, AT_HUB, from_c, {})
    # forwarded by the hub, but no desk of B's centre signs for C
    signed_by_c = sign_batch(C, DESK_C, 1, GENESIS, CHANGES).raw
    with pytest.raises(BatchError, match=f"unknown desk: no key for origin {DESK_C}"):
        decode_batch(B, AT_B, seal_batch(HUB, B.public, signed_by_c), {})
    # a known desk claiming another desk's origin
    posing = encode_batch(B, HUB.public, DESK_A, 1, GENESIS, CHANGES)
    with pytest.raises(BatchError, match=f"neither desk {DESK_A} nor a hub"):
        decode_batch(HUB, AT_HUB, posing, {})


def test_only_the_origin_or_a_hub_may_seal_a_batch() -> None:
    """Desk B passing on desk A's genuine batch is refused: desks talk to the hub only."""
    signed = sign_batch(A, DESK_A, 1, GENESIS, CHANGES).raw
    with pytest.raises(BatchError, match=f"sealed by {DESK_B}, which is neither"):
        decode_batch(HUB, AT_HUB, seal_batch(B, HUB.public, signed), {})


def hand_signed(ident: Identity, payload: bytes, count: int) -> bytes:
    """A batch built byte by byte as docs/sync.md describes it, signed by a real desk key."""
    origin = DESK_A.encode()
    body = (
        struct.pack(">4sBQ32sIB", b"MRCB", 1, 1, GENESIS, count, len(origin))
        + origin
        + struct.pack(">I", len(payload))
        + payload
    )
    return seal_batch(
        ident, HUB.public, body + ident.signing_key().sign(SIGN_CONTEXT + body).signature
    )


@pytest.mark.parametrize(
    ("payload", "count", "reason"),
    [
        (zlib.compress(b'[{"b":1,"a":2}]'), 1, "not in canonical form"),
        (zlib.compress(b'[{"a":1,"a":2}]'), 1, "not in canonical form"),
        (zlib.compress(b'[{"a": 1}]'), 1, "not in canonical form"),
        (zlib.compress(b'[{"a":NaN}]'), 1, "bad JSON"),
        (zlib.compress(b'{"a":1}'), 1, "not a list of change objects"),
        (zlib.compress(b"[1]"), 1, "not a list of change objects"),
        (zlib.compress(b'[{"a":1}]'), 2, "header counts 2 changes"),
        (zlib.compress(b'[{"a":"\xff"}]'), 1, "bad JSON"),
        (b"not deflate", 1, "not valid deflate"),
        (zlib.compress(b'[{"a":1}]') + b"x", 1, "followed by extra bytes"),
        (zlib.compress(b'[{"a":1}]')[:-3], 1, "incomplete"),
        (zlib.compress(b"[" + b" " * (9 * 1024 * 1024) + b"]", 9), 0, "inflates beyond"),
    ],
)
def test_a_signed_but_malformed_payload_is_refused(payload: bytes, count: int, reason: str) -> None:
    with pytest.raises(BatchError, match=reason):
        decode_batch(HUB, AT_HUB, hand_signed(A, payload, count), {})


def test_the_hand_built_layout_is_the_real_one() -> None:
    """So the malformed-payload cases above fail for their payload, not for their framing."""
    good = hand_signed(A, zlib.compress(canonical_json(CHANGES), 6), len(CHANGES))
    assert decode_batch(HUB, AT_HUB, good, {}).changes == CHANGES


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"value": (1, 2)}, "tuples or non-string keys"),
        ({1: "one"}, "tuples or non-string keys"),
        ({"value": float("nan")}, "not plain JSON"),
        ({"value": b"bytes"}, "not plain JSON"),
        ("status=open", "not a JSON object"),
    ],
)
def test_changes_that_are_not_plain_json_are_refused_by_index(change: Any, reason: str) -> None:
    with pytest.raises(BatchError, match=f"change 1 .*{reason}"):
        sign_batch(A, DESK_A, 1, GENESIS, [CHANGES[0], change])
    with pytest.raises(BatchError, match=f"change 1 .*{reason}"):
        split_changes([CHANGES[0], change])


def test_bad_arguments_are_named() -> None:
    with pytest.raises(BatchError, match="origin"):
        sign_batch(A, "desk a/../b", 1, GENESIS, CHANGES)
    with pytest.raises(BatchError, match="seq"):
        sign_batch(A, DESK_A, 0, GENESIS, CHANGES)
    with pytest.raises(BatchError, match="first batch"):
        sign_batch(A, DESK_A, 1, b"\x01" * 32, CHANGES)
    with pytest.raises(BatchError, match="prev_hash"):
        sign_batch(A, DESK_A, 2, b"short", CHANGES)


def fake_changes(count: int, blob: int = 0) -> list[dict[str, Any]]:
    """Changes like the case log makes: field edits, a few with an opaque (random) blob."""
    words = ["wages", "passport", "employer", "agency", "fee", "debt", "contract", "ថៃ"]
    rng = random.Random(count)
    return [
        {
            "case": f"0190f0a1-0000-7000-8000-{n:012d}",
            "field": ("status", "narrative", "phone")[n % 3],
            "hlc": 1_790_000_000_000 + n,
            "value": " ".join(rng.choices(words, k=n % 40)),
            **({"blob": os.urandom(blob).hex()} if blob and n % 7 == 0 else {}),
        }
        for n in range(count)
    ]


def test_split_changes_keeps_every_batch_within_the_limit() -> None:
    changes = fake_changes(6000, blob=2000)
    runs = split_changes(changes)
    assert len(runs) > 1 and [c for run in runs for c in run] == changes
    prev, sizes = GENESIS, []
    for seq, run in enumerate(runs, start=1):
        signed = sign_batch(A, DESK_A, seq, prev, run)
        sizes.append(len(seal_batch(A, HUB.public, signed.raw)))
        prev = signed.this_hash
    assert max(sizes) <= MAX_BATCH_BYTES
    assert min(sizes[:-1]) > 0.9 * MAX_BATCH_BYTES  # full batches, not a trickle


def test_split_changes_with_a_small_limit() -> None:
    runs = split_changes(fake_changes(300), limit=2048)
    assert len(runs) > 3
    for run in runs:
        assert len(encode_batch(A, HUB.public, DESK_A, 1, GENESIS, run)) <= 2048


def test_one_change_too_big_for_a_batch_is_refused_by_index() -> None:
    changes = [*fake_changes(3), {"attachment": os.urandom(300 * 1024).hex()}]
    with pytest.raises(BatchTooLarge, match=r"change 3 is \d+ bytes compressed.*in parts"):
        split_changes(changes)
    with pytest.raises(BatchTooLarge, match="use split_changes"):
        encode_batch(A, HUB.public, DESK_A, 1, GENESIS, changes)
    # compressible but huge: refused before it is inflated anywhere
    with pytest.raises(BatchTooLarge, match=r"change 0 is .* bytes of JSON"):
        split_changes([{"text": "a" * (9 * 1024 * 1024)}])


def test_check_chain_alone_and_an_empty_batch() -> None:
    empty = decode_batch(HUB, AT_HUB, encode_batch(A, HUB.public, DESK_A, 1, GENESIS, []), {})
    assert empty.changes == []
    check_chain(empty, {})
    with pytest.raises(BatchError, match="replay"):
        check_chain(empty, {DESK_A: empty.link})


def test_the_envelope_names_origin_and_seq_for_routing() -> None:
    envelope = read_envelope(chain_of(2)[1])
    assert (envelope.origin, envelope.seq) == (DESK_A, 2)
    assert envelope.recipient_key == HUB.public.verify_key
    assert envelope.sealer_key == A.public.verify_key


def test_identity_round_trip_and_secrecy() -> None:
    ident = new_identity()
    assert Identity.from_bytes(ident.to_bytes()) == ident
    assert ident.seed.hex() not in repr(ident) and str(ident.seed) not in repr(ident)
    assert PublicIdentity.from_hex(ident.public.hex) == ident.public
    assert len(ident.public.fingerprint.split()) == 4
    with pytest.raises(InvalidKeyError, match="not an MRC Desk identity"):
        Identity.from_bytes(b"MRC-ID\x02" + ident.seed)
    with pytest.raises(InvalidKeyError, match="32 bytes"):
        PublicIdentity(b"\x01" * 31)
    with pytest.raises(InvalidKeyError, match="not a valid Ed25519 public key"):
        PublicIdentity(bytes(32))  # a small-order point: no box key derives from it
    with pytest.raises(InvalidKeyError, match="share one key"):
        Peers({DESK_A: A.public}, relays={"hub": A.public})


def test_a_fresh_identity_pair_can_exchange_batches() -> None:
    desk, hub = new_identity(), new_identity()
    data = encode_batch(desk, hub.public, DESK_A, 1, GENESIS, CHANGES)
    batch = decode_batch(hub, Peers({DESK_A: desk.public}), data, {})
    assert json.loads(canonical_json(batch.changes)) == CHANGES
