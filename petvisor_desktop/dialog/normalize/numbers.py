"""Number words: the digits in what a caller said ("oh seven seven double oh" -> "07700")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from petvisor_desktop.spoken import (
    ONES,
    TENS,
)

# --------------------------------------------------------------------------------------------
# Number words
# --------------------------------------------------------------------------------------------

# Word -> value, for reading numbers; the words are the shared ones (`spoken`).
_UNITS = {**{word: value for value, word in enumerate(ONES[:10])}, "nought": 0}
_TEENS = {word: value for value, word in enumerate(ONES) if value >= 10}
_TENS = {word: 10 * tens for tens, word in enumerate(TENS) if word}
_OH = frozenset({"oh", "o"})
_REPEAT = {"double": 2, "triple": 3, "treble": 3}
_SCALES = {"hundred": 100, "thousand": 1000}
# The words a phone number is said in, one digit at a time ("oh seven seven double oh").
DIGIT_WORDS = frozenset({*_UNITS, *_OH, *_REPEAT})
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
    """Indices of "oh"/"o" that mean zero: those touching another number word; and "all",
    which recognisers write for an "oh" said before digits ("all seven seven oh"), where two
    digits said one by one follow it ("all three of them" keeps its "all")."""
    found = {i for i, word in enumerate(words) if word == "all" and _digits_follow(words, i)}
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


def _digits_follow(words: Sequence[str], i: int, count: int = 2) -> bool:
    for _ in range(count):
        j = _neighbour(words, i, 1)
        if j is None or not (words[j] in _UNITS or words[j] in _OH):
            return False
        i = j
    return True


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
            last = nxt
            scale_at = _neighbour(words, nxt, 1)
            if digit and scale_at is not None and words[scale_at] in _SCALES:
                # "double seven hundred": 7700, a group of a phone number said as a number.
                text += "0" * (len(str(_SCALES[words[scale_at]])) - 1)
                last = scale_at
            spoken = " ".join(words[i : last + 1])
            pieces.append(_Piece(i, last, text, repeated=True, word=spoken))
            i = last + 1
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
