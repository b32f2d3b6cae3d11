"""Attachments: type by content, size limits without reading, clean names, encrypted,
append-only, audited, and checked against their SHA-256 when read."""

from __future__ import annotations

import io
import json
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from mrc_desktop.cases import attachments as att
from mrc_desktop.cases.attachments import AttachmentError, add_attachment, prepare_file
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.storage.sqlite_build import sqlite
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000bb"
SECRET = b"Invented Employer Co. owes Test Worker Mala 4200 baht"


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG made with zlib, so this test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n% " + SECRET + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 32


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_case_store(tmp_path / "cases.db", PASS, create=True, params=FAST)
    yield db
    db.close()


@pytest.fixture
def repo(store) -> CaseRepository:  # type: ignore[no-untyped-def]
    user = create_user(
        store, DESK, "sokha", "Sokha Counsellor", "counsellor", "pw-12345678", **MIN_COST
    )
    return CaseRepository(store, user, DESK)


@pytest.fixture
def case_id(repo: CaseRepository) -> str:
    return repo.create_case({"person_name": "Test Worker Mala", "destination_country": "TH"})


def write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


# -- type checks ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "media_type"),
    [
        ("contract.pdf", PDF, "application/pdf"),
        ("receipt.JPG", JPEG, "image/jpeg"),
        ("receipt.jpeg", JPEG, "image/jpeg"),
        ("photo.png", png_bytes(), "image/png"),
        ("photo.webp", WEBP, "image/webp"),
    ],
)
def test_accepted_types_are_told_by_content(
    tmp_path: Path, name: str, content: bytes, media_type: str
) -> None:
    prepared = prepare_file(write(tmp_path, name, content))
    assert (prepared.name, prepared.media_type, prepared.size) == (name, media_type, len(content))


def test_a_document_renamed_jpg_is_refused_naming_what_it_looks_like(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError) as caught:
        prepare_file(write(tmp_path, "passport.jpg", docx_bytes()))
    assert (
        caught.value.text() == "This file is not a JPEG image: it looks like a file of type DOCX."
    )
    assert "DOCX" in caught.value.reason


def test_text_renamed_jpg_is_refused_as_unknown(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError) as caught:
        prepare_file(write(tmp_path, "receipt.jpg", b"just some words, not a picture\n"))
    assert caught.value.text() == (
        "This file is not a JPEG image: its content is of an unknown type."
    )


def test_extension_and_content_must_agree(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match="not a JPEG image"):
        prepare_file(write(tmp_path, "photo.jpg", png_bytes()))
    with pytest.raises(AttachmentError) as caught:
        prepare_file(write(tmp_path, "contract.pdf", JPEG))
    assert "not a PDF document: it looks like a file of type JPG" in caught.value.text()


def test_other_kinds_of_file_are_refused_whatever_they_hold(tmp_path: Path) -> None:
    for name, content in (("setup.exe", PDF), ("letter.docx", docx_bytes()), ("a.heic", JPEG)):
        with pytest.raises(AttachmentError) as caught:
            prepare_file(write(tmp_path, name, content))
        assert caught.value.text().startswith("Only PDF documents and JPEG, PNG or WebP images")
        assert name in caught.value.text()


def test_a_name_without_extension_gets_the_one_its_content_has(tmp_path: Path) -> None:
    assert prepare_file(write(tmp_path, "scan", PDF)).name == "scan.pdf"
    assert prepare_file(write(tmp_path, "Contract v1.2", PDF)).name == "Contract v1.2.pdf"
    with pytest.raises(AttachmentError) as caught:
        prepare_file(write(tmp_path, "notes", b"plain text"))
    assert caught.value.text() == (
        "This file is not a PDF document or an image: its content is of an unknown type."
    )


def test_names_lose_folders_control_and_direction_characters() -> None:
    assert att.clean_name("C:\\Users\\x\\Desktop\\receipt.png") == "receipt.png"
    assert att.clean_name("../../etc/receipt\x00\x1b.png") == "receipt.png"
    # A right-to-left override shows "invoice\u202egpj.exe" as "invoiceexe.jpg".
    assert att.clean_name("invoice\u202egpj.exe") == "invoicegpj.exe"
    long = att.clean_name("a" * 300 + ".jpeg")
    assert len(long) == att.MAX_NAME and long.endswith(".jpeg")
    assert att.clean_name("...", "image/png") == "attachment.png"


def test_a_disguised_program_is_refused_after_cleaning(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"invoicegpj\.exe"):
        prepare_file(write(tmp_path, "invoice\u202egpj.exe", b"MZ" + b"\x00" * 200))


# -- size checks -----------------------------------------------------------------------------
def test_200_mb_file_is_refused_fast_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "scan.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(200 * 1024 * 1024)  # sparse: no 200 MB written to the test disk
    opened: list[object] = []
    real_open = io.open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(file)
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(io, "open", spy)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(AttachmentError) as caught:
            prepare_file(big)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert big not in opened and peak < 1_000_000 and elapsed < 1.0
    assert caught.value.text(lambda n: f"{n // 1_048_576} MB") == (
        "The file scan.pdf is too large (200 MB); the limit is 20 MB."
    )


def test_the_limit_is_exact(tmp_path: Path) -> None:
    at_limit = write(tmp_path, "at.pdf", PDF.ljust(att.MAX_BYTES, b" "))
    assert prepare_file(at_limit).size == att.MAX_BYTES
    over = write(tmp_path, "over.pdf", PDF.ljust(att.MAX_BYTES + 1, b" "))
    with pytest.raises(AttachmentError, match="over the limit"):
        prepare_file(over)


def test_empty_missing_and_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError) as caught:
        prepare_file(write(tmp_path, "empty.pdf", b""))
    assert caught.value.text() == "The file empty.pdf is empty."
    with pytest.raises(AttachmentError) as caught:
        prepare_file(write(tmp_path, "blank\u202e.pdf", b""))
    assert caught.value.text() == "The file blank.pdf is empty."  # no hidden marks echoed
    with pytest.raises(AttachmentError, match="no such file"):
        prepare_file(tmp_path / "gone.pdf")
    (tmp_path / "folder.pdf").mkdir()
    with pytest.raises(AttachmentError, match="not a file"):
        prepare_file(tmp_path / "folder.pdf")


# -- the store -----------------------------------------------------------------------------
def test_attaching_writes_the_file_its_entry_and_audit_together(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    [info] = att.list_attachments(repo.db, case_id)
    assert (info.id, info.name, info.media_type, info.size) == (
        attachment_id,
        "contract.pdf",
        "application/pdf",
        len(PDF),
    )
    assert info.author_name == "Sokha Counsellor" and not info.is_image
    assert not hasattr(info, "content")
    [entry] = [e for e in repo.entries(case_id) if e["kind"] == "document"]
    assert entry["payload"] == {
        "attachment": attachment_id,
        "name": "contract.pdf",
        "media_type": "application/pdf",
        "size": len(PDF),
    }
    assert [a["action"] for a in _audit(repo, case_id)][-1] == "add_document"


def test_reading_returns_the_same_bytes_and_is_audited(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    content = png_bytes(40, 30)
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "photo.png", content))
    assert att.read_attachment(repo, attachment_id) == content
    views = [a for a in _audit(repo, case_id) if a["action"] == "view_attachment"]
    assert [(v["field"], v["new_value"]) for v in views] == [("attachment", attachment_id)]


def test_a_failed_write_leaves_nothing_behind(
    repo: CaseRepository, case_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_audit(*args: object) -> None:
        raise sqlite.OperationalError("disk I/O error")

    monkeypatch.setattr(repo, "_audit", broken_audit)
    with pytest.raises(sqlite.OperationalError):
        add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    assert repo.db.execute("select count(*) from attachments").fetchone()[0] == 0
    assert [e["kind"] for e in repo.entries(case_id)] == []
    with pytest.raises(KeyError):
        add_attachment(repo, "no-such-case", write(tmp_path, "x.pdf", PDF))


def test_attachments_are_append_only(repo: CaseRepository, case_id: str, tmp_path: Path) -> None:
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    for sql in (
        "update attachments set name = 'other.pdf' where id = ?",
        "delete from attachments where id = ?",
    ):
        with pytest.raises(sqlite.IntegrityError, match="append-only"):
            repo.db.execute(sql, [attachment_id])
    assert att.read_attachment(repo, attachment_id) == PDF


def test_damaged_content_is_caught_by_its_hash(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    # Simulate damage below the application (the trigger forbids it in normal use).
    with repo.db.conn:
        repo.db.execute("drop trigger attachments_no_update")
        repo.db.execute(
            "update attachments set content = ? where id = ?", [PDF[:-2] + b"X\n", attachment_id]
        )
    with pytest.raises(AttachmentError) as caught:
        att.read_attachment(repo, attachment_id)
    assert caught.value.text() == (
        "The stored copy of contract.pdf is damaged: it does not match its checksum."
    )


def test_attachments_of_a_deleted_case_cannot_be_read(store, case_id: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin = create_user(store, DESK, "boss", "Boss", "admin", "pw-12345678", **MIN_COST)
    repo = CaseRepository(store, admin, DESK)
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    repo.delete_case(case_id)
    with pytest.raises(KeyError):
        att.read_attachment(repo, attachment_id)


def test_attached_content_is_encrypted_on_disk(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    files = [p for p in tmp_path.glob("cases.db*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert SECRET not in data and b"Test Worker Mala" not in data


def _audit(repo: CaseRepository, case_id: str) -> list[dict[str, str]]:
    rows = repo.db.execute(
        "select action, field, new_value from audit_log where case_id = ? order by at, id",
        [case_id],
    ).fetchall()
    return [dict(zip(("action", "field", "new_value"), r, strict=True)) for r in rows]


def test_payload_is_json_with_the_name_as_typed(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    add_attachment(repo, case_id, write(tmp_path, "ใบเสร็จ.png", png_bytes()))
    payload = repo.db.execute(
        "select payload from case_entries where kind = 'document'"
    ).fetchone()[0]
    assert json.loads(payload)["name"] == "ใบเสร็จ.png"
