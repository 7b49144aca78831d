"""The simulated caller: answers what the assistant is waiting for from a scenario's script,
and listens as a person would: a detail read back wrong is put right, a value heard unclearly
or an option proposed is answered yes or no, a name is spelled and a phone number given in
parts when asked, and a wrong detail is never confirmed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.repair import FIRST_PART_DIGITS, lower_first, type_phrase
from petvisor_desktop.spoken import digit_words

if TYPE_CHECKING:
    from petvisor_desktop.simulate import Scenario

# The steps whose options the assistant may propose for a yes or no (`repair`).
_PROPOSED = ("species", "appointment_type", "clinician", "time", "date")
MAX_CORRECTIONS = 3  # times the caller puts the same detail right before giving up on it
# What comes before the value in an answer: "Her name's Pepper", "It's oh seven...".
_LEAD_IN_RE = re.compile(
    r"^\s*(?:(?:oh|well|yes|yeah|so|um|er|sure|ok|okay)\b[,\s]*)*"
    r"(?:(?:her|his|its|my|the|our)\s+(?:(?:full|first|pet'?s|dog'?s|cat'?s|phone|mobile|e-?mail)"
    r"\s+)?(?:name|number|surname|e-?mail(?:\s+address)?)\s*(?:is\b|['’]s\b)"
    r"|it['’]?s\b|it\s+is\b|that['’]?s\b|this\s+is\b|i['’]?m\b)[,:\s]*",
    re.I,
)
# A sentence end inside an answer ("Hugo. Also, ..."), not a trailing pause ("oh oh... nine").
_SENTENCE_BREAK_RE = re.compile(r"(?<!\.)[.!?](?!\.)\s+[A-Z]")
_CAPITALISED = frozenset(
    {
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december"),
    }
)


def _name_key(text: str) -> str:
    """A name as heard: case, apostrophes and hyphens do not sound ("O'Connor", "Shah-Patel")."""
    text = re.sub(r"['’]", "", text.lower()).replace("-", " ")
    return " ".join(re.findall(r"\w+", text))


def _phone_key(text: str) -> str | None:
    phone = n.parse_phone(text)
    if phone is None:
        return None
    return "0" + phone[3:] if phone.startswith("+44") else phone.lstrip("+")


def _contains_words(text: str, words: str) -> bool:
    return f" {_name_key(words)} " in f" {_name_key(text)} "


def _entries(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _value_said(entry: str) -> str:
    return _LEAD_IN_RE.sub("", entry, count=1).strip().rstrip(".!?").strip()


def _said(entries: list[str], means: Callable[[str], bool], max_words: int) -> str | None:
    """The first answer that says the expected value plainly: one sentence, not a speech."""
    for entry in entries:
        value = _value_said(entry)
        if (
            value
            and means(entry)
            and not _SENTENCE_BREAK_RE.search(value)
            and len(value.split()) <= max_words
        ):
            return value
    return None


def _number_said(phone: str) -> str:
    """A phone number as a person says it: its digits in groups of five, three and three
    ("zero seven seven zero zero, nine zero zero, seven eight nine"). Written as digits
    with spaces ("0 7 7 0 0, ...", the assistant's own read-back), espeak garbled it."""
    digits = _phone_key(phone) or phone
    groups = (digits[:5], digits[5:8], digits[8:])
    return ", ".join(digit_words(g) for g in groups if g)


def _lower_first(text: str) -> str:
    first = text.split(maxsplit=1)[0] if text else ""
    if first.lower().strip(",") in _CAPITALISED:
        return text
    return text[:1].lower() + text[1:]


LEAVE_EMAIL_OFF = "No, just leave the email off, please."
# Repairs that ask for a name: (the booking field it is, whether it is to be spelled).
_NAME_ASKED = {
    "pet_name:spell": ("pet_name", True),
    "client_name:spell-first": ("client_first_name", True),
    "client_name:spell-last": ("client_last_name", True),
    "client_name:again-first": ("client_first_name", False),
    "client_name:again-last": ("client_last_name", False),
}


@dataclass
class Caller:
    """Answers what the assistant is waiting for from the scenario's `answers`, and listens to
    the read-back as a person would: a detail read back wrong is put right instead of the
    scripted yes ("No, my number is ..."), in words taken from the caller's own answer."""

    scenario: Scenario
    used: dict[str, int] = field(default_factory=dict)
    # Each read-back detail the caller put right: {"field", "read_back", "expected"}.
    corrections: list[dict[str, str]] = field(default_factory=list)
    _times_corrected: dict[str, int] = field(default_factory=dict, repr=False)
    _phone_part_given: bool = field(default=False, repr=False)
    _left_off: set[str] = field(default_factory=set, repr=False)  # details given up on
    _unsettled: str = field(default="", repr=False)  # the last correction, until read back right
    _unsettled_fields: set[str] = field(default_factory=set, repr=False)  # what it corrects
    _read_back_heard: bool = field(default=False, repr=False)

    def answer(
        self,
        expecting: str,
        read_back: dict[str, str] | None = None,
        repair: str | None = None,
        checking: dict[str, str] | None = None,
        asks_to_book: bool = False,
    ) -> str:
        """The caller's next line. At the read-back (`read_back`: the details the assistant
        read back, `AssistantTurn.read_back`), a wrong detail gets a correction instead of a
        scripted yes; a scripted correction or refusal is said as written. The same detail is
        corrected at most MAX_CORRECTIONS times, then given up on (see `_correction`); a
        wrong detail is never confirmed; asked what to change, the caller says its last
        correction again. Asked to spell a name (`repair`, `AssistantTurn.repair`), the
        caller spells it, as a person would.
        Asked whether a value was heard right (`checking`), the caller says yes, or no and the
        right one."""
        if checking:
            return self._check_heard(checking)
        self._read_back_heard = self._read_back_heard or read_back is not None
        spelled = (
            self._name_asked(repair)
            or self._address_spelled(repair)
            or self._phone_part(expecting, repair)
        )
        if spelled:
            return spelled
        scripted = self._scripted(expecting)
        if read_back is not None and n.is_yes(scripted) and not n.is_no(scripted):
            correction = self._correction(read_back)
            self._unsettled = correction
            if correction:
                return correction  # the scripted yes is still to come
        elif read_back is not None and expecting == "confirm":
            self._unsettled = scripted  # a scripted correction, said again if asked
        elif expecting == "confirm" and self._unsettled:
            if asks_to_book and (
                self._unsettled == LEAVE_EMAIL_OFF or self._unsettled_fields == {"email"}
            ):
                # "That's fine, no email. Shall I go ahead and book it?", or "... so I'll
                # leave it off. Shall I go ahead and book the rest?" after an address that
                # was not made out: only the address is in doubt, and it is off.
                self._left_off.add("email")
                self._unsettled = ""
            else:
                # "Sorry about that. What would you like to change?": what was wrong, again.
                again = self._unsettled.removeprefix("No, ")
                return again[:1].upper() + again[1:]
        if isinstance(self.scenario.answers.get(expecting), list):
            self.used[expecting] = self.used.get(expecting, 0) + 1
        return scripted

    def _scripted(self, expecting: str) -> str:
        value = self.scenario.answers.get(expecting)
        if value is None:
            return self.scenario.fallback
        if isinstance(value, list):
            return str(value[min(self.used.get(expecting, 0), len(value) - 1)])
        return str(value)

    def _name_asked(self, repair: str | None) -> str:
        """The name a repair asks for (`_NAME_ASKED`), or "" when none is: spelled letter by
        letter with a short pause after each, as people spell ("B, E, L, L, A"; run
        together, espeak's letters merge: tiny.en heard "B E L L A" as "B-D-L-A" and "B, E,
        L, L, A" right), or, asked for just the first or the last name, that name alone."""
        field, spell = _NAME_ASKED.get(repair or "", ("", False))
        name = str((self.scenario.expect.get("booking") or {}).get(field) or "") if field else ""
        return ", ".join(c.upper() for c in name if c.isalpha()) if spell else name

    def _address_spelled(self, repair: str | None) -> str:
        """Asked to spell the part of the e-mail address before the "at": its letters, and
        its dots and underscores said as words ("D, A, N, dot, H, U, G, H, E, S"); "" when
        that is not asked or there is no address."""
        email = str((self.scenario.expect.get("booking") or {}).get("email") or "")
        if repair != "email:spell-local" or "@" not in email:
            return ""
        marks = {".": "dot", "_": "underscore", "-": "dash"}
        local = email.partition("@")[0]
        return ", ".join(marks.get(c, c.upper()) for c in local if c.isalnum() or c in marks)

    def _phone_part(self, expecting: str, repair: str | None) -> str:
        """Asked for the number in parts, the caller says the first five digits, then the
        rest (each digit by itself, as people do); "" when no part is asked."""
        phone = _phone_key(str((self.scenario.expect.get("booking") or {}).get("phone") or ""))
        if not phone or expecting != "phone":
            return ""
        if repair == "phone:parts":
            self._phone_part_given = True
            return digit_words(phone[:FIRST_PART_DIGITS])
        if self._phone_part_given and repair in (None, "phone:rest"):
            # "Thank you. And the rest of the number?" (after a part that was taken)
            self._phone_part_given = False
            return digit_words(phone[FIRST_PART_DIGITS:])
        if self._times_corrected.get("phone") or self._read_back_heard:
            # Asked for the number again after the read-back (the caller's own correction,
            # or a scripted one not made out): the right one, not the scripted first answer
            # that was wrong.
            return _number_said(phone)
        return ""

    def _today(self) -> date:
        return datetime.fromisoformat(self.scenario.now).date()

    def _wrong(self, heard: dict[str, str]) -> dict[str, tuple[str, str]]:
        """{field: (what was read back, what the caller expects)} for each wrong detail."""
        want = {
            k: str(v)
            for k, v in (self.scenario.expect.get("booking") or {}).items()
            if v not in (None, "")
        }
        wrong: dict[str, tuple[str, str]] = {}
        for key in ("species", "appointment_type"):
            if key in want and key in heard and heard[key].lower() != want[key].lower():
                wrong[key] = (heard[key], want[key])
        pet = heard.get("pet_name")
        if "pet_name" in want and pet is not None and _name_key(pet) != _name_key(want["pet_name"]):
            wrong["pet_name"] = (pet, want["pet_name"])
        first, last = want.get("client_first_name"), want.get("client_last_name")
        if (first or last) and "client_name" in heard:
            name = _name_key(heard["client_name"])
            first_ok = not first or f"{name} ".startswith(f"{_name_key(first)} ")
            last_ok = not last or f" {name}".endswith(f" {_name_key(last)}")
            if first and last and first_ok and last_ok:
                first_ok = last_ok = name == _name_key(f"{first} {last}")
            words = heard["client_name"].split()
            split = len(first.split()) if first else 0
            if first and not first_ok:
                wrong["client_first_name"] = (" ".join(words[:split]), first)
            if last and not last_ok:
                wrong["client_last_name"] = (" ".join(words[split:]), last)
        if "phone" in want and "phone" in heard and heard["phone"] != _phone_key(want["phone"]):
            wrong["phone"] = (heard["phone"], want["phone"])
        email = heard.get("email")
        if "email" in want and email is not None and email.lower() != want["email"].strip().lower():
            wrong["email"] = (email, want["email"])
        if "date" in want and "date" in heard and heard["date"] != want["date"]:
            wrong["date"] = (heard["date"], want["date"])
        if "time" in want and "time" in heard and heard["time"] != want["time"]:
            wrong["time"] = (heard["time"], want["time"])
        if "part_of_day" in want and "time" in heard:
            part = "morning" if int(heard["time"][:2]) < 12 else "afternoon"
            if part != want["part_of_day"].lower():
                wrong["part_of_day"] = (part, want["part_of_day"])
        return wrong

    def _correction(self, read_back: dict[str, str]) -> str:
        """The caller's correction of the read-back, or "" when it is right. A person never
        says yes to a wrong detail: one put right MAX_CORRECTIONS times already is given up
        on as a person would, an e-mail address by asking to leave it off, anything else by
        asking for reception."""
        heard = {**read_back, "phone": _phone_key(read_back["phone"]) or read_back["phone"]}
        wrong = self._wrong(heard)
        if "email" in self._left_off and not heard.get("email"):
            wrong.pop("email", None)
        self._unsettled_fields = set(wrong)
        if not wrong:
            return ""
        given_up = {k for k in wrong if self._times_corrected.get(k, 0) >= MAX_CORRECTIONS}
        if given_up - {"email"}:
            return "No, that's still not right. Can I speak to someone at reception, please?"
        pieces = self._pieces({k: v for k, v in wrong.items() if k not in given_up})
        if given_up:
            self._left_off.add("email")
            pieces.append(LEAVE_EMAIL_OFF.removeprefix("No, ").rstrip("."))
        for key, (read, expected) in wrong.items():
            self._times_corrected[key] = self._times_corrected.get(key, 0) + 1
            self.corrections.append({"field": key, "read_back": read, "expected": expected})
        return "No, " + ", and ".join(pieces) + "."

    def _check_heard(self, checking: dict[str, str]) -> str:
        """The answer to "I heard ... Is that right?" or to an option proposed after a missed
        answer (`AssistantTurn.checking`)."""
        proposed = [(k, v) for k, v in checking.items() if k in _PROPOSED]
        if proposed:
            return self._answer_proposal(*proposed[0])
        booking = self.scenario.expect.get("booking") or {}
        heard: dict[str, str] = {}
        if checking.get("pet_name"):
            heard["pet_name"] = checking["pet_name"]
        if checking.get("first_name") or checking.get("last_name"):
            first = checking.get("first_name") or str(booking.get("client_first_name") or "")
            last = checking.get("last_name") or str(booking.get("client_last_name") or "")
            heard["client_name"] = f"{first} {last}".strip()
        if checking.get("phone"):
            heard["phone"] = _phone_key(checking["phone"]) or checking["phone"]
        if checking.get("email"):
            heard["email"] = checking["email"]
        wrong = self._wrong(heard)
        if not wrong:
            return "Yes, that's right."
        for key, (read, expected) in wrong.items():
            self._times_corrected[key] = self._times_corrected.get(key, 0) + 1
            self.corrections.append({"field": key, "read_back": read, "expected": expected})
        return "No, " + ", and ".join(self._pieces(wrong)) + "."

    def _answer_proposal(self, step: str, option: str) -> str:
        """Yes to an option that gives the caller what they want ("Would Dr Roberts be all
        right, or whoever is free first?" to someone who minds not who), else no and their
        own answer again, as a person would."""
        want = (self.scenario.expect.get("booking") or {}).get(step)
        if step == "time":
            ok = self._time_ok(option)
        elif step == "date":
            ok = "date" not in (self.scenario.expect.get("booking") or {})  # the first free one
        elif step == "clinician":
            ok = not want or _name_key(str(want)).split()[-1] in _name_key(option).split()
        else:
            ok = not want or _name_key(option) == _name_key(str(want))
        if ok:
            return "Yes, that's fine."
        return "No. " + self._scripted(step)

    def _time_ok(self, spoken: str) -> bool:
        """A time proposed as it is said ("9:15am") against the time or part of day wanted."""
        booking = self.scenario.expect.get("booking") or {}
        found = re.search(r"(\d{1,2})(?::(\d\d))?\s*([ap])m", spoken.lower())
        if found is None:
            return False
        hour = int(found.group(1)) % 12 + (12 if found.group(3) == "p" else 0)
        if booking.get("time"):
            return f"{hour:02d}:{found.group(2) or '00'}" == str(booking["time"])
        part = str(booking.get("part_of_day") or "").lower()
        return not part or (part == "morning") == (hour < 12)

    def _pieces(self, wrong: dict[str, tuple[str, str]]) -> list[str]:
        """One clause per wrong item, in the caller's own words where an answer says it."""
        answers, today = self.scenario.answers, self._today()
        pieces: list[str] = []
        if "species" in wrong:
            pieces.append(
                f"it's a {wrong['species'][1].lower()}, not a {wrong['species'][0].lower()}"
            )
        if "appointment_type" in wrong:
            pieces.append(f"it's for {lower_first(type_phrase(wrong['appointment_type'][1]))}")
        if "pet_name" in wrong:
            pet = wrong["pet_name"][1]
            said = _said(
                _entries(answers.get("pet_name")),
                lambda s: _contains_words(s, pet),
                len(pet.split()) + 6,
            )
            pieces.append(f"{self._pet_pronoun()} name is {said or pet}")
        if {"client_first_name", "client_last_name"} & wrong.keys():
            booking = self.scenario.expect.get("booking") or {}
            full = " ".join(
                str(booking[k]) for k in ("client_first_name", "client_last_name") if booking.get(k)
            )
            said = _said(
                _entries(answers.get("client_name")),
                lambda s: _contains_words(s, full),
                len(full.split()) + 6,
            )
            pieces.append(f"my name is {said or full}")
        if "phone" in wrong:
            phone = wrong["phone"][1]
            said = _said(
                _entries(answers.get("phone")),
                lambda s: _phone_key(s) == _phone_key(phone),
                16,
            )
            pieces.append(f"my number is {_lower_first(said or _number_said(phone))}")
        if "email" in wrong:
            email = wrong["email"][1].strip().lower()
            said = _said(_entries(answers.get("email")), lambda s: n.parse_email(s) == email, 16)
            pieces.append(f"my email is {_lower_first(said or n.format_email_for_speech(email))}")
        when = [k for k in ("date", "part_of_day", "time") if k in wrong]
        if when:
            pieces.append(f"I wanted {self._when_said(set(when), today)}")
        return pieces

    def _pet_pronoun(self) -> str:
        said = " ".join(
            [*_entries(self.scenario.answers.get("pet_name")), self.scenario.opening]
        ).lower()
        for pronoun, cue in (("her", r"\b(she|her|hers)\b"), ("his", r"\b(he|his|him)\b")):
            if re.search(cue, said):
                return pronoun
        return "my pet's"

    def _when_said(self, wrong: set[str], today: date) -> str:
        booking = self.scenario.expect.get("booking") or {}
        answers = self.scenario.answers
        pieces: list[str] = []
        if wrong & {"date", "part_of_day"}:
            day = booking.get("date")
            part = booking.get("part_of_day")

            def means(text: str) -> bool:
                asked = n.parse_date(text, today)
                if day and (asked is None or asked.day is None or asked.day.isoformat() != day):
                    return False
                return not part or n.parse_part_of_day(text) == part

            said = _said(_entries(answers.get("date")), means, 12)
            if said is None:
                spoken = n.spoken_date(date.fromisoformat(day), today) if day else ""
                said = " ".join(p for p in (spoken, f"in the {part}" if part else "") if p)
            pieces.append(_lower_first(said))
        if "time" in wrong:
            at = datetime.strptime(str(booking["time"]), "%H:%M").time()
            said = _said(_entries(answers.get("time")), lambda s: n.parse_time(s) == at, 8)
            pieces.append(_lower_first(said or n.spoken_time(at)))
        return " at ".join(p for p in pieces if p)
