"""Staff accounts: who can leave the kiosk and open these screens. Add, disable, enable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.widgets import button, label
from ui.workers import run_in_background


class StaffPage(QWidget):
    def __init__(self, history: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.setObjectName("staffPage")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("staffTable")
        self.table.setAccessibleName("Staff accounts")
        self.table.setHorizontalHeaderLabels(["E-mail", "Name", "Active", "Last signed in"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.disable_button = button("Disable the selected account", name="staffDisable")
        self.enable_button = button("Enable it again", name="staffEnable")
        self.disable_button.clicked.connect(lambda: self._set_active(False))
        self.enable_button.clicked.connect(lambda: self._set_active(True))
        row.addWidget(self.disable_button)
        row.addWidget(self.enable_button)
        row.addStretch(1)
        layout.addLayout(row)
        box = QGroupBox("Add a staff account")
        form = QFormLayout(box)
        self.email = QLineEdit()
        self.email.setObjectName("newStaffEmail")
        self.email.setAccessibleName("New staff e-mail")
        self.name = QLineEdit()
        self.name.setObjectName("newStaffName")
        self.name.setAccessibleName("New staff name")
        self.secret = QLineEdit()
        self.secret.setObjectName("newStaffSecret")
        self.secret.setAccessibleName("New staff PIN or password")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("E-mail", self.email)
        form.addRow("Name", self.name)
        form.addRow("PIN (4+ digits) or password (8+)", self.secret)
        self.add_button = button("Add", kind="primary", name="staffAdd")
        self.add_button.clicked.connect(self.on_add_button_clicked)
        form.addRow("", self.add_button)
        layout.addWidget(box)
        self.status = label("", "muted", name="staffStatus")
        layout.addWidget(self.status)
        self.reload()

    def reload(self) -> None:
        history = self.history()
        if history is None:
            self.status.setText("The history database is not available yet.")
            return
        run_in_background(
            history.users,
            on_done=self.on_users_loaded,
            on_error=lambda exc: self.status.setText(str(exc)),
            context=self,
        )

    def on_users_loaded(self, users: list[Any]) -> None:
        self.table.setRowCount(len(users))
        for i, u in enumerate(users):
            last = (
                u.last_verified_at.astimezone().strftime("%Y-%m-%d %H:%M")
                if u.last_verified_at
                else "never"
            )
            for col, text in enumerate(
                (u.email, u.display_name or "", "yes" if u.is_active else "disabled", last)
            ):
                self.table.setItem(i, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _selected_email(self) -> str | None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        return item.text() if item else None

    def _set_active(self, active: bool) -> None:
        email, history = self._selected_email(), self.history()
        if not email or history is None:
            self.status.setText("Choose an account first.")
            return
        run_in_background(
            history.set_user_active,
            email,
            active,
            on_done=lambda _r: (
                self.status.setText(f"{email} {'enabled' if active else 'disabled'}."),
                self.reload(),
            ),
            on_error=lambda exc: self.status.setText(str(exc)),
            context=self,
        )

    def on_add_button_clicked(self) -> None:
        history = self.history()
        if history is None:
            return
        email, name, secret = (
            self.email.text().strip(),
            self.name.text().strip(),
            self.secret.text(),
        )
        self.add_button.setEnabled(False)

        def added(_r: Any) -> None:
            self.add_button.setEnabled(True)
            self.email.clear()
            self.name.clear()
            self.secret.clear()
            self.status.setText(f"{email} can now sign in.")
            self.reload()

        def failed(exc: BaseException) -> None:
            self.add_button.setEnabled(True)
            self.status.setText(f"Not added: {exc}")

        run_in_background(
            history.create_user,
            email,
            secret,
            name or None,
            on_done=added,
            on_error=failed,
            context=self,
        )
