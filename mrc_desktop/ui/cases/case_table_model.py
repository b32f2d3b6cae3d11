"""The case list as a lazily loaded table: pages of rows are read as the view scrolls.

With 100,000 cases the list still opens at once: only a count and the first page are read;
``fetchMore`` reads the next page when the view asks for it. Sorting and filtering are
done by SQLite (indexes on status, destination, agency, dates; FTS5 for text).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from mrc_desktop import i18n
from mrc_desktop.cases import vocab
from mrc_desktop.cases.repository import SORTABLE, CaseFilter
from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.locale_format import show_date

PAGE = 200
ID_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = (
    ("reference", N_("Reference")),
    ("person_name", N_("Worker")),
    ("status", N_("Status")),
    ("destination_country", N_("Destination")),
    ("categories", N_("Categories")),
    ("updated_at", N_("Last change")),
)
Index = QModelIndex | QPersistentModelIndex


class CaseTableModel(QAbstractTableModel):
    def __init__(self, session: CaseSession) -> None:
        super().__init__()
        self.session = session
        self.filters = CaseFilter()
        self.order_by = "updated_at"
        self.descending = True
        self.total = 0
        self._rows: list[dict[str, Any]] = []
        self._countries: dict[str, str] = {}
        self._countries_lang = ""
        session.state_changed.connect(self._state_changed)

    # -- loading -------------------------------------------------------------------
    def reload(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.total = 0
        if self.session.state == UNLOCKED:
            repo = self.session.repo
            self.total = repo.count(self.filters)
            self._rows = repo.list_cases(
                self.filters, self.order_by, self.descending, offset=0, limit=PAGE
            )
        self.endResetModel()

    def set_filter(self, filters: CaseFilter) -> None:
        self.filters = filters
        self.reload()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.total = 0
        self.endResetModel()

    def _state_changed(self, state: str) -> None:
        if state == UNLOCKED:
            self.reload()
        else:
            self.clear()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self.session.state != UNLOCKED:
            return
        more = self.session.repo.list_cases(
            self.filters, self.order_by, self.descending, offset=len(self._rows), limit=PAGE
        )
        if not more:
            self.total = len(self._rows)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    # -- model ---------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return _(COLUMNS[section][1])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == ID_ROLE:
            return row["id"]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(key, row)
        if role == Qt.ItemDataRole.ToolTipRole and key == "categories":
            return "\n".join(self._category_labels(row))
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS) or COLUMNS[column][0] not in SORTABLE:
            return
        self.order_by = COLUMNS[column][0]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload()

    def case_id(self, row: int) -> str:
        return str(self._rows[row]["id"]) if 0 <= row < len(self._rows) else ""

    def row_of(self, case_id: str) -> int:
        return next((n for n, r in enumerate(self._rows) if r["id"] == case_id), -1)

    # -- display -------------------------------------------------------------------
    def _display(self, key: str, row: dict[str, Any]) -> str:
        value = row.get(key) or ""
        if key == "status":
            return _(vocab.STATUSES.get(value, value))
        if key == "destination_country":
            return self._country(value)
        if key == "categories":
            return "; ".join(self._category_labels(row))
        if key == "updated_at" and value:
            return show_date(dt.datetime.fromisoformat(value).astimezone().date(), "medium")
        return str(value)

    def _category_labels(self, row: dict[str, Any]) -> list[str]:
        try:
            keys = json.loads(row.get("categories") or "[]")
        except ValueError:
            return []
        return [_(vocab.CATEGORIES[k]) for k in keys if k in vocab.CATEGORIES]

    def _country(self, code: str) -> str:
        if not code:
            return ""
        language = i18n.current_language()
        if language != self._countries_lang:
            self._countries = i18n.country_names()
            self._countries_lang = language
        return self._countries.get(code, code)

    def retranslate(self) -> None:
        """Labels changed language: repaint every cell and header."""
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1)
            )
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
