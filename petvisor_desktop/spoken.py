"""How the assistant says things, in one place: numbers (cardinal, ordinal, digit by digit),
times, dates, phone numbers and e-mail addresses, and the word spellings that comparisons of
written and heard text share ("Dr" -> "doctor", "ok" -> "okay").

Two forms live here. The written form is what the dialog puts in its replies and the screen
shows ("2:30pm", "Thursday the 26th of November", "0 7 7 0 0, 9 0 0, 4 5 6"); the spoken
form is the words a voice says for it ("2 30 pm", "two thousand twenty six", "oh seven"),
which the text-to-speech front end, the echo check and the recogniser's error rates need.
Pure functions, and English names whatever the machine's locale (Qt sets the process locale
from the desktop's, which would change `strftime("%A")`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time, timedelta

# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

# fmt: off
ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# fmt: on
_IRREGULAR_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_ORDINAL_DIGITS = re.compile(r"(\d+)(?:st|nd|rd|th)")


def number_words(n: int) -> str:
    """A cardinal as the assistant's voice says it (espeak-ng's English rules, which Piper
    uses): 42 -> "forty two", 2000 -> "two thousand", 2026 -> "two thousand twenty six",
    1200 -> "one thousand two hundred"; no "and". (espeak-ng says 1901-1999 as "nineteen
    hundred ...", a form that does not come up at a vet's desk.)"""
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f" {ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    return f"{number_words(thousands)} thousand" + (f" {number_words(rest)}" if rest else "")


def ordinal_words(n: int) -> str:
    """26 -> "twenty sixth", 12 -> "twelfth", 30 -> "thirtieth"."""
    words = number_words(n).split()
    last = words[-1]
    if last in _IRREGULAR_ORDINALS:
        words[-1] = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def ordinal_suffix(n: int) -> str:
    """The letters after a written ordinal: 1 -> "st", 12 -> "th", 23 -> "rd"."""
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def digit_words(digits: str, *, zero: str = "zero") -> str:
    """Digits one by one: "0770" -> "zero seven seven zero". `zero`: how 0 is said; the
    voice reads a phone number with "oh", the text comparisons write "zero"."""
    return " ".join(zero if d == "0" else ONES[int(d)] for d in digits)


def number_token_words(token: str, *, leading_zero_digits: bool = True) -> str:
    """The words for one written number ("26th", "2026", "07700"): an ordinal up to 9999 in
    words, five digits or more one by one (a phone number or part of one), else the
    cardinal. `leading_zero_digits`: a number such as "07" is read "zero seven" (the
    recogniser's scoring: part of a phone number); without it "seven" (the echo check,
    where it is the hour of "07:30"). A token that is no number comes back as it is."""
    ordinal = _ORDINAL_DIGITS.fullmatch(token)
    digits = ordinal.group(1) if ordinal else token
    if not digits.isdigit():
        return token
    if ordinal and len(digits) <= 4:
        return ordinal_words(int(digits))
    if len(digits) >= 5 or (leading_zero_digits and len(digits) > 1 and digits[0] == "0"):
        return digit_words(digits)
    return number_words(int(digits))


# --------------------------------------------------------------------------------------------
# Words written several ways
# --------------------------------------------------------------------------------------------

TITLES = {"dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miz"}
# One spelling for words recognisers and the assistant write differently, so that what was
# said and what was heard compare equal.
SPELLINGS = {"ok": "okay", "alright": "all right", "mhm": "mm hmm", "hmm": "mm"}
WORD_FORMS = {**TITLES, **SPELLINGS}
# Sounds a caller makes while thinking, as recognisers write them.
HESITATIONS = frozenset({"um", "umm", "uh", "uhm", "er", "erm", "hmm", "mm", "ah", "eh"})


# --------------------------------------------------------------------------------------------
# Times and dates
# --------------------------------------------------------------------------------------------

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Words that make an answer a date already ("the 14th", "next week", "as soon as possible").
# A date answer with none of them was probably misheard ("to stay" for "Tuesday").
DATE_WORDS = frozenset(
    {n.lower() for n in (*WEEKDAY_NAMES, *MONTH_NAMES)}
    | {"today", "tomorrow", "tonight", "week", "weekend", "next", "soon", "soonest", "first",
       "earliest", "asap", "possible", "whenever", "any", "anytime", "day", "days", "date"}
    | set(ONES) | set(TENS[2:]) | {ordinal_words(n).split()[-1] for n in range(1, 32)}
)  # fmt: skip
# The day names a caller most often gives at the date question, for fitting a misheard one.
SAID_DAYS = ("today", "tomorrow", *WEEKDAY_NAMES)


def spoken_time(
    t: time, *, noon: str | None = None, always_minutes: bool = False, suffix_gap: str = ""
) -> str:
    """A time in the assistant's written style: "9am", "2:30pm", "12pm". `noon`: a word for
    12:00 ("noon" in the opening hours); `always_minutes` and `suffix_gap`: the booking
    card's "9:00 am"."""
    if noon is not None and t == time(12, 0):
        return noon
    suffix = "am" if t.hour < 12 else "pm"
    hour = t.hour % 12 or 12
    if t.minute == 0 and not always_minutes:
        return f"{hour}{suffix_gap}{suffix}"
    return f"{hour}:{t.minute:02d}{suffix_gap}{suffix}"


def clock_words(hour: int, minute: int, meridiem: str | None) -> str:
    """A clock time as the voice should say it: "9am", "2 30 pm", "2 oh 5 pm", "12 noon",
    "12 midnight". `hour` is 1-12; `meridiem` "am" or "pm", or None when the text did not
    say and the hour is a plain one ("3 o'clock", "3 30")."""
    spoken_minute = f"oh {minute}" if minute < 10 else str(minute)
    if meridiem is None:
        return f"{hour} {spoken_minute}" if minute else f"{hour} o'clock"
    if minute == 0:
        if hour == 12:
            return "12 noon" if meridiem == "pm" else "12 midnight"
        return f"{hour}{meridiem}"
    return f"{hour} {spoken_minute} {meridiem}"


def date_text(d: date, *, ordinal: bool = True, year: bool = False) -> str:
    """A day with its weekday: "Thursday the 26th of November" as the assistant says it,
    or with `ordinal` False "Thursday 26 November" as the booking card shows it; `year`
    adds the year ("... November 2026")."""
    weekday, month = WEEKDAY_NAMES[d.weekday()], MONTH_NAMES[d.month - 1]
    if ordinal:
        text = f"{weekday} the {d.day}{ordinal_suffix(d.day)} of {month}"
    else:
        text = f"{weekday} {d.day} {month}"
    return f"{text} {d.year}" if year else text


def spoken_date(d: date, today: date) -> str:
    """Natural read-back: "today", "tomorrow", "Thursday the 26th of November" (+ year if not
    this year)."""
    if d == today:
        return "today"
    if d == today + timedelta(days=1):
        return "tomorrow"
    return date_text(d, year=d.year != today.year)


# --------------------------------------------------------------------------------------------
# Phone numbers and e-mail addresses
# --------------------------------------------------------------------------------------------


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
    if digits.startswith("0"):
        sizes = _uk_national_sizes(digits)
    elif len(digits) == 10 and digits.startswith("7"):
        sizes = [4, 3, 3]  # a mobile number without its 0
    else:
        sizes = _group_sizes(len(digits))
    return ", ".join(_spell_groups(digits, sizes))


EMAIL_SYMBOL_WORDS = {".": "dot", "@": "at", "_": "underscore", "-": "dash", "+": "plus"}


def format_email_for_speech(email: str, *, digit_names: bool = False) -> str:
    """Read-back form: "james.okafor@example.com" -> "james dot okafor at example dot com";
    each digit on its own. `digit_names`: the digits as the voice says them ("oh", "one"),
    for the text-to-speech front end; else they stay digits, as in the dialog's replies."""
    words: list[str] = []
    current = ""
    for char in email.strip().lower():
        if char in EMAIL_SYMBOL_WORDS or char.isdigit():
            if current:
                words.append(current)
                current = ""
            if char in EMAIL_SYMBOL_WORDS:
                words.append(EMAIL_SYMBOL_WORDS[char])
            else:
                words.append(digit_words(char, zero="oh") if digit_names else char)
        else:
            current += char
    if current:
        words.append(current)
    return " ".join(words)


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------

# The answer "no particular vet", as it is shown and said.
ANYONE_CHOICE = "Whoever is free first"

# One of the times on offer picked by its place: "the second one", "the earliest", "the last
# one", "the next one you have". The dialog reads them; the recogniser fits a misheard one
# ("The Sanken One", run 14) to the same words.
PLACE_WORDS = {
    "first": 0,
    "earliest": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "middle": 1,
    "third": 2,
    "3rd": 2,
}
LAST_PLACE = re.compile(r"\b(last|latest)\b", re.I)
NEXT_PLACE = re.compile(r"\b(?:next (?:one|available|free(?: one)?)|soonest)\b", re.I)
_PLACE = re.compile(rf"\b(?:{'|'.join(PLACE_WORDS)})\b", re.I)


def names_a_place(text: str) -> bool:
    """The words pick an offered time by its place ("the first one", "the latest")."""
    return bool(_PLACE.search(text) or LAST_PLACE.search(text) or NEXT_PLACE.search(text))


def place_phrases(count: int) -> list[tuple[int, str]]:
    """How callers pick each of `count` offered times by its place, as (index, phrase)."""
    phrases = [(i, f"the {ordinal_words(i + 1)} one") for i in range(min(count, 3))]
    return [*phrases, (count - 1, "the last one")] if count > 1 else phrases
