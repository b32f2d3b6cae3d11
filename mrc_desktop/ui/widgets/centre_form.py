"""Centre name and country fields, with validation shown at the field."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from mrc_desktop.i18n import _
from mrc_desktop.settings import CENTRE_NAME_MAX, centre_name_problem, describe
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.pickers import CountryPicker


class CentreForm(Translatable, QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("centre_name")
        self.name_edit.setMaxLength(CENTRE_NAME_MAX + 20)  # longer input gets a message, not a cut
        self.name_error = QLabel()
        self.name_error.setObjectName("field_error")
        self.name_error.setWordWrap(True)
        self.name_error.hide()
        self.name_hint = QLabel()
        self.name_hint.setWordWrap(True)
        self.country = CountryPicker()
        self.country.setObjectName("centre_country")
        self.country_hint = QLabel()
        self.country_hint.setWordWrap(True)
        self.name_label, self.country_label = QLabel(), QLabel()
        self.name_label.setBuddy(self.name_edit)
        self.country_label.setBuddy(self.country)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.name_label, self.name_edit)
        form.addRow("", self.name_error)
        form.addRow("", self.name_hint)
        form.addRow(self.country_label, self.country)
        form.addRow("", self.country_hint)
        self.name_edit.textEdited.connect(lambda _text: self.name_error.hide())
        self.retranslate()

    def retranslate(self) -> None:
        self.name_label.setText(_("Centre &name:"))
        self.country_label.setText(_("Centre &country:"))
        self.name_hint.setText(_(describe("centre_name")))
        self.country_hint.setText(_(describe("centre_country")))
        self.name_edit.setPlaceholderText(
            _("For example: Migrant Worker Resource Centre, Phnom Penh")
        )
        if self.name_error.isVisible():
            self.validate()

    def set_values(self, name: str, country: str) -> None:
        self.name_edit.setText(name)
        self.country.select(country)

    def values(self) -> tuple[str, str]:
        return self.name_edit.text().strip(), self.country.current_code()

    def validate(self) -> bool:
        """Show the first problem at the field; return True when the form can be saved."""
        problem = centre_name_problem(self.name_edit.text())
        if problem:
            self.name_error.setText(_(problem))
            self.name_error.show()
            self.name_edit.setFocus()
            return False
        self.name_error.hide()
        return True
