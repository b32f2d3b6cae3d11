"""USB bundles: sealed batches and a signed manifest in one file, checked whole before use.

A bundle goes from a desk to its hub (its new batches, and what it has received) or back (the
hub's acknowledgements and the centre's new batches). The container is length-prefixed, not a
zip, so that one Ed25519 signature covers every byte of the file: zipfile would ignore a flipped
byte in a timestamp or comment, and a reader here must refuse any change at all
(docs/sync.md, "Batches and bundles").

    magic "MRCBUNDL" | version u8 | sender key (32) | recipient key (32)
    manifest length u32 | manifest (canonical JSON)
    batch count u32 | count x (length u32 | sealed batch)
    signature (64): the sender's Ed25519 signature over a context string and all bytes above

Reading verifies the signature, the manifest, and every batch (seal, signature, chain) before
returning anything; a bundle that fails anywhere is refused whole with a one-line reason.
``open_bundle`` stops after the signature and manifest: the hub puts each batch of a desk's
bundle through the same checks as an upload instead.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError

from mrc_desktop.storage.files import atomic_write_bytes, fsync_dir
from mrc_desktop.sync.batches import (
    MAX_BATCH_BYTES,
    ORIGIN_PATTERN,
    Batch,
    BatchError,
    ChainLink,
    canonical_json,
    check_chain,
    open_batch,
    read_envelope,
)
from mrc_desktop.sync.keys import Identity, InvalidKeyError, Peers, PublicIdentity

BUNDLE_MAGIC = b"MRCBUNDL"
BUNDLE_VERSION = 1
BUNDLE_SUFFIX = ".mrcbundle"
SIGN_CONTEXT = b"MRC Desk bundle v1\x00"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
MAX_NAME_CHARS = 200

_HEAD = struct.Struct(">8sB32s32sI")
_U32 = struct.Struct(">I")
_SIG_BYTES = 64
_MANIFEST_KEYS = {
    "carries",
    "created_at",
    "has",
    "recipient",
    "recipient_key",
    "sender",
    "sender_key",
}
_PEERS_KEY = "peers"  # optional: old bundles (and every desk's) have no peers
_PEERS_KEYS = {"centre_id", "desks", "hub_key", "revoked"}
_PEERS_OPTIONAL = {"revoked_desks"}  # revoked desks' certificates (hubs before it: absent)
_PEER_DESK_KEYS = {"certificate", "desk_id"}


class BundleError(ValueError):
    """A bundle that cannot be written or must not be imported; the message says why."""


class BundleReplayError(BundleError):
    """Every batch in the bundle was already received: an old bundle imported again."""


@dataclass(frozen=True)
class Manifest:
    """Who sent the bundle to whom, when, what it carries and what the sender has.

    `carries` is the first and last seq of each origin's batches in the bundle. `has` is the
    sender's own position in each origin's chain: from a desk, what it has received (the hub
    sends the rest back); from the hub, what it has durably stored (the desk's acknowledgement:
    outbox batches up to that seq can go).

    `peers` (only from the hub, optional) is what ``GET /v1/peers`` answers — the hub key, the
    centre, its approved desks' hub-signed certificates and its revoked desk ids — so a desk
    that never reached the hub online can check the other desks' batches in the bundle. The
    bundle's signature covers it, but the desk still verifies each certificate with its pinned
    hub key, as it does online.
    """

    sender: str
    sender_key: PublicIdentity
    recipient: str
    recipient_key: PublicIdentity
    created_at: dt.datetime
    carries: dict[str, tuple[int, int]]
    has: dict[str, ChainLink]
    peers: dict[str, Any] | None = None

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {
            "carries": {o: list(r) for o, r in self.carries.items()},
            "created_at": self.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "has": {o: {"hash": c.hash.hex(), "seq": c.seq} for o, c in self.has.items()},
            "recipient": self.recipient,
            "recipient_key": self.recipient_key.hex,
            "sender": self.sender,
            "sender_key": self.sender_key.hex,
        }
        if self.peers is not None:  # left out, not null: older readers know no such field
            doc[_PEERS_KEY] = self.peers
        return canonical_json(doc)


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: the batches new to the reader (in chain order) and the manifest."""

    manifest: Manifest
    batches: list[Batch]
    already_had: int  # batches skipped because the reader had them (they join its chain)


@dataclass(frozen=True)
class SignedBundle:
    """A bundle whose signature and manifest are verified; its batches are not opened yet."""

    manifest: Manifest
    sealed: list[bytes]


# --- writing --------------------------------------------------------------------------------


def pack_bundle(
    identity: Identity,
    *,
    sender: str,
    recipient: str,
    recipient_key: PublicIdentity,
    batches: Sequence[bytes],
    has: Mapping[str, ChainLink],
    created_at: dt.datetime | None = None,
    peers: Mapping[str, Any] | None = None,
) -> tuple[bytes, Manifest]:
    """The bundle's bytes. Batches must be sealed by `identity` to `recipient_key`.

    `peers` is the hub's ``GET /v1/peers`` answer for the recipient's centre (hub only)."""
    _check_name("sender", sender)
    _check_name("recipient", recipient)
    me = identity.public.verify_key
    placed: list[tuple[str, int, bytes]] = []
    for index, sealed in enumerate(batches):
        try:
            envelope = read_envelope(sealed)
        except BatchError as exc:
            raise BundleError(f"batch {index + 1}: {exc}") from None
        if len(sealed) > MAX_BATCH_BYTES:
            raise BundleError(f"batch {index + 1} is larger than {MAX_BATCH_BYTES} bytes")
        if envelope.recipient_key != recipient_key.verify_key:
            raise BundleError(f"batch {index + 1} is sealed for another recipient")
        if envelope.sealer_key != me:
            raise BundleError(f"batch {index + 1} was sealed by another key than the sender's")
        placed.append((envelope.origin, envelope.seq, bytes(sealed)))
    placed.sort(key=lambda item: (item[0], item[1]))
    carries: dict[str, tuple[int, int]] = {}
    for origin, seq, _ in placed:
        if origin in carries and seq != carries[origin][1] + 1:
            raise BundleError(f"batches of {origin} are not consecutive (#{seq} after a gap)")
        carries[origin] = (carries.get(origin, (seq, seq))[0], seq)
    for origin, link in has.items():
        if not ORIGIN_PATTERN.fullmatch(origin) or link.seq < 0 or len(link.hash) != 32:
            raise BundleError(f"'has' entry for {origin!r} is not an origin, seq and hash")
    when = created_at or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise BundleError("created_at needs a time zone")
    manifest = Manifest(
        sender=sender,
        sender_key=identity.public,
        recipient=recipient,
        recipient_key=recipient_key,
        created_at=when.replace(microsecond=0).astimezone(dt.UTC),
        carries=carries,
        has=dict(has),
        peers=None if peers is None else _peers(dict(peers)),
    )
    manifest_bytes = manifest.to_json()
    parts = [
        _HEAD.pack(BUNDLE_MAGIC, BUNDLE_VERSION, me, recipient_key.verify_key, len(manifest_bytes)),
        manifest_bytes,
        _U32.pack(len(placed)),
    ]
    for _, _, sealed in placed:
        parts += [_U32.pack(len(sealed)), sealed]
    body = b"".join(parts)
    if len(body) + _SIG_BYTES > MAX_BUNDLE_BYTES:
        raise BundleError(f"bundle would exceed {MAX_BUNDLE_BYTES} bytes; export in two parts")
    signature = identity.signing_key().sign(SIGN_CONTEXT + body).signature
    return body + signature, manifest


def write_bundle(
    path: Path,
    identity: Identity,
    *,
    sender: str,
    recipient: str,
    recipient_key: PublicIdentity,
    batches: Sequence[bytes],
    has: Mapping[str, ChainLink],
    created_at: dt.datetime | None = None,
    peers: Mapping[str, Any] | None = None,
) -> Manifest:
    """Write a bundle atomically: a temp file in the same folder, fsynced, then renamed.

    A crash or a pulled USB stick leaves either the previous file or the whole new one under
    `path`, never part of one.
    """
    data, manifest = pack_bundle(
        identity,
        sender=sender,
        recipient=recipient,
        recipient_key=recipient_key,
        batches=batches,
        has=has,
        created_at=created_at,
        peers=peers,
    )
    atomic_write_bytes(path, data)
    fsync_dir(path.parent)
    return manifest


def _check_name(field: str, name: str) -> None:
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise BundleError(f"{field} must be a name of 1-{MAX_NAME_CHARS} characters")


# --- reading --------------------------------------------------------------------------------


def read_bundle_bytes(path: Path) -> bytes:
    """A bundle file's bytes (not verified); BundleError names the file when it cannot be read
    or is larger than any bundle."""
    try:
        size = path.stat().st_size
        if size > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path}: {size} bytes is larger than a bundle can be")
        return path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_bundle(
    path: Path,
    identity: Identity,
    peers: Peers,
    chain: Mapping[str, ChainLink],
    *,
    batch_peers: Callable[[Manifest], Peers] | None = None,
) -> Bundle:
    """Read and verify a bundle file whole; BundleError names the file and the reason."""
    data = read_bundle_bytes(path)
    try:
        return unpack_bundle(data, identity, peers, chain, batch_peers=batch_peers)
    except BundleError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def unpack_bundle(
    data: bytes,
    identity: Identity,
    peers: Peers,
    chain: Mapping[str, ChainLink],
    *,
    batch_peers: Callable[[Manifest], Peers] | None = None,
) -> Bundle:
    """Verify a bundle's bytes: signature, manifest, every batch and its chain; all or nothing.

    `peers` must know the sender. The batches are checked with `peers` too, or with what
    `batch_peers(manifest)` returns once the manifest is verified (a desk adding the peers a
    hub's bundle carries); it may raise BundleError to refuse the bundle.
    """
    signed = open_bundle(data, identity, peers)
    trusted = peers if batch_peers is None else batch_peers(signed.manifest)
    return _verify_batches(identity, trusted, chain, signed.manifest, signed.sealed)


def claimed_sender(data: bytes) -> str:
    """The sender a bundle's manifest names, NOT verified: only to look up whose key checks it.

    BundleError if the bytes do not even hold a readable manifest."""
    if len(data) < _HEAD.size + _U32.size + _SIG_BYTES or data[:8] != BUNDLE_MAGIC:
        raise BundleError("not an MRC Desk bundle")
    manifest_len = _HEAD.unpack_from(data)[4]
    raw = data[_HEAD.size : _HEAD.size + manifest_len]
    try:
        sender = json.loads(raw.decode("utf-8")).get("sender")
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        sender = None
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_NAME_CHARS:
        raise BundleError("not an MRC Desk bundle (its manifest names no sender)")
    return sender


def open_bundle(data: bytes, identity: Identity, peers: Peers) -> SignedBundle:
    """Verify a bundle's frame, recipient, sender, signature and manifest; batches unopened.

    `peers` must know the sender's key. Nothing in the result can have been altered since
    the sender signed it, but its batches still need opening and checking.
    """
    data = bytes(data)
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"oversize: a bundle is at most {MAX_BUNDLE_BYTES} bytes")
    if len(data) < _HEAD.size + _U32.size + _SIG_BYTES:
        raise BundleError("not an MRC Desk bundle (too short; truncated?)")
    magic, version, sender_key, recipient_key, manifest_len = _HEAD.unpack_from(data)
    if magic != BUNDLE_MAGIC:
        raise BundleError("not an MRC Desk bundle (wrong magic bytes)")
    if version != BUNDLE_VERSION:
        raise BundleError(f"unknown bundle format version {version}")
    if recipient_key != identity.public.verify_key:
        raise BundleError("this bundle is for another desk or hub, not this one")
    sender = peers.name_of(sender_key)
    if sender is None:
        raise BundleError("bundle from an unknown sender (its key is not enrolled here)")
    body, signature = data[:-_SIG_BYTES], data[-_SIG_BYTES:]
    try:
        PublicIdentity(sender_key).verifier().verify(SIGN_CONTEXT + body, signature)
    except BadSignatureError:
        raise BundleError("bad signature: the bundle was altered or truncated") from None
    manifest_bytes, sealed_batches = _split_body(body, manifest_len)
    manifest = _parse_manifest(manifest_bytes, sender, sender_key, recipient_key)
    return SignedBundle(manifest, sealed_batches)


def _split_body(body: bytes, manifest_len: int) -> tuple[bytes, list[bytes]]:
    pos = _HEAD.size
    manifest = body[pos : pos + manifest_len]
    pos += manifest_len
    if len(body) < pos + _U32.size:
        raise BundleError("bundle is truncated inside its manifest")
    (count,) = _U32.unpack_from(body, pos)
    pos += _U32.size
    batches = []
    for index in range(count):
        if len(body) < pos + _U32.size:
            raise BundleError(f"bundle is truncated at batch {index + 1} of {count}")
        (length,) = _U32.unpack_from(body, pos)
        pos += _U32.size
        if length > MAX_BATCH_BYTES or len(body) < pos + length:
            raise BundleError(f"batch {index + 1} of {count} has a bad length")
        batches.append(body[pos : pos + length])
        pos += length
    if pos != len(body):
        raise BundleError("bundle has bytes after its last batch")
    return manifest, batches


def _parse_manifest(raw: bytes, sender: str, sender_key: bytes, recipient_key: bytes) -> Manifest:
    try:
        doc = json.loads(raw.decode("utf-8"))
        canonical = isinstance(doc, dict) and canonical_json(doc) == raw
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(f"manifest is not JSON: {exc}") from None
    if not canonical or set(doc) - {_PEERS_KEY} != _MANIFEST_KEYS:
        raise BundleError("manifest is not a canonical object with the expected fields")
    try:
        manifest = Manifest(
            sender=_text(doc, "sender"),
            sender_key=PublicIdentity.from_hex(_text(doc, "sender_key")),
            recipient=_text(doc, "recipient"),
            recipient_key=PublicIdentity.from_hex(_text(doc, "recipient_key")),
            created_at=_timestamp(_text(doc, "created_at")),
            carries=_carries(doc["carries"]),
            has=_has(doc["has"]),
            peers=_peers(doc[_PEERS_KEY]) if _PEERS_KEY in doc else None,
        )
    except InvalidKeyError as exc:
        raise BundleError(f"manifest: {exc}") from None
    if manifest.sender_key.verify_key != sender_key:
        raise BundleError("manifest: sender_key differs from the bundle header")
    if manifest.recipient_key.verify_key != recipient_key:
        raise BundleError("manifest: recipient_key differs from the bundle header")
    if manifest.sender != sender:
        raise BundleError(f"manifest: sender says {manifest.sender!r} but the key is {sender!r}")
    return manifest


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME_CHARS:
        raise BundleError(f"manifest: {key} must be a short text")
    return value


def _timestamp(text: str) -> dt.datetime:
    try:
        when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise BundleError(f"manifest: created_at {text!r} is not YYYY-MM-DDTHH:MM:SSZ") from None
    return when


def _seq(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise BundleError(f"manifest: {what} must be a whole number")
    return value


def _carries(value: Any) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        raise BundleError("manifest: carries must be an object")
    out = {}
    for origin, span in value.items():
        if not ORIGIN_PATTERN.fullmatch(origin) or not isinstance(span, list) or len(span) != 2:
            raise BundleError(f"manifest: carries[{origin!r}] must be [first, last]")
        out[origin] = (_seq(span[0], "carries"), _seq(span[1], "carries"))
    return out


def _has(value: Any) -> dict[str, ChainLink]:
    if not isinstance(value, dict):
        raise BundleError("manifest: has must be an object")
    out = {}
    for origin, link in value.items():
        if not ORIGIN_PATTERN.fullmatch(origin) or not isinstance(link, dict):
            raise BundleError(f"manifest: has[{origin!r}] must be {{seq, hash}}")
        if set(link) != {"seq", "hash"} or not isinstance(link["hash"], str):
            raise BundleError(f"manifest: has[{origin!r}] must be {{seq, hash}}")
        try:
            digest = bytes.fromhex(link["hash"])
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise BundleError(f"manifest: has[{origin!r}].hash must be 64 hex digits")
        out[origin] = ChainLink(_seq(link["seq"], f"has[{origin!r}].seq"), digest)
    return out


def _peers(value: Any) -> dict[str, Any]:
    """The shape of ``GET /v1/peers``'s answer; what it says is checked by the desk."""
    if (
        not isinstance(value, dict)
        or not _PEERS_KEYS <= set(value) <= _PEERS_KEYS | _PEERS_OPTIONAL
    ):
        raise BundleError(
            f"manifest: peers must be an object with {', '.join(sorted(_PEERS_KEYS))}"
            f" (and optionally {', '.join(sorted(_PEERS_OPTIONAL))})"
        )
    for key in ("centre_id", "hub_key"):
        if not isinstance(value[key], str) or not 0 < len(value[key]) <= MAX_NAME_CHARS:
            raise BundleError(f"manifest: peers.{key} must be a short text")
    revoked = value["revoked"]
    for key in ("desks", "revoked_desks"):
        listed = value.get(key, [])
        if not isinstance(listed, list) or not all(
            isinstance(d, dict)
            and set(d) == _PEER_DESK_KEYS
            and all(isinstance(d[k], str) for k in _PEER_DESK_KEYS)
            for d in listed
        ):
            raise BundleError(f"manifest: peers.{key} must be a list of {{desk_id, certificate}}")
    if not isinstance(revoked, list) or not all(isinstance(r, str) for r in revoked):
        raise BundleError("manifest: peers.revoked must be a list of desk ids")
    return value


def _verify_batches(
    identity: Identity,
    peers: Peers,
    chain: Mapping[str, ChainLink],
    manifest: Manifest,
    sealed_batches: Sequence[bytes],
) -> Bundle:
    """Every batch opened and chained; batches the reader already has are skipped, not trusted.

    A skipped batch is harmless (nothing from it is applied), and the first new batch of each
    origin must continue the reader's own chain, which the bundle's batches before it lead to.
    """
    count = len(sealed_batches)
    position = dict(chain)
    in_bundle: dict[str, ChainLink] = {}
    carries: dict[str, tuple[int, int]] = {}
    fresh: list[Batch] = []
    had = 0
    for index, sealed in enumerate(sealed_batches):
        where = f"batch {index + 1} of {count}"
        try:
            batch = open_batch(identity, peers, sealed)
        except BatchError as exc:
            raise BundleError(f"{where}: {exc}") from None
        if batch.sealed_by != manifest.sender:
            raise BundleError(f"{where}: sealed by {batch.sealed_by}, not by the bundle's sender")
        previous = in_bundle.get(batch.origin)
        if previous is not None and (
            batch.seq != previous.seq + 1 or batch.prev_hash != previous.hash
        ):
            raise BundleError(f"{where}: batches of {batch.origin} do not form one chain")
        in_bundle[batch.origin] = batch.link
        first = carries.get(batch.origin, (batch.seq, batch.seq))[0]
        carries[batch.origin] = (first, batch.seq)
        have = chain.get(batch.origin)
        if have is not None and batch.seq <= have.seq:
            if batch.seq == have.seq and batch.this_hash != have.hash:
                raise BundleError(
                    f"{where}: fork: #{batch.seq} from {batch.origin} differs from the batch "
                    "already received with that number"
                )
            had += 1
            continue
        try:
            check_chain(batch, position)
        except BatchError as exc:
            raise BundleError(f"{where}: {exc}") from None
        position[batch.origin] = batch.link
        fresh.append(batch)
    if carries != manifest.carries:
        raise BundleError("manifest: carries does not match the batches in the bundle")
    if count and not fresh:
        raise BundleReplayError(
            f"nothing new: all {count} batches were already received (an old bundle?)"
        )
    return Bundle(manifest, fresh, had)
