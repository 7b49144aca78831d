"""Recording a conversation as it goes (the engine's side of `History`): conversations, turns,
tool calls, bookings, handoffs with what the dialog understood (the booking card), ratings, and
closing the conversations a crash left open. A full disk never stops these writes:
`history.spool` keeps them until there is room."""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import peewee as pw

from petvisor_desktop.card import CARD_KEYS
from petvisor_desktop.history.errors import RecordNotFound
from petvisor_desktop.history.models import (
    Booking,
    BookingCard,
    Conversation,
    Handoff,
    ToolCall,
    Turn,
)
from petvisor_desktop.history.privacy import phone_key
from petvisor_desktop.history.records import (
    BOOKING_STATUSES,
    END_REASON_INTERRUPTED,
    LATENCY_FIELDS,
    MODES,
    OUTCOMES,
    ROLES,
    TOOL_STATUSES,
)
from petvisor_desktop.history.spool import Spooling, spooled
from petvisor_desktop.history.values import _check_choice, _now, _opt_ts, _ts

log = logging.getLogger(__name__)

# A booking sent to Vetstoria whose answer is not recorded yet: written before the request
# leaves, so that a process that dies while Vetstoria may be booking it leaves the booking in
# the history. Never seen after a start: the start-up repair makes every one left "unconfirmed"
# (the answer was lost; staff check Vetstoria), which puts it on the worklist. Not one of
# BOOKING_STATUSES: nothing that reads the history keeps it.
BOOKING_PENDING = "pending"


def _check_ms(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of milliseconds; got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative; got {value!r}")
    return float(value)


def _check_count(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number of 0 or more; got {value!r}")
    return value


def _json_default(value: object) -> Any:
    # Recording must never break a conversation: anything JSON cannot hold is stored as text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


_STATUS_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _check_tool_status(status: object) -> str:
    if not isinstance(status, str) or not _STATUS_CODE.match(status):
        raise ValueError(
            "tool call status must be a short lower-case code such as "
            f"{', '.join(TOOL_STATUSES)} or a Vetstoria error code; got {status!r}"
        )
    return status


def _slot_text(slot_start: datetime | str | None) -> str | None:
    """Appointment slots keep the clinic's offset exactly as Vetstoria gave it."""
    if slot_start is None:
        return None
    moment = datetime.fromisoformat(slot_start) if isinstance(slot_start, str) else slot_start
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("slot_start must carry its UTC offset, e.g. 2026-11-23T09:00:00+00:00")
    return moment.isoformat()


def _card_values(card: Mapping[str, Any] | None) -> dict[str, str | None] | None:
    """A booking card as the dialog passes it (`BookingState.card`: the keys of
    `petvisor_desktop.card.CARD_KEYS`, text or None; keys left out are None), checked. None
    when there is no card or nothing on it."""
    if card is None:
        return None
    if not isinstance(card, Mapping):
        raise ValueError(f"a booking card must be a mapping; got {type(card).__name__}")
    unknown = set(card) - set(CARD_KEYS)
    if unknown:
        raise ValueError(
            f"unknown booking card detail(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(CARD_KEYS)}"
        )
    values: dict[str, str | None] = {}
    for key in CARD_KEYS:
        value = card.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"booking card {key} must be text; got {value!r}")
        values[key] = value or None
    return values if any(values.values()) else None


def _one_of(name: str, value: str | None, alias: str | None) -> str | None:
    if value is not None and alias is not None and value != alias:
        raise ValueError(f"{name} was given twice, with different values")
    return value if value is not None else alias


class Recording(Spooling):
    """The writes of `History`: one short transaction each (see `history.database`), kept in
    memory while the disk is full (see `history.spool`)."""

    def _close_interrupted(self) -> int:
        with self._write():
            open_ids = [
                row.id
                for row in Conversation.select(Conversation.id)
                .where(Conversation.ended_at.is_null())
                .bind(self._db)
            ]
            for conversation_id in open_ids:
                last = (
                    Turn.select(pw.fn.MAX(pw.fn.COALESCE(Turn.ended_at, Turn.created_at)))
                    .where(Turn.conversation == conversation_id)
                    .scalar(self._db)
                )
                Conversation.update(
                    ended_at=pw.fn.COALESCE(last, Conversation.started_at),
                    outcome="abandoned",
                    end_reason=END_REASON_INTERRUPTED,
                ).where(Conversation.id == conversation_id).execute(self._db)
            # Bookings whose answer never came back to a process that stopped: Vetstoria
            # may have made them.
            lost = (
                Booking.update(status="unconfirmed", updated_at=_ts(_now()))
                .where(Booking.status == BOOKING_PENDING)
                .execute(self._db)
            )
        if open_ids:
            log.warning(
                "%d conversation(s) cut off by a crash marked abandoned (interrupted)",
                len(open_ids),
            )
        if lost:
            log.warning(
                "%d booking(s) sent to Vetstoria when the app stopped marked unconfirmed", lost
            )
        return len(open_ids)

    @spooled(new_row=True)
    def start_conversation(self, mode: str, *, started_at: datetime | None = None) -> int:
        """Open a conversation record; returns its id."""
        _check_choice("mode", mode, MODES)
        with self._write():
            conversation_id = int(
                Conversation.insert(started_at=_ts(started_at or _now()), mode=mode).execute(
                    self._db
                )
            )
        log.info("conversation %d started (%s)", conversation_id, mode)
        return conversation_id

    @spooled(new_row=True)
    def add_turn(
        self,
        conversation_id: int,
        role: str,
        text: str,
        *,
        expecting: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        latency: Mapping[str, float] | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
    ) -> int:
        """Record one turn as soon as it is complete. `latency` maps stage names
        (end_of_turn_ms, stt_ms, think_ms, llm_first_token_ms, llm_total_ms, tts_first_chunk_ms,
        response_ms) to milliseconds; stages not measured are left out."""
        _check_choice("role", role, ROLES)
        if not isinstance(text, str):
            raise ValueError(f"text must be a string; got {type(text).__name__}")
        figures: dict[str, float | None] = {}
        for name, value in (latency or {}).items():
            if name not in LATENCY_FIELDS:
                raise ValueError(
                    f"unknown latency figure {name!r}; known: {', '.join(LATENCY_FIELDS)}"
                )
            figures[name] = _check_ms(name, value)
        values: dict[str, Any] = {
            "conversation": conversation_id,
            "role": role,
            "text": text,
            "expecting": expecting,
            "started_at": _opt_ts(started_at),
            "ended_at": _opt_ts(ended_at),
            "tokens_in": _check_count("tokens_in", tokens_in),
            "tokens_out": _check_count("tokens_out", tokens_out),
            "created_at": _ts(_now()),
            **figures,
        }
        with self._write():
            self._require_conversation(conversation_id)
            turn_id = int(Turn.insert(**values).execute(self._db))
        return turn_id

    @spooled(new_row=False)
    def update_turn(
        self,
        turn_id: int,
        *,
        text: str | None = None,
        latency: Mapping[str, float] | None = None,
    ) -> None:
        """Complete a turn once it has been spoken: the figures only known after playback
        started, and the text cut to what the caller heard when they spoke over it."""
        values: dict[str, Any] = {}
        for name, value in (latency or {}).items():
            if name not in LATENCY_FIELDS:
                raise ValueError(
                    f"unknown latency figure {name!r}; known: {', '.join(LATENCY_FIELDS)}"
                )
            values[name] = _check_ms(name, value)
        if text is not None:
            values["text"] = text
        if not values:
            return
        with self._write():
            if Turn.update(**values).where(Turn.id == turn_id).execute(self._db) != 1:
                raise ValueError(f"no turn {turn_id}")

    @spooled(new_row=True)
    def add_tool_call(
        self,
        conversation_id: int,
        turn_id: int | None,
        name: str,
        arguments: Mapping[str, Any],
        status: str,
        duration_ms: float | None,
    ) -> int:
        """Record a tool call. `status` is a short code: ok, error, timeout, rejected, or the
        code of the Vetstoria error it ended with (slot_taken, unavailable, ...)."""
        _check_tool_status(status)
        if not isinstance(name, str) or not name.strip():
            raise ValueError("a tool call needs a name")
        if not isinstance(arguments, Mapping):
            raise ValueError("tool call arguments must be a mapping")
        try:
            arguments_json = json.dumps(
                {str(k): v for k, v in arguments.items()},
                sort_keys=True,
                ensure_ascii=False,
                default=_json_default,
            )
        except (TypeError, ValueError) as exc:  # e.g. a circular structure
            raise ValueError(f"tool call arguments cannot be stored: {exc}") from None
        duration = _check_ms("duration_ms", duration_ms)
        with self._write():
            self._require_conversation(conversation_id)
            if turn_id is not None:
                owner = Turn.select(Turn.conversation).where(Turn.id == turn_id).bind(self._db)
                found = owner.first()
                if found is None or found.conversation_id != conversation_id:
                    raise RecordNotFound(f"no turn {turn_id} in conversation {conversation_id}")
            tool_call_id = int(
                ToolCall.insert(
                    conversation=conversation_id,
                    turn=turn_id,
                    name=name,
                    arguments=arguments_json,
                    status=status,
                    duration_ms=duration,
                    created_at=_ts(_now()),
                ).execute(self._db)
            )
        return tool_call_id

    @spooled(new_row=True)
    def add_booking(
        self,
        conversation_id: int,
        *,
        status: str = "unconfirmed",
        appointment_ids: Iterable[str | int] = (),
        slot_start: datetime | str | None = None,
        schedule_id: int | None = None,
        partition_id: int | None = None,
        species: str | None = None,
        appointment_type: str | None = None,
        clinician: str | None = None,
        pet_name: str | None = None,
        owner_first_name: str | None = None,
        owner_last_name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        notes: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> int:
        """Record a booking (or an attempt). Status is confirmed (Vetstoria answered 201),
        unconfirmed (the answer never came: staff must check) or failed; or BOOKING_PENDING
        for a booking about to be sent, until `update_booking_status` (or `discard_booking`)
        records its answer.

        `first_name`/`last_name` are accepted as the owner's names too (the dialog's and
        Vetstoria's own field names)."""
        _check_choice("booking status", status, (*BOOKING_STATUSES, BOOKING_PENDING))
        owner_first_name = _one_of("owner_first_name", owner_first_name, first_name)
        owner_last_name = _one_of("owner_last_name", owner_last_name, last_name)
        now = _ts(_now())
        values: dict[str, Any] = {
            "conversation": conversation_id,
            "created_at": now,
            "updated_at": now,
            "status": status,
            "appointment_ids": json.dumps([str(i) for i in appointment_ids]),
            "slot_start": _slot_text(slot_start),
            "schedule_id": schedule_id,
            "partition_id": partition_id,
            "species": species,
            "appointment_type": appointment_type,
            "clinician": clinician,
            "pet_name": pet_name,
            "owner_first_name": owner_first_name,
            "owner_last_name": owner_last_name,
            "phone": phone,
            "email": email,
            "notes": notes,
            "phone_key": phone_key(phone),
        }
        with self._write():
            self._require_conversation(conversation_id)
            booking_id = int(Booking.insert(**values).execute(self._db))
        log.info(
            "booking %d recorded for conversation %d (%s)", booking_id, conversation_id, status
        )
        return booking_id

    @spooled(new_row=False)
    def update_booking_status(
        self,
        booking_id: int,
        status: str,
        appointment_ids: Iterable[str | int] | None = None,
    ) -> None:
        """Change a booking's status (e.g. unconfirmed -> confirmed once staff checked), and
        its Vetstoria appointment ids when given."""
        _check_choice("booking status", status, BOOKING_STATUSES)
        values: dict[Any, Any] = {Booking.status: status, Booking.updated_at: _ts(_now())}
        if appointment_ids is not None:
            values[Booking.appointment_ids] = json.dumps([str(i) for i in appointment_ids])
        with self._write():
            changed = Booking.update(values).where(Booking.id == booking_id).execute(self._db)
        if not changed:
            raise RecordNotFound(f"no booking {booking_id}")
        log.info("booking %d is now %s", booking_id, status)

    @spooled(new_row=False)
    def discard_booking(self, booking_id: int) -> None:
        """Forget a booking recorded as pending that Vetstoria answered was never made (the
        time had been taken): nothing was booked, and nothing is left for staff."""
        with self._write():
            gone = (
                Booking.delete()
                .where((Booking.id == booking_id) & (Booking.status == BOOKING_PENDING))
                .execute(self._db)
            )
        if not gone:
            raise RecordNotFound(f"no pending booking {booking_id}")
        log.info("booking %d discarded: nothing was booked", booking_id)

    @spooled(new_row=True)
    def add_handoff(
        self,
        conversation_id: int,
        reason: str,
        contact: str | None,
        *,
        card: Mapping[str, Any] | None = None,
    ) -> int:
        """Record that the caller was handed to the staff: why, how to reach them, and what
        the dialog had understood (`card`, the booking card's details) for the worklist."""
        if not isinstance(reason, str):
            raise ValueError("the handoff reason must be text")
        understood = _card_values(card)
        with self._write():
            self._require_conversation(conversation_id)
            handoff_id = int(
                Handoff.insert(
                    conversation=conversation_id,
                    reason=reason,
                    contact=contact,
                    created_at=_ts(_now()),
                ).execute(self._db)
            )
            self._keep_card(conversation_id, understood)
        log.info("handoff %d recorded for conversation %d", handoff_id, conversation_id)
        return handoff_id

    @spooled(new_row=False)
    def end_conversation(
        self,
        conversation_id: int,
        outcome: str,
        summary: str | None = None,
        *,
        ended_at: datetime | None = None,
        card: Mapping[str, Any] | None = None,
    ) -> None:
        """Close a conversation with its outcome, its summary (for people) and what the
        dialog had understood (`card`, kept for the worklist). Ending it twice is a
        ValueError."""
        _check_choice("outcome", outcome, OUTCOMES)
        understood = _card_values(card)
        with self._write():
            row = self._require_conversation(conversation_id)
            if row.ended_at is not None:
                raise ValueError(f"conversation {conversation_id} has already ended")
            Conversation.update(
                ended_at=_ts(ended_at or _now()), outcome=outcome, summary=summary
            ).where(Conversation.id == conversation_id).execute(self._db)
            self._keep_card(conversation_id, understood)
        log.info("conversation %d ended: %s", conversation_id, outcome)

    def _keep_card(self, conversation_id: int, card: dict[str, str | None] | None) -> None:
        """The conversation's booking card becomes `card` (call inside a write); nothing on
        it (None) leaves the one recorded before."""
        if card is None:
            return
        BookingCard.insert(
            conversation=conversation_id, updated_at=_ts(_now()), **card
        ).on_conflict(
            conflict_target=[BookingCard.conversation],
            update={**card, "updated_at": _ts(_now())},
        ).execute(self._db)

    @spooled(new_row=False)
    def rate_conversation(self, conversation_id: int, rating: int) -> None:
        """Store the caller's rating, 1 (poor) to 5 (excellent)."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValueError(f"rating must be a whole number from 1 to 5; got {rating!r}")
        with self._write():
            self._require_conversation(conversation_id)
            Conversation.update(rating=rating).where(Conversation.id == conversation_id).execute(
                self._db
            )
