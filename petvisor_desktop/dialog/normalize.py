"""Turn what a caller said into phone numbers, emails, dates, times and yes/no.

Input is either speech-to-text (lowercase, no punctuation, numbers as words: "oh seven seven
zero zero") or typed text. Every parser accepts both and returns None when the thing it looks
for is not there, so the dialog asks again instead of guessing. Pure functions: no model, no
network, no clock ("today" is always passed in).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

__all__ = [
    "DateAsk",
    "format_email_for_speech",
    "format_phone_for_speech",
    "is_no",
    "is_yes",
    "parse_date",
    "parse_email",
    "parse_part_of_day",
    "parse_phone",
    "parse_time",
    "spoken_date",
    "spoken_time",
    "words_to_digits",
]

PartOfDay = Literal["morning", "afternoon"]

# --------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------

_UNITS = {
    "zero": 0,
    "nought": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_OH = frozenset({"oh", "o"})
_REPEAT = {"double": 2, "triple": 3}
_SCALES = {"hundred": 100, "thousand": 1000}
# Words speech recognisers write instead of a digit. Only trusted inside a long digit run.
_HOMOPHONES = {"to": "2", "too": "2", "for": "4", "fore": "4", "won": "1", "ate": "8"}
_HOMOPHONE_MIN_DIGITS = 6
_GLUE = "-"

_TOKEN_RE = re.compile(r"\d+|[^\W\d_]+(?:['’][^\W\d_]+)*|[^\w\s]")


@dataclass(frozen=True)
class _Piece:
    """One number read from consecutive tokens `first..last` (inclusive)."""

    first: int
    last: int
    digits: str
    typed: bool = False
    repeated: bool = False
    word: str = ""


def _neighbour(words: Sequence[str], i: int, step: int) -> int | None:
    """Index of the next token in direction `step`, skipping hyphens ("forty-five")."""
    j = i + step
    while 0 <= j < len(words) and words[j] == _GLUE:
        j += step
    return j if 0 <= j < len(words) else None


def _is_number_word(word: str) -> bool:
    return (
        word.isdigit()
        or word in _UNITS
        or word in _TEENS
        or word in _TENS
        or word in _REPEAT
        or word in _SCALES
    )


def _numeric_ohs(words: Sequence[str]) -> set[int]:
    """Indices of "oh"/"o" that mean zero: those touching another number word."""
    found: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i, word in enumerate(words):
            if word not in _OH or i in found:
                continue
            for j in (_neighbour(words, i, -1), _neighbour(words, i, 1)):
                if j is not None and (_is_number_word(words[j]) or j in found):
                    found.add(i)
                    changed = True
                    break
    return found


def _read_small(words: Sequence[str], i: int | None) -> tuple[int, int] | None:
    """A number below 100 spoken at `i` ("forty five", "twelve", "six"): (value, last index)."""
    if i is None:
        return None
    word = words[i]
    if word in _TENS:
        nxt = _neighbour(words, i, 1)
        if nxt is not None and _UNITS.get(words[nxt], 0) > 0:
            return _TENS[word] + _UNITS[words[nxt]], nxt
        return _TENS[word], i
    if word in _TEENS:
        return _TEENS[word], i
    if word in _UNITS:
        return _UNITS[word], i
    return None


def _read_pieces(words: Sequence[str]) -> list[_Piece]:
    """Every number in a token list, each kept separate ("ten thirty" -> 10, 30)."""
    ohs = _numeric_ohs(words)

    def digit_at(j: int) -> int | None:
        word = words[j]
        if word in _UNITS:
            return _UNITS[word]
        if j in ohs:
            return 0
        if len(word) == 1 and word.isdigit():
            return int(word)
        return None

    pieces: list[_Piece] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = _neighbour(words, i, 1)
        if word in _REPEAT and nxt is not None and (digit := digit_at(nxt)) is not None:
            text = str(digit) * _REPEAT[word]
            pieces.append(_Piece(i, nxt, text, repeated=True, word=f"{word} {words[nxt]}"))
            i = nxt + 1
            continue
        if word.isdigit():
            pieces.append(_Piece(i, i, word, typed=True, word=word))
            i += 1
            continue
        if i in ohs:
            pieces.append(_Piece(i, i, "0", word=word))
            i += 1
            continue
        small = _read_small(words, i)
        if small is None:
            i += 1
            continue
        value, last = small
        scale_at = _neighbour(words, last, 1)
        if value > 0 and scale_at is not None and words[scale_at] in _SCALES:
            scale = _SCALES[words[scale_at]]
            value *= scale
            last = scale_at
            after = _neighbour(words, last, 1)
            if after is not None and words[after] == "and":
                rest = _read_small(words, _neighbour(words, after, 1))
                if rest is not None:
                    value += rest[0]
                    last = rest[1]
            elif scale == 1000 and after is not None and words[after] in {**_TENS, **_TEENS}:
                # "two thousand twenty six": a year said the American way.
                rest = _read_small(words, after)
                if rest is not None:
                    value += rest[0]
                    last = rest[1]
        pieces.append(_Piece(i, last, str(value), word=" ".join(words[i : last + 1])))
        i = last + 1
    return pieces


def _digit_runs(words: Sequence[str]) -> list[list[_Piece]]:
    """Group pieces that follow each other directly into runs (one spoken digit string)."""
    runs: list[list[_Piece]] = []
    for piece in _read_pieces(words):
        if runs and _neighbour(words, runs[-1][-1].last, 1) == piece.first:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    # "oh seven seven for five six": a homophone between two runs of a long number is a digit.
    merged: list[list[_Piece]] = []
    for run in runs:
        if merged:
            gap = _neighbour(words, merged[-1][-1].last, 1)
            if (
                gap is not None
                and words[gap] in _HOMOPHONES
                and _neighbour(words, gap, 1) == run[0].first
                and sum(len(p.digits) for p in merged[-1] + run) >= _HOMOPHONE_MIN_DIGITS
            ):
                homophone = _Piece(gap, gap, _HOMOPHONES[words[gap]], word=words[gap])
                merged[-1] = [*merged[-1], homophone, *run]
                continue
        merged.append(run)
    return merged


def words_to_digits(text: str) -> str:
    """Replace spoken numbers with digits: "oh seven double oh" -> "0700".

    Consecutive spoken digits are joined into one digit string (they are one number being
    read out); a comma or other punctuation starts a new one. Numbers that were typed as
    digits are left exactly as they were. "oh"/"o" only counts as zero next to another number
    word, so "oh, my number is" keeps its "oh".
    """
    tokens = list(_TOKEN_RE.finditer(text))
    words = [t.group().lower().replace("’", "'") for t in tokens]
    out: list[str] = []
    pos = 0
    for run in _digit_runs(words):
        if all(p.typed for p in run):
            continue
        start = tokens[run[0].first].start()
        end = tokens[run[-1].last].end()
        out.append(text[pos:start])
        out.append("".join(p.digits for p in run))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

_PHONE_MIN_DIGITS = 10
_PHONE_MAX_DIGITS = 13
_PHONE_RUN_RE = re.compile(r"(?:\+\s*)?\(?\d(?:[\s().,\-]*\d)*")


def _phone_candidate(chunk: str) -> str | None:
    digits = re.sub(r"\D", "", chunk)
    if not _PHONE_MIN_DIGITS <= len(digits) <= _PHONE_MAX_DIGITS:
        return None
    return ("+" if chunk.lstrip().startswith("+") else "") + digits


def _looks_national(candidate: str) -> bool:
    return candidate.startswith(("0", "+"))


def _phone_from_run(run: str) -> str | None:
    """Best phone number inside one stretch of digits and separators."""
    whole = _phone_candidate(run)
    if whole is not None and _looks_national(whole):
        return whole
    # A pause (comma, full stop) may separate the number from an unrelated figure before or
    # after it ("at 2, 07700 900456"): try every stretch of whole groups, longest first.
    groups = re.split(r"[.,]", run)
    best: str | None = None
    for i in range(len(groups)):
        for j in range(i + 1, len(groups) + 1):
            candidate = _phone_candidate(",".join(groups[i:j]))
            if candidate is None or not _looks_national(candidate):
                continue
            if best is None or len(candidate) > len(best):
                best = candidate
    return best or whole


def parse_phone(text: str) -> str | None:
    """A phone number from spoken or typed text, as digits with an optional leading "+".

    "Oh seven seven zero zero, nine double oh, four five six" -> "07700900456". Only 10 to 13
    digits count as a phone number; anything else is None. "+44 (0)20 ..." drops the "(0)".
    """
    converted = words_to_digits(text)
    converted = re.sub(r"(?i)\bplus\s*(?=\d)", "+", converted)
    converted = re.sub(r"\+\s*44\s*\(\s*0\s*\)", "+44", converted)
    for match in _PHONE_RUN_RE.finditer(converted):
        phone = _phone_from_run(match.group())
        if phone is not None:
            if phone.startswith("+440"):
                phone = "+44" + phone[4:]
            return phone
    return None


def _group_sizes(count: int) -> list[int]:
    """Sensible read-out groups for a number without a known layout: threes, a four at the end."""
    if count <= 4:
        return [count]
    threes, rest = divmod(count, 3)
    if rest == 0:
        return [3] * threes
    if rest == 1:
        return [3] * (threes - 1) + [4]
    return [4] + [3] * (threes - 2) + [4]


def _uk_national_sizes(digits: str) -> list[int]:
    """Group sizes for a UK number written with its leading 0."""
    if len(digits) == 11 and digits.startswith("02"):
        return [3, 4, 4]  # 020 7946 0018: London and the other 02x areas
    if len(digits) == 11:
        return [5, 3, 3]  # 07700 900 456, 01632 960 123
    if len(digits) == 10 and digits.startswith("01"):
        return [5, 5]
    return _group_sizes(len(digits))


def _spell_groups(digits: str, sizes: Sequence[int]) -> list[str]:
    groups: list[str] = []
    pos = 0
    for size in sizes:
        groups.append(" ".join(digits[pos : pos + size]))
        pos += size
    return groups


def format_phone_for_speech(phone: str) -> str:
    """Read-back form: digits apart, groups split by commas ("0 7 7 0 0, 9 0 0, 4 5 6")."""
    digits = re.sub(r"\D", "", phone)
    if not digits:
        return phone
    if phone.strip().startswith("+"):
        if digits.startswith("44") and len(digits) > 2:
            national = "0" + digits[2:]
            sizes = _uk_national_sizes(national)
            sizes = [sizes[0] - 1, *sizes[1:]]  # the same groups, without the 0
            groups = _spell_groups(digits[2:], [s for s in sizes if s > 0])
            return ", ".join(["plus 4 4", *groups])
        return "plus " + ", ".join(_spell_groups(digits, _group_sizes(len(digits))))
    sizes = _uk_national_sizes(digits) if digits.startswith("0") else _group_sizes(len(digits))
    return ", ".join(_spell_groups(digits, sizes))
