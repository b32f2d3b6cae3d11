"""Real sync batches for hub tests: invented cases as captured changes, signed and sealed.

The changes have the form the desks' change capture makes (``Change``: a timestamp,
the store's replica id, table, row, column, value); a few columns per row are
enough for the hub, which reads only ``cases`` rows, their ``consent`` and the
``case_id`` of rows that name a case.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from mrc_desktop.storage.change_capture import format_hlc
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.batches import GENESIS, SignedBatch, seal_batch, sign_batch
from mrc_desktop.sync.changes import Change
from mrc_desktop.sync.keys import Identity, PublicIdentity
from tests.hub.desks import FakeDesk

HOUR_MS = 3_600_000
SYNC_CONSENT = {"sync": {"given": True, "on": "2026-11-02", "by": "counsellor-1"}}
NO_SYNC_CONSENT = {"counselling": {"given": True, "on": "2026-11-02", "by": "counsellor-1"}}
WITHDRAWN = {"sync": {"given": False, "on": "2026-11-20", "by": "counsellor-1"}}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Replica:
    """One desk's case store as the hub sees it: a replica id and its growing clock."""

    id: str = field(default_factory=uuid7)
    ms: int = field(default_factory=lambda: now_ms() - HOUR_MS)
    counter: int = 0

    def stamp(self, ahead_ms: int | None = None) -> str:
        if ahead_ms is not None:
            return format_hlc(now_ms() + ahead_ms, 0, self.id)
        self.counter += 1
        return format_hlc(self.ms, self.counter, self.id)

    def row(
        self, tbl: str, row_id: str, values: dict[str, Any], ahead_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """One event: every column of ``values`` under one timestamp, in capture order."""
        hlc = self.stamp(ahead_ms)
        return [
            Change(hlc, self.id, tbl, row_id, col, value).to_json()
            for col, value in sorted(values.items())
        ]

    def new_case(
        self,
        consent: dict[str, Any] | None = SYNC_CONSENT,
        name: str = "Invented Worker Sokha",
        case_id: str | None = None,
        ahead_ms: int | None = None,
    ) -> tuple[str, list[dict[str, Any]]]:
        case_id = case_id or uuid7()
        values = {
            "person_name": name,
            "status": "open",
            "consent": json.dumps(consent or {}, sort_keys=True),
            "origin_desk": self.id,
        }
        return case_id, self.row("cases", case_id, values, ahead_ms)

    def edit(self, case_id: str, col: str, value: Any) -> list[dict[str, Any]]:
        return self.row("cases", case_id, {col: value})

    def consent(self, case_id: str, consent: dict[str, Any]) -> list[dict[str, Any]]:
        return self.edit(case_id, "consent", json.dumps(consent, sort_keys=True))

    def note(self, case_id: str, text: str = "Called the employer.") -> list[dict[str, Any]]:
        values = {"case_id": case_id, "kind": "note", "payload": json.dumps({"text": text})}
        return self.row("case_entries", uuid7(), values)


@dataclass
class Outbox:
    """A desk's batches to its hub: signed in a chain, sealed to the hub's key."""

    desk: FakeDesk
    hub: PublicIdentity
    seq: int = 0
    last: bytes = GENESIS

    def sign(self, changes: list[dict[str, Any]]) -> SignedBatch:
        """The desk's next batch (advances the chain)."""
        signed = sign_batch(self.desk.identity, self.desk.id, self.seq + 1, self.last, changes)
        self.seq, self.last = signed.seq, signed.this_hash
        return signed

    def seal(self, signed: SignedBatch | bytes) -> bytes:
        raw = signed.raw if isinstance(signed, SignedBatch) else signed
        return seal_batch(self.desk.identity, self.hub, raw)

    def next(self, changes: list[dict[str, Any]]) -> bytes:
        return self.seal(self.sign(changes))


def sealed_by(
    signer: Identity,
    sealer: Identity,
    hub: PublicIdentity,
    origin: str,
    seq: int,
    changes: list[dict[str, Any]],
    prev: bytes = GENESIS,
) -> bytes:
    """A batch signed by one key and sealed by another (forgeries)."""
    return seal_batch(sealer, hub, sign_batch(signer, origin, seq, prev, changes).raw)
