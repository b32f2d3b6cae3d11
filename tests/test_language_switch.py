"""Switching the interface language at runtime: every visible string follows, Arabic mirrors."""

import gettext

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QListWidget, QWidget
from pytestqt.qtbot import QtBot

from mrc_desktop import i18n
from mrc_desktop.storage.paths import locales_dir
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import native_zero, show_number
from mrc_desktop.ui.main_window import MainWindow


def english_ids(code: str) -> set[str]:
    """English msgids whose translation in ``code`` differs from the English."""
    with i18n.mo_path(locales_dir(), code).open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    return {
        msgid.split("\x04")[-1]
        for msgid, text in catalog._catalog.items()  # type: ignore[attr-defined]
        if isinstance(msgid, str) and msgid and text != msgid.split("\x04")[-1]
    }


def visible_texts(root: QWidget) -> list[str]:
    texts: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        if isinstance(widget, QGroupBox):
            texts.append(widget.title())
        if isinstance(widget, QListWidget):
            texts += [widget.item(r).text() for r in range(widget.count())]
    if isinstance(root, MainWindow):
        texts += [a.text() for a in root.menuBar().actions()]
    return [t for t in texts if t]


@pytest.fixture
def window(qtbot: QtBot, ctx: AppContext) -> MainWindow:
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != "en"])
def test_switching_leaves_no_english_on_screen(window: MainWindow, code: str) -> None:
    leftovers = english_ids(code)
    for key in ("home", "settings"):
        window.show_screen(key)
        window.switch_language(code)
        shown = visible_texts(window)
        assert [t for t in shown if t in leftovers] == []
        window.switch_language("en")
        assert any(t in leftovers for t in visible_texts(window))


def test_arabic_mirrors_the_layout_and_back(qtbot: QtBot, window: MainWindow) -> None:
    window.switch_language("ar")
    assert window.layoutDirection() == Qt.LayoutDirection.RightToLeft
    qtbot.waitUntil(
        lambda: (
            window.sidebar.mapTo(window, window.sidebar.rect().topLeft()).x() > window.width() / 2
        )
    )
    window.switch_language("km")
    assert window.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_language_choice_is_saved(window: MainWindow, ctx: AppContext) -> None:
    window.switch_language("th")
    assert ctx.settings.get("language") == "th"
    assert '"language": "th"' in ctx.paths.settings_file.read_text("utf-8")
    assert window.language_actions["th"].isChecked()


def test_draft_translations_are_marked(window: MainWindow) -> None:
    window.switch_language("km")
    draft_word = i18n._("{language} — draft translation").format(language="")
    assert draft_word.strip() and draft_word.strip() in window.status_label.text()


@pytest.mark.parametrize(("code", "zero"), [("my", "၀"), ("ne", "०"), ("bn", "০"), ("ar", "٠")])
def test_native_digits_where_expected(ctx: AppContext, code: str, zero: str) -> None:
    assert native_zero(code) == zero
    assert zero in show_number(2026, code).replace("٬", "")


@pytest.mark.parametrize("code", ["en", "km", "th", "vi", "fil", "id"])
def test_latin_digits_elsewhere(ctx: AppContext, code: str) -> None:
    assert native_zero(code) == "0"
    assert "2" in show_number(2026, code)
