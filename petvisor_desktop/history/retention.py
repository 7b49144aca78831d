"""Retention and the right to be forgotten: blanking the personal data of old conversations,
or of every conversation that mentions a phone number (see `history.privacy` for what goes
and what stays)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from petvisor_desktop.history.database import DatabaseAccess
from petvisor_desktop.history.models import (
    Booking,
    BookingCard,
    Conversation,
    Handoff,
    ToolCall,
    Turn,
    WorklistAction,
)
from petvisor_desktop.history.privacy import blank_argument_values, phone_key
from petvisor_desktop.history.records import RedactionCounts
from petvisor_desktop.history.values import _now, _ts

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90
_CHUNK = 200  # conversations per transaction when purging, so the engine's writes interleave


def _chunks(items: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Retention(DatabaseAccess):
    """Redaction in chunks of conversations, one write transaction each."""

    retention_days: int

    def purge_expired(self, now: datetime | None = None) -> RedactionCounts:
        """Blank the personal data of conversations that started more than `retention_days`
        ago (see `petvisor_desktop.history.privacy` for what goes and what stays)."""
        cutoff = _ts((now or _now()) - timedelta(days=self.retention_days))
        self._ensure_open()
        ids = [
            row.id
            for row in Conversation.select(Conversation.id)
            .where((Conversation.started_at < cutoff) & Conversation.redacted_at.is_null())
            .order_by(Conversation.id)
            .bind(self._db)
        ]
        counts = self._redact(ids, now or _now(), drop_references=False)
        if ids:
            log.info(
                "retention (%d days): personal data removed from %d conversation(s)",
                self.retention_days,
                counts.conversations,
            )
        return counts

    def forget_phone(self, phone: str) -> RedactionCounts:
        """Remove the personal data of the caller with this phone number from the database.

        "Everywhere" means: every conversation in which the number appears - through a
        booking made with it, a handoff contact, something said, a tool call, a summary, the
        booking card the dialog understood or a staff note on the worklist - has all its
        personal text blanked exactly as a retention purge would, and those bookings also lose
        their Vetstoria appointment ids.
        Rows and figures stay. Backups taken before still hold the data until rotation
        deletes them, and Vetstoria's own client record is the clinic's to handle there."""
        key = phone_key(phone)
        if key is None:
            raise ValueError("that is not a phone number (it needs at least 6 digits)")
        self._ensure_open()
        mentions = pw.fn.petvisor_mentions_phone
        sources: list[pw.Select] = [
            Booking.select(Booking.conversation).where(Booking.phone_key == key),
            Handoff.select(Handoff.conversation).where(mentions(Handoff.contact, key)),
            Turn.select(Turn.conversation).where(mentions(Turn.text, key)),
            ToolCall.select(ToolCall.conversation).where(mentions(ToolCall.arguments, key)),
            Conversation.select(Conversation.id).where(mentions(Conversation.summary, key)),
            BookingCard.select(BookingCard.conversation).where(mentions(BookingCard.phone, key)),
            WorklistAction.select(WorklistAction.conversation).where(
                mentions(WorklistAction.note, key)
            ),
        ]
        ids: set[int] = set()
        with self._read():
            for source in sources:
                ids.update(int(row[0]) for row in source.tuples().bind(self._db))
        counts = self._redact(sorted(ids), _now(), drop_references=True)
        log.info("forget: personal data removed from %d conversation(s)", len(ids))
        return counts

    def _redact(
        self, ids: Sequence[int], now: datetime, *, drop_references: bool
    ) -> RedactionCounts:
        totals = [0, 0, 0, 0, 0, 0, 0]
        stamp = _ts(now)
        for chunk in _chunks(ids):
            with self._write():
                totals[0] += (
                    Conversation.update(summary=None, redacted_at=stamp)
                    .where(Conversation.id.in_(chunk))
                    .execute(self._db)
                )
                totals[1] += (
                    Turn.update(text="")
                    .where(Turn.conversation.in_(chunk) & (Turn.text != ""))
                    .execute(self._db)
                )
                for call in (
                    ToolCall.select(ToolCall.id, ToolCall.arguments)
                    .where(ToolCall.conversation.in_(chunk))
                    .bind(self._db)
                ):
                    blanked = blank_argument_values(call.arguments)
                    if blanked != call.arguments:
                        ToolCall.update(arguments=blanked).where(ToolCall.id == call.id).execute(
                            self._db
                        )
                        totals[2] += 1
                personal: dict[Any, Any] = {
                    Booking.pet_name: None,
                    Booking.owner_first_name: None,
                    Booking.owner_last_name: None,
                    Booking.phone: None,
                    Booking.email: None,
                    Booking.notes: None,
                    Booking.phone_key: None,
                }
                dirty = (
                    Booking.pet_name.is_null(False)
                    | Booking.owner_first_name.is_null(False)
                    | Booking.owner_last_name.is_null(False)
                    | Booking.phone.is_null(False)
                    | Booking.email.is_null(False)
                    | Booking.notes.is_null(False)
                )
                if drop_references:
                    personal[Booking.appointment_ids] = "[]"
                    dirty = dirty | (Booking.appointment_ids != "[]")
                totals[3] += (
                    Booking.update(personal)
                    .where(Booking.conversation.in_(chunk) & dirty)
                    .execute(self._db)
                )
                totals[4] += (
                    Handoff.update(reason="", contact=None)
                    .where(
                        Handoff.conversation.in_(chunk)
                        & ((Handoff.reason != "") | Handoff.contact.is_null(False))
                    )
                    .execute(self._db)
                )
                totals[5] += (
                    WorklistAction.update(note=None)
                    .where(
                        WorklistAction.conversation.in_(chunk) & WorklistAction.note.is_null(False)
                    )
                    .execute(self._db)
                )
                # Like the booking's: who and how to reach them go, what was asked for stays.
                totals[6] += (
                    BookingCard.update(pet_name=None, client_name=None, phone=None, email=None)
                    .where(
                        BookingCard.conversation.in_(chunk)
                        & (
                            BookingCard.pet_name.is_null(False)
                            | BookingCard.client_name.is_null(False)
                            | BookingCard.phone.is_null(False)
                            | BookingCard.email.is_null(False)
                        )
                    )
                    .execute(self._db)
                )
        if ids:
            self._drop_old_pages()
        return RedactionCounts(*totals)

    def _drop_old_pages(self) -> None:
        """Old versions of blanked pages live on in the WAL until a checkpoint; fold them in
        now (best effort: a long reader may keep some until the next checkpoint)."""
        busy, _log_frames, _done = (
            self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        )
        if busy:
            log.info("WAL checkpoint after redaction was partial; a reader was active")
