"""Reading a content pack: checking every byte of a ``.mrcpack`` against its signed manifest.

The format is described in :mod:`mrc_desktop.sync.content_pack`. The order matters: the
size and the gzip header first, then the manifest and its signature — before any file is
read, so an unsigned pack costs a few kilobytes of inflating and no more — then each file
(a plain file, listed, once, its size and SHA-256), none missing, and finally the rest of
the stream, so that gzip's CRC-32 has seen every byte. Inflating is capped (a gzip bomb
stops at :data:`MAX_TAR_BYTES`). Files are written only below the folder the caller gives,
under names that passed :func:`~mrc_desktop.sync.content_pack.unsafe_path_reason`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Protocol

from mrc_desktop.sync.content_pack import (
    CHUNK,
    FILES_PREFIX,
    GZIP_HEADER,
    MANIFEST_MEMBER,
    MAX_MANIFEST_BYTES,
    MAX_PACK_BYTES,
    MAX_TAR_BYTES,
    MAX_TRAILER_BYTES,
    SIGNATURE_MEMBER,
    ContentPackError,
    PackFile,
    PackManifest,
    check_path,
    first_line,
    verify_manifest,
)
from mrc_desktop.sync.keys import PublicIdentity


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


ProgressFn = Callable[[int, int], None]


class PackCancelled(ContentPackError):
    """The caller's ``cancelled`` callback said stop while files were being checked."""


class _Bounded:
    """A read-only stream that refuses to yield more than ``limit`` bytes (a gzip bomb)."""

    def __init__(self, inner: _Readable, limit: int) -> None:
        self.inner = inner
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        want = self.left + 1 if size < 0 else min(size, self.left + 1)
        data = self.inner.read(want)
        self.left -= len(data)
        if self.left < 0:
            raise ContentPackError(f"the pack inflates beyond {MAX_TAR_BYTES} bytes")
        return data


def read_pack(
    source: Path | bytes,
    publisher: PublicIdentity,
    *,
    accept: Callable[[PackManifest], None] | None = None,
    extract_to: Path | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PackManifest:
    """Check a pack against the hub key ``publisher``; return its manifest.

    In order: size, gzip header, the manifest and its signature (``accept`` may then refuse
    the manifest, e.g. a downgrade, before any file is read), then every file (plain, listed,
    once, its size and SHA-256), none missing, and the gzip CRC over the whole stream. With
    ``extract_to`` (a new, empty folder) each file is written there, fsynced, as it passes;
    the caller throws the folder away when this raises ``ContentPackError``.
    """
    if isinstance(source, bytes):
        handle: BinaryIO = io.BytesIO(source)
        size = len(source)
    else:
        try:
            handle = source.open("rb")
            size = source.stat().st_size
        except OSError as exc:
            raise ContentPackError(f"cannot read {source}: {exc.strerror or exc}") from None
    with handle:
        if size > MAX_PACK_BYTES:
            raise ContentPackError(f"the pack is larger than {MAX_PACK_BYTES // 2**20} MB")
        head = handle.read(len(GZIP_HEADER))
        if head != GZIP_HEADER:
            what = "truncated" if len(head) < len(GZIP_HEADER) else "damaged or"
            raise ContentPackError(f"not an MRC Desk content pack ({what} not written by mrc-hub)")
        handle.seek(0)
        try:
            with gzip.GzipFile(fileobj=handle, mode="rb") as gz:
                stream = _Bounded(gz, MAX_TAR_BYTES)
                manifest = _read_members(stream, publisher, accept, extract_to, progress, cancelled)
                _drain(stream)
        except (tarfile.TarError, gzip.BadGzipFile, zlib.error) as exc:
            raise ContentPackError(f"the pack is damaged ({first_line(exc)})") from None
        except EOFError:
            raise ContentPackError("the pack is truncated (it ends too early)") from None
    return manifest


def _read_members(
    stream: _Bounded,
    publisher: PublicIdentity,
    accept: Callable[[PackManifest], None] | None,
    extract_to: Path | None,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
) -> PackManifest:
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
        raw = _small_member(tar, MANIFEST_MEMBER, MAX_MANIFEST_BYTES)
        signature = _small_member(tar, SIGNATURE_MEMBER, 64)
        manifest = verify_manifest(raw, signature, publisher)
        if accept is not None:
            accept(manifest)
        expected = {f.path: f for f in manifest.files}
        seen: set[str] = set()
        total = len(expected)
        # tar.next(), not iteration: iterating a stream starts again from its first member.
        while (member := tar.next()) is not None:
            if cancelled is not None and cancelled():
                raise PackCancelled("cancelled before every file was checked")
            path = _file_member(member, expected, seen)
            seen.add(path)
            reader = tar.extractfile(member)
            assert reader is not None
            _copy_checked(reader, expected[path], extract_to)
            if progress is not None:
                progress(len(seen), total)
        missing = sorted(set(expected) - seen)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise ContentPackError(f"file {missing[0]} is missing from the pack{more}")
    return manifest


def _small_member(tar: tarfile.TarFile, name: str, limit: int) -> bytes:
    member = tar.next()
    if member is None or member.name != name or not member.isreg():
        found = "nothing" if member is None else repr(member.name[:80])
        raise ContentPackError(
            f"the pack is damaged or not an MRC Desk content pack ({name} expected, {found} found)"
        )
    if member.size > limit:
        raise ContentPackError(f"{name} is larger than {limit} bytes")
    reader = tar.extractfile(member)
    assert reader is not None
    return reader.read()


def _file_member(member: tarfile.TarInfo, expected: Mapping[str, PackFile], seen: set[str]) -> str:
    """The manifest path of ``member``, if it is a plain file the manifest lists, not yet seen."""
    name = member.name
    if not member.isreg():
        kind = (
            "a symbolic link" if member.issym() else
            "a hard link" if member.islnk() else
            "a folder entry" if member.isdir() else
            "a device or special file"
        )  # fmt: skip
        raise ContentPackError(f"unsafe entry {name[:120]!r} in the pack: {kind}")
    if not name.startswith(FILES_PREFIX):
        check_path(name)
        raise ContentPackError(f"{name[:120]!r} in the pack is outside its content folder")
    path = check_path(name[len(FILES_PREFIX) :])
    if path not in expected:
        raise ContentPackError(f"file {path} is in the pack but not in its signed manifest")
    if path in seen:
        raise ContentPackError(f"file {path} is in the pack twice")
    if member.size != expected[path].size:
        raise ContentPackError(
            f"file {path}: {member.size} bytes, the manifest says {expected[path].size}"
        )
    return path


def _copy_checked(reader: IO[bytes], entry: PackFile, extract_to: Path | None) -> None:
    """Hash the member (and write it out, fsynced); refuse it unless the hash matches."""
    digest = hashlib.sha256()
    if extract_to is None:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    else:
        target = extract_to.joinpath(*PurePosixPath(entry.path).parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = target.open("xb")
        except OSError as exc:
            raise ContentPackError(f"cannot write {target}: {exc.strerror or exc}") from None
        with out:
            while chunk := reader.read(CHUNK):
                digest.update(chunk)
                _write(out, chunk, target)
            _write(out, b"", target, sync=True)
    if digest.hexdigest() != entry.sha256:
        raise ContentPackError(
            f"file {entry.path}: SHA-256 does not match the manifest (damaged or altered)"
        )


def _write(out: BinaryIO, chunk: bytes, target: Path, sync: bool = False) -> None:
    try:
        out.write(chunk)
        if sync:
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise ContentPackError(f"cannot write {target}: {exc.strerror or exc}") from None


def _drain(stream: _Bounded) -> None:
    """Read to the end of the gzip stream, so its CRC-32 and length are checked."""
    left = MAX_TRAILER_BYTES
    while chunk := stream.read(CHUNK):
        left -= len(chunk)
        if left < 0 or chunk.strip(b"\x00"):
            raise ContentPackError("the pack has data after the end of its archive")
