"""The clinic's opening hours in the conversation: the greeting says when the clinic is
closed, "when are you open?" is answered from the settings (without the model when that is
all that was asked), and a hand-off outside the hours points to the phone, not an empty desk."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from model_util import CountingModel

from petvisor_desktop.dialog.assistant import Assistant
from petvisor_desktop.engine import BookingBackend, booking_backend, load_llm, new_assistant
from petvisor_desktop.settings import Settings

pytestmark = [pytest.mark.llm]
QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
OPEN = datetime(2026, 11, 23, 10, 0)  # Monday morning
CLOSED = datetime(2026, 11, 21, 13, 0)  # Saturday, after the 9-12 opening


@pytest.fixture(scope="module")
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now="2026-11-23T09:00", sandbox_only=True) as b:
        yield b


@pytest.fixture(scope="module")
def model(settings: Settings, require_model: Any) -> CountingModel:
    require_model("llm", QUICK_LLM)
    return CountingModel(load_llm(settings, QUICK_LLM))


@pytest.fixture
def clinic(settings: Settings) -> Settings:
    hours = "mon-fri 08:30-18:00; sat 09:00-12:00"
    return dataclasses.replace(
        settings,
        clinic=dataclasses.replace(
            settings.clinic, opening_hours=hours, out_of_hours_phone="01632 960999"
        ),
    )


def assistant_at(
    settings: Settings, backend: BookingBackend, model: Any, when: datetime
) -> Assistant:
    return new_assistant(settings, backend, model, now=lambda: when)


def test_the_greeting_says_when_the_clinic_is_closed(
    clinic: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    opened = assistant_at(clinic, backend, model, OPEN).greet().text
    closed = assistant_at(clinic, backend, model, CLOSED).greet().text
    assert "closed" not in opened and opened.startswith("Hello, welcome to")
    assert "We're closed at the moment, but I can still book an appointment" in closed


def test_an_hours_question_alone_is_answered_without_the_model(
    clinic: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = assistant_at(clinic, backend, model, CLOSED)
    assistant.greet()
    before = model.calls
    week = assistant.respond("What are your opening hours?")
    assert week.text == (
        "We're open Monday to Friday, 8:30am to 6pm, and Saturday, 9am to noon. "
        "We're closed now, and open again on Monday at 8:30am. How can I help?"
    )
    day = assistant.respond("Are you open on Wednesdays?")
    assert day.text.startswith("On Wednesdays we're open 8:30am to 6pm.")
    sunday = assistant.respond("Are you open on Sunday?")  # tomorrow, seen from Saturday
    assert sunday.text.startswith("Tomorrow we're closed.")
    today = assistant.respond("what time do you close today")
    assert today.text.startswith(
        "We're closed for the rest of today, and open again on Monday at 8:30am."
    )
    assert model.calls == before  # all three from the settings
    # The booking is where it was, and goes on.
    booking = assistant.respond("I'd like to book my cat in for a consultation")
    assert booking.expecting == "clinician"
    assert assistant.state.species == "Cat"


def test_an_hours_question_with_booking_words_keeps_both(
    clinic: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = assistant_at(clinic, backend, model, OPEN)
    assistant.greet()
    turn = assistant.respond(
        "What time do you close tomorrow? I want to bring my dog in for his vaccinations"
    )
    assert turn.text.startswith("Tomorrow we're open 8:30am to 6pm. ")
    assert assistant.state.species == "Dog"
    assert assistant.state.appointment_type == "Vaccinations"
    assert turn.expecting == "clinician"


def test_talk_to_reception_outside_the_hours_gives_the_phone_and_when(
    clinic: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    desk = assistant_at(clinic, backend, model, OPEN).hand_off()
    assert "reception team at the desk" in desk.text
    closed = assistant_at(clinic, backend, model, CLOSED).hand_off()
    assert closed.text == (
        "Reception is closed at the moment, so please call 020 7946 0000 when we open again "
        "on Monday at 8:30am, and they'll be glad to help."
    )
    emergency = assistant_at(clinic, backend, model, CLOSED).respond(
        "My dog has been hit by a car and he's bleeding"
    )
    assert "closed right now" in emergency.text and "01632 960999" in emergency.text
    assert emergency.done


def test_without_hours_the_clinic_is_taken_to_be_staffed(
    clinic: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    none = dataclasses.replace(clinic, clinic=dataclasses.replace(clinic.clinic, opening_hours=""))
    assistant = assistant_at(none, backend, model, CLOSED)
    assert "closed" not in assistant.greet().text
    asked = assistant.respond("When are you open?")
    assert asked.text.startswith("Reception can tell you our opening hours on 020 7946 0000.")
    assert "at the desk" in assistant.hand_off().text
