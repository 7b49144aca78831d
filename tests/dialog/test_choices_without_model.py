"""A closed question answered with one of its choices (tapped, or fitted by the recogniser) is
read by the detectors alone: no model call, so no model time on the reply. Every choice the
clinic offers at each closed step must be read this way, and read right; anything more than
the choice and courtesy still goes to the model."""

from __future__ import annotations

from typing import Any

import pytest

from petvisor_desktop.dialog.assistant import Assistant
from petvisor_desktop.dialog.repair import NO, YES
from petvisor_desktop.dialog.state import Step
from petvisor_desktop.dialog.tools import ANYONE
from petvisor_desktop.dialog.understand import is_a_choice
from petvisor_desktop.engine import BookingBackend
from petvisor_desktop.settings import Settings
from petvisor_desktop.spoken import ANYONE_CHOICE
from tests.dialog.test_flows_scripted import start

ASK = "I'd like to book an appointment"


def _each_choice_read_alone(assistant: Assistant, model: Any, read: Any) -> str:
    """Prepare the reply to every closed choice of the open question: none asks the model,
    and each is read as that choice. Returns the first choice, to go on with."""
    turn = assistant.turns[-1]
    options = [c for c in turn.choices if c not in (YES, NO)]
    assert options, turn.text
    calls = len(model.calls)
    for choice in options:
        # As tapped, with courtesy, and with a plural "s" lost ("Vaccination").
        for said in (choice, f"{choice} please", choice.removesuffix("s")):
            prepared = assistant.prepare(said)
            assert len(model.calls) == calls, f"{said!r} asked the model"
            assert read(prepared.state) == choice, (said, prepared.text)
    return options[0]


def test_every_choice_at_every_closed_step_is_read_without_the_model(
    settings: Settings, backend: BookingBackend
) -> None:
    script = {ASK: {"tool": "update"}, "tomorrow": {"tool": "update"}}
    assistant, model = start(settings, backend, script)
    assistant.respond(ASK)
    assert assistant.expecting == Step.SPECIES
    steps = [
        (Step.SPECIES, lambda st: st.species),
        (Step.APPOINTMENT_TYPE, lambda st: st.appointment_type),
        (Step.CLINICIAN, lambda st: ANYONE_CHOICE if st.clinician == ANYONE else st.clinician),
    ]
    for step, read in steps:
        assert assistant.expecting == step, assistant.turns[-1].text
        assistant.respond(_each_choice_read_alone(assistant, model, read))
    if assistant.expecting == Step.DATE:
        assistant.respond("Tomorrow morning")  # an open question: the model's
    assert assistant.expecting == Step.TIME, assistant.turns[-1].text
    _each_choice_read_alone(
        assistant, model, lambda st: st.slot and _spoken(st.slot.start, assistant)
    )


def _spoken(start: Any, assistant: Assistant) -> str:
    from petvisor_desktop.dialog import normalize as n

    return n.spoken_time(start.astimezone(assistant.tz).time())


@pytest.mark.parametrize(
    ("step", "said", "read_alone"),
    [
        (Step.SPECIES, "Dog", True),
        (Step.SPECIES, "dog, thank you", True),
        (Step.SPECIES, "Dog, but can I ask about prices?", False),
        (Step.SPECIES, "Yes", False),  # a yes is no species
        (Step.TIME, "9:15am", True),
        (Step.TIME, "9:15am or later", False),
        (Step.PET_NAME, "Dog", False),  # an open question: not a choice
        (Step.APPOINTMENT_TYPE, "Vaccination", True),  # heard without its plural
        (Step.APPOINTMENT_TYPE, "Vaccinations and a nail trim", False),
    ],
)
def test_only_the_choice_and_courtesy_skip_the_model(
    step: Step, said: str, read_alone: bool
) -> None:
    choices = {
        Step.TIME: ("9:15am", "10:30am"),
        Step.APPOINTMENT_TYPE: ("Vaccinations", "Consultation", YES, NO),
    }.get(step, ("Cat", "Dog", YES, NO))
    assert is_a_choice(step, said, choices) is read_alone
