"""What a desk and its hub agree on: signed requests and the hub's desk certificates.

These are the desk's half of the hub's authentication (``mrc_desktop.hub.auth`` checks
them on the server and issues certificates). They live in sync, below the hub, because
the desk's sync client needs them and the desktop app never ships the hub package (a
server program, left out of the installer).

A desk makes an Ed25519 key pair (PyNaCl) and enrols its public half. From then on
every request it sends carries three headers::

    X-MRC-Desk:       the desk id (its UUID)
    X-MRC-Timestamp:  Unix seconds, as an integer
    X-MRC-Signature:  base64 Ed25519 signature over the request message

and the request message is, joined by newlines::

    mrc-hub-request-v1
    METHOD                       upper case
    TARGET                       path and query exactly as sent (e.g. /v1/feed?cursor=3)
    TIMESTAMP                    the header's value
    SHA-256 of the body          lower-case hex (of b"" when there is no body)

so neither the path, the query nor the body can be changed in transit. The enrolment
request is signed the same way (without ``X-MRC-Desk``), which proves the desk holds
the private key it enrols.

The hub's answer to an approval is a certificate: canonical JSON claims {desk_id,
centre_id, desk_signing_key, issued_at, hub_key} signed by the hub's own Ed25519 key,
which desks keep to show which centre they belong to and to know each other's keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

HEADER_DESK = "X-MRC-Desk"
HEADER_TIMESTAMP = "X-MRC-Timestamp"
HEADER_SIGNATURE = "X-MRC-Signature"
REQUEST_CONTEXT = b"mrc-hub-request-v1"
CERTIFICATE_VERSION = 1
# At most this many ORIGIN:SEQ ``have`` values in one feed request (its line stays < 8 KB).
FEED_MAX_HAVE = 128


class KeyFormatError(ValueError):
    """A key or signature that is not base64 of the right length."""


class CertificateError(ValueError):
    """A certificate that is malformed or not signed by the expected hub key."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, length: int | None = None, what: str = "value") -> bytes:
    """Strict base64 (no stray characters) of an exact length, else ``KeyFormatError``."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError):
        raise KeyFormatError(f"{what} is not base64") from None
    if length is not None and len(raw) != length:
        raise KeyFormatError(f"{what} must be {length} bytes, not {len(raw)}")
    return raw


def request_message(method: str, target: str, timestamp: str, body: bytes) -> bytes:
    return b"\n".join(
        (
            REQUEST_CONTEXT,
            method.upper().encode("ascii"),
            target.encode("ascii"),
            timestamp.encode("ascii"),
            hashlib.sha256(body).hexdigest().encode("ascii"),
        )
    )


def signed_headers(
    signing_key: SigningKey,
    desk_id: str | None,
    method: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> dict[str, str]:
    """The auth headers for one request (``desk_id`` None: the enrolment request)."""
    timestamp = str(int(time.time() if now is None else now))
    signature = signing_key.sign(request_message(method, target, timestamp, body)).signature
    headers = {HEADER_TIMESTAMP: timestamp, HEADER_SIGNATURE: b64(signature)}
    if desk_id is not None:
        headers[HEADER_DESK] = desk_id
    return headers


class DeskAuth(httpx.Auth):
    """httpx auth that signs every request as the desk: ``httpx.Client(auth=DeskAuth(...))``."""

    requires_request_body = True

    def __init__(
        self,
        desk_id: str | None,
        signing_key: SigningKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk_id = desk_id
        self.signing_key = signing_key
        self.clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        request.headers.update(
            signed_headers(
                self.signing_key,
                self.desk_id,
                request.method,
                target,
                request.content,
                self.clock(),
            )
        )
        yield request


def canonical_json(value: Any) -> bytes:
    """The one byte form of ``value`` that is signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify_certificate(text: str, hub_key: str) -> dict[str, Any]:
    """The claims of a certificate signed by ``hub_key`` (base64), else ``CertificateError``."""
    try:
        document = json.loads(text)
        claims = document["claims"]
        signature = unb64(document["signature"], 64, "signature")
        if not isinstance(claims, dict) or claims.get("v") != CERTIFICATE_VERSION:
            raise CertificateError("not a version 1 desk certificate")
        VerifyKey(unb64(hub_key, 32, "hub key")).verify(canonical_json(claims), signature)
    except CertificateError:
        raise
    except BadSignatureError:
        raise CertificateError("the certificate is not signed by this hub") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CertificateError(f"malformed certificate: {exc}") from None
    return claims
