"""Turn what a caller said into phone numbers, emails, dates, times and yes/no.

Input is either speech-to-text (lowercase, no punctuation, numbers as words: "oh seven seven
zero zero") or typed text. Every parser accepts both and returns None when the thing it looks
for is not there, so the dialog asks again instead of guessing. Pure functions: no model, no
network, no clock ("today" is always passed in).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

from petvisor_desktop.spoken import (
    ONES,
    TENS,
    format_email_for_speech,
    format_phone_for_speech,
    ordinal_suffix,
    ordinal_words,
    spoken_date,
    spoken_time,
)

__all__ = [
    "DEFAULT_PHONE_COUNTRY",
    "PHONE_PLANS",
    "DateAsk",
    "PhoneCheck",
    "PhonePlan",
    "check_phone",
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

# Word -> value, for reading numbers; the words are the shared ones (`spoken`).
_UNITS = {**{word: value for value, word in enumerate(ONES[:10])}, "nought": 0}
_TEENS = {word: value for value, word in enumerate(ONES) if value >= 10}
_TENS = {word: 10 * tens for tens, word in enumerate(TENS) if word}
_OH = frozenset({"oh", "o"})
_REPEAT = {"double": 2, "triple": 3, "treble": 3}
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


# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

_PHONE_RUN_RE = re.compile(r"(?:\+\s*)?\(?\d(?:[\s().,\-]*\d)*")
# Fewer digits than this is some other figure (a time, a date, an age), not a try at a number.
_PHONE_ATTEMPT_DIGITS = 7
_PHONE_MAX_RUN_DIGITS = 20
_ISO_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


@dataclass(frozen=True)
class PhonePlan:
    """How one country's phone numbers look, as the clinic stores them: national form, digits
    only ("07700900456").

    `lengths` maps the digit after the trunk prefix ("7" in "07...") to the national lengths
    allowed (none: no number starts so); any other digit allows `usual`, the length said in an
    explanation.
    """

    country: str  # ISO 3166 code
    name: str  # as spoken: "UK"
    calling_code: str  # "44"
    trunk: str  # "0"
    usual: int
    lengths: Mapping[str, tuple[int, ...]]
    mobile_prefix: str = ""

    def allowed(self, national: str) -> tuple[int, ...]:
        after = national[len(self.trunk) : len(self.trunk) + 1]
        return self.lengths.get(after, (self.usual,))


# Ofcom's numbering plan: 02, 03, 07 and 09 numbers have 11 digits with the 0; some 01 area
# codes and 0800 freephone numbers have 10. 04 and 06 are not in use.
_UK = PhonePlan(
    country="GB",
    name="UK",
    calling_code="44",
    trunk="0",
    usual=11,
    lengths={"1": (10, 11), "8": (10, 11), "4": (), "6": (), "0": ()},
    mobile_prefix="07",
)
# No clinic setting names a country yet (settings.ClinicSettings has none), so the UK is the
# default everywhere; a clinic elsewhere needs its plan here and the country passed in.
DEFAULT_PHONE_COUNTRY = "GB"
PHONE_PLANS: Mapping[str, PhonePlan] = {"GB": _UK}


@dataclass(frozen=True)
class PhoneCheck:
    """A phone number heard in the caller's words, plausible or not.

    `number` is the national form when it can be a number of the clinic's country, else None
    and `problem` says, in a sentence the caller can act on, what is wrong with what was heard
    ("That sounded like 13 digits; UK numbers have 11.").
    """

    heard: str  # the digits as heard, with "+" when a country code was said
    number: str | None = None
    problem: str | None = None


def _plan(country: str) -> PhonePlan:
    try:
        return PHONE_PLANS[country.upper()]
    except KeyError:
        raise ValueError(f"no phone numbering plan for country {country!r}") from None


def _national(heard: str, plan: PhonePlan) -> tuple[str | None, bool]:
    """The national form of a heard number, and whether it came with a country code.

    "+44 7700..." / "0044 7700..." / "+44 (0)7700..." -> "07700..."; another country's code
    gives None. 12 digits starting "44" without the plus are the same as "+44" when nothing
    else can be meant (no national number starts with the country code).
    """
    digits = heard.lstrip("+")
    international = plan.trunk * 2  # "00", the prefix for calling abroad
    if heard.startswith("+"):
        rest = digits
    elif digits.startswith(international):
        rest = digits[len(international) :]
    elif (
        digits.startswith(plan.calling_code)
        and not digits.startswith(plan.trunk)
        and len(digits) == len(plan.calling_code) + plan.usual - len(plan.trunk)
    ):
        rest = digits
    else:
        return digits, False
    if not rest.startswith(plan.calling_code):
        return None, True
    rest = rest[len(plan.calling_code) :]
    if rest.startswith(plan.trunk):
        rest = rest[len(plan.trunk) :]  # "+44 (0)20 ...": the 0 is said but not dialled
    return plan.trunk + rest, True


def _phone_problem(national: str | None, coded: bool, plan: PhonePlan) -> str | None:
    """What is wrong with a heard number, or None when it can be one of `plan`'s numbers."""
    if national is None:
        return (
            f"That sounded like a number from outside the {plan.name}; I can only take a "
            f"{plan.name} number here."
        )
    if not national.startswith(plan.trunk):
        trunk = plan.trunk
        return f"That number didn't start with {trunk}; {plan.name} numbers start with {trunk}."
    allowed = plan.allowed(national)
    if len(national) in allowed:
        return None
    if not allowed:
        return f"{plan.name} numbers don't start with {national[:2]}."
    too_long = len(national) > max(allowed)
    if too_long:
        allowed = (max(allowed),)  # "UK numbers have 11", not "10 or 11"
    if coded:
        said = len(national) - len(plan.trunk)
        after = " or ".join(str(n - len(plan.trunk)) for n in allowed)
        return (
            f"That sounded like {said} digits after the {plan.calling_code}; "
            f"{plan.name} numbers have {after} after it."
        )
    mobile = not too_long and bool(plan.mobile_prefix) and national.startswith(plan.mobile_prefix)
    whose = f"{plan.name} mobile numbers" if mobile else f"{plan.name} numbers"
    usual = " or ".join(str(n) for n in allowed)
    return f"That sounded like {len(national)} digits; {whose} have {usual}."


def _check_heard(heard: str, plan: PhonePlan) -> PhoneCheck:
    national, coded = _national(heard, plan)
    problem = _phone_problem(national, coded, plan)
    return PhoneCheck(heard, None if problem else national, problem)


def _heard(chunk: str) -> str:
    return ("+" if chunk.lstrip().startswith("+") else "") + re.sub(r"\D", "", chunk)


def _longer(found: PhoneCheck | None, other: PhoneCheck) -> PhoneCheck:
    return other if found is None or len(other.heard) > len(found.heard) else found


def _check_run(run: str, plan: PhonePlan) -> PhoneCheck | None:
    """The phone number in one stretch of digits and separators, plausible or not."""
    heard = _heard(run)
    if not _PHONE_ATTEMPT_DIGITS <= len(heard.lstrip("+")) <= _PHONE_MAX_RUN_DIGITS:
        return None
    whole = _check_heard(heard, plan)
    if whole.number is not None or heard.startswith(("+", plan.trunk)):
        # Said from its start ("0..." or "+44..."): extra or missing digits are the caller's
        # or the recogniser's slip, and asked about, never cut off to fit.
        return whole
    # A figure before the number, after a pause ("after 2, 07700 900456"): the longest stretch
    # of whole groups that is a number.
    groups = re.split(r"[.,]", run)
    best: PhoneCheck | None = None  # the longest stretch that is a number
    started: PhoneCheck | None = None  # else the longest said from a number's start
    for i in range(1, len(groups)):
        for j in range(len(groups), i, -1):
            part = _check_heard(_heard(",".join(groups[i:j])), plan)
            if part.number is not None:
                best = _longer(best, part)
            elif len(part.heard) >= _PHONE_ATTEMPT_DIGITS and part.heard[0] in ("+", plan.trunk):
                started = _longer(started, part)
    return best or started or whole


def check_phone(text: str, country: str = DEFAULT_PHONE_COUNTRY) -> PhoneCheck | None:
    """The phone number in spoken or typed text, checked against the country's numbering.

    None when nothing like a phone number was said (fewer than 7 digits in a row). Spoken
    forms: "oh" and "nought" for 0, "double"/"treble"/"triple", numbers in groups ("oh seven
    seven hundred, nine hundred, four five six"), digits mixed with numerals, "plus four four".
    A country code is turned into the national form ("+44 7700 900456", "0044 7700 900456"
    and "+44 (0)7700 900456" -> "07700900456"); a number that cannot be one of that country's
    (13 digits, no leading 0, another country's code) comes back with `problem` set.
    """
    plan = _plan(country)
    converted = words_to_digits(text)
    converted = re.sub(r"(?i)\bplus\s*(?=\d)", "+", converted)
    first: PhoneCheck | None = None
    for match in _PHONE_RUN_RE.finditer(converted):
        if _ISO_DATE_RE.fullmatch(match.group()):
            continue
        check = _check_run(match.group(), plan)
        if check is not None and check.number is not None:
            return check
        first = first or check
    return first


def parse_phone(text: str, country: str = DEFAULT_PHONE_COUNTRY) -> str | None:
    """A phone number from spoken or typed text in the national form the clinic stores:
    "Oh seven seven zero zero, nine double oh, four five six" -> "07700900456",
    "+44 7700 900456" -> "07700900456". None when there is none or it cannot be a number of
    `country` (see `check_phone`, which says why)."""
    check = check_phone(text, country)
    return check.number if check is not None else None


# --------------------------------------------------------------------------------------------
# Email addresses
# --------------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$"
)
_EMAIL_SYMBOLS = {
    "dot": ".",
    "period": ".",
    "point": ".",
    "underscore": "_",
    "dash": "-",
    "hyphen": "-",
    "plus": "+",
}
_DOT_WORDS = frozenset(w for w, s in _EMAIL_SYMBOLS.items() if s == ".")
# Words before the address itself ("my email is", "you can email me at"): the local part
# starts after the last of these.
_EMAIL_LEAD_INS = frozenset(
    {"is", "be", "its", "email", "e-mail", "emails", "address", "at", "me", "thats"}
)
_EMAIL_FILLERS = frozenset(
    {"yes", "yeah", "sure", "ok", "okay", "so", "um", "uh", "er", "erm", "right", "well", "the"}
)
_EMAIL_PHRASES = [
    (re.compile(r"\bat\s+(?:sign|symbol)\b"), " @ "),
    (re.compile(r"\bfull\s+stop\b"), " dot "),
    (re.compile(r"\bunder\s*score\b"), " underscore "),
    (re.compile(r"\bdouble[\s-]+(?:u|you)\b"), " w "),
    (re.compile(r"\ball\s+(?:one\s+word|lower\s*case|small\s+letters)\b"), " "),
    (re.compile(r"\b(?:capital|upper\s*case|lower\s*case|small)\s+(?=[a-z]\b)"), ""),
    (re.compile(r"@"), " @ "),
]


def _email_part(tokens: Sequence[str]) -> str:
    """Join the spoken words of one side of an address ("j a m e s dot o k" -> "james.ok")."""
    # "b e double l" spells letters; "double oh seven" is digits (left for the number reader).
    words: list[str] = []
    i = 0
    while i < len(tokens):
        word = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        after = tokens[i + 2] if i + 2 < len(tokens) else ""
        before = words[-1] if words else ""
        is_letter = (len(nxt) == 1 and nxt.isalpha()) or nxt == "oh"
        near_digits = _is_number_word(after) or _is_number_word(before)
        if word in _REPEAT and is_letter and not (nxt in _OH and near_digits):
            words.append(nxt[0] * _REPEAT[word])
            i += 2
            continue
        words.append(word)
        i += 1
    pieces = {p.first: p for p in _read_pieces(words)}
    out: list[str] = []
    i = 0
    while i < len(words):
        piece = pieces.get(i)
        if piece is not None:
            out.append(piece.digits)
            i = piece.last + 1
            continue
        out.append(_EMAIL_SYMBOLS.get(words[i], words[i]))
        i += 1
    return "".join(out)


def parse_email(text: str) -> str | None:
    """An email address from spoken or typed text, lowercased; None unless it is valid.

    Handles "james dot okafor at example dot com", spelled letters ("j a m e s"), "underscore",
    "dash"/"hyphen", "plus", "double l", and typed addresses. Lead-ins such as "my email is"
    are dropped; words after the domain ("... dot com thanks") are ignored.
    """
    lowered = text.lower().replace("’", "'")
    for pattern, replacement in _EMAIL_PHRASES:
        lowered = pattern.sub(replacement, lowered)
    tokens = [t.strip(".'\"") for t in re.split(r"[\s,;:!?()\"]+", lowered)]
    tokens = [t.replace("'", "") for t in tokens if t]

    at = next(
        (
            i
            for i in range(len(tokens) - 1, -1, -1)
            if tokens[i] in ("at", "@") and any(_has_dot_word(t) for t in tokens[i + 1 :])
        ),
        None,
    )
    if at is None:
        return None
    local = tokens[:at]
    lead_in = max((i for i, t in enumerate(local) if t in _EMAIL_LEAD_INS), default=-1)
    local = local[lead_in + 1 :]
    while local and local[0] in _EMAIL_FILLERS:
        local = local[1:]
    domain = _domain_tokens(tokens[at + 1 :])
    if not local or not domain:
        return None
    local_part = _joined_by(text, _email_part(local))
    address = f"{local_part}@{_email_part(domain)}"
    return address if _EMAIL_RE.match(address) else None


def _domain_tokens(tokens: Sequence[str]) -> list[str]:
    """The words of the domain, stopping where the address ends ("... dot com, no dot").

    The first label may take several words ("b t internet"); after each "dot" one word does.
    """
    first_dot = next((i for i, t in enumerate(tokens) if _has_dot_word(t)), None)
    if first_dot is None:
        return []
    domain = list(tokens[: first_dot + 1])
    i = first_dot + 1
    while domain[-1] in _DOT_WORDS and i < len(tokens):
        domain.append(tokens[i])  # the label after "dot"
        i += 1
        if i < len(tokens) and tokens[i] in _DOT_WORDS:
            domain.append(tokens[i])
            i += 1
    return domain if domain[-1] not in _DOT_WORDS else []


def _has_dot_word(token: str) -> bool:
    return token in _DOT_WORDS or "." in token


_JOINED_BY = re.compile(
    r"\b([a-z]+)\s+and\s+([a-z]+),?\s+(?:are\s+)?(?:joined|separated|linked)\s+(?:by|with)\s+"
    r"an?\s+(hyphen|dash|underscore|dot)\b"
)


def _joined_by(text: str, local: str) -> str:
    """Apply "shah and patel joined by a hyphen" to a local part that ran the words together."""
    for first, second, symbol in _JOINED_BY.findall(text.lower()):
        local = local.replace(first + second, first + _EMAIL_SYMBOLS[symbol] + second)
    return local


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
_TIME_FILLERS = frozenset(
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
        "um",
        "uh",
        "er",
        "erm",
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


# --------------------------------------------------------------------------------------------
# Yes and no
# --------------------------------------------------------------------------------------------

# Phrases are matched on whole words, without apostrophes ("that's" -> "thats").
_YES = (
    "yes",
    "yeah",
    "yea",
    "yeh",
    "yep",
    "yup",
    "ya",
    "aye",
    "correct",
    "right",
    "alright",
    "sounds good",
    "perfect",
    "go ahead",
    "book it",
    "please do",
    "sure",
    "absolutely",
    "definitely",
    "exactly",
    "ok",
    "okay",
    "fine",
    "great",
    "good",
    "lovely",
    "brilliant",
    "spot on",
    "confirm",
    "confirmed",
    "of course",
    "uh huh",
    "mm hmm",
    "thats it",
)
# Yes-phrases that contain a no-word; they are taken out before looking for a "no".
_YES_WITH_NO = ("no problem", "not a problem", "no worries", "no bother", "why not")
_NO = (
    "no",
    "nope",
    "nah",
    "not",
    "isnt",
    "wrong",
    "incorrect",
    "wait",
    "hold on",
    "hang on",
    "actually",
    "change",
    "changed",
    "mistake",
    "i said",
    "should be",
    "misheard",
    "dont",
    "didnt",
    "cancel",
)
# Doubt is not a "no", but it is not a plain "yes" either.
_UNSURE = ("not sure", "dont know", "unsure")
_VETO = ("but", "except", "though", "although", "however", "instead", "maybe", *_UNSURE)


def _flat(text: str) -> str:
    return " " + " ".join(_simple_words(text)) + " "


def _has_any(flat: str, phrases: Sequence[str]) -> bool:
    return any(f" {phrase} " in flat for phrase in phrases)


def _without(flat: str, phrases: Sequence[str]) -> str:
    for phrase in phrases:
        flat = flat.replace(f" {phrase} ", " ")
    return flat


def is_yes(text: str) -> bool:
    """A plain confirmation: "yes", "that's all correct", "go ahead", "no problem".

    False as soon as anything suggests a correction or doubt ("yes but the phone is wrong",
    "wait, I said Thursday", "I'm not sure"). Words are matched whole, so "know", "nothing",
    "November" and "Norman" never count as "no".
    """
    flat = _flat(text)
    if not (_has_any(flat, _YES) or _has_any(flat, _YES_WITH_NO)):
        return False
    rest = _without(flat, _YES_WITH_NO)
    return not (_has_any(rest, _NO) or _has_any(rest, _VETO))


def is_no(text: str) -> bool:
    """A refusal or correction: "no", "that's not right", "wait", "actually", "change it".

    "No problem" and "not sure" are not a no.
    """
    rest = _without(_without(_flat(text), _YES_WITH_NO), _UNSURE)
    return _has_any(rest, _NO)
