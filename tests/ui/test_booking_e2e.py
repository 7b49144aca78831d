"""End to end through the windows with the real engine and the small language model: a booking
typed in the kiosk with the card filling in and the read-back confirmed by touch, the rating,
the screen clearing, the history browser showing it all; the idle timeout; the push-to-talk
window's space bar and "Talk to reception"."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import REPLY_MS, Live, start_with_line, type_line
from ui.admin.history_browser import HistoryBrowser
from ui.kiosk import KioskWindow
from ui.talk_window import TalkWindow

pytestmark = [pytest.mark.qt, pytest.mark.llm, pytest.mark.slow]

LINES = [
    "I'd like to book my dog in for a consultation",
    "Dr Roberts please",
    "Wednesday morning",
    "The first one",
    "His name is Biscuit",
    "Sarah Connolly",
    "07700 900222",
    "No email thanks",
]


def test_a_booking_typed_and_touched_in_the_kiosk(live: Live, qtbot: Any) -> None:
    engine, bridge = live.engine, live.bridge
    sandbox = engine.backend.sandbox
    booked_before = len(sandbox.bookings())
    window = KioskWindow(bridge, live.settings, history=lambda: engine.history, thanks_ms=300)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    assert window.current_page() == "idlePage"
    assert window.idle_page.type.isEnabled()

    with qtbot.waitSignal(bridge.assistant_reply, timeout=REPLY_MS) as greeting:
        qtbot.mouseClick(window.idle_page.type, Qt.MouseButton.LeftButton)
    assert window.current_page() == "conversationPage"
    assert window.type_box.isVisible() and window.type_box.edit.hasFocus()
    assert greeting.args[0]["text"].startswith("Hello, welcome to")
    card = window.view.card
    assert card.is_empty()

    reply: dict[str, Any] = {}
    for number, line in enumerate(LINES):
        reply = type_line(qtbot, bridge, window.type_box.edit, line)
        # The caller's words and the reply are captioned.
        roles_texts = window.view.captions.texts()
        assert ("caller", line) in roles_texts
        assert roles_texts[-1] == ("assistant", reply["text"])
        # What is being asked is highlighted on the card.
        expecting = reply["expecting"]
        for field, row in card.rows.items():
            assert row.expecting == (field == expecting), (field, expecting)
        if number == 0:
            assert card.rows["species"].value == "Dog"
            assert card.rows["appointment_type"].value == "Consultation"
        if expecting in card.rows:
            assert card.rows[expecting].property("expecting") == "true"
    assert reply["read_back"], reply["text"]
    assert card.read_back_panel.isVisible() and card.yes_button.isEnabled()
    assert card.rows["pet_name"].value == "Biscuit"
    assert card.rows["client_name"].value == "Sarah Connolly"
    assert card.rows["phone"].value == "07700900222"
    assert card.rows["date"].value.startswith("Wednesday 25 November")
    assert card.rows["phone"].change.isVisible()  # each detail can be corrected by touch

    # A touch on the phone number at the read-back: it stays marked while the caller
    # gives the right one, and the booking is read back again.
    with qtbot.waitSignal(bridge.assistant_reply, timeout=REPLY_MS):
        qtbot.mouseClick(card.rows["phone"].change, Qt.MouseButton.LeftButton)
    assert ("caller", "I need to change my phone number") in window.view.captions.texts()
    assert card.rows["phone"].expecting and card.read_back_panel.isHidden()
    reply = type_line(qtbot, bridge, window.type_box.edit, "It's 07700 900333")
    assert reply["read_back"], reply["text"]
    assert card.rows["phone"].value == "07700900333"
    assert not card.rows["phone"].expecting
    assert card.read_back_panel.isVisible() and card.yes_button.isEnabled()

    # The touch on "Yes, book it".
    with qtbot.waitSignal(bridge.assistant_reply, timeout=REPLY_MS) as booked:
        qtbot.mouseClick(card.yes_button, Qt.MouseButton.LeftButton)
    assert "booked" in booked.args[0]["text"].lower()
    assert len(sandbox.bookings()) == booked_before + 1
    assert card.heading.text() == "Booked" and card.read_back_panel.isHidden()
    conversation_id = bridge.conversation_id
    assert conversation_id is not None

    qtbot.keyClicks(window.type_box.edit, "No, that's all, bye")
    with qtbot.waitSignal(bridge.conversation_ended, timeout=REPLY_MS) as ended:
        qtbot.keyClick(window.type_box.edit, Qt.Key.Key_Return)
    assert ended.args[0]["outcome"] == "booked"
    assert window.current_page() == "ratingPage"
    assert window.rating_page.outcome.text() == "You're booked in!"
    assert "Biscuit" in window.rating_page.detail.text()

    # One tap rates it, stored with the conversation; then the screen clears.
    qtbot.mouseClick(window.rating_page.bar.buttons[4], Qt.MouseButton.LeftButton)
    assert window.current_page() == "thanksPage"
    qtbot.waitUntil(
        lambda: engine.history.conversation(conversation_id).info.rating == 5, timeout=30_000
    )
    qtbot.waitUntil(lambda: window.current_page() == "idlePage", timeout=10_000)
    assert window.view.captions.texts() == []
    assert window.view.card.is_empty()
    assert window.type_box.edit.text() == "" and not window.type_box.isVisible()

    # The history browser shows that conversation: transcript, booking, rating, latency.
    browser = HistoryBrowser(lambda: engine.history)
    qtbot.addWidget(browser)
    browser.resize(1200, 800)
    browser.show()
    browser.reload()
    qtbot.waitUntil(lambda: browser.model.rowCount() > 0, timeout=30_000)
    ids = [info.id for info in browser.model.rows]
    assert conversation_id in ids
    browser.table.selectRow(ids.index(conversation_id))
    qtbot.waitUntil(lambda: "Transcript" in browser.detail.toPlainText(), timeout=30_000)
    shown = browser.detail.toPlainText()
    assert f"Conversation {conversation_id}" in shown
    assert "Booked" in shown and "Confirmed" in shown
    assert "Biscuit" in shown and "Sarah Connolly" in shown
    assert "★★★★★" in shown
    assert "I'd like to book my dog in for a consultation" in shown
    assert "Response time over" in shown and " ms" in shown
    # Search and filters.
    browser.search.setText("Connolly")
    browser.reload()
    qtbot.waitUntil(lambda: not browser.loading, timeout=30_000)
    assert conversation_id in [info.id for info in browser.model.rows]
    browser.outcome.setCurrentIndex(browser.outcome.findData("handoff"))
    qtbot.waitUntil(lambda: not browser.loading, timeout=30_000)
    assert conversation_id not in [info.id for info in browser.model.rows]


def test_the_kiosk_clears_itself_after_the_idle_timeout(live: Live, qtbot: Any) -> None:
    engine, bridge = live.engine, live.bridge
    window = KioskWindow(
        bridge, live.settings, history=lambda: engine.history, idle_timeout_ms=1500
    )
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(bridge.assistant_reply, timeout=REPLY_MS):
        qtbot.mouseClick(window.idle_page.type, Qt.MouseButton.LeftButton)
    conversation_id = engine.conversation.id
    qtbot.keyClicks(window.type_box.edit, "I'd like to book my ca")  # then walks away
    assert window.view.captions.texts()
    qtbot.waitUntil(lambda: window.current_page() == "idlePage", timeout=30_000)
    assert window.view.captions.texts() == [] and window.view.card.is_empty()
    assert window.type_box.edit.text() == ""
    qtbot.waitUntil(
        lambda: engine.history.conversation(conversation_id).info.outcome == "abandoned",
        timeout=30_000,
    )


def test_the_push_to_talk_window_types_and_hands_off(live: Live, qtbot: Any) -> None:
    engine, bridge = live.engine, live.bridge
    window = TalkWindow(bridge, live.settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.type_box.isEnabled()
    # Voice is off in this test: the talk button says why and the space bar does nothing.
    assert not window.talk.isEnabled()
    assert "voice is off" in window.talk.toolTip().lower()
    window.view.captions.setFocus()
    qtbot.keyPress(window.view.captions, Qt.Key.Key_Space)
    assert not window.talking and not bridge.in_conversation
    qtbot.keyRelease(window.view.captions, Qt.Key.Key_Space)

    # Typing starts the conversation; "Talk to reception" hands off at any time.
    with qtbot.waitSignal(bridge.conversation_started, timeout=REPLY_MS):
        greeting, _answer = start_with_line(
            qtbot, bridge, window.type_box.edit, "I'd like to book my cat in"
        )
    assert greeting["text"].startswith("Hello, welcome to")
    assert ("caller", "I'd like to book my cat in") in window.view.captions.texts()
    with qtbot.waitSignal(bridge.conversation_ended, timeout=REPLY_MS) as ended:
        qtbot.mouseClick(window.handoff, Qt.MouseButton.LeftButton)
    assert ended.args[0]["outcome"] == "handoff"
    assert window.rating_row.isVisible()
    conversation_id = bridge.conversation_id
    qtbot.mouseClick(window.rating.buttons[3], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: engine.history.conversation(conversation_id).info.rating == 4, timeout=30_000
    )
    detail = engine.history.conversation(conversation_id)
    assert detail.info.outcome == "handoff" and detail.handoffs
    window.close_allowed = True
