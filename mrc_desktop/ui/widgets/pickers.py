"""Pickers shared by the first-run wizard and the settings screen."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QCompleter, QListWidget, QListWidgetItem, QWidget

from mrc_desktop import i18n
from mrc_desktop.i18n import _
from mrc_desktop.ui.context import LanguageSwitcher
from mrc_desktop.ui.translatable import Translatable

CODE_ROLE = Qt.ItemDataRole.UserRole


def with_draft_mark(switcher: LanguageSwitcher, code: str, label: str) -> str:
    if not switcher.is_draft(code):
        return label
    # TRANSLATORS: shown after a language name when its translation is not reviewed yet.
    return _("{language} — draft translation").format(language=label)


def language_label(switcher: LanguageSwitcher, code: str) -> str:
    """'ខ្មែរ (Khmer) — draft translation': the autonym, then the name in the UI language."""
    autonym = i18n.language_autonym(code)
    label = autonym
    if code != i18n.current_language():
        label = _("{autonym} ({name})").format(autonym=autonym, name=i18n.language_name(code))
    return with_draft_mark(switcher, code, label)


def current_language_label(switcher: LanguageSwitcher) -> str:
    code = i18n.current_language()
    return with_draft_mark(switcher, code, i18n.language_autonym(code))


class LanguageList(Translatable, QListWidget):
    """Every offered interface language, each named in its own script."""

    chosen = Signal(str)

    def __init__(self, switcher: LanguageSwitcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._switcher = switcher
        for info in switcher.offered():
            item = QListWidgetItem()
            item.setData(CODE_ROLE, info.code)
            self.addItem(item)
        self.retranslate()
        self.currentItemChanged.connect(self._emit)

    def retranslate(self) -> None:
        self.setAccessibleName(_("Interface language"))
        for row in range(self.count()):
            item = self.item(row)
            item.setText(language_label(self._switcher, item.data(CODE_ROLE)))

    def select(self, code: str) -> None:
        for row in range(self.count()):
            if self.item(row).data(CODE_ROLE) == code:
                self.setCurrentRow(row)
                return

    def current_code(self) -> str:
        item = self.currentItem()
        return item.data(CODE_ROLE) if item else i18n.SOURCE_LANGUAGE

    def _emit(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None:
            self.chosen.emit(current.data(CODE_ROLE))


class CountryPicker(Translatable, QComboBox):
    """Countries named in the interface language; type to filter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setCompleter(completer)
        self.retranslate()

    def retranslate(self) -> None:
        selected = self.current_code()
        self.blockSignals(True)
        self.clear()
        self.addItem(_("Choose a country…"), "")
        names = i18n.country_names()
        for code, name in sorted(names.items(), key=lambda kv: kv[1].casefold()):
            self.addItem(name, code)
        line = self.lineEdit()
        if line is not None:
            line.setPlaceholderText(_("Type to search"))
        self.setAccessibleName(_("Country"))
        self.select(selected)
        self.blockSignals(False)

    def select(self, code: str) -> None:
        index = self.findData(code) if code else 0
        self.setCurrentIndex(max(index, 0))

    def current_code(self) -> str:
        text = self.currentText().strip()
        index = self.currentIndex()
        if index > 0 and self.itemText(index) == text:
            return str(self.itemData(index))
        match = self.findText(text, Qt.MatchFlag.MatchFixedString)
        return str(self.itemData(match)) if match > 0 else ""
