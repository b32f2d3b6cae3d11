"""Content packs: the library and country data as one signed, versioned file (``.mrcpack``).

Pure functions over bytes and folders (no network, no app state): the hub builds a pack,
a desk reads and checks one (``content_install`` puts it in place).

The container is a gzip-compressed tar (the standard library's ``tarfile`` and ``gzip``)::

    mrcpack/manifest.json     canonical JSON, signed (below)
    mrcpack/signature         64 bytes: Ed25519 over "MRC Desk content pack v1\\0" + manifest
    content/<path>            every file the manifest lists, nothing else

The manifest is what is trusted: ``format``, ``version`` (an integer; a desk refuses
anything not newer than what it has), ``published_at`` (UTC), ``publisher`` (the hub's
key, hex), ``files`` ([{path, size, sha256}], sorted by path) and ``total_size``. The
signature is checked before any file is read; then each file must be a plain file,
listed, once, of the listed size and SHA-256; none may be missing. The container's own
bytes carry no trust, but none go unchecked either: the gzip header must be exactly the
one the hub writes, and the stream is read to its end so that gzip's CRC-32 covers every
byte of the tar (padding and end blocks included). A flipped byte anywhere is refused.

Limits (a desk's disk and memory, not the hub's): 50 MB of files, 5,000 files, 200
characters per path, 64 MB per pack file. Paths must be safe on every desk's file
system: relative, ``/``-separated, no ``..``, no names Windows refuses or folds
together (``CON``, ``a:b``, a trailing dot, two names differing only in case).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError

from mrc_desktop.sync.batches import canonical_json
from mrc_desktop.sync.keys import Identity, PublicIdentity

PACK_FORMAT = "mrcpack/1"
SIGN_CONTEXT = b"MRC Desk content pack v1\x00"
MANIFEST_MEMBER = "mrcpack/manifest.json"
SIGNATURE_MEMBER = "mrcpack/signature"
FILES_PREFIX = "content/"
SUFFIX = ".mrcpack"

MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_FILES = 5000
MAX_PATH_CHARS = 200
MAX_MANIFEST_BYTES = 2 * 1024 * 1024
MAX_PACK_BYTES = 64 * 1024 * 1024
# What the tar may inflate to: the files, a header and padding each, the manifest, the end.
MAX_TAR_BYTES = MAX_TOTAL_BYTES + (MAX_FILES + 4) * 1536 + MAX_MANIFEST_BYTES + 20480
# After the tar's end-of-archive blocks the hub writes at most a record's worth of zeros.
MAX_TRAILER_BYTES = 64 * 1024
# gzip: deflate, no flags, mtime 0, "best compression", OS unknown — as build_pack writes it.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
CHUNK = 64 * 1024

_FIELDS = {"format", "version", "published_at", "publisher", "files", "total_size"}
_FILE_FIELDS = {"path", "size", "sha256"}
_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)
_WINDOWS_FORBIDDEN = set('<>:"\\|?*')


class ContentPackError(Exception):
    """A pack that is refused, or could not be built; the message is one line saying why."""


@dataclass(frozen=True)
class PackFile:
    path: str  # relative, "/"-separated
    size: int
    sha256: str  # hex


@dataclass(frozen=True)
class PackManifest:
    version: int
    published_at: str
    publisher: str  # hex Ed25519 key of the hub that signed it
    files: tuple[PackFile, ...]
    total_size: int
    raw: bytes  # the signed bytes, kept to store beside an installed pack
    signature: bytes

    @property
    def sha256(self) -> str:
        """The manifest's SHA-256: names this exact pack content (whatever its compression)."""
        return hashlib.sha256(self.raw).hexdigest()


def first_line(exc: BaseException) -> str:
    """An exception's message, one line, for a refusal."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


# --- paths ----------------------------------------------------------------------------------


def unsafe_path_reason(path: object) -> str | None:
    """Why ``path`` may not be a file of a pack, or None when it is safe on every desk."""
    if not isinstance(path, str) or not path:
        return "not a file name"
    if len(path) > MAX_PATH_CHARS:
        return f"longer than {MAX_PATH_CHARS} characters"
    if unicodedata.normalize("NFC", path) != path:
        return "not in Unicode normal form C"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return "control characters"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "an absolute path"
    if _WINDOWS_FORBIDDEN & set(path):
        return 'characters Windows does not allow (<>:"\\|?*)'
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return "an empty, '.' or '..' part"
        if part[-1] in ". ":
            return "a part ending in a dot or space"
        if _WINDOWS_RESERVED.match(part):
            return f"a name Windows reserves ({part})"
    return None


def check_path(path: object) -> str:
    reason = unsafe_path_reason(path)
    if reason is not None:
        raise ContentPackError(f"unsafe path {str(path)[:120]!r} in the pack: {reason}")
    assert isinstance(path, str)
    return path


def check_unique(paths: Iterable[str]) -> None:
    """Refuse two files whose names differ only in case (one file on Windows and macOS), and
    a name that is both a file and a folder."""
    seen: dict[str, str] = {}
    folders: dict[str, str] = {}
    for path in paths:
        key = path.casefold()
        if key in seen:
            raise ContentPackError(f"duplicate file name in the pack: {seen[key]} and {path}")
        seen[key] = path
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folders.setdefault("/".join(parts[:depth]), path)
    for key, path in seen.items():
        if key in folders:
            raise ContentPackError(f"{path} is both a file and a folder in the pack")


# --- building (the hub) ---------------------------------------------------------------------


def folder_files(root: Path, skip: Iterable[str] = ()) -> dict[str, bytes]:
    """Every regular file under ``root`` by relative path, for :func:`build_pack`.

    Names starting with a dot (``.git``, ``.DS_Store``) and the top-level names in
    ``skip`` are left out; a symbolic link or any other special file is refused.
    """
    skipped = set(skip)
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or rel in skipped:
            continue
        if path.is_symlink():
            raise ContentPackError(f"{path}: a symbolic link; a pack holds plain files only")
        if path.is_dir():
            continue
        if not path.is_file():
            raise ContentPackError(f"{path}: not a plain file")
        check_path(rel)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ContentPackError(f"{path}: cannot read: {exc.strerror or exc}") from None
        total += len(data)
        if total > MAX_TOTAL_BYTES or len(files) >= MAX_FILES:
            raise ContentPackError(
                f"{root}: more than {MAX_TOTAL_BYTES // 2**20} MB or {MAX_FILES} files"
            )
        files[rel] = data
    if not files:
        raise ContentPackError(f"{root}: no files to publish")
    return files


def make_manifest(
    files: Mapping[str, bytes], publisher: PublicIdentity, version: int, published_at: str
) -> dict[str, Any]:
    entries = [
        {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for path, data in sorted(files.items())
    ]
    return {
        "format": PACK_FORMAT,
        "version": version,
        "published_at": published_at,
        "publisher": publisher.hex,
        "files": entries,
        "total_size": sum(len(data) for data in files.values()),
    }


def sign_manifest(manifest: Mapping[str, Any], identity: Identity) -> tuple[bytes, bytes]:
    """The manifest's canonical bytes and the publisher's signature over them."""
    raw = canonical_json(dict(manifest))
    return raw, identity.signing_key().sign(SIGN_CONTEXT + raw).signature


def write_container(
    manifest: bytes, signature: bytes, members: Iterable[tuple[tarfile.TarInfo, bytes]]
) -> bytes:
    """The pack's bytes: gzip (header as :data:`GZIP_HEADER`) of a tar holding the manifest,
    the signature, then ``members`` as given (``build_pack`` passes one per file)."""
    out = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=out, mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.addfile(regular_member(MANIFEST_MEMBER, len(manifest)), io.BytesIO(manifest))
        tar.addfile(regular_member(SIGNATURE_MEMBER, len(signature)), io.BytesIO(signature))
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def regular_member(name: str, size: int) -> tarfile.TarInfo:
    """A tar entry with nothing in it but a name and a size (no owner, time or mode bits)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    return info


def build_pack(
    files: Mapping[str, bytes], identity: Identity, version: int, published_at: str
) -> bytes:
    """A signed pack of ``files`` (relative path → bytes) as version ``version``."""
    if type(version) is not int or version < 1:
        raise ContentPackError(f"version {version!r} is not a positive integer")
    if not _UTC.match(published_at):
        raise ContentPackError(f"published_at {published_at!r} is not YYYY-MM-DDTHH:MM:SSZ")
    for path in files:
        check_path(path)
    check_unique(files)
    if len(files) > MAX_FILES or sum(len(d) for d in files.values()) > MAX_TOTAL_BYTES:
        raise ContentPackError(f"more than {MAX_TOTAL_BYTES // 2**20} MB or {MAX_FILES} files")
    manifest = make_manifest(files, identity.public, version, published_at)
    raw, signature = sign_manifest(manifest, identity)
    members = (
        (regular_member(FILES_PREFIX + path, len(data)), data)
        for path, data in sorted(files.items())
    )
    data = write_container(raw, signature, members)
    if len(data) > MAX_PACK_BYTES:
        raise ContentPackError(f"the pack would be larger than {MAX_PACK_BYTES // 2**20} MB")
    return data


# --- the manifest ---------------------------------------------------------------------------


def verify_manifest(raw: bytes, signature: bytes, publisher: PublicIdentity) -> PackManifest:
    """The manifest, if ``publisher`` signed these bytes and they are a valid manifest."""
    try:
        publisher.verifier().verify(SIGN_CONTEXT + raw, signature)
    except (BadSignatureError, ValueError):
        claimed = _claimed_publisher(raw)
        if claimed is not None and claimed != publisher.hex:
            raise ContentPackError(
                f"wrong publisher: the pack names hub key {claimed[:16]}…, this desk trusts"
                f" {publisher.hex[:16]}… (a pack from another hub?)"
            ) from None
        raise ContentPackError(
            "bad signature: the pack was not signed by this desk's hub (damaged or altered)"
        ) from None
    return parse_manifest(raw, signature, publisher)


def _claimed_publisher(raw: bytes) -> str | None:
    """The publisher an unverified manifest names, only to say which hub it claims."""
    try:
        value = json.loads(raw).get("publisher")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and _HEX64.match(value) else None


def parse_manifest(raw: bytes, signature: bytes, publisher: PublicIdentity) -> PackManifest:
    """Check a (signed) manifest's fields and limits; ``ContentPackError`` names the field."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ContentPackError(f"manifest: not JSON ({first_line(exc)})") from None
    if not isinstance(data, dict) or canonical_json(data) != raw:
        raise ContentPackError("manifest: not a JSON object in canonical form")
    if set(data) != _FIELDS:
        odd = sorted(set(data) ^ _FIELDS)
        raise ContentPackError(f"manifest: missing or unknown field {odd[0]}")
    if data["format"] != PACK_FORMAT:
        raise ContentPackError(f"manifest: unknown pack format {str(data['format'])[:40]!r}")
    version = data["version"]
    if type(version) is not int or not 1 <= version < 2**53:
        raise ContentPackError("manifest: version is not a positive integer")
    if not isinstance(data["published_at"], str) or not _UTC.match(data["published_at"]):
        raise ContentPackError("manifest: published_at is not YYYY-MM-DDTHH:MM:SSZ")
    if data["publisher"] != publisher.hex:
        raise ContentPackError("wrong publisher: the manifest names another hub key")
    files = _parse_files(data["files"])
    total = data["total_size"]
    if type(total) is not int or total != sum(f.size for f in files):
        raise ContentPackError("manifest: total_size is not the sum of the file sizes")
    if total > MAX_TOTAL_BYTES:
        raise ContentPackError(f"manifest: more than {MAX_TOTAL_BYTES // 2**20} MB of files")
    return PackManifest(
        version, data["published_at"], data["publisher"], files, total, raw, signature
    )


def _parse_files(value: object) -> tuple[PackFile, ...]:
    if not isinstance(value, list) or not value:
        raise ContentPackError("manifest: files is not a non-empty list")
    if len(value) > MAX_FILES:
        raise ContentPackError(f"manifest: more than {MAX_FILES} files")
    files: list[PackFile] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != _FILE_FIELDS:
            raise ContentPackError(f"manifest: files[{index}] is not {{path, size, sha256}}")
        path = check_path(entry["path"])
        size, digest = entry["size"], entry["sha256"]
        if type(size) is not int or not 0 <= size <= MAX_TOTAL_BYTES:
            raise ContentPackError(f"manifest: size of {path} is not a byte count")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise ContentPackError(f"manifest: sha256 of {path} is not 64 hex digits")
        if files and path <= files[-1].path:
            raise ContentPackError(f"manifest: {path} is out of order or listed twice")
        files.append(PackFile(path, size, digest))
    check_unique(f.path for f in files)
    return tuple(files)
