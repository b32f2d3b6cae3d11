import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from mrc_desktop.settings import (
    DECLARED,
    centre_name_problem,
    load_settings,
)


def test_every_setting_is_declared_with_type_default_and_description() -> None:
    for spec in DECLARED:
        assert isinstance(spec.default, spec.type)
        assert spec.description


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings, problem = load_settings(tmp_path / "settings.json")
    assert problem is None
    assert settings.get("language") == "en"
    assert settings.get("first_run_done") is False


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings, _ = load_settings(path)
    settings.set("language", "km")
    settings.set("centre_name", "Centre ស្រុក")
    settings.save()
    again, problem = load_settings(path)
    assert problem is None
    assert again.get("language") == "km"
    assert again.get("centre_name") == "Centre ស្រុក"
    assert json.loads(path.read_text("utf-8"))["version"] == 1


def test_wrong_type_is_refused_on_set(tmp_path: Path) -> None:
    settings, _ = load_settings(tmp_path / "s.json")
    with pytest.raises(ValueError, match="first_run_done"):
        settings.set("first_run_done", "yes")
    with pytest.raises(ValueError, match="language"):
        settings.set("language", "xx")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b"[]", b'{"values": 3}'])
def test_corrupt_file_gives_defaults_and_keeps_the_old_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    settings, problem = load_settings(path)
    assert problem is not None and problem.kind == "corrupt"
    assert settings.get("language") == "en"
    assert problem.moved_to is not None and problem.moved_to.read_bytes() == content
    settings.save()  # the app can write a fresh file after that
    assert load_settings(path)[1] is None


def test_bad_values_are_reset_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    values = {"language": "klingon", "centre_name": "Kept", "first_run_done": 1, "future": 5}
    path.write_text(json.dumps({"version": 1, "values": values}), "utf-8")
    settings, problem = load_settings(path)
    assert problem is not None and set(problem.keys) == {"language", "first_run_done"}
    assert settings.get("centre_name") == "Kept"
    assert settings.get("language") == "en"


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings, _ = load_settings(path)
    settings.save()
    settings.save()
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("MRC Phnom Penh", True),
        ("  ", False),
        ("", False),
        ("x" * 121, False),
        ("x" * 120, True),
        ("Centre\u202ecraM", False),  # right-to-left override hides the real text
        ("Line\nbreak", False),
        ("مركز عمان", True),
    ],
)
def test_centre_name_validation(name: str, ok: bool) -> None:
    assert (centre_name_problem(name) is None) is ok


# No deadline: each example writes a file, which is slow when the machine is busy.
@hypothesis_settings(deadline=None)
@given(st.text(min_size=1, max_size=120).filter(lambda t: centre_name_problem(t) is None))
def test_any_valid_centre_name_survives_a_round_trip(name: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.json"
        settings, _ = load_settings(path)
        settings.set("centre_name", name)
        settings.save()
        assert load_settings(path)[0].get("centre_name") == name
