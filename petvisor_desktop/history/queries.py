"""Reading the history for the admin screens and for a returning caller: the conversation
list with its search, one conversation in full, its turns, and counts."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, cast

import peewee as pw

from petvisor_desktop.card import CARD_KEYS
from petvisor_desktop.history.database import DatabaseAccess
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
    OUTCOMES,
    BookingRecord,
    ClientRecord,
    ConversationDetail,
    ConversationInfo,
    HandoffRecord,
    Message,
    ToolCallRecord,
)
from petvisor_desktop.history.values import _check_choice, _dt, _opt_dt


class Queries(DatabaseAccess):
    """The reads of `History`; a multi-query read is one snapshot (see `history.database`)."""

    def find_client_by_phone(self, phone: str) -> ClientRecord | None:
        """A returning caller: the names and e-mail of their most recent booking and the
        names of the pets they booked for. None when the number is unknown (or forgotten)."""
        key = phone_key(phone)
        if key is None:
            return None
        with self._read():
            rows = list(
                Booking.select()
                .where(Booking.phone_key == key)
                .order_by(Booking.created_at.desc(), Booking.id.desc())
                .bind(self._db)
            )
        if not rows:
            return None
        latest = rows[0]
        pets: list[str] = []
        for row in rows:
            name = (row.pet_name or "").strip()
            if name and name.casefold() not in (p.casefold() for p in pets):
                pets.append(name)
        return ClientRecord(
            first_name=latest.owner_first_name,
            last_name=latest.owner_last_name,
            email=latest.email,
            pet_names=tuple(pets),
            last_booking_at=_dt(latest.created_at),
        )

    # ---- reading (the admin screens) -------------------------------------------------------

    def conversations(
        self,
        limit: int = 50,
        outcome: str | None = None,
        search: str | None = None,
        *,
        offset: int = 0,
        ids: Collection[int] | None = None,
    ) -> list[ConversationInfo]:
        """Conversations, newest first. `search` matches the summary, what was said and the
        booking's names, e-mail and phone number (case-insensitive); `ids` keeps only these
        conversations (e.g. the worklist's items)."""
        if outcome is not None:
            _check_choice("outcome", outcome, OUTCOMES)
        if limit < 1 or offset < 0:
            raise ValueError("limit must be 1 or more and offset 0 or more")
        turns = Turn.alias("tc")
        bookings = Booking.alias("bs")
        turn_count = turns.select(pw.fn.COUNT(turns.id)).where(
            turns.conversation == Conversation.id
        )
        booking_status = (
            bookings.select(bookings.status)
            .where(bookings.conversation == Conversation.id)
            .order_by(bookings.id.desc())
            .limit(1)
        )
        query = Conversation.select(
            Conversation,
            turn_count.alias("turn_count"),
            booking_status.alias("booking_status"),
        )
        if outcome is not None:
            query = query.where(Conversation.outcome == outcome)
        if search and search.strip():
            query = query.where(self._search_condition(search.strip()))
        if ids is not None:
            query = query.where(Conversation.id.in_(list(ids)))
        query = query.order_by(Conversation.started_at.desc(), Conversation.id.desc())
        with self._read():
            rows = cast(
                list[dict[str, Any]], list(query.limit(limit).offset(offset).dicts().bind(self._db))
            )
        return [self._info(row) for row in rows]

    @staticmethod
    def _search_condition(search: str) -> pw.Expression:
        needle = search.casefold()

        def has(field: pw.Field[Any]) -> pw.Expression:
            return pw.fn.instr(pw.fn.lower(field), needle) > 0

        said = Turn.select(Turn.id).where((Turn.conversation == Conversation.id) & has(Turn.text))
        booked_fields = (
            has(Booking.pet_name)
            | has(Booking.owner_first_name)
            | has(Booking.owner_last_name)
            | has(Booking.email)
        )
        key = phone_key(search)
        if key is not None:
            booked_fields = booked_fields | (Booking.phone_key == key)
        booked = Booking.select(Booking.id).where(
            (Booking.conversation == Conversation.id) & booked_fields
        )
        return has(Conversation.summary) | pw.fn.EXISTS(said) | pw.fn.EXISTS(booked)

    @staticmethod
    def _info(row: Mapping[str, Any]) -> ConversationInfo:
        return ConversationInfo(
            id=int(row["id"]),
            started_at=_dt(row["started_at"]),
            ended_at=_opt_dt(row["ended_at"]),
            mode=row["mode"],
            outcome=row["outcome"],
            end_reason=row["end_reason"],
            rating=row["rating"],
            summary=row["summary"],
            turn_count=int(row.get("turn_count") or 0),
            booking_status=row.get("booking_status"),
            redacted=row["redacted_at"] is not None,
        )

    def conversation(self, conversation_id: int) -> ConversationDetail | None:
        """One conversation with its bookings, handoffs and tool calls; None if unknown."""
        with self._read():
            row = (
                Conversation.select()
                .where(Conversation.id == conversation_id)
                .dicts()
                .bind(self._db)
                .first()
            )
            if row is None:
                return None
            turn_count = Turn.select().where(Turn.conversation == conversation_id).count(self._db)
            booking_rows = list(
                Booking.select()
                .where(Booking.conversation == conversation_id)
                .order_by(Booking.id)
                .bind(self._db)
            )
            handoff_rows = list(
                Handoff.select()
                .where(Handoff.conversation == conversation_id)
                .order_by(Handoff.id)
                .bind(self._db)
            )
            tool_rows = list(
                ToolCall.select()
                .where(ToolCall.conversation == conversation_id)
                .order_by(ToolCall.id)
                .bind(self._db)
            )
            card_row = (
                BookingCard.select()
                .where(BookingCard.conversation == conversation_id)
                .bind(self._db)
                .first()
            )
        latest_status = booking_rows[-1].status if booking_rows else None
        return ConversationDetail(
            info=self._info({**row, "turn_count": turn_count, "booking_status": latest_status}),
            bookings=tuple(_booking_record(b) for b in booking_rows),
            handoffs=tuple(
                HandoffRecord(
                    id=h.id,
                    conversation_id=h.conversation_id,
                    reason=h.reason,
                    contact=h.contact,
                    created_at=_dt(h.created_at),
                )
                for h in handoff_rows
            ),
            tool_calls=tuple(
                ToolCallRecord(
                    id=t.id,
                    conversation_id=t.conversation_id,
                    turn_id=t.turn_id,
                    name=t.name,
                    arguments=json.loads(t.arguments or "{}"),
                    status=t.status,
                    duration_ms=t.duration_ms,
                    created_at=_dt(t.created_at),
                )
                for t in tool_rows
            ),
            card=card_from_row(card_row),
        )

    def messages(self, conversation_id: int) -> list[Message]:
        """The turns of a conversation in the order they were recorded."""
        with self._read():
            self._require_conversation(conversation_id)
            rows = list(
                Turn.select()
                .where(Turn.conversation == conversation_id)
                .order_by(Turn.id)
                .bind(self._db)
            )
        return [
            Message(
                id=t.id,
                conversation_id=t.conversation_id,
                role=t.role,
                text=t.text,
                expecting=t.expecting,
                started_at=_opt_dt(t.started_at),
                ended_at=_opt_dt(t.ended_at),
                created_at=_dt(t.created_at),
                end_of_turn_ms=t.end_of_turn_ms,
                stt_ms=t.stt_ms,
                think_ms=t.think_ms,
                llm_first_token_ms=t.llm_first_token_ms,
                llm_total_ms=t.llm_total_ms,
                tts_first_chunk_ms=t.tts_first_chunk_ms,
                response_ms=t.response_ms,
                tokens_in=t.tokens_in,
                tokens_out=t.tokens_out,
            )
            for t in rows
        ]

    def count_conversations(self, outcome: str | None = None) -> int:
        """How many conversations there are (with this outcome); kept through purges."""
        query = Conversation.select()
        if outcome is not None:
            _check_choice("outcome", outcome, OUTCOMES)
            query = query.where(Conversation.outcome == outcome)
        self._ensure_open()
        return int(query.count(self._db))


def _booking_record(b: Booking) -> BookingRecord:
    return BookingRecord(
        id=b.id,
        conversation_id=b.conversation_id,
        status=b.status,
        appointment_ids=tuple(json.loads(b.appointment_ids or "[]")),
        slot_start=b.slot_start,
        schedule_id=b.schedule_id,
        partition_id=b.partition_id,
        species=b.species,
        appointment_type=b.appointment_type,
        clinician=b.clinician,
        pet_name=b.pet_name,
        owner_first_name=b.owner_first_name,
        owner_last_name=b.owner_last_name,
        phone=b.phone,
        email=b.email,
        notes=b.notes,
        created_at=_dt(b.created_at),
        updated_at=_dt(b.updated_at),
    )


def card_from_row(row: BookingCard | None) -> dict[str, str | None]:
    """The card the dialog recorded (all None when it recorded none)."""
    if row is None:
        return dict.fromkeys(CARD_KEYS)
    return {key: getattr(row, key) for key in CARD_KEYS}
