"""The desk's conversation with its hub over HTTPS: enrolment, push and pull.

``HubClient`` is httpx with what an unreliable link needs: timeouts on every phase,
retries with exponential backoff and jitter for anything that may pass on a second try
(a dropped connection, a timeout, 5xx, 429), a ``cancelled`` callback checked before
every attempt and during every wait, and requests signed as the desk (``DeskAuth``). Each
retry builds its body again, so an upload re-seals the same signed batch (a new nonce).

* ``enrol`` makes the desk's identity (once), pins the hub's TLS certificate and key, and
  asks to join; run again with the admin's code it stores the verified certificate.
* ``sync_with_hub`` fills the outbox, pushes it (a batch leaves the outbox only after the
  hub's 200/201 names its exact hash) and pulls the feed until the hub says there is no
  more, applying each batch with its cursor in one transaction (``inbox.apply_sealed``).
  A failure stops that direction; everything applied or acknowledged so far is kept.
  Then it fetches a newer content pack, if the hub has one (``update_content``): a refused
  pack is reported, it does not fail the case sync.

TLS: a hub usually has a self-signed certificate. At enrolment the desk fetches it,
compares it with the fingerprint the admin gave (``--fingerprint``; otherwise it is
trusted on first use and its fingerprint printed for the admin to compare), and from then
on accepts exactly that certificate.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import random
import re
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from mrc_desktop import __version__
from mrc_desktop.storage.paths import AppPaths
from mrc_desktop.sync.content_install import (
    ContentInfo,
    install_pack,
    installed_content,
    remember_hub_key,
)
from mrc_desktop.sync.content_pack import MAX_PACK_BYTES, ContentPackError
from mrc_desktop.sync.content_unpack import PackCancelled
from mrc_desktop.sync.hub_protocol import (
    FEED_MAX_HAVE,
    CertificateError,
    DeskAuth,
    KeyFormatError,
    b64,
    unb64,
    verify_certificate,
)
from mrc_desktop.sync.inbox import Received, ReceiveError, apply_sealed
from mrc_desktop.sync.keys import Identity, InvalidKeyError, PublicIdentity
from mrc_desktop.sync.outbox import (
    AcknowledgementError,
    OutboxError,
    acknowledge,
    fill_outbox,
    pending,
    pending_counts,
    seal,
)
from mrc_desktop.sync.state import (
    APPROVED,
    PENDING,
    REVOKED,
    PeerList,
    PeerListError,
    SyncState,
    ensure_identity,
    load_chain,
    load_state,
    peer_list_from,
    record_outcome,
    require_identity,
    store_peers,
    update_state,
)

TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
CLOCK_WARN_S = 300  # the hub refuses signed requests further off than this
CLOCK_ADJUST_S = 60  # beyond this, requests are signed with the hub's time instead
FEED_PAGE = 100
PUSH_PAGE = 50
_CODE_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class SyncCancelled(Exception):
    """The caller's ``cancelled`` callback said stop."""


class HubError(Exception):
    """The hub could not be reached or refused; the message is one line for a person."""


class HubUnreachable(HubError):
    pass


class TlsPinError(HubUnreachable):
    """The hub presented another TLS certificate than the one pinned."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try again: equal-jitter exponential backoff."""

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, retry: int, rng: Callable[[], float]) -> float:
        """The wait before retry number ``retry`` (0, 1, 2 …): half fixed, half random."""
        cap = min(self.max_delay_s, self.base_delay_s * 2**retry)
        return cap / 2 + rng() * cap / 2


@dataclass(frozen=True)
class Progress:
    """Where a sync is: ``stage`` "push" or "pull" (batches done, and the total if known),
    "content" (files of a new content pack checked) or "index" (articles re-indexed)."""

    stage: str
    done: int
    total: int | None


def pinned_context(cert_pem: str) -> ssl.SSLContext:
    """A TLS context that accepts exactly this (self-signed) certificate, whatever the host
    name (the hub may be reached at an address its certificate does not name)."""
    context = ssl.create_default_context(cadata=cert_pem)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def fingerprint_of_pem(cert_pem: str) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normalise_fingerprint(text: str) -> str:
    """AB:CD:… from what an admin typed (colons, spaces, case, a 'SHA256:' prefix ignored)."""
    raw = re.sub(r"[\s:]", "", text).upper().removeprefix("SHA256")
    if not re.fullmatch(r"[0-9A-F]{64}", raw):
        raise HubError(f"--fingerprint {text!r} is not a SHA-256 fingerprint (64 hex digits)")
    return ":".join(raw[i : i + 2] for i in range(0, 64, 2))


def normalise_code(text: str) -> str:
    """An enrolment code as the hub stores it: XXXX-XXXX (case, spaces, dashes ignored)."""
    raw = re.sub(r"[\s-]", "", text.upper()).translate(_CODE_READS_AS)
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else raw


def normalise_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubError(f"{url!r} is not a hub address (https://HOST:PORT)")
    return url.strip().rstrip("/")


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def unencrypted_remote(url: str) -> bool:
    """True for an http:// hub off this computer: batches stay sealed and signed, but who
    syncs when can be seen on the network (the command warns, the sync screen asks)."""
    parts = urlsplit(url.strip())
    return parts.scheme == "http" and parts.hostname not in LOOPBACK


def fetch_certificate(url: str, timeout_s: float = 10.0) -> str:
    """The certificate the server at ``url`` presents (PEM), not yet trusted."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        return ssl.get_server_certificate((host, parts.port or 443), timeout=timeout_s)
    except (OSError, ssl.SSLError) as exc:
        raise HubUnreachable(f"cannot reach the hub at {url}: {exc}") from None


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        return detail
    if detail is not None:
        return str(detail)[:200]
    return response.reason_phrase or f"HTTP {response.status_code}"


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


class HubClient:
    """httpx with timeouts, retries, cancellation and desk signatures, for one hub."""

    def __init__(
        self,
        base_url: str,
        identity: Identity,
        desk_id: str | None,
        *,
        tls_certificate: str | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = TIMEOUT,
        cancelled: Callable[[], bool] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = normalise_url(base_url)
        self.identity = identity
        self.desk_id = desk_id
        self.retry = retry or RetryPolicy()
        self.cancelled = cancelled or (lambda: False)
        self.sleep = sleep
        self.rng = rng
        self.clock = clock
        self.clock_skew_s: float | None = None  # the hub's clock minus this desk's
        self.revoked = False  # the hub answered that this desk is revoked
        self._offset = 0.0
        verify: ssl.SSLContext | bool = True
        if tls_certificate and self.base_url.startswith("https:"):
            verify = pinned_context(tls_certificate)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            verify=verify,
            transport=transport,
            headers={"User-Agent": f"mrc-desk/{__version__}"},
            follow_redirects=False,
        )

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _auth(self, desk_id: str | None) -> DeskAuth:
        return DeskAuth(desk_id, self.identity.signing_key(), clock=self._now)

    def _now(self) -> float:
        return self.clock() + self._offset

    def check_cancelled(self) -> None:
        if self.cancelled():
            raise SyncCancelled("sync cancelled")

    def _wait(self, seconds: float) -> None:
        """Sleep in short steps, so that a cancel is seen within a fifth of a second."""
        left = seconds
        while left > 0:
            self.check_cancelled()
            step = min(left, 0.2)
            self.sleep(step)
            left -= step
        self.check_cancelled()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        body: Callable[[], bytes] | None = None,
        signed: bool = True,
        as_desk: bool = True,
    ) -> httpx.Response:
        """Send one request, retrying what may pass on another try; the last answer returns.

        ``body`` is called for every attempt (a batch is sealed again each time). Raises
        ``HubUnreachable`` when no answer came after every attempt, ``SyncCancelled``.
        """
        auth = self._auth(self.desk_id if as_desk else None) if signed else None
        last_error = ""
        for attempt in range(self.retry.attempts):
            if attempt:
                self._wait(self.retry.delay(attempt - 1, self.rng))
            self.check_cancelled()
            content = body() if body is not None else None
            try:
                response = self._http.request(
                    method,
                    path,
                    params=params,
                    json=json_body,
                    content=content,
                    headers={"Content-Type": "application/octet-stream"} if body else None,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                if _tls_failure(exc):
                    raise TlsPinError(
                        f"the hub at {self.base_url} presented another TLS certificate than the"
                        " one pinned at enrolment: refusing to talk to it"
                    ) from None
                last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            self._note_clock(response)
            if response.status_code == 403 and "revoked" in _detail(response):
                self.revoked = True
            if response.status_code in RETRY_STATUSES and attempt + 1 < self.retry.attempts:
                last_error = f"HTTP {response.status_code}"
                continue
            return response
        raise HubUnreachable(
            f"cannot reach the hub at {self.base_url} ({self.retry.attempts} attempts;"
            f" last: {last_error})"
        )

    def _note_clock(self, response: httpx.Response) -> None:
        """Learn the hub's clock from its Date header; sign with it if this desk's is off."""
        date = response.headers.get("Date")
        if not date:
            return
        try:
            hub_time = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return
        self.clock_skew_s = hub_time - self.clock()
        self._offset = self.clock_skew_s if abs(self.clock_skew_s) > CLOCK_ADJUST_S else 0.0

    @property
    def clock_warning(self) -> str | None:
        skew = self.clock_skew_s
        if skew is None or abs(skew) <= CLOCK_WARN_S:
            return None
        way = "behind" if skew > 0 else "ahead of"
        return (
            f"this desk's clock is {abs(skew) / 60:.0f} minutes {way} the hub's:"
            " set the date and time"
        )

    # --- the hub's routes -------------------------------------------------------------------

    def health(self) -> None:
        response = self.request("GET", "/v1/health", signed=False)
        if response.status_code != 200:
            raise HubError(f"the hub at {self.base_url} is not healthy: {_detail(response)}")

    def enrol(self, desk_id: str, label: str) -> dict[str, Any]:
        body = {"desk_id": desk_id, "signing_key": b64(self.identity.public.verify_key)}
        if label:
            body["label"] = label
        response = self.request("POST", "/v1/enrol", json_body=body, as_desk=False)
        if response.status_code == 403:
            raise HubError(f"the hub has revoked this desk: {_detail(response)}")
        if response.status_code not in (200, 201):
            raise HubError(f"the hub refused the enrolment: {_detail(response)}")
        answer: dict[str, Any] = response.json()
        return answer

    def put_batch(self, origin: str, seq: int, sealed: Callable[[], bytes]) -> httpx.Response:
        return self.request("PUT", f"/v1/batches/{origin}/{seq}", body=sealed)

    def feed(
        self, cursor: int, limit: int = FEED_PAGE, have: Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """One page of the centre's feed after ``cursor``, less the batches ``have`` (origin
        → last seq held) says this desk holds: those that came by USB are not sent again."""
        held = sorted(
            ((origin, seq) for origin, seq in (have or {}).items() if seq > 0),
            key=lambda item: -item[1],
        )[:FEED_MAX_HAVE]
        params: dict[str, Any] = {"cursor": cursor, "limit": limit}
        if held:
            params["have"] = [f"{origin}:{seq}" for origin, seq in sorted(held)]
        response = self.request("GET", "/v1/feed", params=params)
        return self._json(response, "the feed")

    def peers(self) -> dict[str, Any]:
        return self._json(self.request("GET", "/v1/peers"), "the list of desks")

    def content_latest(self) -> dict[str, Any] | None:
        """The hub's newest content pack {version, published_at, size, sha256}, or None."""
        response = self.request("GET", "/v1/content/latest")
        if response.status_code == 404:
            return None
        answer = self._json(response, "the latest content pack")
        version, size, digest = answer.get("version"), answer.get("size"), answer.get("sha256")
        if type(version) is not int or type(size) is not int or not isinstance(digest, str):
            raise HubError("the hub's answer about its content pack is malformed")
        return answer

    def content_pack(self, version: int, size: int, sha256: str) -> bytes:
        """The bytes of content pack ``version``, which must be the ``size`` and ``sha256``
        the hub announced (the pack's own signature is checked when it is installed)."""
        if not 0 < size <= MAX_PACK_BYTES:
            raise HubError(f"the hub announces a content pack of {size} bytes: refused")
        response = self.request("GET", f"/v1/content/{version}")
        if response.status_code != 200:
            raise HubError(
                f"the hub refused content pack {version} ({response.status_code}):"
                f" {_detail(response)}"
            )
        data = response.content
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            raise HubError(
                f"content pack {version} arrived damaged ({len(data)} bytes, another SHA-256"
                " than announced); it will be fetched again next time"
            )
        return data

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise HubError(f"the hub refused {what} ({response.status_code}): {_detail(response)}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise HubError(f"the hub's answer for {what} is not JSON")
        return answer


# --- enrolment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    status: str  # pending or approved
    code: str
    hub_url: str
    tls_fingerprint: str | None
    centre_id: str | None
    desk_id: str
    desk_key_fingerprint: str
    identity_made: bool
    pinned_now: bool = False  # the TLS certificate was pinned by this run (trust on first use)
    clock_warning: str | None = None


def enrol(
    db: sqlite_utils.Database,
    desk_id: str,
    hub_url: str,
    *,
    fingerprint: str | None = None,
    code: str | None = None,
    label: str = "",
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    get_certificate: Callable[[str], str] = fetch_certificate,
    paths: AppPaths | None = None,
) -> Enrolment:
    """Ask ``hub_url`` to enrol this desk, or (with ``code``) finish once it is approved.

    Raises ``HubError`` with a one-line reason: unreachable, another TLS certificate or hub
    key than pinned, an unknown code, revoked, a certificate that does not verify.
    """
    url = normalise_url(hub_url)
    state = load_state(db)
    if state.enrolled and state.hub_url != url:
        raise HubError(f"this desk is already enrolled with the hub at {state.hub_url}")
    same_hub = state.hub_url == url
    desk_id = state.desk_id if same_hub and state.desk_id else desk_id
    pem, pinned = _pin_certificate(state, url, fingerprint, get_certificate, same_hub)
    identity, made = ensure_identity(db)
    with HubClient(
        url, identity, None, tls_certificate=pem, transport=transport, retry=retry
    ) as client:
        client.health()  # reachable, and its clock: enrolment is signed like any request
        try:
            answer = client.enrol(desk_id, label)
        except HubError as exc:
            if "revoked" in str(exc) and same_hub:
                update_state(db, enrol_status=REVOKED)
            raise
        clock_warning = client.clock_warning
    hub_key = str(answer.get("hub_key", ""))
    try:
        PublicIdentity(unb64(hub_key, 32, "hub key"))
    except (KeyFormatError, InvalidKeyError) as exc:
        raise HubError(f"the hub's answer carries no usable key: {exc}") from None
    if same_hub and state.hub_key and state.hub_key != hub_key:
        raise HubError(
            f"the hub at {url} answers with another key than at enrolment: refusing it"
            " (a different or reinstalled hub?)"
        )
    given = normalise_code(code) if code else None
    if given is not None and given != answer.get("code"):
        raise HubError(
            f"the hub does not know the code {code} for this desk; its code is"
            f" {answer.get('code')} (run mrc enrol --hub {url} to see it)"
        )
    status = str(answer.get("status"))
    values: dict[str, object] = {
        "desk_id": desk_id,
        "hub_url": url,
        "hub_key": hub_key,
        "tls_fingerprint": pinned,
        "tls_certificate": pem,
        "enrol_code": answer.get("code"),
        "enrol_status": status if status in (PENDING, APPROVED) else PENDING,
    }
    centre = certificate = None
    if status == APPROVED:
        certificate = str(answer.get("certificate") or "")
        centre = _check_own_certificate(certificate, hub_key, desk_id, identity, answer)
    update_state(db, centre_id=centre, certificate=certificate, **values)
    remember_hub_key(url, hub_key, paths)  # for content packs, without unlocking the cases
    return Enrolment(
        status=str(values["enrol_status"]),
        code=str(answer.get("code")),
        hub_url=url,
        tls_fingerprint=pinned,
        centre_id=centre,
        desk_id=desk_id,
        desk_key_fingerprint=identity.public.fingerprint,
        identity_made=made,
        pinned_now=pinned is not None and pinned != state.tls_fingerprint,
        clock_warning=clock_warning,
    )


def _pin_certificate(
    state: SyncState,
    url: str,
    fingerprint: str | None,
    get_certificate: Callable[[str], str],
    same_hub: bool,
) -> tuple[str | None, str | None]:
    """(certificate PEM, its fingerprint) to pin for an https hub; (None, None) for http."""
    wanted = normalise_fingerprint(fingerprint) if fingerprint else None
    if not url.startswith("https:"):
        if wanted:
            raise HubError("--fingerprint is for an https:// hub address")
        return None, None
    # Pinned once: a later run checks the hub against the certificate stored then.
    pem = state.tls_certificate if same_hub and state.tls_certificate else get_certificate(url)
    found = fingerprint_of_pem(pem)
    if wanted is not None and wanted != found:
        raise HubError(
            f"the hub at {url} presents a certificate with fingerprint {found}, not {wanted}:"
            " not enrolling (check the address, or ask the hub admin)"
        )
    return pem, found


def _check_own_certificate(
    text: str, hub_key: str, desk_id: str, identity: Identity, answer: dict[str, Any]
) -> str:
    """The centre id of this desk's certificate, once it verifies with the hub's key."""
    try:
        claims = verify_certificate(text, hub_key)
    except (CertificateError, KeyFormatError) as exc:
        raise HubError(f"bad certificate from the hub: {exc}") from None
    expected = {
        "desk_id": desk_id,
        "desk_signing_key": b64(identity.public.verify_key),
        "hub_key": hub_key,
        "centre_id": answer.get("centre_id"),
    }
    for name, value in expected.items():
        if claims.get(name) != value:
            raise HubError(f"bad certificate from the hub: its {name} is not this desk's")
    return str(claims["centre_id"])


# --- push and pull --------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentUpdate:
    """What a content check found: the content in use now, the hub's newest version (None
    when it has published none), and whether this run installed it."""

    current: ContentInfo
    hub_version: int | None
    installed: bool


def update_content(
    client: HubClient,
    hub_key: PublicIdentity,
    *,
    paths: AppPaths | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ContentUpdate:
    """Ask the hub for its newest content pack; download and install it if it is newer.

    Raises ``HubError`` (unreachable, refused, damaged on the way) or ``ContentPackError``
    (the pack itself refused: the content in use is unchanged), ``SyncCancelled``.
    """
    tell = progress or (lambda _p: None)
    latest = client.content_latest()
    current = installed_content(paths)
    if latest is None or latest["version"] <= current.version:
        return ContentUpdate(current, None if latest is None else latest["version"], False)
    data = client.content_pack(latest["version"], latest["size"], str(latest["sha256"]))
    client.check_cancelled()
    info = install_pack(
        data,
        hub_key=hub_key,
        paths=paths,
        progress=lambda stage, done, total: tell(
            Progress("content" if stage == "verify" else stage, done, total)
        ),
        cancelled=cancelled,
    )
    return ContentUpdate(info, latest["version"], True)


@dataclass
class SyncReport:
    pushed_batches: int = 0
    pushed_changes: int = 0
    outbox_left: int = 0
    held_cases: int = 0  # cases whose changes wait for consent to sync
    deferred: int = 0  # changes too large for a batch, kept on this desk
    received: Received = field(default_factory=Received)
    revoked_skipped: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    unreachable: bool = False  # no answer from the hub (the sync screen's calm offline state)
    certificate_changed: bool = False  # the hub presented another TLS certificate than pinned
    clock_skew_s: float | None = None  # the hub's clock minus this desk's, when it answered
    content: ContentUpdate | None = None  # None when the content stage did not run
    content_error: str | None = None  # why a content pack was not installed (not an error)

    @property
    def ok(self) -> bool:
        """Cases went both ways. A content pack refused does not count against it."""
        return not self.errors


def sync_with_hub(
    db: sqlite_utils.Database,
    *,
    hub_url: str | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    feed_page: int = FEED_PAGE,
    content: bool = True,
    paths: AppPaths | None = None,
) -> SyncReport:
    """Push this desk's outbox, then pull the centre's feed, then (with ``content``) fetch
    and install a newer content pack. Never raises for the hub's or the network's failures:
    they are in ``report.errors`` (everything done before is kept), a refused content pack
    in ``report.content_error``. Raises ``NotEnrolledError`` when the desk cannot sync at all.
    """
    state = load_state(db)
    state.require_enrolled()
    identity = require_identity(db)
    url = normalise_url(hub_url) if hub_url else str(state.hub_url)
    report = SyncReport()
    tell = progress or (lambda _p: None)
    if state.hub_key:  # desks enrolled before desk.db kept the key get it here
        remember_hub_key(url, state.hub_key, paths)
    reached = True
    with HubClient(
        url,
        identity,
        state.desk_id,
        tls_certificate=state.tls_certificate,
        transport=transport,
        retry=retry,
        cancelled=cancelled,
        sleep=sleep,
    ) as client:
        try:
            client.health()
            if client.clock_warning:
                report.warnings.append(client.clock_warning)
            _push(db, client, identity, state, report, tell)
            _pull(db, client, identity, report, tell, feed_page)
        except SyncCancelled:
            report.cancelled = True
            report.errors.append("sync cancelled: what was done so far is kept")
        except HubUnreachable as exc:
            reached = False
            report.certificate_changed = isinstance(exc, TlsPinError)
            report.unreachable = not report.certificate_changed
            report.errors.append(str(exc))
        except HubError as exc:
            report.errors.append(str(exc))
        report.clock_skew_s = client.clock_skew_s
        if client.revoked:
            update_state(db, enrol_status=REVOKED)
        elif content and reached and not report.cancelled:
            _content_stage(client, state.hub_identity(), report, paths, tell, cancelled)
    report.outbox_left, report.held_cases, report.deferred = pending_counts(db)
    report.warnings += [w for w in report.received.warnings if w not in report.warnings]
    record_outcome(db, report.errors[0] if report.errors else None)
    if report.ok and url != state.hub_url:
        update_state(db, hub_url=url)
    return report


def _content_stage(
    client: HubClient,
    hub_key: PublicIdentity,
    report: SyncReport,
    paths: AppPaths | None,
    tell: Callable[[Progress], None],
    cancelled: Callable[[], bool] | None,
) -> None:
    """``update_content`` as the last stage of a sync: its failures are reported apart."""
    try:
        report.content = update_content(
            client, hub_key, paths=paths, progress=tell, cancelled=cancelled
        )
    except (SyncCancelled, PackCancelled):
        report.cancelled = True
        report.errors.append("sync cancelled: what was done so far is kept")
    except ContentPackError as exc:
        report.content_error = f"the hub's content pack was refused: {exc}"
    except HubError as exc:
        report.content_error = f"no content update: {exc}"


def _push(
    db: sqlite_utils.Database,
    client: HubClient,
    identity: Identity,
    state: SyncState,
    report: SyncReport,
    tell: Callable[[Progress], None],
) -> None:
    """Upload the outbox in order; stop at the first batch the hub does not take."""
    desk_id = str(state.desk_id)
    try:
        fill_outbox(db, identity, desk_id)
    except OutboxError as exc:
        report.errors.append(f"cannot make the next batch: {exc}")  # earlier ones still go
    hub = state.hub_identity()
    total = pending_counts(db)[0]
    while True:
        batches = pending(db, desk_id, limit=PUSH_PAGE)
        if not batches:
            return
        for batch in batches:
            client.check_cancelled()
            response = client.put_batch(desk_id, batch.seq, partial(seal, identity, hub, batch))
            if response.status_code not in (200, 201):
                report.errors.append(
                    f"the hub refused batch #{batch.seq} ({response.status_code}):"
                    f" {_detail(response)}"
                )
                return
            stored = _answer(response).get("sha256")
            if stored != batch.this_hash.hex():
                report.errors.append(
                    f"the hub's answer for batch #{batch.seq} names another batch"
                    f" (sha256 {str(stored)[:16]}…): kept in the outbox"
                )
                return
            try:
                acknowledge(db, desk_id, batch.link)
            except AcknowledgementError as exc:
                report.errors.append(str(exc))
                return
            report.pushed_batches += 1
            report.pushed_changes += batch.changes
            tell(Progress("push", report.pushed_batches, total))


def refresh_peers(db: sqlite_utils.Database, client: HubClient) -> PeerList:
    """The centre's desks from ``GET /v1/peers``, checked with the pinned hub key, stored."""
    state = load_state(db)
    answer = client.peers()
    try:
        certificates, revoked = peer_list_from(state, answer)
    except PeerListError as exc:
        raise HubError(str(exc)) from None
    return store_peers(db, certificates, revoked)


def _pull(
    db: sqlite_utils.Database,
    client: HubClient,
    identity: Identity,
    report: SyncReport,
    tell: Callable[[Progress], None],
    page_size: int,
) -> None:
    """Apply the feed in hub order until the hub says there is no more, or a batch fails."""
    peers = refresh_peers(db, client)
    report.warnings += list(peers.problems)
    refreshed = False
    cursor = load_state(db).feed_cursor
    while True:
        have = {origin: link.seq for origin, link in load_chain(db).items()}
        page = client.feed(cursor, page_size, have)
        for item in _items(page):
            client.check_cancelled()
            data = _data(item)
            for attempt in (1, 2):
                try:
                    apply_sealed(
                        db, identity, peers.peers, data, feed_cursor=item["hub_seq"],
                        received=report.received,
                    )  # fmt: skip
                    break
                except ReceiveError as exc:
                    if item["origin"] in peers.revoked:
                        update_state(db, feed_cursor=item["hub_seq"])
                        report.revoked_skipped += 1
                        break
                    if attempt == 1 and "unknown" in str(exc) and not refreshed:
                        refreshed = True  # a desk approved since the peers were read
                        peers = refresh_peers(db, client)
                        continue
                    raise HubError(
                        f"batch #{item['seq']} of desk {item['origin']} (hub #{item['hub_seq']})"
                        f" was refused and will be offered again: {exc}"
                    ) from None
            cursor = item["hub_seq"]
            tell(Progress("pull", report.received.batches + report.received.skipped, None))
        after = _next_cursor(page, cursor)
        if not page.get("more"):
            # The hub left out what this desk holds; the next sync starts after it.
            if after > load_state(db).feed_cursor:
                update_state(db, feed_cursor=after)
            return
        cursor = after


def _next_cursor(page: dict[str, Any], cursor: int) -> int:
    after = page.get("next_cursor", cursor)
    if type(after) is not int or after < 0:
        raise HubError("the hub's feed is malformed")
    return max(cursor, after)


def _data(item: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(str(item["data"]), validate=True)
    except ValueError:
        raise HubError(f"the hub's feed item #{item['hub_seq']} is not base64") from None


def _items(page: dict[str, Any]) -> Iterator[dict[str, Any]]:
    batches = page.get("batches")
    if not isinstance(batches, list):
        raise HubError("the hub's feed is malformed")
    for item in sorted(batches, key=lambda b: int(b.get("hub_seq", 0))):
        if not isinstance(item, dict) or not {"origin", "seq", "hub_seq", "data"} <= set(item):
            raise HubError("the hub's feed is malformed")
        yield item
