"""Sync batches: canonical JSON, deflate, signed by the origin desk, hash-chained, sealed.

Two layers, so that a hub can forward what it cannot forge (docs/sync.md, "Batches and bundles"):

* the **signed batch** — origin, seq, previous hash, change count, the deflated canonical JSON
  list of changes, and the origin desk's Ed25519 signature over all of it. It is the same bytes on
  every replica: the hub stores it unchanged, and `this_hash` (SHA-256 of it) chains the next
  batch of that origin.
* the **sealed batch** — what travels: a clear header (format, sealer key, recipient key, seq,
  origin; enough to route) followed by the signed batch encrypted with `nacl.public.Box` from
  the sealer to the recipient. A desk seals its own batches to the hub; the hub opens them,
  checks them, keeps the signed batch and seals it again for each desk of the centre.

Everything here is a pure function over bytes: no database, no network, so it can be fuzzed.
Decoding either returns a fully verified batch or raises `BatchError` with a one-line reason.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import Box

from mrc_desktop.sync.keys import Identity, Peers, PublicIdentity

MAX_BATCH_BYTES = 256 * 1024
"""Largest sealed batch, on the wire and in a bundle."""
MAX_JSON_BYTES = 8 * 1024 * 1024
"""Largest inflated payload: a deflate bomb stops here, and the splitter never builds more."""
GENESIS = bytes(32)
"""`prev_hash` of an origin's first batch (seq 1)."""

SEALED_MAGIC = b"MRCS"
SIGNED_MAGIC = b"MRCB"
FORMAT_VERSION = 1
SIGN_CONTEXT = b"MRC Desk signed batch v1\x00"
ZLIB_LEVEL = 6
MAX_ORIGIN_BYTES = 64
ORIGIN_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# sealed: magic, version, sealer key, recipient key, seq, origin length; then origin, Box output
_SEALED_HEAD = struct.Struct(">4sB32s32sQB")
# signed: magic, version, seq, prev hash, change count, origin length; then origin,
# payload length (u32), payload, signature
_SIGNED_HEAD = struct.Struct(">4sBQ32sIB")
_U32 = struct.Struct(">I")
_SIG_BYTES = 64
_BOX_OVERHEAD = Box.NONCE_SIZE + 16  # nonce + Poly1305 tag
MAX_OVERHEAD = (
    _SEALED_HEAD.size + _BOX_OVERHEAD + _SIGNED_HEAD.size + _U32.size + _SIG_BYTES
) + 2 * MAX_ORIGIN_BYTES
"""Bytes a sealed batch adds around its compressed payload, at most (longest origin)."""


class BatchError(ValueError):
    """A batch that cannot be made or must not be applied; the message says why, in one line."""


class BatchTooLarge(BatchError):
    """The changes do not fit in one batch (split them; one change alone may not fit at all)."""


@dataclass(frozen=True)
class ChainLink:
    """The last batch applied from one origin: where its chain continues."""

    seq: int
    hash: bytes


@dataclass(frozen=True)
class SignedBatch:
    """A freshly signed batch: `raw` is what the outbox keeps and the hub stores unchanged."""

    origin: str
    seq: int
    raw: bytes
    this_hash: bytes


@dataclass(frozen=True)
class Batch:
    """A verified batch: signature, seal and structure checked (and the chain, by decode_batch)."""

    origin: str
    seq: int
    prev_hash: bytes
    changes: list[dict[str, Any]]
    this_hash: bytes
    signed: bytes
    sealed_by: str  # the origin desk itself, or the hub that forwarded it

    @property
    def link(self) -> ChainLink:
        return ChainLink(self.seq, self.this_hash)


@dataclass(frozen=True)
class Envelope:
    """The clear header of a sealed batch. Unverified: for routing and bookkeeping only."""

    origin: str
    seq: int
    sealer_key: bytes
    recipient_key: bytes


# --- canonical JSON -------------------------------------------------------------------------


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (not \\u escapes), no NaN: one byte string per value."""
    return _ENCODER.encode(value).encode("utf-8")


def _canonical_changes(changes: Sequence[dict[str, Any]]) -> list[bytes]:
    """Each change as canonical JSON, refusing what would not come back unchanged."""
    items = []
    for index, change in enumerate(changes):
        if not isinstance(change, dict):
            raise BatchError(f"change {index} is a {type(change).__name__}, not a JSON object")
        try:
            items.append(canonical_json(change))
        except (TypeError, ValueError, RecursionError) as exc:
            raise BatchError(f"change {index} is not plain JSON: {exc}") from None
    # Tuples and non-string keys encode without complaint but come back as something else.
    if json.loads(_join(items)) != list(changes):
        for index, (item, change) in enumerate(zip(items, changes, strict=True)):
            if json.loads(item) != change:
                raise BatchError(f"change {index} is not plain JSON (tuples or non-string keys)")
    return items


def _join(items: Sequence[bytes]) -> bytes:
    """The canonical JSON of a list, from the canonical JSON of its items."""
    return b"[" + b",".join(items) + b"]"


# --- encoding -------------------------------------------------------------------------------


def _check_origin(origin: str) -> bytes:
    if not isinstance(origin, str) or not ORIGIN_PATTERN.fullmatch(origin):
        raise BatchError(f"origin {origin!r} must be 1-64 of A-Z a-z 0-9 . _ : -")
    return origin.encode("ascii")


def sign_batch(
    identity: Identity,
    origin: str,
    seq: int,
    prev_hash: bytes,
    changes: Sequence[dict[str, Any]],
) -> SignedBatch:
    """Sign a batch of the origin desk's changes, chained to its previous batch."""
    origin_bytes = _check_origin(origin)
    if not isinstance(seq, int) or not 1 <= seq < 2**63:
        raise BatchError(f"seq {seq!r} must be a whole number from 1")
    if not isinstance(prev_hash, bytes) or len(prev_hash) != 32:
        raise BatchError("prev_hash must be 32 bytes (SHA-256 of the previous batch)")
    if seq == 1 and prev_hash != GENESIS:
        raise BatchError("the first batch of an origin (seq 1) chains to 32 zero bytes")
    items = _canonical_changes(changes)
    payload_json = _join(items)
    if len(payload_json) > MAX_JSON_BYTES:
        raise BatchTooLarge(
            f"{len(items)} changes are {len(payload_json)} bytes of JSON; "
            f"a batch holds at most {MAX_JSON_BYTES} (use split_changes)"
        )
    payload = zlib.compress(payload_json, ZLIB_LEVEL)
    body = (
        _SIGNED_HEAD.pack(
            SIGNED_MAGIC, FORMAT_VERSION, seq, prev_hash, len(items), len(origin_bytes)
        )
        + origin_bytes
        + _U32.pack(len(payload))
        + payload
    )
    sealed_size = _SEALED_HEAD.size + len(origin_bytes) + _BOX_OVERHEAD + len(body) + _SIG_BYTES
    if sealed_size > MAX_BATCH_BYTES:
        raise BatchTooLarge(
            f"{len(items)} changes make a {sealed_size}-byte batch; the limit is "
            f"{MAX_BATCH_BYTES} (use split_changes)"
        )
    signature = identity.signing_key().sign(SIGN_CONTEXT + body).signature
    raw = body + signature
    return SignedBatch(origin, seq, raw, hashlib.sha256(raw).digest())


def seal_batch(identity: Identity, recipient: PublicIdentity, signed: bytes) -> bytes:
    """Seal a signed batch for one recipient (a desk to its hub, or a hub to a desk)."""
    origin, seq = _parse_signed_head(signed)[:2]
    origin_bytes = origin.encode("ascii")
    head = _SEALED_HEAD.pack(
        SEALED_MAGIC,
        FORMAT_VERSION,
        identity.public.verify_key,
        recipient.verify_key,
        seq,
        len(origin_bytes),
    )
    sealed = (
        head
        + origin_bytes
        + bytes(Box(identity.box_private(), recipient.box_public()).encrypt(signed))
    )
    if len(sealed) > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"sealed batch is {len(sealed)} bytes; the limit is {MAX_BATCH_BYTES}")
    return sealed


def encode_batch(
    identity: Identity,
    recipient: PublicIdentity,
    origin: str,
    seq: int,
    prev_hash: bytes,
    changes: Sequence[dict[str, Any]],
) -> bytes:
    """Sign and seal in one step. Use sign_batch + seal_batch to keep the hash for the chain."""
    return seal_batch(
        identity, recipient, sign_batch(identity, origin, seq, prev_hash, changes).raw
    )


# --- splitting ------------------------------------------------------------------------------


def _zlib_bound(n: int) -> int:
    """zlib's compressBound: deflate never makes n bytes longer than this."""
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13


def split_changes(
    changes: Sequence[dict[str, Any]], limit: int = MAX_BATCH_BYTES
) -> list[list[dict[str, Any]]]:
    """Cut changes, in order, into runs that each encode to a batch of at most `limit` bytes.

    A change is never cut in two: a batch is applied in one transaction, and half a change
    cannot be. One change that does not fit alone raises BatchTooLarge naming its index; large
    attachments must be captured as several smaller changes (parts) before they get here.
    """
    if not MAX_OVERHEAD < limit <= MAX_BATCH_BYTES:
        raise BatchError(f"limit must be between {MAX_OVERHEAD + 1} and {MAX_BATCH_BYTES}")
    budget = limit - MAX_OVERHEAD  # for the compressed payload
    items = _canonical_changes(changes)
    for i, item in enumerate(items):
        if len(item) + 2 > MAX_JSON_BYTES:
            raise BatchTooLarge(
                f"change {i} is {len(item)} bytes of JSON; a batch holds at most {MAX_JSON_BYTES}"
            )
        if _zlib_bound(len(item) + 2) > budget:
            size = len(zlib.compress(_join([item]), ZLIB_LEVEL))
            if size > budget:
                raise BatchTooLarge(
                    f"change {i} is {size} bytes compressed; a batch holds at most {budget} "
                    "(send large attachments in parts)"
                )
    ends = [0]  # ends[k]: JSON length of items[0:k] joined, commas included
    for item in items:
        ends.append(ends[-1] + len(item) + 1)
    runs: list[list[dict[str, Any]]] = []
    start = 0
    while start < len(items):
        end = _run_end(items, ends, start, budget)
        runs.append(list(changes[start:end]))
        start = end
    return runs


def _run_end(items: Sequence[bytes], ends: Sequence[int], start: int, budget: int) -> int:
    """The end of the longest run from `start` that fits (to within 5 % of the budget).

    Deflate size grows roughly in step with JSON size, so each guess scales the JSON length by
    the last measured ratio; bisection takes over if guessing does not settle quickly.
    """

    def json_len(end: int) -> int:
        return ends[end] - ends[start] + 1  # brackets, minus the last comma

    def end_for(length: int) -> int:  # the largest end whose run is at most `length` bytes
        return bisect.bisect_right(ends, ends[start] + length - 1, lo=start + 1) - 1

    top = min(len(items), end_for(MAX_JSON_BYTES))  # ends beyond this are never allowed
    safe = budget - 15 - (budget >> 11)  # _zlib_bound(safe) <= budget: fits whatever the data
    lo = max(start + 1, end_for(safe))  # (start + 1 alone was measured by the caller)
    while lo < top and _zlib_bound(json_len(lo + 1)) <= budget:
        lo += 1
    hi = top + 1  # smallest end known not to fit
    ratio = 0.3  # a first guess for JSON; replaced by each measurement
    for probe in range(24):
        if hi - lo <= 1:
            break
        # scale by the measured ratio first; bisect if that does not settle in a few probes
        guess = end_for(int(budget / ratio * 0.98)) if probe < 6 else (lo + hi) // 2
        guess = min(max(guess, lo + 1), hi - 1)
        size = len(zlib.compress(_join(items[start:guess]), ZLIB_LEVEL))
        ratio = max(size / json_len(guess), 1e-3)
        if size <= budget:
            lo = guess
            if size >= budget * 0.95:
                break
        else:
            hi = guess
    return lo


# --- decoding -------------------------------------------------------------------------------


def read_envelope(data: bytes) -> Envelope:
    """The clear header of a sealed batch, NOT verified: route with it, never trust it."""
    if len(data) < _SEALED_HEAD.size:
        raise BatchError(f"truncated: {len(data)} bytes is shorter than a batch header")
    magic, version, sealer, recipient, seq, origin_len = _SEALED_HEAD.unpack_from(data)
    if magic != SEALED_MAGIC:
        raise BatchError("not an MRC Desk sealed batch (wrong magic bytes)")
    if version != FORMAT_VERSION:
        raise BatchError(
            f"unknown batch format version {version} (this desk reads {FORMAT_VERSION})"
        )
    start = _SEALED_HEAD.size
    if len(data) < start + origin_len:
        raise BatchError("truncated inside the batch header")
    origin = _decode_origin(data[start : start + origin_len])
    return Envelope(origin, seq, sealer, recipient)


def _decode_origin(raw: bytes) -> str:
    try:
        origin = raw.decode("ascii")
    except UnicodeDecodeError:
        origin = ""
    if not ORIGIN_PATTERN.fullmatch(origin):
        raise BatchError("malformed origin in the batch header")
    return origin


def _parse_signed_head(signed: bytes) -> tuple[str, int, bytes, int, bytes, bytes]:
    """origin, seq, prev hash, count, payload, signed body of a signed batch (structure only)."""
    if len(signed) < _SIGNED_HEAD.size + _U32.size + _SIG_BYTES:
        raise BatchError("signed batch is truncated")
    magic, version, seq, prev, count, origin_len = _SIGNED_HEAD.unpack_from(signed)
    if magic != SIGNED_MAGIC:
        raise BatchError("not an MRC Desk signed batch (wrong magic bytes)")
    if version != FORMAT_VERSION:
        raise BatchError(f"unknown signed-batch format version {version}")
    pos = _SIGNED_HEAD.size
    origin = _decode_origin(signed[pos : pos + origin_len])
    pos += origin_len
    if len(signed) < pos + _U32.size + _SIG_BYTES:
        raise BatchError("signed batch is truncated")
    (payload_len,) = _U32.unpack_from(signed, pos)
    pos += _U32.size
    if len(signed) != pos + payload_len + _SIG_BYTES:
        raise BatchError("signed batch length does not match its payload length")
    payload = signed[pos : pos + payload_len]
    return origin, seq, prev, count, payload, signed[: pos + payload_len]


def own_batch_changes(signed: bytes) -> list[dict[str, Any]]:
    """The changes of a signed batch this desk made itself and kept in its own (encrypted)
    outbox: read without checking the signature, which only the desk's own key made.

    For a store restored from a backup, which must know which of its changes its unsent
    batches held (``sync/restore.py``); never for anything received.
    """
    _origin, _seq, _prev, count, payload, _body = _parse_signed_head(bytes(signed))
    return _inflate_changes(payload, count)


def prev_hash_of(signed: bytes) -> bytes:
    """The hash of the batch a signed batch follows (structure only, no signature check)."""
    return _parse_signed_head(bytes(signed))[2]


def open_batch(identity: Identity, peers: Peers, data: bytes) -> Batch:
    """Unseal and verify a batch addressed to `identity`; the chain is not checked here.

    The hub uses this directly (it compares a re-sent batch with the one it stored for that
    slot); desks use decode_batch, which also checks the chain.
    """
    data = bytes(data)
    if len(data) > MAX_BATCH_BYTES:
        raise BatchError(f"oversize: {len(data)} bytes; a batch is at most {MAX_BATCH_BYTES}")
    envelope = read_envelope(data)
    me = identity.public
    if envelope.recipient_key != me.verify_key:
        raise BatchError("wrong recipient: this batch is sealed for another desk or hub")
    sealer = peers.name_of(envelope.sealer_key)
    if sealer is None:
        raise BatchError("unknown sender: sealed by a key this desk does not know")
    sealer_key = PublicIdentity(envelope.sealer_key)
    cipher = data[_SEALED_HEAD.size + len(envelope.origin) :]
    if len(cipher) < _BOX_OVERHEAD:
        raise BatchError("truncated: no sealed content")
    try:
        signed = Box(identity.box_private(), sealer_key.box_public()).decrypt(cipher)
    except CryptoError:
        raise BatchError(
            "bad seal: the batch was altered, truncated or not sealed for this key"
        ) from None
    origin, seq, prev, count, payload, body = _parse_signed_head(signed)
    if (origin, seq) != (envelope.origin, envelope.seq):
        raise BatchError(
            f"header says {envelope.origin} #{envelope.seq} but the signed batch is {origin} #{seq}"
        )
    signer = peers.desk_key(origin)
    if signer is None:
        raise BatchError(f"unknown desk: no key for origin {origin}")
    if envelope.sealer_key != signer.verify_key and not peers.is_relay(envelope.sealer_key):
        raise BatchError(f"sealed by {sealer}, which is neither desk {origin} nor a hub")
    try:
        signer.verifier().verify(SIGN_CONTEXT + body, signed[len(body) :])
    except BadSignatureError:
        raise BatchError(f"bad signature: batch #{seq} was not signed by desk {origin}") from None
    changes = _inflate_changes(payload, count)
    return Batch(origin, seq, prev, changes, hashlib.sha256(signed).digest(), signed, sealer)


def _inflate_changes(payload: bytes, count: int) -> list[dict[str, Any]]:
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(payload, MAX_JSON_BYTES + 1)
    except zlib.error as exc:
        raise BatchError(f"payload is not valid deflate data ({exc})") from None
    if len(text) > MAX_JSON_BYTES:
        raise BatchError(f"oversize: payload inflates beyond {MAX_JSON_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise BatchError("payload deflate stream is incomplete or followed by extra bytes")

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        changes = json.loads(text.decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BatchError(f"bad JSON in the payload: {exc}") from None
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise BatchError("bad JSON in the payload: not a list of change objects")
    try:
        canonical = canonical_json(changes) == text
    except (ValueError, RecursionError):
        canonical = False
    if not canonical:
        raise BatchError("bad JSON in the payload: not in canonical form")
    if len(changes) != count:
        raise BatchError(f"header counts {count} changes but the payload holds {len(changes)}")
    return changes


def check_chain(batch: Batch, chain: Mapping[str, ChainLink]) -> None:
    """Refuse a batch that does not continue its origin's chain exactly where it stands."""
    last = chain.get(batch.origin, ChainLink(0, GENESIS))
    if batch.seq <= last.seq:
        raise BatchError(
            f"replay: batch #{batch.seq} from {batch.origin} was already received "
            f"(have up to #{last.seq})"
        )
    if batch.seq != last.seq + 1:
        raise BatchError(
            f"gap: batch #{batch.seq} from {batch.origin} arrived but #{last.seq + 1} is missing"
        )
    if batch.prev_hash != last.hash:
        raise BatchError(
            f"broken chain: batch #{batch.seq} from {batch.origin} does not follow "
            f"the batch #{last.seq} received from it"
        )


def decode_batch(
    identity: Identity, peers: Peers, data: bytes, chain: Mapping[str, ChainLink]
) -> Batch:
    """A fully verified batch that continues its origin's chain, or BatchError; never partial.

    The recipient is `identity` itself. The caller applies the changes and stores
    `batch.link` as the origin's new chain position in one transaction.
    """
    batch = open_batch(identity, peers, data)
    check_chain(batch, chain)
    return batch
