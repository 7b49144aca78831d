"""The demo clinic comes from its data file (data/demo-clinic.toml) and the sandbox built from
it is the clinic the scenario suite was written against: the same species, appointment types,
clinicians with their partitions, and bookable times (Monday to Friday, 09:00 to 15:45 every
15 minutes, Europe/London), as they were when they were written in code. A mistake in the
file is named with its field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from vetstoria.client import VetstoriaClient
from vetstoria.sandbox import SandboxClinic, demo
from vetstoria.sandbox.clinic_data import ClinicDataError, clinic_file, load_clinic

ROOT = Path(__file__).resolve().parents[2]
# The demo clinic as vetstoria/sandbox/demo.py had it in code before it moved to data/.
BEFORE = {
    "species": {1: "Dog", 2: "Cat"},
    "appointment_types": {
        6963: "Vaccinations",
        6964: "Consultation",
        6966: "Nurse appointment",
        6994: "Dental",
    },
    "schedules": {85267: "Dr Amy Roberts", 85268: "Dr Michael Norman"},
    "partitions": {85267: 1, 85268: 2},
}
TZ = ZoneInfo("Europe/London")


def old_grid(day: date) -> list[datetime]:
    """The bookable starts of the code-defined clinic: weekdays, 09:00 to 15:45, 15 minutes."""
    if day.weekday() >= 5:
        return []
    first = datetime.combine(day, time(9), TZ)
    return [first + timedelta(minutes=15 * n) for n in range(28)]


def test_the_sandbox_reads_the_clinic_from_data_in_a_checkout() -> None:
    assert clinic_file() == ROOT / "data" / "demo-clinic.toml"
    assert demo.CLINIC.source == ROOT / "data" / "demo-clinic.toml"


def test_the_data_file_gives_the_clinic_the_suite_was_written_for() -> None:
    clinic = load_clinic(ROOT / "data" / "demo-clinic.toml")
    assert clinic.timezone == "Europe/London" == demo.DEMO_TIMEZONE
    assert clinic.slot_length == timedelta(minutes=15)
    assert clinic.species == BEFORE["species"] == demo.SPECIES
    assert clinic.appointment_types == BEFORE["appointment_types"] == demo.APPOINTMENT_TYPES
    assert clinic.schedules == BEFORE["schedules"] == demo.SCHEDULES
    assert clinic.partitions == BEFORE["partitions"] == demo.PARTITIONS
    # In the order the API lists them (displayOrder), as before.
    assert [item["name"] for item in demo.catalogue(demo.APPOINTMENT_TYPES)] == [
        "Vaccinations",
        "Consultation",
        "Nurse appointment",
        "Dental",
    ]


def test_the_sandbox_offers_the_same_times_as_before(
    make_clinic: Callable[..., SandboxClinic],
) -> None:
    # A fortnight from a Sunday night, over the change to winter time (25 October 2026), so
    # that weekends, every weekday and a DST change are all compared.
    clinic = make_clinic(now="2026-10-18T23:00")
    start = datetime(2026, 10, 19, tzinfo=TZ)
    end = start + timedelta(days=14)
    free = clinic.free_slots(list(BEFORE["schedules"]), start, end)
    expected = [
        (moment, schedule)
        for n in range(14)
        for moment in old_grid(start.date() + timedelta(days=n))
        for schedule in sorted(BEFORE["schedules"])
    ]
    assert free == expected


def test_a_client_reads_the_same_catalogue_over_http(
    clinic: SandboxClinic, make_client: Callable[..., VetstoriaClient]
) -> None:
    client = make_client(clinic)
    assert {s.id: s.name for s in client.species()} == BEFORE["species"]
    assert {t.id: t.name for t in client.appointment_types()} == BEFORE["appointment_types"]
    assert {s.id: s.name for s in client.schedules()} == BEFORE["schedules"]


def test_a_clinicians_own_hours_narrow_what_is_offered(tmp_path: Path) -> None:
    text = (ROOT / "data" / "demo-clinic.toml").read_text(encoding="utf-8")
    # Dr Norman (the second clinician) stops at noon on Mondays.
    head, norman = text.rsplit("[[clinicians]]", 1)
    changed = head + "[[clinicians]]" + norman.replace('mon = "09:00-16:00"', 'mon = "09:00-12:00"')
    path = tmp_path / "clinic.toml"
    path.write_text(changed, encoding="utf-8")
    clinic = load_clinic(path)
    monday = date(2026, 11, 23)
    at = lambda hh, mm: datetime.combine(monday, time(hh, mm), TZ)  # noqa: E731
    assert clinic.sees_patients(85268, at(11, 45)) and not clinic.sees_patients(85268, at(12, 0))
    assert clinic.sees_patients(85267, at(15, 45)) and not clinic.sees_patients(85267, at(16, 0))
    assert not clinic.sees_patients(85267, at(9, 5))  # off the slot grid
    assert not clinic.sees_patients(85267, at(10, 0) + timedelta(days=5))  # Saturday: closed


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("slot_minutes = 15", "slot_minutes = 0"), "slot_minutes"),
        (('timezone = "Europe/London"', 'timezone = "Europe/Nowhere"'), "timezone"),
        (('mon = "09:00-16:00"', 'mon = "9am-4pm"'), "opening_hours.mon"),
        (('fri = "09:00-16:00"', 'fri = "16:00-09:00"'), "opening_hours.fri"),
        (("id = 2\n", "id = 1\n"), "species[1].id"),
        (("partition_id = 2", "partition_id = 1"), "clinicians.partition_id"),
        (('name = "Dr Amy Roberts"', 'name = ""'), "clinicians[0].name"),
        (("[opening_hours]", '[opening_hours]\nmonday = "09:00-10:00"'), "opening_hours.monday"),
    ],
)
def test_a_mistake_in_the_file_is_named(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    text = (ROOT / "data" / "demo-clinic.toml").read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "clinic.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(ClinicDataError) as caught:
        load_clinic(path)
    assert str(caught.value).startswith(f"{path}: {named} ")


def test_a_missing_file_says_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ClinicDataError, match="is missing"):
        load_clinic(tmp_path / "nope.toml")
