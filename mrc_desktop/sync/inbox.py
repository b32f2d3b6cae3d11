"""Received batches: verified, chained and applied with their cursor in one transaction.

The counterpart of the outbox. A batch from the hub's feed (or a hub's return bundle) is
opened with this desk's identity and its peers (``open_batch``: seal, origin desk's
signature), checked against the chain stored for its origin (``check_chain``), and its
changes merged (``apply_changes``) — and the origin's new chain position and the feed
cursor are stored in the same ``write_transaction``. A failure anywhere leaves the store
exactly as it was, so the batch is simply offered again by the next sync.

A batch this desk already applied (it came by USB before the feed offered it, or the
other way round) is skipped and only the cursor moves; one with the same number but other
content than the one applied is a fork and refused.

A hub's return bundle may carry the centre's peers (what ``GET /v1/peers`` answers), for a
desk that syncs only by USB: they are checked with the pinned hub key as online, the bundle's
batches are checked with them, and they are stored in the transaction that applies the
batches — so a bundle refused for any reason leaves the stored peers as they were too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from mrc_desktop.storage.database import write_transaction
from mrc_desktop.sync.batches import Batch, BatchError, check_chain, open_batch
from mrc_desktop.sync.bundle import Bundle, BundleError, Manifest, read_bundle
from mrc_desktop.sync.changes import ChangeFormatError, changes_from_json
from mrc_desktop.sync.hub_protocol import CertificateError
from mrc_desktop.sync.keys import Identity, Peers
from mrc_desktop.sync.merge import ApplyResult, apply_changes
from mrc_desktop.sync.outbox import acknowledge
from mrc_desktop.sync.state import (
    PeerListError,
    load_chain,
    load_peers,
    load_state,
    peer_list_from,
    preview_peers,
    store_link,
    store_peers,
    update_state,
)


class ReceiveError(ValueError):
    """A received batch was refused; nothing of it was applied. The message says why."""


@dataclass
class Received:
    """What applying received batches did."""

    batches: int = 0  # applied
    skipped: int = 0  # already applied here (or this desk's own)
    changes: int = 0  # changes in the applied batches
    new_conflicts: int = 0
    cases: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    def add(self, result: ApplyResult, count: int) -> None:
        self.batches += 1
        self.changes += count
        self.new_conflicts += result.new_conflicts
        self.cases |= result.touched_cases
        warning = result.clock_warning
        if warning and warning not in self.warnings:
            self.warnings.append(warning)


def apply_sealed(
    db: sqlite_utils.Database,
    identity: Identity,
    peers: Peers,
    data: bytes,
    feed_cursor: int | None = None,
    received: Received | None = None,
) -> Received:
    """Open, check and apply one sealed batch; store its chain link (and ``feed_cursor``).

    Raises ``ReceiveError`` (wrapping the batch, chain, change or merge problem); then
    nothing changed.
    """
    received = received or Received()
    try:
        batch = open_batch(identity, peers, data)
    except BatchError as exc:
        raise ReceiveError(str(exc)) from None
    with write_transaction(db):
        _apply(db, batch, received)
        if feed_cursor is not None:
            update_state(db, feed_cursor=feed_cursor)
    return received


def _apply(db: sqlite_utils.Database, batch: Batch, received: Received) -> None:
    """Apply one opened batch inside the caller's transaction (or skip one already here)."""
    own = load_state(db).desk_id
    chain = load_chain(db)
    have = chain.get(batch.origin)
    if batch.origin == own:
        received.skipped += 1
        return
    if have is not None and batch.seq <= have.seq:
        if batch.seq == have.seq and batch.this_hash != have.hash:
            raise ReceiveError(
                f"fork: batch #{batch.seq} from {batch.origin} differs from the one applied here"
            )
        received.skipped += 1
        return
    try:
        check_chain(batch, chain)
        changes = changes_from_json(batch.changes)
        result = apply_changes(db, changes)
    except (BatchError, ChangeFormatError, ValueError) as exc:
        # MergeError and ClockSkewError are ValueErrors too; all leave nothing applied.
        raise ReceiveError(f"batch #{batch.seq} from {batch.origin}: {exc}") from None
    store_link(db, batch.origin, batch.link)
    received.add(result, len(changes))


@dataclass
class BundleImport:
    received: Received
    acknowledged: int  # own outbox batches the hub confirmed holding
    sender: str
    created_at: str
    peers: int | None = None  # desks of the centre whose certificates the bundle carried


def import_bundle(
    db: sqlite_utils.Database, identity: Identity, path: Path, peers: Peers | None = None
) -> BundleImport:
    """Read a hub's return bundle whole, then apply it in one transaction: the peers it
    carries, its batches, and its acknowledgement of this desk's batches (``has``), which
    leave the outbox.

    ``BundleError`` (from ``read_bundle``) or ``ReceiveError`` leave everything as it was.
    """
    state = load_state(db)
    state.require_enrolled()
    peers = peers or load_peers(db).peers
    carried: list[tuple[list[str], list[str]]] = []

    def with_carried_peers(manifest: Manifest) -> Peers:
        """The stored peers plus those the bundle carries, each certificate checked with the
        pinned hub key (a bad one is left out: its desk's batches then refuse the bundle)."""
        if manifest.peers is None:
            return peers
        try:
            certificates, revoked = peer_list_from(state, manifest.peers)
            preview = preview_peers(db, certificates, revoked, keep_known=True)
        except (PeerListError, CertificateError) as exc:
            raise BundleError(f"peers: {exc}") from None
        carried.append((certificates, revoked))
        return preview.peers

    # Only the hub writes a desk's bundles: a bundle signed by a desk — one revoked since,
    # whose key the peers keep for the batches the hub relays — is from an unknown sender.
    hub_only = Peers(desks={}, relays=peers.relays)
    bundle: Bundle = read_bundle(
        path, identity, hub_only, load_chain(db), batch_peers=with_carried_peers
    )
    received = Received(skipped=bundle.already_had)
    acknowledged = 0
    with write_transaction(db):
        for certificates, revoked in carried:
            store_peers(db, certificates, revoked, keep_known=True)
        for batch in bundle.batches:
            _apply(db, batch, received)
        own = state.desk_id
        if own is not None and own in bundle.manifest.has:
            try:
                acknowledged = acknowledge(db, own, bundle.manifest.has[own])
            except ValueError as exc:
                raise ReceiveError(f"{path}: {exc}") from None
    created = bundle.manifest.created_at.strftime("%Y-%m-%d %H:%M UTC")
    carried_desks = len(bundle.manifest.peers["desks"]) if bundle.manifest.peers else None
    return BundleImport(received, acknowledged, bundle.manifest.sender, created, carried_desks)
