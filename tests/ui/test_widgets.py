"""The widgets on their own, driven by engine events as the engine sends them (these tests
check what the screen shows for each event; the end-to-end tests use the real engine)."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import QApplication

from petvisor_desktop.events import EngineEvent, EventType
from tests.ui.conftest import all_ready, feed
from ui import workers
from ui.booking_card import BookingCard, format_value
from ui.bridge import EngineBridge
from ui.conversation_view import ConversationView
from ui.staff_login import AttemptLimiter
from ui.widgets import ComponentStatusPanel

pytestmark = pytest.mark.qt

CARD = {
    "species": "Dog",
    "appointment_type": "Vaccinations",
    "clinician": "Dr Amy Roberts",
    "date": "2026-11-25",
    "part_of_day": "morning",
    "time": None,
    "pet_name": None,
    "client_name": None,
    "phone": None,
    "email": None,
}


@pytest.fixture
def bridge(qtbot: Any) -> EngineBridge:
    return EngineBridge()


def test_events_from_an_engine_thread_arrive_on_the_gui_thread(
    bridge: EngineBridge, qtbot: Any
) -> None:
    seen: list[tuple[str, bool]] = []
    gui = QApplication.instance().thread()  # type: ignore[union-attr]
    bridge.assistant_reply.connect(
        lambda data: seen.append((data["text"], QThread.currentThread() is gui))
    )

    def engine_worker() -> None:
        bridge.on_engine_event(EngineEvent(EventType.ASSISTANT_REPLY, {"text": "Hello"}))

    with qtbot.waitSignal(bridge.assistant_reply, timeout=5000):
        threading.Thread(target=engine_worker).start()
    assert seen == [("Hello", True)]


def test_a_background_task_is_freed_on_the_gui_thread_once_reported(qtbot: Any) -> None:
    """A finished task is released by the GUI thread, not left in a reference cycle for
    the garbage collector to free on whatever thread it runs on (a voice thread deleting
    Qt objects crashes the app)."""
    freed_on: list[bool] = []
    gui = QApplication.instance().thread()  # type: ignore[union-attr]
    done = threading.Event()

    def work() -> int:
        done.wait(5)
        return 42

    gc.disable()  # only reference counting may free it
    try:
        task = workers.run_in_background(work)
        weakref.finalize(task, lambda: freed_on.append(QThread.currentThread() is gui))
        with qtbot.waitSignal(task.signals.finished, timeout=5000) as got:
            done.set()
        assert got.args == [42]
        del task
        assert workers.settle(5000)
        assert freed_on == [True]
    finally:
        gc.enable()


def test_the_card_fills_in_and_highlights_what_is_asked(qtbot: Any) -> None:
    card = BookingCard()
    qtbot.addWidget(card)
    card.update_from({"card": CARD, "expecting": "time", "read_back": False})
    assert card.rows["species"].value == "Dog"
    assert card.rows["date"].value == "Wednesday 25 November, morning"
    assert card.rows["pet_name"].value == ""
    assert card.rows["time"].expecting and not card.rows["date"].expecting
    assert card.rows["time"].property("expecting") == "true"
    assert "being asked now" in card.rows["time"].accessibleName()
    assert card.read_back_panel.isHidden()
    full = {
        **CARD,
        "time": "09:30",
        "pet_name": "Rex",
        "client_name": "Sarah Lee",
        "phone": "07700900123",
        "email": "sarah.lee@example.com",
    }
    card.update_from({"card": full, "expecting": "confirm", "read_back": True})
    assert card.rows["time"].value == "9:30 am"
    assert card.rows["date"].value == "Wednesday 25 November"  # the time replaces "morning"
    assert not card.read_back_panel.isHidden() and card.yes_button.isEnabled()
    with qtbot.waitSignal(card.correct_clicked) as blocker:
        card.rows["phone"].change.click()
    assert blocker.args == ["phone"]
    assert not card.yes_button.isEnabled()  # one touch per read-back
    card.update_from({"card": full, "expecting": "confirm", "read_back": True})
    with qtbot.waitSignal(card.confirm_clicked) as blocker:
        card.yes_button.click()
    assert blocker.args == [True]


def test_card_values_read_as_people_say_them() -> None:
    assert format_value("time", {"time": "14:05"}) == "2:05 pm"
    assert format_value("time", {"time": "00:15"}) == "12:15 am"
    assert format_value("clinician", {"clinician": "anyone"}) == "Any vet"
    assert format_value("date", {"date": "2026-11-26", "part_of_day": "afternoon"}) == (
        "Thursday 26 November, afternoon"
    )


def test_captions_show_the_callers_words_as_they_are_recognised(
    bridge: EngineBridge, qtbot: Any
) -> None:
    view = ConversationView(bridge)
    qtbot.addWidget(view)
    feed(bridge, qtbot, EventType.CONVERSATION_STARTED, conversation_id=1, mode="kiosk")
    feed(
        bridge,
        qtbot,
        EventType.ASSISTANT_REPLY,
        text="Hello, how can I help?",
        expecting="anything_else",
        card={},
        done=False,
        outcome=None,
        read_back=False,
    )
    feed(bridge, qtbot, EventType.STATE, state="hearing")
    assert view.state.text.text() == "Hearing you…"
    feed(bridge, qtbot, EventType.CALLER_PARTIAL, text="I'd like")
    feed(bridge, qtbot, EventType.CALLER_PARTIAL, text="I'd like to book")
    assert view.captions.texts()[-1] == ("caller", "I'd like to book …")
    assert view.captions.captions[-1].text.property("role") == "caption-partial"
    feed(bridge, qtbot, EventType.CALLER_FINAL, text="I'd like to book my dog in")
    assert view.captions.texts() == [
        ("assistant", "Hello, how can I help?"),
        ("caller", "I'd like to book my dog in"),
    ]
    assert view.captions.captions[-1].text.property("role") == "caption-caller"
    feed(bridge, qtbot, EventType.STATE, state="thinking")
    assert view.state.text.text() == "Thinking…"
    feed(bridge, qtbot, EventType.CONVERSATION_STARTED, conversation_id=2, mode="kiosk")
    assert view.captions.texts() == [] and view.card.is_empty()


def test_a_missing_model_is_a_message_with_what_to_do(bridge: EngineBridge, qtbot: Any) -> None:
    panel = ComponentStatusPanel(bridge)
    qtbot.addWidget(panel)
    panel.show()
    fix = "no llm model is installed; run `petvisor-desktop models install-dev`"
    feed(bridge, qtbot, EventType.COMPONENT, component="llm", state="missing", detail=fix)
    _title, state, _bar, detail = panel.rows["llm"]
    assert state.text() == "Missing"
    assert detail.text() == fix and detail.isVisible()
    assert panel.heading.text() == "Needs attention"
    feed(
        bridge,
        qtbot,
        EventType.COMPONENT,
        component="llm",
        state="loading",
        detail="",
        progress=0.5,
    )
    assert panel.rows["llm"][2].value() == 50
    all_ready(bridge, qtbot, voice=True)
    assert panel.isHidden()  # nothing to report: out of the way


def test_the_attempt_limiter_locks_after_five_wrong_tries() -> None:
    now = [100.0]
    limiter = AttemptLimiter(max_failures=5, lockout_s=60, clock=lambda: now[0])
    for _ in range(4):
        limiter.failed()
    assert limiter.locked_for() == 0 and limiter.tries_left == 1
    limiter.failed()
    assert limiter.locked_for() == 60
    now[0] += 59.5
    assert 0 < limiter.locked_for() <= 0.5
    now[0] += 1
    assert limiter.locked_for() == 0 and limiter.tries_left == 5
    limiter.failed()
    limiter.succeeded()
    assert limiter.tries_left == 5


def test_holding_space_talks_unless_typing(
    bridge: EngineBridge, qtbot: Any, ui_settings: Any
) -> None:
    from ui.talk_window import TalkWindow

    all_ready(bridge, qtbot, voice=True)
    window = TalkWindow(bridge, ui_settings)
    qtbot.addWidget(window)
    window.show()
    assert window.talk.isEnabled()
    window.view.captions.setFocus()
    qtbot.keyPress(window.view.captions, Qt.Key.Key_Space)
    assert window.talking and window.talk.text().startswith("Listening")
    qtbot.keyRelease(window.view.captions, Qt.Key.Key_Space)
    assert not window.talking and window.talk.text() == "Hold to talk (Space)"
    # In the text box the space bar types a space.
    window.type_box.edit.setFocus()
    qtbot.keyClicks(window.type_box.edit, "a b")
    assert not window.talking and window.type_box.edit.text() == "a b"
    window.close_allowed = True
