"""Placing the booking, and what is said once Vetstoria has answered. Only a confirmed 201
becomes "You're booked"; a time taken since it was offered (409) is never offered again and
other times are; a refusal that may pass (a 5xx, a timeout) is offered one retry; an answer
that was lost is handed to the staff to check. Runs only when a reply is committed, never
while one is prepared."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog import offers, replies
from petvisor_desktop.dialog.availability import SlotSearch, ToolCallRecord
from petvisor_desktop.dialog.state import BookingState, Step
from petvisor_desktop.dialog.tools import ANYONE
from vetstoria.errors import SlotTakenError, VetstoriaError
from vetstoria.models import BookingRequest, ClientDetails, Slot

if TYPE_CHECKING:
    from petvisor_desktop.dialog.journal import Journal
    from petvisor_desktop.dialog.policy import Reply, Turn

log = logging.getLogger(__name__)


class BookingApi(SlotSearch, Protocol):
    def book(self, request: BookingRequest) -> Any: ...


@dataclass(frozen=True)
class Placed:
    """Vetstoria's answer to one booking: "confirmed", "unconfirmed" (its answer says it is
    not confirmed: staff to check), "taken" (409) or "failed" (`error`)."""

    status: str
    slot: Slot
    vet: str
    call: ToolCallRecord
    result: Any = None
    error: VetstoriaError | None = None


class Booker:
    """Books with `api` in the clinic's catalogue."""

    def __init__(
        self,
        api: BookingApi,
        type_ids: dict[str, int],
        species_ids: dict[str, int],
        schedule_names: dict[int, str],
    ) -> None:
        self.api = api
        self.type_ids = type_ids
        self.species_ids = species_ids
        self.schedule_names = schedule_names

    def request(self, st: BookingState) -> BookingRequest:
        assert (
            st.slot
            and st.species
            and st.appointment_type
            and st.first_name
            and st.last_name
            and st.phone
        )
        return BookingRequest(
            slot=st.slot,
            client=ClientDetails(st.first_name, st.last_name, st.email or "", st.phone),
            appointment_type_id=self.type_ids[st.appointment_type],
            species_id=self.species_ids[st.species],
            pet_name=st.pet_name or "",
            notes=st.notes,
            is_preferred_clinician=st.clinician not in (None, ANYONE),
        )

    def place(self, st: BookingState, journal: Journal) -> Placed:
        """Book what `st` holds and record it in `journal` (a failure too)."""
        request = self.request(st)
        slot = request.slot
        vet = self.schedule_names.get(slot.schedule_id, "")
        args = {
            "slot": slot.start.isoformat(),
            "schedule_id": slot.schedule_id,
            "appointment_type": st.appointment_type,
            "species": st.species,
        }
        # Recorded before the request leaves: a kiosk that stops while Vetstoria books it
        # still leaves the booking for staff to check (journal.placing).
        row = journal.placing(st, slot, vet)
        t0 = time.perf_counter()
        try:
            result = self.api.book(request)
        except SlotTakenError as exc:
            call = ToolCallRecord("place_booking", args, "slot_taken", _ms(t0))
            journal.answered(row, None)
            return Placed("taken", slot, vet, call, error=exc)
        except VetstoriaError as exc:
            call = ToolCallRecord("place_booking", args, exc.code, _ms(t0))
            journal.answered(row, "failed")
            return Placed("failed", slot, vet, call, error=exc)
        call = ToolCallRecord("place_booking", {**args, "result": result.status}, "ok", _ms(t0))
        status = "confirmed" if result.status == "confirmed" else "unconfirmed"
        journal.answered(row, status, result)
        return Placed(status, slot, vet, call, result)


def after_booking(t: Turn, placed: Placed) -> Reply:
    """What the caller is told once Vetstoria has answered `placed` (and the state after)."""
    t.calls.append(placed.call)
    st = t.st
    slot = placed.slot
    if placed.status == "taken":
        t.set(taken=st.taken | {(slot.start, slot.schedule_id)}, slot=None, offered=())
        return offers.offer_times(t, note="I'm sorry, that time has just been taken. ")
    if placed.status == "failed":
        assert placed.error is not None
        if placed.error.retryable and not st.retried:
            t.set(retried=True, pending_retry=True)
            return t.reply(replies.BOOKING_REFUSED_TRY_AGAIN, Step.CONFIRM)
        return t.booking_system_down(placed.error)
    when = slot.start.astimezone(t.clinic.tz)
    spoken = f"{offers.on(t, when.date())} at {n.spoken_time(when.time())}"
    if placed.status == "unconfirmed":
        assert st.phone is not None
        t.set(handoff_reason="unconfirmed", outcome="handoff")
        return t.reply(
            replies.booking_unconfirmed(spoken, st.phone),
            Step.ANYTHING_ELSE,
            handoff=("unconfirmed booking: staff to check", st.phone),
        )
    t.set(outcome="booked")
    return t.reply(replies.booked(st.pet_name, placed.vet, spoken), Step.ANYTHING_ELSE)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
