"""Attachments: type by content, size limits without reading, clean names, encrypted,
append-only, audited, and checked against their SHA-256 when read."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlite_utils import Migrations

from mrc_desktop.cases import attachments as att
from mrc_desktop.cases import schema
from mrc_desktop.cases.attachments import AttachmentError, add_attachment, prepare_file
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.storage.encrypted import open_encrypted
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


# -- parts ---------------------------------------------------------------------------------
PART = 192 * 1024


def big_pdf(size: int) -> bytes:
    """A PDF header and random bytes: does not compress, like a scan or photo."""
    return b"%PDF-1.7\n" + os.urandom(size - 9)


def test_a_5_mb_file_is_stored_in_27_parts_and_reads_back_the_same(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    content = big_pdf(5 * 1024 * 1024)
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "scan.pdf", content))
    parts = repo.db.execute(
        "select idx, length(content), case_id from attachment_parts where attachment_id = ?"
        " order by idx",
        [attachment_id],
    ).fetchall()
    assert [p[0] for p in parts] == list(range(27))
    assert max(p[1] for p in parts) == PART and sum(p[1] for p in parts) == len(content)
    assert {p[2] for p in parts} == {case_id}
    stored = repo.db.execute("select content from attachments where id = ?", [attachment_id])
    assert stored.fetchone()[0] == b""  # the bytes are only in the parts
    [info] = att.list_attachments(repo.db, case_id)
    assert (info.complete, info.received, info.parts_received) == (True, len(content), 27)
    assert att.read_attachment(repo, attachment_id) == content


def test_a_damaged_part_is_caught_and_no_bytes_are_returned(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    content = big_pdf(600_000)
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "scan.pdf", content))
    with repo.db.conn:  # damage below the application (the trigger forbids it in normal use)
        repo.db.execute("drop trigger attachment_parts_no_update")
        repo.db.execute(
            "update attachment_parts set content = zeroblob(length(content))"
            " where attachment_id = ? and idx = 1",
            [attachment_id],
        )
    views = len([a for a in _audit(repo, case_id) if a["action"] == "view_attachment"])
    with pytest.raises(AttachmentError) as caught:
        att.read_attachment(repo, attachment_id)
    assert caught.value.text() == (
        "The stored copy of scan.pdf is damaged: it does not match its checksum."
    )
    assert len([a for a in _audit(repo, case_id) if a["action"] == "view_attachment"]) == views


def test_a_file_missing_a_part_is_still_arriving_and_cannot_be_opened(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    content = big_pdf(600_000)  # 4 parts
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "scan.pdf", content))
    with repo.db.conn:  # as at a desk that has received the row and some of its parts
        repo.db.execute("drop trigger attachment_parts_no_delete")
        repo.db.execute(
            "delete from attachment_parts where attachment_id = ? and idx = 2", [attachment_id]
        )
    [info] = att.list_attachments(repo.db, case_id)
    assert not info.complete and info.parts_received == 3
    assert info.received == len(content) - PART
    with pytest.raises(AttachmentError, match="still arriving") as caught:
        att.read_attachment(repo, attachment_id)
    assert caught.value.text() == "The file scan.pdf could not be read."


def test_parts_are_append_only_and_belong_to_their_files_case(
    repo: CaseRepository, case_id: str, tmp_path: Path
) -> None:
    attachment_id = add_attachment(repo, case_id, write(tmp_path, "contract.pdf", PDF))
    other_case = repo.create_case({"person_name": "Test Worker Kosal"})
    for sql in (
        "update attachment_parts set content = x'00' where attachment_id = ?",
        "delete from attachment_parts where attachment_id = ?",
    ):
        with pytest.raises(sqlite.IntegrityError, match="append-only"):
            repo.db.execute(sql, [attachment_id])
    with pytest.raises(sqlite.IntegrityError, match="another case"):
        repo.db.execute(
            "insert into attachment_parts (id, attachment_id, case_id, idx, content, created_at,"
            " origin_desk) values ('p', ?, ?, 1, x'00', '', '')",
            [attachment_id, other_case],
        )
    # Emptying a file's content is allowed only once its parts hold every byte: a file in
    # parts already has nothing to empty, so this is refused like any other change.
    with pytest.raises(sqlite.IntegrityError, match="append-only"):
        repo.db.execute("update attachments set content = x'' where id = ?", [attachment_id])
    repo.db.conn.rollback()
    assert att.read_attachment(repo, attachment_id) == PDF


# -- a store from the previous release -------------------------------------------------------
def previous_release_store(path: Path, files: dict[str, bytes]) -> str:
    """A store as the previous release left it (migrations 0001-0005): files in
    ``attachments.content``, captured into the oplog by 0004's triggers. Returns the case id."""
    old = Migrations("mrc_desktop.cases")
    for name, step in (
        ("0001_core", schema._m0001),
        ("0002_attachments_drafts", schema._m0002),
        ("0003_list_indexes", schema._m0003),
        ("0004_change_capture", schema._m0004),
        ("0005_sync_state", schema._m0005),
    ):
        old(name=name)(step)
    db = open_encrypted(path, PASS, create=True, params=FAST)
    old.apply(db)
    user = create_user(db, DESK, "old", "Old User", "counsellor", "password123", **MIN_COST)
    case_id = "0190f0a0-0000-7000-8000-000000000001"
    with db.conn:
        db.execute(
            "insert into cases (id, created_at, updated_at, origin_desk, created_by, reference,"
            " person_name) values (?, '2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05+00:00',"
            " ?, ?, 'OLD-2026-00001', 'Invented Old Case')",
            [case_id, DESK, user.id],
        )
        for n, (name, content) in enumerate(files.items()):
            db.execute(
                "insert into attachments (id, case_id, name, media_type, size, sha256, content,"
                " created_at, origin_desk, author) values (?, ?, ?, 'application/pdf', ?, ?, ?,"
                " ?, ?, ?)",
                [
                    f"0190f0a0-0000-7000-8000-00000000010{n}",
                    case_id,
                    name,
                    len(content),
                    hashlib.sha256(content).hexdigest(),
                    content,
                    f"2026-01-02T03:04:0{n}+00:00",
                    DESK,
                    user.id,
                ],
            )
    db.close()
    return case_id


def test_files_of_the_previous_release_read_back_the_same_after_the_upgrade(
    tmp_path: Path,
) -> None:
    files = {"small.pdf": PDF, "scan.pdf": big_pdf(3 * 1024 * 1024)}
    path = tmp_path / "cases.db"
    case_id = previous_release_store(path, files)
    db = open_encrypted(path, PASS)
    oplog_before = db.execute("select * from oplog order by tbl, row_id, col, hlc").fetchall()
    db.close()

    db = open_case_store(path, PASS)
    assert "0006_attachment_parts" in [m.name for m in schema.migrations.applied(db)]
    assert db.execute("select * from oplog order by tbl, row_id, col, hlc").fetchall() == (
        oplog_before
    )  # nothing already captured (and perhaps sent) changes
    assert db.execute("select count(*) from attachment_parts").fetchone()[0] == 0
    user = create_user(db, DESK, "new", "New User", "counsellor", "password123", **MIN_COST)
    repo = CaseRepository(db, user, DESK)
    infos = att.list_attachments(db, case_id)
    assert [(i.name, i.complete, i.parts_received) for i in infos] == [
        ("small.pdf", True, 0),
        ("scan.pdf", True, 0),
    ]
    for info in infos:
        assert att.read_attachment(repo, info.id) == files[info.name]
    added = add_attachment(repo, case_id, write(tmp_path, "new.pdf", files["scan.pdf"]))
    assert (
        db.execute(
            "select count(*) from attachment_parts where attachment_id = ?", [added]
        ).fetchone()[0]
        == 16
    )
    assert att.read_attachment(repo, added) == files["scan.pdf"]
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    db.close()


def test_an_old_file_moves_into_parts_only_whole(tmp_path: Path) -> None:
    """``move_into_parts`` (the outbox's, for an old file too large to send): the bytes
    read back the same, the content change becomes the empty blob under its timestamp, and
    the database refuses to empty a file's content unless its parts hold every byte."""
    content = big_pdf(1_000_000)
    path = tmp_path / "cases.db"
    case_id = previous_release_store(path, {"scan.pdf": content})
    db = open_case_store(path, PASS)
    user = create_user(db, DESK, "new", "New User", "counsellor", "password123", **MIN_COST)
    repo = CaseRepository(db, user, DESK)
    [info] = att.list_attachments(db, case_id)
    with pytest.raises(sqlite.IntegrityError, match="append-only"):
        db.execute("update attachments set content = x'' where id = ?", [info.id])
    db.conn.rollback()
    hlc = db.execute(
        "select hlc from oplog where tbl = 'attachments' and row_id = ? and col = 'content'",
        [info.id],
    ).fetchone()[0]
    with db.conn:
        assert att.move_into_parts(db, info.id) == 6
        assert att.move_into_parts(db, info.id) == 0  # in parts already
    assert db.execute(
        "select hlc, value from oplog where tbl = 'attachments' and row_id = ? and col = 'content'",
        [info.id],
    ).fetchall() == [(hlc, b"")]
    parts = db.execute(
        "select count(*) from oplog where tbl = 'attachment_parts' and col = 'content'"
    ).fetchone()[0]
    assert parts == 6
    assert att.read_attachment(repo, info.id) == content
    db.close()
