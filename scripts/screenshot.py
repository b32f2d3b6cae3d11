"""Render MRC Desk screens to PNG files (for docs/ and for looking at changes).

    python scripts/screenshot.py --lang km --screen home --out docs/main-window-km.png
    python scripts/screenshot.py --lang ar --wizard --out docs/first-run-ar.png
    python scripts/screenshot.py --lang ar --screen sync --sync-view joined --out docs/sync-ar.png

Runs with a throwaway MRC_HOME; use it under xvfb-run for a real X window.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="en")
    parser.add_argument("--screen", default="home")
    parser.add_argument("--wizard", action="store_true")
    parser.add_argument("--centre", default="Migrant Worker Resource Centre, Phnom Penh")
    parser.add_argument("--country", default="KH")
    parser.add_argument("--size", default="1100x700")
    parser.add_argument("--article", help="library: open this article (slug)")
    parser.add_argument("--worker-lang", help="library: the worker's language")
    parser.add_argument("--side-by-side", metavar="LANG", help="library: second language")
    parser.add_argument("--search", help="library: type this into the search box")
    parser.add_argument("--corridor", help="countries/fees: ORIGIN-DESTINATION, e.g. NP-MY")
    parser.add_argument(
        "--fee-example",
        action="store_true",
        help="fees: fill in the Nepal → Malaysia example and check it",
    )
    parser.add_argument("--explain-lang", help="fees: language of the explanation")
    parser.add_argument(
        "--demo-cases",
        type=int,
        default=0,
        metavar="N",
        help="cases: make a case log with N invented cases, log in and open one",
    )
    parser.add_argument(
        "--case-view",
        choices=("case", "intake", "new", "locked", "agencies", "audit", "conflict"),
        default="case",
        help="cases: what to show on the right",
    )
    parser.add_argument(
        "--sync-view",
        choices=("enrol", "waiting", "joined", "offline", "locked"),
        help="sync: a case log joined to an in-process hub (invented cases), in this state",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mrc-shot-"))
    os.environ["MRC_HOME"] = str(home)
    (home / "config").mkdir(parents=True)
    values = {
        "language": args.lang,
        "centre_name": args.centre,
        "centre_country": args.country,
        "first_run_done": not args.wizard,
    }
    (home / "config" / "settings.json").write_text(
        json.dumps({"version": 1, "values": values}), encoding="utf-8"
    )

    from PySide6.QtWidgets import QApplication, QWidget

    from mrc_desktop.settings import load_settings
    from mrc_desktop.storage.desk_store import DeskStore
    from mrc_desktop.storage.paths import app_paths, ensure_writable
    from mrc_desktop.typefaces import register_fonts
    from mrc_desktop.ui.context import AppContext, AppEvents, LanguageSwitcher
    from mrc_desktop.ui.first_run import FirstRunWizard
    from mrc_desktop.ui.main_window import MainWindow
    from mrc_desktop.ui.style import apply_style

    app = QApplication(sys.argv[:1])
    paths = app_paths()
    ensure_writable(paths)
    settings, _problem = load_settings(paths.settings_file)
    register_fonts()
    apply_style(app)
    switcher = LanguageSwitcher(app)
    switcher.apply(args.lang)
    width, height = (int(v) for v in args.size.split("x"))
    widget: QWidget
    hub: contextlib.ExitStack | None = None
    if args.wizard:
        wizard = FirstRunWizard(settings, switcher)
        if args.screen == "centre":
            wizard.show()
            wizard.next()
        widget = wizard
    else:
        store = DeskStore(paths.desk_db)
        desk = store.start_run()
        window = MainWindow(AppContext(paths, settings, desk, switcher, AppEvents(), store))
        window.show_screen(args.screen)
        widget = window
        if args.screen == "library":
            _drive_library(window.page("library"), args)
        if args.screen in ("countries", "fees") and args.corridor:
            _drive_countries(window.page(args.screen), args)
        if args.screen == "cases" and args.demo_cases:
            window.show_screen("home")
            _demo_cases(window, args)
            window.show_screen("cases")
        if args.screen == "sync" and args.sync_view:
            window.show_screen("home")
            hub = _demo_sync(window, args)
            window.show_screen("sync")
    widget.resize(width, height)
    widget.show()
    for _ in range(5):
        app.processEvents()
    widget.grab().save(args.out)
    if hub is not None:
        hub.close()
    print(args.out)
    return 0


def _demo_sync(window: object, args: argparse.Namespace) -> contextlib.ExitStack:
    """A case log with invented cases, joined to a hub app running in this process (no
    network): the Sync screen in the state ``--sync-view`` names."""
    import random
    import time
    import warnings

    import httpx
    import nacl.pwhash
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import case_data
    from mrc_desktop.hub.app import create_app
    from mrc_desktop.hub.cli import desk_approve
    from mrc_desktop.hub.storage import open_storage
    from mrc_desktop.storage.encrypted import KeyParams
    from mrc_desktop.sync.client import RetryPolicy, enrol
    from mrc_desktop.ui.main_window import MainWindow
    from mrc_desktop.ui.sync.jobs import Network

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    assert isinstance(window, MainWindow)
    stack = contextlib.ExitStack()
    session = window.ctx.case_session()
    session._key_params = KeyParams.new(
        nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN
    )
    db = session.create_store("demo passphrase for screenshots")
    admin = session.create_admin(db, "sokha", "Sokha Chan", "demo-password")
    session.attach(db, "demo passphrase for screenshots")
    session.log_in(admin)
    rng = random.Random(7)
    for _ in range(12):
        session.repo.create_case(case_data.intake(rng, []))
    if args.sync_view == "locked":
        session.lock()
    if args.sync_view in ("enrol", "locked"):
        return stack
    storage = open_storage(str(Path(os.environ["MRC_HOME"]) / "hub.db"))
    stack.callback(storage.close)
    storage.add_centre("Network hub, Phnom Penh")
    client = stack.enter_context(TestClient(create_app(storage)))
    offline = {"now": False}

    def handle(request: httpx.Request) -> httpx.Response:
        if offline["now"]:
            raise httpx.ConnectError("no route to host", request=request)
        answer = client.request(
            request.method,
            request.url.raw_path.decode("ascii"),
            content=request.read(),
            headers=dict(request.headers),
        )
        headers = {k: v for k, v in answer.headers.items() if k != "content-length"}
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)

    url = "http://192.168.1.20:8443"
    network = Network(httpx.MockTransport(handle), RetryPolicy(attempts=1))
    service = window.ctx.sync_service()
    service.network = network
    first = enrol(db, session.desk_id, url, transport=network.transport, retry=network.retry)
    if args.sync_view == "waiting":
        return stack
    desk_approve(storage, first.code, None)
    enrol(db, session.desk_id, url, code=first.code, transport=network.transport)

    def sync_and_wait() -> None:
        service.sync_now()
        while service.job is not None:
            QApplication.processEvents()
            time.sleep(0.02)

    sync_and_wait()
    for _ in range(2):
        session.repo.create_case(case_data.intake(rng, []))
    session.cases_changed.emit("")
    if args.sync_view == "offline":
        offline["now"] = True
        sync_and_wait()
    return stack


def _demo_cases(window: object, args: argparse.Namespace) -> None:
    """An invented case log (bench/case_data.py): no real person's data."""
    import datetime as dt
    import random

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import nacl.pwhash

    from bench import case_data
    from mrc_desktop.cases import workflow
    from mrc_desktop.cases.agencies import add_agency
    from mrc_desktop.storage.encrypted import KeyParams
    from mrc_desktop.ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    session = window.ctx.case_session()
    session._key_params = KeyParams.new(
        nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN
    )
    db = session.create_store("demo passphrase for screenshots")
    admin = session.create_admin(db, "sokha", "Sokha Chan", "demo-password")
    session.attach(db, "demo passphrase for screenshots")
    session.log_in(admin)
    rng = random.Random(7)
    repo = session.repo
    agencies: list[tuple[str, str]] = []
    for agency in case_data.invented_agencies(rng, 5):
        agency_id = add_agency(repo, {**agency, "licence_status": "valid"})
        agencies.append((agency_id, agency["name"]))
    case_ids = [repo.create_case(case_data.intake(rng, agencies)) for _ in range(args.demo_cases)]
    case_id = case_ids[-1]
    repo.update_case(case_id, {"destination_country": "TH", "origin_country": "KH"})
    workflow.add_note(repo, case_id, "Met the worker with her sister. She wants her passport back.")
    workflow.refer(
        repo,
        case_id,
        "labour_office",
        "1546 hotline, Department of Labour Protection and Welfare",
        dt.date.today().isoformat(),
        "Unpaid wages for three months; passport kept by the employer.",
    )
    workflow.set_follow_up(repo, case_id, dt.date.today().isoformat(), "Call the worker back")
    session.cases_changed.emit("")
    workspace = window.page("cases").workspace  # type: ignore[attr-defined]
    workspace.apply_filters()
    if args.case_view == "case":
        workspace.open_case(case_id)
    elif args.case_view == "conflict":
        _demo_conflict(session, case_id)
        workspace.apply_filters()
        workspace.open_case(case_id)
    elif args.case_view == "intake":
        workspace.open_case(case_id)
        workspace.edit_case(case_id)
    elif args.case_view == "new":
        workspace.new_case()
    elif args.case_view == "agencies":
        workspace.show_agencies()
    elif args.case_view == "audit":
        workspace.show_audit()
    elif args.case_view == "locked":
        session.lock()


def _demo_conflict(session: object, case_id: str) -> None:
    """The case edited at a second, invented desk while this one changed it too; then the
    two sync (changes_since + apply_changes, as a sync does): "edited at two desks"."""
    import time

    import nacl.pwhash

    from mrc_desktop.cases.repository import CaseRepository
    from mrc_desktop.cases.schema import open_case_store
    from mrc_desktop.cases.users import create_user
    from mrc_desktop.storage.encrypted import KeyParams
    from mrc_desktop.sync.capture import changes_since, cursors, replica_id
    from mrc_desktop.sync.merge import apply_changes
    from mrc_desktop.ui.cases.session import CaseSession

    assert isinstance(session, CaseSession) and session.db is not None
    cost = {"ops": nacl.pwhash.argon2id.OPSLIMIT_MIN, "mem": nacl.pwhash.argon2id.MEMLIMIT_MIN}
    params = KeyParams.new(cost["ops"], cost["mem"])
    path = session.paths.cases_db.with_name("other-desk.db")
    other = open_case_store(path, "another demo passphrase", create=True, params=params)
    user = create_user(other, replica_id(other), "dara", "Dara Keo", "counsellor",
                       "demo-password", **cost)  # fmt: skip
    there = CaseRepository(other, user, replica_id(other))
    here = session.db
    apply_changes(other, changes_since(here, cursors(other)))
    session.repo.update_case(case_id, {"status": "awaiting_response", "phone": "+855 12 555 014"})
    time.sleep(0.01)
    there.update_case(case_id, {"status": "in_progress", "phone": "+855 97 555 0140"})
    apply_changes(other, changes_since(here, cursors(other)))
    apply_changes(here, changes_since(other, cursors(here)))
    other.close()
    session.cases_changed.emit(case_id)


def _drive_countries(screen: object, args: argparse.Namespace) -> None:
    from mrc_desktop.ui.countries_screen import CountriesScreen
    from mrc_desktop.ui.fee_checker_screen import FeeCheckerScreen

    origin, destination = args.corridor.split("-")
    if isinstance(screen, CountriesScreen):
        screen.select(origin, destination)
        return
    assert isinstance(screen, FeeCheckerScreen)
    screen.origin.setCurrentIndex(screen.origin.findData(origin))
    screen.destination.setCurrentIndex(screen.destination.findData(destination))
    if args.explain_lang:
        screen.explain_lang.setCurrentIndex(screen.explain_lang.findData(args.explain_lang))
    if args.fee_example:
        screen.wage.setText("1700")
        screen.table.removeRow(0)
        screen.add_item("recruitment_fee", "150000", "NPR", "2025-03-01", "agency", False)
        screen.add_item("ticket", "45000", "NPR", "2025-03-10", "agency", True)
        screen.add_item("visa", "20000", "NPR", "", "agency", True)
        screen.add_item("medical", "5000", "NPR", "", "clinic", True)
        screen.run_check()


def _drive_library(library: object, args: argparse.Namespace) -> None:
    from mrc_desktop.ui.library_screen import LibraryScreen

    assert isinstance(library, LibraryScreen)
    library.wait_loaded()
    from PySide6.QtWidgets import QApplication

    for _ in range(20):
        QApplication.processEvents()
    if args.worker_lang:
        library.worker_lang.setCurrentIndex(library.worker_lang.findData(args.worker_lang))
    if args.side_by_side:
        library.side_by_side.setChecked(True)
        library.counsellor_lang.setCurrentIndex(library.counsellor_lang.findData(args.side_by_side))
    if args.article:
        library.open_article(args.article)
    if args.search:
        library.search_box.setText(args.search)
        library.run_search()


if __name__ == "__main__":
    raise SystemExit(main())
