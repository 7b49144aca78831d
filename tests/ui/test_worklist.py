"""The reception worklist on screen, on a real history file: the staff page (the item, what to
check in Vetstoria, done, notes, the verdict, reopening, and a full disk said with the action
kept), the badge, the chime and the notice when an item arrives from another process, the
history browser's filter, and a kiosk that never shows another caller's details."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QSystemTrayIcon,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from petvisor_desktop.history import History
from petvisor_desktop.settings import Settings
from tests.history.test_worklist import CANCEL_CARD, handed_off, unconfirmed
from tests.small_disk import fill, small_disk  # noqa: F401 - the fixture
from tests.ui.conftest import STAFF_EMAIL, STAFF_PIN
from ui.admin.history_browser import HistoryBrowser
from ui.admin.window import AdminWindow
from ui.admin.worklist_page import WorklistPage
from ui.app import App
from ui.bridge import EngineBridge
from ui.workers import settle
from ui.worklist_watch import WorklistAlert, WorklistWatch, chime

pytestmark = pytest.mark.qt

# The details of the caller on the worklist, which only staff screens may show.
CALLER_DETAILS = ("Okafor", "Mittens", "07700900456", "james.okafor@example.com")


def texts(root: QWidget) -> str:
    """Everything a window shows or says about itself, in one string."""
    found = [root.windowTitle()]
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            found.append(widget.text())
        if isinstance(widget, QTextEdit):
            found.append(widget.toPlainText())
        found += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
    return "\n".join(found)


def page_for(history: History, qtbot: Any, **kwargs: Any) -> WorklistPage:
    page = WorklistPage(lambda: history, **kwargs)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    page.reload()
    qtbot.waitUntil(lambda: not page.loading and page.model.rowCount() > 0, timeout=10_000)
    return page


def select(page: WorklistPage, item_id: int) -> None:
    row = next(i for i, item in enumerate(page.model.rows) if item.id == item_id)
    page.table.selectRow(row)
    assert page.selected_id == item_id


def test_staff_see_an_item_whole_and_settle_a_lost_booking(
    staff_history: History, qtbot: Any
) -> None:
    history = staff_history
    cancel = handed_off(history, "cancel", card=CANCEL_CARD)
    lost = unconfirmed(history)
    page = page_for(history, qtbot, staff_email=STAFF_EMAIL)
    assert page.status.text() == "2 open items"
    assert [page.model.data(page.model.index(r, 1)) for r in range(2)] == [
        "Unconfirmed booking",
        "Cancellation",
    ]
    select(page, cancel)
    shown = page.detail.toPlainText()
    for part in ("Wants to cancel a booking", "James Okafor (Mittens)", "07700900456"):
        assert part in shown
    assert "Thursday 26 November" in shown and "12:00 pm" in shown
    assert not page.found_button.isVisible()  # nothing to look for in Vetstoria

    select(page, lost)
    shown = page.detail.toPlainText()
    assert "Look for this in Vetstoria:" in shown
    assert (
        "Vaccinations with Dr Amy Roberts on Friday 27 November at 2:00 pm, for Alfie (dog), "
        "owner Hannah Wright" in shown
    )
    assert page.found_button.isVisible() and page.found_button.isEnabled()
    qtbot.mouseClick(page.found_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Found in Vetstoria" in page.feedback.text(), timeout=10_000)
    item = history.worklist_item(lost)
    assert item is not None and item.verdict == "found_in_vetstoria"
    assert item.booking is not None and item.booking.status == "confirmed"
    assert item.actions[-1].staff == "Nurse Jo"  # the signed-in member of staff, by name
    qtbot.waitUntil(lambda: "Checked: Found in Vetstoria" in page.detail.toPlainText())

    qtbot.keyClicks(page.note_edit, "Rang Hannah: it stands")
    qtbot.mouseClick(page.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)  # open items only
    item = history.worklist_item(lost)
    assert item is not None and not item.is_open and item.done_by == "Nurse Jo"
    assert item.actions[-1].note == "Rang Hannah: it stands" and page.note_edit.text() == ""

    page.filter.setCurrentIndex(page.filter.findData(False))  # all items, done ones too
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    select(page, lost)
    assert page.reopen_button.isEnabled() and not page.done_button.isEnabled()
    qtbot.mouseClick(page.reopen_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Reopened" in page.feedback.text(), timeout=10_000)
    item = history.worklist_item(lost)
    assert item is not None and item.is_open


def test_on_a_full_disk_marking_done_is_kept_and_the_page_says_so(
    small_disk: Path,  # noqa: F811
    qtbot: Any,
) -> None:
    history = History.open(small_disk / "petvisor.sqlite3")
    history.create_user(STAFF_EMAIL, STAFF_PIN, "Nurse Jo")
    cancel = handed_off(history, "cancel")
    page = page_for(history, qtbot, staff_email=STAFF_EMAIL)
    try:
        filler = fill(small_disk)
        select(page, cancel)
        qtbot.mouseClick(page.done_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.feedback.text() != "Saving…", timeout=10_000)
        assert page.feedback.text().endswith(
            "Nurse Jo: Marked done (not yet saved: the disk is full; kept and saved when space "
            "is freed)"
        )
        assert page.feedback.property("role") == "warning"
        # Done as far as staff can see: gone from the open items, the page says why it waits.
        qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=10_000)
        assert "The disk holding the history is full" in page.status.text()
        assert page.status.property("role") == "warning"

        filler.unlink()
        assert history.write_kept() == 0
        page.reload()
        qtbot.waitUntil(lambda: "full" not in page.status.text(), timeout=10_000)
        item = history.worklist_item(cancel)
        assert item is not None and item.done_by == "Nurse Jo" and not item.actions[-1].kept
    finally:
        page.stop_polling()
        history.close()


def test_nobody_signed_in_can_read_but_not_change_an_item(
    staff_history: History, qtbot: Any
) -> None:
    handed_off(staff_history, "person")
    page = page_for(staff_history, qtbot, staff_email="")
    assert page.selected_id is not None
    for control in (page.done_button, page.note_edit, page.note_button):
        assert not control.isEnabled()
    assert "Sign in" in page.note_edit.placeholderText()


def test_the_admin_tab_counts_open_items_and_opens_one_in_the_history(
    staff_history: History, ui_settings: Settings, qtbot: Any
) -> None:
    cancel = handed_off(staff_history, "cancel", card=CANCEL_CARD)
    handed_off(staff_history, "person")
    admin = AdminWindow(EngineBridge(), ui_settings, lambda: staff_history, staff_email=STAFF_EMAIL)
    qtbot.addWidget(admin)
    tabs: QTabWidget = admin.tabs
    qtbot.waitUntil(lambda: tabs.tabText(0) == "&Worklist (2 open)", timeout=10_000)
    page = admin.worklist_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    select(page, cancel)
    qtbot.mouseClick(page.history_button, Qt.MouseButton.LeftButton)
    browser = admin.history_page
    assert tabs.currentWidget() is browser
    assert browser.worklist.currentData() == "all"
    shown = "handed to reception (cancel)"  # its summary, not the other item's
    qtbot.waitUntil(lambda: shown in browser.detail.toPlainText(), timeout=10_000)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 2 and not browser.loading)
    admin.close()


def test_the_history_browser_filters_on_worklist_items(staff_history: History, qtbot: Any) -> None:
    from tests.history.conftest import record_booked_conversation

    open_item = handed_off(staff_history, "emergency")
    done_item = handed_off(staff_history, "cancel")
    staff_history.mark_done(done_item, "Nurse Jo")
    record_booked_conversation(staff_history)
    browser = HistoryBrowser(lambda: staff_history)
    qtbot.addWidget(browser)

    def shown(filter_key: str | None) -> set[int]:
        browser.worklist.setCurrentIndex(browser.worklist.findData(filter_key))
        browser.reload()
        qtbot.waitUntil(lambda: not browser.loading, timeout=10_000)
        return {info.id for info in browser.model.rows}

    assert len(shown(None)) == 3
    assert shown("open") == {open_item}
    assert shown("all") == {open_item, done_item}


def test_an_arriving_item_chimes_and_shows_a_notice_without_the_callers_details(
    ui_settings: Settings, staff_history: History, qtbot: Any
) -> None:
    """The staff's window (push-to-talk) while the kiosk, another process, hands callers
    over: the badge counts, and a new item chimes and is announced once."""
    handed_off(staff_history, "person")  # open before the window started: not news
    staff_history.close()  # the app opens the database as its first user
    chimes: list[int] = []
    app = App(
        without_llm(ui_settings),
        kiosk=False,
        voice=False,
        worklist_sound=lambda: chimes.append(1),
        worklist_poll_ms=100,
    )
    app.show()
    qtbot.addWidget(app.window)
    app.start_engine()
    window = app.window
    qtbot.waitUntil(lambda: window.worklist_button.text() == "Worklist: 1 open", timeout=60_000)
    assert window.worklist_button.property("kind") == "danger"
    assert chimes == [] and not window.worklist_notice.isVisible()

    kiosk = History.open(ui_settings.storage.db_path)  # the kiosk's process, as it were
    try:
        assert app.worklist_watch is not None
        with qtbot.waitSignal(app.worklist_watch.arrived, timeout=10_000):
            cid = handed_off(kiosk, "cancel", card=CANCEL_CARD)
        qtbot.waitUntil(lambda: window.worklist_button.text() == "Worklist: 2 open")
        qtbot.waitUntil(lambda: chimes == [1], timeout=10_000)
        notice = window.worklist_notice.text.text()
        if QSystemTrayIcon.isSystemTrayAvailable():  # a desktop with a notification area
            assert app.worklist_alert is not None and app.worklist_alert.tray is not None
        else:
            assert window.worklist_notice.isVisible()
            assert notice.startswith("New on the worklist: Cancellation (")
        assert app.worklist_alert is not None
        assert (app.worklist_alert.last_notice or "").startswith("New on the worklist: Cancel")
        for detail in CALLER_DETAILS:
            assert detail not in notice and detail not in texts(window)
        kiosk.mark_done(cid, "Nurse Jo")
        qtbot.waitUntil(lambda: window.worklist_button.text() == "Worklist: 1 open")
        assert chimes == [1]  # closing an item is not news
    finally:
        kiosk.close()
    app.quit()
    qtbot.waitUntil(lambda: app.finished, timeout=30_000)


def test_with_a_notification_area_the_notice_goes_there(qtbot: Any, history: History) -> None:
    banners: list[str] = []
    alert = WorklistAlert(banners.append, tray_available=lambda: True)
    item = history.worklist_item(handed_off(history, "emergency"))
    alert.on_watch_arrived([item])
    assert isinstance(alert.tray, QSystemTrayIcon) and banners == []
    assert alert.last_notice is not None and alert.last_notice.startswith(
        "New on the worklist: Emergency ("
    )


def test_the_chime_is_short_and_audible() -> None:
    sound = chime()
    assert sound.dtype == np.float32 and 0.3 < len(sound) / 24_000 < 1.0
    assert 0.1 < float(np.max(np.abs(sound))) <= 0.3


def test_the_kiosk_never_shows_another_callers_details(
    ui_settings: Settings, staff_history: History, qtbot: Any
) -> None:
    handed_off(staff_history, "cancel", card=CANCEL_CARD)
    staff_history.close()  # the kiosk opens the database as its first user
    app = App(without_llm(ui_settings), kiosk=True, voice=False, worklist_poll_ms=100)
    app.show()
    qtbot.addWidget(app.window)
    app.start_engine()
    qtbot.waitUntil(lambda: app.history() is not None and app.first_run_checked, timeout=60_000)
    assert app.worklist_watch is None and app.worklist_alert is None

    # A staff window elsewhere on the same PC notices the next hand-off; by then the kiosk
    # has had every chance to, too.
    with History.open(ui_settings.storage.db_path) as elsewhere:
        staff_window = WorklistWatch(lambda: elsewhere, interval_ms=100)
        with qtbot.waitSignal(staff_window.changed, timeout=10_000):
            staff_window.start()
        with qtbot.waitSignal(staff_window.arrived, timeout=10_000):
            handed_off(elsewhere, "not_understood", card=CANCEL_CARD)
        staff_window.stop()
        settle()

    shown = texts(app.window)
    for detail in (*CALLER_DETAILS, "worklist", "Worklist"):
        assert detail not in shown
    tray_icons = [w for w in QApplication.instance().findChildren(QSystemTrayIcon)]
    assert tray_icons == [] and app.findChildren(QSystemTrayIcon) == []
    app.quit()
    qtbot.waitUntil(lambda: app.finished, timeout=30_000)


def without_llm(settings: Settings) -> Settings:
    """The app without its language model: it starts in seconds, and the worklist does not
    need the model."""
    return dataclasses.replace(
        settings,
        models=dataclasses.replace(settings.models, llm="qwen2.5-1.5b-instruct-q4_k_m"),
    )
