"""A stolen copy of the data folder reveals nothing: no name, phone or narrative in its bytes.

Cases are written through the repository with distinctive invented markers (Latin,
Khmer and Arabic names, a phone number, a narrative sentence, a note, an attachment),
then the bytes of ``cases.db``, its WAL and shared-memory files and an encrypted backup
are searched for each marker in UTF-8 and UTF-16. The same search on an unencrypted
copy of the store finds them, so the scan itself is shown to work.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mrc_desktop.cases.repository import CaseRepository, now
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.storage.encrypted import export_encrypted, open_encrypted
from mrc_desktop.storage.ids import uuid7
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000dd"
# Invented people and words: distinctive enough that no random bytes contain them.
MARKERS = {
    "latin name": "Zorvath Quillingham",
    "khmer name": "ស្រីពៅវណ្ណធា ហេងសំណាង",
    "arabic name": "زينبعاطي حسينور",
    "phone": "+855 97 314 1592",
    "narrative": "Overseer Brandtwick locked the passports in the lychee orchard office.",
    "note": "Called the Vexmoor Poultry manager about the withheld wages.",
    "employer": "Pellucid Harbor Rubber Co., Ltd.",
    "attachment": "Payslip of Quillingham: deductions 4,310 for the dormitory",
}


def needles() -> dict[str, bytes]:
    found = {}
    for label, text in MARKERS.items():
        found[f"{label} (UTF-8)"] = text.encode("utf-8")
        found[f"{label} (UTF-16)"] = text.encode("utf-16-le")
    return found


def leaks(files: list[Path]) -> list[str]:
    """Which markers appear, in which file."""
    hits = []
    for file in files:
        data = file.read_bytes()
        hits += [f"{label} in {file.name}" for label, needle in needles().items() if needle in data]
    return hits


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A store holding the markers, still open (so its WAL holds the latest writes)."""
    db = open_case_store(tmp_path / "data" / "cases.db", PASS, create=True, params=FAST)
    user = create_user(db, DESK, "sokha", "Sokha", "counsellor", "password123", **MIN_COST)
    repo = CaseRepository(db, user, DESK)
    for name in ("latin name", "khmer name", "arabic name"):
        case_id = repo.create_case(
            {
                "person_name": MARKERS[name],
                "phone": MARKERS["phone"],
                "messaging": f"WhatsApp {MARKERS['phone']}",
                "employer": MARKERS["employer"],
                "narrative": f"{MARKERS['narrative']} She was not paid for two months.",
            }
        )
        repo.add_entry(case_id, "note", {"text": MARKERS["note"]})
    content = f"%PDF-1.4 {MARKERS['attachment']} %%EOF".encode()
    with db.atomic():
        db.execute(
            "insert into attachments (id, case_id, name, media_type, size, sha256, content,"
            " created_at, origin_desk, author) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                uuid7(),
                case_id,
                "payslip.pdf",
                "application/pdf",
                len(content),
                hashlib.sha256(content).hexdigest(),
                content,
                now(),
                DESK,
                user.id,
            ],
        )
    yield db
    db.close()


def test_the_store_its_wal_and_a_backup_hold_no_personal_data(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    wal, shm = data / "cases.db-wal", data / "cases.db-shm"
    assert wal.exists() and wal.stat().st_size > 0, "the test needs a WAL with the writes"
    backup = tmp_path / "backups" / "cases-2026-11-23.db"
    backup.parent.mkdir()
    export_encrypted(store, backup, PASS, FAST)
    files = [data / "cases.db", wal, shm, *backup.parent.iterdir(), *data.iterdir()]
    assert backup.stat().st_size > 0 and shm.exists()
    assert leaks(files) == []
    # The data is all there, and readable with the passphrase, in the store and the backup.
    copy = open_encrypted(backup, PASS)
    assert copy.execute("select count(*) from cases").fetchone()[0] == 3
    assert copy.execute("select count(*) from attachments").fetchone()[0] == 1
    copy.close()
    names = {r[0] for r in store.execute("select person_name from cases").fetchall()}
    assert MARKERS["khmer name"] in names
    blob = store.execute("select content from attachments").fetchone()[0]
    assert MARKERS["attachment"].encode() in blob


def test_the_scan_finds_the_same_data_in_an_unencrypted_copy(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain = tmp_path / "plain.db"
    store.execute("attach database ? as plain key ''", [str(plain)])
    try:
        store.execute("select sqlcipher_export('plain')")
    finally:
        store.execute("detach database plain")
    found = leaks([plain])
    for label in MARKERS:
        assert f"{label} (UTF-8) in plain.db" in found
