"""Who a hub request comes from: desk keys, signed requests and the hub's desk certificates.

The formats are the desk's and the hub's shared protocol, in
:mod:`mrc_desktop.sync.hub_protocol` (request signing with ``DeskAuth``, certificate
claims and their verification): desks need them without the hub package. This module is
the hub's half: checking a request's signature and clock, and issuing certificates. A
request is only accepted within five minutes of the hub's clock.
"""

from __future__ import annotations

import json

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from mrc_desktop.sync.hub_protocol import (
    CERTIFICATE_VERSION,
    HEADER_DESK,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    REQUEST_CONTEXT,
    CertificateError,
    DeskAuth,
    KeyFormatError,
    b64,
    canonical_json,
    request_message,
    signed_headers,
    unb64,
    verify_certificate,
)

__all__ = [
    "CERTIFICATE_VERSION",
    "HEADER_DESK",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "MAX_CLOCK_SKEW_S",
    "REQUEST_CONTEXT",
    "CertificateError",
    "DeskAuth",
    "KeyFormatError",
    "b64",
    "canonical_json",
    "clock_skew",
    "issue_certificate",
    "request_message",
    "signature_valid",
    "signed_headers",
    "unb64",
    "verify_certificate",
    "verify_key_b64",
]

MAX_CLOCK_SKEW_S = 300


def verify_key_b64(signing_key: SigningKey) -> str:
    return b64(bytes(signing_key.verify_key))


def signature_valid(
    verify_key: str, method: str, target: str, timestamp: str, signature: str, body: bytes
) -> bool:
    """True when ``signature`` (base64) is the desk's over this request; False for anything odd."""
    try:
        key = VerifyKey(unb64(verify_key, 32, "key"))
        sig = unb64(signature, 64, "signature")
        key.verify(request_message(method, target, timestamp, body), sig)
    except (KeyFormatError, BadSignatureError, UnicodeEncodeError, ValueError):
        return False
    return True


def clock_skew(timestamp: str, now: float) -> float | None:
    """Seconds between the request's timestamp and ``now``; None if it is not an integer."""
    if not timestamp.isascii() or not timestamp.lstrip("-").isdigit() or len(timestamp) > 20:
        return None
    return int(timestamp) - now


# --- certificates ---------------------------------------------------------------------------


def issue_certificate(
    hub_key: SigningKey, desk_id: str, centre_id: str, desk_signing_key: str, issued_at: str
) -> str:
    claims = {
        "v": CERTIFICATE_VERSION,
        "desk_id": desk_id,
        "centre_id": centre_id,
        "desk_signing_key": desk_signing_key,
        "issued_at": issued_at,
        "hub_key": verify_key_b64(hub_key),
    }
    signature = hub_key.sign(canonical_json(claims)).signature
    return json.dumps({"claims": claims, "signature": b64(signature)}, sort_keys=True)
