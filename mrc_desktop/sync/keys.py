"""Sync identities: one Ed25519 key per desk (or hub), its sealing key derived from it.

Why one key and not two: enrolment pins a single 32-byte public key (the Ed25519 verify key), and
everything else follows from it — the Curve25519 key that `nacl.public.Box` seals to is the
birationally equivalent point (libsodium's `crypto_sign_ed25519_pk_to_curve25519`, exposed by
PyNaCl as `to_curve25519_public_key`). A second, separate box key would have to travel in the
certificate too, and a desk could then present a box key that does not belong to its signing key.
Signatures are domain-separated (each format signs a distinct context string first), so the same
secret never signs something that could be mistaken for another format's message.

Storage is left to the caller: `Identity.to_bytes()` is the secret and belongs inside the
encrypted case store (a `sync_identity` table), never in a plain file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

KEY_BYTES = 32
IDENTITY_MAGIC = b"MRC-ID\x01"  # format tag and version of `Identity.to_bytes()`


class InvalidKeyError(ValueError):
    """A key or identity blob that cannot be used (wrong length, not a valid curve point)."""


@dataclass(frozen=True)
class PublicIdentity:
    """What others know of a desk or hub: its Ed25519 verify key (32 bytes)."""

    verify_key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.verify_key, bytes) or len(self.verify_key) != KEY_BYTES:
            raise InvalidKeyError(f"a public key is {KEY_BYTES} bytes")
        try:  # rejects points that are not on the curve or of small order
            VerifyKey(self.verify_key).to_curve25519_public_key()
        except (CryptoError, ValueError) as exc:
            raise InvalidKeyError("not a valid Ed25519 public key") from exc

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicIdentity:
        return cls(bytes(data))

    @classmethod
    def from_hex(cls, text: str) -> PublicIdentity:
        try:
            return cls(bytes.fromhex(text))
        except ValueError as exc:
            raise InvalidKeyError(f"not a hex public key: {exc}") from exc

    def to_bytes(self) -> bytes:
        return self.verify_key

    @property
    def hex(self) -> str:
        """The key as 64 hex digits (manifests, logs and admin screens)."""
        return self.verify_key.hex()

    @property
    def fingerprint(self) -> str:
        """A short, human-comparable form (first 8 bytes of SHA-256), e.g. for enrolment."""
        digest = hashlib.sha256(self.verify_key).hexdigest()[:16]
        return " ".join(digest[i : i + 4] for i in range(0, 16, 4))

    def verifier(self) -> VerifyKey:
        return VerifyKey(self.verify_key)

    def box_public(self) -> PublicKey:
        return VerifyKey(self.verify_key).to_curve25519_public_key()


@dataclass(frozen=True)
class Identity:
    """A desk's (or hub's) secret: the 32-byte Ed25519 seed. Never printed (repr hides it)."""

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != KEY_BYTES:
            raise InvalidKeyError(f"an identity seed is {KEY_BYTES} bytes")

    def to_bytes(self) -> bytes:
        """The secret, tagged with a format version. Store it encrypted only."""
        return IDENTITY_MAGIC + self.seed

    @classmethod
    def from_bytes(cls, data: bytes) -> Identity:
        data = bytes(data)
        if not data.startswith(IDENTITY_MAGIC) or len(data) != len(IDENTITY_MAGIC) + KEY_BYTES:
            raise InvalidKeyError("not an MRC Desk identity (wrong tag, version or length)")
        return cls(data[len(IDENTITY_MAGIC) :])

    def signing_key(self) -> SigningKey:
        return SigningKey(self.seed)

    def box_private(self) -> PrivateKey:
        return self.signing_key().to_curve25519_private_key()

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity(bytes(self.signing_key().verify_key))


def new_identity() -> Identity:
    """A fresh identity from the operating system's random source."""
    return Identity(bytes(SigningKey.generate()))


@dataclass(frozen=True)
class Peers:
    """Whose keys a desk or hub trusts, by name.

    `desks` maps a desk id (the origin of its batches) to its key: only that key may sign that
    origin's batches. `relays` are hubs: they may seal (forward) batches of any origin they hold,
    but cannot sign one. The caller builds this from enrolment records, revocations applied.
    """

    desks: Mapping[str, PublicIdentity]
    relays: Mapping[str, PublicIdentity] = field(default_factory=dict)
    _by_key: dict[bytes, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[bytes, str] = {}
        for name, ident in (*self.desks.items(), *self.relays.items()):
            if ident.verify_key in by_key:
                raise InvalidKeyError(f"{name} and {by_key[ident.verify_key]} share one key")
            by_key[ident.verify_key] = name
        object.__setattr__(self, "_by_key", by_key)

    def desk_key(self, origin: str) -> PublicIdentity | None:
        return self.desks.get(origin)

    def name_of(self, key: bytes) -> str | None:
        """The desk id or hub name holding this public key, if it is known."""
        return self._by_key.get(key)

    def is_relay(self, key: bytes) -> bool:
        name = self._by_key.get(key)
        return name is not None and name in self.relays and self.relays[name].verify_key == key
