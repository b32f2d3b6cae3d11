"""Issue #6's "done when", as one story told with the real commands.

A hub on PostgreSQL served over HTTPS (``mrc-hub serve --tls``, a separate process); two
desks of Centre North and one of Centre South, each its own data folder and encrypted case
store. The North desks edit one case offline; one syncs over HTTPS, the other by USB bundle
carried to the hub. Both converge, both show the conflict, Centre South sees none of it. The
hub publishes a content pack: it arrives with ``mrc sync``; a tampered copy is refused and
the content in use stays as it was.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mrc_desktop.cases.repository import CaseRepository
from mrc_desktop.cases.schema import open_case_store
from mrc_desktop.cases.users import create_user, list_users
from mrc_desktop.cli import main as mrc
from mrc_desktop.hub.cli import main as hub_cli
from mrc_desktop.storage.desk_store import DeskStore
from mrc_desktop.storage.paths import app_paths, content_dir
from mrc_desktop.sync.merge import open_conflicts
from tests.fast_keys import MIN_COST, PASS
from tests.hub.conftest import throwaway_postgres_schema
from tests.sync.desks import dump
from tests.sync.test_client import GIVEN
from tests.sync.test_end_to_end import at, desk_home

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres_hub_db() -> Iterator[str]:
    with throwaway_postgres_schema("hub_done") as url:
        yield url


class DeskFolder:
    """One desk's data folder; every call points ``MRC_HOME`` at it first."""

    def __init__(self, root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.name = name
        self.monkeypatch = monkeypatch
        self.home = desk_home(root, name, monkeypatch)

    def run(self, *argv: str) -> int:
        at(self.home, self.monkeypatch)
        return mrc(list(argv))

    def repo(self) -> CaseRepository:
        at(self.home, self.monkeypatch)
        paths = app_paths()
        db = open_case_store(paths.cases_db, PASS)
        store = DeskStore(paths.desk_db)
        desk = store.desk_id()
        store.close()
        login = f"sup-{self.name}"
        known = [u for u in list_users(db) if u.username == login]
        user = (
            known[0]
            if known
            else create_user(db, desk, login, "Supervisor", "supervisor", "password123", **MIN_COST)
        )
        return CaseRepository(db, user, desk)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        repo = self.repo()
        try:
            return dump(repo.db)
        finally:
            repo.db.close()

    def conflicts(self) -> list[tuple[str, str, object, object]]:
        repo = self.repo()
        try:
            return sorted(
                (c.row_id, c.col, c.winner_value, c.loser_value) for c in open_conflicts(repo.db)
            )
        finally:
            repo.db.close()

    def names(self) -> set[str]:
        repo = self.repo()
        try:
            return {r[0] for r in repo.db.execute("select person_name from cases")}
        finally:
            repo.db.close()


def enrol(desk: DeskFolder, url: str, fingerprint: str, hub_db: str, centre: str,
          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert desk.run("enrol", "--hub", url, "--fingerprint", fingerprint) == 0
    code = re.search(r"enrolment code: (\S+)", capsys.readouterr().out)
    assert code, "no enrolment code printed"
    assert hub_cli(["desk", "approve", code[1], "--centre", centre, "--db", hub_db]) == 0
    assert desk.run("enrol", "--hub", url, "--code", code[1]) == 0
    assert "enrolled: this desk belongs to centre" in capsys.readouterr().out


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_two_centres_https_and_usb_converge_with_the_conflict_shown_and_content_updates(
    tmp_path: Path,
    postgres_hub_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.hub.test_serve import running_hub

    monkeypatch.setenv("MRC_PASSPHRASE", PASS)
    hub_db = postgres_hub_db
    for centre in ("Centre North", "Centre South"):
        assert hub_cli(["centre", "add", centre, "--db", hub_db]) == 0
    a, b, c = (DeskFolder(tmp_path, name, monkeypatch) for name in ("a", "b", "c"))
    capsys.readouterr()
    tls = ["--tls", "--tls-dir", str(tmp_path / "tls")]
    with running_hub(hub_db, *tls, scheme="https") as hub:
        printed = re.search(r"fingerprint: ([0-9A-F:]{95})", hub.printed())
        assert printed, hub.printed()
        for desk, centre in ((a, "Centre North"), (b, "Centre North"), (c, "Centre South")):
            enrol(desk, hub.base_url, printed[1], hub_db, centre, capsys)

        # A case typed at desk a reaches desk b over HTTPS.
        repo = a.repo()
        case_id = repo.create_case({"person_name": "Invented Worker Dara", "consent": GIVEN})
        repo.db.close()
        south_repo = c.repo()
        south_repo.create_case({"person_name": "Invented Worker Malee", "consent": GIVEN})
        south_repo.db.close()
        for desk in (a, b, c):
            assert desk.run("sync") == 0, capsys.readouterr().err
        assert b.names() == {"Invented Worker Dara"}

        # Offline, both North desks change the same field of that case.
        for desk, assignee in ((a, "sup-a"), (b, "sup-b")):
            repo = desk.repo()
            repo.update_case(case_id, {"assignee": assignee})
            repo.db.close()

        # Desk a syncs over HTTPS; desk b's changes go to the hub on a USB stick.
        assert a.run("sync") == 0, capsys.readouterr().err
        stick = tmp_path / "stick"
        stick.mkdir()
        assert b.run("sync", "export-bundle", str(stick / "b.mrcbundle")) == 0
        reply = stick / "b-reply.mrcbundle"
        assert hub_cli(["bundle", "import", str(stick / "b.mrcbundle"), "--reply", str(reply),
                        "--db", hub_db]) == 0  # fmt: skip
        assert b.run("sync", "import-bundle", str(reply)) == 0, capsys.readouterr().err
        assert a.run("sync") == 0, capsys.readouterr().err
        capsys.readouterr()

        # Converged: the same synced tables at both North desks, the conflict shown at both.
        assert a.dump() == b.dump()
        shown = a.conflicts()
        assert shown == b.conflicts()
        assert [(row, col) for row, col, _w, _l in shown] == [(case_id, "assignee")]
        assert {shown[0][2], shown[0][3]} == {"sup-a", "sup-b"}
        # Centre South never sees North's cases, nor North the South's.
        assert c.run("sync") == 0
        assert c.names() == {"Invented Worker Malee"}
        assert a.names() == b.names() == {"Invented Worker Dara"}

        # A content update: published at the hub, it arrives with the next sync.
        shipped = content_dir()
        update = tmp_path / "content-update"
        shutil.copytree(shipped, update)
        article = next(update.glob("en/**/*.md"))
        article.write_text(
            article.read_text(encoding="utf-8") + "\nInvented update sentence quokka.\n",
            encoding="utf-8",
        )
        assert hub_cli(["content", "publish", str(update), "--db", hub_db]) == 0
        assert a.run("sync") == 0, capsys.readouterr().err
        at(a.home, monkeypatch)
        installed = content_dir()
        assert installed != shipped
        assert "quokka" in (installed / article.relative_to(update)).read_text(encoding="utf-8")
        assert a.run("content", "status") == 0
        assert "version 1" in capsys.readouterr().out

    # A tampered pack on a USB stick is refused; the content in use stays as it was.
    packs = sorted(installed.parent.glob("*"))
    assert packs
    before = tree_digest(installed)
    pack = tmp_path / "pack.mrcpack"
    assert hub_cli(["content", "export", "--version", "1", str(pack), "--db", hub_db]) == 0
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.mrcpack"
    tampered.write_bytes(bytes(data))
    capsys.readouterr()
    assert a.run("content", "install", str(tampered)) == 1
    assert capsys.readouterr().err.strip()
    at(a.home, monkeypatch)
    assert content_dir() == installed
    assert tree_digest(installed) == before
