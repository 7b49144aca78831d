"""The reception worklist on real SQLite files: which conversations need a person and why,
what was understood of them, and what staff do about them (who and when)."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest

from petvisor_desktop import worklist as words
from petvisor_desktop.history import History, RecordNotFound
from petvisor_desktop.history.values import _now

from .conftest import PHONE, record_booked_conversation

# What the dialog had understood of a caller who then asked to cancel (`BookingState.card`).
CANCEL_CARD = {
    "species": "Cat",
    "appointment_type": "Consultation",
    "clinician": "Dr Michael Norman",
    "date": "2026-11-26",
    "part_of_day": None,
    "time": "12:00",
    "pet_name": "Mittens",
    "client_name": "James Okafor",
    "phone": "07700900456",
    "email": "james.okafor@example.com",
}


def handed_off(history: History, reason: str, *, card: dict[str, str | None] | None = None) -> int:
    """As the dialog records a hand-off: with what it had understood (`card`), if anything."""
    cid = history.start_conversation("kiosk")
    history.add_turn(cid, "caller", f"something about {reason}")
    history.add_handoff(cid, reason, "07700 900318", card=card)
    history.end_conversation(cid, "handoff", f"handed to reception ({reason})", card=card)
    return cid


def unconfirmed(history: History, *, pet: str = "Alfie") -> int:
    """As the dialog records a booking whose answer was lost: the booking, then a hand-off."""
    cid = history.start_conversation("kiosk")
    history.add_booking(
        cid,
        status="unconfirmed",
        slot_start="2026-11-27T14:00:00+00:00",
        species="Dog",
        appointment_type="Vaccinations",
        clinician="Dr Amy Roberts",
        pet_name=pet,
        first_name="Hannah",
        last_name="Wright",
        phone="07700900140",
        email="hannah.wright@example.com",
    )
    history.add_handoff(cid, "unconfirmed booking: staff to check", "07700900140")
    return cid


def test_every_reason_a_person_is_needed_becomes_an_item_and_nothing_else(
    history: History, db_path: Path
) -> None:
    reasons = ("emergency", "cancel", "reschedule", "person", "species", "not_understood")
    by_reason = {reason: handed_off(history, reason) for reason in reasons}
    own_words = handed_off(history, "asked for the nurse on duty")
    lost = unconfirmed(history)
    history.end_conversation(lost, "handoff", "lost")

    refused = history.start_conversation("kiosk")  # Vetstoria refused the booking, twice
    history.add_booking(refused, status="failed", species="Cat", pet_name="Tom")
    history.end_conversation(refused, "no_booking", "Asked about: species Cat. Result: nothing.")
    down = history.start_conversation("ptt")  # no times could even be searched
    history.add_tool_call(down, None, "check_availability", {}, "unavailable", 12.0)
    history.end_conversation(down, "no_booking", "Asked about: nothing specific. Result: x.")
    retried = history.start_conversation("kiosk")  # refused once, then booked: fine
    history.add_booking(retried, status="failed")
    history.add_booking(retried, status="confirmed")
    history.end_conversation(retried, "booked")

    left = history.start_conversation("kiosk")
    history.add_turn(left, "caller", "A check-up for my dog please")
    history.end_conversation(
        left,
        "abandoned",
        "Asked about: species Dog, type Check-up. Result: nothing booked.",
        card={"species": "Dog", "appointment_type": "Check-up"},
    )
    walked_by = history.start_conversation("kiosk")  # tapped Start and walked away
    history.end_conversation(
        walked_by, "abandoned", "Asked about: nothing specific. Result: nothing booked."
    )
    booked = record_booked_conversation(history)
    cut_off = history.start_conversation("kiosk")
    history.add_turn(cut_off, "caller", "Hello?")
    history.close()

    with History.open(db_path) as reopened:  # the crash is noticed at the next start
        items = {i.id: i for i in reopened.worklist()}
    assert {cid: items[cid].reasons for cid in by_reason.values()} == {
        cid: (reason,) for reason, cid in by_reason.items()
    }
    assert items[own_words].reasons == ("handoff",)
    assert items[own_words].detail == "asked for the nurse on duty"
    assert items[lost].reasons == ("unconfirmed",)
    assert items[refused].reasons == ("booking_failed",)
    assert items[down].reasons == ("booking_failed",)
    assert items[left].reasons == ("abandoned",)
    assert items[cut_off].reasons == ("interrupted",)
    assert items[cut_off].caller_said == "Hello?"
    for not_an_item in (retried, walked_by, booked):
        assert not_an_item not in items
    assert all(item.is_open for item in items.values())


def test_an_item_shows_what_was_understood_how_to_reach_the_caller_and_when(
    history: History,
) -> None:
    before = _now()
    cid = handed_off(history, "cancel", card=CANCEL_CARD)
    item = history.worklist_item(cid)
    assert item is not None
    assert before <= item.raised_at <= _now()
    assert item.card == CANCEL_CARD
    assert (item.phone, item.email) == ("07700900456", "james.okafor@example.com")
    assert words.why(item) == "Wants to cancel a booking"
    assert words.caller(item) == "James Okafor (Mittens)"
    assert words.understood(item)[:5] == [
        ("Animal", "Cat"),
        ("Appointment", "Consultation"),
        ("Vet", "Dr Michael Norman"),
        ("Day", "Thursday 26 November"),
        ("Time", "12:00 pm"),
    ]
    # Without a card, the hand-off's own contact is how to reach them.
    bare = history.worklist_item(handed_off(history, "person"))
    assert bare is not None and bare.phone == "07700 900318" and not any(bare.card.values())


def test_the_card_last_passed_is_the_one_kept_and_a_wrong_one_is_refused(
    history: History,
) -> None:
    cid = history.start_conversation("kiosk")
    history.add_handoff(cid, "cancel", None, card={"species": "Cat", "pet_name": "Tom"})
    history.end_conversation(cid, "handoff", None, card={"species": "Cat", "pet_name": "Tiger"})
    item = history.worklist_item(cid)
    assert item is not None and (item.card["species"], item.card["pet_name"]) == ("Cat", "Tiger")
    other = history.start_conversation("kiosk")
    with pytest.raises(ValueError, match="unknown booking card detail\\(s\\) owner"):
        history.add_handoff(other, "cancel", None, card={"owner": "Jane"})
    with pytest.raises(ValueError, match="booking card date must be text"):
        history.end_conversation(other, "handoff", None, card={"date": date(2026, 11, 23)})


def test_an_unconfirmed_booking_says_exactly_what_to_look_for_in_vetstoria(
    history: History,
) -> None:
    item = history.worklist_item(unconfirmed(history))
    assert item is not None and item.booking is not None
    assert words.vetstoria_check(item) == (
        "Vaccinations with Dr Amy Roberts on Friday 27 November at 2:00 pm, for Alfie (dog), "
        "owner Hannah Wright, phone 07700900140"
    )
    assert "Look for the booking in Vetstoria" in words.next_step(item)
    other = history.worklist_item(handed_off(history, "cancel"))
    assert other is not None and words.vetstoria_check(other) is None


def test_found_in_vetstoria_confirms_the_booking_and_not_booked_fails_it(
    history: History,
) -> None:
    found, missing = unconfirmed(history, pet="Alfie"), unconfirmed(history, pet="Bella")
    item = history.settle_booking(found, True, "Jo Morgan")
    assert item.verdict == "found_in_vetstoria" and item.is_open  # the owner is still to be told
    assert item.booking is not None and item.booking.status == "confirmed"
    assert "The booking is in Vetstoria" in words.next_step(item)
    item = history.settle_booking(missing, False, "Jo Morgan")
    assert item.verdict == "not_booked"
    detail = history.conversation(missing)
    assert detail is not None and [b.status for b in detail.bookings] == ["failed"]
    assert item.reasons == ("unconfirmed",)  # still the lost booking it was, not a new failure
    assert [a.action for a in item.actions] == ["not_booked"]
    # A verdict only fits a lost booking.
    with pytest.raises(ValueError, match="no booking to check in Vetstoria"):
        history.settle_booking(handed_off(history, "cancel"), True, "Jo Morgan")


def test_done_records_who_and_when_and_an_item_can_be_reopened(history: History) -> None:
    cid = handed_off(history, "reschedule")
    other = handed_off(history, "person")
    before = _now()
    item = history.mark_done(cid, "Jo Morgan", "Moved to Friday 10:00")
    assert not item.is_open and item.done_by == "Jo Morgan"
    assert item.done_at is not None and before <= item.done_at <= _now()
    assert [(a.action, a.staff, a.note) for a in item.actions] == [
        ("done", "Jo Morgan", "Moved to Friday 10:00")
    ]
    assert [i.id for i in history.worklist(open_only=True)] == [other]
    assert {i.id for i in history.worklist()} == {cid, other}
    with pytest.raises(ValueError, match=f"item {cid} is already done \\(by Jo Morgan\\)"):
        history.mark_done(cid, "Sam")
    item = history.reopen(cid, "Sam Patel", "The owner rang back")
    assert item.is_open and item.done_by is None
    assert history.worklist_ids(open_only=True) == [other, cid]
    with pytest.raises(ValueError, match="open already"):
        history.reopen(cid, "Sam Patel")


def test_notes_are_kept_in_order_with_who_wrote_them(history: History) -> None:
    cid = handed_off(history, "not_understood")
    history.add_note(cid, "Jo Morgan", "Left a voicemail")
    item = history.add_note(cid, "  Sam   Patel ", "Called again: booked by phone")
    assert [(n.staff, n.note) for n in item.notes] == [
        ("Jo Morgan", "Left a voicemail"),
        ("Sam Patel", "Called again: booked by phone"),
    ]
    assert item.is_open  # a note does not close it
    with pytest.raises(ValueError, match="a note needs some text"):
        history.add_note(cid, "Jo", "   ")
    with pytest.raises(ValueError, match="say who you are"):
        history.add_note(cid, " ", "hello")
    with pytest.raises(ValueError, match="at most 2000 characters"):
        history.add_note(cid, "Jo", "x" * 2001)


def test_a_conversation_that_needs_nobody_cannot_be_acted_on(history: History) -> None:
    booked = record_booked_conversation(history)
    with pytest.raises(RecordNotFound, match=f"conversation {booked} is not on the worklist"):
        history.mark_done(booked, "Jo")
    with pytest.raises(RecordNotFound, match="there is no conversation 999"):
        history.add_note(999, "Jo", "hello")
    assert history.worklist_item(booked) is None


def test_old_items_can_be_closed_in_one_go(history: History) -> None:
    old, new = handed_off(history, "cancel"), handed_off(history, "person")
    cut = history.worklist_item(new)
    assert cut is not None
    closed = history.mark_done_before(cut.raised_at, "Jo Morgan")
    assert closed == [old]
    assert history.worklist_ids(open_only=True) == [new]


def test_items_another_process_records_appear_and_change_the_stamp(db_path: Path) -> None:
    with History.open(db_path) as staff, History.open(db_path) as kiosk:
        stamp = staff.worklist_stamp()
        assert staff.worklist_stamp() == stamp  # nothing changed, nothing to read
        cid = handed_off(kiosk, "emergency")
        assert staff.worklist_stamp() != stamp
        assert staff.worklist_ids(open_only=True) == [cid]
        stamp = staff.worklist_stamp()
        kiosk.mark_done(cid, "Jo")
        assert staff.worklist_stamp() != stamp and staff.worklist_ids(open_only=True) == []
        stamp = staff.worklist_stamp()
        kiosk.update_booking_status(kiosk.add_booking(cid, status="confirmed"), "confirmed")
        assert staff.worklist_stamp() != stamp


def test_retention_and_forget_blank_staff_notes_but_keep_who_did_what(history: History) -> None:
    old = handed_off(history, "cancel", card=CANCEL_CARD)
    history.add_note(old, "Jo Morgan", "Mrs Okafor will call back")
    history.mark_done(old, "Jo Morgan")
    counts = history.purge_expired(now=_now() + timedelta(days=history.retention_days + 1))
    assert counts.worklist_notes == 1
    item = history.worklist_item(old)
    assert item is not None and item.redacted and not item.is_open
    assert [(a.action, a.staff, a.note) for a in item.actions] == [
        ("note", "Jo Morgan", None),
        ("done", "Jo Morgan", None),
    ]
    # The card goes as the booking does: who and how to reach them, not what was asked for.
    personal = ("pet_name", "client_name", "phone", "email")
    assert item.card == {k: None if k in personal else v for k, v in CANCEL_CARD.items()}
    assert counts.cards == 1 and item.phone is None

    noted = handed_off(history, "person")
    history.add_note(noted, "Jo Morgan", f"Caller's other number is {PHONE}")
    assert history.forget_phone(PHONE).worklist_notes == 1
    item = history.worklist_item(noted)
    assert item is not None and item.notes[0].note is None


def test_staff_names_notes_and_callers_never_reach_the_log(
    history: History, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="petvisor_desktop")
    cid = unconfirmed(history)
    history.add_note(cid, "Jo Morgan", "Spoke to Hannah on 07700900140")
    history.settle_booking(cid, True, "Jo Morgan")
    history.mark_done(cid, "Jo Morgan")
    history.worklist()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"worklist item {cid}: done" in logged
    for secret in ("Jo Morgan", "Hannah", "07700900140", "Alfie", "voicemail"):
        assert secret not in logged
