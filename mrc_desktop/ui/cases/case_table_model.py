"""The case list as a lazily loaded table: pages of rows are read as the view scrolls.

With 100,000 cases the list still opens at once: only a count and the first page are read;
``fetchMore`` reads the next page when the view asks for it. Sorting and filtering are
done by SQLite (indexes on status, destination, agency, dates; FTS5 for text). Cases
edited at two desks (an open sync conflict) carry a warning icon on their reference,
looked up with one query per page.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from mrc_desktop import i18n
from mrc_desktop.cases import vocab
from mrc_desktop.cases.repository import SORTABLE, CaseFilter
from mrc_desktop.i18n import N_, _
from mrc_desktop.sync.merge import cases_edited_at_two_desks, flagged_cases
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.locale_format import show_date
from mrc_desktop.ui.widgets.row_table_model import PagedRowTableModel

PAGE = 200
EDITED_AT_TWO_DESKS = "edited_at_two_desks"  # a row's flag: the case has an open conflict
COLUMNS = (
    ("reference", N_("Reference")),
    ("person_name", N_("Worker")),
    ("status", N_("Status")),
    ("destination_country", N_("Destination")),
    ("categories", N_("Categories")),
    ("updated_at", N_("Last change")),
)


class CaseTableModel(PagedRowTableModel):
    columns = COLUMNS
    page_size = PAGE

    def __init__(self, session: CaseSession) -> None:
        super().__init__()
        self.session = session
        self.filters = CaseFilter()
        self.order_by = "updated_at"
        self.descending = True
        self.total = 0
        self._countries: dict[str, str] = {}
        self._countries_lang = ""
        self._flag: QIcon | None = None
        session.state_changed.connect(self._state_changed)

    # -- loading -------------------------------------------------------------------
    def can_load(self) -> bool:
        return self.session.state == UNLOCKED

    def page(self, offset: int) -> list[dict[str, Any]]:
        rows = self.session.repo.list_cases(
            self.filters, self.order_by, self.descending, offset=offset, limit=PAGE
        )
        # The "edited at two desks" flag: one query for the page's cases.
        flagged = flagged_cases(self.session.repo.db, [row["id"] for row in rows])
        for row in rows:
            row[EDITED_AT_TWO_DESKS] = row["id"] in flagged
        return rows

    def reload(self) -> None:
        if self.can_load() and self.filters.edited_at_two_desks:
            # Conflicts settled by an edit made here leave the filter (checked again).
            cases_edited_at_two_desks(self.session.repo.db)
        self.total = self.session.repo.count(self.filters) if self.can_load() else 0
        self.load_first()

    def set_filter(self, filters: CaseFilter) -> None:
        self.filters = filters
        self.reload()

    def clear(self) -> None:
        self.total = 0
        super().clear()

    def _state_changed(self, state: str) -> None:
        if state == UNLOCKED:
            self.reload()
        else:
            self.clear()

    # -- model ---------------------------------------------------------------------
    def display(self, key: str, row: dict[str, Any]) -> str:
        return self._display(key, row)

    def cell(self, key: str, row: dict[str, Any], role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and key == "categories":
            return "\n".join(self._category_labels(row))
        if key == "reference" and row.get(EDITED_AT_TWO_DESKS):
            if role == Qt.ItemDataRole.DecorationRole:
                return self._flag_icon()
            if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleDescriptionRole):
                return _("Edited at two desks: open the case to check both values")
        return None

    def _flag_icon(self) -> QIcon:
        if self._flag is None:
            style = QApplication.style()
            self._flag = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._flag

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
