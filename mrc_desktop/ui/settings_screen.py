"""Settings: interface language, centre details, case log and sync, applied when saved."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.i18n import _
from mrc_desktop.settings import LIMITS, OFF_OR_AT_LEAST, describe
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.translatable import Translatable
from mrc_desktop.ui.widgets.centre_form import CentreForm
from mrc_desktop.ui.widgets.pickers import LanguageList


class SettingsScreen(Translatable, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.setObjectName("settings_screen")
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.language_box = QGroupBox()
        self.languages = LanguageList(ctx.languages)
        self.languages.setObjectName("settings_language")
        self.language_hint = QLabel()
        self.language_hint.setWordWrap(True)
        box_layout = QVBoxLayout(self.language_box)
        box_layout.addWidget(self.language_hint)
        box_layout.addWidget(self.languages)
        self.centre_box = QGroupBox()
        self.centre = CentreForm()
        QVBoxLayout(self.centre_box).addWidget(self.centre)
        self.cases_box = QGroupBox()
        self.cases_form = QFormLayout(self.cases_box)
        self.spins: dict[str, QSpinBox] = {}
        self.spin_labels: dict[str, QLabel] = {}
        for name in ("auto_lock_minutes", "backup_keep"):
            spin = QSpinBox()
            spin.setObjectName(f"settings_{name}")
            spin.setRange(*LIMITS[name])
            label = QLabel()
            label.setWordWrap(True)
            label.setBuddy(spin)
            self.cases_form.addRow(label, spin)
            self.spins[name] = spin
            self.spin_labels[name] = label
        self.sync_box = QGroupBox()
        self.sync_form = QFormLayout(self.sync_box)
        self.sync_spin = QSpinBox()
        self.sync_spin.setObjectName("settings_sync_interval_minutes")
        self.sync_spin.setRange(*LIMITS["sync_interval_minutes"])
        self.sync_spin.setKeyboardTracking(False)  # typing "30" is not first a "3"
        self.sync_spin.valueChanged.connect(self._skip_below_minimum)
        self._sync_last = 0
        sync_label = QLabel()
        sync_label.setWordWrap(True)
        sync_label.setBuddy(self.sync_spin)
        self.sync_form.addRow(sync_label, self.sync_spin)
        self.spins["sync_interval_minutes"] = self.sync_spin
        self.spin_labels["sync_interval_minutes"] = sync_label
        self.save_button = QPushButton()
        self.save_button.setObjectName("settings_save")
        self.save_button.setDefault(True)
        self.saved_label = QLabel()
        self.saved_label.setObjectName("settings_saved")
        buttons = QHBoxLayout()
        buttons.addWidget(self.saved_label, 1)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.language_box, 1)
        layout.addWidget(self.centre_box)
        layout.addWidget(self.cases_box)
        layout.addWidget(self.sync_box)
        layout.addLayout(buttons)
        self.save_button.clicked.connect(self.save)
        ctx.events.settings_changed.connect(self.load)
        self.load()
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(_("Settings"))
        self.language_box.setTitle(_("Interface language"))
        self.language_hint.setText(_(describe("language")))
        self.centre_box.setTitle(_("Centre"))
        self.cases_box.setTitle(_("Cases"))
        # TRANSLATORS: settings group for sending and receiving cases with the hub (the
        # network's server).
        self.sync_box.setTitle(_("Sync with the hub"))
        # TRANSLATORS: shown in the sync interval box when automatic sync is turned off.
        self.sync_spin.setSpecialValueText(_("Off"))
        for name, label in self.spin_labels.items():
            label.setText(_(describe(name)))
            self.spins[name].setAccessibleName(_(describe(name)))
        self.save_button.setText(_("&Save settings"))
        self.saved_label.clear()

    def _skip_below_minimum(self, value: int) -> None:
        """0 is off, else at least the minimum: one step down from the minimum turns it off,
        any other value below it becomes the minimum."""
        minimum = OFF_OR_AT_LEAST["sync_interval_minutes"]
        if 0 < value < minimum:
            down = self._sync_last == minimum and value == minimum - 1
            self.sync_spin.setValue(0 if down else minimum)
            return
        self._sync_last = value

    def load(self) -> None:
        settings = self._ctx.settings
        self.languages.select(settings.get("language"))
        self.centre.set_values(settings.get("centre_name"), settings.get("centre_country"))
        for name, spin in self.spins.items():
            spin.setValue(settings.get(name))

    def save(self) -> bool:
        if not self.centre.validate():
            return False
        name, country = self.centre.values()
        settings = self._ctx.settings
        settings.set("centre_name", name)
        settings.set("centre_country", country)
        for name, spin in self.spins.items():
            settings.set(name, spin.value())
        code = self.languages.current_code()
        settings.set("language", code)
        settings.save()
        if code != i18n.current_language():
            self._ctx.languages.apply(code)
        self._ctx.events.settings_changed.emit()
        self.saved_label.setText(_("Settings saved."))
        return True
