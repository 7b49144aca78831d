"""Booking over HTTP: confirmations, taken slots, a race between two clients, and the truth
after a lost or failed answer (never "confirmed" without a 201)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from vetstoria_support import (
    CAT,
    CONSULTATION,
    NORMAN,
    ROBERTS,
    THURSDAY,
    booking_for,
    first_slot,
    statuses,
)

from vetstoria.client import VetstoriaClient
from vetstoria.errors import BadRequestError, SlotTakenError, UnavailableError, VetstoriaError
from vetstoria.models import BookingResult, Slot
from vetstoria.sandbox import SandboxClinic

MakeClinic = Callable[..., SandboxClinic]
MakeClient = Callable[..., VetstoriaClient]


def still_offered(client: VetstoriaClient, slot: Slot) -> bool:
    slots = client.find_slots(
        appointment_type_id=CONSULTATION,
        species_id=CAT,
        schedule_ids=[slot.schedule_id],
        start=slot.start,
        end=slot.start + timedelta(minutes=15),
    )
    return slot in slots


def test_booking_is_confirmed_and_recorded_with_names(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    slot = first_slot(client)
    result = client.book(booking_for(slot))
    assert result == BookingResult("confirmed", slot, ("PIMS-700001",), "")
    [booking] = clinic.bookings()
    assert booking["species"] == "Cat"
    assert booking["appointment_type"] == "Consultation"
    assert booking["clinician"] == "Dr Michael Norman"
    assert booking["start"] == "2026-11-26T13:00:00+00:00"
    assert booking["pet_name"] == "Mittens"
    assert booking["client"] == {
        "first_name": "James",
        "last_name": "Okafor",
        "email": "james.okafor@example.com",
        "phone": "07700900456",
    }
    body = booking["request"]
    assert body["slot"] == {
        "scheduleId": NORMAN,
        "partitionId": 2,
        "dateTime": "2026-11-26T13:00:00+00:00",
    }
    assert body["locationId"] == 4242
    assert body["client"]["id"] is None and body["client"]["isNewClient"] is True
    assert body["appointments"][0]["notes"] == "sneezing a lot"
    assert body["isPreferredClinician"] is True
    assert not still_offered(client, slot)


def test_the_offered_partition_is_echoed(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    slot = first_slot(client, schedule_id=ROBERTS)
    assert slot.partition_id == 1
    assert client.book(booking_for(slot)).confirmed
    assert clinic.bookings()[0]["request"]["slot"]["partitionId"] == 1


def test_a_list_shaped_confirmation_is_accepted(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    client = make_client(make_clinic(booking_answer="list"))
    result = client.book(booking_for(first_slot(client)))
    assert result.status == "confirmed"
    assert result.appointment_ids == ("PIMS-700001",)


def test_a_taken_slot_raises_slot_taken(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    slot = first_slot(client)
    client.book(booking_for(slot))
    with pytest.raises(SlotTakenError) as info:
        client.book(booking_for(slot, pet_name="Rex"))
    assert info.value.status == 409 and not info.value.retryable
    assert "Timeslot unavailable" in info.value.message
    assert len(clinic.bookings()) == 1


def test_injected_409_books_nothing(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    slot = first_slot(client)
    clinic.add_fault("booking:409")
    with pytest.raises(SlotTakenError):
        client.book(booking_for(slot))
    assert clinic.bookings() == []
    assert statuses(clinic, "booking") == [409]  # never retried
    assert client.book(booking_for(slot)).confirmed


def test_two_clients_race_for_one_slot(clinic: SandboxClinic, make_client: MakeClient) -> None:
    clients = [make_client(clinic), make_client(clinic)]
    slot = first_slot(clients[0])
    for c in clients:
        c.species()  # authenticate first so that both POSTs leave together
    barrier = threading.Barrier(2)
    outcomes: list[BookingResult | VetstoriaError] = []
    lock = threading.Lock()

    def book(c: VetstoriaClient) -> None:
        barrier.wait()
        try:
            outcome: BookingResult | VetstoriaError = c.book(booking_for(slot))
        except VetstoriaError as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=book, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    confirmed = [o for o in outcomes if isinstance(o, BookingResult) and o.confirmed]
    taken = [o for o in outcomes if isinstance(o, SlotTakenError)]
    assert len(confirmed) == 1 and len(taken) == 1
    assert len(clinic.bookings()) == 1


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_error_on_booking_with_the_slot_still_free_is_unavailable(
    clinic: SandboxClinic, client: VetstoriaClient, status: str
) -> None:
    slot = first_slot(client)
    clinic.add_fault(f"booking:{status}")
    with pytest.raises(UnavailableError) as info:
        client.book(booking_for(slot))
    assert info.value.retryable and info.value.status == int(status)
    assert "nothing was booked" in info.value.message
    assert clinic.bookings() == []
    assert statuses(clinic, "booking") == [int(status)]  # the POST was not repeated
    assert still_offered(client, slot)


def test_answer_lost_after_commit_is_unconfirmed_and_the_clinic_has_it(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(slow_s=1.5)
    client = make_client(clinic, timeout_s=0.5)
    slot = first_slot(client)
    clinic.add_fault("booking:timeout-after-commit")
    result = client.book(booking_for(slot))
    assert result.status == "unconfirmed" and not result.confirmed
    assert result.appointment_ids == ()
    assert "Staff must check" in result.detail
    assert len(clinic.bookings()) == 1
    assert statuses(clinic, "booking") == [None]  # one POST, its answer never sent


def test_answer_lost_and_slot_check_failing_is_unconfirmed(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(slow_s=1.5)
    client = make_client(clinic, timeout_s=0.5, max_read_retries=0)
    slot = first_slot(client)
    clinic.add_fault("booking:timeout-after-commit")
    clinic.add_fault("slots:503")
    result = client.book(booking_for(slot))
    assert result.status == "unconfirmed"
    assert "could not be checked" in result.detail


def test_timeout_before_commit_is_unavailable_and_books_nothing(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(slow_s=1.5)
    client = make_client(clinic, timeout_s=0.5)
    slot = first_slot(client)
    clinic.add_fault("booking:timeout")
    with pytest.raises(UnavailableError, match="still free"):
        client.book(booking_for(slot))
    assert clinic.bookings() == []


def test_a_200_html_page_is_not_a_confirmation(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    slot = first_slot(client)
    clinic.add_fault("booking:content-type")
    with pytest.raises(UnavailableError, match="instead of 201"):
        client.book(booking_for(slot))
    assert clinic.bookings() == []


def test_mismatched_partition_is_a_bad_request(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    slot = first_slot(client)
    wrong = Slot(slot.start, slot.schedule_id, partition_id=1)  # Dr Norman's partition is 2
    with pytest.raises(BadRequestError, match="partitionId 1"):
        client.book(booking_for(wrong))
    assert clinic.bookings() == []


def test_past_weekend_and_off_hours_slots_are_refused(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    tz = client.config.tz
    past = Slot(datetime(2026, 11, 23, 8, 45, tzinfo=tz), NORMAN, 2)
    saturday = Slot(datetime(2026, 11, 28, 10, 0, tzinfo=tz), NORMAN, 2)
    evening = Slot(datetime(2026, 11, 26, 16, 0, tzinfo=tz), NORMAN, 2)
    for slot in (past, saturday, evening):
        with pytest.raises(SlotTakenError):
            client.book(booking_for(slot))
    off_grid = Slot(datetime(2026, 11, 26, 10, 5, tzinfo=tz), NORMAN, 2)
    with pytest.raises(BadRequestError, match="grid"):
        client.book(booking_for(off_grid))
    assert clinic.bookings() == []


def test_expired_token_during_booking_reauthenticates_and_books_once(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    slot = first_slot(client, day=THURSDAY)
    clinic.add_fault("booking:401")
    assert client.book(booking_for(slot)).confirmed
    assert statuses(clinic, "booking") == [401, 201]
    assert statuses(clinic, "auth") == [200, 200]
    assert len(clinic.bookings()) == 1
