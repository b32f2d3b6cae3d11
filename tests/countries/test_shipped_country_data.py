"""Every shipped country profile and corridor passes the schema; the key corridors are there."""

from pathlib import Path

import pytest

from mrc_desktop.countries.loader import load_country_data, parse_corridor, parse_country
from mrc_desktop.i18n import LANGUAGES
from mrc_desktop.problems import ContentError
from mrc_desktop.storage.paths import content_dir

DESTINATIONS = (
    "MY",
    "TH",
    "SG",
    "SA",
    "AE",
    "QA",
    "KW",
    "BH",
    "OM",
    "JO",
    "LB",
    "KR",
    "JP",
    "HK",
    "TW",
)
ORIGINS = ("KH", "LA", "MM", "VN", "NP", "BD", "LK", "PH", "ID", "IN", "ET")


def test_all_shipped_files_pass_the_schema() -> None:
    data, problems = load_country_data(content_dir())
    assert [str(p) for p in problems] == []
    assert set(DESTINATIONS) | set(ORIGINS) <= set(data.countries)
    assert len(data.corridors) >= 25


def test_every_profile_has_names_in_all_languages_and_sourced_sections() -> None:
    data, _ = load_country_data(content_dir())
    for country in data.countries.values():
        assert set(LANGUAGES) <= set(country.names)
        assert len(country.ratifications) == 6
        assert country.ratifications_sourced.sources


def test_documented_corridors_exist() -> None:
    data, _ = load_country_data(content_dir())
    for key in ("NP-MY", "NP-SA", "BD-MY", "PH-HK", "ID-HK", "LK-SA", "MM-TH", "VN-JP", "KH-TH"):
        assert key in data.corridors, key


def write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_broken_files_name_file_and_line(tmp_path: Path) -> None:
    bad_toml = write(tmp_path / "XX.toml", 'code = "XX"\nrole = \n')
    with pytest.raises(ContentError) as err:
        parse_country(bad_toml)
    assert str(err.value.problems[0]).startswith(f"{bad_toml}:2: not valid TOML")
    profile = (content_dir() / "countries" / "MY.toml").read_text("utf-8")
    wrong = write(
        tmp_path / "MY.toml",
        profile.replace('currency = "MYR"', 'currency = "RMX"').replace(
            "as_of = 2025-07-22", "as_of = 2099-01-01"
        ),
    )
    with pytest.raises(ContentError) as err:
        parse_country(wrong)
    messages = [str(p) for p in err.value.problems]
    line = profile.splitlines().index('currency = "MYR"') + 1
    assert f"{wrong}:{line}: 'RMX' is not an ISO 4217 currency code" in messages
    assert any("is in the future" in m for m in messages)
    corridor = write(
        tmp_path / "NP-MY.toml",
        (content_dir() / "corridors" / "NP-MY.toml")
        .read_text("utf-8")
        .replace('kind = "cap_amount"', 'kind = "maybe"'),
    )
    with pytest.raises(ContentError) as err:
        parse_corridor(corridor)
    assert "'kind' must be one of" in str(err.value)


def test_a_broken_file_is_skipped_and_the_rest_load(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(content_dir() / "countries", root / "countries")
    shutil.copytree(content_dir() / "corridors", root / "corridors")
    write(root / "countries" / "MY.toml", "this is = not toml [")
    data, problems = load_country_data(root)
    assert "MY" not in data.countries and "NP" in data.countries
    assert any("MY.toml:1" in str(p) for p in problems)
