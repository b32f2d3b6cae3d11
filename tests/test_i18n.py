"""Catalogs: complete, consistent with the code, and only offered when present."""

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from mrc_desktop import i18n
from mrc_desktop.storage.paths import locales_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import i18n as catalog_tool  # noqa: E402


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != "en"])
def test_catalog_is_complete_and_passes_msgfmt_check(code: str) -> None:
    assert catalog_tool.catalog_problems(code) == []


def test_the_template_matches_the_code(tmp_path: Path) -> None:
    """A string marked in the code but missing from the .pot (or the reverse) fails here."""
    pot = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "pgettext:1c,2",
            "-o",
            str(pot),
            "mrc_desktop",
        ],
        check=True,
        cwd=ROOT,
    )

    def ids(path: Path) -> set[tuple[str, str | None]]:
        with path.open("rb") as fh:
            return {(str(m.id), m.context) for m in read_po(fh) if m.id}

    assert ids(pot) == ids(ROOT / "locales" / "mrc_desktop.pot")


def test_every_catalog_declares_its_review_status() -> None:
    for info in i18n.available_languages(locales_dir()):
        assert info.status in {"source", "draft", "reviewed"}
    assert len(i18n.available_languages(locales_dir())) == len(i18n.LANGUAGES)


def test_a_language_without_a_catalog_is_not_offered(tmp_path: Path) -> None:
    copy = tmp_path / "locales"
    shutil.copytree(locales_dir(), copy)
    i18n.mo_path(copy, "si").unlink()
    i18n.mo_path(copy, "am").write_bytes(b"garbage")
    offered = [c.code for c in i18n.available_languages(copy)]
    assert "si" not in offered and "am" not in offered and "km" in offered


def test_unknown_language_falls_back_to_english(english: None) -> None:
    assert i18n.set_language("xx", locales_dir()) == "en"
    assert i18n._("Settings") == "Settings"


def test_dates_follow_the_language(english: None) -> None:
    day = dt.date(2026, 11, 23)
    assert "November" in i18n.format_date(day, "long", "en")
    assert "พฤศจิกายน" in i18n.format_date(day, "long", "th")
    assert i18n.with_digits("23 2026", "०") == "२३ २०२६"


def test_autonyms_are_in_their_own_script() -> None:
    assert i18n.language_autonym("km") == "ខ្មែរ"
    assert i18n.language_autonym("ar") == "العربية"
    assert i18n.is_rtl("ar") and not i18n.is_rtl("my")


@pytest.mark.parametrize("code", i18n.LANGUAGES)
def test_autonym_table_agrees_with_cldr(code: str) -> None:
    from babel import Locale

    name = Locale.parse(code).get_display_name(code)
    assert name is not None
    assert i18n.AUTONYMS[code] == name[:1].upper() + name[1:]


def test_mo_header_reader_agrees_with_gettext() -> None:
    import gettext

    for info in i18n.available_languages(locales_dir())[1:]:
        assert info.mo_path is not None
        with info.mo_path.open("rb") as fh:
            expected = gettext.GNUTranslations(fh).info()
        assert i18n.read_mo_header(info.mo_path) == expected


def test_no_marked_string_hides_inside_an_f_string() -> None:
    """Babel's extractor cannot see into f-strings; a string marked there is never translated."""
    import ast

    markers = {"_", "N_", "ngettext", "pgettext"}
    found = []
    for path in sorted((ROOT / "mrc_desktop").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.Call)
                        and isinstance(inner.func, ast.Name)
                        and inner.func.id in markers
                        and inner.args
                        and isinstance(inner.args[0], ast.Constant)
                    ):
                        found.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert found == []
