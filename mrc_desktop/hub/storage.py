"""What the hub keeps, behind one interface with two backends (SQLite and PostgreSQL).

The hub keeps each desk's *signed* batches (opened and checked by
:mod:`mrc_desktop.hub.relay`; the storage itself never parses them) in the slot
(origin desk id, seq), each origin's batches one unbroken hash chain: the SHA-256
of a stored batch is its ``this_hash``, and the next batch of that origin must name
it as ``prev_hash``. Every stored batch also gets a *hub sequence* number, counted
per centre, which orders that centre's feed. Numbers are handed out under a lock on
the centre's row and committed in the same transaction as the batch, so a feed
reader can never see number 11 before number 10 has committed and then skip 10 for
ever (a global SQL sequence would allow exactly that under concurrent writers).

Consent: each centre's ``case_consent`` holds, per case, the newest ``cases.consent``
change the hub accepted (newest by HLC). A batch is stored only if every case it
touches allows sync by its newest consent change, in the batch or stored
(:func:`consent_refusals`); the check and the update run in the put's transaction.

Centres: a case belongs to the centre whose desk's batch first touched it
(``case_centres``, claimed in the put's transaction). A batch of another centre's desk
touching it is refused whole (``OTHER_CENTRE``): a desk may write only its own centre's
cases, and a case id learnt elsewhere (copied, guessed, from a restored store of another
centre) cannot mix two centres' data at the hub.

Both backends pass the same tests (``tests/hub/test_storage.py``); the API layer
(:mod:`mrc_desktop.hub.app`) decides who may do what, the storage only keeps data
consistent: a put is one transaction, a slot never changes once stored.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

BATCH_MAX_BYTES = 256 * 1024
# Enrolment codes avoid letters that read like digits (Crockford's base32 alphabet).
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
_CODE_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SEQ_MAX = 2**63 - 1


class DeskStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REVOKED = "revoked"


class PutOutcome(StrEnum):
    STORED = "stored"  # new slot, committed
    DUPLICATE = "duplicate"  # the same signed batch was already stored: nothing changed
    CONFLICT = "conflict"  # another batch is stored in that slot: refused, alert recorded
    GAP = "gap"  # the origin's previous batch is not stored: refused
    FORK = "fork"  # it does not chain to the origin's stored previous batch: refused
    NO_CONSENT = "no_consent"  # it touches a case whose consent does not allow sync: refused
    OTHER_CENTRE = "other_centre"  # it touches a case of another centre: refused


GENESIS_HASH = "0" * 64
"""``prev_hash`` (hex) of an origin's first batch."""


@dataclass(frozen=True)
class Centre:
    id: str
    name: str
    created_at: str


@dataclass(frozen=True)
class Desk:
    id: str
    signing_key: str  # base64 Ed25519 verify key
    box_key: str | None  # base64 X25519 public key (for batches sealed to this desk)
    label: str
    code: str  # enrolment code shown at the desk and typed by the hub admin
    status: DeskStatus
    centre_id: str | None
    certificate: str | None  # hub-signed JSON, once approved
    enrolled_at: str
    changed_at: str


@dataclass(frozen=True)
class ConsentMark:
    """One case's newest ``cases.consent`` change: its timestamp and whether it allows sync."""

    hlc: str
    allows_sync: bool


@dataclass(frozen=True)
class IncomingBatch:
    """A checked batch on its way into storage: what the storage needs, nothing parsed here.

    ``data`` is the signed batch (SHA-256 of it is its ``this_hash``); ``cases`` the ids
    of the cases whose rows it touches (a ``cases`` row, or a row naming one in its
    ``case_id``), ``consent`` each case's newest consent change in this batch.
    """

    origin: str
    seq: int
    prev_hash: str  # hex SHA-256 of the origin's previous signed batch; GENESIS_HASH for seq 1
    data: bytes
    cases: frozenset[str] = frozenset()
    consent: Mapping[str, ConsentMark] = field(default_factory=dict)


@dataclass(frozen=True)
class PutResult:
    outcome: PutOutcome
    hub_seq: int  # of the batch now in the slot (the stored one on a conflict); 0 if none
    sha256: str  # of the batch now in the slot ('' if none)
    reason: str = ""  # why a gap, fork or consent refusal was refused, for the desk


@dataclass(frozen=True)
class ChainHead:
    """The last batch stored from one origin: where its chain continues."""

    seq: int
    sha256: str


@dataclass(frozen=True)
class FeedItem:
    origin: str
    seq: int
    hub_seq: int
    sha256: str
    data: bytes
    received_at: str


@dataclass(frozen=True)
class ContentPackInfo:
    """A published content pack (its bytes are fetched apart: up to 64 MB)."""

    version: int
    published_at: str
    files: int
    content_bytes: int  # the files' total size
    size: int  # the pack file's size
    sha256: str  # of the pack file


@dataclass(frozen=True)
class Alert:
    kind: str
    origin: str
    seq: int
    stored_sha256: str
    offered_sha256: str
    count: int
    first_seen: str
    last_seen: str


class HubStorageError(Exception):
    """A refused storage operation; the message is meant for the admin or the desk."""


class UnknownCentreError(HubStorageError):
    pass


class UnknownDeskError(HubStorageError):
    pass


class DeskConflictError(HubStorageError):
    """The desk id or key is already enrolled with other keys, or the desk is not in a state
    that allows the change."""


class SchemaTooNewError(HubStorageError):
    pass


class ContentVersionError(HubStorageError):
    """A content pack version that is not newer than every published one."""


class HubStorage(abc.ABC):
    """The hub's data: centres, desks, batches and their feed, alerts, the hub's key seed."""

    backend: str

    # Centres
    @abc.abstractmethod
    def add_centre(self, name: str) -> Centre:
        """A new centre; names are unique (``DeskConflictError`` otherwise)."""

    @abc.abstractmethod
    def centres(self) -> list[Centre]: ...

    @abc.abstractmethod
    def centre(self, centre_id: str) -> Centre | None: ...

    # Desks
    @abc.abstractmethod
    def enrol_desk(
        self, desk_id: str, signing_key: str, box_key: str | None, label: str, now: str
    ) -> Desk:
        """Record a pending desk with a fresh enrolment code.

        Asking again with the same id and key returns the desk as it is (a retried
        request gets the same code); another key for a known id, or a known key under
        another id, raises ``DeskConflictError``.
        """

    @abc.abstractmethod
    def desk(self, desk_id: str) -> Desk | None: ...

    @abc.abstractmethod
    def desk_by_code(self, code: str) -> Desk | None: ...

    @abc.abstractmethod
    def desks(self) -> list[Desk]: ...

    @abc.abstractmethod
    def approve_desk(self, desk_id: str, centre_id: str, certificate: str, now: str) -> Desk:
        """pending → approved into ``centre_id`` with its certificate."""

    @abc.abstractmethod
    def revoke_desk(self, desk_id: str, now: str) -> Desk:
        """Any state → revoked; its stored batches stay (they were accepted while approved)."""

    @abc.abstractmethod
    def centre_desks(self, centre_id: str) -> list[Desk]:
        """The desks approved into ``centre_id``, revoked ones included, oldest first."""

    # Batches
    @abc.abstractmethod
    def put_batch(self, centre_id: str, batch: IncomingBatch, now: str) -> PutResult:
        """Store ``batch`` in slot (origin, seq) in one transaction, or refuse it unchanged.

        In this order: the same batch (equal SHA-256) already in the slot → ``DUPLICATE``;
        another one → ``CONFLICT``, the slot unchanged and an alert recorded (or counted
        again); a seq that is not the origin's last + 1 → ``GAP``; a ``prev_hash`` that is
        not the stored last batch's hash → ``FORK``; a touched case whose newest consent
        (in the batch or stored) does not allow sync → ``NO_CONSENT``; a touched case that
        belongs to another centre → ``OTHER_CENTRE``. Otherwise the batch is stored, its
        consent changes update the centre's ``case_consent``, and the cases no centre had
        yet become this centre's.
        """

    @abc.abstractmethod
    def chain_head(self, origin: str) -> ChainHead | None:
        """The last batch stored from ``origin`` (None before its first)."""

    @abc.abstractmethod
    def case_consent(self, centre_id: str, case_id: str) -> ConsentMark | None:
        """The newest consent change the hub accepted for a case of ``centre_id``."""

    @abc.abstractmethod
    def feed(
        self,
        centre_id: str,
        after: int,
        limit: int,
        exclude_origin: str | None = None,
        held: Mapping[str, int] | None = None,
    ) -> list[FeedItem]:
        """The centre's batches with hub_seq > ``after``, in hub_seq order.

        ``held`` maps an origin to the last seq the caller holds of it (a desk's chains):
        those batches and the ones before them are left out, unread.
        """

    @abc.abstractmethod
    def last_hub_seq(self, centre_id: str) -> int:
        """The centre's newest hub_seq (0 before its first batch). Batches are numbered
        and committed in one order, so every batch up to it is visible once it is read."""

    @abc.abstractmethod
    def alerts(self) -> list[Alert]: ...

    # Content packs
    @abc.abstractmethod
    def add_content_pack(self, info: ContentPackInfo, data: bytes) -> None:
        """Store a signed pack; ``ContentVersionError`` unless its version is newer than
        every stored one (versions only grow: desks refuse anything else)."""

    @abc.abstractmethod
    def content_packs(self) -> list[ContentPackInfo]:
        """Every published pack, oldest first."""

    @abc.abstractmethod
    def latest_content_pack(self) -> ContentPackInfo | None: ...

    @abc.abstractmethod
    def content_pack_data(self, version: int) -> bytes | None: ...

    # The hub's own key and health
    @abc.abstractmethod
    def hub_key_seed(self) -> bytes:
        """The hub's Ed25519 seed (32 bytes), made on first use; every caller gets the same."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the database cannot answer."""

    @abc.abstractmethod
    def close(self) -> None: ...


def consent_refusals(
    batch: IncomingBatch, stored: Mapping[str, ConsentMark], limit: int = 3
) -> list[str]:
    """The first ``limit`` cases (sorted ids) the batch touches whose newest consent change —
    the batch's or the stored one, the higher timestamp wins — does not allow sync."""
    refused = []
    for case_id in sorted(batch.cases):
        marks = [m for m in (batch.consent.get(case_id), stored.get(case_id)) if m is not None]
        newest = max(marks, key=lambda m: m.hlc, default=None)
        if newest is None or not newest.allows_sync:
            refused.append(case_id)
            if len(refused) == limit:
                break
    return refused


def describe_refusals(case_ids: Iterable[str]) -> str:
    """Why a batch was refused for consent, naming the cases (ids only, never a person)."""
    ids = list(case_ids)
    noun = "case" if len(ids) == 1 else "cases"
    return (
        f"consent does not allow sync for {noun} {', '.join(ids)}"
        " (no consent to sending it to the network hub is recorded); the whole batch is refused"
    )


def describe_other_centre(case_ids: Iterable[str]) -> str:
    """Why a batch touching another centre's cases was refused (ids only, never a person)."""
    ids = list(case_ids)
    noun = "case" if len(ids) == 1 else "cases"
    return (
        f"{noun} {', '.join(ids)} belong{'s' if len(ids) == 1 else ''} to another centre;"
        " a desk may only change its own centre's cases. The whole batch is refused"
    )


def utc_now() -> str:
    """ISO 8601 UTC with milliseconds, the form every hub timestamp is stored in."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_enrolment_code() -> str:
    """Eight characters from an unambiguous alphabet, shown as XXXX-XXXX (40 random bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(text: str) -> str:
    """What an admin typed, in the stored form: case, spaces and dashes ignored, O→0, I/L→1."""
    raw = re.sub(r"[\s-]", "", text.upper()).translate(_CODE_READS_AS)
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == CODE_LENGTH else raw


def is_desk_id(text: str) -> bool:
    """Desk ids are the desks' own UUIDs (lower-case, hyphenated)."""
    return bool(_UUID.match(text))


def redact_url(url: str) -> str:
    """A database URL fit for messages: the password is replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def open_storage(url: str) -> HubStorage:
    """Open (and create or migrate) the hub's store: a ``postgresql://`` URL or a SQLite path
    (``sqlite:///abs/path`` or a plain file path)."""
    if url.startswith(("postgresql://", "postgres://")):
        from mrc_desktop.hub.storage_postgres import PostgresStorage

        return PostgresStorage(url)
    from pathlib import Path

    from mrc_desktop.hub.storage_sqlite import SqliteStorage

    path = url.removeprefix("sqlite://") if url.startswith("sqlite://") else url
    return SqliteStorage(Path(path))


# Column lists both backends select in the same order, and the rows' conversions.
DESK_COLUMNS = (
    "id, signing_key, box_key, label, code, status, centre_id, certificate, enrolled_at, changed_at"
)
FEED_COLUMNS = "origin, seq, hub_seq, sha256, data, received_at"
ALERT_COLUMNS = "kind, origin, seq, stored_sha256, offered_sha256, count, first_seen, last_seen"
CONTENT_COLUMNS = "version, published_at, files, content_bytes, size, sha256"


def desk_from_row(row: tuple[object, ...]) -> Desk:
    (desk_id, signing_key, box_key, label, code, status, centre_id, cert, enrolled, changed) = row
    return Desk(
        id=str(desk_id),
        signing_key=str(signing_key),
        box_key=None if box_key is None else str(box_key),
        label=str(label),
        code=str(code),
        status=DeskStatus(str(status)),
        centre_id=None if centre_id is None else str(centre_id),
        certificate=None if cert is None else str(cert),
        enrolled_at=str(enrolled),
        changed_at=str(changed),
    )


def feed_item_from_row(row: tuple[object, ...]) -> FeedItem:
    origin, seq, hub_seq, digest, data, received_at = row
    assert isinstance(data, bytes | bytearray | memoryview)
    return FeedItem(
        str(origin), _int(seq), _int(hub_seq), str(digest), bytes(data), str(received_at)
    )


def alert_from_row(row: tuple[object, ...]) -> Alert:
    kind, origin, seq, stored, offered, count, first_seen, last_seen = row
    return Alert(
        str(kind),
        str(origin),
        _int(seq),
        str(stored),
        str(offered),
        _int(count),
        str(first_seen),
        str(last_seen),
    )


def content_pack_from_row(row: tuple[object, ...]) -> ContentPackInfo:
    version, published_at, files, content_bytes, size, digest = row
    return ContentPackInfo(
        _int(version), str(published_at), _int(files), _int(content_bytes), _int(size),
        str(digest),
    )  # fmt: skip


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value
