"""The first-run wizard: interface language, then the centre's name and country."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget, QWizard, QWizardPage

from mrc_desktop import i18n
from mrc_desktop.i18n import _, pgettext
from mrc_desktop.settings import Settings
from mrc_desktop.ui.context import LanguageSwitcher
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.centre_form import CentreForm
from mrc_desktop.ui.widgets.pickers import LanguageList

# A sensible first guess for the centre's country from the language chosen.
COUNTRY_FOR_LANGUAGE = {
    "km": "KH",
    "lo": "LA",
    "my": "MM",
    "th": "TH",
    "vi": "VN",
    "ne": "NP",
    "bn": "BD",
    "si": "LK",
    "id": "ID",
    "fil": "PH",
    "am": "ET",
}


class LanguagePage(Translatable, QWizardPage):
    def __init__(self, switcher: LanguageSwitcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.languages = LanguageList(switcher)
        self.languages.setObjectName("wizard_language")
        self.note = QLabel()
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.languages)
        self.languages.select(i18n.current_language())
        # Switch as soon as a language is picked, so the rest of the wizard is readable.
        self.languages.chosen.connect(switcher.apply)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(_("Welcome to MRC Desk"))
        self.setSubTitle(_("Choose the language for the interface."))
        self.note.setText(
            _(
                "You can change it at any time from View › Language. Articles for workers "
                "have their own language choice."
            )
        )


class CentrePage(Translatable, QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = CentreForm()
        QVBoxLayout(self).addWidget(self.form)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(_("Your centre"))
        self.setSubTitle(_("This name is printed on handouts and case summaries."))

    def initializePage(self) -> None:
        if not self.form.values()[1]:
            self.form.country.select(COUNTRY_FOR_LANGUAGE.get(i18n.current_language(), ""))

    def validatePage(self) -> bool:
        return self.form.validate()


class FirstRunWizard(Translatable, QWizard):
    def __init__(
        self, settings: Settings, switcher: LanguageSwitcher, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("first_run_wizard")
        self._settings = settings
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.language_page = LanguagePage(switcher)
        self.centre_page = CentrePage()
        self.addPage(self.language_page)
        self.addPage(self.centre_page)
        self.resize(640, 520)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(_("Set up MRC Desk"))
        # Qt has its own wizard button texts only for Arabic among our languages.
        self.setButtonText(QWizard.WizardButton.NextButton, _("&Next >"))
        self.setButtonText(QWizard.WizardButton.BackButton, _("< &Back"))
        self.setButtonText(QWizard.WizardButton.FinishButton, _("&Finish"))
        self.setButtonText(QWizard.WizardButton.CancelButton, pgettext("button", "Cancel"))

    def accept(self) -> None:
        name, country = self.centre_page.form.values()
        self._settings.set("language", i18n.current_language())
        self._settings.set("centre_name", name)
        self._settings.set("centre_country", country)
        self._settings.set("first_run_done", True)
        self._settings.save()
        super().accept()
