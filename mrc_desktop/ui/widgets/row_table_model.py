"""A read-only table over a list of rows, the base of the case log's item models.

Subclasses name their ``columns`` ((key, N_-marked header), …) and say what a cell shows
in ``display``; headers are translated when shown and ``retranslate`` repaints everything
after a language switch. Lazy models add ``canFetchMore``/``fetchMore`` on top.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QTableView

from mrc_desktop.i18n import _

Index = QModelIndex | QPersistentModelIndex
ID_ROLE = Qt.ItemDataRole.UserRole


class RowTableModel(QAbstractTableModel):
    columns: tuple[tuple[str, str], ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    # -- rows ----------------------------------------------------------------------
    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def clear(self) -> None:
        self.set_rows([])

    def row_data(self, row: int) -> Any:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    # -- what subclasses say ------------------------------------------------------------
    def display(self, key: str, row: Any) -> Any:
        raise NotImplementedError

    def row_id(self, row: Any) -> Any:
        return row["id"] if isinstance(row, dict) else getattr(row, "id", None)

    def cell(self, key: str, row: Any, role: int) -> Any:
        """Any other role of a cell (tooltips, alignment…); nothing by default."""
        return None

    # -- QAbstractTableModel ------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.columns)
        ):
            return _(self.columns[section][1])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        key = self.columns[index.column()][0]
        if role == ID_ROLE:
            return self.row_id(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(key, row)
        return self.cell(key, row, role)

    def retranslate(self) -> None:
        """Labels changed language: repaint every cell and header."""
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(self.columns) - 1)
            )
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.columns) - 1)


class PagedRowTableModel(RowTableModel):
    """Rows read a page at a time as the view scrolls (``canFetchMore``/``fetchMore``).

    Subclasses say how to read a page and whether reading is allowed now (e.g. only while
    the case log is unlocked); ``load_first`` starts again from the first page."""

    page_size = 200

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._more = False

    def page(self, offset: int) -> list[Any]:
        raise NotImplementedError

    def can_load(self) -> bool:
        return True

    def load_first(self) -> None:
        self.beginResetModel()
        self._rows, self._more = [], False
        if self.can_load():
            self._rows = self.page(0)
            self._more = len(self._rows) == self.page_size
        self.endResetModel()

    def clear(self) -> None:
        self._more = False
        super().clear()

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or not self._more:
            return
        more = self.page(len(self._rows)) if self.can_load() else []
        self._more = len(more) == self.page_size
        if not more:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()


def row_table_view(model: QAbstractItemModel, object_name: str) -> QTableView:
    """A read-only table that selects one whole row at a time, without row numbers."""
    view = QTableView()
    view.setObjectName(object_name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    return view
