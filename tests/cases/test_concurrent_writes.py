"""A save waits for another connection's write (the daily backup, the mrc command)
instead of failing with "database is locked"."""

import threading
import time
from pathlib import Path

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user
from tests.fast_keys import FAST, MIN_COST, PASS

DESK = "0190f0a0-0000-7000-8000-0000000000dd"


def test_a_save_waits_for_a_write_on_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    db = open_case_store(path, PASS, create=True, params=FAST)
    user = create_user(db, DESK, "mina", "Mina", "counsellor", "password123", **MIN_COST)
    repo = CaseRepository(db, user, DESK)
    repo.create_case({"person_name": "Invented First"})
    other = open_case_store(path, PASS)
    other.conn.execute("begin immediate")
    other.execute(
        "insert into audit_log (id, at, user_id, action, origin_desk)"
        " values ('x1', '2026-01-01', 'system', 'backup', ?)",
        [DESK],
    )

    def finish_later() -> None:
        time.sleep(0.4)
        other.conn.commit()

    releaser = threading.Thread(target=finish_later)
    releaser.start()
    started = time.monotonic()
    case_id = repo.create_case({"person_name": "Invented Second"})  # reads, then writes
    waited = time.monotonic() - started
    releaser.join()
    assert repo.open_case_header(case_id)["reference"].endswith("-00002")
    assert waited >= 0.3  # it waited for the other writer rather than failing
    other.close()
    db.close()
