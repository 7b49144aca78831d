"""The staff screens in one window: the reception worklist, history, settings, diagnostics
and staff accounts. It is only opened after a staff login (see `ui.app`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Slot
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from petvisor_desktop.settings import Settings
from ui.admin.diagnostics import DiagnosticsPage
from ui.admin.history_browser import HistoryBrowser
from ui.admin.settings_page import SettingsPage
from ui.admin.staff_page import StaffPage
from ui.admin.worklist_page import WorklistPage
from ui.bridge import EngineBridge
from ui.widgets import button, label
from ui.worklist_watch import WorklistWatch


class AdminWindow(QMainWindow):
    def __init__(
        self,
        bridge: EngineBridge,
        settings: Settings,
        history: Callable[[], Any],
        *,
        staff_email: str = "",
        watch: WorklistWatch | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("adminWindow")
        self.setWindowTitle("Petvisor — staff screens")
        self.resize(1200, 800)
        central = QWidget()
        layout = QVBoxLayout(central)
        who = f"Signed in as {staff_email}" if staff_email else "Staff screens"
        top = label(who, "muted", name="adminWho")
        layout.addWidget(top)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("adminTabs")
        self.tabs.setAccessibleName("Staff screens")
        self.worklist_page = WorklistPage(
            history,
            staff_email=staff_email,
            watch=watch,
            tz=ZoneInfo(settings.clinic.timezone),
        )
        self.history_page = HistoryBrowser(history)
        self.settings_page = SettingsPage(settings)
        self.diagnostics_page = DiagnosticsPage(bridge, settings)
        self.staff_page = StaffPage(history)
        self.tabs.addTab(self.worklist_page, "&Worklist")
        self.tabs.addTab(self.history_page, "&History")
        self.tabs.addTab(self.settings_page, "&Settings")
        self.tabs.addTab(self.diagnostics_page, "&Diagnostics")
        self.tabs.addTab(self.staff_page, "S&taff accounts")
        layout.addWidget(self.tabs, 1)
        close = button("Close the staff screens", name="adminClose")
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout.addLayout(bottom)
        self.setCentralWidget(central)
        QShortcut(QKeySequence("Escape"), self, activated=self.close)
        self.worklist_page.count_changed.connect(self.on_worklist_page_count_changed)
        self.worklist_page.show_in_history.connect(self.on_worklist_page_show_in_history)
        self.worklist_page.reload()
        self.history_page.reload()

    @Slot(int)
    def on_worklist_page_count_changed(self, count: int) -> None:
        """The tab says how many items are open, in words a screen reader reads too."""
        index = self.tabs.indexOf(self.worklist_page)
        self.tabs.setTabText(index, f"&Worklist ({count} open)" if count else "&Worklist")

    @Slot(int)
    def on_worklist_page_show_in_history(self, conversation_id: int) -> None:
        self.tabs.setCurrentWidget(self.history_page)
        self.history_page.reveal(conversation_id)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.worklist_page.stop_polling()
        super().closeEvent(event)

    def show_tab(self, name: str) -> None:
        page = {
            "worklist": self.worklist_page,
            "history": self.history_page,
            "settings": self.settings_page,
            "diagnostics": self.diagnostics_page,
            "staff": self.staff_page,
        }[name]
        self.tabs.setCurrentWidget(page)
