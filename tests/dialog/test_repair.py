"""Repair after a misheard answer (issue 11): the next question is a different one (a yes or
no on one option, the phone number in parts, the name spelled), a value heard with low
confidence is read back before it is used, a person takes over only when the repairs fail
too, and every choice shown for a step selects its value when it comes back as the caller's
words. Whole exchanges with the real model and the sandbox clinic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from petvisor_desktop.dialog import names as nm
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.assistant import Assistant, AssistantTurn
from petvisor_desktop.dialog.repair import (
    LOW_CONFIDENCE,
    StepOptions,
    choices,
    plain_yes_no,
)
from petvisor_desktop.dialog.spelling import spelled_names
from petvisor_desktop.dialog.tools import ANYONE
from petvisor_desktop.engine import BookingBackend, booking_backend, load_llm, new_assistant
from petvisor_desktop.settings import Settings

QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"
NOW = "2026-11-23T09:00"  # Monday morning
LOW = 0.3  # a recogniser confidence well under LOW_CONFIDENCE
HIGH = 0.95

TO_SPECIES = ["Hello, I'd like to book an appointment please"]
TO_TYPE = ["I'd like to book an appointment for my dog"]
TO_CLINICIAN = ["I'd like a consultation for my dog"]
TO_DATE = ["I'd like a consultation for my dog with Dr Norman"]
TO_TIME = ["I'd like a consultation for my cat with Dr Norman on Thursday afternoon"]
TO_PET = [*TO_TIME, "The first one please"]
TO_CLIENT = [*TO_PET, "Mittens"]
TO_PHONE = [*TO_CLIENT, "James Okafor"]
TO_EMAIL = [*TO_PHONE, "07700 900456"]
TO_CONFIRM = [*TO_EMAIL, "skip"]


@pytest.fixture(scope="module")
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now=NOW, sandbox_only=True) as b:
        yield b


@pytest.fixture(scope="module")
def quick(settings: Settings, require_model: Any) -> Any:
    """The small model, for exchanges the deterministic parsers carry."""
    require_model("llm", QUICK_LLM)
    return load_llm(settings, QUICK_LLM)


@pytest.fixture(scope="module")
def default(settings: Settings, require_model: Any) -> Any:
    """The app's own model, where understanding quality is what is tested."""
    require_model("llm", settings.models.llm)
    return load_llm(settings)


def at(settings: Settings, backend: BookingBackend, model: Any, lines: list[str]) -> Assistant:
    """A conversation taken through `lines` (typed), so that its last reply asks the step."""
    pinned: datetime | None = backend.sandbox.pinned_now if backend.sandbox else None
    assistant = new_assistant(settings, backend, model, now=(lambda: pinned) if pinned else None)
    for line in lines:
        turn = assistant.respond(line)
        assert not turn.done, turn.text
    return assistant


def last(assistant: Assistant) -> AssistantTurn:
    return assistant.turns[-1]


# -- the pure parts ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("said", "names"),
    [
        ("M I T T E N S", ["Mittens"]),
        ("It's M. I. L. O.", ["Milo"]),
        ("M-I-L-O", ["Milo"]),
        ("m for mother, i, l for lima, o", ["Milo"]),
        # The word says the letter when the letter itself was misheard (espeak's N as M).
        ("B, O, M as in November, N as in November, I, E", ["Bonnie"]),
        ("D for Bravo, E, L, L, A", ["Bella"]),
        ("B E double L A", ["Bella"]),
        ("S H A H hyphen P A T E L", ["Shah-Patel"]),
        ("O apostrophe B R I E N", ["O'Brien"]),
        ("J A M E S, then O K A F O R", ["James", "Okafor"]),
        ("Mittens", []),
        ("I think so", []),
        # Letters heard as words (neural caller at 15 dB, "B, R, U, N, O"): what is left
        # of a short name is not taken; a whole one with a stray word still is.
        ("B, R, hit, and help", []),
        ("It is J, O", ["Jo"]),
        ("B R U N O, that's it", ["Bruno"]),
    ],
)
def test_spelled_letters_give_the_name(said: str, names: list[str]) -> None:
    assert spelled_names(said) == names


@pytest.mark.parametrize(
    "name",
    ["Bruno", "Mittens", "Aisha", "Mensah", "Lulu", "Coco", "Aaron", "Shah-Patel", "O'Brien",
     "Lynn", "Okafor", "Doyle", "Nguyen", "Llewellyn", "Bella", "Smudge", "Schmidt", "Mary Jane",
     "Bomnie", "Ylva", "Lyn", "Wynn"],
)  # fmt: skip
def test_a_spelling_of_a_name_people_have_is_likely(name: str) -> None:
    assert not nm.unlikely_spelling(name)


@pytest.mark.parametrize(
    "name",
    # Spellings heard by voice (run 12: A-I-S-H-A as "A-X-A-X-A" and "A-A-S-A-A").
    # Run 16: D-O-Y-L-E as "D-cell Y-L-D", read "Yld".
    ["Axaxa", "Aasaa", "Brrr", "Mnbv", "James Xlx", "Yld"],
)
def test_letters_heard_wrong_are_an_unlikely_spelling(name: str) -> None:
    assert nm.unlikely_spelling(name)


@pytest.mark.parametrize(
    ("spelled", "key", "near"),
    [
        ("Bomnie", "pet_name", "Bonnie"),  # run 13, B-O-N-N-I-E by espeak
        ("Smdge", "pet_name", "Smudge"),  # run 6, the neural caller's S-M-U-D-G-E
        ("Fatimah", "first_name", "Fatima"),
        ("Mensa", "last_name", "Mensah"),
        ("Bonnie", "pet_name", None),  # a common name is itself
        ("Axaxa", "pet_name", None),  # nothing a letter away
        ("Mio", "pet_name", None),  # too short to tell
        ("Jame", "first_name", None),  # Jane, James and Jake: no one name
        # Bella and Ella: D is heard for B spelled aloud, not a letter added (run 13, espeak).
        ("Della", "pet_name", "Bella"),
        ("Bomnie", "last_name", None),  # surnames are another list
    ],
)
def test_a_spelling_a_letter_from_one_common_name_is_near_it(
    spelled: str, key: str, near: str | None
) -> None:
    assert nm.common_name_near(spelled, key) == near


@pytest.mark.parametrize(
    ("said", "plain"),
    [("yes", True), ("Yes please", True), ("that's right", True), ("no", False),
     ("No, that's wrong", False), ("no, a dog", None), ("sorry what", None), ("not sure", None)],
)  # fmt: skip
def test_a_bare_yes_or_no_is_told_from_an_answer_with_more_in_it(
    said: str, plain: bool | None
) -> None:
    assert plain_yes_no(said) is plain


def test_choices_per_step() -> None:
    options = StepOptions(
        species=("Dog", "Cat"),
        appointment_types=("Vaccinations", "Consultation"),
        clinicians=("Dr Amy Roberts", "Dr Michael Norman"),
        times=("9am", "9:15am"),
    )
    assert choices("species", options) == ("Dog", "Cat")
    assert choices("appointment_type", options) == ("Vaccinations", "Consultation")
    assert choices("clinician", options) == (
        "Dr Amy Roberts",
        "Dr Michael Norman",
        "Whoever is free first",
    )
    assert choices("time", options) == ("9am", "9:15am")
    assert choices("time", options, yes_no=True) == ("9am", "9:15am", "Yes", "No")
    for step in ("confirm", "anything_else"):
        assert choices(step, options) == ("Yes", "No")
    for step in ("date", "pet_name", "client_name", "phone", "email", "none"):
        assert choices(step, options) == ()
    assert choices("phone", options, yes_no=True) == ("Yes", "No")  # "I heard ..., right?"
    proposed = StepOptions(appointment_types=("Consultation",), proposed_type="Consultation")
    assert choices("appointment_type", proposed) == ("Yes", "No")
    assert 0 < LOW < LOW_CONFIDENCE < HIGH <= 1


# -- closed steps: narrowed to a yes or no ------------------------------------------------------
@pytest.mark.llm
def test_a_misheard_time_becomes_a_yes_or_no_on_one_time_and_points_at_the_screen(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_TIME)
    offer = last(assistant)
    assert offer.expecting == "time" and len(offer.choices) == 3, offer.text
    first, second = offer.choices[0], offer.choices[1]
    assert all(t in offer.text for t in offer.choices)  # as the offer said them

    repair = assistant.respond("the um")
    assert repair.expecting == "time"
    assert repair.text.startswith("Sorry, I didn't catch that.")
    assert f"Shall I put you down for {first}?" in repair.text
    assert "tap one of the times on the screen" in repair.text
    assert repair.text != offer.text
    assert repair.choices == (*offer.choices, "Yes", "No")

    other = assistant.respond("no")
    assert other.text == f"No problem. How about {second}?"
    assert other.expecting == "time"
    taken = assistant.respond("yes please")
    assert taken.expecting == "pet_name"
    assert n.spoken_time(datetime.strptime(taken.card["time"], "%H:%M").time()) == second


@pytest.mark.llm
def test_a_closed_step_missed_again_is_put_as_just_yes_or_no_then_goes_to_a_person(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_SPECIES)
    assert last(assistant).expecting == "species"
    first = assistant.respond("the um")
    assert first.text == (
        "Sorry, I didn't catch that. Is it a dog? You can also tap Dog or Cat on the screen."
    )
    assert first.choices == ("Dog", "Cat", "Yes", "No")
    assert first.repair == "species:propose"  # the turn says which repair it is
    second = assistant.respond("sorry, what was that?")
    assert second.text.startswith("Sorry, I still didn't catch that. Just yes or no, please:")
    assert not second.done
    third = assistant.respond("hmm")
    assert third.done and assistant.outcome == "handoff"
    assert assistant.handoff_reason == "not_understood"


@pytest.mark.llm
def test_a_no_to_each_option_moves_on_to_the_next_and_a_yes_takes_it(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    vets = at(settings, backend, quick, TO_CLINICIAN)
    asked = vets.respond("the um")
    assert "Would Dr Roberts be all right, or whoever is free first?" in asked.text
    assert "tap a vet's name on the screen" in asked.text
    assert vets.respond("no").text == (
        "No problem. Would Dr Norman be all right, or whoever is free first?"
    )
    assert vets.respond("no thanks").text == "No problem. Shall I book whoever is free first?"
    assert vets.respond("yes").expecting == "date"
    assert vets.state.clinician == ANYONE

    day = at(settings, backend, quick, TO_DATE)
    asked = day.respond("the um")
    assert "Shall I find the first free appointment?" in asked.text
    assert asked.choices == ("Yes", "No")
    offered = day.respond("yes")
    assert offered.expecting == "time" and offered.choices, offered.text


# -- phone in parts -------------------------------------------------------------------------------
@pytest.mark.llm
def test_a_phone_number_not_caught_is_taken_in_parts_that_make_up_the_read_back(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_PHONE)
    assert last(assistant).expecting == "phone"
    parts = assistant.respond("sorry what")
    assert parts.text == (
        "Sorry, I didn't catch the number. Let's take it in parts: the first five digits?"
    )
    assert parts.repair == "phone:parts"
    again = assistant.respond("hang on")  # the second miss: still in parts, not a hand-off
    assert again.text == "Sorry, I still didn't catch that. Just the first five digits, please."
    assert not again.done and again.expecting == "phone"
    rest = assistant.respond("oh seven seven oh oh")
    assert rest.text == "Thank you. And the rest of the number?"
    assert rest.card["phone"] is None
    missed = assistant.respond("what was that")
    assert missed.text.endswith("The rest of the number, please.")
    assert missed.repair == "phone:rest"
    whole = assistant.respond("nine double oh, four five six")
    assert whole.expecting == "email"
    assert whole.card["phone"] == "07700900456"
    read_back = assistant.respond("skip")
    assert read_back.expecting == "confirm"
    assert f"phone {n.format_phone_for_speech('07700900456')}" in read_back.text


@pytest.mark.llm
def test_only_the_start_of_a_number_heard_is_kept_and_the_rest_asked_for(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    """Whisper dropped all but the first group of a number said in groups ("Oh seven seven
    oh well." for "07700 900123", neural caller at 15 dB): the start is kept as the first
    part, and only the rest is asked for (it was "Sorry, I didn't catch the number. Let's
    take it in parts: the first five digits?", a turn more)."""
    assistant = at(settings, backend, quick, TO_PHONE)
    start = assistant.respond("Oh seven seven oh well.")
    assert start.text == "I have 0 7 7 0 0 so far. And the rest of the number?"
    assert start.expecting == "phone" and start.card["phone"] is None
    whole = assistant.respond("nine zero zero one two three")
    assert whole.expecting == "email"
    assert whole.card["phone"] == "07700900123"


# -- names spelled --------------------------------------------------------------------------------
@pytest.mark.llm
def test_a_misheard_name_is_asked_to_be_spelled_and_the_letters_give_it(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    """A name not caught is asked for once more by ear, the name alone; then spelled."""
    assistant = at(settings, backend, quick, TO_PET)
    assert last(assistant).expecting == "pet_name"
    again = assistant.respond("sorry, what?")
    assert again.text == "Sorry, I didn't catch that. Could you say just the name once more?"
    assert again.repair == "pet_name:again" and again.expecting == "pet_name"
    spell = assistant.respond("sorry, what?")
    assert spell.text == (
        "Sorry, I didn't catch the name. Could you spell that for me, letter by letter?"
    )
    assert spell.expecting == "pet_name" and spell.choices == ()
    assert spell.repair == "pet_name:spell"
    named = assistant.respond("M I T T E N S")
    assert named.card["pet_name"] == "Mittens" and named.repair is None
    assert named.expecting == "client_name"

    own = assistant.respond("sorry, what?")
    assert own.text == "Sorry, I didn't catch that. Just your first name, please?"
    assert own.repair == "client_name:again-first"
    first = assistant.respond("James")
    assert first.text == "Thanks, James. And your last name?"
    assert assistant.respond("sorry, what?").text == (
        "Sorry, I didn't catch that. Just your last name, please?"
    )


@pytest.mark.llm
def test_a_name_asked_for_again_may_be_spelled_unasked(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_PET)
    assert assistant.respond("sorry, what?").repair == "pet_name:again"
    named = assistant.respond("M, I, T, T, E, N, S")
    assert named.card["pet_name"] == "Mittens" and named.expecting == "client_name"


# -- low confidence -------------------------------------------------------------------------------
@pytest.mark.llm
def test_a_phone_number_heard_with_low_confidence_is_confirmed_before_it_is_used(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_PHONE)
    heard = assistant.respond("07700 900456", confidence=LOW)
    assert heard.text == (
        f"I heard {n.format_phone_for_speech('07700900456')} as your phone number. Is that right?"
    )
    assert heard.expecting == "phone" and heard.choices == ("Yes", "No")
    assert heard.card["phone"] is None  # not used yet
    refused = assistant.respond("no")
    assert refused.text == "Sorry about that. Let's take it in parts: the first five digits?"
    assert assistant.state.phone is None
    assistant.respond("0 7 7 0 0", confidence=HIGH)
    taken = assistant.respond("9 0 0 1 2 3", confidence=HIGH)
    assert taken.expecting == "email" and taken.card["phone"] == "07700900123"

    kept = at(settings, backend, quick, TO_PHONE)
    kept.respond("oh seven seven oh oh, nine oh oh, four five six", confidence=LOW)
    assert kept.respond("yes, that's right").card["phone"] == "07700900456"

    repeated = at(settings, backend, quick, TO_PHONE)
    repeated.respond("07700 900456", confidence=LOW)
    same = repeated.respond("07700 900456", confidence=LOW)  # said again: as good as a yes
    assert same.expecting == "email" and same.card["phone"] == "07700900456"

    typed = at(settings, backend, quick, TO_PHONE)
    assert typed.respond("07700 900456").card["phone"] == "07700900456"  # None: trusted
    sure = at(settings, backend, quick, TO_PHONE)
    assert sure.respond("07700 900456", confidence=HIGH).card["phone"] == "07700900456"


@pytest.mark.llm
def test_a_name_heard_with_low_confidence_is_confirmed_and_a_no_asks_to_spell_it(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_PET)
    heard = assistant.respond("Mittens", confidence=LOW)
    assert heard.text == "I heard Mittens as your cat's name. Is that right?"
    assert heard.card["pet_name"] is None
    spell = assistant.respond("no")
    assert spell.text == "Sorry about that. Could you spell that for me, letter by letter?"
    spelled = assistant.respond("M I T T E N S", confidence=HIGH)
    assert spelled.card["pet_name"] == "Mittens" and spelled.expecting == "client_name"


# -- hand-off after the repairs -------------------------------------------------------------------
@pytest.mark.llm
def test_a_caller_who_keeps_failing_is_handed_off_after_the_repairs_with_the_details_kept(
    settings: Settings, backend: BookingBackend, quick: Any
) -> None:
    assistant = at(settings, backend, quick, TO_PHONE)
    first = assistant.respond("sorry what")
    second = assistant.respond("hang on a second")
    assert not first.done and not second.done
    assert "in parts" in first.text and "digits" in second.text
    gone = assistant.respond("what was that")
    assert gone.done and assistant.outcome == "handoff"
    assert assistant.handoff_reason == "not_understood"
    assert gone.card["pet_name"] == "Mittens"
    assert gone.card["client_name"] == "James Okafor"
    assert gone.card["clinician"] == "Dr Michael Norman"
    summary = assistant.summary()
    assert "handed to reception (not_understood)" in summary
    assert "pet Mittens" in summary and "client James Okafor" in summary


# -- every choice selects its value, typed, with the app's model ----------------------------------
@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.timeout(1800)  # some twenty conversations with the default model
def test_every_choice_shown_selects_its_value_when_typed(
    settings: Settings, backend: BookingBackend, default: Any
) -> None:
    def each_choice(lines: list[str], step: str) -> Iterator[tuple[str, Assistant]]:
        shown = last(at(settings, backend, default, lines))
        assert shown.expecting == step and shown.choices, shown.text
        for choice in shown.choices:
            assistant = at(settings, backend, default, lines)
            assistant.respond(choice)
            yield choice, assistant

    for choice, a in each_choice(TO_SPECIES, "species"):
        assert a.state.species == choice
    for choice, a in each_choice(TO_TYPE, "appointment_type"):
        assert a.state.appointment_type == choice
    for choice, a in each_choice(TO_CLINICIAN, "clinician"):
        wanted = ANYONE if choice == "Whoever is free first" else choice
        assert a.state.clinician == wanted, choice
    for choice, a in each_choice(TO_TIME, "time"):
        assert a.state.slot is not None, choice
        assert n.spoken_time(a.state.slot.start.astimezone(a.tz).time()) == choice
    assert last(at(settings, backend, default, TO_EMAIL)).choices == ()  # an open question


@pytest.mark.llm
@pytest.mark.slow
def test_yes_and_no_at_the_read_back_book_or_ask_what_to_change(
    settings: Settings, default: Any
) -> None:
    with booking_backend(settings, now=NOW, sandbox_only=True) as backend:  # it books
        booked = at(settings, backend, default, TO_CONFIRM)
        assert last(booked).choices == ("Yes", "No")
        done = booked.respond("Yes")
        assert booked.outcome == "booked" and done.expecting == "anything_else"
        assert done.choices == ("Yes", "No")
        assert booked.respond("No").done
        refused = at(settings, backend, default, TO_CONFIRM)
        change = refused.respond("No")
        assert change.text == "Sorry about that. What would you like to change?"
        assert change.choices == ()  # an open question


@pytest.mark.llm
@pytest.mark.slow
def test_yes_and_no_to_a_time_put_to_the_caller_take_it_or_offer_the_next(
    settings: Settings, backend: BookingBackend, default: Any
) -> None:
    timed = at(settings, backend, default, [*TO_TIME, "the um"])
    shown = last(timed).choices
    assert shown[-2:] == ("Yes", "No")
    assert timed.respond("Yes").expecting == "pet_name"
    assert timed.state.slot is not None
    assert n.spoken_time(timed.state.slot.start.astimezone(timed.tz).time()) == shown[0]
    declined = at(settings, backend, default, [*TO_TIME, "the um"])
    assert declined.respond("No").text == f"No problem. How about {shown[1]}?"


@pytest.mark.llm
@pytest.mark.slow
def test_yes_and_no_to_a_value_heard_with_low_confidence_keep_it_or_ask_again(
    settings: Settings, backend: BookingBackend, default: Any
) -> None:
    heard = at(settings, backend, default, TO_PHONE)
    heard.respond("07700 900456", confidence=LOW)
    assert last(heard).choices == ("Yes", "No")
    assert heard.respond("Yes").card["phone"] == "07700900456"
    doubted = at(settings, backend, default, TO_PHONE)
    doubted.respond("07700 900456", confidence=LOW)
    assert "in parts" in doubted.respond("No").text
