"""The state of one booking conversation, immutable: the booking's details, the step the
assistant waits for and the flow's flags. A turn advances it with `dataclasses.replace`, so a
reply can be worked out on the state as it stands and thrown away (the assistant's `prepare`)
without touching the conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from petvisor_desktop.dialog.repair import RepairState
from petvisor_desktop.dialog.tools import ANYONE
from vetstoria.models import Slot


class Step(StrEnum):
    """What a reply waits for: each detail of the booking, then the read-back and the end.
    The values are the ones the scenario files, the voice loop (`Listening.expecting`), the
    recogniser's stock phrases and repair.py use, and a `Step` equals its value."""

    SPECIES = "species"
    APPOINTMENT_TYPE = "appointment_type"
    CLINICIAN = "clinician"
    DATE = "date"
    TIME = "time"
    PET_NAME = "pet_name"
    CLIENT_NAME = "client_name"
    PHONE = "phone"
    EMAIL = "email"
    CONFIRM = "confirm"
    ANYTHING_ELSE = "anything_else"
    NONE = "none"


# The details a caller can correct by touch on the booking card, and what of the booking
# state each one forgets (so that it is asked again).
FORGETS: dict[str, tuple[str, ...]] = {
    "species": ("species",),
    "appointment_type": ("appointment_type", "proposed_type"),
    "clinician": ("clinician",),
    "date": ("day", "part_of_day"),
    "time": ("slot",),
    "pet_name": ("pet_name",),
    "client_name": ("first_name", "last_name"),
    "phone": ("phone",),
    "email": ("email",),
}
CHANGEABLE = tuple(FORGETS)
# What the understanding of an answer may find that answers each step's question: what an
# answer carrying an off-task instruction may set, and what makes a short answer whole
# without the model.
ANSWERS: dict[str, tuple[str, ...]] = {
    "species": ("species",),
    "appointment_type": ("appointment_type",),
    "clinician": ("clinician",),
    "date": ("day", "part_of_day", "weekend", "asap"),
    "time": ("slot", "wanted_time"),
    "pet_name": ("pet_name",),
    "client_name": ("first_name", "last_name"),
    "phone": ("phone", "phone_problem", "phone_guessed"),
    "email": ("email", "email_declined", "email_guessed"),
}
EXPECTING = tuple(s.value for s in Step)


@dataclass(frozen=True)
class BookingState:
    """Everything a conversation has got to. Never changed in place: `replace` gives the
    next one."""

    # -- the booking ------------------------------------------------------------------------
    species: str | None = None
    appointment_type: str | None = None
    clinician: str | None = None  # a clinician's name or ANYONE
    day: date | None = None
    part_of_day: str | None = None
    offered: tuple[Slot, ...] = ()
    slot: Slot | None = None
    pet_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    email_declined: bool = False
    notes: str = ""
    proposed_type: str | None = None  # inferred, waiting for the caller's yes

    # -- the flow ---------------------------------------------------------------------------
    expecting: Step = Step.NONE  # what the last reply asked for
    done: bool = False
    outcome: str | None = None  # "booked", "handoff", "no_booking"
    handoff_reason: str | None = None
    preferences: tuple[str, ...] = ()  # what the caller asked for, kept with the summary
    read_back_given: bool = False  # the last reply was the full read-back: a yes books
    asked_what_to_change: bool = False  # "What would you like to change?" was just asked
    asked_email_again: bool = False  # an address at the read-back was not made out: said again
    email_spelling: bool = False  # asked to spell the address before the "at": read so
    email_tries: int = 0  # addresses given (or tried) at the read-back
    email_left_off: int = 0  # times the caller was told the address is left off
    pending_retry: bool = False  # "Shall I try again?" after a failed booking
    retried: bool = False  # one retry of a failed booking, offered once
    wanted_time: dtime | None = None  # a time the caller named, to look for
    asap: bool = False  # the caller wants the first free time, whatever the day
    # Times Vetstoria refused as taken (start, schedule): never offered again, even when a
    # search made just after still lists them.
    taken: frozenset[tuple[datetime, int]] = frozenset()
    # Values the caller said were wrong at the read-back: (detail, value in lower case).
    refused: frozenset[tuple[str, str]] = frozenset()
    # Of those, the ones taken for wrong only because another value was heard in their place
    # at the read-back: the caller may have said the same name, misheard (run 14: "No, my
    # name is Naomi Clarke" heard "Amy Clark"), so a spelling a letter from one may still be
    # put to them ("M-A-O-M-I": Naomi?). A value the caller said no to itself is not here.
    replaced: frozenset[tuple[str, str]] = frozenset()
    phone_problems: int = 0  # numbers in a row that could not be a phone number
    on_file_email: str | None = None  # "" once looked up and nothing usable found
    # Where the repair of a misheard answer has got to (repair.py). Mutable, so a turn works
    # on a copy of it (`policy.Turn`) and never on this one.
    repair: RepairState = field(default_factory=RepairState)

    def refused_values(self, key: str) -> set[str]:
        """The values of `key` the caller said were wrong."""
        return {value for k, value in self.refused if k == key}

    def card(self, tz: ZoneInfo) -> dict[str, Any]:
        """What the booking card shows."""
        return {
            "species": self.species,
            "appointment_type": self.appointment_type,
            "clinician": self.clinician,
            "date": self.day.isoformat() if self.day else None,
            "part_of_day": self.part_of_day,
            "time": self.slot.start.astimezone(tz).strftime("%H:%M") if self.slot else None,
            "pet_name": self.pet_name,
            "client_name": " ".join(p for p in (self.first_name, self.last_name) if p) or None,
            "phone": self.phone,
            "email": self.email,
        }

    def next_step(self) -> Step:
        """The detail asked for next: the first one missing, else the read-back."""
        for step, missing in (
            (Step.SPECIES, self.species is None),
            (Step.APPOINTMENT_TYPE, self.appointment_type is None),
            (Step.CLINICIAN, self.clinician is None),
            (Step.DATE, self.day is None),
            (Step.TIME, self.slot is None),
            (Step.PET_NAME, self.pet_name is None),
            (Step.CLIENT_NAME, self.first_name is None or self.last_name is None),
            (Step.PHONE, self.phone is None),
            (Step.EMAIL, self.email is None and not self.email_declined),
        ):
            if missing:
                return step
        return Step.CONFIRM


def summary(state: BookingState, schedule_names: dict[int, str]) -> str:
    """A short account of the conversation, kept with it in the history."""
    st = state
    asked = (
        ", ".join(
            f"{k.replace('_', ' ')} {v}"
            for k, v in (
                ("species", st.species),
                ("type", st.appointment_type),
                ("date", st.day.isoformat() if st.day else None),
            )
            if v
        )
        or "nothing specific"
    )
    if st.outcome == "booked" and st.slot:
        result = (
            f"booked {st.appointment_type} with {schedule_names.get(st.slot.schedule_id)} "
            f"at {st.slot.start.isoformat()}"
        )
    elif st.outcome == "handoff":
        # What the caller got through before the hand-off, so that the staff need not ask
        # it all again (the card on the screen keeps it too).
        given = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("clinician", st.clinician if st.clinician != ANYONE else None),
                ("time", st.slot.start.isoformat() if st.slot else None),
                ("pet", st.pet_name),
                ("client", " ".join(p for p in (st.first_name, st.last_name) if p)),
                ("phone", st.phone),
                ("email", st.email),
            )
            if v
        )
        result = f"handed to reception ({st.handoff_reason})"
        result += f"; details given: {given}" if given else ""
    else:
        result = "nothing booked"
    prefs = "; preferences: " + ", ".join(dict.fromkeys(st.preferences)) if st.preferences else ""
    return f"Asked about: {asked}. Result: {result}{prefs}."
