"""The first-run wizard: language first (the wizard follows at once), then the centre."""

import json

from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from mrc_desktop import i18n
from mrc_desktop.settings import load_settings
from mrc_desktop.storage.paths import app_paths, ensure_writable
from mrc_desktop.typefaces import register_fonts
from mrc_desktop.ui.context import LanguageSwitcher
from mrc_desktop.ui.first_run import FirstRunWizard


def make_wizard(qtbot: QtBot, qapp) -> tuple[FirstRunWizard, LanguageSwitcher]:  # type: ignore[no-untyped-def]
    paths = app_paths()
    ensure_writable(paths)
    settings, _ = load_settings(paths.settings_file)
    register_fonts()
    switcher = LanguageSwitcher(qapp)
    switcher.apply("en")
    wizard = FirstRunWizard(settings, switcher)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard, switcher


def test_picking_a_language_translates_the_wizard_at_once(qtbot: QtBot, qapp, english) -> None:  # type: ignore[no-untyped-def]
    wizard, _switcher = make_wizard(qtbot, qapp)
    english_title = wizard.language_page.title()
    wizard.language_page.languages.select("km")
    assert i18n.current_language() == "km"
    assert wizard.language_page.title() != english_title
    assert wizard.buttonText(QWizard.WizardButton.NextButton) == i18n._("&Next >")


def test_centre_name_is_required_then_settings_are_saved(qtbot: QtBot, qapp, english) -> None:  # type: ignore[no-untyped-def]
    wizard, _switcher = make_wizard(qtbot, qapp)
    wizard.language_page.languages.select("lo")
    wizard.next()
    assert wizard.currentPage() is wizard.centre_page
    assert wizard.centre_page.form.country.current_code() == "LA"  # guessed from Lao
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    finish.click()  # empty name: stays, with the message at the field
    assert wizard.result() != QWizard.DialogCode.Accepted
    assert wizard.centre_page.form.name_error.isVisible()
    wizard.centre_page.form.name_edit.setText("MRC Savannakhet")
    finish.click()
    assert wizard.result() == QWizard.DialogCode.Accepted
    values = json.loads(app_paths().settings_file.read_text("utf-8"))["values"]
    assert values == {
        "centre_country": "LA",
        "centre_name": "MRC Savannakhet",
        "first_run_done": True,
        "language": "lo",
    }
