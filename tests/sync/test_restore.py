"""A case store restored from a backup syncs again without losing or forking anything.

The story: desk a syncs, a backup is made while some of a's changes are still waiting (one
in a batch the hub has not acknowledged, one not yet in any batch). Desk a then goes on —
edits a case and syncs — and is lost. The backup is put back on a new laptop.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.hub.cli import desk_approve
from mrc_desktop.storage.encrypted import key_file
from mrc_desktop.sync.client import enrol
from mrc_desktop.sync.outbox import fill_outbox, pending
from mrc_desktop.sync.restore import RESTORED_NOTE, start_as_new_desk
from mrc_desktop.sync.state import NotEnrolledError, load_chain, load_state, require_identity
from tests.fast_keys import PASS
from tests.sync.desks import Desk, dump
from tests.sync.test_client import (
    HUB_URL,
    NO_WAIT,
    Hub,
    enrolled_desk,
    make_hub,
    new_case,
    sync,
)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with make_hub(tmp_path / "hub.db") as running:
        yield running


def backup_of(desk: Desk, folder: Path) -> Path:
    """A copy of the desk's store as a backup holds it (closed, whole, with its key file)."""
    desk.db.close()
    folder.mkdir()
    copy = folder / desk.path.name
    shutil.copy2(desk.path, copy)
    shutil.copy2(key_file(desk.path), key_file(copy))
    desk.reopen()
    return copy


def restored(copy: Path, desk: Desk, name: str) -> Desk:
    db = open_case_store(copy, PASS)
    repo = CaseRepository(db, desk.repo.user, desk.repo.desk_id)
    again = Desk(name, copy, db, repo, desk.wall_ms)
    again._attach_clock()
    return again


def ok(desk: Desk, hub: Hub) -> None:
    report = sync(desk, hub)
    assert report.ok, report.errors


def test_a_restored_store_becomes_a_new_desk_and_loses_nothing(tmp_path: Path, hub: Hub) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    old_desk = str(load_state(a.db).desk_id)
    kept = new_case(a, "Invented Worker Dara")
    ok(a, hub)
    ok(b, hub)
    unacked = new_case(a, "Invented Worker Sokha")
    fill_outbox(a.db, require_identity(a.db), old_desk)
    assert len(pending(a.db, old_desk)) == 1
    unbatched = new_case(a, "Invented Worker Kosal")
    naive_copy = backup_of(a, tmp_path / "backup-1")
    copy = backup_of(a, tmp_path / "backup-2")
    old_replica = a.id

    # After the backup, desk a goes on (an edit, everything sent) and is then lost.
    a.repo.update_case(kept, {"assignee": "after-backup"})
    ok(a, hub)
    a.db.close()

    # Put back as it was, the store would sign a batch number the hub already holds.
    naive = restored(naive_copy, a, "naive")
    naive.repo.update_case(kept, {"assignee": "naive"})
    report = sync(naive, hub)
    assert not report.ok and any("stored with other content" in e for e in report.errors)
    naive.db.close()

    # The restore proper (mrc restore runs this on the checked copy).
    a2 = restored(copy, a, "a2")
    assert start_as_new_desk(a2.db) == a2.id != old_replica
    state = load_state(a2.db)
    assert not state.enrolled and state.hub_url is not None
    assert state.desk_id != old_desk
    assert RESTORED_NOTE in (state.last_error or "")
    assert pending(a2.db, str(state.desk_id)) == []
    with pytest.raises(NotEnrolledError, match="no sync identity"):
        require_identity(a2.db)

    # Enrolled again as a new desk, it gets the old desk's later edit through the feed and
    # sends what the hub may never have received.
    first = enrol(a2.db, "unused", HUB_URL, transport=hub.transport, retry=NO_WAIT)
    assert first.desk_id == state.desk_id
    assert desk_approve(hub.storage, first.code, None) == 0
    enrol(a2.db, "unused", HUB_URL, code=first.code, transport=hub.transport)
    a2.repo.update_case(unacked, {"assignee": "after-restore"})
    ok(a2, hub)
    ok(b, hub)
    ok(a2, hub)
    assert dump(a2.db) == dump(b.db)
    assignees = dict(b.db.execute("select id, assignee from cases").fetchall())
    assert set(assignees) == {kept, unacked, unbatched}
    assert assignees[kept] == "after-backup" and assignees[unacked] == "after-restore"
    # The old desk's acknowledged batch was not taken again: only the later ones came.
    assert load_chain(a2.db)[old_desk].seq == 3


def test_changes_the_lost_desk_never_sent_go_from_the_restored_store(
    tmp_path: Path, hub: Hub
) -> None:
    a, b = enrolled_desk(tmp_path, "a", hub), enrolled_desk(tmp_path, "b", hub)
    old_desk = str(load_state(a.db).desk_id)
    sent = new_case(a, "Invented Worker Dara")
    ok(a, hub)
    unacked = new_case(a, "Invented Worker Sokha")
    a.repo.add_entry(sent, "note", {"text": "Called the employer."})
    fill_outbox(a.db, require_identity(a.db), old_desk)
    unbatched = new_case(a, "Invented Worker Kosal")
    copy = backup_of(a, tmp_path / "backup")
    a.db.close()  # lost before it synced again

    a2 = restored(copy, a, "a2")
    start_as_new_desk(a2.db)
    first = enrol(a2.db, "unused", HUB_URL, transport=hub.transport, retry=NO_WAIT)
    assert desk_approve(hub.storage, first.code, None) == 0
    enrol(a2.db, "unused", HUB_URL, code=first.code, transport=hub.transport)
    ok(a2, hub)
    ok(b, hub)
    assert {r[0] for r in b.db.execute("select id from cases")} == {sent, unacked, unbatched}
    assert [e["payload"] for e in b.repo.entries(sent)] == [{"text": "Called the employer."}]
    assert dump(a2.db) == dump(b.db)
