"""Opening hours: the one-line setting read and written back, and the questions the kiosk
asks of it (open now? until when? when next?)."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from petvisor_desktop.hours import HoursError, OpeningHours
from petvisor_desktop.settings import ClinicSettings, SettingsError, load_settings

LONDON = ZoneInfo("Europe/London")
WEEK = "mon-fri 08:30-12:30, 14:00-18:00; wed 08:30-13:00; sat 09:00-12:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def test_days_ranges_lunch_breaks_and_later_entries_override() -> None:
    hours = OpeningHours.parse(WEEK)
    assert hours.days[0] == ((time(8, 30), time(12, 30)), (time(14, 0), time(18, 0)))
    assert hours.days[2] == ((time(8, 30), time(13, 0)),)  # Wednesday replaced
    assert hours.days[5] == ((time(9, 0), time(12, 0)),)
    assert hours.days[6] == ()  # not named: closed
    # Monday 23 November 2026.
    assert hours.is_open(at("2026-11-23T08:30"))
    assert not hours.is_open(at("2026-11-23T08:29"))
    assert not hours.is_open(at("2026-11-23T13:00"))  # lunch
    assert not hours.is_open(at("2026-11-23T18:00"))  # closing time is closed
    assert hours.is_open(at("2026-11-25T12:59")) and not hours.is_open(at("2026-11-25T13:00"))


def test_spellings_people_use_are_read() -> None:
    same = OpeningHours.parse("Mon - Fri 8:30 – 18:00\nSaturday 9-12;  sun closed")
    assert same == OpeningHours.parse("mon-fri 08:30-18:00; sat 09:00-12:00")
    wrap = OpeningHours.parse("sat-mon 10:00-16:00")  # a range across the weekend
    assert [bool(d) for d in wrap.days] == [True, False, False, False, False, True, True]
    late = OpeningHours.parse("fri 18:00-24:00")
    assert late.is_open(at("2026-11-27T23:59"))


def test_when_it_closes_and_opens_next() -> None:
    hours = OpeningHours.parse(WEEK)
    assert hours.until(at("2026-11-23T10:00")) == "until 12:30pm"
    assert hours.until(at("2026-11-23T13:00")) == ""
    assert hours.when_open_again(at("2026-11-23T13:00")) == "at 2pm"
    assert hours.when_open_again(at("2026-11-23T19:00")) == "tomorrow at 8:30am"
    assert hours.when_open_again(at("2026-11-21T13:00")) == "on Monday at 8:30am"  # Saturday
    assert hours.next_opening(at("2026-11-21T13:00")) == at("2026-11-23T08:30")
    assert hours.closes_at(at("2026-11-28T09:00")) == at("2026-11-28T12:00")
    never = OpeningHours.parse("sun closed")
    assert never.kept and not never.is_open(at("2026-11-23T10:00"))
    assert never.next_opening(at("2026-11-23T10:00")) is None


def test_written_back_shortest_and_said_naturally() -> None:
    hours = OpeningHours.parse(WEEK)
    assert hours.to_text() == (
        "mon-tue 08:30-12:30, 14:00-18:00; wed 08:30-13:00; "
        "thu-fri 08:30-12:30, 14:00-18:00; sat 09:00-12:00"
    )
    assert OpeningHours.parse(hours.to_text()) == hours
    assert hours.day_text(0) == "08:30–12:30, 14:00–18:00" and hours.day_text(6) == "Closed"
    assert OpeningHours.parse("mon-fri 08:30-18:00; sat 09:00-12:00").spoken() == (
        "Monday to Friday, 8:30am to 6pm, and Saturday, 9am to noon"
    )
    assert OpeningHours.parse("sat-sun 10:00-16:00").spoken() == (
        "Saturday and Sunday, 10am to 4pm"
    )


def test_none_kept_means_always_open_and_nothing_said() -> None:
    none = OpeningHours.parse("  ")
    assert not none.kept and none.is_open(at("2026-11-22T03:00"))
    assert none.to_text() == none.spoken() == none.when_open_again(at("2026-11-22T03:00")) == ""


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mon-fri 9-5x", "'5x' in 'mon-fri 9-5x' is not a time like 08:30"),
        ("mon-fri 17:00-09:00", "closes before it opens"),
        ("mon 09:00-13:00, 12:00-17:00", "overlap"),
        ("moonday 09:00-17:00", "'moonday' in 'moonday 09:00-17:00' is not a day"),
        ("09:00-17:00", "should be days then hours"),
        ("mon 25:00-26:00", "is not a time of day"),
        ("mon 09:00", "is not a range like 08:30-18:00"),
    ],
)
def test_bad_hours_say_which_part_is_wrong(text: str, says: str) -> None:
    with pytest.raises(HoursError) as err:
        OpeningHours.parse(text)
    assert says in str(err.value)


def test_the_setting_is_validated_and_read_from_file_and_environment(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        ClinicSettings(opening_hours="mon-fri 9-5x")
    assert err.value.setting == "clinic.opening_hours"
    config = tmp_path / "settings.toml"
    config.write_text(
        '[clinic]\nopening_hours = "sat 09:00-12:00"\nout_of_hours_phone = "01632 960999"\n'
    )
    clinic = load_settings(config, env={}).clinic
    assert clinic.hours.days[5] and not clinic.hours.days[0]
    assert clinic.emergency_phone == "01632 960999"
    env = {"PETVISOR_CLINIC_OPENING_HOURS": ""}
    assert not load_settings(config, env=env).clinic.hours.kept
    assert ClinicSettings().emergency_phone == ClinicSettings().phone  # none set: the clinic's
