"""Phone numbers: read, and checked against the country's numbering plan."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from petvisor_desktop.dialog.normalize.numbers import words_to_digits

# --------------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------------

_PHONE_RUN_RE = re.compile(r"(?:\+\s*)?\(?\d(?:[\s().,\-]*\d)*")
# Fewer digits than this is some other figure (a time, a date, an age), not a try at a number.
_PHONE_ATTEMPT_DIGITS = 7
_PHONE_MAX_RUN_DIGITS = 20
_ISO_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
# "Oh oh" in a number as Whisper hears it in noise ("seven seven oh well, nine oh well").
_OH_WELL = re.compile(r"\boh,?\s+well\b", re.I)
# Digits that make an answer at the phone step a number being said, whatever else was heard.
NUMBER_SAID_DIGITS = 5


def digits_said(text: str) -> int:
    """How many digits the words carry, said or written ("oh seven seven" is 3)."""
    return sum(ch.isdigit() for ch in words_to_digits(text))


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
    # For a number heard without its first 0 (the recogniser drops a lone "oh" at the start:
    # "seven seven oh oh, nine oh oh..."), the number with it put back: never taken as it
    # is, only put to the caller for a yes or no.
    guess: str | None = None


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
    guess = None
    if problem and national and not coded and not national.startswith(plan.trunk):
        with_trunk = plan.trunk + national
        guess = with_trunk if _phone_problem(with_trunk, False, plan) is None else None
    return PhoneCheck(heard, None if problem else national, problem, guess)


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
    converted = re.sub(r"(?i)\bplus\s*(?=\d)", "+", spoken_number(text))
    first: PhoneCheck | None = None
    for match in _PHONE_RUN_RE.finditer(converted):
        if _ISO_DATE_RE.fullmatch(match.group()):
            continue
        check = _check_run(match.group(), plan)
        if check is not None and check.number is not None:
            return check
        first = first or check
    return first


def spoken_number(text: str) -> str:
    """The text with the number words said as digits, as a phone number is read ("oh seven
    seven oh well" -> "07700")."""
    return words_to_digits(_OH_WELL.sub("oh oh", text))


def spoken_digits(text: str) -> str:
    """Every digit said, in order: for a number taken a part at a time."""
    return re.sub(r"\D", "", spoken_number(text))


def parse_phone(text: str, country: str = DEFAULT_PHONE_COUNTRY) -> str | None:
    """A phone number from spoken or typed text in the national form the clinic stores:
    "Oh seven seven zero zero, nine double oh, four five six" -> "07700900456",
    "+44 7700 900456" -> "07700900456". None when there is none or it cannot be a number of
    `country` (see `check_phone`, which says why)."""
    check = check_phone(text, country)
    return check.number if check is not None else None
