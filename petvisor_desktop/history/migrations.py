"""Schema versions of the history database and the steps between them.

The version lives in `PRAGMA user_version` (0 for an empty file). Every step runs in its own
`BEGIN IMMEDIATE` transaction together with the version bump, so a crash mid-migration leaves
the file at the previous version, never in between. The first step is the whole v1 schema as
SQL, so that tests can build a v1 database and walk it forward like a real upgrade would.

Never edit a released step; add a new one at the end.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from petvisor_desktop.history.errors import HistoryError
from petvisor_desktop.history.privacy import phone_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int  # the schema version after this step
    description: str
    apply: Callable[[sqlite3.Connection], None]


def _sql(*statements: str) -> Callable[[sqlite3.Connection], None]:
    # One statement per execute(): executescript() would commit our transaction.
    def run(conn: sqlite3.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


_V1 = _sql(
    """CREATE TABLE conversation (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        mode TEXT NOT NULL,
        outcome TEXT,
        end_reason TEXT,
        summary TEXT,
        redacted_at TEXT
    )""",
    "CREATE INDEX conversation_started_at ON conversation (started_at)",
    "CREATE INDEX conversation_outcome ON conversation (outcome)",
    """CREATE TABLE turn (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        expecting TEXT,
        started_at TEXT,
        ended_at TEXT,
        end_of_turn_ms REAL,
        stt_ms REAL,
        llm_first_token_ms REAL,
        llm_total_ms REAL,
        tts_first_chunk_ms REAL,
        response_ms REAL,
        tokens_in INTEGER,
        tokens_out INTEGER,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX turn_conversation_id ON turn (conversation_id)",
    """CREATE TABLE tool_call (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        turn_id INTEGER REFERENCES turn (id) ON DELETE SET NULL,
        name TEXT NOT NULL,
        arguments TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        duration_ms REAL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX tool_call_conversation_id ON tool_call (conversation_id)",
    "CREATE INDEX tool_call_turn_id ON tool_call (turn_id)",
    """CREATE TABLE booking (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        appointment_ids TEXT NOT NULL DEFAULT '[]',
        slot_start TEXT,
        schedule_id INTEGER,
        partition_id INTEGER,
        species TEXT,
        appointment_type TEXT,
        clinician TEXT,
        pet_name TEXT,
        owner_first_name TEXT,
        owner_last_name TEXT,
        phone TEXT,
        email TEXT,
        notes TEXT
    )""",
    "CREATE INDEX booking_conversation_id ON booking (conversation_id)",
    """CREATE TABLE staff_user (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL UNIQUE,
        display_name TEXT,
        secret_hash TEXT NOT NULL,
        salt TEXT NOT NULL,
        kdf_params TEXT NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        last_verified_at TEXT
    )""",
)

_V2 = _sql(
    """CREATE TABLE handoff (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        reason TEXT NOT NULL DEFAULT '',
        contact TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX handoff_conversation_id ON handoff (conversation_id)",
    "ALTER TABLE conversation ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5)",
)


def _v3(conn: sqlite3.Connection) -> None:
    """Index bookings by a normalised phone number, so that a returning caller is recognised
    (and forgotten) whatever way the number was written; fill it in for existing rows."""
    conn.execute("ALTER TABLE booking ADD COLUMN phone_key TEXT")
    conn.execute("CREATE INDEX booking_phone_key ON booking (phone_key)")
    rows = conn.execute("SELECT id, phone FROM booking WHERE phone IS NOT NULL").fetchall()
    conn.executemany(
        "UPDATE booking SET phone_key = ? WHERE id = ?",
        [(phone_key(phone), row_id) for row_id, phone in rows],
    )


# The worklist's items are read from the rows that already say why a person is needed (a
# hand-off, a booking whose answer was lost, a conversation cut off); only what staff do about
# them is new. Items that existed before this version appear as open items.
_V4 = _sql(
    """CREATE TABLE worklist_action (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
        action TEXT NOT NULL,
        staff TEXT NOT NULL,
        note TEXT,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX worklist_action_conversation_id ON worklist_action (conversation_id)",
)


# What the dialog understood (the booking card) gets a table: the dialog passes it with a
# hand-off and at the end of a conversation. Before, the worklist read it back out of the
# conversation's summary, a sentence for people; the summaries of older conversations are read
# once more here, into the table, and nowhere else from now on.
_CARD_COLUMNS = (
    "species",
    "appointment_type",
    "clinician",
    "date",
    "part_of_day",
    "time",
    "pet_name",
    "client_name",
    "phone",
    "email",
)
# The words of the summaries v1-v4 wrote (`Assistant.summary`: "Asked about: species Cat, type
# Consultation, date 2026-11-26. Result: handed to reception (cancel); details given: clinician
# Dr Michael Norman, time 2026-11-26T12:00:00+00:00, pet Mittens, client James Okafor, phone
# 07700900456, email ...; preferences: ...."), and the card column each fills.
_SUMMARY_WORDS = {
    "species": "species",
    "type": "appointment_type",
    "date": "date",
    "clinician": "clinician",
    "time": "time",
    "pet": "pet_name",
    "client": "client_name",
    "phone": "phone",
    "email": "email",
}
_SUMMARY_PART = re.compile(r"(?:^|, )(" + "|".join(_SUMMARY_WORDS) + r") ")
_SUMMARY_ASKED = re.compile(r"Asked about: (.*?)\. Result:")
_SUMMARY_GIVEN = re.compile(r"details given: (.*?)(?:; preferences: .*)?\.$")


def _card_from_summary(summary: str) -> dict[str, str | None]:
    card: dict[str, str | None] = dict.fromkeys(_CARD_COLUMNS)
    for found in (_SUMMARY_ASKED.search(summary), _SUMMARY_GIVEN.search(summary)):
        if found is None:
            continue
        parts = _SUMMARY_PART.split(found.group(1))
        for word, value in zip(parts[1::2], parts[2::2], strict=True):
            card[_SUMMARY_WORDS[word]] = value.strip() or None
    slot = card["time"]
    if slot and "T" in slot:  # the slot whole, in the clinic's offset
        try:
            moment = datetime.fromisoformat(slot)
        except ValueError:
            return card
        card["date"], card["time"] = moment.date().isoformat(), moment.strftime("%H:%M")
    return card


def _v5(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE booking_card (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL UNIQUE REFERENCES conversation (id) ON DELETE CASCADE,
        species TEXT,
        appointment_type TEXT,
        clinician TEXT,
        date TEXT,
        part_of_day TEXT,
        time TEXT,
        pet_name TEXT,
        client_name TEXT,
        phone TEXT,
        email TEXT,
        updated_at TEXT NOT NULL
    )"""
    )
    rows = conn.execute(
        "SELECT id, summary, COALESCE(ended_at, started_at) FROM conversation "
        "WHERE summary IS NOT NULL AND redacted_at IS NULL"
    ).fetchall()
    columns = ", ".join(_CARD_COLUMNS)
    marks = ", ".join("?" for _ in _CARD_COLUMNS)
    for conversation_id, summary, at in rows:
        card = _card_from_summary(summary)
        if any(card.values()):
            conn.execute(
                f"INSERT INTO booking_card (conversation_id, {columns}, updated_at) "
                f"VALUES (?, {marks}, ?)",
                (conversation_id, *(card[c] for c in _CARD_COLUMNS), at),
            )


# After the turn is over, how long the reply took to work out (short when it was prepared
# during the caller's pause).
_V6 = _sql("ALTER TABLE turn ADD COLUMN think_ms REAL")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "handoff table and conversation rating", _V2),
    Migration(3, "normalised phone key on bookings", _v3),
    Migration(4, "what staff did about worklist items", _V4),
    Migration(5, "the booking card the dialog understood, from older summaries too", _v5),
    Migration(6, "the brain's wait in a spoken turn's latency", _V6),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection,
    target: int | None = None,
    steps: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Bring the database up to `target` (default: the newest of `steps`); returns the
    versions applied (empty if none).

    `conn` must be in autocommit mode (isolation_level=None), as peewee's connections are."""
    newest = steps[-1].version if steps else 0
    target = newest if target is None else target
    if not 0 <= target <= newest:
        raise ValueError(f"target schema version must be 0 to {newest}, got {target}")
    current = schema_version(conn)
    if current > newest:
        raise HistoryError(
            "newer_schema",
            f"the history database has schema version {current}, newer than this Petvisor "
            f"understands ({newest}); update Petvisor instead of opening it with this one",
        )
    applied: list[int] = []
    for step in steps:
        if step.version <= current or step.version > target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if schema_version(conn) >= step.version:
                conn.execute("ROLLBACK")
                continue
            step.apply(conn)
            conn.execute(f"PRAGMA user_version = {int(step.version)}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("history database migrated to schema v%d (%s)", step.version, step.description)
        applied.append(step.version)
    return applied
