"""Understanding what callers need, typed and spoken alike: a change of mind while times are
offered ("tomorrow then", "anything later?", another vet), questions the assistant has no facts
for (prices, directions, parking, other branches, medicines), and phone numbers that cannot be
right. The detectors are pure; the conversations run the real default language model against
the sandbox clinic."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from model_util import CountingModel

from petvisor_desktop.dialog.assistant import Assistant
from petvisor_desktop.dialog.intents import (
    detect_hours_question,
    detect_time_shift,
    detect_unanswerable_question,
    only_unanswerable_question,
)
from petvisor_desktop.engine import BookingBackend, booking_backend, load_llm, new_assistant
from petvisor_desktop.settings import Settings
from vetstoria.sandbox import Blocked

ROBERTS = 85267
# Dr Roberts has nothing on Thursday afternoon before 3:15pm: "anything later?" after the last
# three times of the day has no later answer.
THURSDAY_BLOCK = Blocked(ROBERTS, datetime(2026, 11, 26, 12, 0), datetime(2026, 11, 26, 15, 15))
CLOSED = datetime(2026, 11, 21, 13, 0)  # Saturday, after the 9-12 opening


# --- the detectors (no model) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("How much is a consultation?", "prices"),
        ("what are your prices", "prices"),
        ("What does a dental cost?", "prices"),
        ("is there a fee", "prices"),
        ("Do you take insurance?", "prices"),
        ("Where are you?", "directions"),
        ("where's the clinic", "directions"),
        ("How do I get there?", "directions"),
        ("What's your address?", "directions"),
        ("Sorry, where are you based?", "directions"),
        ("Is there parking?", "parking"),
        ("where do I park", "parking"),
        ("What time does your Leeds branch close?", "other branches"),
        ("Is the other surgery open on Sundays?", "other branches"),
        ("Can I give him paracetamol?", "medicines"),
        ("What dose of Metacam should she have?", "medicines"),
        ("how much should I give her", "medicines"),
    ],
)
def test_questions_without_facts_here_are_recognised(text: str, topic: str) -> None:
    assert detect_unanswerable_question(text) == topic
    assert only_unanswerable_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hannah Price",  # a surname, not a question
        "my email address is sam at example dot com",
        "the lump is on his leg, in an odd location",
        "could I see one of the other vets",  # another clinician here, not another branch
        "She's on medication for her heart",
        "What time do you close today?",  # the clinic's own hours: answered from the settings
        "I'll call back later",
        # espeak's "sarah dot lee at example dot com" as it was heard at the read-back
        "No, my email is very costly and a mental dot com",
    ],
)
def test_everyday_words_are_not_such_questions(text: str) -> None:
    assert detect_unanswerable_question(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "How much is it? I'd like to bring my dog in on Thursday",
        "Thursday. How much will that be?",
        "How much is it with Dr Roberts?",
        "Can I give him paracetamol? His name is Max.",
    ],
)
def test_a_question_with_booking_details_is_not_only_a_question(text: str) -> None:
    assert detect_unanswerable_question(text) is not None
    assert not only_unanswerable_question(text)


def test_another_branch_is_not_an_hours_question() -> None:
    assert detect_hours_question("Are you open on Saturday?")
    assert not detect_hours_question("Are you open at the other branch on Saturday?")


@pytest.mark.parametrize(
    ("text", "shift"),
    [
        ("Anything later?", "later"),
        ("Have you got anything a bit later?", "later"),
        ("have you got a later one", "later"),
        ("Something later than that, please.", "later"),
        ("later?", "later"),
        ("anything earlier?", "earlier"),
        ("nothing earlier?", "earlier"),
        ("anything sooner", "earlier"),
        ("What about the next day?", "next_day"),
        ("anything the day after?", "next_day"),
        ("another day then", "next_day"),
        ("anything later in the week?", "next_day"),
        ("the day before?", "previous_day"),
        ("I'll call back later", None),
        ("she was sick earlier", None),
        ("the first one please", None),
    ],
)
def test_asking_for_other_times(text: str, shift: str | None) -> None:
    assert detect_time_shift(text) == shift


# --- conversations with the real model ------------------------------------------------------


@pytest.fixture(scope="module")
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(
        settings, now="2026-11-23T09:00", sandbox_only=True, blocked=(THURSDAY_BLOCK,)
    ) as b:
        yield b


@pytest.fixture(scope="module")
def model(settings: Settings, require_model: Any) -> CountingModel:
    require_model("llm", settings.models.llm)
    return CountingModel(load_llm(settings))


def _assistant(
    settings: Settings, backend: BookingBackend, model: Any, when: datetime | None = None
) -> Assistant:
    pinned = when or (backend.sandbox.pinned_now if backend.sandbox else None)
    assistant = new_assistant(settings, backend, model, now=lambda: pinned)
    assistant.greet()
    return assistant


def _offered(assistant: Assistant) -> list[str]:
    return [s.start.astimezone(assistant.tz).strftime("%a %H:%M") for s in assistant.state.offered]


def _at_time_step(settings: Settings, backend: BookingBackend, model: Any, when: str) -> Assistant:
    assistant = _assistant(settings, backend, model)
    turn = assistant.respond(f"I'd like a consultation for my dog with Dr Roberts on {when}")
    assert turn.expecting == "time", turn.text
    return assistant


@pytest.mark.llm
@pytest.mark.slow
def test_anything_later_and_earlier_offer_that_days_next_free_times(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = _at_time_step(settings, backend, model, "Wednesday afternoon")
    assert _offered(assistant) == ["Wed 12:00", "Wed 12:15", "Wed 12:30"]
    later = assistant.respond("Have you got anything a bit later?")
    assert later.expecting == "time"
    assert later.text == (
        "Dr Amy Roberts has 12:45pm, 1pm or 1:15pm on Wednesday the 25th of November. "
        "Which would suit you?"
    )
    earlier = assistant.respond("Hmm, anything earlier?")
    assert _offered(assistant) == ["Wed 12:00", "Wed 12:15", "Wed 12:30"], earlier.text
    assert assistant.state.slot is None


@pytest.mark.llm
@pytest.mark.slow
def test_nothing_later_is_said_truthfully_with_the_latest_time(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = _at_time_step(settings, backend, model, "Thursday afternoon")
    assert _offered(assistant) == ["Thu 15:15", "Thu 15:30", "Thu 15:45"]
    turn = assistant.respond("Is there anything later?")
    assert turn.text == (
        "I'm afraid there's nothing later for Dr Amy Roberts on Thursday the 26th of November: "
        "3:45pm is the latest. Would 3:45pm suit you, or shall I look at Friday the 27th of "
        "November?"
    )
    taken = assistant.respond("Yes please, that's fine")
    assert assistant.state.slot is not None
    assert assistant.state.slot.start.astimezone(assistant.tz).strftime("%H:%M") == "15:45"
    assert taken.expecting == "pet_name"


@pytest.mark.llm
@pytest.mark.slow
def test_a_change_of_mind_while_times_are_offered_is_taken(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = _at_time_step(settings, backend, model, "Wednesday afternoon")
    tomorrow = assistant.respond("Oh, actually, tomorrow then")
    assert tomorrow.expecting == "time"
    assert {t.split()[0] for t in _offered(assistant)} == {"Tue"}, tomorrow.text
    friday = assistant.respond("What about Friday?")
    assert {t.split()[0] for t in _offered(assistant)} == {"Fri"}, friday.text
    morning = assistant.respond("Anything in the morning?")
    assert _offered(assistant) == ["Fri 09:00", "Fri 09:15", "Fri 09:30"], morning.text
    next_day = assistant.respond("What about the next day?")
    assert {t.split()[0] for t in _offered(assistant)} == {"Mon"}, next_day.text  # not Saturday
    vet = assistant.respond("Could I see Dr Norman instead?")
    assert assistant.state.clinician == "Dr Michael Norman"
    names = {assistant.schedule_names[s.schedule_id] for s in assistant.state.offered}
    assert names == {"Dr Michael Norman"}, vet.text
    assert vet.expecting == "time"


@pytest.mark.llm
@pytest.mark.slow
def test_a_question_without_facts_here_is_answered_without_the_model(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = _assistant(settings, backend, model)
    before = model.calls
    price = assistant.respond("How much is a consultation for a dog?")
    assert price.text == (
        "I'm afraid I can't help with prices here, but reception can. How can I help?"
    )
    assert assistant.state.appointment_type is None and assistant.state.species is None
    assert model.calls == before
    assistant.respond("I'd like a consultation for my dog with Dr Roberts on Wednesday afternoon")
    offer = assistant.state.offered[:]
    before = model.calls
    where = assistant.respond("Sorry, where are you?")
    assert where.text == (
        "I'm afraid I can't help with directions here, but reception can. Dr Amy Roberts has "
        "12pm, 12:15pm or 12:30pm on Wednesday the 25th of November. Which would suit you?"
    )
    assert where.expecting == "time" and assistant.state.offered == offer
    assert model.calls == before


@pytest.mark.llm
@pytest.mark.slow
def test_a_question_said_with_booking_details_keeps_both(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = _assistant(settings, backend, model)
    turn = assistant.respond("How much is it? I'd like to bring my dog in for his vaccinations")
    assert turn.text.startswith("I'm afraid I can't help with prices here, but reception can. ")
    assert assistant.state.species == "Dog"
    assert assistant.state.appointment_type == "Vaccinations"
    assert turn.expecting == "clinician"


@pytest.mark.llm
@pytest.mark.slow
def test_while_closed_the_caller_is_given_the_phone_and_when(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    hours = "mon-fri 08:30-18:00; sat 09:00-12:00"
    clinic = dataclasses.replace(
        settings, clinic=dataclasses.replace(settings.clinic, opening_hours=hours)
    )
    assistant = _assistant(clinic, backend, model, when=CLOSED)
    turn = assistant.respond("Is there parking?")
    assert turn.text == (
        "I'm afraid I can't help with parking here, but reception can: please call "
        "020 7946 0000 when we open again on Monday at 8:30am. How can I help?"
    )


@pytest.mark.llm
@pytest.mark.slow
def test_a_phone_number_that_cannot_be_right_is_questioned_never_taken(
    settings: Settings, backend: BookingBackend, model: CountingModel
) -> None:
    assistant = _at_time_step(settings, backend, model, "Wednesday morning")
    assistant.respond("The first one")
    assistant.respond("Rex")
    turn = assistant.respond("Sam Jones")
    assert turn.expecting == "phone", turn.text
    before = model.calls
    long = assistant.respond("07700 900456 12")
    assert long.text == "That sounded like 13 digits; UK numbers have 11. Could you say it again?"
    assert long.expecting == "phone" and assistant.state.phone is None
    assert model.calls == before  # a plain number needs no model, right or wrong
    assistant.respond(
        "Sorry. It's plus four four, seven seven double oh, nine treble oh, four five"
    )
    assert assistant.state.phone == "07700900045"
    assistant.respond("skip")
    # At the read-back a new number that cannot be right is asked for again, not kept.
    wrong = assistant.respond("No, my phone number is 0770 090045")
    assert wrong.text.startswith("That sounded like 10 digits; UK mobile numbers have 11.")
    assert wrong.expecting == "phone" and assistant.state.phone is None
