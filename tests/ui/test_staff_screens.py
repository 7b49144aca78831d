"""The staff screens on a real history database: login, diagnostics, staff accounts, the
scheduled backup, the booking-site connection test's failures; and accessibility: every
control has a name and is reachable by keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QSpinBox, QWidget

from petvisor_desktop.events import EventType
from petvisor_desktop.history import History, list_backups
from petvisor_desktop.settings import Settings
from tests.ui.conftest import QUICK_LLM, STAFF_EMAIL, STAFF_PIN, all_ready, feed
from ui import theme
from ui.admin.settings_page import SettingsPage
from ui.admin.window import AdminWindow
from ui.bridge import EngineBridge
from ui.kiosk import KioskWindow
from ui.maintenance import Maintenance
from ui.staff_login import AttemptLimiter, StaffLoginDialog
from ui.talk_window import TalkWindow

pytestmark = pytest.mark.qt


def unnamed_controls(root: QWidget) -> list[str]:
    """Controls a screen reader would announce without a name."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, QAbstractButton | QLineEdit | QComboBox | QSpinBox):
            continue
        if isinstance(widget.parent(), QComboBox | QSpinBox | QLineEdit):
            continue  # parts of a named control (a combo box's line edit, a clear button)
        if widget.objectName().startswith("qt_"):
            continue  # Qt's own parts (scroll bar buttons, the wizard's own buttons)
        name = widget.accessibleName() or (
            widget.text().replace("&", "") if isinstance(widget, QAbstractButton) else ""
        )
        if not name.strip():
            missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return missing


def test_staff_login_checks_the_pin_in_the_background(staff_history: History, qtbot: Any) -> None:
    dialog = StaffLoginDialog(lambda: staff_history, limiter=AttemptLimiter())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=10_000)
    dialog.secret.setText("9999")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.checking and dialog.status.text() == "Checking…"  # the window did not wait
    qtbot.waitUntil(lambda: not dialog.checking, timeout=20_000)
    assert "4 tries left" in dialog.status.text()
    dialog.secret.setText(STAFF_PIN)
    with qtbot.waitSignal(dialog.verified, timeout=20_000) as verified:
        qtbot.keyClick(dialog.secret, Qt.Key.Key_Return)
    assert verified.args == [STAFF_EMAIL]
    assert dialog.result() == dialog.DialogCode.Accepted


def test_diagnostics_show_each_component_and_the_model_files(
    ui_settings: Settings, staff_history: History, qtbot: Any
) -> None:
    bridge = EngineBridge()
    window = AdminWindow(bridge, ui_settings, lambda: staff_history, staff_email=STAFF_EMAIL)
    qtbot.addWidget(window)
    window.show()
    feed(
        bridge,
        qtbot,
        EventType.COMPONENT,
        component="llm",
        state="missing",
        detail="no llm model is installed; run `petvisor-desktop models install-dev`",
    )
    window.show_tab("diagnostics")
    page = window.diagnostics_page
    row = [page.components.item(r, 0).text() for r in range(page.components.rowCount())].index(
        "Language model"
    )
    assert page.components.item(row, 1).text() == "Missing"
    assert "models install-dev" in page.components.item(row, 3).text()
    qtbot.waitUntil(lambda: page.models.rowCount() > 0, timeout=30_000)
    models = {page.models.item(r, 0).text(): r for r in range(page.models.rowCount())}
    quick = models[QUICK_LLM]
    assert page.models.item(quick, 2).text().endswith(".gguf")
    assert page.models.item(quick, 4).text().startswith("1d9614638d18")  # the manifest's SHA
    qtbot.waitUntil(lambda: page.versions.rowCount() > 0, timeout=30_000)
    parts = {page.versions.item(r, 0).text() for r in range(page.versions.rowCount())}
    assert {"Petvisor Desktop", "Python", "Qt", "llama_cpp_python"} <= parts


def test_the_connection_test_says_why_it_could_not_connect(
    ui_settings: Settings, qtbot: Any
) -> None:
    """Without a secret the test does not start; with a site that does not answer, the
    engine's test says which error (nothing listens on port 9)."""
    page = SettingsPage(ui_settings)
    qtbot.addWidget(page)
    page.real_radio.setChecked(True)
    seeds = {
        "base_url": "http://127.0.0.1:9",
        "auth_url": "http://127.0.0.1:9/auth",
        "partner_key": "partner",
        "site_hash": "site",
        "site_id": "7",
        "booking_hash": "booking",
    }
    for seed, value in seeds.items():
        page.seed_edits[seed].setText(value)
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=30_000)
    assert page.vetstoria_status.text() == (
        "Could not connect: enter the secret first (none is stored in the keychain yet)"
    )
    page.secret.setText("a-secret")
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert page.vetstoria_status.text() == "Connecting…" and not page.test_button.isEnabled()
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=60_000)
    assert page.vetstoria_status.text().startswith("Could not connect: unavailable: ")
    assert page.vetstoria_status.property("role") == "problem"
    assert "a-secret" not in page.vetstoria_status.text()


def test_staff_accounts_can_be_added_and_disabled(staff_history: History, qtbot: Any) -> None:
    from ui.admin.staff_page import StaffPage

    page = StaffPage(lambda: staff_history)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)
    page.email.setText("vet@clinic.example")
    page.secret.setText("123")  # too short: refused with the reason
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text().startswith("Not added"), timeout=10_000)
    page.secret.setText("55551234")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=20_000)
    page.table.selectRow(
        [page.table.item(r, 0).text() for r in range(2)].index("vet@clinic.example")
    )
    qtbot.mouseClick(page.disable_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "disabled" in page.status.text(), timeout=10_000)
    assert not staff_history.verify_user("vet@clinic.example", "55551234").ok


def test_the_scheduled_backup_runs_in_the_background(
    ui_settings: Settings, history: History, qtbot: Any
) -> None:
    history.start_conversation("kiosk")
    upkeep = Maintenance(ui_settings, lambda: history, first_ms=0)
    with qtbot.waitSignal(upkeep.backup_done, timeout=30_000) as done:
        upkeep.run_now()
        assert upkeep.busy  # started, not finished: the GUI thread did not wait
    assert done.args[0] is not None
    assert len(list_backups(ui_settings.storage.backup_dir)) == 1
    with qtbot.waitSignal(upkeep.backup_done, timeout=30_000) as again:
        upkeep.run_now()
    assert again.args[0] is None  # not due again for a day


def test_every_control_has_a_name_and_the_kiosk_works_by_keyboard(
    ui_settings: Settings, staff_history: History, qtbot: Any
) -> None:
    bridge = EngineBridge()
    all_ready(bridge, qtbot, voice=True)
    kiosk = KioskWindow(bridge, ui_settings, history=lambda: staff_history)
    talk = TalkWindow(bridge, ui_settings)
    admin = AdminWindow(bridge, ui_settings, lambda: staff_history)
    login = StaffLoginDialog(lambda: staff_history, keypad=True)
    for window in (kiosk, talk, admin, login):
        qtbot.addWidget(window)
        assert unnamed_controls(window) == [], type(window).__name__
    # Keyboard only: Tab goes round the idle screen's controls, Space presses them.
    kiosk.show()
    qtbot.waitExposed(kiosk)
    kiosk.activateWindow()
    kiosk.idle_page.start.setFocus()
    reached = []
    for _ in range(6):
        focused = kiosk.focusWidget()
        assert focused is not None
        reached.append(focused.objectName())
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert {"startTalking", "typeInstead", "talkToReception", "staffButton"} <= set(reached)
    kiosk.exit_allowed = True
    talk.close_allowed = True


def test_fonts_scale_and_the_kiosk_is_larger() -> None:
    desk = theme.Theme.for_mode(kiosk=False)
    kiosk = theme.Theme.for_mode(kiosk=True, screen_height_px=1080)
    small_kiosk = theme.Theme.for_mode(kiosk=True, screen_height_px=800)
    assert desk.pt() < small_kiosk.pt() < kiosk.pt()
    assert desk.zoomed(+1).pt() > desk.pt() and desk.zoomed(-1).pt() < desk.pt()
    assert desk.zoomed(+1).zoomed(0).scale == 1.0
    assert f"font-size: {kiosk.pt(2.2)}pt" in kiosk.stylesheet()
