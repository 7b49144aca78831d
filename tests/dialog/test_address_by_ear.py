"""An e-mail address that could not be made out, or was heard at a domain nobody uses, is put
to the caller as their own names at the clinic's usual domain when it sounds like them, as a
receptionist asks "Is it victoria dot hayes at example dot com?"; their yes takes it, a no
is never put again. Run 16 (espeak caller): three addresses were left off this way that the
caller had said plainly ("Victoria.hameademple.com", "Sarah under, Corley and M. will not
go not okay"). The lines are what Whisper tiny.en wrote in that run."""

from __future__ import annotations

import pytest

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.engine import BookingBackend
from petvisor_desktop.settings import Settings
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, TO_READ_BACK, say, start
from vetstoria.sandbox import SandboxClinic

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
