"""Pointing at the screen: while a closed question is open, its answers are buttons under the
captions of the kiosk and of the push-to-talk window. First driven by engine events (what each
kind of question shows, when the buttons go, the keyboard), then by the real engine and the
small language model (a tap answers exactly as the words would)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from petvisor_desktop.events import EventType
from petvisor_desktop.settings import Settings
from tests.ui.conftest import REPLY_MS, Live, all_ready, feed, start_with_line, type_line
from ui import theme
from ui.bridge import EngineBridge
from ui.choices import ChoiceBar
from ui.kiosk import KioskWindow
from ui.talk_window import TalkWindow

pytestmark = pytest.mark.qt
LEFT = Qt.MouseButton.LeftButton

SPECIES = ["Cat", "Dog"]
TYPES = ["Vaccinations", "Consultation", "Nurse appointment", "Dental"]
VETS = ["Dr Amy Roberts", "Dr Michael Norman", "Whoever is free first"]
TIMES = ["9am", "9:15am", "11:30am"]  # as the engine says them
YES_NO = ["Yes", "No"]
# Each kind of closed question, as the engine asks it, with the answers it offers.
CLOSED = [
    ("Is the appointment for a cat or a dog?", "species", SPECIES),
    ("What kind of appointment do you need?", "appointment_type", TYPES),
    ("Would you like a particular vet, or whoever is free first?", "clinician", VETS),
    ("I have 9am, 9:15am or 11:30am. Which would suit you?", "time", TIMES),
    ("Is there anything else I can help with?", "anything_else", YES_NO),
]


@dataclass
class Screen:
    kind: str
    window: KioskWindow | TalkWindow
    bridge: EngineBridge

    @property
    def choices(self) -> ChoiceBar:
        return self.window.view.choices

    def labels(self) -> list[str]:
        return [b.text() for b in self.choices.shown() if b.isVisible()]


@pytest.fixture(autouse=True)
def keep_theme(qapp: QApplication) -> Iterator[None]:
    """The windows are measured in the app's own look; the next test gets the one it had."""
    sheet, font, palette = qapp.styleSheet(), qapp.font(), qapp.palette()
    yield
    qapp.setStyleSheet(sheet)
    qapp.setFont(font)
    qapp.setPalette(palette)


def open_screen(
    kind: str, bridge: EngineBridge, settings: Settings, qtbot: Any, history: Any = None
) -> KioskWindow | TalkWindow:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    theme.apply(qapp, theme.Theme.for_mode(kind == "kiosk", 800))
    window: KioskWindow | TalkWindow
    if kind == "kiosk":
        window = KioskWindow(bridge, settings, history=history or (lambda: None))
    else:
        window = TalkWindow(bridge, settings)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def let_close(window: KioskWindow | TalkWindow) -> None:
    if isinstance(window, KioskWindow):
        window.exit_allowed = True
    else:
        window.close_allowed = True


@pytest.fixture(params=["kiosk", "window"])
def screen(request: Any, ui_settings: Settings, qtbot: Any) -> Iterator[Screen]:
    """A conversation on screen, driven by events as the engine sends them."""
    bridge = EngineBridge()
    all_ready(bridge, qtbot)
    window = open_screen(request.param, bridge, ui_settings, qtbot)
    feed(bridge, qtbot, EventType.CONVERSATION_STARTED, conversation_id=1, mode="kiosk")
    if isinstance(window, KioskWindow):
        assert window.current_page() == "conversationPage"
        window.on_type_toggle_clicked()  # the type box on screen, as after "Type instead"
    yield Screen(request.param, window, bridge)
    let_close(window)


def ask(
    screen: Screen,
    qtbot: Any,
    text: str,
    expecting: str,
    choices: list[str] | None = None,
    **extra: Any,
) -> None:
    """An ASSISTANT_REPLY as the engine sends it (`choices` left out for an open question,
    as an engine without them would)."""
    data: dict[str, Any] = {
        "text": text,
        "expecting": expecting,
        "card": extra.get("card", {}),
        "done": extra.get("done", False),
        "outcome": extra.get("outcome"),
        "read_back": extra.get("read_back", False),
    }
    if choices is not None:
        data["choices"] = choices
    feed(screen.bridge, qtbot, EventType.ASSISTANT_REPLY, **data)


def test_each_closed_question_shows_its_answers_under_the_captions(
    screen: Screen, qtbot: Any
) -> None:
    view = screen.window.view
    for text, expecting, choices in CLOSED:
        ask(screen, qtbot, text, expecting, choices)
        assert screen.labels() == choices, expecting
        assert all(b.isEnabled() for b in screen.choices.shown())
        assert [b.accessibleName() for b in screen.choices.shown()] == choices
        # Under the question: below the captions, beside the card.
        bar = screen.choices.geometry()
        assert bar.top() >= view.captions.geometry().bottom()
        assert bar.right() < view.card.geometry().left()
        # Large enough to touch: the kiosk is used standing, with a finger.
        smallest = min(b.height() for b in screen.choices.shown())
        assert smallest >= (64 if screen.kind == "kiosk" else 44), smallest
        # Each one fits the column, wrapping onto a new row rather than off the side.
        for b in screen.choices.shown():
            assert b.geometry().right() <= screen.choices.width()
    # An open question has none (whether `choices` is empty or not sent at all).
    ask(screen, qtbot, "What's your pet's name?", "pet_name")
    assert screen.labels() == [] and screen.choices.isHidden()
    ask(screen, qtbot, "Which time would suit you?", "time", TIMES)
    ask(screen, qtbot, "And your phone number?", "phone", [])
    assert screen.labels() == [] and screen.choices.isHidden()


def test_the_answers_go_when_the_question_changes_or_the_conversation_ends(
    screen: Screen, qtbot: Any
) -> None:
    card = screen.window.view.card
    ask(screen, qtbot, "Which time would suit you?", "time", TIMES)
    assert screen.labels() == TIMES
    ask(screen, qtbot, "Is the appointment for a cat or a dog?", "species", SPECIES)
    assert screen.labels() == SPECIES  # the next question's own, not added to the last

    # Answered by voice or typing: the buttons wait for the reply, one answer per question.
    feed(screen.bridge, qtbot, EventType.CALLER_FINAL, text="a dog")
    assert screen.labels() == SPECIES
    assert not any(b.isEnabled() for b in screen.choices.shown())
    # A turn that fails leaves the question standing, and its answers to tap again.
    feed(
        screen.bridge,
        qtbot,
        EventType.ERROR,
        stage="dialog",
        code="turn-failed",
        message="the model stopped",
        recoverable=True,
    )
    assert all(b.isEnabled() for b in screen.choices.shown())

    # The read-back's yes and no are the card's own buttons: not offered twice.
    ask(screen, qtbot, "Shall I book that?", "confirm", YES_NO, read_back=True)
    assert card.read_back_panel.isVisible() and card.yes_button.isEnabled()
    assert screen.labels() == [] and screen.choices.isHidden()
    ask(
        screen,
        qtbot,
        "You're booked. Is there anything else I can help with?",
        "anything_else",
        YES_NO,
        outcome="booked",
    )
    assert screen.labels() == YES_NO
    # The last reply has nothing to answer, whatever it lists.
    ask(screen, qtbot, "Goodbye!", "none", YES_NO, done=True, outcome="booked")
    assert screen.labels() == []

    ask(screen, qtbot, "Which time would suit you?", "time", TIMES)
    feed(screen.bridge, qtbot, EventType.CONVERSATION_ENDED, outcome="handoff", conversation_id=1)
    assert screen.labels() == [] and screen.choices.isHidden()


def test_a_tap_is_sent_as_the_words_and_a_refused_one_can_be_tapped_again(
    screen: Screen, qtbot: Any
) -> None:
    ask(screen, qtbot, "Which time would suit you?", "time", TIMES)
    second = screen.choices.shown()[1]
    screen.window.type_box.edit.setFocus()
    # No engine behind these events: the bridge refuses, and says so on screen.
    with (
        qtbot.waitSignal(screen.choices.chosen) as chosen,
        qtbot.waitSignal(screen.bridge.intent_refused),
    ):
        qtbot.mouseClick(second, Qt.MouseButton.LeftButton)
    assert chosen.args == ["9:15am"]
    assert all(b.isEnabled() for b in screen.choices.shown())
    # A tap leaves the focus where it was (the type box; the window's space bar talks).
    assert screen.window.type_box.edit.hasFocus()


def test_the_answers_are_reached_and_given_by_keyboard(screen: Screen, qtbot: Any) -> None:
    window = screen.window
    ask(screen, qtbot, "Which time would suit you?", "time", TIMES)
    first, second, third = screen.choices.shown()
    # Tab from the captions (where the question is) reaches the first answer.
    window.view.captions.setFocus()
    qtbot.keyClick(window.view.captions, Qt.Key.Key_Tab)
    assert first.hasFocus()
    # The arrow keys move between the answers, round the end.
    qtbot.keyClick(first, Qt.Key.Key_Right)
    assert second.hasFocus()
    qtbot.keyClick(second, Qt.Key.Key_Right)
    qtbot.keyClick(third, Qt.Key.Key_Right)
    assert first.hasFocus()
    qtbot.keyClick(first, Qt.Key.Key_Left)
    assert third.hasFocus()
    # Enter answers (the bridge refuses here: there is no engine, see above).
    with qtbot.waitSignal(screen.choices.chosen) as chosen:
        qtbot.keyClick(third, Qt.Key.Key_Return)
    assert chosen.args == ["11:30am"]
    # So does the space bar, which in the push-to-talk window presses the focused answer
    # rather than talking.
    first.setFocus()
    with qtbot.waitSignal(screen.choices.chosen) as chosen:
        qtbot.keyClick(first, Qt.Key.Key_Space)
    assert chosen.args == ["9am"]
    if isinstance(window, TalkWindow):
        assert not window.talking

    # Answered: the focus waits with the answers and moves on to the next question's.
    feed(screen.bridge, qtbot, EventType.CALLER_FINAL, text="9am")
    ask(screen, qtbot, "Is the appointment for a cat or a dog?", "species", SPECIES)
    assert screen.choices.shown()[0].hasFocus()
    # An open question next: to the type box, to type the answer.
    qtbot.keyClick(screen.choices.shown()[0], Qt.Key.Key_Return)
    ask(screen, qtbot, "What's your pet's name?", "pet_name")
    assert window.type_box.edit.hasFocus()


def test_more_answers_than_usual_wrap_and_keep_their_tab_order(screen: Screen, qtbot: Any) -> None:
    many = [f"Appointment type number {n}" for n in range(1, 10)]
    ask(screen, qtbot, "What kind of appointment do you need?", "appointment_type", many)
    assert screen.labels() == many
    shown = screen.choices.shown()
    assert len({b.y() for b in shown}) > 1  # more than one row
    assert all(b.geometry().right() <= screen.choices.width() for b in shown)
    for earlier, later in itertools.pairwise(shown):
        earlier.setFocus()
        qtbot.keyClick(earlier, Qt.Key.Key_Tab)
        assert later.hasFocus(), later.text()


# ---- with the real engine -----------------------------------------------------------------


def answer(qtbot: Any, live: Live, press: Callable[[], None]) -> dict[str, Any]:
    """Touch or key an answer; the assistant's reply to it."""
    with qtbot.waitSignal(live.bridge.assistant_reply, timeout=REPLY_MS) as reply:
        press()
    data: dict[str, Any] = reply.args[0]
    return data


def choice(bar: ChoiceBar, text: str) -> QPushButton:
    return next(b for b in bar.shown() if b.text() == text)


@pytest.mark.llm
@pytest.mark.slow
def test_touching_the_answers_in_the_kiosk_books_as_the_words_would(live: Live, qtbot: Any) -> None:
    engine, bridge = live.engine, live.bridge
    window = open_screen("kiosk", bridge, live.settings, qtbot, lambda: engine.history)
    bar, card = window.view.choices, window.view.card
    with qtbot.waitSignal(bridge.assistant_reply, timeout=REPLY_MS) as greeting:
        qtbot.mouseClick(window.idle_page.type, Qt.MouseButton.LeftButton)
    assert greeting.args[0].get("choices", []) == [] and bar.isHidden()  # "How can I help?"
    reply = type_line(qtbot, bridge, window.type_box.edit, "I'd like to book an appointment")
    assert reply["expecting"] == "species"
    assert sorted(b.text() for b in bar.shown()) == SPECIES

    # Each touch is captioned as what the caller said and answered as those words.
    reply = answer(qtbot, live, lambda: qtbot.mouseClick(choice(bar, "Cat"), LEFT))
    assert window.view.captions.texts()[-2:] == [("caller", "Cat"), ("assistant", reply["text"])]
    assert card.rows["species"].value == "Cat"
    assert reply["expecting"] == "appointment_type"
    assert [b.text() for b in bar.shown()] == TYPES
    reply = answer(qtbot, live, lambda: qtbot.mouseClick(choice(bar, "Vaccinations"), LEFT))
    assert ("caller", "Vaccinations") in window.view.captions.texts()
    assert card.rows["appointment_type"].value == "Vaccinations"
    assert reply["expecting"] == "clinician"
    assert [b.text() for b in bar.shown()] == VETS
    reply = answer(
        qtbot, live, lambda: qtbot.mouseClick(choice(bar, "Whoever is free first"), LEFT)
    )
    assert ("caller", "Whoever is free first") in window.view.captions.texts()
    assert card.rows["clinician"].value == "Any vet"
    # The day is an open question: nothing to touch.
    assert reply["expecting"] == "date" and reply["choices"] == []
    assert bar.isHidden() and bar.shown() == []

    # The history keeps the touches as the caller's words.
    conversation_id = engine.conversation.id
    with qtbot.waitSignal(bridge.conversation_ended, timeout=REPLY_MS):
        qtbot.mouseClick(window.handoff, LEFT)
    assert bar.isHidden()
    said = [m.text for m in engine.history.messages(conversation_id) if m.role == "caller"]
    assert said[:4] == ["I'd like to book an appointment", "Cat", "Vaccinations", VETS[2]]
    let_close(window)


@pytest.mark.llm
@pytest.mark.slow
def test_the_keyboard_answers_in_the_push_to_talk_window(live: Live, qtbot: Any) -> None:
    engine, bridge = live.engine, live.bridge
    window = open_screen("window", bridge, live.settings, qtbot)
    bar, card, captions = window.view.choices, window.view.card, window.view.captions
    with qtbot.waitSignal(bridge.conversation_started, timeout=REPLY_MS):
        _greeting, asked = start_with_line(
            qtbot, bridge, window.type_box.edit, "I'd like to book my dog in for a consultation"
        )
    assert asked["expecting"] == "clinician"
    assert [b.text() for b in bar.shown()] == VETS

    # Not an answer: the assistant puts one vet to the caller, a yes-or-no question.
    reply = type_line(qtbot, bridge, window.type_box.edit, "Hmm, I'm not sure")
    assert reply["expecting"] == "clinician"
    assert [b.text() for b in bar.shown()] == [*VETS, *YES_NO]
    # Tab from the captions to the answers, the arrow keys to "Yes", Enter.
    captions.setFocus()
    qtbot.keyClick(captions, Qt.Key.Key_Tab)
    assert bar.shown()[0].hasFocus()
    for _ in range(3):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Right)
    assert window.focusWidget().text() == "Yes"
    reply = answer(qtbot, live, lambda: qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Return))
    assert ("caller", "Yes") in captions.texts()
    assert card.rows["clinician"].value == "Dr Amy Roberts"
    # An open question: the answers go, and the keyboard is back in the type box.
    assert reply["expecting"] == "date" and bar.isHidden()
    assert window.type_box.edit.hasFocus()

    reply = type_line(qtbot, bridge, window.type_box.edit, "Wednesday morning")
    assert reply["expecting"] == "time"
    times = reply["choices"]
    assert len(times) >= 2 and [b.text() for b in bar.shown()] == times
    captions.setFocus()
    qtbot.keyClick(captions, Qt.Key.Key_Tab)
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Right)
    # The space bar presses the focused answer here; it does not talk.
    reply = answer(qtbot, live, lambda: qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Space))
    assert not window.talking
    assert ("caller", times[1]) in captions.texts()
    assert card.rows["time"].value.replace(":00", "").replace(" ", "") == times[1]
    assert reply["expecting"] == "pet_name" and bar.isHidden()

    with qtbot.waitSignal(bridge.conversation_ended, timeout=REPLY_MS):
        qtbot.mouseClick(window.handoff, LEFT)
    assert bar.isHidden()
    assert engine.conversation.ended
    let_close(window)
