"""Whole programs as a user starts them: `mrc` and the desktop app (offscreen)."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from mrc_desktop import __version__
from mrc_desktop.app import SHOWN_MARKER
from mrc_desktop.i18n import LANGUAGES


def run(*args: str, env_home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MRC_HOME": str(env_home), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def set_up_desk(home: Path, language: str = "km") -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    values = {"first_run_done": True, "centre_name": "MRC", "language": language}
    (home / "config" / "settings.json").write_text(json.dumps({"version": 1, "values": values}))


def test_mrc_version(mrc_home: Path) -> None:
    result = run("-m", "mrc_desktop.cli", "--version", env_home=mrc_home)
    assert result.stdout.strip() == f"mrc {__version__}"


def test_doctor_reports_sqlite_fonts_and_complete_locales(mrc_home: Path) -> None:
    result = run("-m", "mrc_desktop.cli", "doctor", "--json", env_home=mrc_home)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["paths"]["data"].startswith(str(mrc_home))
    assert report["sqlite"]["trigram"] and report["sqlite"]["two_char_non_ascii_like"]
    assert report["qt"]["fonts_missing"] == []
    assert [loc["code"] for loc in report["locales"]] == list(LANGUAGES)
    for loc in report["locales"]:
        assert loc["translated"] == loc["total"] > 0 and loc["compiled"], loc
    text = run("-m", "mrc_desktop.cli", "doctor", env_home=mrc_home).stdout
    assert "trigram tokenizer yes" in text and "Noto Sans Khmer" in text


def test_app_starts_to_the_main_window_and_quits(mrc_home: Path) -> None:
    set_up_desk(mrc_home)
    result = run("-m", "mrc_desktop", "--quit-after-show", env_home=mrc_home)
    assert result.returncode == 0, result.stderr
    assert SHOWN_MARKER in result.stdout
    assert (mrc_home / "data" / "desk.db").exists()
    assert "starting MRC Desk" in (mrc_home / "logs" / "mrc-desk.log").read_text("utf-8")


def test_corrupt_settings_still_start(mrc_home: Path) -> None:
    (mrc_home / "config").mkdir(parents=True)
    (mrc_home / "config" / "settings.json").write_bytes(b"\x00garbage{")
    result = run("-m", "mrc_desktop", "--quit-after-show", env_home=mrc_home)
    # Defaults mean the first-run wizard is due, which start-up checks report as exit 1.
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert list((mrc_home / "config").glob("settings.json.corrupt-*"))


def test_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("-m", "mrc_desktop", "--quit-after-show", env_home=blocker / "home")
    assert result.returncode == 2
    assert str(blocker) in result.stderr and "Traceback" not in result.stderr


def test_desk_db_from_a_newer_app_is_refused_clearly(mrc_home: Path) -> None:
    set_up_desk(mrc_home, language="en")
    assert run("-m", "mrc_desktop", "--quit-after-show", env_home=mrc_home).returncode == 0
    db = mrc_home / "data" / "desk.db"
    conn = sqlite3.connect(db)
    conn.execute(
        "insert into _sqlite_migrations (migration_set, name, applied_at) "
        "values ('mrc_desktop.desk', '0042_later', 'x')"
    )
    conn.commit()
    conn.close()
    result = run("-m", "mrc_desktop", "--quit-after-show", env_home=mrc_home)
    assert result.returncode == 3
    assert "newer version" in result.stderr and str(db) in result.stderr
