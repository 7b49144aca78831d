"""Plain, frozen records that `History` hands out: no database objects leave the store, so
the UI and other threads can keep them as long as they like."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

MODES = ("kiosk", "ptt", "chat", "simulate", "voice")
OUTCOMES = ("booked", "handoff", "no_booking", "abandoned", "error")
ROLES = ("caller", "assistant")
BOOKING_STATUSES = ("confirmed", "unconfirmed", "failed")
# Tool-call statuses are short codes: these, or a Vetstoria error code (slot_taken,
# unavailable, rate_limited, ...), which is why they are checked for shape, not membership.
# "rejected": the dialog refused the call before making it (bad or missing arguments).
TOOL_STATUSES = ("ok", "error", "timeout", "rejected")
LATENCY_FIELDS = (
    "end_of_turn_ms",
    "stt_ms",
    "think_ms",
    "llm_first_token_ms",
    "llm_total_ms",
    "tts_first_chunk_ms",
    "response_ms",
)
END_REASON_INTERRUPTED = "interrupted"
# Why a conversation is on the staff worklist (see `history.worklist`): the hand-off reasons
# the dialog records, and what the history itself shows.
WORKLIST_REASONS = (
    "emergency",
    "cancel",
    "reschedule",
    "person",
    "species",
    "not_understood",
    "unconfirmed",  # a booking whose answer was lost: check Vetstoria
    "booking_failed",  # the booking system failed and nothing was booked
    "abandoned",  # the caller left mid-booking
    "interrupted",  # cut off when the app stopped
    "handoff",  # a hand-off with a reason of its own (its words are in `detail`)
)
# What staff can do about an item. "found_in_vetstoria" and "not_booked" are the verdict on
# a booking whose answer was lost; "done" closes an item and "reopened" opens it again.
STAFF_ACTIONS = ("note", "done", "reopened", "found_in_vetstoria", "not_booked")


@dataclass(frozen=True)
class ConversationInfo:
    """One line of the conversation list."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    mode: str
    outcome: str | None  # None while in progress
    end_reason: str | None  # "interrupted" when it was cut off by a crash
    rating: int | None
    summary: str | None
    turn_count: int
    booking_status: str | None  # of the latest booking, if any
    redacted: bool  # personal data removed (retention or forget)

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Message:
    """A turn of a conversation with its timings."""

    id: int
    conversation_id: int
    role: str
    text: str
    expecting: str | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    end_of_turn_ms: float | None = None
    stt_ms: float | None = None
    think_ms: float | None = None
    llm_first_token_ms: float | None = None
    llm_total_ms: float | None = None
    tts_first_chunk_ms: float | None = None
    response_ms: float | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None

    def latency(self) -> dict[str, float]:
        """The stage latencies that were measured, by name."""
        figures = {name: getattr(self, name) for name in LATENCY_FIELDS}
        return {name: value for name, value in figures.items() if value is not None}


@dataclass(frozen=True)
class ToolCallRecord:
    id: int
    conversation_id: int
    turn_id: int | None
    name: str
    arguments: dict[str, Any]
    status: str
    duration_ms: float | None
    created_at: datetime


@dataclass(frozen=True)
class BookingRecord:
    id: int
    conversation_id: int
    status: str
    appointment_ids: tuple[str, ...]
    slot_start: str | None  # ISO-8601 with the clinic's offset, as offered by Vetstoria
    schedule_id: int | None
    partition_id: int | None
    species: str | None
    appointment_type: str | None
    clinician: str | None
    pet_name: str | None
    owner_first_name: str | None
    owner_last_name: str | None
    phone: str | None
    email: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class HandoffRecord:
    id: int
    conversation_id: int
    reason: str
    contact: str | None
    created_at: datetime


@dataclass(frozen=True)
class ConversationDetail:
    """Everything about one conversation except its turns (see `History.messages`)."""

    info: ConversationInfo
    bookings: tuple[BookingRecord, ...]
    handoffs: tuple[HandoffRecord, ...]
    tool_calls: tuple[ToolCallRecord, ...]
    # What the dialog had understood when it handed over or the conversation ended (the
    # booking card, `petvisor_desktop.card.CARD_KEYS`; all None when none was recorded).
    card: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffAction:
    """One thing staff did about a worklist item, and who and when."""

    id: int
    item_id: int
    action: str  # one of STAFF_ACTIONS
    staff: str
    note: str | None
    created_at: datetime
    # Not yet written: the disk is full, and it waits in memory until there is room
    # (`history.spool`); its id is then a provisional negative number.
    kept: bool = False


@dataclass(frozen=True)
class WorklistItem:
    """A conversation that needs a person. Its id is the conversation's id."""

    id: int
    reasons: tuple[str, ...]  # of WORKLIST_REASONS, the most pressing first
    detail: str | None  # a hand-off's own words when they are not one of the reasons
    raised_at: datetime  # when a person was first needed
    mode: str  # where the conversation happened (kiosk, ptt, ...)
    card: dict[str, str | None]  # what was understood, as the booking card holds it
    phone: str | None  # how to reach the caller, when they said
    email: str | None
    caller_said: str | None  # the caller's last words
    booking: BookingRecord | None  # the booking to check in Vetstoria (reason unconfirmed)
    verdict: str | None  # "found_in_vetstoria" or "not_booked" once staff checked
    done_at: datetime | None  # None while open
    done_by: str | None
    actions: tuple[StaffAction, ...]  # oldest first
    redacted: bool  # personal data removed (retention or forget)

    @property
    def reason(self) -> str:
        return self.reasons[0]

    @property
    def is_open(self) -> bool:
        return self.done_at is None

    @property
    def notes(self) -> tuple[StaffAction, ...]:
        return tuple(a for a in self.actions if a.action == "note")


@dataclass(frozen=True)
class ClientRecord:
    """What we remember of a returning caller, from their most recent booking."""

    first_name: str | None
    last_name: str | None
    email: str | None
    pet_names: tuple[str, ...]  # most recent first, without repeats
    last_booking_at: datetime


@dataclass(frozen=True)
class StaffUserInfo:
    id: int
    email: str
    display_name: str | None
    is_active: bool
    created_at: datetime
    last_verified_at: datetime | None


class VerifyResult(enum.Enum):
    OK = "ok"
    WRONG_SECRET = "wrong_secret"
    UNKNOWN_USER = "unknown_user"
    DISABLED = "disabled"  # only reported when the PIN was right

    @property
    def ok(self) -> bool:
        return self is VerifyResult.OK


@dataclass(frozen=True)
class RedactionCounts:
    """How many rows had personal data blanked (rows are kept, only text goes)."""

    conversations: int = 0
    turns: int = 0
    tool_calls: int = 0
    bookings: int = 0
    handoffs: int = 0
    worklist_notes: int = 0
    cards: int = 0  # the booking cards the dialog recorded

    @property
    def total(self) -> int:
        return (
            self.conversations
            + self.turns
            + self.tool_calls
            + self.bookings
            + self.handoffs
            + self.worklist_notes
            + self.cards
        )


class RecoveryAction(enum.Enum):
    NONE = "none"  # the database was fine
    CREATED = "created"  # first start: no database and no backups
    RESTORED = "restored"  # missing or damaged, restored from a backup
    STARTED_EMPTY = "started_empty"  # damaged or missing and no usable backup: a new database


@dataclass(frozen=True)
class RecoveryReport:
    """What start-up found and did about the database; the UI shows `message` when
    `needs_attention` is true."""

    action: RecoveryAction
    db_path: Path
    message: str
    problem: str | None = None  # what was wrong, e.g. "database disk image is malformed"
    damaged_path: Path | None = None  # where the damaged file was moved
    restored_from: Path | None = None
    backup_time: datetime | None = None
    skipped_backups: tuple[Path, ...] = ()  # newer backups that failed their check
    migrated_to: tuple[int, ...] = ()
    pre_migration_backup: Path | None = None
    interrupted_conversations: int = 0
    purged: RedactionCounts = field(default_factory=RedactionCounts)

    @property
    def needs_attention(self) -> bool:
        return self.action in (RecoveryAction.RESTORED, RecoveryAction.STARTED_EMPTY)
