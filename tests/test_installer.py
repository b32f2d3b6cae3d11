"""The PyInstaller bundle builds, stays within its size target and starts to the main window."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_bundle_builds_and_starts(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "build_installer.py"),
            "--dist",
            str(tmp_path / "dist"),
            "--work",
            str(tmp_path / "work"),
            "--smoke-test",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test: mrc-desk: main window shown" in result.stdout
    assert "within the 250 MB target" in result.stdout
    bundle = tmp_path / "dist" / "mrc-desktop" / "_internal"
    assert (bundle / "mrc_desktop" / "fonts" / "OFL.txt").is_file()
    assert (bundle / "mrc_desktop" / "fonts" / "NotoSansKhmer-Regular.ttf").is_file()
    assert (bundle / "locales" / "ar" / "LC_MESSAGES" / "mrc_desktop.mo").is_file()
    assert not list(bundle.rglob("libQt6Quick*")), "QML/Quick should be left out"
