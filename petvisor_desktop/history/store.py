"""`History`: the conversation record, written as the conversation goes.

Every call is one short transaction, so a crash loses at most the turn being written. The
file runs in WAL mode: readers (the admin screens, another process) never wait for the
writer and never see half a write. Within a process, writes are serialised by a lock and start
with `BEGIN IMMEDIATE`, so two writers never deadlock on a lock upgrade; other processes wait
up to the busy timeout. Each thread gets its own SQLite connection (peewee's thread-local
connections); `close()` closes all of them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import peewee as pw

from petvisor_desktop.history import backups, staff
from petvisor_desktop.history.errors import HistoryError, RecordNotFound
from petvisor_desktop.history.lock import DatabaseLock, lock_path_for
from petvisor_desktop.history.migrations import SCHEMA_VERSION, migrate, schema_version
from petvisor_desktop.history.models import (
    Booking,
    Conversation,
    Handoff,
    StaffUser,
    ToolCall,
    Turn,
)
from petvisor_desktop.history.privacy import blank_argument_values, phone_key, text_mentions_phone
from petvisor_desktop.history.records import (
    BOOKING_STATUSES,
    END_REASON_INTERRUPTED,
    LATENCY_FIELDS,
    MODES,
    OUTCOMES,
    ROLES,
    TOOL_STATUSES,
    BookingRecord,
    ClientRecord,
    ConversationDetail,
    ConversationInfo,
    HandoffRecord,
    Message,
    RecoveryReport,
    RedactionCounts,
    StaffUserInfo,
    ToolCallRecord,
    VerifyResult,
)

if TYPE_CHECKING:
    from petvisor_desktop.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90
BUSY_TIMEOUT_S = 10
_CHUNK = 200  # conversations per transaction when purging, so the engine's writes interleave

# Connection settings. synchronous=FULL: a committed turn survives a power cut, not only a
# crash of the app; at a few writes per minute the fsync costs nothing noticeable.
# secure_delete: blanked personal text is overwritten in the file, not left in free space.
_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", "full"),
    ("secure_delete", 1),
)


class _Database(pw.SqliteDatabase):
    """A SqliteDatabase that remembers the connection of every thread, so that `close_all`
    can close them all (peewee's own `close()` only closes the calling thread's)."""

    def __init__(self, path: Path) -> None:
        self._opened: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._opened_lock = threading.Lock()
        super().__init__(
            str(path),
            pragmas=list(_PRAGMAS),
            timeout=BUSY_TIMEOUT_S,
            # Closing happens from whichever thread calls History.close().
            check_same_thread=False,
        )

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._connect()  # type: ignore[misc]
        with self._opened_lock:
            still: list[tuple[threading.Thread, sqlite3.Connection]] = []
            for thread, old in self._opened:
                if thread.is_alive():
                    still.append((thread, old))
                else:
                    old.close()  # its thread is gone, nobody else can be using it
            still.append((threading.current_thread(), conn))
            self._opened = still
        return conn

    def close_all(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for _thread, conn in opened:
            conn.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _opt_ts(moment: datetime | None) -> str | None:
    return None if moment is None else _ts(moment)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _check_choice(kind: str, value: object, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{kind} must be one of {', '.join(allowed)}; got {value!r}")
    return value


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


def _one_of(name: str, value: str | None, alias: str | None) -> str | None:
    if value is not None and alias is not None and value != alias:
        raise ValueError(f"{name} was given twice, with different values")
    return value if value is not None else alias


def _chunks(items: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class History:
    """The history database of one kiosk. Open it with `History.open(path)` (or, at app
    start-up, `History.open_with_recovery(settings)`); close it with `close()`.

    Safe for one writer thread plus any number of reader threads."""

    def __init__(
        self, db: _Database, db_path: Path, lock: DatabaseLock, *, retention_days: int
    ) -> None:
        # Use History.open(); the constructor takes an already opened and migrated database.
        self._db = db
        self._lock = lock
        self._write_lock = threading.Lock()
        self._closed = False
        self.db_path = db_path
        self.retention_days = retention_days
        self.migrated_to: tuple[int, ...] = ()
        self.interrupted_at_open = 0

    # ---- opening and closing -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        db_path: Path,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        lock_timeout_s: float = 0.0,
        _lock: DatabaseLock | None = None,
    ) -> History:
        """Open (creating and migrating as needed) the database at `db_path`.

        If this process becomes the database's primary user (see `lock`), conversations left
        without an end by a crash are closed as "abandoned" (end reason "interrupted"); how
        many is in `interrupted_at_open` and the log. Raises HistoryError when the file is
        not a usable database (code `not_sqlite`, `damaged` or `newer_schema`)."""
        if not 1 <= retention_days <= 3650:
            raise ValueError(f"retention_days must be 1 to 3650; got {retention_days}")
        db_path = Path(db_path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        problem = backups.header_problem(db_path)
        if problem is not None:
            raise HistoryError(problem.code, f"{db_path}: {problem.message}")
        owns_lock = _lock is None  # a lock handed in stays the caller's on failure
        lock = _lock or DatabaseLock(lock_path_for(db_path))
        primary = lock.acquire(lock_timeout_s)
        db = _Database(db_path)
        db.register_function(text_mentions_phone, "petvisor_mentions_phone", 2)
        try:
            conn = db.connection()
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                # Network file systems cannot do WAL; it still works, with more waiting.
                log.warning("history database is not in WAL mode (%s); readers may wait", mode)
            applied = migrate(conn)
        except (sqlite3.DatabaseError, pw.DatabaseError) as exc:
            db.close_all()
            if owns_lock:
                lock.release()
            raise HistoryError("damaged", f"{db_path}: cannot open the database: {exc}") from exc
        except BaseException:
            db.close_all()
            if owns_lock:
                lock.release()
            raise
        history = cls(db, db_path, lock, retention_days=retention_days)
        history.migrated_to = tuple(applied)
        if primary:
            try:
                history.interrupted_at_open = history._close_interrupted()
            except (sqlite3.DatabaseError, pw.DatabaseError) as exc:
                db.close_all()
                if owns_lock:
                    lock.release()
                raise HistoryError("damaged", f"{db_path}: cannot be written: {exc}") from exc
        else:
            log.info("history database is in use by another process; not its primary user")
        return history

    @classmethod
    def open_with_recovery(cls, settings: Settings) -> tuple[History, RecoveryReport]:
        """Start-up: open the configured database, restoring it from the newest good backup
        when it is missing or damaged. See `petvisor_desktop.history.recovery`."""
        from petvisor_desktop.history.recovery import open_with_recovery

        return open_with_recovery(settings)

    @property
    def is_primary(self) -> bool:
        """Whether this History holds the database's lock (see `petvisor_desktop.history.lock`)."""
        return self._lock.held

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn())

    def close(self) -> None:
        """Close every thread's connection (checkpointing the WAL) and release the lock."""
        if self._closed:
            return
        self._closed = True
        with self._write_lock:
            self._db.close_all()
        self._lock.release()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        self._ensure_open()
        conn: sqlite3.Connection = self._db.connection()
        return conn

    def _ensure_open(self) -> None:
        if self._closed:
            raise HistoryError("closed", "the history database has been closed")

    @contextmanager
    def _write(self) -> Iterator[None]:
        self._ensure_open()
        with self._write_lock, self._db.atomic("IMMEDIATE"):
            yield

    @contextmanager
    def _read(self) -> Iterator[None]:
        # A read transaction, so that a multi-query read sees one consistent snapshot.
        self._ensure_open()
        with self._db.atomic():
            yield

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
        if open_ids:
            log.warning(
                "%d conversation(s) cut off by a crash marked abandoned (interrupted)",
                len(open_ids),
            )
        return len(open_ids)

    def _require_conversation(self, conversation_id: int) -> Conversation:
        row = Conversation.select().where(Conversation.id == conversation_id).bind(self._db).first()
        if row is None:
            raise RecordNotFound(f"no conversation {conversation_id}")
        assert isinstance(row, Conversation)
        return row

    # ---- recording (the engine) ------------------------------------------------------------

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
        (end_of_turn_ms, stt_ms, llm_first_token_ms, llm_total_ms, tts_first_chunk_ms,
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
        unconfirmed (the answer never came: staff must check) or failed.

        `first_name`/`last_name` are accepted as the owner's names too (the dialog's and
        Vetstoria's own field names)."""
        _check_choice("booking status", status, BOOKING_STATUSES)
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

    def add_handoff(self, conversation_id: int, reason: str, contact: str | None) -> int:
        """Record that the caller was handed to the staff: why, and how to reach them."""
        if not isinstance(reason, str):
            raise ValueError("the handoff reason must be text")
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
        log.info("handoff %d recorded for conversation %d", handoff_id, conversation_id)
        return handoff_id

    def end_conversation(
        self,
        conversation_id: int,
        outcome: str,
        summary: str | None = None,
        *,
        ended_at: datetime | None = None,
    ) -> None:
        """Close a conversation with its outcome. Ending it twice is a ValueError."""
        _check_choice("outcome", outcome, OUTCOMES)
        with self._write():
            row = self._require_conversation(conversation_id)
            if row.ended_at is not None:
                raise ValueError(f"conversation {conversation_id} has already ended")
            Conversation.update(
                ended_at=_ts(ended_at or _now()), outcome=outcome, summary=summary
            ).where(Conversation.id == conversation_id).execute(self._db)
        log.info("conversation %d ended: %s", conversation_id, outcome)

    def rate_conversation(self, conversation_id: int, rating: int) -> None:
        """Store the caller's rating, 1 (poor) to 5 (excellent)."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise ValueError(f"rating must be a whole number from 1 to 5; got {rating!r}")
        with self._write():
            self._require_conversation(conversation_id)
            Conversation.update(rating=rating).where(Conversation.id == conversation_id).execute(
                self._db
            )

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
    ) -> list[ConversationInfo]:
        """Conversations, newest first. `search` matches the summary, what was said and the
        booking's names, e-mail and phone number (case-insensitive)."""
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

    # ---- privacy -------------------------------------------------------------------------

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
        booking made with it, a handoff contact, something said, a tool call or a summary -
        has all its personal text blanked exactly as a retention purge would, and those
        bookings also lose their Vetstoria appointment ids. Rows and figures stay. Backups
        taken before still hold the data until rotation deletes them, and Vetstoria's own
        client record is the clinic's to handle there."""
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
        totals = [0, 0, 0, 0, 0]
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

    # ---- backups ---------------------------------------------------------------------------

    def backup(self, dest_dir: Path, *, now: datetime | None = None) -> Path:
        """A consistent copy of the live database into `dest_dir`, checked before it gets its
        final name (`petvisor-<UTC timestamp>.sqlite3`). Rotation is `backups.rotate_backups`."""
        self._ensure_open()
        return backups.backup_database(self.db_path, Path(dest_dir), now=now)

    def backup_if_due(
        self,
        dest_dir: Path,
        *,
        keep_daily: int,
        keep_weekly: int,
        max_age: timedelta = timedelta(hours=24),
        now: datetime | None = None,
    ) -> Path | None:
        """The scheduled backup: back up and rotate when the newest backup is older than
        `max_age` (or there is none). Returns the new backup, or None when not due.

        Call it from a worker thread, never the UI thread: the folder may be a slow share."""
        moment = now or _now()
        dest = Path(dest_dir)
        existing = backups.list_backups(dest)
        if existing and moment - existing[0].taken_at < max_age:
            return None
        path = self.backup(dest, now=moment)
        backups.rotate_backups(dest, keep_daily, keep_weekly)
        return path

    # ---- staff users -------------------------------------------------------------------------

    def create_user(self, email: str, secret: str, display_name: str | None = None) -> int:
        """Add a staff user. `secret` is a PIN (4+ digits) or a password (8+ characters)."""
        address = staff.normalise_email(email)
        hashed = staff.hash_secret(secret)
        with self._write():
            exists = StaffUser.select().where(StaffUser.email == address).exists(self._db)
            if exists:
                raise ValueError("a staff user with that e-mail already exists")
            user_id = int(
                StaffUser.insert(
                    email=address,
                    display_name=display_name,
                    secret_hash=hashed.hash_hex,
                    salt=hashed.salt_hex,
                    kdf_params=hashed.params_json,
                    is_active=True,
                    created_at=_ts(_now()),
                ).execute(self._db)
            )
        log.info("staff user %d created", user_id)
        return user_id

    def users(self) -> list[StaffUserInfo]:
        self._ensure_open()
        return [
            StaffUserInfo(
                id=u.id,
                email=u.email,
                display_name=u.display_name,
                is_active=bool(u.is_active),
                created_at=_dt(u.created_at),
                last_verified_at=_opt_dt(u.last_verified_at),
            )
            for u in StaffUser.select().order_by(StaffUser.email).bind(self._db)
        ]

    def verify_user(self, email: str, secret: str) -> VerifyResult:
        """Check a staff member's PIN or password. A disabled account is only reported as
        such when the PIN was right, so a guesser learns nothing from it."""
        try:
            address = staff.normalise_email(email)
        except ValueError:
            address = ""
        self._ensure_open()
        user = StaffUser.select().where(StaffUser.email == address).bind(self._db).first()
        if user is None:
            staff.burn_time(secret)
            log.info("staff verification failed: unknown user")
            return VerifyResult.UNKNOWN_USER
        stored = staff.HashedSecret(user.secret_hash, user.salt, user.kdf_params)
        if not staff.verify_secret(secret, stored):
            log.info("staff verification failed for user %d", user.id)
            return VerifyResult.WRONG_SECRET
        if not user.is_active:
            log.info("staff verification refused: user %d is disabled", user.id)
            return VerifyResult.DISABLED
        with self._write():
            StaffUser.update(last_verified_at=_ts(_now())).where(StaffUser.id == user.id).execute(
                self._db
            )
        return VerifyResult.OK

    def set_user_active(self, email: str, active: bool) -> None:
        """Disable (or re-enable) a staff user; their hash is kept."""
        address = staff.normalise_email(email)
        with self._write():
            changed = (
                StaffUser.update(is_active=active)
                .where(StaffUser.email == address)
                .execute(self._db)
            )
        if not changed:
            raise RecordNotFound("no staff user with that e-mail")
        log.info("staff user %s", "enabled" if active else "disabled")

    def disable_user(self, email: str) -> None:
        self.set_user_active(email, False)


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


__all__ = ["DEFAULT_RETENTION_DAYS", "SCHEMA_VERSION", "History"]
