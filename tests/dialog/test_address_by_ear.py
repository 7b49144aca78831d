"""An e-mail address that could not be made out, or was heard at a domain nobody uses, is put
to the caller as their own names at the clinic's usual domain when it sounds like them, as a
receptionist asks "Is it victoria dot hayes at example dot com?"; their yes takes it, a no
is never put again. Run 16 (espeak caller): three addresses were left off this way that the
caller had said plainly ("Victoria.hameademple.com", "Sarah under, Corley and M. will not
go not okay"). The lines are what Whisper tiny.en wrote in that run."""

from __future__ import annotations

import pytest

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.spelling import spelled_local_part
from petvisor_desktop.engine import BookingBackend
from petvisor_desktop.settings import Settings
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, TO_READ_BACK, say, start
from vetstoria.sandbox import SandboxClinic

HIGH = 0.9
USUAL = ("example.com", "gmail.com", "hotmail.co.uk", "outlook.com")
TO_EMAIL = [*TO_READ_BACK[:3], "Victoria Hayes", TO_READ_BACK[4]]


@pytest.mark.parametrize(
    ("heard", "first", "last", "address"),
    [
        ("Victoria.hameademple.com", "Victoria", "Hayes", "victoria.hayes@example.com"),
        (
            "No, my email is Victoria not, hey, madam, mample.com",
            "Victoria",
            "Hayes",
            "victoria.hayes@example.com",
        ),
        (  # "underscore" heard as "under", "dot co dot uk" as "go not okay"
            "Sarah under, Corley and M. will not go not okay.",
            "Sarah",
            "Lee",
            "sarah_lee@example.co.uk",
        ),
        ("Amy Clark at m mental dot com. No dot.", "Naomi", "Clarke", "naomiclarke@example.com"),
        # The domain heard is a provider's: kept.
        ("owen not price at gmail dot com", "Owen", "Price", "owen.price@gmail.com"),
        # Someone else's address, or one that is not the caller's names: nothing put.
        ("my email is bigdog99 at gmail dot com", "Sarah", "Lee", None),
        ("the clarke family at gmail dot com", "Naomi", "Clarke", None),
        ("my email is hc at outlook dot com", "Helen", "Carter", None),
        # Espeak's "dan dot hughes": no nearer to Daniel Hughes than to other names.
        ("Then not human at mental.com.", "Daniel", "Hughes", None),
        ("Victoria.hameademple.com", "Victoria", None, None),  # the surname not known yet
        # Run 17: only a part heard ("my email is menser.com" for aisha.mensah): nothing put.
        ("No, my name is Michelle Menser and my email is menser.com", "Michelle", "Menser", None),
    ],
)
def test_the_callers_own_address_by_ear(
    heard: str, first: str, last: str | None, address: str | None
) -> None:
    assert n.own_address_by_ear(heard, first, last, USUAL) == address


def test_after_a_no_to_one_of_the_callers_own_addresses_none_is_put() -> None:
    heard = "Victoria.hameademple.com"
    assert n.own_address_by_ear(heard, "Victoria", "Hayes", USUAL) == ("victoria.hayes@example.com")
    for refused in ("victoria.hayes@example.com", "victoria_hayes@gmail.com"):
        assert n.own_address_by_ear(heard, "Victoria", "Hayes", USUAL, {refused}) is None
    other = {"vic.hayes@example.com"}  # not the names as they are: no guess of ours
    assert n.own_address_by_ear(heard, "Victoria", "Hayes", USUAL, other) is not None


def test_after_a_no_the_surnames_other_spelling_is_put_once() -> None:
    heard = "Naomi Clark at nampl.com. No, not all one word."
    put = n.own_address_by_ear(heard, "Naomi", "Clark", USUAL)
    assert put == "naomiclark@example.com"
    put = n.own_address_by_ear(heard, "Naomi", "Clark", USUAL, {put})
    assert put == "naomiclarke@example.com"
    both = {"naomi.clark@example.com", "naomiclarke@example.com"}
    assert n.own_address_by_ear(heard, "Naomi", "Clark", USUAL, both) is None
    # A surname with no other usual spelling: one guess, as before.
    assert n.own_address_by_ear(heard, "Naomi", "Hughes", USUAL, {"naomihughes@x.com"}) is None


def test_the_surname_follows_its_other_spelling_in_the_address_agreed(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    """Run 18 (espeak): Naomi Clarke heard "Naomi Clark"; "naomiclark at example dot com"
    was put and refused, then nothing more was put, the name was corrected as "Amy Clark"
    and the turns ran out. The other spelling of the surname is put next, and its yes
    spells the surname too."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, [*TO_READ_BACK[:3], "Naomi Clark", TO_READ_BACK[4]])
    first = assistant.respond("Naomi Clark at nampl.com. No, not all one word.", confidence=HIGH)
    assert first.checking == {"email": "naomiclark@example.com"}
    second = assistant.respond(
        "No. My email is Naomi Clark at nampl.com. No, not all one word.", confidence=HIGH
    )
    assert second.checking == {"email": "naomiclarke@example.com"}
    read_back = assistant.respond("Yes, that's right", confidence=HIGH)
    assert read_back.read_back is not None
    assert read_back.read_back["client_name"] == "Naomi Clarke"
    assert read_back.read_back["email"] == "naomiclarke@example.com"
    say(assistant, ["Yes please"])
    (booking,) = clinic.bookings()
    assert booking["client"]["last_name"] == "Clarke"


def test_an_address_heard_at_a_made_up_domain_is_put_as_the_callers_own(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    assistant, model = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_EMAIL)
    put = assistant.respond("Victoria.hameademple.com")
    assert put.checking == {"email": "victoria.hayes@example.com"}
    assert "victoria dot hayes at example dot com" in put.text
    assert assistant.state.email is None  # nothing taken before the yes
    read_back = assistant.respond("Yes, that's right")
    assert read_back.read_back is not None
    assert read_back.read_back["email"] == "victoria.hayes@example.com"
    say(assistant, ["Yes please"])
    (booking,) = clinic.bookings()
    assert booking["client"]["email"] == "victoria.hayes@example.com"
    assert not model.calls  # read by the rules


def test_a_no_to_the_address_put_goes_on_without_it(
    settings: Settings, backend: BookingBackend
) -> None:
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_EMAIL)
    assistant.respond("Victoria.hameademple.com")
    refused = assistant.respond("No")
    assert assistant.state.email is None
    assert "victoria dot hayes at example dot com" not in refused.text
    again = assistant.respond("Victoria.hameademple.com")
    assert again.checking != {"email": "victoria.hayes@example.com"}


def test_an_address_said_no_to_with_another_one_is_not_put_again(
    settings: Settings, backend: BookingBackend
) -> None:
    """Run 17 (espeak): "No. My email is Amy Clark and blampl.com" to "I heard amy dot clark
    at example dot com ..." put amyclark, whose no put amy.clark again, five times, until
    the turns ran out. Each address said no to is now never put again, and the address is
    left off once nothing new is heard."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, [*TO_READ_BACK[:3], "Amy Clark", TO_READ_BACK[4]])
    lines = [
        "Amy Clark and blampl.com. No. All one word.",
        "No. My email is Amy Clark and example.com. No, not all one word.",
        "No. My email is Amy Clark and blampl.com. No. All one word.",
    ] * 3
    put: list[str] = []
    for line in lines:
        turn = assistant.respond(line, confidence=HIGH)
        if turn.checking:
            put.append(turn.checking["email"])
        if turn.expecting == "confirm":
            break
    assert turn.expecting == "confirm" and "leave it off" in turn.text
    assert len(put) == len(set(put)) >= 2  # each put once
    assert assistant.state.email is None


def test_the_callers_own_name_like_a_vets_does_not_change_the_vet(
    settings: Settings, backend: BookingBackend
) -> None:
    """Run 17: "No, my name is Amy Clark" at the read-back moved the booking to Dr Amy
    Roberts and offered her times."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    first = say(assistant, TO_READ_BACK)
    assert first.read_back is not None
    fixed = assistant.respond("No, my name is Amy Clark", confidence=HIGH)
    assert fixed.read_back is not None
    assert fixed.read_back["clinician"] == first.read_back["clinician"] == "Dr Michael Norman"
    assert fixed.read_back["client_name"] == "Amy Clark"


@pytest.mark.parametrize("line", ["Amy Clark", "It's Amy Clark"])
def test_a_name_given_at_the_name_step_like_a_vets_does_not_change_the_vet(
    settings: Settings, backend: BookingBackend, line: str
) -> None:
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_READ_BACK[:3])
    held = assistant.state.clinician
    turn = assistant.respond(line, confidence=HIGH)
    assert turn.expecting == "phone"
    assert assistant.state.clinician == held == "Dr Michael Norman"
    assert (assistant.state.first_name, assistant.state.last_name) == ("Amy", "Clark")


@pytest.mark.parametrize(
    ("said", "local"),
    [
        ("D, A, N, dot, H, U, G, H, E, S", "dan.hughes"),  # as the simulated caller spells
        ("D-A-N dot H-U-G-H-E-S", "dan.hughes"),  # as Whisper writes letters
        ("My email is D-A-N. H-U-G-H-E-S at example.com", "dan.hughes"),  # the dot a full stop
        ("Okay, D, A, N, not, H, U, G, H, E, S.", "dan.hughes"),  # espeak's "dot" as "not"
        ("Dan dot H-U-G-H-E-S", "dan.hughes"),  # a part said whole
        ("S, A, R, A, H, underscore, L, E, E", "sarah_lee"),
        ("then not human at mental.com", None),  # no spelling
        ("My email is FABIMA.com", None),  # an address heard whole, its "at" lost
        ("Yes please", None),
    ],
)
def test_the_part_before_the_at_spelled(said: str, local: str | None) -> None:
    assert spelled_local_part(said) == local


@pytest.mark.parametrize(
    ("spelled", "local"),
    [
        ("bamdhughes", "dan.hughes"),  # run 18: D as B, N as M, the "dot" as the letter D
        ("dan.hughes", "dan.hughes"),
        ("danhughes", "danhughes"),  # the separator heard is kept
        ("danielhughes", "danielhughes"),
        ("bigdog", None),  # not the caller's names
        ("danhugh", None),  # a part of them
    ],
)
def test_the_callers_names_spelled_with_letters_that_sound_alike(
    spelled: str, local: str | None
) -> None:
    assert n.own_local_spelled(spelled, "Daniel", "Hughes") == local


def test_an_address_heard_the_same_wrong_way_at_the_read_back_is_spelled(
    settings: Settings, backend: BookingBackend, clinic: SandboxClinic
) -> None:
    """Run 18 (espeak): "dan dot hughes at example dot com" was heard "then not human" each
    time it was said again at the read-back, until it was left off. Asked to spell the part
    before the "at", the caller's letters are read back with the domain heard."""
    assistant, _ = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, [*TO_READ_BACK[:3], "Daniel Hughes", TO_READ_BACK[4]])
    first = assistant.respond("Then not human at mental.com.", confidence=HIGH)
    assert first.read_back is not None
    heard = "No, my email is then not human at example.com"
    assistant.respond(heard, confidence=HIGH)  # taken, and read back
    spell = assistant.respond(heard, confidence=HIGH)  # the same again: not caught
    assert spell.repair == "email:spell-local" and "spell" in spell.text
    read_back = assistant.respond("B-A-M-D-H-U-G-H-E-S", confidence=HIGH)  # as heard in run 18
    assert read_back.read_back is not None
    assert read_back.read_back["email"] == "dan.hughes@example.com"
    say(assistant, ["Yes please"])
    (booking,) = clinic.bookings()
    assert booking["client"]["email"] == "dan.hughes@example.com"
