"""Staff sign-in: the PIN that leaves kiosk mode and the login in front of the admin screens.

The history checks a PIN (scrypt, slow on purpose) on a worker thread. It has no limit on
tries, so this module adds one: after `MAX_FAILURES` wrong tries, `LOCKOUT_S` seconds during
which nothing is checked, shown on screen as a countdown. The limiter is shared by every
dialog of the app, so closing and reopening the dialog does not reset it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.widgets import button, label
from ui.workers import run_in_background

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCKOUT_S = 60.0


class AttemptLimiter:
    """Counts wrong tries; after `max_failures` in a row, refuses every try for
    `lockout_s` seconds. A right PIN resets the count."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        lockout_s: float = LOCKOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.clock = clock
        self.failures = 0
        self.locked_until = 0.0

    def locked_for(self) -> float:
        """Seconds left of the lockout (0 when tries are allowed)."""
        left = self.locked_until - self.clock()
        if left <= 0 and self.locked_until:
            self.locked_until = 0.0
            self.failures = 0
        return max(0.0, left)

    @property
    def tries_left(self) -> int:
        return max(0, self.max_failures - self.failures)

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.max_failures:
            self.locked_until = self.clock() + self.lockout_s
            log.warning(
                "staff sign-in locked for %.0f s after %d wrong tries",
                self.lockout_s,
                self.failures,
            )

    def succeeded(self) -> None:
        self.failures = 0
        self.locked_until = 0.0


# One limiter for the whole app (the kiosk's PIN and the admin login share it).
STAFF_LIMITER = AttemptLimiter()

HistoryGetter = Callable[[], Any]


class StaffLoginDialog(QDialog):
    """Pick the staff member, enter the PIN or password (with an on-screen keypad for the
    kiosk's touch screen), and the check runs in the background."""

    verified = Signal(str)  # the staff member's e-mail

    def __init__(
        self,
        history: HistoryGetter,
        *,
        title: str = "Staff login",
        prompt: str = "Staff only. Choose your name and enter your PIN or password.",
        action: str = "Log in",
        keypad: bool = False,
        limiter: AttemptLimiter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("staffLoginDialog")
        self.setWindowTitle(title)
        self.setModal(True)
        self.history = history
        self.limiter = limiter or STAFF_LIMITER
        self.email: str | None = None
        self.no_users = False
        self.checking = False
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        heading = label(title, "heading", name="staffLoginHeading")
        layout.addWidget(heading)
        layout.addWidget(label(prompt, "muted"))
        self.user = QComboBox()
        self.user.setObjectName("staffUser")
        self.user.setEditable(True)
        self.user.setAccessibleName("Staff member (name or e-mail)")
        self.user.lineEdit().setPlaceholderText("Loading staff list…")
        layout.addWidget(label("Staff member", "card-label"))
        layout.addWidget(self.user)
        self.secret = QLineEdit()
        self.secret.setObjectName("staffSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setAccessibleName("PIN or password")
        self.secret.setPlaceholderText("PIN or password")
        self.secret.returnPressed.connect(self.on_ok_button_clicked)
        layout.addWidget(label("PIN or password", "card-label"))
        layout.addWidget(self.secret)
        if keypad:
            layout.addWidget(self._keypad())
        self.status = label("", "muted", name="staffLoginStatus")
        self.status.setAccessibleName("Sign-in status")
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.cancel_button = button("Cancel", size="big", name="staffCancel")
        self.ok_button = button(action, kind="primary", size="big", name="staffOk")
        self.ok_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button.clicked.connect(self.on_ok_button_clicked)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.ok_button)
        layout.addLayout(buttons)
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self.on_countdown_timeout)
        self.ok_button.setEnabled(False)  # until the staff list is read
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 30)
        self._load_users()
        self._show_lockout()
        self.secret.setFocus()

    def _keypad(self) -> QWidget:
        pad = QWidget()
        pad.setObjectName("keypad")
        grid = QGridLayout(pad)
        grid.setSpacing(8)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "Clear", "0", "⌫"]
        for i, key in enumerate(keys):
            name = {"⌫": "Delete last digit", "Clear": "Clear the PIN"}.get(key, f"Digit {key}")
            b = button(key, kind="keypad", name=f"key_{i}", accessible=name)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            b.clicked.connect(lambda _=False, k=key: self.on_keypad_clicked(k))
            grid.addWidget(b, i // 3, i % 3)
        return pad

    def on_keypad_clicked(self, key: str) -> None:
        if key == "Clear":
            self.secret.clear()
        elif key == "⌫":
            self.secret.backspace()
        else:
            self.secret.insert(key)

    # ---- the staff list ------------------------------------------------------------------

    def _load_users(self) -> None:
        history = self.history()
        if history is None:
            self.status.setText(
                "The staff list cannot be read yet (the history database is still loading "
                "or has a problem; see the status panel)."
            )
            self.ok_button.setEnabled(False)
            return
        run_in_background(
            history.users,
            on_done=self.on_users_loaded,
            on_error=self.on_users_failed,
            context=self,
        )

    @Slot(object)
    def on_users_loaded(self, users: list[Any]) -> None:
        active = [u for u in users if u.is_active]
        self.user.clear()
        for u in active:
            shown = f"{u.display_name} ({u.email})" if u.display_name else u.email
            self.user.addItem(shown, u.email)
        self.user.lineEdit().setPlaceholderText("Your e-mail address")
        self.no_users = not users
        if self.no_users:
            self.status.setText(
                "No staff account has been set up yet, so no PIN is needed. "
                "Create one in the first-run setup."
            )
        if not self._locked():
            self.ok_button.setEnabled(True)

    @Slot(object)
    def on_users_failed(self, exc: BaseException) -> None:
        self.status.setText(f"The staff list cannot be read: {exc}")

    def _chosen_email(self) -> str:
        index = self.user.currentIndex()
        text = self.user.currentText().strip()
        if index >= 0 and self.user.itemText(index) == text:
            return str(self.user.itemData(index))
        return text

    # ---- checking ----------------------------------------------------------------------

    def _locked(self) -> bool:
        return self.limiter.locked_for() > 0

    def _show_lockout(self) -> None:
        left = self.limiter.locked_for()
        if left > 0:
            self.ok_button.setEnabled(False)
            self.status.setText(f"Too many wrong tries. Try again in {int(left + 0.999)} seconds.")
            theme.set_role(self.status, "role", "lockout")
            if not self._countdown.isActive():
                self._countdown.start()
        else:
            self._countdown.stop()

    @Slot()
    def on_countdown_timeout(self) -> None:
        if self._locked():
            self._show_lockout()
        else:
            self._countdown.stop()
            self.status.setText("You can try again now.")
            theme.set_role(self.status, "role", "muted")
            self.ok_button.setEnabled(True)

    @Slot()
    def on_ok_button_clicked(self) -> None:
        if self.checking:
            return
        if self.no_users:
            self.email = ""
            self.verified.emit("")
            self.accept()
            return
        if self._locked():
            self._show_lockout()
            return
        email, secret = self._chosen_email(), self.secret.text()
        if not email or not secret:
            self.status.setText("Choose your name and enter your PIN.")
            return
        history = self.history()
        if history is None:
            return
        self.checking = True
        self.ok_button.setEnabled(False)
        self.status.setText("Checking…")
        run_in_background(
            history.verify_user,
            email,
            secret,
            on_done=lambda result: self.on_verify_done(email, result),
            on_error=self.on_verify_failed,
            context=self,
        )

    def on_verify_done(self, email: str, result: Any) -> None:
        self.checking = False
        self.secret.clear()
        if getattr(result, "ok", False):
            self.limiter.succeeded()
            self.email = email
            self.verified.emit(email)
            self.accept()
            return
        if getattr(result, "value", "") == "disabled":
            self.status.setText("This staff account is disabled.")
            self.ok_button.setEnabled(True)
            return
        self.limiter.failed()
        if self._locked():
            self._show_lockout()
            return
        left = self.limiter.tries_left
        self.status.setText(
            f"That PIN is not right. {left} {'try' if left == 1 else 'tries'} left."
        )
        theme.set_role(self.status, "role", "problem")
        self.ok_button.setEnabled(True)
        self.secret.setFocus()

    @Slot(object)
    def on_verify_failed(self, exc: BaseException) -> None:
        self.checking = False
        self.ok_button.setEnabled(True)
        self.status.setText(f"The PIN could not be checked: {exc}")
