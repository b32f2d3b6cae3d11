"""The app shell as a person meets it: sidebar, screens, menus, About, shortcuts, geometry."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextBrowser
from pytestqt.qtbot import QtBot

from mrc_desktop import __version__
from mrc_desktop.ui.about_dialog import AboutDialog
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.main_window import MainWindow
from mrc_desktop.ui.screens import registered_screens
from mrc_desktop.ui.settings_screen import SettingsScreen
from mrc_desktop.ui.shortcuts_dialog import ShortcutsDialog


@pytest.fixture
def window(qtbot: QtBot, ctx: AppContext) -> MainWindow:
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_sidebar_is_built_from_the_screen_registry(window: MainWindow) -> None:
    titles = [window.sidebar.item(r).text() for r in range(window.sidebar.count())]
    assert titles == [spec.title for spec in registered_screens()]
    assert window.current_key() == "home"
    assert "Home" in window.windowTitle()


def test_every_registered_screen_opens(qtbot: QtBot, window: MainWindow) -> None:
    for row, spec in enumerate(window.specs):
        window.sidebar.setCurrentRow(row)
        assert window.stack.currentIndex() == row
        assert window.page(spec.key).isVisible()


def test_ctrl_number_switches_screens(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == window.specs[1].key


def test_home_shows_centre_desk_id_and_data_folder(window: MainWindow, ctx: AppContext) -> None:
    texts = " ".join(label.text() for label in window.page("home").findChildren(QLabel))
    assert "Test Centre, Cambodia" in texts
    assert ctx.desk.desk_id in texts
    assert str(ctx.paths.data) in texts
    assert "Test Centre" in window.status_label.text()


def test_settings_screen_validates_at_the_field(qtbot: QtBot, window: MainWindow) -> None:
    window.show_screen("settings")
    screen = window.page("settings")
    assert isinstance(screen, SettingsScreen)
    screen.centre.name_edit.setText("   ")
    qtbot.mouseClick(screen.save_button, Qt.MouseButton.LeftButton)
    assert screen.centre.name_error.isVisible()
    assert "name of your centre" in screen.centre.name_error.text()


def test_settings_screen_saves_and_the_window_follows(
    qtbot: QtBot, window: MainWindow, ctx: AppContext
) -> None:
    window.show_screen("settings")
    screen = window.page("settings")
    assert isinstance(screen, SettingsScreen)
    screen.centre.name_edit.setText("MRC Vientiane")
    screen.centre.country.select("LA")
    qtbot.mouseClick(screen.save_button, Qt.MouseButton.LeftButton)
    stored = json.loads(ctx.paths.settings_file.read_text("utf-8"))["values"]
    assert stored["centre_name"] == "MRC Vientiane" and stored["centre_country"] == "LA"
    assert "MRC Vientiane" in window.status_label.text()
    assert screen.saved_label.text() == "Settings saved."


def test_shortcuts_dialog_lists_the_real_shortcuts(window: MainWindow) -> None:
    dialog = ShortcutsDialog(window.shortcut_actions(), window)
    rows = dict(dialog.rows())
    assert rows["Keyboard shortcuts"] == "F1"
    assert rows["Quit"] == "Ctrl+Q"
    assert rows["Go to Library"] == "Ctrl+2"
    assert rows["Go to Cases"] == "Ctrl+5"
    assert rows["Go to Settings"] == "Ctrl+6"
    assert rows["Lock the case log"] == "Ctrl+L"
    assert rows["Settings"] == "Ctrl+,"


def test_about_shows_version_paths_and_font_licence(window: MainWindow, ctx: AppContext) -> None:
    dialog = AboutDialog(ctx, window)
    text = " ".join(b.toPlainText() for b in dialog.findChildren(QTextBrowser))
    assert __version__ in " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert str(ctx.paths.data) in text and str(ctx.paths.config) in text
    assert "SIL Open Font License" in text and "Noto Sans Khmer" in text
    assert "LGPL" in text


def test_geometry_is_restored(qtbot: QtBot, ctx: AppContext) -> None:
    first = MainWindow(ctx)
    qtbot.addWidget(first)
    first.show()
    first.resize(720, 540)
    qtbot.wait(10)
    first.close()
    second = MainWindow(ctx)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (720, 540)


def test_notices_can_be_dismissed(window: MainWindow) -> None:
    window.notices.add("Some saved settings were not valid and were reset to their defaults.")
    assert window.notices.isVisible()
    window.notices.close_button.click()
    assert not window.notices.isVisible()
