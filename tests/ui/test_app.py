"""The whole app with the real engine, in the states that need no language model: start-up
(the window first, loading in the background), missing components, the first-run setup,
leaving the kiosk with a staff PIN, and the settings screen's keychain and connection test."""

from __future__ import annotations

import ast
import dataclasses
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from petvisor_desktop.history import History
from petvisor_desktop.settings import Settings, VetstoriaSettings, load_settings
from tests.ui.conftest import STAFF_EMAIL, STAFF_PIN
from ui import credentials, staff_login
from ui.app import App
from ui.staff_login import AttemptLimiter
from vetstoria.sandbox import SandboxClinic

pytestmark = pytest.mark.qt

NOT_INSTALLED_LLM = "qwen2.5-1.5b-instruct-q4_k_m"  # in the manifest, never installed in CI


def without_llm(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, models=dataclasses.replace(settings.models, llm=NOT_INSTALLED_LLM)
    )


def with_staff(settings: Settings) -> None:
    with History.open(settings.storage.db_path) as history:
        history.create_user(STAFF_EMAIL, STAFF_PIN, "Nurse Jo")


def close_app(app: App, qtbot: Any) -> None:
    app.quit()
    qtbot.waitUntil(lambda: app.finished, timeout=30_000)


def press_keys(qtbot: Any, dialog: Any, pin: str) -> None:
    """Enter a PIN on the on-screen keypad, as a finger would."""
    keys = {b.text(): b for b in dialog.findChildren(type(dialog.ok_button))}
    for digit in pin:
        qtbot.mouseClick(keys[digit], Qt.MouseButton.LeftButton)


def test_the_window_comes_first_and_a_missing_model_says_what_to_do(
    ui_settings: Settings, qtbot: Any
) -> None:
    """No language model, no microphone, no speaker (this machine has no sound device) and a
    booking system that cannot be reached: each is a state on screen, never a crash."""
    down = VetstoriaSettings(
        base_url="http://127.0.0.1:9",
        auth_url="http://127.0.0.1:9/auth",
        partner_key="partner",
        secret="secret",
        site_hash="site",
        site_id=1,
        booking_hash="booking",
        timeout_s=1.0,
    )
    settings = dataclasses.replace(without_llm(ui_settings), vetstoria=down)
    with_staff(settings)
    app = App(settings, kiosk=True, voice=True)
    app.show()
    qtbot.addWidget(app.window)
    assert app.shown_at is not None and app.shown_at - app.created_at < 2.0
    assert app.bridge.engine is None  # nothing loaded yet: the window did not wait for it
    assert app.window.idle_page.subtitle.text() == "Just a moment, I'm getting ready…"
    app.start_engine()
    bridge = app.bridge

    def settled() -> bool:
        return all(
            bridge.component_state(n) not in ("loading",)
            for n in ("history", "vetstoria", "llm", "microphone", "speaker")
        )

    qtbot.waitUntil(settled, timeout=120_000)
    assert bridge.component_state("history") == "ready"
    assert bridge.component_state("llm") == "missing"
    assert bridge.component_state("vetstoria") == "error"
    assert bridge.component_state("microphone") in ("missing", "error")
    idle = app.window.idle_page
    assert idle.title.text() == "Sorry, I can't take bookings right now."
    assert "reception" in idle.subtitle.text()
    assert not idle.start.isVisible() and not idle.type.isVisible()
    assert not app.window.handoff.isVisible()  # nothing to hand over with
    _title, state, _bar, detail = idle.status.rows["llm"]
    assert state.text() == "Missing" and detail.isVisible()
    assert "petvisor-desktop models" in detail.text()  # the command that fixes it
    vetstoria_detail = idle.status.rows["vetstoria"][3]
    assert "cannot be reached" in vetstoria_detail.text()
    mic_detail = idle.status.rows["microphone"][3]
    assert "microphone" in mic_detail.text().lower() and mic_detail.isVisible()
    # Touching "Start" is impossible, and asking the bridge directly is refused politely.
    with qtbot.waitSignal(bridge.intent_refused):
        assert not bridge.start_conversation()
    close_app(app, qtbot)


def test_leaving_the_kiosk_needs_the_staff_pin(
    ui_settings: Settings, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(staff_login, "STAFF_LIMITER", AttemptLimiter(clock=lambda: now[0]))
    settings = without_llm(ui_settings)
    with_staff(settings)
    app = App(settings, kiosk=True, voice=False)
    app.show()
    qtbot.addWidget(app.window)
    app.start_engine()
    window = app.window
    qtbot.waitUntil(lambda: app.history() is not None and app.first_run_checked, timeout=60_000)

    # Closing the window (Alt+F4) does not leave: it asks for the PIN.
    assert not window.close()
    assert window.isVisible()
    dialog = window.staff_dialog
    qtbot.waitUntil(lambda: dialog.user.count() == 1, timeout=10_000)
    dialog.reject()

    qtbot.mouseClick(window.staff, Qt.MouseButton.LeftButton)
    dialog = window.staff_dialog
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=10_000)
    assert dialog.user.currentData() == STAFF_EMAIL
    for attempt in range(1, 6):
        press_keys(qtbot, dialog, "1111")
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.checking, timeout=20_000)
        assert dialog.isVisible() and not dialog.result()
        if attempt < 5:
            assert f"{5 - attempt} tr" in dialog.status.text()
    assert "Too many wrong tries" in dialog.status.text()
    assert "60 seconds" in dialog.status.text()
    assert not dialog.ok_button.isEnabled()
    # Even the right PIN is not checked during the lockout.
    press_keys(qtbot, dialog, STAFF_PIN)
    dialog.on_ok_button_clicked()
    assert not dialog.checking and dialog.isVisible()
    dialog.secret.clear()

    now[0] += 61  # a minute later
    qtbot.waitUntil(lambda: dialog.ok_button.isEnabled(), timeout=5_000)
    press_keys(qtbot, dialog, STAFF_PIN)
    with qtbot.waitSignal(dialog.verified, timeout=20_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(window, "staff_menu", None) is not None)
    menu = window.staff_menu
    exit_button = next(
        b for b in menu.findChildren(type(dialog.ok_button)) if b.objectName() == "staffExit"
    )
    with qtbot.waitSignal(window.exit_requested):
        qtbot.mouseClick(exit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.finished, timeout=30_000)
    assert not window.isVisible()


def test_the_first_start_asks_for_a_staff_account(ui_settings: Settings, qtbot: Any) -> None:
    settings = without_llm(ui_settings)
    app = App(settings, kiosk=False, voice=False)
    app.show()
    qtbot.addWidget(app.window)
    app.start_engine()
    qtbot.waitUntil(lambda: app.wizard is not None and app.wizard.isVisible(), timeout=60_000)
    wizard = app.wizard
    wizard.next()
    page = wizard.staff_page
    page.email.setText(STAFF_EMAIL)
    page.secret.setText("12")
    page.repeat.setText("12")
    wizard.next()
    assert wizard.currentPage() is page  # too short: refused with a reason
    assert "4 digits" in page.problem.text()
    page.secret.setText(STAFF_PIN)
    page.repeat.setText(STAFF_PIN)
    wizard.next()
    wizard.clinic_name.setText("Riverside Vets")
    wizard.next()
    wizard.next()
    with qtbot.waitSignal(wizard.completed, timeout=30_000):
        wizard.accept()
    history = app.history()
    assert [u.email for u in history.users()] == [STAFF_EMAIL]
    assert history.verify_user(STAFF_EMAIL, STAFF_PIN).ok
    saved = tomllib.loads(settings.config_path.read_text())
    assert saved["clinic"]["name"] == "Riverside Vets"
    close_app(app, qtbot)


def test_vetstoria_credentials_go_to_the_keychain_not_the_file(
    ui_settings: Settings, qtbot: Any, memory_keyring: Any
) -> None:
    from ui.admin.settings_page import SettingsPage

    page = SettingsPage(ui_settings)
    qtbot.addWidget(page)
    page.show()
    with SandboxClinic(now="2026-11-23T09:00") as clinic:
        config = clinic.config()
        page.real_radio.setChecked(True)
        for seed in ("base_url", "auth_url", "partner_key", "site_hash", "booking_hash"):
            page.seed_edits[seed].setText(getattr(config, seed))
        page.seed_edits["site_id"].setText(str(config.site_id))
        page.secret.setText("wrong-secret")
        qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=30_000)
        # The engine's connection test says which error, as the screen always has.
        assert page.vetstoria_status.text().startswith("Could not connect: auth: ")
        assert page.vetstoria_status.property("role") == "problem"
        page.secret.setText(config.secret)
        qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=30_000)
        assert page.vetstoria_status.text().startswith("Connected:"), page.vetstoria_status.text()
        assert " species, " in page.vetstoria_status.text()
        assert page.vetstoria_status.property("role") == "ok"
        with qtbot.waitSignal(page.saved, timeout=30_000):
            qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert credentials.load_secret() == config.secret
    text = ui_settings.config_path.read_text()
    assert config.secret not in text
    saved = tomllib.loads(text)
    assert saved["vetstoria"]["base_url"] == config.base_url
    assert saved["vetstoria"]["site_id"] == config.site_id
    # With the secret from the keychain, the file is a valid real-site configuration.
    loaded = load_settings(ui_settings.config_path, env={"VETSTORIA_SECRET": config.secret})
    assert not loaded.vetstoria.use_sandbox
    assert page.secret.text() == ""  # never left on screen


def test_the_window_appears_within_two_seconds_of_launch(ui_settings: Settings, qtbot: Any) -> None:
    started = time.monotonic()
    app = App(without_llm(ui_settings), kiosk=False, voice=False)
    app.show()
    qtbot.addWidget(app.window)
    qtbot.waitExposed(app.window)
    assert time.monotonic() - started < 2.0
    assert app.window.statusBar().currentMessage().startswith("Starting up")
    close_app(app, qtbot)


def test_staff_can_zoom_the_window_and_it_is_remembered(ui_settings: Settings, qtbot: Any) -> None:
    app = App(without_llm(ui_settings), kiosk=False, voice=False)
    qtbot.addWidget(app.window)
    base = app.theme.pt()
    app.zoom(1)
    app.zoom(1)
    assert app.theme.pt() > base
    assert f"font-size: {app.theme.pt()}pt" in app.qapp.styleSheet()
    close_app(app, qtbot)
    again = App(without_llm(ui_settings), kiosk=False, voice=False)
    qtbot.addWidget(again.window)
    assert again.theme.scale == app.theme.scale
    again.zoom(0)
    assert again.theme.scale == 1.0
    close_app(again, qtbot)


def test_saved_opening_hours_reach_the_kiosk_and_the_engine_at_once(
    ui_settings: Settings, qtbot: Any
) -> None:
    settings = without_llm(ui_settings)
    with_staff(settings)
    app = App(settings, kiosk=True, voice=False, now="2026-11-21T13:00")  # Saturday afternoon
    app.show()
    qtbot.addWidget(app.window)
    app.start_engine()
    qtbot.waitUntil(lambda: app.history() is not None and app.first_run_checked, timeout=60_000)
    idle = app.window.idle_page
    qtbot.waitUntil(lambda: idle.hours_line.text().startswith("We're closed now"), timeout=10_000)

    app.open_admin(STAFF_EMAIL, "settings")
    page = app.admin.settings_page
    page.hours_edits[5].setText("09:00-17:00")  # Saturday now open all afternoon
    page.out_of_hours_phone.setText("01632 960999")
    page.clinic_name.setText("Riverside Vets")  # used after a restart, as the screen says
    with qtbot.waitSignal(page.saved, timeout=30_000):
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "Opening hours apply now" in page.save_status.text()
    assert idle.hours_line.text() == "Open today until 5pm"
    clinic = app.bridge.engine.settings.clinic  # the next conversation's greeting and hand-offs
    assert clinic.hours.is_open(app.bridge.engine.clinic_now())
    assert clinic.emergency_phone == "01632 960999"
    assert clinic.name == settings.clinic.name
    app.admin.close()
    close_app(app, qtbot)


def test_the_ui_changes_the_engine_only_through_its_methods() -> None:
    """No widget writes an engine field or builds a booking client of its own: saved
    settings go through `Engine.apply_settings` and a connection test through
    `Engine.test_vetstoria` (the arrows point ui -> petvisor_desktop -> vetstoria)."""
    root = Path(credentials.__file__).parent  # the app's ui/, not the tests'
    side_doors = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(root.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in getattr(node, "names", [])]
                if any(n == "vetstoria" or n.startswith("vetstoria.") for n in names):
                    side_doors.append(f"{where} imports the booking client")
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign | ast.AnnAssign)
                else []
            )
            for target in targets:
                while isinstance(target, ast.Attribute):
                    owner = target.value
                    if (isinstance(owner, ast.Name) and owner.id == "engine") or (
                        isinstance(owner, ast.Attribute) and owner.attr == "engine"
                    ):
                        side_doors.append(f"{where} writes engine.{target.attr}")
                        break
                    target = owner
    assert side_doors == []
