"""Dates: the day a caller asks for ("next Thursday", "the 3rd", "a week on Monday")."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from petvisor_desktop.dialog.normalize.times import _MONTHS, _dt_tokens, _Tok

# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "tues": 1,
    "weds": 2,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "fri": 4,
}


def _alternation(words: Sequence[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_WD = rf"(?P<wd>{_alternation(list(_WEEKDAYS))})s?"
_MON = rf"(?P<mon>{_alternation(list(_MONTHS))})"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:\s(?P<year>\d{4}|20\s\d{2}))?"
# After "the 2nd" these say it is not a date: "the first one" (read as "the 1st 1"), "the
# second available slot".
_NOT_A_DAY_AFTER = (
    r"1|one|ones|available|thing|slot|slots|appointment|appointments|time|times|week|weeks|"
    r"opening|openings|free|option|options|choice|visit|vet|person|floor|half|of\s(?:the|this|"
    r"next|my|them)"
)

_EXPLICIT, _WEEKDAY, _RELATIVE, _SPAN = range(4)
# How strongly each kind of mention names a day: a full date, then a day, then a whole week.
_RANK = {_EXPLICIT: 0, _WEEKDAY: 1, _RELATIVE: 1, _SPAN: 2}


@dataclass(frozen=True)
class DateAsk:
    """A date the caller asked for.

    `day` is the date (for "next week" the Monday it starts); `weekend` is True when it falls on
    a Saturday or Sunday, when the clinic is closed; `phrase` holds the caller's words that
    named it, lowercased, so the dialog can check what it heard.
    """

    day: date | None
    weekend: bool = False
    phrase: str = ""


@dataclass(frozen=True)
class _Mention:
    category: int
    kind: str
    first: int  # token range [first, last)
    last: int
    day: date
    weekday: int = -1


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _roll_forward(today: date, month: int, day: int) -> date | None:
    """This date in the current year, or the next year it is not in the past."""
    for year in range(today.year, today.year + 5):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _this_or_next_month(today: date, day: int) -> date | None:
    """For "the 3rd": this month if it is not past, else the next month with that day."""
    for ahead in range(13):
        index = today.month - 1 + ahead
        try:
            candidate = date(today.year + index // 12, index % 12 + 1, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _with_year(year: str | None, month: int, day: int, today: date) -> date | None:
    if year is None:
        return _roll_forward(today, month, day)
    digits = year.replace(" ", "")
    full = int(digits) + (2000 if len(digits) == 2 else 0)
    try:
        return date(full, month, day)
    except ValueError:
        return None


def _upcoming(today: date, weekday: int) -> date:
    """The next such weekday strictly after today."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _weekend_start(today: date) -> date:
    return today if today.weekday() >= 5 else _upcoming(today, 5)


def _resolve(kind: str, match: re.Match[str], today: date) -> date | None:
    """The date a matched pattern names, or None if it names no real date."""
    groups = match.groupdict()
    weekday = _WEEKDAYS.get(groups.get("wd") or "", -1)
    if kind in ("iso", "dm"):
        return _with_year(groups["y"], int(groups["m"]), int(groups["d"]), today)
    if kind == "day_month":
        return _with_year(groups.get("year"), _MONTHS[groups["mon"]], int(groups["day"]), today)
    if kind == "ordinal":
        return _this_or_next_month(today, int(groups["day"]))
    if kind == "day_after_tomorrow":
        return today + timedelta(days=2)
    if kind == "tomorrow":
        return today + timedelta(days=1)
    if kind == "today":
        return today
    if kind == "week_today":
        return today + timedelta(days=7)
    if kind == "weekday_week":
        return _upcoming(today, weekday) + timedelta(days=7)
    if kind == "next_weekday":
        return _next_monday(today) + timedelta(days=weekday)
    if kind == "weekday":
        return _upcoming(today, weekday)
    if kind == "week_after_next":
        return _next_monday(today) + timedelta(days=7)
    if kind == "next_week":
        return _next_monday(today)
    if kind == "next_weekend":
        return _next_monday(today) + timedelta(days=5)
    if kind == "weekend":
        return _weekend_start(today)
    if kind == "in":
        count = 1 if groups["n"] in ("a", "an") else int(groups["n"])
        unit = groups["unit"]
        days = 14 if unit == "fortnight" else 7 if unit.startswith("week") else 1
        return today + timedelta(days=count * days)
    raise ValueError(kind)


# In priority order: a later pattern never takes words an earlier one matched.
_DATE_PATTERNS: list[tuple[int, str, re.Pattern[str]]] = [
    (_EXPLICIT, "iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")),
    (_EXPLICIT, "dm", re.compile(r"\b(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{2,4}))?\b")),
    (_EXPLICIT, "day_month", re.compile(rf"\b(?:the\s)?{_DAY}\s(?:of\s)?{_MON}{_YEAR}\b")),
    (_EXPLICIT, "day_month", re.compile(rf"\b{_MON}\s(?:the\s)?{_DAY}{_YEAR}\b")),
    (
        _EXPLICIT,
        "ordinal",
        re.compile(
            rf"\b(?:on\s(?:the\s)?|the\s)(?P<day>\d{{1,2}})(?:st|nd|rd|th)\b"
            rf"(?!\s(?:{_NOT_A_DAY_AFTER})\b)"
        ),
    ),
    (_RELATIVE, "day_after_tomorrow", re.compile(r"\b(?:the\s)?day\safter\stomorrow\b")),
    (_RELATIVE, "tomorrow", re.compile(r"\btomorrow\b")),
    (_RELATIVE, "week_today", re.compile(r"\ba\sweek\s(?:today|from\stoday)\b")),
    (
        _RELATIVE,
        "today",
        re.compile(r"\b(?:today|tonight|this\s(?:morning|afternoon|evening)|later\stoday)\b"),
    ),
    (_WEEKDAY, "next_weekday", re.compile(rf"\b{_WD}\s(?:of\s)?next\sweek\b")),
    (_WEEKDAY, "next_weekday", re.compile(rf"\bnext\sweek\s(?:on\s)?{_WD}\b")),
    (_WEEKDAY, "next_weekday", re.compile(rf"\bnext\s{_WD}\b")),
    (_WEEKDAY, "weekday_week", re.compile(rf"\b(?:a\s)?week\son\s{_WD}\b")),
    (_WEEKDAY, "weekday_week", re.compile(rf"\b{_WD}\sweek\b")),
    (_WEEKDAY, "weekday", re.compile(rf"\b(?:this\s)?{_WD}(?:\sthis\sweek)?\b")),
    (_SPAN, "week_after_next", re.compile(r"\b(?:the\s)?week\safter\snext\b")),
    (_SPAN, "next_week", re.compile(r"\bnext\sweek\b")),
    (_SPAN, "next_weekend", re.compile(r"\bnext\sweekend\b")),
    (_SPAN, "weekend", re.compile(r"\b(?:this\s|the\s)?weekend\b")),
    (
        _SPAN,
        "in",
        re.compile(r"\bin\s(?P<n>\d+|a|an)\s(?P<unit>days?|weeks?|fortnight)(?:\stime)?\b"),
    ),
]

_DATE_NEGATORS = frozenset({"not", "cant", "cannot", "except", "isnt", "wont", "busy"})
_DATE_REFUSED_AFTER = re.compile(
    r"^(?:is\s|are\s|s\s)?(?:no\sgood|not\s(?:good|great|possible|ideal|free|available)|"
    r"isnt\s\w+|doesnt|dont\swork|wont|bad|out\b|difficult|impossible|i\scant|i\scannot|"
    r"im\sbusy|im\snot|busy)"
)


def _phrase(text: str, toks: Sequence[_Tok], first: int, last: int) -> str:
    words = text[toks[first].start : toks[last - 1].end].lower().replace("’", "'")
    return " ".join(words.split()).strip(" ,.;:!?")


def parse_date(text: str, today: date) -> DateAsk | None:
    """The day the caller asked for, relative to `today`; None when no date is mentioned.

    - "today", "tomorrow", "the day after tomorrow"; "this afternoon" means today.
    - "thursday" and "this thursday": the next Thursday strictly after today. Only "today"
      together with today's weekday name means today.
    - "next thursday" / "thursday next week": the Thursday of next calendar week (weeks start
      on Monday), so on a Monday it is ten days away, not three. "thursday week" and "a week
      on thursday" are a week after the coming Thursday.
    - "next week": the Monday of next week with phrase "next week"; "the weekend": the coming
      Saturday.
    - "the 3rd of December", "December 3rd", "3 December", "3/12" (day/month), "the third",
      "twenty first". A date without a year that is already past means next year; "the 3rd"
      alone is this month, or next month once it has passed.
    - A mention the caller rules out ("not Thursday", "Friday is no good") is skipped. When
      several remain, a full date beats a day ("thursday", "tomorrow"), which beats a whole
      week; among equals the last one said wins (callers correct themselves forwards).
    Saturdays and Sundays come back with `weekend=True`: the clinic is closed then.
    """
    toks = _dt_tokens(text)
    if not toks:
        return None
    joined = ""
    starts: list[int] = []
    for tok in toks:
        if joined:
            joined += " "
        starts.append(len(joined))
        joined += tok.text
    taken: list[tuple[int, int]] = []
    mentions: list[_Mention] = []
    for category, kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(joined):
            first = bisect.bisect_right(starts, match.start()) - 1
            last = bisect.bisect_left(starts, match.end())
            if any(first < b and a < last for a, b in taken):
                continue
            day = _resolve(kind, match, today)
            if day is None:
                continue
            taken.append((first, last))
            weekday = _WEEKDAYS.get(match.groupdict().get("wd") or "", -1)
            mentions.append(_Mention(category, kind, first, last, day, weekday))

    words = [t.text for t in toks]

    mentions.sort(key=lambda m: m.first)
    refused: list[bool] = []
    for k, m in enumerate(mentions):
        # "not" before a mention, but not across another one: "not thursday, friday".
        prev_last = mentions[k - 1].last if k else 0
        between = set(words[max(prev_last, m.first - 2) : m.first])
        joiners = set(words[prev_last : m.first])
        listed = k > 0 and refused[-1] and bool(joiners) and joiners <= {"or", "and", "nor"}
        after = " ".join(words[m.last : m.last + 4])
        refused.append(
            bool(_DATE_NEGATORS & between) or listed or bool(_DATE_REFUSED_AFTER.match(after))
        )
    live = [m for m, no in zip(mentions, refused, strict=True) if not no]
    if not live:
        return None
    chosen = min(live, key=lambda m: (_RANK[m.category], -m.first))
    day, first, last = chosen.day, chosen.first, chosen.last
    if chosen.category == _EXPLICIT:
        # "thursday the 26th": keep the weekday in the phrase.
        before = [m for m in live if m.category == _WEEKDAY and m.last == first]
        if before:
            first = before[0].first
    elif chosen.kind == "weekday":
        said_today = [m for m in live if m.kind == "today"]
        next_week = [m for m in live if m.kind == "next_week"]
        if said_today and chosen.weekday == today.weekday():
            day = today
            other = said_today[-1]
            if abs(other.first - chosen.first) <= 3:
                first, last = min(first, other.first), max(last, other.last)
        elif next_week:
            day = _next_monday(today) + timedelta(days=chosen.weekday)
    return DateAsk(day=day, weekend=day.weekday() >= 5, phrase=_phrase(text, toks, first, last))
