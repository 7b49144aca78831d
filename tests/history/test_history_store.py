"""The recording API the engine uses during conversations, and the reads the admin screens use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from petvisor_desktop.history import (
    History,
    HistoryError,
    RecordNotFound,
)

from .conftest import PHONE, record_booked_conversation, utc


def test_a_conversation_is_recorded_as_it_goes(history: History) -> None:
    cid = history.start_conversation("kiosk", started_at=utc(2026, 11, 23, 9, 0))
    t1 = history.add_turn(
        cid,
        "caller",
        "I need an appointment",
        started_at=utc(2026, 11, 23, 9, 0, 1),
        ended_at=utc(2026, 11, 23, 9, 0, 3),
        latency={"end_of_turn_ms": 700, "stt_ms": 180.25},
    )
    # Visible to the admin screens before the conversation ends.
    [listed] = history.conversations()
    assert listed.id == cid and listed.outcome is None and listed.ended_at is None
    assert listed.turn_count == 1

    t2 = history.add_turn(
        cid,
        "assistant",
        "Is it for a dog or a cat?",
        expecting="species",
        latency={
            "llm_first_token_ms": 310.0,
            "llm_total_ms": 820.0,
            "tts_first_chunk_ms": 95.0,
            "response_ms": 1200.0,
        },
        tokens_in=400,
        tokens_out=12,
    )
    history.end_conversation(
        cid, "no_booking", "asked about appointments", ended_at=utc(2026, 11, 23, 9, 2)
    )
    history.rate_conversation(cid, 4)

    messages = history.messages(cid)
    assert [m.id for m in messages] == [t1, t2]
    first, second = messages
    assert first.role == "caller" and first.text == "I need an appointment"
    assert first.started_at == utc(2026, 11, 23, 9, 0, 1)
    assert first.ended_at == utc(2026, 11, 23, 9, 0, 3)
    assert first.latency() == {"end_of_turn_ms": 700.0, "stt_ms": 180.25}
    assert second.expecting == "species"
    assert second.latency() == {
        "llm_first_token_ms": 310.0,
        "llm_total_ms": 820.0,
        "tts_first_chunk_ms": 95.0,
        "response_ms": 1200.0,
    }
    assert (second.tokens_in, second.tokens_out) == (400, 12)

    detail = history.conversation(cid)
    assert detail is not None
    info = detail.info
    assert info.outcome == "no_booking" and info.rating == 4
    assert info.summary == "asked about appointments"
    assert info.started_at == utc(2026, 11, 23, 9, 0)
    assert info.ended_at == utc(2026, 11, 23, 9, 2) and info.duration_s == 120
    assert info.turn_count == 2


def test_tool_calls_bookings_and_handoffs(history: History) -> None:
    cid = history.start_conversation("voice")
    turn = history.add_turn(cid, "assistant", "Let me look.")
    history.add_tool_call(
        cid, turn, "find_slots", {"day": datetime(2026, 11, 23, tzinfo=UTC), "n": 3}, "ok", 55.5
    )
    history.add_tool_call(cid, None, "book", {}, "timeout", 10000)
    booking = history.add_booking(
        cid,
        slot_start=datetime.fromisoformat("2026-11-23T09:15:00+00:00"),
        schedule_id=85268,
        partition_id=2,
        pet_name="Tom",
        phone="07700 900123",
    )
    history.update_booking_status(booking, "confirmed", appointment_ids=["A1", 2])
    history.add_handoff(cid, "wants to speak to a vet", "07700 900123")
    history.end_conversation(cid, "handoff")

    detail = history.conversation(cid)
    assert detail is not None
    [book] = detail.bookings
    assert book.status == "confirmed" and book.appointment_ids == ("A1", "2")
    assert book.slot_start == "2026-11-23T09:15:00+00:00"
    assert (book.schedule_id, book.partition_id) == (85268, 2)
    assert book.updated_at >= book.created_at
    assert detail.info.booking_status == "confirmed"
    [handoff] = detail.handoffs
    assert handoff.reason == "wants to speak to a vet" and handoff.contact == "07700 900123"
    first, second = detail.tool_calls
    assert first.turn_id == turn and first.arguments == {"day": "2026-11-23T00:00:00+00:00", "n": 3}
    assert (second.status, second.duration_ms, second.turn_id) == ("timeout", 10000.0, None)


def test_the_clinic_offset_of_a_slot_is_kept(history: History) -> None:
    cid = history.start_conversation("chat")
    booking = history.add_booking(cid, slot_start="2026-06-01T09:00:00+01:00")
    detail = history.conversation(cid)
    assert detail is not None
    assert detail.bookings[0].id == booking
    assert detail.bookings[0].slot_start == "2026-06-01T09:00:00+01:00"
    with pytest.raises(ValueError, match="offset"):
        history.add_booking(cid, slot_start="2026-06-01T09:00:00")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h, c: h.start_conversation("telepathy"), "mode must be one of kiosk"),
        (lambda h, c: h.add_turn(c, "vet", "hi"), "role must be one of caller, assistant"),
        (lambda h, c: h.end_conversation(c, "great"), "outcome must be one of booked"),
        (lambda h, c: h.add_booking(c, status="maybe"), "booking status must be one of"),
        (lambda h, c: h.add_tool_call(c, None, "x", {}, "Fine!", 1.0), "tool call status"),
        (lambda h, c: h.add_tool_call(c, None, "x", {}, "", 1.0), "tool call status"),
        (lambda h, c: h.add_turn(c, "caller", "x", latency={"gpu_ms": 1}), "unknown latency"),
        (lambda h, c: h.add_turn(c, "caller", "x", latency={"stt_ms": -5}), "negative"),
        (lambda h, c: h.add_turn(c, "caller", "x", tokens_out=-1), "tokens_out"),
        (lambda h, c: h.rate_conversation(c, 6), "rating must be a whole number from 1 to 5"),
        (lambda h, c: h.rate_conversation(c, True), "rating"),
        (lambda h, c: h.conversations(outcome="won"), "outcome must be one of"),
        (
            lambda h, c: h.add_turn(c, "caller", "x", started_at=datetime(2026, 1, 1)),
            "timezone-aware",
        ),
        (
            lambda h, c: h.add_booking(c, owner_first_name="Jane", first_name="Joan"),
            "owner_first_name was given twice",
        ),
    ],
)
def test_wrong_values_are_refused_with_a_clear_message(
    history: History, call: object, message: str
) -> None:
    cid = history.start_conversation("kiosk")
    with pytest.raises(ValueError, match=message):
        call(history, cid)  # type: ignore[operator]
    # Nothing half-written.
    assert history.messages(cid) == []
    detail = history.conversation(cid)
    assert detail is not None and detail.info.outcome is None and not detail.tool_calls


def test_unknown_records(history: History) -> None:
    with pytest.raises(RecordNotFound, match="no conversation 99"):
        history.add_turn(99, "caller", "hello")
    with pytest.raises(RecordNotFound):
        history.messages(99)
    with pytest.raises(RecordNotFound, match="no booking 5"):
        history.update_booking_status(5, "failed")
    assert history.conversation(99) is None
    cid = history.start_conversation("kiosk")
    other = history.start_conversation("kiosk")
    turn = history.add_turn(other, "caller", "hi")
    with pytest.raises(RecordNotFound, match="no turn"):
        history.add_tool_call(cid, turn, "x", {}, "ok", 1.0)


def test_a_conversation_ends_once(history: History) -> None:
    cid = history.start_conversation("kiosk")
    history.end_conversation(cid, "abandoned")
    with pytest.raises(ValueError, match="already ended"):
        history.end_conversation(cid, "booked")
    detail = history.conversation(cid)
    assert detail is not None and detail.info.outcome == "abandoned"


def test_list_filters_and_search(history: History) -> None:
    booked = record_booked_conversation(history, pet="Biscuit", first="Maya", last="Patel")
    plain = history.start_conversation("chat")
    history.add_turn(plain, "caller", "Are you open on Sunday?")
    history.end_conversation(plain, "no_booking", "opening hours")
    failed = history.start_conversation("simulate")
    history.end_conversation(failed, "error")

    assert [c.id for c in history.conversations()] == [failed, plain, booked]
    assert [c.id for c in history.conversations(limit=2)] == [failed, plain]
    assert [c.id for c in history.conversations(limit=2, offset=2)] == [booked]
    assert [c.id for c in history.conversations(outcome="booked")] == [booked]
    assert [c.id for c in history.conversations(search="SUNDAY")] == [plain]  # said
    assert [c.id for c in history.conversations(search="opening")] == [plain]  # summary
    assert [c.id for c in history.conversations(search="biscuit")] == [booked]  # pet
    assert [c.id for c in history.conversations(search="+44 20 7946 0000")] == [booked]
    assert [c.id for c in history.conversations(search="100%")] == []  # no LIKE wildcards
    assert history.conversations(search="nothing like this") == []
    [info] = history.conversations(outcome="booked")
    assert info.booking_status == "confirmed" and info.turn_count == 3
    assert history.count_conversations() == 3
    assert history.count_conversations("error") == 1


def test_a_returning_caller_is_recognised_whatever_the_number_format(history: History) -> None:
    assert history.find_client_by_phone(PHONE) is None
    record_booked_conversation(history, phone="020 7946 0000", pet="Rex")
    record_booked_conversation(history, phone="+44 (0)20 7946 0000", pet="Luna", last="Smith")
    record_booked_conversation(history, phone="020 7946 0000", pet="rex")
    record_booked_conversation(history, phone="07700 900123", first="Other", pet="Tom")

    client = history.find_client_by_phone("0044 20 7946 0000")
    assert client is not None
    assert (client.first_name, client.last_name) == ("Jane", "Doe")  # the most recent booking
    assert client.email == "jane.doe@example.com"
    assert client.pet_names == ("rex", "Luna")  # most recent first, no repeats
    assert history.find_client_by_phone("020 7946 0001") is None
    assert history.find_client_by_phone("12") is None


def test_readers_in_other_threads_get_their_own_connection(history: History) -> None:
    import threading

    cid = history.start_conversation("kiosk")
    history.add_turn(cid, "caller", "hello")
    seen: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            seen.append(len(history.messages(cid)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and seen == [1, 1, 1, 1]


def test_closed_history_refuses_calls(db_path: Path) -> None:
    h = History.open(db_path)
    h.close()
    h.close()  # twice is fine
    with pytest.raises(HistoryError) as info:
        h.start_conversation("kiosk")
    assert info.value.code == "closed"


def test_open_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("shopping list: " * 200)
    with pytest.raises(HistoryError) as info:
        History.open(path)
    assert info.value.code == "not_sqlite"
    assert path.read_text().startswith("shopping list")  # untouched


def test_wal_and_foreign_keys_are_on(history: History, db_path: Path) -> None:
    import sqlite3

    history.start_conversation("kiosk")
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO turn (conversation_id, role, text, created_at) VALUES (999, 'caller', "
                "'x', '2026-01-01T00:00:00+00:00')"
            )
    finally:
        conn.close()
    cid = history.start_conversation("kiosk")
    history.add_turn(cid, "caller", "x")
    assert history._db.connection().execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_started_at_defaults_to_now(history: History) -> None:
    before = datetime.now(UTC)
    cid = history.start_conversation("ptt")
    detail = history.conversation(cid)
    assert detail is not None
    assert before - timedelta(seconds=1) <= detail.info.started_at <= datetime.now(UTC)


def test_what_the_dialog_sends_is_stored(history: History) -> None:
    """The dialog records Vetstoria error codes as tool statuses, odd argument values, and the
    owner's names under Vetstoria's field names."""
    import enum

    class Species(enum.Enum):
        DOG = "Dog"

    cid = history.start_conversation("chat")
    history.add_tool_call(
        cid,
        None,
        "place_booking",
        {"species": Species.DOG, "ids": {3, 1}, "slot": object.__new__(object)},
        "slot_taken",
        812.5,
    )
    booking = history.add_booking(cid, status="failed", first_name="Jane", last_name="Doe")
    detail = history.conversation(cid)
    assert detail is not None
    [call] = detail.tool_calls
    assert call.status == "slot_taken"
    assert call.arguments["species"] == "Dog" and call.arguments["ids"] == ["1", "3"]
    assert call.arguments["slot"].startswith("<object object")
    [b] = detail.bookings
    assert b.id == booking and (b.owner_first_name, b.owner_last_name) == ("Jane", "Doe")
