"""Home: who this desk is, today's date, and where its files are."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from mrc_desktop import i18n
from mrc_desktop.i18n import _
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_date
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.pickers import current_language_label


class HomeScreen(Translatable, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setObjectName("home_screen")
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.heading.setWordWrap(True)
        self.today = QLabel()
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.desk_box = QGroupBox()
        form = QFormLayout(self.desk_box)
        self.centre_label, self.centre_value = QLabel(), QLabel()
        self.language_label, self.language_value = QLabel(), QLabel()
        self.desk_label, self.desk_value = QLabel(), QLabel()
        self.data_label, self.data_value = QLabel(), QLabel()
        for value in (self.centre_value, self.desk_value, self.data_value):
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
        for label, value in (
            (self.centre_label, self.centre_value),
            (self.language_label, self.language_value),
            (self.desk_label, self.desk_value),
            (self.data_label, self.data_value),
        ):
            form.addRow(label, value)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.today)
        layout.addWidget(self.intro)
        layout.addWidget(self.desk_box)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        settings = self._ctx.settings
        centre = settings.get("centre_name") or _("(no centre name set)")
        country_code = settings.get("centre_country")
        country = i18n.country_names().get(country_code, "")
        self.heading.setText(_("Welcome to MRC Desk"))
        self.today.setText(_("Today is {date}.").format(date=show_date(dt.date.today(), "full")))
        self.intro.setText(
            _(
                "Use the list on the left to move between screens. "
                "Press F1 to see all keyboard shortcuts."
            )
        )
        self.desk_box.setTitle(_("This desk"))
        self.centre_label.setText(_("Centre:"))
        self.centre_value.setText(
            _("{centre}, {country}").format(centre=centre, country=country) if country else centre
        )
        self.language_label.setText(_("Interface language:"))
        self.language_value.setText(current_language_label(self._ctx.languages))
        self.desk_label.setText(_("Desk ID:"))
        self.desk_value.setText(self._ctx.desk.desk_id)
        self.data_label.setText(_("Data folder:"))
        self.data_value.setText(str(self._ctx.paths.data))
