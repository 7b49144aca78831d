"""Retention and "forget me": personal text goes, rows and figures stay."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from petvisor_desktop.history import History
from petvisor_desktop.history.privacy import phone_key, text_mentions_phone

from .conftest import PHONE, record_booked_conversation, utc

NOW = utc(2026, 11, 23, 12)


def _file_bytes(db_path: Path) -> bytes:
    data = db_path.read_bytes()
    wal = db_path.with_name(db_path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def test_retention_blanks_personal_data_and_keeps_counts_and_figures(history: History) -> None:
    old = record_booked_conversation(history, started_at=NOW - timedelta(days=91))
    history.add_handoff(old, "caller Jane wants Dr Roberts", PHONE)
    history.rate_conversation(old, 5)
    recent = record_booked_conversation(history, started_at=NOW - timedelta(days=89), pet="Luna")
    before = history.messages(old)

    counts = history.purge_expired(now=NOW)

    assert (counts.conversations, counts.turns, counts.tool_calls) == (1, 3, 1)
    assert (counts.bookings, counts.handoffs) == (1, 1)
    # Counts and numbers survive.
    assert history.count_conversations() == 2
    assert history.count_conversations("booked") == 2
    after = history.messages(old)
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert a.text == ""
        assert a.latency() == b.latency() and (a.tokens_in, a.tokens_out) == (
            b.tokens_in,
            b.tokens_out,
        )
        assert (a.role, a.expecting, a.created_at) == (b.role, b.expecting, b.created_at)
    detail = history.conversation(old)
    assert detail is not None
    assert detail.info.redacted and detail.info.summary is None and detail.info.rating == 5
    assert detail.info.outcome == "booked" and detail.info.turn_count == 3
    [booking] = detail.bookings
    assert (booking.pet_name, booking.owner_first_name, booking.owner_last_name) == (None,) * 3
    assert (booking.phone, booking.email, booking.notes) == (None, None, None)
    assert (booking.status, booking.species, booking.appointment_type) == (
        "confirmed",
        "Dog",
        "Vaccinations",
    )
    assert booking.slot_start == "2026-11-23T09:00:00+00:00" and booking.appointment_ids == (
        "90001",
    )
    [tool] = detail.tool_calls
    assert tool.arguments == {"species": None, "phone": None, "owner": None}
    assert tool.duration_ms == 42.0 and tool.status == "ok"
    [handoff] = detail.handoffs
    assert handoff.reason == "" and handoff.contact is None
    # The recent conversation is untouched.
    recent_detail = history.conversation(recent)
    assert recent_detail is not None and not recent_detail.info.redacted
    assert recent_detail.bookings[0].pet_name == "Luna"
    assert all(m.text for m in history.messages(recent))
    # Running it again finds nothing new.
    assert history.purge_expired(now=NOW).total == 0


def test_blanked_text_is_gone_from_the_file_too(db_path: Path) -> None:
    with History.open(db_path) as history:
        record_booked_conversation(
            history, first="Zebediah", pet="Mr Whiskerton", started_at=NOW - timedelta(days=200)
        )
        assert b"Zebediah" in _file_bytes(db_path)
        history.purge_expired(now=NOW)
        # secure_delete and the checkpoint leave no old copy in the file or the WAL.
        assert b"Zebediah" not in _file_bytes(db_path)
        assert b"Whiskerton" not in _file_bytes(db_path)


def test_retention_days_come_from_open(db_path: Path) -> None:
    with History.open(db_path, retention_days=7) as history:
        cid = record_booked_conversation(history, started_at=NOW - timedelta(days=8))
        assert history.purge_expired(now=NOW).conversations == 1
        assert history.messages(cid)[0].text == ""
    with pytest.raises(ValueError, match="retention_days"):
        History.open(db_path, retention_days=0)


def test_forget_a_phone_number_everywhere(history: History, db_path: Path) -> None:
    booked = record_booked_conversation(history, phone="+44 20 7946 0000", first="Priya")
    # A later call where she only said her number, in another format.
    said = history.start_conversation("kiosk")
    history.add_turn(said, "caller", "It's Priya again, 020-7946-0000, can I move my slot?")
    history.add_handoff(said, "wants to move an appointment", None)
    history.end_conversation(said, "handoff", "Priya wants to move her appointment")
    # A handoff where the number was only left as the contact.
    contact = history.start_conversation("kiosk")
    history.add_turn(contact, "caller", "Please call me back")
    history.add_handoff(contact, "call back", "0044 20 7946 0000")
    history.end_conversation(contact, "handoff")
    # Someone else.
    other = record_booked_conversation(history, phone="07700 900123", first="Tom", pet="Max")

    counts = history.forget_phone("020 7946 0000")

    assert counts.conversations == 3
    for cid in (booked, said, contact):
        detail = history.conversation(cid)
        assert detail is not None and detail.info.redacted, cid
        assert all(m.text == "" for m in history.messages(cid))
        assert all(h.contact is None and h.reason == "" for h in detail.handoffs)
        for b in detail.bookings:
            assert (b.owner_first_name, b.phone, b.email, b.pet_name) == (None,) * 4
            assert b.appointment_ids == ()  # forgetting also drops the Vetstoria reference
            assert b.status == "confirmed" and b.species == "Dog"
    assert history.find_client_by_phone("020 7946 0000") is None
    # The other caller keeps everything.
    assert history.find_client_by_phone("07700 900123") is not None
    other_detail = history.conversation(other)
    assert other_detail is not None and not other_detail.info.redacted
    assert all(m.text for m in history.messages(other))
    assert history.count_conversations() == 4
    assert b"Priya" not in _file_bytes(db_path)


def test_forget_needs_a_phone_number(history: History) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        history.forget_phone("Jane")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("020 7946 0000", "+44 20 7946 0000", True),
        ("020 7946 0000", "0044 (0)20-7946-0000", True),
        ("+1 555 123 4567", "555.123.4567", True),
        ("020 7946 0000", "020 7946 0001", False),
        ("07700 900123", "07700 900124", False),
    ],
)
def test_phone_keys(a: str, b: str, same: bool) -> None:
    assert (phone_key(a) == phone_key(b)) is same


def test_phone_mentions_in_text() -> None:
    key = phone_key("020 7946 0000")
    assert key is not None
    assert text_mentions_phone("call me on 020 7946 0000 please", key)
    assert text_mentions_phone('{"phone": "+442079460000"}', key)
    assert not text_mentions_phone("call me on 020 7946 0001 please", key)
    assert not text_mentions_phone("booked for 2026-11-23 at 09:00", key)
    assert not text_mentions_phone(None, key)


def test_raw_sqlite_sees_blank_text_not_deleted_rows(history: History, db_path: Path) -> None:
    record_booked_conversation(history, started_at=NOW - timedelta(days=365))
    history.purge_expired(now=NOW)
    conn = sqlite3.connect(db_path)
    try:
        turns, blank, latency = conn.execute(
            "SELECT COUNT(*), SUM(text = ''), SUM(response_ms) FROM turn"
        ).fetchone()
        assert (turns, blank, latency) == (3, 3, 1350.0)
    finally:
        conn.close()


CARD = {
    "species": "Dog",
    "appointment_type": "Vaccinations",
    "clinician": "Dr Amy Roberts",
    "date": "2026-11-23",
    "time": "09:00",
    "pet_name": "Rex",
    "client_name": "Zebediah Doe",
    "phone": PHONE,
    "email": "zebediah@example.com",
}


def _cards(db_path: Path) -> dict[int, tuple[str | None, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT conversation_id, species, appointment_type, clinician, date, time, "
            "pet_name, client_name, phone, email FROM booking_card"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: row[1:] for row in rows}


def test_the_booking_card_is_blanked_like_the_booking(history: History, db_path: Path) -> None:
    """What the dialog understood is kept with a hand-off; retention and "forget" take its
    personal details (pet, owner, phone, e-mail) exactly when they take the booking's, and
    keep what was asked for."""
    old = history.start_conversation("kiosk", started_at=NOW - timedelta(days=91))
    history.add_handoff(old, "cancel", None, card=CARD)
    history.end_conversation(old, "handoff", None, card=CARD)
    # She rang again: the number is only on the card of this one (said in another format).
    again = history.start_conversation("kiosk", started_at=NOW - timedelta(days=2))
    history.add_handoff(again, "person", None, card={**CARD, "phone": "+44 20 7946 0000"})
    recent = history.start_conversation("kiosk", started_at=NOW - timedelta(days=2))
    history.add_handoff(recent, "person", None, card={**CARD, "phone": "07700 900123"})
    kept = ("Dog", "Vaccinations", "Dr Amy Roberts", "2026-11-23", "09:00")
    blank = (None, None, None, None)

    assert history.purge_expired(now=NOW).cards == 1
    cards = _cards(db_path)
    assert cards[old] == (*kept, *blank)
    assert cards[again][5:7] == ("Rex", "Zebediah Doe")  # not expired yet

    counts = history.forget_phone(PHONE)
    assert (counts.conversations, counts.cards) == (1, 1)  # `old` has no number left
    cards = _cards(db_path)
    assert cards[again] == (*kept, *blank)
    assert cards[recent][5:] == ("Rex", "Zebediah Doe", "07700 900123", "zebediah@example.com")
    assert b"Zebediah" in _file_bytes(db_path)  # the other caller's card
    history.forget_phone("07700 900123")
    assert b"Zebediah" not in _file_bytes(db_path)
