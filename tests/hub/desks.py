"""Invented desks for hub tests: a UUID, an Ed25519 key pair, signed requests, and the
sync identity (the same key) that signs and seals its batches."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from mrc_desktop.hub.auth import DeskAuth, b64, verify_key_b64
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.keys import Identity


@dataclass
class FakeDesk:
    label: str = "Front desk"
    id: str = field(default_factory=uuid7)
    key: SigningKey = field(default_factory=SigningKey.generate)
    box: PrivateKey = field(default_factory=PrivateKey.generate)
    skew_s: float = 0.0  # how far this desk's clock is off

    @property
    def signing_key(self) -> str:
        return verify_key_b64(self.key)

    @property
    def identity(self) -> Identity:
        """The desk's sync identity: its enrolled Ed25519 key, which also seals (derived)."""
        return Identity(bytes(self.key))

    @property
    def box_key(self) -> str:
        return b64(bytes(self.box.public_key))

    def enrolment(self) -> dict[str, str]:
        return {
            "desk_id": self.id,
            "signing_key": self.signing_key,
            "box_key": self.box_key,
            "label": self.label,
        }

    def auth(self) -> DeskAuth:
        """Signs as this desk (after enrolment)."""
        return DeskAuth(self.id, self.key, clock=lambda: time.time() + self.skew_s)

    def enrol_auth(self) -> DeskAuth:
        """Signs the enrolment request (proof that the desk holds its key)."""
        return DeskAuth(None, self.key, clock=lambda: time.time() + self.skew_s)
