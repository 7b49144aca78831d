"""The demo clinic's definition (species, appointment types, clinicians and their hours, the
clinic's opening hours), read from its data file rather than written in code.

The file's home is `data/demo-clinic.toml` at the repository root, described field by field in
`data/README.md`. A wheel and the packaged app carry a copy beside this module (setup.py and
build.spec put it there), which is read when there is no checkout around it.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FILE_NAME = "demo-clinic.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ClinicDataError(ValueError):
    """The clinic's data file is missing or wrong; the message names the file and field."""


@dataclass(frozen=True)
class WeeklyHours:
    """Opening and closing time per weekday (0 = Monday); a day that is absent is closed."""

    days: Mapping[int, tuple[time, time]]

    def span(self, day: date) -> tuple[time, time] | None:
        return self.days.get(day.weekday())


@dataclass(frozen=True)
class Clinician:
    schedule_id: int
    partition_id: int
    name: str
    hours: WeeklyHours


@dataclass(frozen=True)
class ClinicData:
    timezone: str
    slot_length: timedelta
    opening_hours: WeeklyHours
    species: dict[int, str]
    appointment_types: dict[int, str]
    clinicians: tuple[Clinician, ...]
    source: Path

    @property
    def schedules(self) -> dict[int, str]:
        return {c.schedule_id: c.name for c in self.clinicians}

    @property
    def partitions(self) -> dict[int, int]:
        return {c.schedule_id: c.partition_id for c in self.clinicians}

    def starts(self, day: date) -> list[time]:
        """Every appointment start the clinic offers on `day`: from opening, a slot apart,
        the last one ending by closing time."""
        span = self.opening_hours.span(day)
        return _grid(span, self.slot_length) if span else []

    def sees_patients(self, schedule_id: int, local: datetime) -> bool:
        """Whether an appointment starting at `local` (clinic time) fits the clinic's opening
        hours and this clinician's own hours, on the slot grid of both."""
        clinician = next((c for c in self.clinicians if c.schedule_id == schedule_id), None)
        if clinician is None:
            return False
        moment = local.timetz().replace(tzinfo=None)
        return all(
            (span := hours.span(local.date())) is not None
            and moment in _grid(span, self.slot_length)
            for hours in (self.opening_hours, clinician.hours)
        )


@functools.lru_cache(maxsize=64)
def _grid(span: tuple[time, time], slot: timedelta) -> list[time]:
    opens, closes = span
    day = date(2000, 1, 3)  # any day: the grid is wall-clock times
    moment, end = datetime.combine(day, opens), datetime.combine(day, closes)
    found = []
    while moment + slot <= end:
        found.append(moment.time())
        moment += slot
    return found


def clinic_file() -> Path:
    """`data/demo-clinic.toml` in a checkout, else the copy beside this module."""
    checkout = Path(__file__).resolve().parents[2] / "data" / FILE_NAME
    return checkout if checkout.is_file() else Path(__file__).resolve().parent / FILE_NAME


def load_clinic(path: Path | None = None) -> ClinicData:
    """Read and check the clinic's data file; ClinicDataError says what is wrong where."""
    source = path or clinic_file()
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClinicDataError(f"the demo clinic's data file {source} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClinicDataError(f"{source} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ClinicDataError(f"{source} is not valid TOML: {exc}") from None
    return _Reader(source).clinic(raw)


class _Reader:
    """Turns the parsed file into ClinicData, naming the field of any mistake."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, field: str, problem: str) -> ClinicDataError:
        return ClinicDataError(f"{self.source}: {field} {problem}")

    def clinic(self, raw: dict[str, Any]) -> ClinicData:
        timezone = raw.get("timezone")
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("timezone", f"must be an IANA time zone; got {timezone!r}") from None
        slot = raw.get("slot_minutes")
        if isinstance(slot, bool) or not isinstance(slot, int) or not 5 <= slot <= 240:
            raise self.fail("slot_minutes", f"must be a whole number of 5 to 240; got {slot!r}")
        clinicians = tuple(
            self.clinician(item, f"clinicians[{n}]")
            for n, item in enumerate(self.table_list(raw, "clinicians"))
        )
        for field in ("schedule_id", "partition_id"):
            values = [getattr(c, field) for c in clinicians]
            if len(set(values)) != len(values):
                raise self.fail(f"clinicians.{field}", "must differ from one clinician to another")
        return ClinicData(
            timezone=str(timezone),
            slot_length=timedelta(minutes=slot),
            opening_hours=self.hours(raw.get("opening_hours"), "opening_hours"),
            species=self.names(raw, "species"),
            appointment_types=self.names(raw, "appointment_types"),
            clinicians=clinicians,
            source=self.source,
        )

    def table_list(self, raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
        items = raw.get(key)
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise self.fail(key, f"must be one or more [[{key}]] tables")
        return items

    def names(self, raw: dict[str, Any], key: str) -> dict[int, str]:
        found: dict[int, str] = {}
        for n, item in enumerate(self.table_list(raw, key)):
            item_id = self.whole(item, "id", f"{key}[{n}]")
            name = self.text(item, "name", f"{key}[{n}]")
            if item_id in found:
                raise self.fail(f"{key}[{n}].id", f"{item_id} is used twice")
            found[item_id] = name
        return found

    def clinician(self, item: dict[str, Any], where: str) -> Clinician:
        return Clinician(
            schedule_id=self.whole(item, "schedule_id", where),
            partition_id=self.whole(item, "partition_id", where),
            name=self.text(item, "name", where),
            hours=self.hours(item.get("hours"), f"{where}.hours"),
        )

    def whole(self, item: dict[str, Any], key: str, where: str) -> int:
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(f"{where}.{key}", f"must be a whole number above 0; got {value!r}")
        return value

    def text(self, item: dict[str, Any], key: str, where: str) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key}", "must be a name (text)")
        return value.strip()

    def hours(self, raw: Any, where: str) -> WeeklyHours:
        if not isinstance(raw, dict):
            raise self.fail(where, 'must be a table of weekdays, e.g. mon = "09:00-16:00"')
        days: dict[int, tuple[time, time]] = {}
        for key, value in raw.items():
            if key not in WEEKDAYS:
                raise self.fail(f"{where}.{key}", f"is not a weekday ({', '.join(WEEKDAYS)})")
            match = _SPAN.match(value) if isinstance(value, str) else None
            try:
                if match is None:
                    raise ValueError(value)
                opens = time(int(match[1]), int(match[2]))
                closes = time(int(match[3]), int(match[4]))
            except ValueError:
                raise self.fail(
                    f"{where}.{key}", f'must read "HH:MM-HH:MM", e.g. "09:00-16:00"; got {value!r}'
                ) from None
            if closes <= opens:
                raise self.fail(f"{where}.{key}", "must close after it opens")
            days[WEEKDAYS.index(key)] = (opens, closes)
        return WeeklyHours(days)
