"""The Sync screen: join a hub, see at a glance how this desk stands with it, sync now.

It follows two things: the case log (sync reads and writes the encrypted store, so while
it is not unlocked the screen shows the same log-in as the Cases screen, ``UnlockPage``)
and the desk's enrolment (not joined → ``EnrolPanel``; waiting for the hub admin →
``WaitingPanel``; removed by the hub → ``EnrolPanel`` with a note; joined →
``StatusPanel`` and ``UsbPanel``). Its status is read again whenever the service, the
case log or the settings change, and every 30 seconds while it is shown (times "ago").
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from mrc_desktop.i18n import _
from mrc_desktop.ui.cases.session import MISSING, UNLOCKED
from mrc_desktop.ui.cases.unlock_page import UnlockPage
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.sync.content_panel import ContentPanel
from mrc_desktop.ui.sync.enrol_panel import EnrolPanel, WaitingPanel
from mrc_desktop.ui.sync.status import JOINED, WAITING, SyncStatus, read_status
from mrc_desktop.ui.sync.status_panel import StatusPanel
from mrc_desktop.ui.sync.usb_panel import UsbPanel
from mrc_desktop.ui.translatable import Translatable

REFRESH_MS = 30_000


class SetUpFirst(Translatable, QWidget):
    """No case log on this desk yet: it is made on the Cases screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.button = QPushButton()
        self.button.setObjectName("sync_go_to_cases")
        self.button.clicked.connect(self.go_to_cases)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.button)
        layout.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.text.setText(
            _("The case log is not set up on this desk yet. Set it up first on the Cases screen.")
        )
        self.button.setText(_("&Go to the Cases screen"))

    def go_to_cases(self) -> None:
        show = getattr(self.window(), "show_screen", None)
        if show is not None:
            show("cases")


class SyncScreen(Translatable, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sync_screen")
        self.ctx = ctx
        self.service = ctx.sync_service()
        self.session = self.service.session
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.set_up_first = SetUpFirst()
        self.unlock = UnlockPage(self.session)
        self.enrol = EnrolPanel(self.service, ctx)
        self.waiting = WaitingPanel(self.service, ctx)
        self.status = StatusPanel(self.service, ctx)
        self.usb = UsbPanel(self.service, ctx)
        joined = QWidget()
        joined_layout = QVBoxLayout(joined)
        joined_layout.setContentsMargins(0, 0, 0, 0)
        joined_layout.addWidget(self.status)
        joined_layout.addWidget(self.usb)
        joined_layout.addStretch(1)
        self.joined = joined
        self.stack = QStackedWidget()
        for page in (self.set_up_first, self.unlock, self.enrol, self.waiting, joined):
            self.stack.addWidget(page)
        self.content = ContentPanel(self.service, ctx)  # public: shown whatever the log's state
        pages = QWidget()
        pages_layout = QVBoxLayout(pages)
        pages_layout.setContentsMargins(0, 0, 0, 0)
        pages_layout.addWidget(self.stack, 1)
        pages_layout.addWidget(self.content)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(pages)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.subtitle)
        layout.addWidget(scroll, 1)
        self.current: SyncStatus | None = None
        self.clock = QTimer(self)
        self.clock.setInterval(REFRESH_MS)
        self.clock.timeout.connect(self.refresh)
        self.service.changed.connect(self.refresh)
        self.session.state_changed.connect(self.refresh)
        self.session.cases_changed.connect(self.refresh)
        ctx.events.settings_changed.connect(self.refresh)
        self.retranslate()
        self.refresh()

    def retranslate(self) -> None:
        # TRANSLATORS: screen title: sending and receiving cases with the hub.
        self.heading.setText(_("Sync"))
        # TRANSLATORS: "hub" is the server of the network of resource centres.
        self.subtitle.setText(
            _(
                "The hub is your network's server. Syncing sends this desk's cases to the hub "
                "and brings back the changes made at your centre's other desks."
            )
        )

    def refresh(self, *_args: object) -> None:
        """Read the status again and show the page that fits it (when shown: showing the
        screen reads it anyway, so edits elsewhere cost nothing here)."""
        if not self.isVisible():
            return
        session = self.session
        if session.state != UNLOCKED or session.db is None:
            self.current = None
            missing = session.state == MISSING or (
                session.db is not None and not session.has_users()
            )
            self.stack.setCurrentWidget(self.set_up_first if missing else self.unlock)
            return
        self.current = read_status(session.db)
        stage = self.current.stage
        if stage == JOINED:
            self.status.show_status(self.current)
            self.stack.setCurrentWidget(self.joined)
        elif stage == WAITING:
            self.waiting.show_status(self.current)
            self.stack.setCurrentWidget(self.waiting)
        else:
            self.enrol.show_status(self.current)
            self.stack.setCurrentWidget(self.enrol)

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh()
        self.content.refresh()
        self.clock.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.clock.stop()
        super().hideEvent(event)
