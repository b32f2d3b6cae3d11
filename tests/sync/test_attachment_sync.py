"""Files travel in parts: desk A → hub → desk B byte for byte, shown as still arriving while
a cut transfer has brought only some parts, and files an earlier release kept back (too
large for one batch) reach the other desks after the upgrade."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mrc_desktop.cases import attachments as att
from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import ATTACHMENT_PART_BYTES, open_case_store
from mrc_desktop.cases.users import create_user
from mrc_desktop.hub.cli import desk_approve
from mrc_desktop.storage.database import write_transaction
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync import capture, outbox
from mrc_desktop.sync.batches import GENESIS, MAX_BATCH_BYTES, seal_batch, sign_batch
from mrc_desktop.sync.changes import Change
from mrc_desktop.sync.client import SyncReport, enrol
from mrc_desktop.sync.keys import new_identity
from mrc_desktop.sync.merge import apply_changes
from mrc_desktop.sync_commands import _print_report
from tests.cases.test_attachments import previous_release_store
from tests.fast_keys import MIN_COST, PASS
from tests.sync.desks import Desk, open_desk
from tests.sync.test_client import GIVEN, HUB_URL, NO_WAIT, Hub, enrolled_desk, make_hub, sync

PART = 192 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with make_hub(tmp_path / "hub.db") as running:
        yield running


def synced(desk: Desk, hub: Hub, **options: Any) -> SyncReport:
    report = sync(desk, hub, **options)
    assert report.ok, report.errors
    return report


def attach(desk: Desk, case_id: str, folder: Path, size: int, name: str = "scan.pdf") -> bytes:
    """Attach an incompressible PDF-typed file of ``size`` bytes (a scan or photo)."""
    content = b"%PDF-1.7\n" + os.urandom(size - 9)
    path = folder / name
    path.write_bytes(content)
    att.add_attachment(desk.repo, case_id, path)
    return content


def files(desk: Desk) -> list[tuple[Any, ...]]:
    """The synced file tables as a desk holds them."""
    return [
        *desk.db.execute("select * from attachments order by id").fetchall(),
        *desk.db.execute("select * from attachment_parts order by id").fetchall(),
    ]


def test_a_3_mb_file_reaches_the_other_desk_and_a_cut_transfer_shows_it_arriving(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    case_id = a.repo.create_case({"person_name": "Invented Worker Dara", "consent": GIVEN})
    content = attach(a, case_id, tmp_path, 3 * 1024 * 1024)

    # The upload is cut after eight batches: the hub holds the case, the file and some parts.
    puts: list[int] = []

    def cut_uploads(request: httpx.Request, n: int) -> str | None:
        if request.method == "PUT":
            puts.append(n)
            return "before" if len(puts) > 8 else None
        return None

    hub.fault = cut_uploads
    started = time.perf_counter()
    assert not sync(a, hub).ok
    hub.fault = lambda request, n: None
    synced(b, hub)
    [info] = att.list_attachments(b.db, case_id)
    assert not info.complete and 0 < info.parts_received < 16
    assert info.size == len(content) and info.received < len(content)
    with pytest.raises(att.AttachmentError, match="still arriving"):
        att.read_attachment(b.repo, info.id)

    pushed = synced(a, hub).pushed_batches
    assert 8 + pushed <= 16 + 2  # a part per batch, and one or two for the rest
    # The pull is cut part way too: some more parts arrive, the file is still not whole.
    pages: list[int] = []

    def cut_feed(request: httpx.Request, n: int) -> str | None:
        if request.url.path == "/v1/feed":
            pages.append(n)
            return "before" if len(pages) > 3 else None
        return None

    hub.fault = cut_feed
    assert not sync(b, hub, feed_page=1).ok
    [partly] = att.list_attachments(b.db, case_id)
    assert info.parts_received < partly.parts_received < 16 and not partly.complete
    hub.fault = lambda request, n: None
    synced(b, hub)
    elapsed = time.perf_counter() - started

    [whole] = att.list_attachments(b.db, case_id)
    assert (whole.complete, whole.received, whole.parts_received) == (True, len(content), 16)
    assert att.read_attachment(b.repo, whole.id) == content
    assert files(a) == files(b)
    assert b.db.execute("select count(*) from sync_pending").fetchone()[0] == 0
    assert b.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert hub.storage.alerts() == []
    assert elapsed < 30, f"a 3 MB file took {elapsed:.1f} s from desk to desk"


def test_parts_of_a_case_without_consent_stay_until_consent_is_given(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    private = a.repo.create_case({"person_name": "Invented Worker Sokha", "consent": {}})
    content = attach(a, private, tmp_path, 500_000)
    assert synced(a, hub).held_cases == 1
    feed = b"".join(item.data for item in hub.storage.feed(hub.centre, 0, 100, None))
    assert private.encode() not in feed and feed == b""  # no part went without consent

    a.repo.update_case(private, {"consent": GIVEN})
    synced(a, hub)
    synced(b, hub)
    [info] = att.list_attachments(b.db, private)
    assert att.read_attachment(b.repo, info.id) == content


def test_parts_that_arrive_before_their_file_wait_for_it(tmp_path: Path) -> None:
    a, b = open_desk(tmp_path, "a"), open_desk(tmp_path, "b")
    case_id = a.repo.create_case({"person_name": "Invented Worker Dara"})
    content = attach(a, case_id, tmp_path, 700_000)
    changes = capture.changes_since(a.db, {})
    parts = [c for c in changes if c.tbl == "attachment_parts"]
    apply_changes(b.db, parts)
    assert b.db.execute("select count(*) from attachment_parts").fetchone()[0] == 0
    assert b.db.execute("select count(*) from sync_pending").fetchone()[0] > 0
    apply_changes(b.db, [c for c in changes if c.tbl != "attachment_parts"])
    [info] = att.list_attachments(b.db, case_id)
    assert info.complete and att.read_attachment(b.repo, info.id) == content
    assert b.db.execute("select count(*) from sync_pending").fetchone()[0] == 0


def old_style_file(desk: Desk, case_id: str, content: bytes) -> str:
    """A file stored as the previous release stored it: the bytes in ``attachments.content``
    (one captured change)."""
    file_id = uuid7()
    with write_transaction(desk.db):
        desk.db.execute(
            "insert into attachments (id, case_id, name, media_type, size, sha256, content,"
            " created_at, origin_desk, author) values (?, ?, 'old.pdf', 'application/pdf', ?,"
            " ?, ?, '2026-01-02T03:04:05+00:00', ?, ?)",
            [
                file_id,
                case_id,
                len(content),
                hashlib.sha256(content).hexdigest(),
                content,
                desk.repo.desk_id,
                desk.repo.user.id,
            ],
        )
    return file_id


def test_a_file_an_earlier_release_kept_back_reaches_the_other_desk(
    tmp_path: Path, hub: Hub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    case_id = a.repo.create_case({"person_name": "Invented Worker Dara", "consent": GIVEN})
    content = b"%PDF-1.7\n" + os.urandom(600_000)
    file_id = old_style_file(a, case_id, content)
    a.repo.add_entry(case_id, "note", {"text": "Scanned the contract."})

    # The previous release did not move files into parts: its outbox left this one in
    # sync_deferred and sent the rest; b holds the file's row waiting for its content.
    with monkeypatch.context() as old:
        old.setattr(outbox, "_files_into_parts", lambda db, changes: (changes, 0))
        assert synced(a, hub).deferred == 1
    synced(b, hub)
    assert att.list_attachments(b.db, case_id) == []
    assert (
        b.db.execute("select count(*) from sync_pending where tbl = 'attachments'").fetchone()[0]
        > 0
    )

    report = synced(a, hub)
    assert report.deferred == 0
    assert a.db.execute("select count(*) from sync_deferred").fetchone()[0] == 0
    _print_report(report, 0)
    assert "too large" not in capsys.readouterr().err  # mrc sync warns of nothing
    synced(b, hub)
    [info] = att.list_attachments(b.db, case_id)
    assert info.id == file_id and info.parts_received == 4
    assert att.read_attachment(b.repo, file_id) == content
    assert att.read_attachment(a.repo, file_id) == content
    assert files(a) == files(b)
    assert b.db.execute("select count(*) from sync_pending").fetchone()[0] == 0


def test_a_store_from_the_previous_release_sends_its_files_after_the_upgrade(
    tmp_path: Path, hub: Hub
) -> None:
    """Files attached before the upgrade (one small, one of 3 MB), never synced, in a case
    whose consent to sync is given only after the upgrade."""
    old_files = {"small.pdf": b"%PDF-1.4\n% invented\n%%EOF\n", "scan.pdf": os.urandom(3_000_000)}
    path = tmp_path / "a.db"
    case_id = previous_release_store(path, old_files)
    db = open_case_store(path, PASS)
    me = capture.replica_id(db)
    user = create_user(db, me, "sup-a", "Supervisor a", "supervisor", "password123", **MIN_COST)
    now_ms = time.time_ns() // 1_000_000  # the old store's changes carry the real clock
    a = Desk("a", path, db, CaseRepository(db, user, me), wall_ms=now_ms)
    a._attach_clock()
    first = enrol(a.db, uuid7(), HUB_URL, transport=hub.transport, retry=NO_WAIT)
    assert desk_approve(hub.storage, first.code, None) == 0
    enrol(a.db, str(first.desk_id), HUB_URL, code=first.code, transport=hub.transport)
    b = enrolled_desk(tmp_path, "b", hub)
    b.set_clock(now_ms)

    assert synced(a, hub).held_cases == 1  # no consent to sync recorded before
    a.repo.update_case(case_id, {"consent": GIVEN})
    assert synced(a, hub).held_cases == 0
    synced(b, hub)
    infos = {i.name: i for i in att.list_attachments(b.db, case_id)}
    assert set(infos) == set(old_files) and all(i.complete for i in infos.values())
    for name, content in old_files.items():
        assert att.read_attachment(b.repo, infos[name].id) == content
        assert att.read_attachment(a.repo, infos[name].id) == content
    # The small one went as it was stored; the large one moved into parts to travel.
    assert (infos["small.pdf"].parts_received, infos["scan.pdf"].parts_received) == (0, 16)
    assert files(a) == files(b)


def test_a_part_that_does_not_compress_fits_a_batch_with_its_cases_consent() -> None:
    replica = uuid7()
    hlc = f"1790000000000-00000-{replica}"
    part = Change(hlc, replica, "attachment_parts", uuid7(), "content", os.urandom(PART))
    consent = Change(hlc, replica, "cases", uuid7(), "consent", '{"sync": {"given": true}}')
    desk, hub = new_identity(), new_identity()
    signed = sign_batch(desk, "d" * 64, 1, GENESIS, [consent.to_json(), part.to_json()])
    sealed = seal_batch(desk, hub.public, signed.raw)
    assert ATTACHMENT_PART_BYTES == PART
    assert len(sealed) < 0.8 * MAX_BATCH_BYTES  # ~195 KiB of 256
