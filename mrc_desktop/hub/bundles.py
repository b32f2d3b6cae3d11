"""The hub's side of USB sync: a desk's bundle taken in, a return bundle written for it.

A desk with no network carries a bundle (docs/sync.md, "USB bundles") to the hub on a stick.
The hub opens it with its own identity, trusting only the approved desk the manifest names
(its enrolled key must have signed the whole file), and then takes each batch exactly as
``PUT /v1/batches`` takes it — :meth:`HubRelay.receive`, one transaction per batch — so USB
and HTTPS cannot come to check differently. A refusal stops the import there, as the desk's
uploads stop at a refused batch: the batches before it stay stored (each was committed on its
own, as over HTTP), the ones after it were not tried (they would be a gap).

The return bundle answers with what the desk lacks: the stored signed batches of the centre's
other approved desks after the positions the desk reported (``has`` of its bundle), each
sealed by the hub to the desk, consecutive per origin; ``has`` acknowledging the desk's own
batches (its outbox empties); and the centre's peers (``GET /v1/peers``'s answer), so a desk
that never reached the hub online can check the other desks' signatures.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mrc_desktop.hub.relay import BatchRefused, HubRelay, desk_identity
from mrc_desktop.hub.storage import Desk, DeskStatus, HubStorage, is_desk_id
from mrc_desktop.sync.batches import BatchError, ChainLink, canonical_json, read_envelope
from mrc_desktop.sync.bundle import (
    BUNDLE_SUFFIX,
    MAX_BUNDLE_BYTES,
    BundleError,
    claimed_sender,
    open_bundle,
    write_bundle,
)
from mrc_desktop.sync.keys import Identity, Peers
from mrc_desktop.sync.state import HUB_NAME

# Room for the bundle's frame, manifest (without its peers) and signature: generous.
FRAME_RESERVE = 1024 * 1024
FEED_PAGE = 64  # stored batches read at a time while a return bundle is filled


class BundleRefused(Exception):
    """A bundle the hub does not take at all, or cannot answer; nothing was stored."""


@dataclass(frozen=True)
class BundleReceipt:
    """What importing a desk's bundle did."""

    desk_id: str
    centre_id: str
    created_at: dt.datetime  # when the desk made the bundle (its clock)
    batches: int  # in the bundle
    stored: int  # new at the hub
    duplicates: int  # stored before (over HTTPS, or the same bundle again)
    refused: str | None  # why the first refused batch was refused; None when all went in
    has: dict[str, ChainLink]  # what the desk holds per origin: where its return starts

    @property
    def not_tried(self) -> int:
        """Batches after the refused one (each would continue the refused one's chain)."""
        return self.batches - self.stored - self.duplicates - (self.refused is not None)


@dataclass(frozen=True)
class ReturnBundle:
    """A return bundle written for a desk."""

    path: Path
    size: int
    batches: int  # other desks' batches carried
    origins: int  # how many desks they come from
    acknowledged: ChainLink | None  # the desk's last batch the hub holds (None: none yet)
    more: bool  # batches that did not fit wait for the next return bundle


def hub_relay(storage: HubStorage) -> HubRelay:
    """The hub's identity (its seed, made on first use), as the API uses it."""
    return HubRelay(Identity(storage.hub_key_seed()))


def import_desk_bundle(
    storage: HubStorage,
    relay: HubRelay,
    data: bytes,
    *,
    clock: Callable[[], float] = time.time,
) -> BundleReceipt:
    """Take a desk's bundle: every batch through the same checks and storage call as an upload.

    Raises ``BundleRefused`` (nothing stored) when the bundle is not from an approved desk
    of this hub, not for this hub, or altered; a refused batch stops the import and is named
    in the receipt, with the batches stored before it.
    """
    try:
        sender = claimed_sender(data)
    except BundleError as exc:
        raise BundleRefused(str(exc)) from None
    desk = _approved_desk(storage, sender)
    try:
        signed = open_bundle(data, relay.identity, Peers(desks={desk.id: desk_identity(desk)}))
    except (BundleError, BatchRefused) as exc:
        raise BundleRefused(str(exc)) from None
    count = len(signed.sealed)
    stored = duplicates = 0
    refused: str | None = None
    for index, sealed in enumerate(signed.sealed):
        where = f"batch {index + 1} of {count}"
        try:
            seq = read_envelope(sealed).seq
        except BatchError as exc:
            refused = f"{where}: the batch cannot be opened: {exc}"
            break
        received = relay.receive(storage, desk, desk.id, seq, sealed, int(clock() * 1000))
        if not received.accepted:
            refused = f"{where} (#{seq}): {received.detail}"
            break
        if received.status == 201:
            stored += 1
        else:
            duplicates += 1
    assert desk.centre_id is not None  # _approved_desk checked it
    return BundleReceipt(
        desk_id=desk.id,
        centre_id=desk.centre_id,
        created_at=signed.manifest.created_at,
        batches=count,
        stored=stored,
        duplicates=duplicates,
        refused=refused,
        has=dict(signed.manifest.has),
    )


def export_return_bundle(
    storage: HubStorage,
    relay: HubRelay,
    desk_id: str,
    target: Path,
    has: Mapping[str, ChainLink] | None = None,
    *,
    max_bytes: int = MAX_BUNDLE_BYTES,
) -> ReturnBundle:
    """Write the return bundle for ``desk_id`` (atomically: temp file, fsync, rename).

    ``has`` is what the desk reported holding (its bundle's manifest); without it every
    stored batch of the centre's other desks is sent from the start (the desk skips those it
    holds). Batches of revoked desks go too (all were received while they were approved;
    the peers carry their certificates, see ``HubRelay.centre_peers``). What does not fit
    under ``max_bytes`` waits for the next bundle;
    the batches are taken in the order the hub stored them, so each origin's stay
    consecutive. ``target`` may be a folder: the file is then named after the desk and time.
    """
    desk = _approved_desk(storage, desk_id)
    centre_id = str(desk.centre_id)
    peers = relay.centre_peers(storage, centre_id)
    listed = [*peers["desks"], *peers["revoked_desks"]]
    senders = {entry["desk_id"] for entry in listed} - {desk.id}
    # Only the centre's desks: the query leaves out what the desk holds, unread.
    start = {origin: link.seq for origin, link in (has or {}).items() if origin in senders}
    budget = max_bytes - FRAME_RESERVE - len(canonical_json(peers))
    sealed: list[bytes] = []
    origins: set[str] = set()
    size = 0
    more = False
    after = 0
    while not more:
        page = storage.feed(centre_id, after, FEED_PAGE, desk.id, start)
        for item in page:
            after = item.hub_seq
            if item.origin not in senders:
                continue
            data = relay.reseal_for(desk, item.data)
            if size + len(data) + 4 > budget:
                more = True
                break
            sealed.append(data)
            origins.add(item.origin)
            size += len(data) + 4
        if len(page) < FEED_PAGE:
            break
    head = storage.chain_head(desk.id)
    acknowledged = None if head is None else ChainLink(head.seq, bytes.fromhex(head.sha256))
    if target.is_dir():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        target = target / f"mrc-hub-for-{desk.id[:8]}-{stamp}{BUNDLE_SUFFIX}"
    try:
        write_bundle(
            target,
            relay.identity,
            sender=HUB_NAME,
            recipient=desk.id,
            recipient_key=desk_identity(desk),
            batches=sealed,
            has={} if acknowledged is None else {desk.id: acknowledged},
            peers=peers,
        )
        written = target.stat().st_size
    except (BundleError, BatchRefused) as exc:
        raise BundleRefused(str(exc)) from None
    except OSError as exc:
        raise BundleRefused(f"{target}: cannot write ({exc.strerror or exc})") from None
    return ReturnBundle(target, written, len(sealed), len(origins), acknowledged, more)


def _approved_desk(storage: HubStorage, desk_id: str) -> Desk:
    """The approved desk ``desk_id``, or BundleRefused saying why not (ids only)."""
    desk = storage.desk(desk_id) if is_desk_id(desk_id) else None
    if desk is None:
        raise BundleRefused(f"desk {desk_id!r} is not enrolled at this hub")
    if desk.status is DeskStatus.REVOKED:
        raise BundleRefused(f"desk {desk.id} has been revoked")
    if desk.status is DeskStatus.PENDING or desk.centre_id is None:
        raise BundleRefused(f"desk {desk.id} is waiting for approval (mrc-hub desk approve CODE)")
    return desk
