"""The conversation's history writes, in one place: each turn (a reply with its tool calls,
carrying its own row id), bookings with their status, hand-offs and the end of the
conversation, these two with what was understood (the booking card, for reception's worklist).
Without a recorder (typed tests, the `chat` command without a database) nothing is written and
every method is a no-op."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from petvisor_desktop.dialog.assistant import AssistantTurn
    from petvisor_desktop.dialog.state import BookingState
    from vetstoria.models import Slot


class Recorder(Protocol):
    """Where a conversation is written as it goes (the history database, or nothing)."""

    def add_turn(self, conversation_id: int, role: str, text: str, **kw: Any) -> int: ...
    def add_tool_call(
        self,
        conversation_id: int,
        turn_id: int | None,
        name: str,
        arguments: Any,
        status: str,
        duration_ms: float,
    ) -> int: ...
    def add_booking(self, conversation_id: int, **fields: Any) -> int: ...
    def update_booking_status(
        self, booking_id: int, status: str, appointment_ids: Any = None
    ) -> None: ...
    def discard_booking(self, booking_id: int) -> None: ...
    def add_handoff(
        self,
        conversation_id: int,
        reason: str,
        contact: str | None,
        *,
        card: Mapping[str, Any] | None = None,
    ) -> int: ...
    def end_conversation(
        self,
        conversation_id: int,
        outcome: str,
        summary: str | None = None,
        *,
        card: Mapping[str, Any] | None = None,
    ) -> None: ...


class Journal:
    """Writes one conversation into `recorder` (None: writes nothing)."""

    def __init__(self, recorder: Recorder | None, conversation_id: int | None) -> None:
        self.recorder = recorder if conversation_id is not None else None
        self.conversation_id = conversation_id

    def caller(self, text: str, expecting: str) -> int | None:
        """What the caller said (or did: "(pressed Talk to reception)")."""
        return self._turn("caller", text, expecting)

    def reply(self, turn: AssistantTurn) -> int | None:
        """The assistant's reply with its figures and tool calls; returns its row id."""
        row = self._turn(
            "assistant",
            turn.text,
            turn.expecting,
            latency={
                "llm_total_ms": turn.llm_ms,
                "llm_first_token_ms": turn.llm_first_token_ms,
                "response_ms": turn.total_ms,
            },
            tokens_in=turn.tokens_in,
            tokens_out=turn.tokens_out,
        )
        if self.recorder is not None and self.conversation_id is not None:
            for call in turn.tool_calls:
                self.recorder.add_tool_call(
                    self.conversation_id,
                    row,
                    call.name,
                    call.arguments,
                    call.status,
                    call.duration_ms,
                )
        return row

    def placing(self, state: BookingState, slot: Slot, vet: str) -> int | None:
        """A booking about to be sent to Vetstoria, with these details, written before it
        leaves (status "pending"); returns its row id for `answered`. Should the app stop
        before the answer is recorded, the next start makes it "unconfirmed": Vetstoria may
        have booked it, and staff are told to check."""
        if self.recorder is None or self.conversation_id is None:
            return None
        return self.recorder.add_booking(
            self.conversation_id,
            status="pending",  # history.recording.BOOKING_PENDING
            slot_start=slot.start.isoformat(),
            schedule_id=slot.schedule_id,
            partition_id=slot.partition_id,
            species=state.species,
            appointment_type=state.appointment_type,
            clinician=vet,
            pet_name=state.pet_name,
            first_name=state.first_name,
            last_name=state.last_name,
            phone=state.phone,
            email=state.email,
            notes=state.notes,
        )

    def answered(self, booking_id: int | None, status: str | None, result: Any = None) -> None:
        """Vetstoria's answer to the booking `placing` recorded: "confirmed", "unconfirmed"
        (the answer was lost: staff to check) or "failed"; None when nothing was booked and
        nothing is left to do (the time had been taken), which forgets the attempt."""
        if self.recorder is None or booking_id is None:
            return
        if status is None:
            self.recorder.discard_booking(booking_id)
            return
        ids = list(getattr(result, "appointment_ids", ()) or ())
        self.recorder.update_booking_status(booking_id, status, ids)

    def spoken(self, row_id: int | None, latency: dict[str, float], heard: str | None) -> None:
        """A reply once played: its figures known only then, and its text cut to what the
        caller heard (`heard`, when they spoke over it). Goes to the reply's own row."""
        update = getattr(self.recorder, "update_turn", None)
        if update is not None and row_id is not None:
            update(row_id, latency=latency, text=heard)

    def handoff(self, reason: str, contact: str | None, card: Mapping[str, Any]) -> None:
        """The caller handed to reception: why, how to reach them, and what was understood
        (`card`, as `BookingState.card` gives it), so that staff need not ask it again."""
        if self.recorder is not None and self.conversation_id is not None:
            self.recorder.add_handoff(self.conversation_id, reason, contact, card=card)

    def end(self, outcome: str, summary: str, card: Mapping[str, Any]) -> None:
        """The conversation's end: its outcome, a summary for people, and what was
        understood (`card`)."""
        if self.recorder is not None and self.conversation_id is not None:
            self.recorder.end_conversation(self.conversation_id, outcome, summary, card=card)

    def client_by_phone(self, phone: str) -> Any:
        """The client last booked with this phone number (None if unknown or unrecorded)."""
        lookup = getattr(self.recorder, "find_client_by_phone", None)
        return lookup(phone) if lookup is not None else None

    def _turn(self, role: str, text: str, expecting: str, **figures: Any) -> int | None:
        if self.recorder is None or self.conversation_id is None:
            return None
        return self.recorder.add_turn(
            self.conversation_id, role, text, expecting=expecting, **figures
        )
