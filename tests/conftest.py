"""Test set-up: offscreen Qt, a private MRC_HOME for every test, compiled catalogs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before any Qt import: tests never open real windows.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["QT_LOGGING_RULES"] = "qt.text.font.db.info=false"

ROOT = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the catalogs if a .po is newer than its .mo (the set-up command also does this)."""
    stale = [
        po
        for po in (ROOT / "locales").glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n.py"), "compile"], check=True)


@pytest.fixture(autouse=True)
def mrc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test can touch the real home: every path resolves below a temp dir."""
    home = tmp_path / "mrc-home"
    monkeypatch.setenv("MRC_HOME", str(home))
    return home


@pytest.fixture
def english() -> Iterator[None]:
    """Leave the process-wide language as English after the test."""
    from mrc_desktop import i18n
    from mrc_desktop.storage.paths import locales_dir

    yield
    i18n.set_language("en", locales_dir())


@pytest.fixture
def ctx(qapp):  # type: ignore[no-untyped-def]
    """A desk that has been set up: settings, desk store, language switcher (English)."""
    from mrc_desktop.settings import load_settings
    from mrc_desktop.storage.desk_store import DeskStore
    from mrc_desktop.storage.paths import app_paths, ensure_writable
    from mrc_desktop.typefaces import register_fonts
    from mrc_desktop.ui.context import AppContext, AppEvents, LanguageSwitcher

    paths = app_paths()
    ensure_writable(paths)
    settings, _problem = load_settings(paths.settings_file)
    settings.set("centre_name", "Test Centre")
    settings.set("centre_country", "KH")
    settings.set("first_run_done", True)
    settings.save()
    register_fonts()
    store = DeskStore(paths.desk_db)
    switcher = LanguageSwitcher(qapp)
    switcher.apply("en")
    yield AppContext(paths, settings, store.start_run(), switcher, AppEvents(), store)
    # Let Qt delete this test's closed windows before their store goes away.
    from PySide6.QtCore import QCoreApplication, QEvent

    from mrc_desktop.ui.library_loader import stop_all

    stop_all()

    for widget in qapp.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    switcher.apply("en")
    store.close()


@pytest.fixture
def case_session(ctx):  # type: ignore[no-untyped-def]
    """An unlocked case log (cheap Argon2id) with an administrator 'admin' logged in."""
    from mrc_desktop.ui.cases.session import CaseSession
    from tests.fast_keys import FAST, MIN_COST, PASS

    session = CaseSession(ctx.paths, ctx.desk.desk_id, key_params=FAST, password_cost=MIN_COST)
    ctx.cases = session
    db = session.create_store(PASS)
    admin = session.create_admin(db, "admin", "Test Admin", "admin-password")
    session.attach(db, PASS)
    session.log_in(admin)
    yield session
    session.close()
