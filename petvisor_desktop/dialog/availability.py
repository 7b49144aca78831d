"""Free times at the clinic for what the caller asked: the Vetstoria search (each one kept
as a tool call for the history), the clinic's lead time, morning or afternoon, and the few
times offered. Reads only: nothing here changes the booking state or books anything."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime
from typing import Any, Protocol

from petvisor_desktop.dialog.tools import ANYONE
from vetstoria.errors import VetstoriaError
from vetstoria.models import Slot

OFFER_COUNT = 3  # times offered at once


class SlotSearch(Protocol):
    def find_slots(
        self,
        *,
        appointment_type_id: int,
        species_id: int,
        schedule_ids: Any,
        start: datetime,
        end: datetime,
    ) -> list[Slot]: ...


@dataclass(frozen=True)
class ToolCallRecord:
    name: str
    arguments: dict[str, Any]
    status: str  # ok | error code | rejected
    duration_ms: float


@dataclass(frozen=True)
class Wanted:
    """What the caller asked for: the search's terms."""

    species: str
    appointment_type: str
    clinician: str | None  # a clinician's name, ANYONE or None (not asked yet: anyone)
    part_of_day: str | None  # "morning", "afternoon" or None


class Availability:
    """Searches `api` for free times; `calls` receives a ToolCallRecord per search."""

    def __init__(
        self,
        api: SlotSearch,
        catalogue: dict[str, list[Any]],
        tz: tzinfo,
        now: Callable[[], datetime],
        min_lead_minutes: int,
    ) -> None:
        self.api = api
        self.tz = tz
        self.now = now
        self.min_lead_minutes = min_lead_minutes  # no time offered that the caller cannot reach
        self.species_ids = {c.name: c.id for c in catalogue["species"]}
        self.type_ids = {c.name: c.id for c in catalogue["appointment_types"]}
        self.schedule_ids = {c.name: c.id for c in catalogue["schedules"]}
        self.schedule_names = {v: k for k, v in self.schedule_ids.items()}

    def search(
        self,
        wanted: Wanted,
        day: date,
        days: int,
        calls: list[ToolCallRecord],
        part_filter: bool = True,
    ) -> list[Slot]:
        """Free times from `day` for `days` days, not before the lead time, in the part of
        the day asked for unless `part_filter` is off. Vetstoria errors are raised."""
        if wanted.clinician and wanted.clinician != ANYONE:
            schedules = [self.schedule_ids[wanted.clinician]]
        else:
            schedules = list(self.schedule_ids.values())
        start = datetime.combine(day, dtime(0), self.tz)
        end = datetime.combine(day + timedelta(days=days), dtime(0), self.tz)
        args = {
            "date": day.isoformat(),
            "days": days,
            "clinician": wanted.clinician,
            "species": wanted.species,
            "appointment_type": wanted.appointment_type,
        }
        t0 = time.perf_counter()
        try:
            slots = self.api.find_slots(
                appointment_type_id=self.type_ids[wanted.appointment_type],
                species_id=self.species_ids[wanted.species],
                schedule_ids=schedules,
                start=start,
                end=end,
            )
        except VetstoriaError as exc:
            calls.append(ToolCallRecord("check_availability", args, exc.code, _ms(t0)))
            raise
        calls.append(
            ToolCallRecord("check_availability", {**args, "found": len(slots)}, "ok", _ms(t0))
        )
        earliest = self.now() + timedelta(minutes=self.min_lead_minutes)
        slots = [s for s in slots if s.start >= earliest]
        return [s for s in slots if not part_filter or self.fits_part(s, wanted.part_of_day)]

    def others(self, wanted: Wanted, day: date, calls: list[ToolCallRecord]) -> list[Slot]:
        """Free times on `day` with any clinician but the one asked for."""
        anyone = Wanted(wanted.species, wanted.appointment_type, ANYONE, wanted.part_of_day)
        return [
            s
            for s in self.search(anyone, day, 1, calls)
            if self.schedule_names.get(s.schedule_id) != wanted.clinician
        ]

    def fits_part(self, slot: Slot, part_of_day: str | None) -> bool:
        if not part_of_day:
            return True
        hour = slot.start.astimezone(self.tz).hour
        return hour < 12 if part_of_day == "morning" else hour >= 12


def one_per_start(slots: list[Slot]) -> list[Slot]:
    """Free times in order, one slot per start time (either clinician)."""
    seen: dict[datetime, Slot] = {}
    for slot in sorted(slots, key=lambda s: s.start):
        seen.setdefault(slot.start, slot)
    return list(seen.values())


def spread(slots: list[Slot]) -> list[Slot]:
    """The earliest free times, one per start time (either clinician), up to OFFER_COUNT."""
    return one_per_start(slots)[:OFFER_COUNT]


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
