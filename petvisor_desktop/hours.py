"""The clinic's opening hours: when reception is staffed.

They decide what the kiosk says about the clinic, not what can be booked: free times come
from each clinician's schedule in Vetstoria. Outside the hours the idle screen says when the
clinic opens again, the assistant says so in its greeting, and "talk to reception" points
to the phone instead of an empty desk.

The setting is one line, as people write hours on a door:

    opening_hours = "mon-fri 08:30-18:00; sat 09:00-12:00"

Entries are separated by ";" (or new lines). Each names days (`mon`, `mon-fri`,
`mon,wed,fri`) and either `closed` or time ranges (`08:30-12:30, 14:00-18:00`). A day not
named is closed; a later entry replaces an earlier one for its days, so
"mon-fri 08:30-18:00; wed 08:30-13:00" closes Wednesday at one. An empty value means no
hours are kept: the kiosk then says nothing about them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from petvisor_desktop.spoken import WEEKDAY_NAMES, spoken_time

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = WEEKDAY_NAMES
_DAY_ALIASES = {
    **{key: i for i, key in enumerate(DAY_KEYS)},
    **{name.lower(): i for i, name in enumerate(DAY_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_DASHES = re.compile(r"\s*[-–—]\s*")  # hyphen, en dash, em dash
_END_OF_DAY = time(23, 59, 59, 999999)

Span = tuple[time, time]  # [opens, closes); closes may be _END_OF_DAY for "24:00"


class HoursError(ValueError):
    """The opening hours text cannot be read; the message says which part and why."""


def _parse_time(text: str, whole: str) -> time:
    match = _TIME.match(text.strip())
    if not match:
        raise HoursError(f"{text.strip()!r} in {whole!r} is not a time like 08:30")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour == 24 and minute == 0:
        return _END_OF_DAY
    if hour > 23 or minute > 59:
        raise HoursError(f"{text.strip()!r} in {whole!r} is not a time of day")
    return time(hour, minute)


def _parse_days(text: str, entry: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        ends = _DASHES.split(part.strip().lower())
        try:
            first, last = (_DAY_ALIASES[ends[0]], _DAY_ALIASES[ends[-1]])
        except KeyError:
            raise HoursError(
                f"{part.strip()!r} in {entry!r} is not a day (mon, tue, ... sun, or mon-fri)"
            ) from None
        if len(ends) > 2:
            raise HoursError(f"{part.strip()!r} in {entry!r} is not a day range")
        span = (last - first) % 7  # "sat-mon" wraps round the weekend
        days.extend((first + i) % 7 for i in range(span + 1))
    return days


def _parse_spans(text: str, entry: str) -> tuple[Span, ...]:
    if text.strip().lower() == "closed":
        return ()
    spans: list[Span] = []
    for part in text.split(","):
        ends = _DASHES.split(part.strip())
        if len(ends) != 2:
            raise HoursError(f"{part.strip()!r} in {entry!r} is not a range like 08:30-18:00")
        opens, closes = _parse_time(ends[0], entry), _parse_time(ends[1], entry)
        if closes <= opens:
            raise HoursError(f"{part.strip()!r} in {entry!r} closes before it opens")
        spans.append((opens, closes))
    spans.sort()
    for (_, closes), (opens, _) in itertools.pairwise(spans):
        if opens < closes:
            raise HoursError(f"the ranges in {entry!r} overlap")
    return tuple(spans)


def _clock(t: time) -> str:
    return "24:00" if t == _END_OF_DAY else f"{t.hour:02d}:{t.minute:02d}"


def _spoken(t: time) -> str:
    """The assistant's style of time, with "noon" and "midnight" (24:00) as people say them
    about opening hours."""
    return "midnight" if t == _END_OF_DAY else spoken_time(t, noon="noon")


@dataclass(frozen=True)
class OpeningHours:
    """Opening hours for each weekday (Monday first), in the clinic's local time."""

    days: tuple[tuple[Span, ...], ...] = ((),) * 7
    kept: bool = False  # False: no hours set, the clinic is treated as always open

    @classmethod
    def parse(cls, text: str) -> OpeningHours:
        """Read the one-line form (see the module's docstring); raises HoursError."""
        if not text.strip():
            return cls()
        days: list[tuple[Span, ...]] = [()] * 7
        for entry in re.split(r"[;\n]", text):
            entry = entry.strip()
            if not entry:
                continue
            match = re.match(r"^([A-Za-z,\s\-–—]+?)\s+(closed|\d.*)$", entry, re.IGNORECASE)
            if not match:
                raise HoursError(
                    f"{entry!r} should be days then hours, like 'mon-fri 08:30-18:00' "
                    "or 'sun closed'"
                )
            spans = _parse_spans(match.group(2), entry)
            for day in _parse_days(match.group(1), entry):
                days[day] = spans
        return cls(tuple(days), kept=True)

    # -- reading ------------------------------------------------------------------------------

    def spans(self, day: date) -> tuple[Span, ...]:
        return self.days[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        if not self.kept:
            return True
        moment = at.time().replace(tzinfo=None)
        return any(opens <= moment < closes for opens, closes in self.spans(at.date()))

    def closes_at(self, at: datetime) -> datetime | None:
        """When the current opening ends; None when closed now or no hours are kept."""
        if not self.kept:
            return None
        moment = at.time().replace(tzinfo=None)
        for opens, closes in self.spans(at.date()):
            if opens <= moment < closes:
                return datetime.combine(at.date(), closes, tzinfo=at.tzinfo)
        return None

    def next_opening(self, at: datetime) -> datetime | None:
        """The next time the clinic opens after `at` (later today, or on a later day within
        a week); None when no day has hours or no hours are kept."""
        if not self.kept:
            return None
        moment = at.time().replace(tzinfo=None)
        for ahead in range(8):
            day = at.date() + timedelta(days=ahead)
            for opens, _ in self.spans(day):
                if ahead or opens > moment:
                    return datetime.combine(day, opens, tzinfo=at.tzinfo)
        return None

    # -- writing ------------------------------------------------------------------------------

    def _groups(self) -> list[tuple[int, int, tuple[Span, ...]]]:
        """Runs of consecutive days with the same hours: (first, last, spans)."""
        groups: list[tuple[int, int, tuple[Span, ...]]] = []
        for day, spans in enumerate(self.days):
            if groups and groups[-1][2] == spans and groups[-1][1] == day - 1:
                groups[-1] = (groups[-1][0], day, spans)
            else:
                groups.append((day, day, spans))
        return groups

    def to_text(self) -> str:
        """The setting's one-line form, shortest first: 'mon-fri 08:30-18:00; sat 09:00-12:00'.
        Closed days are left out (a day not named is closed)."""
        if not self.kept:
            return ""
        out = []
        for first, last, spans in self._groups():
            if not spans:
                continue
            days = DAY_KEYS[first] if first == last else f"{DAY_KEYS[first]}-{DAY_KEYS[last]}"
            out.append(f"{days} " + ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in spans))
        return "; ".join(out) if out else "mon-sun closed"

    def day_text(self, day: int) -> str:
        """One weekday's hours for the screen: '08:30–12:30, 14:00–18:00' or 'Closed'."""
        spans = self.days[day]
        return ", ".join(f"{_clock(a)}–{_clock(b)}" for a, b in spans) if spans else "Closed"

    def spoken_day(self, day: int) -> str:
        """One weekday's hours as said: '8:30am to 12:30pm and 2pm to 6pm'; '' if closed."""
        return " and ".join(f"{_spoken(a)} to {_spoken(b)}" for a, b in self.days[day])

    def spoken(self) -> str:
        """The week, as the assistant says it: 'Monday to Friday, 8:30am to 6pm, and
        Saturday, 9am to noon'. Empty when no hours are kept or no day opens."""
        if not self.kept:
            return ""
        parts = []
        for first, last, spans in self._groups():
            if not spans:
                continue
            if first == last:
                days = DAY_NAMES[first]
            elif last == first + 1:
                days = f"{DAY_NAMES[first]} and {DAY_NAMES[last]}"
            else:
                days = f"{DAY_NAMES[first]} to {DAY_NAMES[last]}"
            parts.append(f"{days}, {self.spoken_day(first)}")
        if not parts:
            return ""
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]

    def when_open_again(self, at: datetime) -> str:
        """'at 8:30am', 'tomorrow at 8:30am' or 'on Monday at 8:30am', from `at`."""
        opening = self.next_opening(at)
        if opening is None:
            return ""
        ahead = (opening.date() - at.date()).days
        clock = _spoken(opening.time().replace(tzinfo=None))
        if ahead == 0:
            return f"at {clock}"
        if ahead == 1:
            return f"tomorrow at {clock}"
        return f"on {DAY_NAMES[opening.weekday()]} at {clock}"

    def until(self, at: datetime) -> str:
        """'until 6pm' while open; empty otherwise."""
        closes = self.closes_at(at)
        return f"until {_spoken(closes.time().replace(tzinfo=None))}" if closes else ""
