"""The staff screens in one window: history, settings, diagnostics and staff accounts. It
is only opened after a staff login (see `ui.app`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from petvisor_desktop.settings import Settings
from ui.admin.diagnostics import DiagnosticsPage
from ui.admin.history_browser import HistoryBrowser
from ui.admin.settings_page import SettingsPage
from ui.admin.staff_page import StaffPage
from ui.bridge import EngineBridge
from ui.widgets import button, label


class AdminWindow(QMainWindow):
    def __init__(
        self,
        bridge: EngineBridge,
        settings: Settings,
        history: Callable[[], Any],
        *,
        staff_email: str = "",
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
        self.history_page = HistoryBrowser(history)
        self.settings_page = SettingsPage(settings)
        self.diagnostics_page = DiagnosticsPage(bridge, settings)
        self.staff_page = StaffPage(history)
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
        self.history_page.reload()

    def show_tab(self, name: str) -> None:
        page = {
            "history": self.history_page,
            "settings": self.settings_page,
            "diagnostics": self.diagnostics_page,
            "staff": self.staff_page,
        }[name]
        self.tabs.setCurrentWidget(page)
