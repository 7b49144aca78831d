"""The peewee models of the history database, mirroring the newest schema in `migrations`.

The models are deliberately not bound to a database: each `History` owns its own
`SqliteDatabase` and binds every query to it (`query.execute(db)`, `query.bind(db)`), so two
histories in one process (the engine and an admin screen, or tests) can never end up talking
to each other's file through a shared global binding. An unbound query fails loudly.

Timestamps are stored as ISO-8601 text in UTC with microseconds
(`2026-11-23T09:00:00.000000+00:00`), which sorts correctly as text; appointment slots keep the
clinic's own offset. Enumerations are checked in Python (`History` raises a clear ValueError)
rather than with CHECK constraints, because SQLite cannot change a CHECK without rebuilding
the table and the lists will grow.
"""

from __future__ import annotations

import peewee as pw


class _Model(pw.Model):
    id = pw.AutoField()

    class Meta:
        database = None
        legacy_table_names = False


class Conversation(_Model):
    """One visit to the kiosk (or a chat/simulator run), from greeting to goodbye."""

    started_at = pw.TextField()
    ended_at = pw.TextField(null=True)
    mode = pw.TextField()
    outcome = pw.TextField(null=True)  # None while the conversation is in progress
    end_reason = pw.TextField(null=True)  # "interrupted" when closed after a crash
    summary = pw.TextField(null=True)
    redacted_at = pw.TextField(null=True)  # when personal data was removed
    rating = pw.IntegerField(null=True)  # schema v2

    class Meta:
        table_name = "conversation"


class Turn(_Model):
    """One utterance: what the caller said or what the assistant answered, with its timings."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE", lazy_load=False)
    conversation_id: int  # peewee's accessor for the raw key (declared for type checkers)
    role = pw.TextField()
    text = pw.TextField(default="")
    expecting = pw.TextField(null=True)
    started_at = pw.TextField(null=True)
    ended_at = pw.TextField(null=True)
    end_of_turn_ms = pw.FloatField(null=True)
    stt_ms = pw.FloatField(null=True)
    think_ms = pw.FloatField(null=True)
    llm_first_token_ms = pw.FloatField(null=True)
    llm_total_ms = pw.FloatField(null=True)
    tts_first_chunk_ms = pw.FloatField(null=True)
    response_ms = pw.FloatField(null=True)
    tokens_in = pw.IntegerField(null=True)
    tokens_out = pw.IntegerField(null=True)
    created_at = pw.TextField()

    class Meta:
        table_name = "turn"


class ToolCall(_Model):
    """A call the dialog made to a tool (slot search, booking, ...) and how it went."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE", lazy_load=False)
    conversation_id: int  # peewee's accessor for the raw key (declared for type checkers)
    turn = pw.ForeignKeyField(Turn, null=True, on_delete="SET NULL", lazy_load=False)
    turn_id: int | None
    name = pw.TextField()
    arguments = pw.TextField(default="{}")  # JSON object
    status = pw.TextField()
    duration_ms = pw.FloatField(null=True)
    created_at = pw.TextField()

    class Meta:
        table_name = "tool_call"


class Booking(_Model):
    """An appointment placed (or attempted) in Vetstoria during a conversation."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE", lazy_load=False)
    conversation_id: int  # peewee's accessor for the raw key (declared for type checkers)
    created_at = pw.TextField()
    updated_at = pw.TextField()
    status = pw.TextField()
    appointment_ids = pw.TextField(default="[]")  # JSON list of Vetstoria appointment ids
    slot_start = pw.TextField(null=True)  # ISO-8601 with the clinic's UTC offset
    schedule_id = pw.IntegerField(null=True)
    partition_id = pw.IntegerField(null=True)
    species = pw.TextField(null=True)
    appointment_type = pw.TextField(null=True)
    clinician = pw.TextField(null=True)
    pet_name = pw.TextField(null=True)
    owner_first_name = pw.TextField(null=True)
    owner_last_name = pw.TextField(null=True)
    phone = pw.TextField(null=True)
    email = pw.TextField(null=True)
    notes = pw.TextField(null=True)
    phone_key = pw.TextField(null=True, index=True)  # schema v3, see privacy.phone_key

    class Meta:
        table_name = "booking"


class Handoff(_Model):
    """The conversation was handed to the reception staff (schema v2)."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE", lazy_load=False)
    conversation_id: int  # peewee's accessor for the raw key (declared for type checkers)
    reason = pw.TextField(default="")
    contact = pw.TextField(null=True)  # how staff can reach the caller
    created_at = pw.TextField()

    class Meta:
        table_name = "handoff"


class WorklistAction(_Model):
    """What staff did about a worklist item (schema v4): a note, done, reopened, or their
    verdict on a booking whose answer was lost. The items themselves are not stored: they
    are read from the hand-offs, bookings and conversations (see `history.worklist`)."""

    conversation = pw.ForeignKeyField(Conversation, on_delete="CASCADE", lazy_load=False)
    conversation_id: int  # peewee's accessor for the raw key (declared for type checkers)
    action = pw.TextField()
    staff = pw.TextField()  # who: a staff member's name or e-mail
    note = pw.TextField(null=True)  # personal data: blanked with the conversation's
    created_at = pw.TextField()

    class Meta:
        table_name = "worklist_action"


class BookingCard(_Model):
    """What the dialog had understood of the booking (the booking card's details, as
    `petvisor_desktop.card` names them) when it handed the caller to reception or the
    conversation ended (schema v5). One per conversation, replaced by a later write; the
    worklist shows it. Converted from the summaries of conversations older than v5."""

    conversation = pw.ForeignKeyField(
        Conversation, unique=True, on_delete="CASCADE", lazy_load=False
    )
    conversation_id: int  # peewee's accessor for the raw key (declared for type checkers)
    species = pw.TextField(null=True)
    appointment_type = pw.TextField(null=True)
    clinician = pw.TextField(null=True)  # a clinician's name, or "anyone"
    date = pw.TextField(null=True)  # the day, ISO-8601
    part_of_day = pw.TextField(null=True)
    time = pw.TextField(null=True)  # HH:MM in the clinic's time
    # Personal data: blanked with the conversation's (retention, forget).
    pet_name = pw.TextField(null=True)
    client_name = pw.TextField(null=True)
    phone = pw.TextField(null=True)
    email = pw.TextField(null=True)
    updated_at = pw.TextField()

    class Meta:
        table_name = "booking_card"


class StaffUser(_Model):
    """A member of staff who may open the admin screens. Only a KDF hash of the PIN is kept."""

    email = pw.TextField(unique=True)
    display_name = pw.TextField(null=True)
    secret_hash = pw.TextField()  # hex
    salt = pw.TextField()  # hex, random per user
    kdf_params = pw.TextField()  # JSON: {"alg": "scrypt", "n": ..., "r": ..., "p": ..., ...}
    is_active = pw.BooleanField(default=True)
    created_at = pw.TextField()
    last_verified_at = pw.TextField(null=True)

    class Meta:
        table_name = "staff_user"


ALL_MODELS: tuple[type[pw.Model], ...] = (
    Conversation,
    Turn,
    ToolCall,
    Booking,
    Handoff,
    StaffUser,
    WorklistAction,
    BookingCard,
)
