from pathlib import Path

import pytest

from mrc_desktop.storage.paths import DataDirError, app_paths, ensure_writable


def test_mrc_home_moves_every_folder(mrc_home: Path) -> None:
    paths = app_paths()
    for folder in (paths.data, paths.config, paths.cache, paths.logs):
        assert folder.is_relative_to(mrc_home)
    assert paths.settings_file.parent == paths.config


def test_without_mrc_home_paths_are_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = app_paths(env={"HOME": "/home/someone"})
    assert "mrc-desktop" in str(paths.data)


def test_ensure_writable_creates_folders(mrc_home: Path) -> None:
    paths = app_paths()
    ensure_writable(paths)
    assert paths.data.is_dir() and paths.logs.is_dir()


def test_unwritable_data_dir_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MRC_HOME", str(blocker / "home"))
    with pytest.raises(DataDirError) as err:
        ensure_writable(app_paths())
    assert str(blocker) in str(err.value.path)
