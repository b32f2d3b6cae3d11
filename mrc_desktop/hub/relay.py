"""What the hub checks in a desk's batch before storing it, and how it relays it onwards.

A desk seals each signed batch to the hub's key (docs/sync.md, "Batches and bundles").
The hub opens it with its own identity (the seed in its database), trusting exactly
one signer: the authenticated desk, whose origin the batch must be. It then reads
the changes, because two rules are the hub's alone:

- no change may carry a timestamp more than 24 hours ahead of the hub's clock (one
  badly set desk clock would otherwise outrank every edit for a day, on every desk);
- every case the batch touches must allow sync by its newest consent change, in the
  batch or accepted before (the storage checks this inside its transaction, against
  the centre's ``case_consent``; here the batch's side is gathered).

What is stored is the *signed* batch, byte for byte: the origin's signature travels
on to every desk of the centre, and the feed seals it again for each reader
(:func:`reseal_for`), so the hub can withhold a change but never alter one.

Failures are :class:`BatchRefused` with the HTTP status and a one-line reason for the
desk: 400 when the bytes are not a batch this desk sealed and signed for this hub
(anything from a flipped bit to another desk's signature), 422 when the batch is well
formed but its content is refused (a malformed change, a clock too far ahead).

:meth:`HubRelay.receive` is the whole way in for a desk's batch — opened, checked and put
into storage, with the answer a desk gets — shared by ``PUT /v1/batches`` and the batches of
a USB bundle (:mod:`mrc_desktop.hub.bundles`), so the two cannot come to check differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mrc_desktop.hub.auth import KeyFormatError, b64, unb64
from mrc_desktop.hub.storage import (
    ConsentMark,
    Desk,
    DeskStatus,
    HubStorage,
    IncomingBatch,
    PutOutcome,
    PutResult,
    utc_now,
)
from mrc_desktop.sync.batches import BatchError, open_batch, seal_batch
from mrc_desktop.sync.changes import Change, ChangeFormatError, changes_from_json
from mrc_desktop.sync.hlc import MAX_AHEAD_MS, Timestamp
from mrc_desktop.sync.keys import Identity, InvalidKeyError, Peers, PublicIdentity

CASES_TABLE = "cases"
CONSENT_COLUMN = "consent"
CASE_LINK_COLUMN = "case_id"  # a row naming its case: notes, attachments, audit rows
SYNC_PURPOSE = "sync"
HOUR_MS = 3_600_000


class BatchRefused(Exception):
    """A batch the hub will not store; ``status`` is the HTTP answer, the message its reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Received:
    """The hub's answer to one of a desk's batches, whichever way it came.

    ``status`` is the HTTP answer: 201 stored, 200 stored before (a duplicate), 400 not a
    batch of this desk for this slot, 403 a case of another centre, 409 another batch in the
    slot or a gap or fork, 422 a change refused (format, clock, consent). ``detail`` says
    why it was refused.
    """

    status: int
    detail: str = ""
    result: PutResult | None = None  # the storage's answer; None if refused before it

    @property
    def accepted(self) -> bool:
        return self.status in (200, 201)


@dataclass(frozen=True)
class HubRelay:
    """The hub's identity and the two things it does with batches: open and re-seal."""

    identity: Identity

    @property
    def public(self) -> PublicIdentity:
        return self.identity.public

    def open_upload(
        self, desk: Desk, origin: str, seq: int, sealed: bytes, now_ms: int
    ) -> IncomingBatch:
        """The checked batch ``desk`` sealed for this hub as slot (origin, seq), or BatchRefused.

        ``origin`` is the authenticated desk's id (the caller checked that); the batch
        inside must be that origin's, at that seq, and signed by that desk's key.
        """
        signer = desk_identity(desk)
        try:
            batch = open_batch(self.identity, Peers(desks={desk.id: signer}), sealed)
        except BatchError as exc:
            raise BatchRefused(400, f"the batch cannot be opened: {exc}") from None
        if (batch.origin, batch.seq) != (origin, seq):
            raise BatchRefused(
                400, f"the batch is #{batch.seq} of desk {batch.origin}, not #{seq} of {origin}"
            )
        try:
            changes = changes_from_json(batch.changes)
        except ChangeFormatError as exc:
            raise BatchRefused(422, f"batch #{seq}: {exc}") from None
        check_clock(changes, now_ms, seq)
        cases, consent = touched_cases(changes)
        return IncomingBatch(
            origin=origin,
            seq=seq,
            prev_hash=batch.prev_hash.hex(),
            data=batch.signed,
            cases=cases,
            consent=consent,
        )

    def receive(
        self, storage: HubStorage, desk: Desk, origin: str, seq: int, sealed: bytes, now_ms: int
    ) -> Received:
        """Open and check a batch of ``desk`` (approved, the authenticated or bundle's sender)
        for slot (origin, seq) and store it in the desk's centre: one transaction, as over
        HTTP. The answer says whether it went in, and if not, why."""
        if not sealed:
            return Received(400, "the batch is empty")
        if desk.centre_id is None:
            return Received(403, "this desk is waiting for approval")
        try:
            incoming = self.open_upload(desk, origin, seq, sealed, now_ms)
        except BatchRefused as exc:
            return Received(exc.status, exc.reason)
        result = storage.put_batch(desk.centre_id, incoming, utc_now())
        if result.outcome is PutOutcome.CONFLICT:
            detail = (
                f"batch {seq} of desk {origin} is stored with other content"
                f" (sha256 {result.sha256}); the hub admin has been alerted"
            )
            return Received(409, detail, result)
        if result.outcome in (PutOutcome.GAP, PutOutcome.FORK):
            return Received(409, result.reason, result)
        if result.outcome is PutOutcome.NO_CONSENT:
            return Received(422, result.reason, result)
        if result.outcome is PutOutcome.OTHER_CENTRE:
            return Received(403, result.reason, result)
        return Received(201 if result.outcome is PutOutcome.STORED else 200, "", result)

    def centre_peers(self, storage: HubStorage, centre_id: str) -> dict[str, Any]:
        """``GET /v1/peers``'s answer, also carried by return bundles: the hub key, the
        centre, its approved desks' certificates (as issued), its revoked desks' ids, and
        the revoked desks' certificates: a revoked desk cannot put anything here any more
        (it gets 403), so every batch of it the hub holds came while it was approved, and
        desks need its key to accept them — also those they receive after the revocation."""
        desks = storage.centre_desks(centre_id)
        return {
            "hub_key": b64(self.public.verify_key),
            "centre_id": centre_id,
            "desks": [
                {"desk_id": d.id, "certificate": d.certificate}
                for d in desks
                if d.status is DeskStatus.APPROVED and d.certificate is not None
            ],
            "revoked": [d.id for d in desks if d.status is DeskStatus.REVOKED],
            "revoked_desks": [
                {"desk_id": d.id, "certificate": d.certificate}
                for d in desks
                if d.status is DeskStatus.REVOKED and d.certificate is not None
            ],
        }

    def reseal_for(self, desk: Desk, signed: bytes) -> bytes:
        """A stored signed batch sealed by the hub for one reading desk."""
        return seal_batch(self.identity, desk_identity(desk), signed)


def desk_identity(desk: Desk) -> PublicIdentity:
    """The public identity a desk enrolled (its Ed25519 key); its box key is derived from it."""
    try:
        return PublicIdentity(unb64(desk.signing_key, 32, "signing key"))
    except (KeyFormatError, InvalidKeyError) as exc:  # enrolment checked it; a damaged row
        raise BatchRefused(400, f"desk {desk.id} has no usable key: {exc}") from None


def check_clock(changes: list[Change], now_ms: int, seq: int) -> None:
    """Refuse the batch if any change is stamped more than 24 hours ahead of ``now_ms``.

    Timestamps sort as their text does, so only the newest one needs reading."""
    if not changes:
        return
    index = max(range(len(changes)), key=lambda i: changes[i].hlc)
    ahead = Timestamp.parse(changes[index].hlc).ms - now_ms
    if ahead > MAX_AHEAD_MS:
        raise BatchRefused(
            422,
            f"batch #{seq}: change {index} is stamped {ahead / HOUR_MS:.1f} hours ahead of"
            " the hub's clock (more than 24 are refused); check the desk's date and time",
        )


def touched_cases(changes: list[Change]) -> tuple[frozenset[str], dict[str, ConsentMark]]:
    """The cases whose rows the changes touch, and each one's newest consent change here.

    A case is touched by a change of its own row, or by a row that names it in
    ``case_id`` (a note, an attachment, an audit row): their text is the case's too.
    """
    cases: set[str] = set()
    newest: dict[str, Change] = {}
    for change in changes:
        if change.tbl == CASES_TABLE:
            cases.add(change.row_id)
            if change.col == CONSENT_COLUMN:
                known = newest.get(change.row_id)
                if known is None or change.hlc > known.hlc:
                    newest[change.row_id] = change
        elif change.col == CASE_LINK_COLUMN and isinstance(change.value, str):
            cases.add(change.value)
    consent = {
        case_id: ConsentMark(change.hlc, consent_allows_sync(change.value))
        for case_id, change in newest.items()
    }
    return frozenset(cases), consent


def consent_allows_sync(value: object) -> bool:
    """True only for consent JSON whose ``sync`` purpose says ``"given": true``."""
    if not isinstance(value, str):
        return False
    try:
        consent = json.loads(value)
    except ValueError:
        return False
    purpose = consent.get(SYNC_PURPOSE) if isinstance(consent, dict) else None
    return isinstance(purpose, dict) and purpose.get("given") is True
