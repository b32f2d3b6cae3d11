"""The hub's self-signed TLS certificate, made on first ``mrc-hub serve --tls``.

There is no certificate authority between a centre and its hub: the admin reads
the certificate's SHA-256 fingerprint off the hub and gives it to each desk at
enrolment, and the desk pins it (refuses any other certificate). The key is
ECDSA P-256, which every TLS stack accepts; the certificate names the hub by the
host names and addresses given, plus localhost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from mrc_desktop.storage.files import atomic_write_bytes

CERT_FILE = "hub-cert.pem"
KEY_FILE = "hub-key.pem"
VALID_DAYS = 10 * 365


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, as AB:CD:…
    created: bool


def fingerprint_of_der(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def fingerprint_of_pem(pem: bytes) -> str:
    return fingerprint_of_der(ssl.PEM_cert_to_DER_cert(pem.decode("ascii")))


def ensure_certificate(folder: Path, names: list[str]) -> TlsFiles:
    """The certificate and key in ``folder``, made if missing (key file readable by owner only)."""
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    created = False
    if not (cert_path.exists() and key_path.exists()):
        cert_pem, key_pem = make_self_signed(names)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(key_path, key_pem)
        if os.name == "posix":
            key_path.chmod(0o600)
        atomic_write_bytes(cert_path, cert_pem)
        created = True
    return TlsFiles(cert_path, key_path, fingerprint_of_pem(cert_path.read_bytes()), created)


def make_self_signed(names: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for the given host names or IP addresses."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    all_names = list(dict.fromkeys([*names, "localhost", "127.0.0.1", "::1"]))
    alt: list[x509.GeneralName] = []
    for name in all_names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"MRC Desk hub {all_names[0]}")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def pinned_context(cert_pem: bytes) -> ssl.SSLContext:
    """A client TLS context that trusts exactly this (self-signed) certificate.

    The pin replaces the host-name check: a desk may reach its hub by an address the
    certificate does not name (a new IP on the centre's network), and only the holder
    of this certificate's private key can complete the handshake.
    """
    context = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    return context
