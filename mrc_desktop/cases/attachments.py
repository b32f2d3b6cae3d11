"""Case attachments: scanned contracts, receipts and photos, checked and stored encrypted.

Files are stored inside the SQLCipher case store (table ``attachments``), so they are
encrypted at rest and in every backup with no second key to manage, and append-only
like the case's entries. They are stored exactly as uploaded: nothing is stripped or
re-encoded, because an attachment may be evidence.

Checks, in order, before anything is stored:

* the name is cleaned (no folders, control or direction characters; at most 200);
* the size comes from ``stat()`` first, so a 200 MB file is refused without being read,
  then at most ``MAX_BYTES + 1`` bytes are read (the file may grow meanwhile);
* the type comes from the content's magic bytes (``filetype``), never from the
  extension, and the extension must agree with it.

Problems raise ``AttachmentError``: ``reason`` is short English for logs and the CLI,
``message`` an N_-marked text that the UI translates with ``text()``.

Storage. A file's bytes are kept in ``attachment_parts`` (at most
``ATTACHMENT_PART_BYTES`` each; ``attachments.content`` is empty), because a sync batch
holds at most 256 KiB and a change is never split: each part is one change that always
fits, so every file reaches the other desks. Files stored before parts existed keep their
bytes in ``attachments.content`` (those values may already be at other desks, and an
append-only row cannot change there); both read back the same way. At a desk that
receives a file, its parts may arrive after its row and over several syncs: until every
byte is here the file is "still arriving" (``AttachmentInfo.complete`` is False) and
cannot be opened. Every read checks the whole file against its SHA-256.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

import filetype
import sqlite_utils

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import insert_attachment_parts
from mrc_desktop.cases.validation import BIDI_CONTROLS
from mrc_desktop.i18n import N_, _


@dataclass(frozen=True)
class AllowedType:
    label: str  # N_: shown in lists ("PDF document")
    article: str  # N_: used in messages ("a PDF document")
    extensions: tuple[str, ...]  # lower case, first one is added to names without one


ALLOWED: dict[str, AllowedType] = {
    "application/pdf": AllowedType(N_("PDF document"), N_("a PDF document"), (".pdf",)),
    "image/jpeg": AllowedType(
        N_("JPEG image"), N_("a JPEG image"), (".jpg", ".jpeg", ".jpe", ".jfif")
    ),
    "image/png": AllowedType(N_("PNG image"), N_("a PNG image"), (".png",)),
    "image/webp": AllowedType(N_("WebP image"), N_("a WebP image"), (".webp",)),
}
# An animated PNG is a PNG (viewers show its first frame); filetype names it apart.
SAME_AS = {"image/apng": "image/png"}
MAX_BYTES = 20 * 1024 * 1024
MAX_NAME = 200
HEAD_BYTES = 8192  # what filetype looks at


class AttachmentError(ValueError):
    """Why a file was not attached or cannot be shown.

    ``values`` fill the message's named placeholders; those named in ``labels`` are
    N_-marked texts translated along with it; ``size`` and ``limit`` are byte counts
    formatted by the caller's ``size_text`` (the UI shows them in its own digits).
    """

    def __init__(
        self,
        reason: str,
        message: str,
        values: dict[str, str | int] | None = None,
        labels: tuple[str, ...] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.values = values or {}
        self.labels = labels

    def text(self, size_text: Callable[[int], str] | None = None) -> str:
        """The message in the current interface language."""
        shown: dict[str, str] = {}
        for key, value in self.values.items():
            if isinstance(value, int):
                shown[key] = size_text(value) if size_text else f"{value / 1_048_576:.1f} MB"
            else:
                shown[key] = _(value) if key in self.labels else value
        return _(self.message).format(**shown)


@dataclass(frozen=True)
class PreparedFile:
    """A file that passed every check, read into memory and hashed, not yet stored."""

    name: str
    media_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class AttachmentInfo:
    """What lists show: everything but the content."""

    id: str
    case_id: str
    name: str
    media_type: str
    size: int
    sha256: str
    created_at: str
    author: str  # user id
    author_name: str  # display name, or the id if the user is unknown on this desk
    received: int  # bytes held on this desk: ``size`` once the file has fully arrived
    parts_received: int  # parts held (0 for a file stored before parts existed)

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")

    @property
    def complete(self) -> bool:
        """False while a file synced from another desk is still arriving (not openable)."""
        return self.received >= self.size


# -- checks (Qt-free, no database; safe on a worker thread) ------------------------------
def detect_type(head: bytes) -> str | None:
    """The allowed media type the content is, by its magic bytes; None if not allowed."""
    kind = filetype.guess(head[:HEAD_BYTES]) if head else None
    mime = SAME_AS.get(kind.mime, kind.mime) if kind is not None else None
    return mime if mime in ALLOWED else None


def describe(head: bytes) -> str:
    """What the content looks like, for messages: an extension ("DOCX") or ""."""
    kind = filetype.guess(head[:HEAD_BYTES]) if head else None
    return str(kind.extension).upper() if kind is not None else ""


def clean_name(raw: str, media_type: str | None = None) -> str:
    """A file name safe to store and show: no folders, control or direction characters.

    Cleaning comes before any extension check, so ``invoice<RLO>gpj.exe`` is judged as
    ``invoicegpj.exe``. Long names keep their extension. A name left without an
    extension gets the type's usual one when ``media_type`` is given.
    """
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        c for c in name if unicodedata.category(c) != "Cc" and c not in BIDI_CONTROLS
    ).strip()
    if not name.strip(". "):
        name = ""
    stem, suffix = _split(name)
    if media_type and not suffix:
        suffix = ALLOWED[media_type].extensions[0]
    if not stem:
        stem = "attachment"
    if len(stem) + len(suffix) > MAX_NAME:
        stem = stem[: MAX_NAME - len(suffix)].rstrip()
    return stem + suffix


def _split(name: str) -> tuple[str, str]:
    """Stem and extension; "Contract v1.2" or "notes.final version" have no extension."""
    suffix = PurePath(name).suffix if name else ""
    word = suffix[1:]
    if not (1 <= len(word) <= 5 and word.isascii() and word.isalnum()) or word.isdigit():
        suffix = ""
    return (name[: len(name) - len(suffix)], suffix)


def prepare_file(path: Path) -> PreparedFile:
    """Check and read one file for attaching. Raises ``AttachmentError``."""
    allowed_names = ", ".join(e for t in ALLOWED.values() for e in t.extensions)
    shown = clean_name(path.name)  # messages never echo control or direction characters
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise AttachmentError(
            f"{shown}: no such file",
            N_("The file {name} no longer exists."),
            {"name": shown},
        ) from exc
    except OSError as exc:
        raise _unreadable(shown, exc) from exc
    if not path.is_file():
        raise AttachmentError(f"{shown}: not a file", N_("{name} is not a file."), {"name": shown})
    if info.st_size == 0:
        raise AttachmentError(
            f"{shown}: empty file", N_("The file {name} is empty."), {"name": shown}
        )
    if info.st_size > MAX_BYTES:
        raise _too_large(shown, info.st_size)
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _unreadable(shown, exc) from exc
    if len(content) > MAX_BYTES:  # it grew after stat()
        raise _too_large(shown, len(content))
    if not content:
        raise AttachmentError(
            f"{shown}: empty file", N_("The file {name} is empty."), {"name": shown}
        )
    media_type = detect_type(content)
    name = clean_name(path.name, media_type)
    _stem, suffix = _split(shown)
    suffix = suffix.lower()
    claimed = next((m for m, t in ALLOWED.items() if suffix in t.extensions), None)
    looks_like = describe(content)
    if claimed is None and suffix:
        raise AttachmentError(
            f"{name}: {suffix} files are not accepted (allowed: {allowed_names})",
            N_(
                "Only PDF documents and JPEG, PNG or WebP images can be attached; "
                "{name} is not one of them."
            ),
            {"name": name},
        )
    expected = claimed or media_type
    if expected is None or media_type != expected:
        label = ALLOWED[expected].article if expected else N_("a PDF document or an image")
        if looks_like:
            raise AttachmentError(
                f"{name}: the content is not {label}, it looks like {looks_like}",
                N_("This file is not {expected}: it looks like a file of type {kind}."),
                {"expected": label, "kind": looks_like},
                labels=("expected",),
            )
        raise AttachmentError(
            f"{name}: the content is not {label}, its type is unknown",
            N_("This file is not {expected}: its content is of an unknown type."),
            {"expected": label},
            labels=("expected",),
        )
    return PreparedFile(name, media_type, content, hashlib.sha256(content).hexdigest())


def _too_large(name: str, size: int) -> AttachmentError:
    return AttachmentError(
        f"{name}: {size} bytes, over the limit of {MAX_BYTES} bytes",
        N_("The file {name} is too large ({size}); the limit is {limit}."),
        {"name": name, "size": size, "limit": MAX_BYTES},
    )


def _unreadable(name: str, exc: OSError) -> AttachmentError:
    return AttachmentError(
        f"{name}: cannot read ({exc.strerror or type(exc).__name__})",
        N_("The file {name} could not be read."),
        {"name": name},
    )


# -- the store ---------------------------------------------------------------------------
def store_file(repo: CaseRepository, case_id: str, prepared: PreparedFile) -> str:
    """Store a checked file: attachment, ``document`` entry and audit row, all or nothing.

    Runs on the thread that owns the database connection (the UI thread in the app):
    a transaction must never share its connection with another thread's writes.
    """
    if prepared.media_type not in ALLOWED or hashlib.sha256(prepared.content).hexdigest() != (
        prepared.sha256
    ):
        raise AttachmentError(
            "the prepared file changed before it was stored",
            N_("The file changed while it was being attached: try again."),
        )
    return repo.add_attachment_row(
        case_id, prepared.name, prepared.media_type, prepared.content, prepared.sha256
    )


def add_attachment(repo: CaseRepository, case_id: str, path: Path) -> str:
    """Check ``path`` and attach it to the case; returns the attachment id."""
    return store_file(repo, case_id, prepare_file(path))


def list_attachments(db: sqlite_utils.Database, case_id: str) -> list[AttachmentInfo]:
    """A case's attachments, oldest first, without their content.

    ``length()`` of a blob is read from the row's header: no file content is read here.
    """
    rows = db.execute(
        "select a.id, a.case_id, a.name, a.media_type, a.size, a.sha256, a.created_at,"
        " a.author, coalesce(u.display_name, a.author),"
        " case when length(a.content) > 0 then length(a.content) else"
        "  (select coalesce(sum(length(p.content)), 0) from attachment_parts p"
        "   where p.attachment_id = a.id) end,"
        " (select count(*) from attachment_parts p where p.attachment_id = a.id)"
        " from attachments a left join users u on u.id = a.author where a.case_id = ?"
        " order by a.created_at, a.id",
        [case_id],
    ).fetchall()
    return [AttachmentInfo(*row) for row in rows]


def read_attachment(repo: CaseRepository, attachment_id: str) -> bytes:
    """The stored file, checked against its SHA-256; the view is recorded in the audit log.

    Raises ``KeyError`` (no such file, or its case is deleted) or ``AttachmentError``: the
    file is still arriving from another desk, or its bytes do not match its SHA-256.
    Nothing of a file is returned unless all of it checks.
    """
    row = repo.db.execute(
        "select a.case_id, a.content, a.sha256, a.name, a.size from attachments a"
        " join cases c on c.id = a.case_id where a.id = ? and c.deleted = 0",
        [attachment_id],
    ).fetchone()
    if row is None:
        raise KeyError(attachment_id)
    case_id, content, sha256, name, size = row
    if not content:
        content = _joined_parts(repo.db, attachment_id, name, size)
    if hashlib.sha256(content).hexdigest() != sha256:
        raise AttachmentError(
            f"attachment {attachment_id}: content does not match its SHA-256",
            N_("The stored copy of {name} is damaged: it does not match its checksum."),
            {"name": name},
        )
    repo.record("view_attachment", case_id, "attachment", None, attachment_id)
    return bytes(content)


def _joined_parts(db: sqlite_utils.Database, attachment_id: str, name: str, size: int) -> bytes:
    """The file's bytes from its parts, or ``AttachmentError`` while some are missing."""
    parts = db.execute(
        "select idx, content from attachment_parts where attachment_id = ? order by idx",
        [attachment_id],
    ).fetchall()
    held = sum(len(part) for _idx, part in parts)
    in_order = all(idx == n for n, (idx, _part) in enumerate(parts))
    if held < size or not in_order:
        # No text of its own yet (12 translations): the UI disables "View" for a file
        # that is still arriving, so this reaches people only by a race with a sync.
        raise AttachmentError(
            f"attachment {attachment_id}: still arriving from another desk"
            f" ({held} of {size} bytes, {len(parts)} parts here)",
            N_("The file {name} could not be read."),
            {"name": name},
        )
    return b"".join(part for _idx, part in parts)


def move_into_parts(db: sqlite_utils.Database, attachment_id: str) -> int:
    """Move a file stored before parts existed from ``attachments.content`` into parts.

    Only for a file whose ``content`` change never left this desk (the outbox calls it for
    one too large for any batch): its oplog version is rewritten to the empty blob under
    the same timestamp, which is safe only because no other replica holds that version.
    The parts are captured as new changes. Runs inside the caller's transaction; returns
    the number of parts written (0 if the file is in parts already).
    """
    row = db.execute(
        "select case_id, content, created_at, origin_desk from attachments where id = ?",
        [attachment_id],
    ).fetchone()
    if row is None:
        raise KeyError(attachment_id)
    case_id, content, created_at, origin_desk = row
    if not content:
        return 0
    count = insert_attachment_parts(db, attachment_id, case_id, content, created_at, origin_desk)
    db.execute("update attachments set content = x'' where id = ?", [attachment_id])
    db.execute(
        "update oplog set value = x'' where tbl = 'attachments' and row_id = ? and col = 'content'",
        [attachment_id],
    )
    return count
