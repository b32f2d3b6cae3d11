"""The desk's sync state, kept in the encrypted case store (migration ``0005_sync_state``).

What a desk must remember between syncs, and why it is here and not in a plain file:

* its **identity** (``sync_identity``): the Ed25519 seed that signs its batches and requests —
  a secret, so only inside the encrypted store; made once and never replaced;
* its **enrolment** (``sync_state``): the hub's URL, the hub's key (pinned from the first
  answer), the TLS certificate and fingerprint pinned at enrolment, the desk id it enrolled
  with (the origin of its batches), the code, and once approved its centre and certificate;
* the **cursors**: the hub feed position (``feed_cursor``), the last own change put into a
  batch (``send_cursor``) and the last batch made (``sent_seq``/``sent_hash``), which advance
  in the same transaction as the batches and changes they describe;
* per origin desk, the **chain** of batches applied (``sync_chain``);
* the **peers** the hub listed (``sync_peers``): certificates of the centre's desks and the
  revoked ones, so a USB bundle can be checked without the network — from ``GET /v1/peers``
  or from a hub's return bundle, checked the same way (``peer_list_from``, ``store_peers``);
* the last success and the last error, for the sync screen and ``mrc sync``.

None of these tables is captured: they never reach the oplog or another desk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from mrc_desktop.storage.database import write_transaction
from mrc_desktop.sync.batches import GENESIS, ChainLink
from mrc_desktop.sync.hub_protocol import (
    CertificateError,
    KeyFormatError,
    unb64,
    verify_certificate,
)
from mrc_desktop.sync.keys import Identity, InvalidKeyError, Peers, PublicIdentity, new_identity

HUB_NAME = "hub"
"""The hub's name among a desk's peers (a relay) and in bundle manifests."""

APPROVED = "approved"
PENDING = "pending"
REVOKED = "revoked"

_COLUMNS = (
    "desk_id",
    "hub_url",
    "hub_key",
    "tls_fingerprint",
    "tls_certificate",
    "enrol_code",
    "enrol_status",
    "centre_id",
    "certificate",
    "feed_cursor",
    "send_cursor",
    "sent_seq",
    "sent_hash",
    "acked_seq",
    "last_success",
    "last_error",
)


class NotEnrolledError(RuntimeError):
    """The desk cannot sync yet; the message says what to run."""


class PeerListError(ValueError):
    """The hub's list of peers is malformed, or names another hub key or centre than pinned."""


@dataclass(frozen=True)
class SyncState:
    desk_id: str | None
    hub_url: str | None
    hub_key: str | None  # base64 Ed25519 verify key, pinned from the first enrolment answer
    tls_fingerprint: str | None  # SHA-256 of the hub's certificate, AB:CD:… (https only)
    tls_certificate: str | None  # that certificate (PEM): the only one accepted
    enrol_code: str | None
    enrol_status: str | None  # pending, approved or revoked, as the hub last said
    centre_id: str | None
    certificate: str | None  # hub-signed, verified before it was stored
    feed_cursor: int
    send_cursor: str
    sent_seq: int
    sent_hash: bytes | None
    acked_seq: int
    last_success: str | None
    last_error: str | None

    @property
    def enrolled(self) -> bool:
        return self.enrol_status == APPROVED and self.certificate is not None

    @property
    def sent_link(self) -> ChainLink:
        """The last batch this desk made: where its own chain continues."""
        return ChainLink(self.sent_seq, self.sent_hash or GENESIS)

    def hub_identity(self) -> PublicIdentity:
        if self.hub_key is None:
            raise NotEnrolledError("this desk has not contacted a hub: run mrc enrol --hub URL")
        return PublicIdentity(unb64(self.hub_key, 32, "hub key"))

    def require_enrolled(self) -> None:
        """Raise ``NotEnrolledError`` with the next step unless the hub approved this desk."""
        if self.enrolled:
            return
        if self.hub_url is None:
            raise NotEnrolledError("this desk is not enrolled with a hub: run mrc enrol --hub URL")
        if self.enrol_status == REVOKED:
            raise NotEnrolledError(f"the hub {self.hub_url} has revoked this desk")
        raise NotEnrolledError(
            f"enrolment with {self.hub_url} is not finished: once the hub admin has approved"
            f" code {self.enrol_code}, run mrc enrol --hub {self.hub_url} --code {self.enrol_code}"
        )


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def load_state(db: sqlite_utils.Database) -> SyncState:
    row = db.execute(f"select {', '.join(_COLUMNS)} from sync_state where id = 1").fetchone()
    values: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
    if values["sent_hash"] is not None:
        values["sent_hash"] = bytes(values["sent_hash"])
    return SyncState(**values)


def update_state(db: sqlite_utils.Database, **values: object) -> None:
    """Set some fields of the state (inside the caller's transaction, if any)."""
    unknown = set(values) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"not a sync state field: {', '.join(sorted(unknown))}")
    assignments = ", ".join(f"{name} = ?" for name in values)
    with write_transaction(db):
        db.execute(f"update sync_state set {assignments} where id = 1", list(values.values()))


def record_outcome(db: sqlite_utils.Database, error: str | None) -> None:
    """Remember how the last sync went: its time if it succeeded, else its first error."""
    if error is None:
        update_state(db, last_success=now_text(), last_error=None)
    else:
        update_state(db, last_error=f"{now_text()} {error}")


# --- identity -------------------------------------------------------------------------------


def load_identity(db: sqlite_utils.Database) -> Identity | None:
    row = db.execute("select secret from sync_identity where id = 1").fetchone()
    return None if row is None else Identity.from_bytes(bytes(row[0]))


def ensure_identity(db: sqlite_utils.Database) -> tuple[Identity, bool]:
    """This desk's identity, made on first use (True when it was made now). Never replaced."""
    with write_transaction(db):
        found = load_identity(db)
        if found is not None:
            return found, False
        made = new_identity()
        db.execute(
            "insert into sync_identity (id, secret, created_at) values (1, ?, ?)",
            [made.to_bytes(), now_text()],
        )
        return made, True


def require_identity(db: sqlite_utils.Database) -> Identity:
    found = load_identity(db)
    if found is None:
        raise NotEnrolledError("this desk has no sync identity yet: run mrc enrol --hub URL")
    return found


# --- chains of received batches -------------------------------------------------------------


def load_chain(db: sqlite_utils.Database) -> dict[str, ChainLink]:
    """Per origin desk, the last batch applied here."""
    rows = db.execute("select origin, seq, hash from sync_chain").fetchall()
    return {origin: ChainLink(int(seq), bytes(digest)) for origin, seq, digest in rows}


def store_link(db: sqlite_utils.Database, origin: str, link: ChainLink) -> None:
    db.execute(
        "insert into sync_chain (origin, seq, hash, updated_at) values (?, ?, ?, ?)"
        " on conflict (origin) do update set seq = excluded.seq, hash = excluded.hash,"
        " updated_at = excluded.updated_at",
        [origin, link.seq, link.hash, now_text()],
    )


# --- peers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerList:
    """The desks whose batches this desk accepts, and why some certificates were set aside."""

    peers: Peers
    revoked: frozenset[str]
    problems: tuple[str, ...]


def check_certificate(state: SyncState, text: str) -> dict[str, Any]:
    """The claims of a desk certificate issued by this desk's hub, for this desk's centre."""
    if state.hub_key is None or state.centre_id is None:
        raise CertificateError("this desk has no hub key or centre yet")
    claims = verify_certificate(text, state.hub_key)
    if claims.get("hub_key") != state.hub_key:
        raise CertificateError("the certificate names another hub key")
    if claims.get("centre_id") != state.centre_id:
        raise CertificateError("the certificate is for another centre")
    if not isinstance(claims.get("desk_id"), str) or not isinstance(
        claims.get("desk_signing_key"), str
    ):
        raise CertificateError("the certificate names no desk or key")
    return claims


def peer_list_from(state: SyncState, answer: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The certificates and revoked desk ids of the hub's list of peers — ``GET /v1/peers``'s
    answer, or the ``peers`` a hub's return bundle carries — once it names the pinned hub key
    and this desk's centre. Each certificate is checked when stored (``store_peers``)."""
    if answer.get("hub_key") not in (None, state.hub_key):
        raise PeerListError("the hub lists its peers under another key than the one pinned")
    if answer.get("centre_id") not in (None, state.centre_id):
        raise PeerListError("the hub lists the desks of another centre")
    desks = answer.get("desks")
    revoked = answer.get("revoked")
    revoked_desks = answer.get("revoked_desks", [])  # absent from hubs before it
    if not all(isinstance(v, list) for v in (desks, revoked, revoked_desks)):
        raise PeerListError("the hub's list of desks is malformed")
    assert isinstance(desks, list) and isinstance(revoked, list)
    certificates = [
        str(d.get("certificate")) for d in [*desks, *revoked_desks] if isinstance(d, dict)
    ]
    return certificates, [str(r) for r in revoked]


PeerRow = tuple[str, str | None, int]  # desk id, certificate (if known), revoked


def _peer_rows(
    db: sqlite_utils.Database,
    state: SyncState,
    certificates: Iterable[str],
    revoked: Iterable[str],
    keep_known: bool,
) -> tuple[list[PeerRow], list[str]]:
    """The rows ``sync_peers`` would hold after taking this list, and the certificates left
    out (with why). ``keep_known`` adds the list to the stored one instead of replacing it."""
    gone = set(revoked)
    keep: dict[str, str] = {}
    if keep_known:
        for desk_id, text, is_revoked in db.execute(
            "select desk_id, certificate, revoked from sync_peers"
        ).fetchall():
            if is_revoked or text is None:
                gone.add(desk_id)
            if text is not None:
                keep[desk_id] = text
    problems = []
    for index, text in enumerate(certificates):
        try:
            claims = check_certificate(state, text)
        except CertificateError as exc:
            problems.append(f"peer certificate {index + 1}: {exc}")
            continue
        keep[claims["desk_id"]] = text
    rows: list[PeerRow] = [(desk, text, 0) for desk, text in keep.items() if desk not in gone]
    return rows + [(desk, keep.get(desk), 1) for desk in sorted(gone)], problems


def store_peers(
    db: sqlite_utils.Database,
    certificates: Iterable[str],
    revoked: Iterable[str],
    *,
    keep_known: bool = False,
) -> PeerList:
    """Check the hub's list of peers and keep the good certificates (replacing the old list).

    A certificate that does not verify with the pinned hub key, or names another centre, is
    left out and named in ``problems``; a revoked desk is left out whatever its certificate.
    With ``keep_known`` (a list from a USB bundle, which may be older than the one stored)
    the list is added to the stored one: a desk is never approved again once revoked on the
    hub, so revocations stay and no known desk is forgotten, whatever order lists arrive in.
    """
    state = load_state(db)
    now = now_text()
    with write_transaction(db):
        rows, problems = _peer_rows(db, state, certificates, revoked, keep_known)
        db.execute("delete from sync_peers")
        db.conn.executemany(
            "insert into sync_peers (desk_id, certificate, revoked, updated_at)"
            " values (?, ?, ?, ?)",
            [(*row, now) for row in rows],
        )
    built = load_peers(db)
    return PeerList(built.peers, built.revoked, (*problems, *built.problems))


def preview_peers(
    db: sqlite_utils.Database,
    certificates: Iterable[str],
    revoked: Iterable[str],
    *,
    keep_known: bool = False,
) -> PeerList:
    """The peers ``store_peers`` would give with this list, checked the same way; nothing is
    stored (a bundle's batches are checked with them before anything of it is kept)."""
    state = load_state(db)
    rows, problems = _peer_rows(db, state, certificates, revoked, keep_known)
    built = _build_peers(state, rows)
    return PeerList(built.peers, built.revoked, (*problems, *built.problems))


def load_peers(db: sqlite_utils.Database) -> PeerList:
    """Peers from the stored list: the centre's desks (revocations applied) and the hub."""
    rows = db.execute("select desk_id, certificate, revoked from sync_peers").fetchall()
    return _build_peers(load_state(db), rows)


def _build_peers(state: SyncState, stored: list[PeerRow]) -> PeerList:
    hub = state.hub_identity()
    desks: dict[str, PublicIdentity] = {}
    revoked = set()
    problems = []
    rows: list[PeerRow] = []
    if state.desk_id and state.certificate:  # this desk itself
        rows.append((state.desk_id, state.certificate, 0))
    rows += stored
    for desk_id, text, is_revoked in rows:
        if is_revoked:
            revoked.add(desk_id)
        if text is None:
            revoked.add(desk_id)
            continue
        try:
            claims = check_certificate(state, text)
            key = PublicIdentity(unb64(claims["desk_signing_key"], 32, "desk key"))
        except (CertificateError, KeyFormatError, InvalidKeyError) as exc:
            problems.append(f"desk {desk_id}: {exc}")
            continue
        if claims["desk_id"] == desk_id and key != hub:
            desks[desk_id] = key
    # A revoked desk's key stays trusted for the batches the hub relays: the hub stopped
    # taking any from it at the revocation, so all it holds came while it was approved.
    for desk_id in revoked:
        if desk_id == state.desk_id:
            desks.pop(desk_id, None)
    return PeerList(Peers(desks, {HUB_NAME: hub}), frozenset(revoked), tuple(problems))
