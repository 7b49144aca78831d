"""Schema versions: a new database, and every earlier version walked forward with its data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee as pw
import pytest

from petvisor_desktop.history import MIGRATIONS, SCHEMA_VERSION, History, HistoryError
from petvisor_desktop.history.migrations import Migration, migrate, schema_version
from petvisor_desktop.history.models import ALL_MODELS
from petvisor_desktop.history.privacy import phone_key

from .conftest import PHONE
from .test_worklist import CANCEL_CARD


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _make_db_at(path: Path, version: int) -> None:
    """A database as an older Petvisor left it, with a finished conversation and a booking."""
    conn = _connect(path)
    try:
        migrate(conn, target=version)
        if version >= 1:
            conn.execute(
                "INSERT INTO conversation (started_at, ended_at, mode, outcome, summary) "
                "VALUES ('2026-01-05T10:00:00.000000+00:00', '2026-01-05T10:03:00.000000+00:00', "
                "'kiosk', 'booked', 'booked a check-up')"
            )
            conn.execute(
                "INSERT INTO turn (conversation_id, role, text, stt_ms, tokens_in, created_at) "
                "VALUES (1, 'caller', 'hello', 150.0, 12, '2026-01-05T10:00:05.000000+00:00')"
            )
            conn.execute(
                "INSERT INTO booking (conversation_id, created_at, updated_at, status, pet_name, "
                "owner_first_name, phone) VALUES (1, '2026-01-05T10:02:00.000000+00:00', "
                f"'2026-01-05T10:02:00.000000+00:00', 'confirmed', 'Rex', 'Jane', '{PHONE}')"
            )
            if version >= 3:  # a v3 Petvisor wrote the phone key with the booking
                conn.execute(f"UPDATE booking SET phone_key = '{phone_key(PHONE)}'")
            # An older app crashed in the middle of this one.
            conn.execute(
                "INSERT INTO conversation (started_at, mode) "
                "VALUES ('2026-01-06T10:00:00.000000+00:00', 'kiosk')"
            )
    finally:
        conn.close()


def test_versions_are_consecutive() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 2


def test_a_new_database_gets_the_newest_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with History.open(path) as history:
        assert history.migrated_to == tuple(range(1, SCHEMA_VERSION + 1))
        assert history.schema_version == SCHEMA_VERSION
    with History.open(path) as history:
        assert history.migrated_to == ()  # nothing to do the second time


def test_the_models_match_the_migrated_schema(tmp_path: Path) -> None:
    path = tmp_path / "schema.sqlite3"
    History.open(path).close()
    conn = _connect(path)
    try:
        for model in ALL_MODELS:
            table = model._meta.table_name
            expected = {f.column_name for f in model._meta.sorted_fields}
            assert _columns(conn, table) == expected, table
    finally:
        conn.close()


@pytest.mark.parametrize("version", range(0, SCHEMA_VERSION))
def test_every_earlier_version_is_migrated_with_its_data(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    _make_db_at(path, version)
    conn = _connect(path)
    assert schema_version(conn) == version
    conn.close()

    with History.open(path) as history:
        assert history.schema_version == SCHEMA_VERSION
        assert history.migrated_to == tuple(range(version + 1, SCHEMA_VERSION + 1))
        if version == 0:
            assert history.conversations() == []
            return
        # Old rows survive, new columns are usable on them.
        assert history.interrupted_at_open == 1
        found = {c.id: c for c in history.conversations()}
        assert found[1].outcome == "booked" and found[1].summary == "booked a check-up"
        assert found[2].outcome == "abandoned" and found[2].end_reason == "interrupted"
        [turn] = history.messages(1)
        assert (turn.text, turn.stt_ms, turn.tokens_in) == ("hello", 150.0, 12)
        history.rate_conversation(1, 5)  # v2 column
        history.add_handoff(1, "asked for a nurse", None)  # v2 table
        # v3: the phone key was filled in for the booking that was already there.
        client = history.find_client_by_phone("+44 20 7946 0000")
        assert client is not None and client.pet_names == ("Rex",)


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    History.open(path).close()
    conn = _connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError) as info:
        History.open(path)
    assert info.value.code == "newer_schema"
    conn = _connect(path)
    assert schema_version(conn) == SCHEMA_VERSION + 1
    conn.close()


def test_a_failing_step_leaves_the_previous_version(tmp_path: Path) -> None:
    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x INTEGER)")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    steps = (*MIGRATIONS[:1], Migration(2, "broken", half_done))
    conn = _connect(tmp_path / "broken.sqlite3")
    try:
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, steps=steps)
        assert schema_version(conn) == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "conversation" in tables and "half_done" not in tables
        assert not conn.in_transaction
    finally:
        conn.close()


def test_peewee_sees_the_same_tables(tmp_path: Path) -> None:
    path = tmp_path / "pw.sqlite3"
    History.open(path).close()
    db = pw.SqliteDatabase(str(path))
    try:
        assert set(db.get_tables()) >= {m._meta.table_name for m in ALL_MODELS}
        fks = {fk.column for fk in db.get_foreign_keys("tool_call")}
        assert fks == {"conversation_id", "turn_id"}
    finally:
        db.close()


def test_v4_puts_hand_offs_and_lost_bookings_of_an_older_database_on_the_worklist(
    tmp_path: Path,
) -> None:
    """Items are read from the rows that need a person, so a database written before the
    worklist existed has its items at once, open; only staff actions are new (a table)."""
    path = tmp_path / "v3.sqlite3"
    _make_db_at(path, 3)
    conn = _connect(path)
    conn.execute(
        "INSERT INTO conversation (started_at, ended_at, mode, outcome, summary) VALUES "
        "('2026-01-07T10:00:00.000000+00:00', '2026-01-07T10:02:00.000000+00:00', 'kiosk', "
        "'handoff', 'Asked about: species Dog. Result: handed to reception (cancel); details "
        "given: pet Rex, client Jane Doe, phone 07700900456.')"
    )
    conn.execute(
        "INSERT INTO handoff (conversation_id, reason, contact, created_at) VALUES "
        "(3, 'cancel', '07700900456', '2026-01-07T10:01:00.000000+00:00')"
    )
    conn.execute("UPDATE booking SET status = 'unconfirmed' WHERE conversation_id = 1")
    assert "worklist_action" not in {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    conn.close()

    with History.open(path) as history:
        assert history.migrated_to == tuple(range(4, SCHEMA_VERSION + 1))
        items = {i.id: i for i in history.worklist(open_only=True)}
        assert items[3].reasons == ("cancel",)
        assert (items[3].card["pet_name"], items[3].phone) == ("Rex", "07700900456")
        assert items[1].reasons == ("unconfirmed",) and items[1].booking is not None
        assert items[2].reasons == ("interrupted",)  # the crash an older app left
        done = history.mark_done(3, "Jo Morgan")
        assert not done.is_open
    conn = _connect(path)
    try:
        assert conn.execute("SELECT action, staff FROM worklist_action").fetchall() == [
            ("done", "Jo Morgan")
        ]
    finally:
        conn.close()


def test_v5_reads_the_booking_cards_of_older_conversations_out_of_their_summaries(
    tmp_path: Path,
) -> None:
    """Before v5 the dialog's understanding was only in the summary, a sentence for people;
    the migration reads it into the card table once, and the worklist reads only the table."""
    path = tmp_path / "v4.sqlite3"
    _make_db_at(path, 4)
    conn = _connect(path)
    for summary, redacted in (
        (
            "Asked about: species Cat, type Consultation, date 2026-11-26. Result: handed to "
            "reception (cancel); details given: clinician Dr Michael Norman, time "
            "2026-11-26T12:00:00+00:00, pet Mittens, client James Okafor, phone 07700900456, "
            "email james.okafor@example.com; preferences: asked for Dr Michael Norman.",
            None,
        ),
        (None, "2026-02-01T00:00:00.000000+00:00"),  # retention had blanked it
    ):
        conn.execute(
            "INSERT INTO conversation (started_at, ended_at, mode, outcome, summary, "
            "redacted_at) VALUES ('2026-01-07T10:00:00.000000+00:00', "
            "'2026-01-07T10:02:00.000000+00:00', 'kiosk', 'handoff', ?, ?)",
            (summary, redacted),
        )
        conn.execute(
            "INSERT INTO handoff (conversation_id, reason, created_at) VALUES "
            "(last_insert_rowid(), 'cancel', '2026-01-07T10:01:00.000000+00:00')"
        )
    conn.close()

    with History.open(path) as history:
        assert history.migrated_to[0] == 5
        items = {i.id: i for i in history.worklist()}
    assert items[3].card == CANCEL_CARD  # the summary above, read into a card
    assert not any(items[4].card.values())
    conn = _connect(path)
    try:  # "booked a check-up" names no detail: no card for conversation 1
        assert conn.execute("SELECT conversation_id FROM booking_card").fetchall() == [(3,)]
    finally:
        conn.close()


def test_v6_adds_the_brains_wait_to_turns_recorded_before_it(tmp_path: Path) -> None:
    """A history from before v6: its turns keep their figures and gain an empty think_ms;
    a spoken turn's figures then record it."""
    path = tmp_path / "v5.sqlite3"
    conn = _connect(path)
    migrate(conn, target=5)
    conn.execute(
        "INSERT INTO conversation (started_at, mode) VALUES "
        "('2026-01-07T10:00:00.000000+00:00', 'kiosk')"
    )
    conn.execute(
        "INSERT INTO turn (conversation_id, role, text, created_at, stt_ms) VALUES "
        "(last_insert_rowid(), 'assistant', 'Hello', '2026-01-07T10:00:01.000000+00:00', 12.5)"
    )
    conn.close()
    with History.open(path) as history:
        assert 6 in history.migrated_to
        (turn,) = history.messages(1)
        assert turn.think_ms is None and turn.stt_ms == 12.5
        history.update_turn(turn.id, latency={"think_ms": 41.0})
        (turn,) = history.messages(1)
        assert (turn.think_ms, turn.stt_ms) == (41.0, 12.5)
