"""Times and the part of the day ("half past two", "in the morning"), and the words for
dates and times that dates.py reads too."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from typing import Literal

from petvisor_desktop.dialog.normalize.numbers import _GLUE, _TEENS, _TENS, _UNITS, _read_pieces
from petvisor_desktop.spoken import (
    HESITATIONS,
    ordinal_suffix,
    ordinal_words,
)

PartOfDay = Literal["morning", "afternoon"]

# --------------------------------------------------------------------------------------------
# Words for dates and times
# --------------------------------------------------------------------------------------------

# Ordinal word -> day of the month (up to "thirtieth"; "twenty first" is read as two words).
_ORDINALS = {ordinal_words(day): day for day in (*range(1, 21), 30)}

_DT_TOKEN_RE = re.compile(
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    r"|(?P<dm>\d{1,2}/\d{1,2}(?:/\d{2,4})?)"
    r"|(?P<hm>\d{1,2}[:.]\d{2})(?!\d)"
    r"|(?P<ampm>[ap]\.\s?m\b\.?)"
    r"|(?P<num>\d+(?:st|nd|rd|th)?)"
    r"|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)"
    r"|(?P<glue>-)",
    re.IGNORECASE,
)


_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}


@dataclass(frozen=True)
class _Tok:
    """A normalised word with the span of the original text it came from."""

    text: str
    start: int
    end: int
    word: str = ""  # the spoken words behind a number ("one", "double oh")
    repeated: bool = False


def _dt_tokens(text: str) -> list[_Tok]:
    """Lowercase tokens with ordinals as "3rd", numbers as digits, "a.m." as "am"."""
    raw: list[_Tok] = []
    for match in _DT_TOKEN_RE.finditer(text):
        value = match.group().lower().replace("’", "").replace("'", "")
        if match.lastgroup == "ampm":
            value = value[0] + "m"
        if value == "clock" and raw and raw[-1].text == "o":
            raw[-1] = _Tok("oclock", raw[-1].start, match.end())
            continue
        raw.append(_Tok(value, match.start(), match.end()))
    # Ordinal words become "21st" first, so "twenty first" is not read as the number 20.
    merged: list[_Tok] = []
    i = 0
    while i < len(raw):
        tok = raw[i]
        nxt = i + 1
        while nxt < len(raw) and raw[nxt].text == _GLUE:
            nxt += 1
        if tok.text in ("twenty", "thirty") and nxt < len(raw):
            unit = _ORDINALS.get(raw[nxt].text, 0)
            if 1 <= unit <= 9:
                day = _TENS[tok.text] + unit
                merged.append(_Tok(f"{day}{ordinal_suffix(day)}", tok.start, raw[nxt].end))
                i = nxt + 1
                continue
        if tok.text in _ORDINALS:
            day = _ORDINALS[tok.text]
            merged.append(_Tok(f"{day}{ordinal_suffix(day)}", tok.start, tok.end, tok.text))
        else:
            merged.append(tok)
        i += 1
    words = [t.text for t in merged]
    pieces = {p.first: p for p in _read_pieces(words)}
    out: list[_Tok] = []
    i = 0
    while i < len(merged):
        piece = pieces.get(i)
        if piece is not None and not piece.typed:
            out.append(
                _Tok(
                    piece.digits,
                    merged[i].start,
                    merged[piece.last].end,
                    piece.word,
                    piece.repeated,
                )
            )
            i = piece.last + 1
            continue
        if merged[i].text != _GLUE:
            out.append(merged[i])
        i += 1
    return out


def _simple_words(text: str) -> list[str]:
    """Lowercase words without apostrophes ("that's" -> "thats"), "a.m." as "am"."""
    lowered = text.lower().replace("’", "").replace("'", "")
    lowered = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", lowered)
    return re.findall(r"\d+|[^\W\d_]+", lowered)


# --------------------------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------------------------

_TIME_PREPS = frozenset(
    {"at", "around", "about", "after", "before", "by", "say", "maybe", "until", "till", "like"}
)
_TIME_FILLERS = (
    frozenset(
        {
            "please",
            "thanks",
            "thank",
            "you",
            "ok",
            "okay",
            "then",
            "ish",
            "maybe",
            "yes",
            "yeah",
            "lets",
            "say",
            "go",
            "with",
            "at",
            "around",
            "about",
            "how",
            "what",
            "can",
            "could",
            "i",
            "do",
            "would",
            "be",
            "is",
            "that",
            "fine",
            "great",
            "good",
            "perfect",
        }
    )
    | HESITATIONS
)
# After a bare number these mean it counts something else ("about two weeks").
_NOT_TIME_AFTER = frozenset(
    {
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "hour",
        "hours",
        "minute",
        "minutes",
        "mins",
        "times",
        "of",
        "cats",
        "dogs",
        "pets",
        "animals",
        "kittens",
        "puppies",
        "more",
    }
)
_DETERMINERS = frozenset({"the", "that", "this", "which", "first", "last", "other", "next"})


def _clinic_hour(hour: int) -> int:
    """An hour said without am/pm, read in clinic hours: 1-6 afternoon, 7-11 morning."""
    if 1 <= hour <= 6:
        return hour + 12
    return hour


def _make_time(hour: int, minute: int, meridiem: str | None) -> time | None:
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif meridiem is None and hour <= 12:
        hour = _clinic_hour(hour)
    if 0 <= hour <= 23 and 0 <= minute <= 59:
        return time(hour, minute)
    return None


def _meridiem_after(words: Sequence[str], i: int) -> str | None:
    """The am/pm said right after token `i`, also as "in the morning/afternoon"."""
    following = list(words[i + 1 : i + 4])
    if following[:1] in (["am"], ["pm"]):
        return following[0]
    if following[:3] == ["in", "the", "morning"]:
        return "am"
    if following[:3] in (["in", "the", "afternoon"], ["in", "the", "evening"]):
        return "pm"
    if following[:2] == ["at", "night"]:
        return "pm"
    return None


def _hour(word: str) -> int | None:
    """The hour a token stands for, if it is a plain number of up to two digits."""
    if word.isdigit() and len(word) <= 2:
        return int(word)
    return None


def _time_candidates(toks: Sequence[_Tok]) -> list[tuple[int, time]]:
    """Every time found, with a strength: 3 explicit, 2 "ten thirty", 1 a bare hour."""
    words = [t.text for t in toks]
    found: list[tuple[int, time]] = []

    def add(strength: int, found_time: time | None) -> None:
        if found_time is not None:
            found.append((strength, found_time))

    for i, word in enumerate(words):
        prev = words[i - 1] if i > 0 else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        after = words[i + 2] if i + 2 < len(words) else ""
        if word in ("noon", "midday"):
            add(3, time(12, 0))
        elif re.fullmatch(r"\d{1,2}[:.]\d{2}", word):
            clock_hour, clock_minute = (int(x) for x in re.split(r"[:.]", word))
            add(3, _make_time(clock_hour, clock_minute, _meridiem_after(words, i)))
        elif nxt in ("past", "to") and (target := _hour(after)) is not None and 1 <= target <= 12:
            if word == "half":
                minutes = 30
            elif word == "quarter":
                minutes = 15
            elif word in ("5", "10", "20", "25"):
                minutes = int(word)
            else:
                continue
            meridiem = _meridiem_after(words, i + 2)
            if nxt == "past":
                add(3, _make_time(target, minutes, meridiem))
            else:
                whole = _make_time(target, 0, meridiem)
                if whole is not None and whole.hour > 0:
                    add(3, time(whole.hour - 1, 60 - minutes))
        elif word == "half" and (target := _hour(nxt)) is not None and 1 <= target <= 12:
            # "half two" is British for half past two.
            add(2, _make_time(target, 30, _meridiem_after(words, i + 1)))
        elif (hour := _hour(word)) is not None and prev != "half" and not toks[i].repeated:
            if (meridiem := _meridiem_after(words, i)) is not None and 1 <= hour <= 12:
                add(3, _make_time(hour, 0, meridiem))  # "2pm", "ten in the morning"
            elif nxt == "oclock":
                add(3, _make_time(hour, 0, _meridiem_after(words, i + 1)))
            elif _hour(nxt) is not None and not toks[i + 1].repeated and _hour(prev) is None:
                minute_at = i + 1
                minute = int(nxt)
                if nxt == "0" and (single := _hour(after)) is not None and single <= 9:
                    minute_at, minute = i + 2, single  # "two oh five"
                elif len(nxt) != 2 or minute < 10:
                    continue
                if minute_at + 1 < len(words) and _hour(words[minute_at + 1]) is not None:
                    continue  # part of a longer run of numbers, e.g. a phone number
                if 1 <= hour <= 23:
                    add(2, _make_time(hour, minute, _meridiem_after(words, minute_at)))
            elif 1 <= hour <= 12 and _hour(prev) is None and nxt not in _NOT_TIME_AFTER:
                others = [w for j, w in enumerate(words) if j != i]
                alone = all(w in _TIME_FILLERS for w in others)
                if (
                    prev in _TIME_PREPS
                    or nxt == "ish"
                    or (alone and toks[i].word != "one" and prev not in _DETERMINERS)
                ):
                    add(1, _make_time(hour, 0, _meridiem_after(words, i)))
    return found


def parse_time(text: str) -> time | None:
    """A clock time: "2pm", "half past two", "quarter to three", "14:30", "ten thirty".

    An hour without am/pm is read in clinic hours: 1-6 are afternoon, 7-11 morning, 12 is
    midday. A bare number only counts when it is clearly a time ("at two", "two please"), so
    "I have two dogs" is None.
    """
    found = _time_candidates(_dt_tokens(text))
    if not found:
        return None
    best = max(strength for strength, _ in found)
    return next(t for strength, t in found if strength == best)


# --------------------------------------------------------------------------------------------
# Morning or afternoon
# --------------------------------------------------------------------------------------------

_PART_NEGATORS = frozenset(
    {"not", "cant", "cannot", "dont", "busy", "except", "isnt", "wont", "work", "working"}
)
_NOON_WORDS = frozenset({"lunch", "lunchtime", "noon", "midday", "12", "twelve"})
_EARLY_NOT_MORNING = frozenset({"afternoon", "evening", "next", "in", "week", "on", "part", "this"})


def _number_value(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _UNITS.get(word, _TEENS.get(word))


def _part_cue(word: str, prev: str, nxt: str) -> PartOfDay | None:
    """The part of the day one word points to, given its neighbours."""
    value = _number_value(nxt)
    if word == "before":
        if nxt in _NOON_WORDS or (value is not None and 9 <= value <= 11):
            return "morning"
        return None
    if word == "after":
        if nxt in _NOON_WORDS or (value is not None and 1 <= value <= 3):
            return "afternoon"
        return None
    if word in ("morning", "mornings"):
        return "morning" if prev != "good" else None
    if word in ("afternoon", "afternoons", "evening", "evenings"):
        return "afternoon" if prev != "good" else None
    if word in ("lunchtime", "noon", "midday", "pm"):
        return "afternoon"
    if word == "lunch" and prev in ("at", "around", "over"):
        return "afternoon"
    if word == "am":
        return "morning" if "i" not in (prev, nxt) else None  # "I am free"
    if word == "early":
        return "morning" if nxt not in _EARLY_NOT_MORNING and nxt not in _MONTHS else None
    if word == "first" and nxt == "thing":
        return "morning"
    return None


def parse_part_of_day(text: str) -> PartOfDay | None:
    """Morning or afternoon from what the caller said; None if unclear or not said.

    The clinic opens 09:00-16:00; noon onwards is afternoon. "evening" and "after lunch" mean
    afternoon; "first thing", "early" and "am" mean morning. Greetings ("good morning") and
    negated mentions ("not in the morning") are ignored; both parts of the day at once is None.
    A clock time ("half past two") decides when nothing else does.
    """
    words = _simple_words(text)
    morning: list[int] = []
    afternoon: list[int] = []
    used: set[int] = set()
    for i, word in enumerate(words):
        prev = words[i - 1] if i > 0 else ""
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if i in used:
            continue
        cue = _part_cue(word, prev, nxt)
        if cue is not None:
            (morning if cue == "morning" else afternoon).append(i)
            if word in ("before", "after"):
                used.add(i + 1)

    def live(hits: list[int]) -> bool:
        return any(not (_PART_NEGATORS & set(words[max(0, i - 3) : i])) for i in hits)

    is_morning, is_afternoon = live(morning), live(afternoon)
    if is_morning and not is_afternoon:
        return "morning"
    if is_afternoon and not is_morning:
        return "afternoon"
    if is_morning or is_afternoon:
        return None
    # Only refusals: with two parts of the day, "not mornings" means the afternoon.
    if morning and not afternoon:
        return "afternoon"
    if afternoon and not morning:
        return "morning"
    if morning or afternoon:
        return None
    spoken = parse_time(text)
    if spoken is None:
        return None
    return "morning" if spoken.hour < 12 else "afternoon"
