"""A person's name heard with doubt (unclear, said again after the caller refused what was
heard, or put right at the read-back) that is the recogniser's writing of one common name is
put to the caller as that name, spelt out, as a receptionist asks "Mensah, M-E-N-S-A-H?";
their yes takes it, their no goes on to the spelling. Run 14 (neural caller): "Aisha
Mensah" was heard "Aisha Menson" after a refused "Hey Shamanza", taken as heard, and read
back wrong until the caller asked for reception. Whole conversations with the scripted model
(the rules read every line here) and the sandbox clinic (conftest.py), as in
test_flows_scripted.py."""

from __future__ import annotations

import pytest

from petvisor_desktop.dialog import names as nm
from petvisor_desktop.engine import BookingBackend
from petvisor_desktop.settings import Settings
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, TO_READ_BACK, say, start
from vetstoria.sandbox import SandboxClinic

LOW, HIGH = 0.3, 0.95
TO_NAME = TO_READ_BACK[:3]  # the opening, the time, the pet's name: the caller's name next
AFTER_NAME = TO_READ_BACK[4:]  # the phone number and the e-mail address


@pytest.mark.parametrize(
    ("heard", "key", "name"),
    [
        ("Menson", "last_name", "Mensah"),  # two letters apart, the same first three
        ("Mensa", "last_name", "Mensah"),  # the same to the ear
        ("Hughs", "last_name", "Hughes"),
        ("Naomy", "first_name", "Naomi"),
        ("Mensah", "last_name", None),  # a common name already
        ("Robertson", "last_name", None),  # two letters longer than Roberts: a name itself
        ("Grent", "last_name", None),  # Grant or Green: not one
        ("Maomi", "first_name", None),  # Mia only by its consonants, and shorter by two
        ("Della", "pet_name", None),  # pets' names are too varied for a list
        ("Menson Lee", "last_name", None),
    ],
)
def test_the_common_name_a_heard_name_may_be(heard: str, key: str, name: str | None) -> None:
    assert nm.common_name_heard_as(heard, key) == name


def test_a_name_said_again_after_a_no_is_put_as_the_common_name_it_sounds_like(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    assistant, model = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    unclear = assistant.respond("Hey Shamanza", confidence=LOW)
    assert unclear.repair == "client_name:confirm-heard"
    assert "Hey Shamanza" in unclear.text
    near = assistant.respond("No, my name is Aisha Menson", confidence=HIGH)
    assert near.checking == {"last_name": "Mensah"}
    assert "Is your last name spelt M, E, N, S, A, H, Mensah?" in near.text
    assert assistant.state.last_name is None  # nothing taken before the yes
    assert not model.calls  # read by the rules (run 14: 1.7 s in the model)
    taken = assistant.respond("Yes, that's right", confidence=HIGH)
    assert taken.expecting == "phone"
    assert (assistant.state.first_name, assistant.state.last_name) == ("Aisha", "Mensah")
    read_back = say(assistant, AFTER_NAME)
    assert read_back.read_back is not None and read_back.read_back["client_name"] == (
        "Aisha Mensah"
    )
    say(assistant, ["Yes please"])
    (booking,) = clinic.bookings()
    assert (booking["client"]["first_name"], booking["client"]["last_name"]) == (
        "Aisha",
        "Mensah",
    )


def test_a_no_to_the_common_name_goes_on_to_the_spelling(
    settings: Settings, backend: BookingBackend
) -> None:
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    assistant.respond("Aisha Menson", confidence=LOW)  # unclear: put as Mensah at once
    refused = assistant.respond("No", confidence=HIGH)
    assert assistant.state.last_name is None
    assert "spell" in refused.text.lower() and "Mensah" not in refused.text
    # Heard the same again: Mensah is never put a second time.
    again = assistant.respond("Aisha Menson", confidence=LOW)
    assert "Mensah" not in again.text


def test_a_name_put_right_at_the_read_back_is_put_as_the_common_name(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    script = BOOKING_SCRIPT
    assistant, _ = start(settings, backend, script)
    lines = [*TO_NAME, "Aisha Menser", *AFTER_NAME]
    first = say(assistant, lines)
    assert first.read_back is not None and first.read_back["client_name"] == "Aisha Menser"
    near = assistant.respond("No, my name is Aisha Mensa", confidence=HIGH)
    assert "Is your last name spelt M, E, N, S, A, H, Mensah?" in near.text
    assert not near.asks_to_book
    again = assistant.respond("Yes", confidence=HIGH)
    assert again.read_back is not None and again.read_back["client_name"] == "Aisha Mensah"
    assert again.asks_to_book and clinic.bookings() == []
    say(assistant, ["Yes please"])
    (booking,) = clinic.bookings()
    assert booking["client"]["last_name"] == "Mensah"


def test_a_name_heard_clearly_the_first_time_is_taken_as_heard(
    settings: Settings, backend: BookingBackend
) -> None:
    """Only doubt brings the question: a clear "Aisha Menson" is the caller's own name."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    turn = assistant.respond("Aisha Menson", confidence=HIGH)
    assert turn.expecting == "phone" and assistant.state.last_name == "Menson"


def test_a_name_agreed_and_heard_again_as_its_misspelling_is_kept(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    """Run 16 (espeak): Mensah was put and agreed, then "No, my name is Aisha Mensah" heard
    "No, my name is Michelle Menser" replaced it with Menser. The agreed surname stays; the
    first name, heard the same wrong way again, is what is asked for, spelled."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    put = assistant.respond("Michelle Menson", confidence=LOW)
    assert put.checking == {"first_name": "Michelle", "last_name": "Mensah"}
    say(assistant, ["Yes, that's right", *AFTER_NAME])  # to the read-back
    heard = "No, my name is Michelle Menser and my email is menser.com"
    spell = assistant.respond(heard, confidence=HIGH)
    assert assistant.state.last_name == "Mensah"
    assert assistant.state.first_name is None
    assert spell.repair == "client_name:spell-first"
    read_back = assistant.respond("A, I, S, H, A", confidence=HIGH)
    assert read_back.read_back is not None
    assert read_back.read_back["client_name"] == "Aisha Mensah"
    say(assistant, ["Yes"])
    (booking,) = clinic.bookings()
    assert (booking["client"]["first_name"], booking["client"]["last_name"]) == (
        "Aisha",
        "Mensah",
    )


def test_an_address_heard_with_a_first_name_forgotten_follows_its_spelling(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    """Run 18 (espeak): "michelle.mensah@" (heard with the first name) was read back after
    "A-I-S-H-A" was spelled: the first name had been forgotten as misheard before the
    spelling, so the address did not follow it; the caller left the address off."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    assistant.respond("Michelle Menson", confidence=LOW)
    phone = AFTER_NAME[0]
    say(assistant, ["Yes, that's right", phone, "michelle dot mensah at example dot com"])
    heard = "No, my name is Michelle Menser and my email is menser.com"
    assistant.respond(heard, confidence=HIGH)
    assert assistant.state.first_name is None
    read_back = assistant.respond("A, I, S, H, A", confidence=HIGH)
    assert read_back.read_back is not None
    assert read_back.read_back["email"] == "aisha.mensah@example.com"
    say(assistant, ["Yes"])
    (booking,) = clinic.bookings()
    assert booking["client"]["email"] == "aisha.mensah@example.com"


def test_a_name_heard_clearly_just_like_a_common_one_is_put_as_that_one(
    settings: Settings, backend: BookingBackend
) -> None:
    """Run 16 (neural): "Karen Doyle" heard clearly as "Karen Doell" was taken, and Doyle was
    never got back at the read-back. Heard (not typed) as no common name but sounding just
    like one, with its first two letters, it is put to the caller spelt out."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    put = assistant.respond("Karen Doell", confidence=HIGH)
    assert put.checking == {"last_name": "Doyle"}
    assert "Is your last name spelt D, O, Y, L, E, Doyle?" in put.text
    assert assistant.state.first_name == "Karen"  # a common name: taken
    taken = assistant.respond("Yes", confidence=HIGH)
    assert taken.expecting == "phone" and assistant.state.last_name == "Doyle"


@pytest.mark.parametrize("confidence", [None, HIGH])
def test_a_name_typed_or_unlike_any_common_one_is_taken_as_given(
    settings: Settings, backend: BookingBackend, confidence: float | None
) -> None:
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    name = "Karen Doell" if confidence is None else "Karen Okonkwo"
    taken = assistant.respond(name, confidence=confidence)
    assert taken.expecting == "phone" and taken.checking is None
    assert (assistant.state.first_name, assistant.state.last_name) == tuple(name.split())


def test_a_name_said_again_after_a_no_and_heard_as_nobodys_is_put_as_heard(
    settings: Settings, backend: BookingBackend
) -> None:
    """Run 18 (espeak): "Hey Samantha" put and refused, then "No, my name is Aja Man, sir"
    was taken as heard; Aisha Mensah's name and address were put right only at the
    read-back, and the turns ran out. A name said again after a no, heard as nobody's, is
    put as heard; a no to it goes on to the spelling."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    assistant.respond("Hey, Samantha", confidence=LOW)
    put = assistant.respond("No, my name is Aja Man", confidence=HIGH)
    assert put.checking == {"first_name": "Aja", "last_name": "Man"}
    assert assistant.state.first_name is None  # nothing taken before the yes
    refused = assistant.respond("No", confidence=HIGH)
    assert "spell" in refused.text.lower()
    # Said again after a no and heard as a common name: taken, as before.
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    assistant.respond("Hey, Samantha", confidence=LOW)
    taken = assistant.respond("No, my name is Aisha Mensah", confidence=HIGH)
    assert taken.expecting == "phone" and assistant.state.last_name == "Mensah"
    # Typed: taken as typed.
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_NAME)
    assistant.respond("Hey, Samantha", confidence=LOW)
    typed = assistant.respond("No, my name is Aja Man")
    assert typed.expecting == "phone" and assistant.state.first_name == "Aja"


def test_the_surname_is_spelled_first_after_a_first_name_put_right_as_a_common_one(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    """Run 18 (neural, 15 dB): "Family Clark" put right as "Naomi Clark", then "Naomi Clark"
    heard again: the first name was asked to be spelled ("N-A-L-N-A") while the surname was
    the name heard wrong (Clarke). A common first name put right is kept; the surname's
    other spelling is put for a yes."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    first = say(assistant, [*TO_NAME, "Family Clark", *AFTER_NAME])
    assert first.read_back is not None
    fixed = assistant.respond("No, my name is Naomi Clark", confidence=HIGH)
    assert fixed.read_back is not None and fixed.read_back["client_name"] == "Naomi Clark"
    again = assistant.respond("No, my name is Naomi Clark", confidence=HIGH)
    assert again.checking == {"last_name": "Clarke"}
    read_back = assistant.respond("Yes, that's right", confidence=HIGH)
    assert read_back.read_back is not None
    assert read_back.read_back["client_name"] == "Naomi Clarke"
