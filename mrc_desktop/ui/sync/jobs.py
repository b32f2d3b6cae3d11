"""The Sync screen's work, run on a worker thread with its own connection (no Qt here).

Each job gets a freshly opened connection to the case store (the session's connection
belongs to the UI thread), calls the same functions as ``mrc enrol`` and ``mrc sync`` —
``sync.client.enrol``, ``sync_with_hub``, ``outbox.export_bundle``, ``inbox.import_bundle``,
and ``content_install.install_pack`` as ``mrc content install`` does (no case store) —
and returns what the screen needs to say how it went. Nothing here formats text for a
person; ``words.py`` does, in the interface language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlite_utils

from mrc_desktop.sync.client import (
    Enrolment,
    Progress,
    RetryPolicy,
    SyncReport,
    enrol,
    fetch_certificate,
    fingerprint_of_pem,
    sync_with_hub,
)
from mrc_desktop.sync.content_install import ContentInfo, install_pack
from mrc_desktop.sync.inbox import BundleImport, import_bundle
from mrc_desktop.sync.merge import cases_edited_at_two_desks
from mrc_desktop.sync.outbox import BundleExport, export_bundle
from mrc_desktop.sync.state import REVOKED as STATE_REVOKED
from mrc_desktop.sync.state import NotEnrolledError, load_state, require_identity

OK, OFFLINE, CERTIFICATE, CANCELLED, REVOKED, REFUSED, NOT_JOINED = (
    "ok",
    "offline",
    "certificate",
    "cancelled",
    "revoked",
    "refused",
    "not_joined",
)


@dataclass(frozen=True)
class Network:
    """How jobs reach the hub: the real network by default; tests pass the hub app's
    transport and a retry policy that does not wait."""

    transport: httpx.BaseTransport | None = None
    retry: RetryPolicy | None = None
    get_certificate: Callable[[str], str] = fetch_certificate


@dataclass
class SyncOutcome:
    """How one sync went, in terms the screen shows."""

    kind: str  # ok, offline, certificate, cancelled, revoked, refused, not_joined
    report: SyncReport = field(default_factory=SyncReport)
    new_conflict_cases: int = 0  # cases newly edited at two desks
    reason: str = ""  # the sync code's one-line reason (English) when refused

    @property
    def received_anything(self) -> bool:
        return self.report.received.batches > 0


def run_sync(
    db: sqlite_utils.Database,
    network: Network,
    cancelled: Callable[[], bool],
    progress: Callable[[Progress], None],
) -> SyncOutcome:
    """Push the outbox and pull the centre's feed (``sync_with_hub``); never raises for the
    hub's or the network's failures."""
    before = cases_edited_at_two_desks(db)
    try:
        report = sync_with_hub(
            db,
            transport=network.transport,
            retry=network.retry,
            cancelled=cancelled,
            progress=progress,
        )
    except NotEnrolledError as exc:
        return SyncOutcome(NOT_JOINED, reason=str(exc))
    new = len(cases_edited_at_two_desks(db) - before)
    return SyncOutcome(_kind(db, report), report, new, report.errors[0] if report.errors else "")


def _kind(db: sqlite_utils.Database, report: SyncReport) -> str:
    if report.ok:
        return OK
    if report.cancelled:
        return CANCELLED
    if load_state(db).enrol_status == STATE_REVOKED:
        return REVOKED
    if report.certificate_changed:
        return CERTIFICATE
    if report.unreachable:
        return OFFLINE
    return REFUSED


def hub_fingerprint(url: str, network: Network) -> str:
    """The SHA-256 fingerprint of the certificate the hub at ``url`` presents (not trusted
    yet: the person compares it with the one the hub admin gave)."""
    return fingerprint_of_pem(network.get_certificate(url))


@dataclass(frozen=True)
class EnrolRequest:
    desk_id: str
    url: str
    fingerprint: str | None = None
    code: str | None = None  # "Check again": the code the hub gave
    label: str = ""  # shown to the hub admin: the centre's name


def run_enrol(db: sqlite_utils.Database, request: EnrolRequest, network: Network) -> Enrolment:
    """Ask the hub to enrol this desk, or check whether it approved the code. Raises
    ``HubError`` with a one-line reason."""
    return enrol(
        db,
        request.desk_id,
        request.url,
        fingerprint=request.fingerprint,
        code=request.code,
        label=request.label,
        transport=network.transport,
        retry=network.retry,
        get_certificate=network.get_certificate,
    )


def run_export(db: sqlite_utils.Database, target: Path) -> BundleExport:
    """This desk's unsent batches, sealed to the hub, in a bundle file (USB). Raises
    ``NotEnrolledError``, ``OutboxError`` or ``BundleError``; nothing is written then."""
    return export_bundle(db, require_identity(db), target)


@dataclass(frozen=True)
class ImportOutcome:
    done: BundleImport
    new_conflict_cases: int


def run_import(db: sqlite_utils.Database, source: Path) -> ImportOutcome:
    """Apply the hub's return bundle. Raises ``BundleError`` or ``ReceiveError`` (nothing
    from the bundle applied) or ``NotEnrolledError``."""
    before = cases_edited_at_two_desks(db)
    done = import_bundle(db, require_identity(db), source)
    return ImportOutcome(done, len(cases_edited_at_two_desks(db) - before))


def run_install(
    source: Path, cancelled: Callable[[], bool], progress: Callable[[Progress], None]
) -> ContentInfo:
    """Check a content pack file and make it the content in use (then re-index). Raises
    ``ContentPackError`` with a one-line reason; the content in use is unchanged then."""

    def step(stage: str, done: int, total: int) -> None:
        progress(Progress("index" if stage == "index" else "content", done, total))

    return install_pack(source, progress=step, cancelled=cancelled)
