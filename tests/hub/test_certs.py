"""The hub's self-signed TLS certificate: made once, reused, its fingerprint stable."""

from __future__ import annotations

import ssl
from pathlib import Path

from mrc_desktop.hub.certs import ensure_certificate, fingerprint_of_pem


def test_the_certificate_is_made_once_and_names_the_hub(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path / "tls", ["hub.centre.example", "10.0.0.5"])
    again = ensure_certificate(tmp_path / "tls", ["other.example"])
    assert (first.created, again.created) == (True, False)
    assert first.fingerprint == again.fingerprint == fingerprint_of_pem(first.cert.read_bytes())
    assert len(first.fingerprint.split(":")) == 32
    assert first.key.stat().st_mode & 0o777 == 0o600
    decoded = ssl._ssl._test_decode_cert(str(first.cert))  # type: ignore[attr-defined]
    names = {value for _kind, value in decoded["subjectAltName"]}
    assert {"hub.centre.example", "10.0.0.5", "localhost", "127.0.0.1"} <= names
