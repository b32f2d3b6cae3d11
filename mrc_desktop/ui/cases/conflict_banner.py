"""The "edited at two desks" banner at the top of a case page.

When two desks changed the same field of a case before they synced, every desk keeps the
later edit and records the other value as a conflict (docs/sync.md, "Conflicts"). Nothing
was lost, but nobody chose either: the banner shows, per field, the value the case has now
and the other one, which desk made each and when, and two buttons — use the other value
(an audited edit through the repository) or keep this one (audited too). Either settles
the conflict on every desk the change reaches.

The case page drives it (``show_case`` whenever it shows the case); after a choice the
banner announces ``cases_changed``, so the page, the list and the banner refresh together.
It holds personal data (names, phones, the narrative as typed at two desks), so it empties
itself whenever the case log is not unlocked.
"""

from __future__ import annotations

import datetime as dt

import sqlite_utils
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.cases.fields import FIELDS, label_of
from mrc_desktop.cases.repository import ValidationError
from mrc_desktop.i18n import _
from mrc_desktop.sync.capture import replica_id
from mrc_desktop.sync.hlc import Timestamp
from mrc_desktop.sync.merge import (
    Conflict,
    conflicts_for_case,
    keep_current_value,
    take_other_value,
)
from mrc_desktop.ui.cases.agency_register import typed
from mrc_desktop.ui.cases.field_values import field_value_text
from mrc_desktop.ui.cases.session import UNLOCKED, CaseSession
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.locale_format import show_datetime
from mrc_desktop.ui.translatable import Translatable

# Values longer than this are cut in the banner (the whole text is in the tooltip).
SHOWN_CHARS = 300
# Beyond this height the list of fields scrolls, so the case stays in view.
MAX_ROWS_HEIGHT = 300
MIN_ROWS_HEIGHT = 60
# Fields whose values are typed by people (shown as isolates in a right-to-left interface).
_TYPED = {"reference", "assignee", "agency_id"} | {
    f.name for f in FIELDS.values() if f.kind in ("line", "text", "date")
}
STYLE = """
QFrame#conflict_banner { background: #fff4ce; border: 1px solid #e0c060; border-radius: 4px; }
QFrame#conflict_banner QLabel { color: #3a2c00; }
QFrame#conflict_row { background: #fffbea; border: 1px solid #ecd898; border-radius: 3px; }
QLabel#conflict_origin { color: #6b5a20; }
QLabel#conflict_message { color: #a40000; }
"""


def short_desk(desk_id: str) -> str:
    """A desk's id as people can compare it: its last six characters (UUIDv7 ids made
    the same minute share their first ones)."""
    return desk_id[-6:]


def when_text(hlc: str) -> str:
    """A change's timestamp as a local date and time."""
    ms = Timestamp.parse(hlc).ms
    return show_datetime(dt.datetime.fromtimestamp(ms / 1000, dt.UTC).astimezone(), "short")


class ConflictRow(QFrame):
    """One field: the value now, the other value, where each came from, two buttons."""

    chosen = Signal(str, bool)  # conflict id, True to use the other value

    def __init__(
        self, conflict: Conflict, here: str, db: sqlite_utils.Database | None, can_choose: bool
    ) -> None:
        super().__init__()
        self.setObjectName("conflict_row")
        self.conflict = conflict
        name = conflict.col
        field = QLabel(_(label_of(name)) if conflict.tbl == "cases" else name)
        field.setObjectName("conflict_field")
        font = field.font()
        font.setBold(True)
        field.setFont(font)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.current = self._value(conflict.winner_value, db)
        self.current.setObjectName("conflict_current")
        self.other = self._value(conflict.loser_value, db)
        self.other.setObjectName("conflict_other")
        for row, (title, value, hlc) in enumerate(
            (
                # TRANSLATORS: the value a case field has now, when two desks changed it.
                (_("Now:"), self.current, conflict.winner_hlc),
                # TRANSLATORS: the value the other desk gave the same field.
                (_("Other value:"), self.other, conflict.loser_hlc),
            )
        ):
            heading = QLabel(title)
            heading.setAlignment(Qt.AlignmentFlag.AlignTop)
            origin = QLabel(self._origin(hlc, here))
            origin.setObjectName("conflict_origin")
            origin.setAlignment(Qt.AlignmentFlag.AlignTop)
            grid.addWidget(heading, row, 0)
            grid.addWidget(value, row, 1)
            grid.addWidget(origin, row, 2)
        self.take_button = QPushButton(_("Use the other value"))
        self.take_button.setObjectName("conflict_take")
        self.take_button.clicked.connect(self._take)
        self.keep_button = QPushButton(_("Keep this value"))
        self.keep_button.setObjectName("conflict_keep")
        self.keep_button.clicked.connect(self._keep)
        top = QHBoxLayout()
        top.addWidget(field)
        top.addStretch(1)
        top.addWidget(self.keep_button)
        top.addWidget(self.take_button)
        for button in (self.take_button, self.keep_button):
            button.setVisible(can_choose)
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(grid)

    def _value(self, value: object, db: sqlite_utils.Database | None) -> QLabel:
        name = self.conflict.col
        if self.conflict.tbl == "cases":
            text = field_value_text(db, name, value)
        else:
            text = "" if value is None else str(value)
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if not text:
            # TRANSLATORS: a field that had (or was given) no value.
            label.setText(_("(empty)"))
            return label
        if len(text) > SHOWN_CHARS:
            label.setToolTip(text)
            text = text[: SHOWN_CHARS - 1] + "…"
        label.setText(typed(text) if name in _TYPED else text)
        return label

    @staticmethod
    def _origin(hlc: str, here: str) -> str:
        desk = Timestamp.parse(hlc).desk_id
        # TRANSLATORS: "desk" is one computer running MRC Desk at a centre.
        where = _("this desk") if desk == here else _("desk {id}").format(id=short_desk(desk))
        # TRANSLATORS: where and when a value was typed: "desk 3f9a2c, 23/11/2026, 19:07"
        # or "this desk, 23/11/2026, 19:07".
        return _("{desk}, {when}").format(desk=where, when=when_text(hlc))

    def _take(self) -> None:
        self.chosen.emit(self.conflict.id, True)

    def _keep(self) -> None:
        self.chosen.emit(self.conflict.id, False)


class ConflictBanner(Translatable, QFrame):
    def __init__(
        self, session: CaseSession, ctx: AppContext, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflict_banner")
        self.setStyleSheet(STYLE)
        self.session = session
        self.ctx = ctx
        self.case_id = ""
        self.conflicts: list[Conflict] = []
        self.rows: list[ConflictRow] = []
        self.title = QLabel()
        self.title.setObjectName("conflict_title")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.explain = QLabel()
        self.explain.setObjectName("conflict_explain")
        self.explain.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("conflict_message")
        self.message.setWordWrap(True)
        self.message.hide()
        self.rows_box = QWidget()
        self.rows_box.setObjectName("conflict_rows")
        self.rows_layout = QVBoxLayout(self.rows_box)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.addStretch(1)  # rows are inserted above it
        self.rows_scroll = QScrollArea()
        self.rows_scroll.setWidgetResizable(True)
        self.rows_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.rows_scroll.setWidget(self.rows_box)
        self.rows_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.explain)
        layout.addWidget(self.rows_scroll)
        layout.addWidget(self.message)
        self.hide()
        session.state_changed.connect(self._state_changed)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(_("This case was edited at two desks"))
        self.explain.setText(
            _(
                "Two desks changed the same information before they synced. The case shows "
                "the later change: keep it, or use the other value."
            )
        )
        self._build()

    # -- showing -----------------------------------------------------------------------
    def show_case(self, case_id: str) -> None:
        """Show the open conflicts of ``case_id`` (hidden when it has none)."""
        if case_id != self.case_id:
            self._say("")
        self.case_id = case_id
        db = self.session.db
        ready = bool(case_id) and db is not None and self.session.state == UNLOCKED
        self.conflicts = conflicts_for_case(db, case_id) if db is not None and ready else []
        self._build()

    def clear(self) -> None:
        self.case_id = ""
        self.conflicts = []
        self._say("")
        self._build()

    def _build(self) -> None:
        for row in self.rows:
            row.hide()
            row.setParent(None)  # gone from the widget tree now, not at the next event loop
            row.deleteLater()
        self.rows = []
        user = self.session.user
        can_choose = bool(user and user.can("edit_case"))
        db = self.session.db
        here = replica_id(db) if self.conflicts and db is not None else ""
        for conflict in self.conflicts:
            row = ConflictRow(conflict, here, db, can_choose)
            row.chosen.connect(self._choose)
            self.rows_layout.insertWidget(len(self.rows), row)
            self.rows.append(row)
        self.setVisible(bool(self.conflicts))
        self._fit_rows()
        QTimer.singleShot(0, self, self._fit_rows)  # again once fonts and layout have settled

    def _fit_rows(self) -> None:
        """As tall as the rows need at this width (wrapped values), up to a limit."""
        if not self.rows:
            return
        self.ensurePolished()  # the style sheet's borders and padding count
        width = self.rows_scroll.viewport().width()
        if width < 100:  # not laid out yet
            width = max(self.width() - 40, 400)
        height = self.rows_box.heightForWidth(width)
        if height < 0:
            height = self.rows_box.sizeHint().height()
        # On a small screen the page gives it less, down to a few lines, and it scrolls.
        self.rows_scroll.setMinimumHeight(min(height, MIN_ROWS_HEIGHT))
        self.rows_scroll.setMaximumHeight(min(height, MAX_ROWS_HEIGHT))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_rows()

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- choosing ----------------------------------------------------------------------
    def _choose(self, conflict_id: str, take_other: bool) -> None:
        user = self.session.user
        if self.session.state != UNLOCKED or user is None or not user.can("edit_case"):
            return
        self._say("")
        try:
            if take_other:
                take_other_value(self.session.repo, conflict_id)
            else:
                keep_current_value(self.session.repo, conflict_id)
        except KeyError:
            self._say(_("This was settled already, here or at another desk."))
        except ValidationError as exc:
            self._say(_(next(iter(exc.problems.values()))))
        self.session.cases_changed.emit(self.case_id)

    def _state_changed(self, state: str) -> None:
        if state != UNLOCKED:
            self.clear()
