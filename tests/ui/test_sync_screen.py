"""The Sync screen against the real hub app (FastAPI's TestClient behind an httpx transport):
joining through the GUI, Sync now, Cancel, offline, background sync, USB, conflicts, and the
screen in Khmer and Arabic."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from mrc_desktop.hub.bundles import export_return_bundle, hub_relay, import_desk_bundle
from mrc_desktop.hub.certs import make_self_signed
from mrc_desktop.hub.cli import desk_approve, desk_revoke
from mrc_desktop.hub.content import publish_folder
from mrc_desktop.storage.paths import content_dir, shipped_content_dir
from mrc_desktop.sync.client import enrol, fingerprint_of_pem
from mrc_desktop.sync.content_install import ContentInfo, installed_content
from mrc_desktop.sync.content_pack import build_pack
from mrc_desktop.sync.outbox import fill_outbox, pending
from mrc_desktop.sync.state import load_state, require_identity
from mrc_desktop.ui.background import stop_all
from mrc_desktop.ui.cases.session import CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.sync import words
from mrc_desktop.ui.sync.jobs import CANCELLED, OFFLINE, OK, ImportOutcome, Network, SyncOutcome
from mrc_desktop.ui.sync.service import CONTENT, ENROL, EXPORT, IMPORT, SYNC, SyncService
from mrc_desktop.ui.sync.sync_screen import SyncScreen
from tests.sync.test_client import GIVEN, HUB_URL, NO_WAIT, Hub, enrolled_desk, make_hub, sync

JOB_MS = 30_000


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with make_hub(tmp_path / "hub.db") as running:
        yield running


@pytest.fixture
def screen(qtbot: QtBot, ctx: AppContext, case_session: CaseSession, hub: Hub) -> SyncScreen:
    service = ctx.sync_service()
    service.network = Network(transport=hub.transport, retry=NO_WAIT)
    widget = SyncScreen(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    return widget


def answer_question(accept: bool, seen: list[str]) -> None:
    """Answer the next modal question (as a person would, by clicking), noting its text."""

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        for button in box.findChildren(QPushButton):
            if (button.objectName() == "sync_question_yes") == accept and button.text():
                button.click()
                return

    QTimer.singleShot(0, click)


def run_job(qtbot: QtBot, service: SyncService, start: object, kind: str) -> object:
    """Start a job (``start()``) and wait for its result."""
    with qtbot.waitSignal(service.job_done, timeout=JOB_MS) as done:
        assert callable(start)
        start()
    assert done.args is not None and done.args[0] == kind
    return done.args[1]


def join(session: CaseSession, hub: Hub) -> str:
    """This desk enrolled and approved the way ``mrc enrol`` does it (for tests that start
    from a joined desk)."""
    assert session.db is not None
    first = enrol(session.db, session.desk_id, HUB_URL, transport=hub.transport, retry=NO_WAIT)
    assert desk_approve(hub.storage, first.code, None) == 0
    enrol(session.db, session.desk_id, HUB_URL, code=first.code, transport=hub.transport)
    return session.desk_id


def new_case(session: CaseSession, name: str = "Invented Worker Dara") -> str:
    return session.repo.create_case({"person_name": name, "consent": GIVEN})


def sync_now(qtbot: QtBot, screen: SyncScreen) -> SyncOutcome:
    button = screen.status.sync_button
    result = run_job(
        qtbot,
        screen.service,
        lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton),
        SYNC,
    )
    assert isinstance(result, SyncOutcome)
    return result


# --- joining ------------------------------------------------------------------------------


def test_joining_through_the_screen_then_check_again_after_the_admin_approves(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    assert screen.stack.currentWidget() is screen.enrol
    enrol_panel = screen.enrol
    qtbot.mouseClick(enrol_panel.join_button, Qt.MouseButton.LeftButton)
    assert enrol_panel.address_error.isVisible()
    assert "address" in enrol_panel.address_error.text()

    enrol_panel.address.setText(HUB_URL)
    enrol_panel.fingerprint.setText("not a fingerprint")
    qtbot.mouseClick(enrol_panel.join_button, Qt.MouseButton.LeftButton)
    assert enrol_panel.fingerprint_error.isVisible()
    assert "64 letters" in enrol_panel.fingerprint_error.text()
    enrol_panel.fingerprint.clear()

    asked: list[str] = []
    answer_question(True, asked)  # http:// off this computer: the screen asks first
    run_job(
        qtbot,
        screen.service,
        lambda: qtbot.mouseClick(enrol_panel.join_button, Qt.MouseButton.LeftButton),
        ENROL,
    )
    assert "http://" in asked[0]
    assert screen.stack.currentWidget() is screen.waiting
    assert case_session.db is not None
    code = load_state(case_session.db).enrol_code
    assert code and screen.waiting.code.text() == code
    assert hub.storage.desk_by_code(code) is not None  # the hub admin sees this code
    screen.waiting.copy_code()
    assert QApplication.clipboard().text() == code

    check = screen.waiting.check_button
    run_job(
        qtbot, screen.service, lambda: qtbot.mouseClick(check, Qt.MouseButton.LeftButton), ENROL
    )
    assert screen.stack.currentWidget() is screen.waiting
    assert "Not approved yet" in screen.waiting.message.text()

    assert desk_approve(hub.storage, code, None) == 0
    run_job(
        qtbot, screen.service, lambda: qtbot.mouseClick(check, Qt.MouseButton.LeftButton), ENROL
    )
    assert screen.stack.currentWidget() is screen.joined
    assert screen.status.values["hub"].text() == HUB_URL
    assert screen.status.values["centre"].text() == hub.centre
    assert screen.status.values["last"].text() == "Not yet"
    assert "not synced yet" in screen.status.headline.text()


def test_an_https_hub_shows_its_fingerprint_to_compare_before_joining(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    pem = make_self_signed(["hub.test"])[0].decode("ascii")
    fetched: list[str] = []

    def presented(url: str) -> str:
        fetched.append(url)
        return pem

    screen.service.network = Network(hub.transport, NO_WAIT, get_certificate=presented)
    panel = screen.enrol
    panel.address.setText("https://hub.test:8443/")
    asked: list[str] = []
    answer_question(False, asked)  # the fingerprints differ: the person says no
    qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked) and screen.service.job is None, timeout=JOB_MS)
    fingerprint = fingerprint_of_pem(pem)
    assert fingerprint in asked[0]
    assert "Not joined" in panel.message.text()
    assert case_session.db is not None and load_state(case_session.db).hub_url is None

    answer_question(True, asked)
    with qtbot.waitSignal(
        screen.service.job_done, timeout=JOB_MS, check_params_cb=lambda k, _r: k == ENROL
    ):
        qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
    state = load_state(case_session.db)
    assert (state.hub_url, state.tls_fingerprint) == ("https://hub.test:8443", fingerprint)
    assert state.tls_certificate == pem  # from now on the only certificate accepted
    assert screen.stack.currentWidget() is screen.waiting


def test_only_administrators_join_a_desk_to_a_hub(
    qtbot: QtBot, screen: SyncScreen, case_session: CaseSession
) -> None:
    case_session.new_user("sokha", "Sokha Chan", "counsellor", "counsellor-pass")
    case_session.lock()
    assert screen.stack.currentWidget() is screen.unlock  # the Cases screen's log-in
    assert case_session.db is not None
    user = case_session.check_login(case_session.db, "sokha", "counsellor-pass")
    case_session.log_in(user)
    assert screen.stack.currentWidget() is screen.enrol
    assert not screen.enrol.join_button.isEnabled()
    assert screen.enrol.admin_only.isVisible()


# --- syncing ------------------------------------------------------------------------------


def test_sync_now_sends_the_new_case_and_the_status_shows_it(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    desk_id = join(case_session, hub)
    new_case(case_session)
    screen.refresh()
    assert screen.stack.currentWidget() is screen.joined
    waiting = screen.status.values["waiting"].text()
    assert "changes not yet sent" in waiting

    outcome = sync_now(qtbot, screen)
    assert outcome.kind == OK and outcome.report.pushed_batches == 1
    stored = hub.storage.feed(hub.centre, 0, 10, None)
    assert [(i.origin, i.seq) for i in stored] == [(desk_id, 1)]
    assert screen.status.values["waiting"].text() == "Nothing: everything has reached the hub."
    assert "ago" in screen.status.values["last"].text()
    assert screen.status.headline.text().startswith("Connected.")
    sent = outcome.report.pushed_changes
    assert screen.status.result.text().startswith(f"Sent {sent} changes.")
    assert not screen.status.progress.isVisible() and screen.status.sync_button.isEnabled()


def test_syncs_share_one_worker_connection_that_closes_with_the_case_log(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Deriving the key takes seconds on a cheap laptop: only the first job pays it."""
    join(case_session, hub)
    screen.refresh()
    opened: list[object] = []
    real_open = case_session.open_store

    def counting_open(passphrase: str) -> object:
        db = real_open(passphrase)
        opened.append(db)
        return db

    monkeypatch.setattr(case_session, "open_store", counting_open)
    for _ in range(3):
        new_case(case_session)
        assert sync_now(qtbot, screen).kind == OK
    assert len(opened) == 1
    case_session.close()
    with pytest.raises(Exception, match="closed"):
        opened[0].execute("select 1")  # type: ignore[attr-defined]


def test_cancel_during_a_sync_stops_it_and_the_rest_goes_next_time(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    desk_id = join(case_session, hub)
    assert case_session.db is not None
    for n in range(3):  # three batches wait in the outbox
        new_case(case_session, f"Invented Worker {n}")
        fill_outbox(case_session.db, require_identity(case_session.db), desk_id)
    uploading, release = threading.Event(), threading.Event()

    def hold_first_upload(request: httpx.Request, n: int) -> str | None:
        if request.method == "PUT" and not uploading.is_set():
            uploading.set()
            release.wait(10)
        return None

    hub.fault = hold_first_upload
    status = screen.status
    with qtbot.waitSignal(screen.service.job_done, timeout=JOB_MS) as done:
        qtbot.mouseClick(status.sync_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(uploading.is_set, timeout=JOB_MS)
        assert status.progress.isVisible() and status.cancel_button.isVisible()
        assert not status.sync_button.isEnabled()  # one sync at a time
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
        release.set()
    outcome = done.args[1] if done.args else None
    assert isinstance(outcome, SyncOutcome) and outcome.kind == CANCELLED
    assert (outcome.report.pushed_batches, outcome.report.outbox_left) == (1, 2)
    assert "Sync cancelled" in status.headline.text()
    assert "not yet sent" in status.values["waiting"].text()

    hub.fault = lambda request, n: None
    assert sync_now(qtbot, screen).kind == OK
    assert [i.seq for i in hub.storage.feed(hub.centre, 0, 10, None)] == [1, 2, 3]
    assert pending(case_session.db, desk_id) == []


def test_quitting_during_a_sync_cancels_it_and_waits_for_it(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    """What the app does after its window closed (app.py: background.stop_all)."""
    desk_id = join(case_session, hub)
    assert case_session.db is not None
    for n in range(2):
        new_case(case_session, f"Invented Worker {n}")
        fill_outbox(case_session.db, require_identity(case_session.db), desk_id)
    uploading, release = threading.Event(), threading.Event()

    def hold_first_upload(request: httpx.Request, n: int) -> str | None:
        if request.method == "PUT" and not uploading.is_set():
            uploading.set()
            release.wait(10)
        return None

    hub.fault = hold_first_upload
    screen.refresh()
    qtbot.mouseClick(screen.status.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(uploading.is_set, timeout=JOB_MS)
    job = screen.service.job
    assert job is not None and job.isRunning()
    threading.Timer(0.2, release.set).start()  # the upload in flight comes back
    stop_all()
    assert job.isFinished() and job.cancelled()
    # The upload that was under way went through and was acknowledged; the rest waits.
    assert [i.seq for i in hub.storage.feed(hub.centre, 0, 10, None)] == [1]
    assert [b.seq for b in pending(case_session.db, desk_id)] == [2]


def test_an_unreachable_hub_is_a_calm_offline_state_and_the_next_try_backs_off(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, ctx: AppContext
) -> None:
    join(case_session, hub)
    new_case(case_session)
    hub.fault = lambda request, n: "before"  # nothing answers
    outcome = sync_now(qtbot, screen)
    assert outcome.kind == OFFLINE
    assert screen.status.headline.text() == words.offline()
    assert QApplication.activeModalWidget() is None  # no dialog
    assert "not yet sent" in screen.status.values["waiting"].text()
    service = screen.service
    interval = int(ctx.settings.get("sync_interval_minutes")) * 60_000
    assert service.failures == 1 and service.wait_ms() == 2 * interval
    assert service.timer.isActive() and abs(service.timer.remainingTime() - 2 * interval) < 5000
    auto = screen.status.values["auto"].text()
    assert "Last tried" in auto and "Next try in 30 minutes" in auto
    service.failures = 5
    assert service.wait_ms() == 60 * 60_000  # never more than an hour between tries

    hub.fault = lambda request, n: None
    assert sync_now(qtbot, screen).kind == OK
    assert service.failures == 0 and service.wait_ms() == interval


def test_the_background_timer_syncs_even_while_the_case_log_is_locked(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, ctx: AppContext
) -> None:
    desk_id = join(case_session, hub)
    new_case(case_session)
    case_session.lock()  # the key stays in memory; nothing personal is shown
    assert screen.stack.currentWidget() is screen.unlock
    service = screen.service
    with qtbot.waitSignal(service.job_done, timeout=JOB_MS) as done:
        service.schedule(after_ms=10)
    assert done.args is not None and done.args[0] == SYNC and service.background
    assert [i.origin for i in hub.storage.feed(hub.centre, 0, 10, None)] == [desk_id]
    assert service.timer.isActive()  # the next one is set

    ctx.settings.set("sync_interval_minutes", 0)
    ctx.events.settings_changed.emit()
    assert not service.timer.isActive() and service.next_try is None


def test_a_revoked_desk_is_told_so_and_may_join_again(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    desk_id = join(case_session, hub)
    screen.refresh()
    desk_revoke(hub.storage, desk_id)
    sync_now(qtbot, screen)
    assert screen.stack.currentWidget() is screen.enrol
    assert screen.enrol.revoked_note.isVisible()
    assert "no longer accepts this desk" in screen.enrol.revoked_note.text()
    assert screen.enrol.join_button.isEnabled()


def test_a_desk_clock_off_by_a_quarter_hour_is_warned(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession
) -> None:
    join(case_session, hub)
    screen.refresh()
    hub.date_offset_s = 15 * 60
    sync_now(qtbot, screen)
    warning = screen.status.clock_warning
    assert warning.isVisible()
    assert "15 minutes behind the hub's" in warning.text()


def test_a_case_edited_at_two_desks_is_counted_and_opens_the_filtered_case_list(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, tmp_path: Path,
    ctx: AppContext,
) -> None:  # fmt: skip
    join(case_session, hub)
    screen.refresh()
    case_id = new_case(case_session)
    sync_now(qtbot, screen)
    other = enrolled_desk(tmp_path, "b", hub)
    other.set_clock(int(time.time() * 1000))  # test desks start at a fixed time
    assert sync(other, hub).ok
    other.repo.update_case(case_id, {"status": "referred"})
    case_session.repo.update_case(case_id, {"status": "in_progress"})
    assert sync(other, hub).ok

    outcome = sync_now(qtbot, screen)
    assert outcome.new_conflict_cases == 1
    assert "1 case was edited at two desks" in screen.status.result.text()
    assert screen.status.values["conflicts"].text() == "1 case to review"
    asked: list[bool] = []
    ctx.events.show_conflicted_cases.connect(lambda: asked.append(True))
    qtbot.mouseClick(screen.status.conflicts_button, Qt.MouseButton.LeftButton)
    assert asked == [True]


# --- USB ----------------------------------------------------------------------------------


def test_usb_bundles_from_and_to_the_screen_go_through_the_hub(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, tmp_path: Path
) -> None:
    """Save a bundle on the stick, the hub imports it and writes a return bundle with another
    desk's case, the screen opens it: the case arrives and nothing waits any more."""
    desk_id = join(case_session, hub)
    other = enrolled_desk(tmp_path, "b", hub)
    other.set_clock(int(time.time() * 1000))
    from_b = other.repo.create_case({"person_name": "Invented Worker Sokha", "consent": GIVEN})
    assert sync(other, hub).ok
    new_case(case_session)
    screen.refresh()
    stick = tmp_path / "stick"
    stick.mkdir()
    usb = screen.usb
    made = run_job(qtbot, screen.service, lambda: usb.export_to(stick / "for-the-hub"), EXPORT)
    path = stick / "for-the-hub.mrcbundle"
    assert path.exists() and getattr(made, "path", None) == path
    assert usb.message.text().startswith("Saved ") and "for-the-hub.mrcbundle" in usb.message.text()
    assert "not yet sent" in screen.status.values["waiting"].text()  # until the hub confirms

    relay = hub_relay(hub.storage)
    receipt = import_desk_bundle(hub.storage, relay, path.read_bytes())
    assert (receipt.desk_id, receipt.stored, receipt.refused) == (desk_id, 1, None)
    back = export_return_bundle(hub.storage, relay, desk_id, stick / "back", receipt.has)
    assert back.batches == 1

    got = run_job(qtbot, screen.service, lambda: usb.import_from(back.path), IMPORT)
    assert isinstance(got, ImportOutcome) and got.done.acknowledged == 1
    assert case_session.repo.open_case(from_b)["person_name"] == "Invented Worker Sokha"
    assert "Received " in usb.message.text() and "The hub confirmed" in usb.message.text()
    assert screen.status.values["waiting"].text() == "Nothing: everything has reached the hub."
    assert case_session.db is not None and pending(case_session.db, desk_id) == []


def test_a_file_that_is_not_a_bundle_changes_nothing_and_says_why(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, tmp_path: Path
) -> None:
    join(case_session, hub)
    screen.refresh()
    junk = tmp_path / "holiday.mrcbundle"
    junk.write_bytes(b"not a bundle at all")
    assert case_session.db is not None
    before = load_state(case_session.db)
    with qtbot.waitSignal(screen.service.job_failed, timeout=JOB_MS) as failed:
        screen.usb.import_from(junk)
    assert failed.args is not None and failed.args[0] == IMPORT
    assert screen.usb.message.text().startswith("Nothing from this bundle was applied: ")
    assert load_state(case_session.db) == before


# --- content ------------------------------------------------------------------------------

MINI = ("en/keep-your-passport.md", "en/checking-an-agency.md", "countries/MY.toml")


def mini_content(word: str) -> dict[str, bytes]:
    """A few real content files, with ``word`` in the passport article."""
    files = {path: (shipped_content_dir() / path).read_bytes() for path in MINI}
    article = MINI[0]
    files[article] = files[article].replace(b"Your passport is yours.", word.encode())
    return files


def test_a_content_pack_from_a_file_installs_while_the_case_log_is_locked(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, tmp_path: Path
) -> None:
    join(case_session, hub)  # enrolment keeps the hub's key for checking packs
    case_session.lock()
    panel = screen.content
    assert panel.isVisible()  # content is public: no log-in needed
    assert "came with MRC Desk" in panel.in_use.text()
    pack = tmp_path / "content-2.mrcpack"
    when = "2026-11-20T08:00:00Z"
    pack.write_bytes(build_pack(mini_content("Zanzibarite."), hub.identity, 2, when))
    bad = tmp_path / "content-2-cut.mrcpack"
    bad.write_bytes(pack.read_bytes()[:-200])  # a copy cut short

    before = installed_content()
    with qtbot.waitSignal(screen.service.job_failed, timeout=JOB_MS):
        assert panel.install(bad)
    assert panel.message.text().startswith("This content update was not installed: ")
    assert installed_content() == before and content_dir() == before.root

    info = run_job(qtbot, screen.service, lambda: panel.install(pack), CONTENT)
    assert isinstance(info, ContentInfo) and (info.version, info.source) == (2, "pack")
    assert content_dir() == info.root
    assert b"Zanzibarite." in (content_dir() / MINI[0]).read_bytes()
    assert panel.message.text().startswith("Content version 2 is installed.")
    assert panel.in_use.text() == "Version 2, published by the hub on November 20, 2026."

    with qtbot.waitSignal(screen.service.job_failed, timeout=JOB_MS):
        assert panel.install(pack)  # the same version again
    assert "not installed" in panel.message.text() and installed_content().version == 2


def test_sync_now_brings_the_content_the_hub_published(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, tmp_path: Path
) -> None:
    join(case_session, hub)
    screen.refresh()
    folder = tmp_path / "content"
    shutil.copytree(shipped_content_dir(), folder)
    published = publish_folder(hub.storage, folder)
    outcome = sync_now(qtbot, screen)
    update = outcome.report.content
    assert update is not None and update.installed
    assert installed_content().version == published.version
    assert screen.content.message.text().startswith(
        f"Content version {published.version} is installed."
    )
    assert f"Version {published.version}, published by the hub" in screen.content.in_use.text()


# --- states and languages -----------------------------------------------------------------


def test_ctrl_7_opens_the_sync_screen_and_older_shortcuts_stay(
    qtbot: QtBot, ctx: AppContext
) -> None:
    from mrc_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # shortcuts need it
    shortcuts = {a.text(): a.shortcut().toString() for a in window.shortcut_actions()}
    assert shortcuts["Go to Sync"] == "Ctrl+7"
    assert (shortcuts["Go to Cases"], shortcuts["Go to Settings"]) == ("Ctrl+5", "Ctrl+6")
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "sync"
    screen = window.page("sync")
    assert isinstance(screen, SyncScreen) and screen.isVisible()
    # No case log on this desk yet: the screen points to the Cases screen, which makes it.
    assert screen.stack.currentWidget() is screen.set_up_first
    qtbot.mouseClick(screen.set_up_first.button, Qt.MouseButton.LeftButton)
    assert window.current_key() == "cases"


def test_without_a_case_log_the_screen_points_to_the_cases_screen(
    qtbot: QtBot, ctx: AppContext
) -> None:
    widget = SyncScreen(ctx)
    qtbot.addWidget(widget)
    widget.show()
    assert widget.stack.currentWidget() is widget.set_up_first
    assert widget.set_up_first.button.isVisible()


@pytest.mark.parametrize("code", ["km", "ar"])
def test_the_screen_follows_the_interface_language(
    qtbot: QtBot, screen: SyncScreen, hub: Hub, case_session: CaseSession, ctx: AppContext,
    code: str,
) -> None:  # fmt: skip
    join(case_session, hub)
    new_case(case_session)
    screen.refresh()
    ctx.languages.apply(code)
    screen.refresh()
    assert screen.isRightToLeft() == (code == "ar")
    assert screen.status.values["waiting"].text()
    assert screen.status.values["last"].text()
    sync_now(qtbot, screen)
    assert screen.status.result.text()
    ctx.languages.apply("en")
    assert screen.heading.text() == "Sync"


def test_the_sync_interval_setting_is_off_or_at_least_five_minutes(
    qtbot: QtBot, ctx: AppContext
) -> None:
    from mrc_desktop.ui.settings_screen import SettingsScreen

    settings_screen = SettingsScreen(ctx)
    qtbot.addWidget(settings_screen)
    spin = settings_screen.sync_spin
    assert spin.value() == 15
    spin.setValue(0)
    assert spin.text() == "Off"
    spin.stepUp()
    assert spin.value() == 5  # from off, one step up is five minutes
    spin.stepDown()
    assert spin.value() == 0
    spin.setValue(3)
    assert spin.value() == 5
    spin.setValue(60)
    assert settings_screen.save()
    assert ctx.settings.get("sync_interval_minutes") == 60
    with pytest.raises(ValueError):
        ctx.settings.set("sync_interval_minutes", 3)
