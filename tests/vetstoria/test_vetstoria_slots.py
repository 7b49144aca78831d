"""Slot search over HTTP: opening hours, the pinned now, blocked periods, closed days, answers in
any of the accepted shapes, and times that stay right across the DST changes in Europe/London."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from vetstoria_support import CAT, CONSULTATION, MONDAY, NORMAN, ROBERTS, THURSDAY, statuses

from vetstoria.client import VetstoriaClient
from vetstoria.errors import BadRequestError
from vetstoria.models import Slot
from vetstoria.sandbox import Blocked, SandboxClinic

MakeClinic = Callable[..., SandboxClinic]
MakeClient = Callable[..., VetstoriaClient]
BOTH = [ROBERTS, NORMAN]


def search(
    client: VetstoriaClient, start: datetime, end: datetime, ids: list[int] = BOTH
) -> list[Slot]:
    return client.find_slots(
        appointment_type_id=CONSULTATION, species_id=CAT, schedule_ids=ids, start=start, end=end
    )


def local_times(slots: list[Slot]) -> list[str]:
    return [s.start.strftime("%a %H:%M") for s in slots]


def test_a_whole_day_has_fifteen_minute_slots_from_nine_to_quarter_to_four(
    client: VetstoriaClient,
) -> None:
    slots = search(client, THURSDAY, THURSDAY + timedelta(days=1))
    assert len(slots) == 2 * 28
    for schedule, partition in ((ROBERTS, 1), (NORMAN, 2)):
        mine = [s for s in slots if s.schedule_id == schedule]
        assert {s.partition_id for s in mine} == {partition}
        assert mine[0].start.time() == time(9, 0)
        assert mine[-1].start.time() == time(15, 45)
        gaps = {b.start - a.start for a, b in pairwise(mine)}
        assert gaps == {timedelta(minutes=15)}
    assert slots == sorted(slots, key=lambda s: (s.start, s.schedule_id))
    assert all(str(s.start.tzinfo) == "Europe/London" for s in slots)


def test_no_slots_in_the_past_of_the_pinned_now(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    clinic.set_now("2026-11-23T12:10")
    slots = search(client, MONDAY, MONDAY + timedelta(days=1), [NORMAN])
    assert slots[0].start.time() == time(12, 15)
    clinic.set_now(None)  # the real clock: 2026-11-23 is then whatever it is; search far ahead
    future = datetime(2031, 1, 6)  # a Monday years ahead
    assert len(search(client, future, future + timedelta(days=1), [NORMAN])) == 28


def test_weekends_closed_dates_and_blocked_periods_have_no_slots(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(
        closed_dates=[date(2026, 11, 25)],
        blocked=[
            Blocked(NORMAN, THURSDAY, THURSDAY + timedelta(days=1)),  # Dr Norman away Thursday
            Blocked(None, datetime(2026, 11, 27, 12), datetime(2026, 11, 27, 14)),  # Friday lunch
        ],
    )
    client = make_client(clinic)
    week = search(client, MONDAY, MONDAY + timedelta(days=7))
    days = {s.start.date() for s in week}
    assert date(2026, 11, 25) not in days  # closed
    assert not days & {date(2026, 11, 28), date(2026, 11, 29)}  # weekend
    assert {s.schedule_id for s in week if s.start.date() == THURSDAY.date()} == {ROBERTS}
    friday = [s for s in week if s.start.date() == date(2026, 11, 27)]
    assert not [s for s in friday if time(12) <= s.start.time() < time(14)]
    assert [s for s in friday if s.start.time() == time(14)]


@pytest.mark.parametrize("wrapper", ["slots", "data"])
def test_wrapped_slot_answers_are_accepted(
    make_clinic: MakeClinic, make_client: MakeClient, wrapper: str
) -> None:
    wrapped = make_client(make_clinic(slots_wrapper=wrapper))
    bare = make_client(make_clinic())
    day = (THURSDAY, THURSDAY + timedelta(days=1))
    assert search(wrapped, *day) == search(bare, *day)
    assert len(search(wrapped, *day)) == 56


def test_spring_forward_week_2027_03_28(make_clinic: MakeClinic, make_client: MakeClient) -> None:
    clinic = make_clinic(now="2027-03-22T08:00")
    client = make_client(clinic)
    slots = search(client, datetime(2027, 3, 22), datetime(2027, 4, 3), [NORMAN])
    friday = [s for s in slots if s.start.date() == date(2027, 3, 26)]
    monday = [s for s in slots if s.start.date() == date(2027, 3, 29)]
    assert friday[0].start.isoformat() == "2027-03-26T09:00:00+00:00"
    assert monday[0].start.isoformat() == "2027-03-29T09:00:00+01:00"
    assert monday[0].start.astimezone(UTC).hour == 8  # 09:00 BST is 08:00 UTC
    assert len(slots) == 10 * 28
    body = [r for r in clinic.requests() if r["stage"] == "slots"][-1]["body"]
    assert body["period"] == {
        "from": "2027-03-22T00:00:00+00:00",
        "to": "2027-04-03T00:00:00+01:00",
    }


def test_fall_back_week_2026_10_25(make_clinic: MakeClinic, make_client: MakeClient) -> None:
    clinic = make_clinic(now="2026-10-19T08:00")
    client = make_client(clinic)
    slots = search(client, datetime(2026, 10, 19), datetime(2026, 10, 31), [ROBERTS])
    friday = [s for s in slots if s.start.date() == date(2026, 10, 23)]
    monday = [s for s in slots if s.start.date() == date(2026, 10, 26)]
    assert friday[-1].start.isoformat() == "2026-10-23T15:45:00+01:00"
    assert monday[0].start.isoformat() == "2026-10-26T09:00:00+00:00"
    body = [r for r in clinic.requests() if r["stage"] == "slots"][-1]["body"]
    assert body["period"] == {
        "from": "2026-10-19T00:00:00+01:00",
        "to": "2026-10-31T00:00:00+00:00",
    }


def test_request_times_carry_the_real_offset_for_aware_and_gap_times(
    make_clinic: MakeClinic, make_client: MakeClient
) -> None:
    clinic = make_clinic(now="2027-03-22T08:00")
    client = make_client(clinic)
    # An aware UTC instant goes out as clinic wall time with its offset.
    slots = search(
        client,
        datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
        datetime(2027, 3, 29, 9, 0, tzinfo=UTC),
        [NORMAN],
    )
    assert local_times(slots) == ["Mon 09:00", "Mon 09:15", "Mon 09:30", "Mon 09:45"]
    # 01:30 on 28 March 2027 does not exist in London; it is sent as the real instant.
    search(client, datetime(2027, 3, 28, 1, 30), datetime(2027, 3, 29, 10, 0), [NORMAN])
    periods = [r["body"]["period"] for r in clinic.requests() if r["stage"] == "slots"]
    assert periods[0] == {"from": "2027-03-29T09:00:00+01:00", "to": "2027-03-29T10:00:00+01:00"}
    assert periods[1]["from"] == "2027-03-28T02:30:00+01:00"


def test_a_booked_slot_disappears(clinic: SandboxClinic, client: VetstoriaClient) -> None:
    from vetstoria_support import booking_for

    before = search(client, THURSDAY, THURSDAY + timedelta(days=1))
    assert client.book(booking_for(before[0])).confirmed
    after = search(client, THURSDAY, THURSDAY + timedelta(days=1))
    assert before[0] not in after
    assert len(after) == len(before) - 1


def test_caller_mistakes_are_caught_before_any_request(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    with pytest.raises(ValueError, match="schedule"):
        search(client, THURSDAY, THURSDAY + timedelta(days=1), [])
    with pytest.raises(ValueError, match="after start"):
        search(client, THURSDAY, THURSDAY)
    assert clinic.requests() == []


def test_bad_searches_are_refused_without_retries(
    clinic: SandboxClinic, client: VetstoriaClient
) -> None:
    with pytest.raises(BadRequestError, match="31 days"):
        search(client, MONDAY, MONDAY + timedelta(days=40))
    with pytest.raises(BadRequestError, match="appointmentTypeId"):
        client.find_slots(
            appointment_type_id=1, species_id=CAT, schedule_ids=BOTH, start=MONDAY, end=THURSDAY
        )
    with pytest.raises(BadRequestError, match="scheduleId"):
        search(client, MONDAY, THURSDAY, [99])
    assert statuses(clinic, "slots") == [400, 400, 400]
