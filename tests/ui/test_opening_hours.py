"""The clinic's opening hours on screen: edited a weekday per row in the settings (checked as
typed, refused on save when a row does not read), said on the kiosk's idle screen at the
clinic's time (the engine's pinned "now", as in the demo), and handed to the engine through
the bridge when saved."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterator
from datetime import time
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from petvisor_desktop.runtime import Engine
from petvisor_desktop.settings import Settings, SettingsError, load_settings
from ui.admin import settings_io
from ui.admin.settings_page import SettingsPage
from ui.bridge import EngineBridge
from ui.kiosk import HOURS_REFRESH_MS, KioskWindow

pytestmark = pytest.mark.qt

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONDAY_OPEN = "2026-11-23T09:00"
SATURDAY_CLOSED = "2026-11-21T13:00"  # Saturday's hours end at noon


@pytest.fixture
def page(ui_settings: Settings, qtbot: Any) -> SettingsPage:
    page = SettingsPage(ui_settings)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitExposed(page)
    return page


def rows(page: SettingsPage) -> dict[str, str]:
    return {day: edit.text() for day, edit in zip(DAYS, page.hours_edits, strict=True)}


def save(page: SettingsPage, qtbot: Any) -> dict[str, Any]:
    with qtbot.waitSignal(page.saved, timeout=30_000):
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert page.settings.config_path is not None
    return tomllib.loads(page.settings.config_path.read_text())


def test_the_hours_are_edited_a_day_per_row_and_saved_in_one_line(
    page: SettingsPage, qtbot: Any
) -> None:
    assert page.keep_hours.isChecked()
    assert rows(page) == {
        "mon": "08:30-18:00",
        "tue": "08:30-18:00",
        "wed": "08:30-18:00",
        "thu": "08:30-18:00",
        "fri": "08:30-18:00",
        "sat": "09:00-12:00",
        "sun": "",
    }
    assert page.hours_edits[6].placeholderText() == "closed"
    assert page.out_of_hours_phone.placeholderText() == page.clinic_phone.text()
    page.hours_edits[5].setText("closed")
    page.hours_edits[2].clear()
    qtbot.keyClicks(page.hours_edits[2], "08:30-12:30, 14:00-18:00")
    page.out_of_hours_phone.setText("01632 960111")
    assert page.hours_status.property("role") == "muted"

    saved = save(page, qtbot)
    assert saved["clinic"]["opening_hours"] == (
        "mon-tue 08:30-18:00; wed 08:30-12:30, 14:00-18:00; thu-fri 08:30-18:00"
    )
    assert saved["clinic"]["out_of_hours_phone"] == "01632 960111"
    assert page.settings.config_path is not None
    clinic = load_settings(page.settings.config_path, env={}).clinic
    assert clinic.hours.days[2] == ((time(8, 30), time(12, 30)), (time(14), time(18)))
    assert clinic.hours.days[5] == ()
    assert clinic.hours.days[0] == ((time(8, 30), time(18)),)
    assert clinic.emergency_phone == "01632 960111"


def test_a_row_that_does_not_read_says_why_and_is_not_saved(page: SettingsPage, qtbot: Any) -> None:
    path = page.settings.config_path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[clinic]\nname = "Riverside Vets"\n')
    before = path.read_text()

    wednesday = page.hours_edits[2]
    wednesday.clear()
    qtbot.keyClicks(wednesday, "9-5x")
    # Said at once, under the rows, naming the day and the part that is wrong.
    assert page.hours_status.property("role") == "problem"
    assert page.hours_status.text() == "Wednesday: '5x' in '9-5x' is not a time like 08:30"
    assert wednesday.property("role") == "problem"
    assert page.hours_edits[1].property("role") != "problem"

    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert page.save_status.property("role") == "problem"
    assert "opening hours" in page.save_status.text()
    assert "'5x' in '9-5x'" in page.save_status.text()
    assert path.read_text() == before
    # The settings file's own check refuses the same value, naming the setting.
    with pytest.raises(SettingsError) as refused:
        settings_io.save(path, page.changes())
    assert refused.value.setting == "clinic.opening_hours"
    assert path.read_text() == before

    # Put right, the mark and the message go.
    wednesday.setText("09:00-17:00")
    assert wednesday.property("role") != "problem"
    assert page.hours_status.property("role") == "muted"
    saved = save(page, qtbot)
    assert "wed 09:00-17:00" in saved["clinic"]["opening_hours"]


def test_without_hours_kept_the_rows_are_off_and_nothing_is_saved(
    page: SettingsPage, qtbot: Any
) -> None:
    # By keyboard: the box, the seven days in order, then the out-of-hours phone.
    page.activateWindow()
    page.keep_hours.setFocus()
    reached = []
    for _ in range(9):
        focused = QApplication.focusWidget()
        assert focused is not None
        reached.append(focused.objectName())
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert reached == ["keepHours", *(f"hours_{day}" for day in DAYS), "outOfHoursPhone"]

    page.hours_edits[0].setText("nine to five")
    assert page.hours_status.property("role") == "problem"
    qtbot.keyClick(page.keep_hours, Qt.Key.Key_Space)
    assert not page.keep_hours.isChecked()
    assert not any(edit.isEnabled() for edit in page.hours_edits)
    assert page.hours_status.property("role") == "muted"  # rows not kept are not checked

    saved = save(page, qtbot)
    assert saved["clinic"]["opening_hours"] == ""
    assert page.settings.config_path is not None
    assert not load_settings(page.settings.config_path, env={}).clinic.hours.kept


@pytest.fixture
def kiosk_at(ui_settings: Settings, qtbot: Any) -> Iterator[Any]:
    """A kiosk whose engine (created, not started: no model is loaded) pins the clinic's
    time."""
    made: list[tuple[KioskWindow, Engine]] = []

    def make(now: str, settings: Settings = ui_settings) -> KioskWindow:
        bridge = EngineBridge()
        window = KioskWindow(bridge, settings, history=lambda: None)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        engine = Engine(settings, None, now=now, voice=False, mode="kiosk")
        made.append((window, engine))
        bridge.attach(engine)
        return window

    yield make
    for window, engine in made:
        window.exit_allowed = True
        window.close()
        engine.shutdown()


def test_the_idle_kiosk_says_until_when_the_clinic_is_open(kiosk_at: Any) -> None:
    window = kiosk_at(MONDAY_OPEN)
    idle = window.idle_page
    assert idle.hours_line.objectName() == "hoursLine"
    assert idle.hours_line.isVisible()
    assert idle.hours_line.text() == "Open today until 6pm"
    assert idle.title.text() == "Hello! Need to book a visit for your pet?"
    # Kept up to date while the idle screen shows.
    assert idle.hours_timer.isActive() and idle.hours_timer.interval() == HOURS_REFRESH_MS


def test_the_idle_kiosk_says_when_a_closed_clinic_opens_again(
    kiosk_at: Any, ui_settings: Settings
) -> None:
    window = kiosk_at(SATURDAY_CLOSED)
    line = window.idle_page.hours_line
    assert line.isVisible()
    assert line.text() == (
        "We're closed now and open again on Monday at 8:30am. "
        "You can still book an appointment here."
    )
    no_hours = dataclasses.replace(
        ui_settings, clinic=dataclasses.replace(ui_settings.clinic, opening_hours="")
    )
    quiet = kiosk_at(SATURDAY_CLOSED, no_hours).idle_page.hours_line
    assert not quiet.isVisible() and quiet.text() == ""


def test_saved_hours_reach_the_engine_through_the_bridge_even_before_it_attaches(
    ui_settings: Settings, qtbot: Any
) -> None:
    bridge = EngineBridge()
    clinic = dataclasses.replace(ui_settings.clinic, opening_hours="sat 09:00-17:00")
    saved = dataclasses.replace(ui_settings, clinic=clinic)
    assert bridge.apply_settings(saved) == []  # no engine yet: kept for it
    engine = Engine(ui_settings, None, now=SATURDAY_CLOSED, voice=False, mode="kiosk")
    try:
        assert not engine.settings.clinic.hours.is_open(engine.clinic_now())
        with qtbot.waitSignal(bridge.engine_attached):
            bridge.attach(engine)
        assert engine.settings.clinic.hours.is_open(engine.clinic_now())
        renamed = dataclasses.replace(saved, clinic=dataclasses.replace(clinic, name="Riverside"))
        assert bridge.apply_settings(renamed) == ["clinic.name"]  # after a restart
        assert engine.settings.clinic.name == ui_settings.clinic.name
    finally:
        engine.shutdown()


def test_the_clients_email_domains_are_saved_and_a_wrong_one_is_refused(
    page: SettingsPage, qtbot: Any
) -> None:
    assert page.email_domains.text() == "example.com gmail.com hotmail.co.uk outlook.com"
    page.email_domains.setText("gmail.com, hotmail.co.uk")
    saved = save(page, qtbot)
    assert saved["clinic"]["email_domains"] == "gmail.com hotmail.co.uk"
    assert page.settings.config_path is not None
    clinic = load_settings(page.settings.config_path, env={}).clinic
    assert clinic.domains == ("gmail.com", "hotmail.co.uk")
    before = page.settings.config_path.read_text()

    page.email_domains.setText("gmail hotmail")  # no domains: the settings check refuses it
    with pytest.raises(SettingsError) as refused:
        settings_io.save(page.settings.config_path, page.changes())
    assert refused.value.setting == "clinic.email_domains"
    assert page.settings.config_path.read_text() == before
