"""Repair after a misheard answer: a different question, not the same one again.

A receptionist who did not catch an answer changes strategy. After a miss, a closed question
is narrowed to a yes or no on one option (and the buttons on the screen are pointed at), a
phone number is taken a few digits at a time, a name is spelled letter by letter, and a
free-text value heard with low confidence is read back before it is used. Only when the
repairs fail too does a person take over.

This module holds that policy (which repair follows which miss at which step, and its words),
the little state it keeps between turns (`RepairState`), and the short answers a caller can
say or tap at each step (`choices`), which the screen shows as buttons and the recogniser is
biased towards. The assistant only calls it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from petvisor_desktop.dialog import names as nm
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.spelling import spelled_names
from petvisor_desktop.dialog.tools import ANYONE
from petvisor_desktop.spoken import ANYONE_CHOICE, number_words

# Below this recogniser confidence (0 to 1, per utterance) a phone number, name or e-mail is
# read back before it is used. Measured (Whisper tiny.en, espeak-ng caller): right answers
# came at 0.44 to 0.87 and a misheard pet name ("Bella" -> "Matt La") at 0.57, so the
# confidence does not separate them there; 0.6 asked about most right answers and lengthened
# every spoken booking. Only a poor decode is checked at once; the read-back catches the rest.
LOW_CONFIDENCE = 0.35
# Misses in a row at one step before a person takes over: the question, then two repairs.
MAX_MISSES = 3
# An e-mail address that cannot be caught is left off after this many misses (reception can
# add it later); it is optional, so nobody is handed off for it.
EMAIL_MISSES = 2
# The phone number is asked for in parts: this many digits first (a UK number's first group;
# any count is taken), then the rest.
FIRST_PART_DIGITS = 5  # a phone number taken in parts: how many digits the first part has
_FIRST_PART = number_words(FIRST_PART_DIGITS)

YES, NO = "Yes", "No"
# The booking value a yes to "Shall I find the first free appointment?" stands for.
FIRST_FREE = "first free"

SORRY = "Sorry, I didn't catch that. "
STILL = "Sorry, I still didn't catch that. "
SORRY_USUAL = "Sorry, I didn't quite get that. "  # before the usual question again
TAP_YES_NO = "You can also tap Yes or No on the screen."
HINTS = {
    "appointment_type": "You can also tap one of the appointment types on the screen.",
    "clinician": "You can also tap a vet's name on the screen.",
    "time": "Or tap one of the times on the screen.",
    "date": "Or tell me a day, like tomorrow or next Monday.",
    "confirm": TAP_YES_NO,
}
ASK_AGAIN = {  # after a no to every option offered one by one
    "species": "Which animal is it, then?",
    "appointment_type": "Which kind of appointment is it, then? " + HINTS["appointment_type"],
    "clinician": "Which vet would you like, then?",
    "time": "Which other day or time would suit you better?",
    "date": "What day would suit you? For example tomorrow, or next Monday.",
}
PHONE_FIRST_PART = f"Let's take it in parts: the first {_FIRST_PART} digits?"
PHONE_REST = "Thank you. And the rest of the number?"
SPELL_PET = "Could you spell that for me, letter by letter?"
SPELL_AGAIN = "Could you spell it slowly, one letter at a time?"
NAME_AGAIN_PET = "Could you say just the name once more?"

# The booking details that are free text: a caller's words are the only source, so a value
# heard with low confidence is confirmed first. Each maps to the step that asks for it.
FREE_TEXT = {
    "pet_name": "pet_name",
    "first_name": "client_name",
    "last_name": "client_name",
    "phone": "phone",
    "email": "email",
}
_NAME_KEYS = ("first_name", "last_name")  # the names a common name may be put for
# What in the assistant's findings answers each closed step (a value there means the caller
# answered the step outright, whatever was proposed).
_ANSWERS = {
    "species": ("species",),
    "appointment_type": ("appointment_type",),
    "clinician": ("clinician",),
    "time": ("slot", "wanted_time"),
    "date": ("day", "asap", "weekend"),
}
_PROPOSING = tuple(_ANSWERS)
_POSITION = re.compile(r"\b(first|second|third|last|latest|earliest|middle|other)\b", re.I)
_TITLES = frozenset({"dr", "dr.", "doctor", "mr", "mrs", "ms", "miss", "nurse"})
# Words that may come with a plain yes or no without adding anything to it.
_YES_NO_WORDS = frozenset(
    {
        "yes", "yeah", "yep", "yup", "no", "nope", "nah", "that's", "thats", "that", "is",
        "it", "it's", "its", "right", "correct", "please", "ok", "okay", "sure", "not",
        "isn't", "isnt", "wrong", "fine", "thanks", "thank", "you", "sorry", "great", "lovely",
        "perfect", "go", "ahead", "absolutely", "of", "course", "do", "all",
    }
)  # fmt: skip


@dataclass(frozen=True)
class StepOptions:
    """The closed answers at the booking's steps, as the caller hears them."""

    species: tuple[str, ...] = ()
    appointment_types: tuple[str, ...] = ()
    clinicians: tuple[str, ...] = ()
    times: tuple[str, ...] = ()  # the offered times, spoken ("9:15am")
    proposed_type: str | None = None  # an appointment type put to the caller as a yes or no


def choices(step: str, options: StepOptions, *, yes_no: bool = False) -> tuple[str, ...]:
    """What a caller can say or tap to answer the question at `step`: the clinic's own options
    for a closed question, "Yes"/"No" for a yes-or-no one (both when a closed question was
    narrowed to one option), nothing for an open one (names, phone, e-mail, date)."""
    if step == "appointment_type" and options.proposed_type:
        return (YES, NO)
    closed = {
        "species": options.species,
        "appointment_type": options.appointment_types,
        "clinician": (*options.clinicians, ANYONE_CHOICE) if options.clinicians else (),
        "time": options.times,
    }.get(step, ())
    if yes_no or step in ("confirm", "anything_else"):
        return (*closed, YES, NO)
    return tuple(closed)


def type_phrase(name: str) -> str:
    """'A consultation', 'A nurse appointment', 'An appointment for vaccinations'."""
    lowered = name.lower()
    if lowered.endswith("s") and "appointment" not in lowered:
        return f"An appointment for {lowered}"
    return f"An {lowered}" if lowered[:1] in "aeiou" else f"A {lowered}"


def type_question(name: str) -> str:
    """ "Would a consultation be right?" """
    return f"Would {lower_first(type_phrase(name))} be right?"


def short_vet(name: str) -> str:
    """'Dr Amy Roberts' -> 'Dr Roberts': how a receptionist says it."""
    words = name.split()
    if len(words) >= 3 and words[0].lower() in _TITLES:
        return f"{words[0]} {words[-1]}"
    return name


def proposal_question(step: str, value: str) -> str:
    """The yes-or-no question that puts one option to the caller."""
    if step == "species":
        return f"Is it a {value.lower()}?"
    if step == "appointment_type":
        return type_question(value)
    if step == "clinician":
        if value == ANYONE_CHOICE:
            return "Shall I book whoever is free first?"
        return f"Would {short_vet(value)} be all right, or whoever is free first?"
    if step == "time":
        return f"Shall I put you down for {value}?"
    if step == "date":
        return "Shall I find the first free appointment?"
    raise ValueError(f"no option to propose at {step!r}")


def plain_yes_no(text: str) -> bool | None:
    """True for a bare yes ("yes please", "that's right"), False for a bare no ("no, that's
    wrong"), None for anything with more in it ("no, a dog") or neither."""
    words = re.findall(r"[a-z']+", text.lower().replace("’", "'"))
    if not words or any(w not in _YES_NO_WORDS for w in words):
        return None
    yes, no = n.is_yes(text), n.is_no(text)
    return yes if yes != no else None


# --------------------------------------------------------------------------------------------
# The repair state and policy
# --------------------------------------------------------------------------------------------


@dataclass
class RepairState:
    """What the repair of the current step has got to; forgotten once the step is answered."""

    step: str = "none"  # the step the misses count for
    misses: int = 0  # answers in a row at that step that were not understood
    mode: str = ""  # "propose", "parts" (phone), "again" then "spell" (names) once begun
    proposal: str | None = None  # the option put to the caller as a yes or no
    declined: list[str] = field(default_factory=list)  # options the caller said no to
    digits: str = ""  # phone digits gathered so far, part by part
    unsure: bool = False  # a part of the phone number was heard with low confidence
    pending: dict[str, str] = field(default_factory=dict)  # low-confidence values to confirm
    spelt: set[str] = field(default_factory=set)  # pending names to put spelt out: spelled,
    # or another spelling or a common name put for what was heard
    offered: list[str] = field(default_factory=list)  # common names put for a spelling, once
    # Common names put for names heard with doubt, (key, name): once in a conversation.
    names_put: set[tuple[str, str]] = field(default_factory=set)
    refused: bool = False  # the caller said no to the value read back to them
    restart: bool = False  # the phone number's parts added up to no number: start again
    question: str = ""  # the repair question last asked, to ask again after an aside


@dataclass(frozen=True)
class Miss:
    """What to do after an answer that was not understood: a repair `question`, or the usual
    question with `prefix`; `leave_off` the e-mail; or `handoff` to a person."""

    question: str = ""
    prefix: str = ""
    leave_off: bool = False
    handoff: bool = False
    kind: str | None = None  # which repair `question` is: "<step>:<mode>" ("phone:parts")
    proposal: tuple[str, str] | None = None  # (step, option) the question puts as a yes or no


@dataclass(frozen=True)
class Taken:
    """The assistant's findings after the repair read the answer: `found` (with a yes to a
    proposal or the spelled or assembled value added, low-confidence values held back),
    `forget` (details the caller said were misheard), and `reply` when the repair goes on
    without anything to book yet (the rest of the number, the next option)."""

    found: dict[str, Any]
    forget: tuple[str, ...] = ()
    reply: str = ""


class Repair:
    """The repair policy of one conversation, with its state."""

    def __init__(self, phone_country: str = n.DEFAULT_PHONE_COUNTRY) -> None:
        self.phone_country = phone_country  # whose numbering the parts must add up to
        self.state = RepairState()

    def reset(self) -> None:
        """The step was answered (or left): its repair is over (what was put for a name heard
        with doubt is remembered: never put twice)."""
        self.state = RepairState(names_put=self.state.names_put)

    def forget_pending(self, key: str) -> None:
        """A value waiting for the caller's yes is no longer asked about (the e-mail address
        left off)."""
        self.state.pending.pop(key, None)

    def refuse(self, step: str) -> None:
        """The caller said the value held for `step` is wrong, and saying it again gave the
        same value: the next miss at `step` starts its repair (spelling, the number in
        parts) with "Sorry about that"."""
        self.reset()
        self.state.step = step
        self.state.refused = True

    @property
    def asks_yes_no(self) -> bool:
        """The last question was a yes or no: an option put to the caller, or a read-back of
        a value heard with low confidence."""
        return self.state.proposal is not None or bool(self.state.pending)

    def asked(self) -> dict[str, str]:
        """The values heard with low confidence that the next (or last) "I heard ..., is
        that right?" is about: one detail at a time (a name's two parts together), so that
        a no is clear about which one was wrong."""
        p = self.state.pending
        first = next((FREE_TEXT[k] for k in p), None)
        return {k: v for k, v in p.items() if FREE_TEXT[k] == first}

    @property
    def pending_step(self) -> str:
        """The step whose value waits for the caller's yes ("none" when nothing does)."""
        return next((FREE_TEXT[k] for k in self.state.pending), "none")

    def wants_plain_answer(self, step: str, text: str) -> bool:
        """The answer is one the repair reads without the language model: a bare yes or no to
        its question, a part of the phone number, spelled letters."""
        s = self.state
        if self.asks_yes_no and plain_yes_no(text) is not None:
            return True
        if s.step != step:
            return False
        if s.mode == "parts" and step == "phone":
            digits = _digits(text)
            return bool(digits) and not re.search(r"[a-z]", n.words_to_digits(text).lower())
        return s.mode in ("spell", "again") and bool(spelled_names(text))

    def key(self) -> tuple[Any, ...]:
        """Everything of the repair that changes how the caller's words are read."""
        s = self.state
        return (s.step, s.mode, s.proposal, s.digits, tuple(s.pending))

    def last_question(self, step: str) -> str:
        """The repair question waiting at `step` (or a read-back waiting for a yes)."""
        s = self.state
        return s.question if s.pending or (s.step == step and s.mode) else ""

    # -- reading the answer ------------------------------------------------------------------
    def take(
        self,
        step: str,
        text: str,
        found: dict[str, Any],
        *,
        low_confidence: bool,
        current: Mapping[str, Any],
        options: StepOptions,
        refused: Collection[tuple[str, str]] = (),
        expected_email: Collection[str] = (),
        spoken: bool = False,
    ) -> Taken:
        """Read the caller's answer to a repair question (and to a read-back of a value heard
        with low confidence) on top of what the assistant found in it. `current` holds the
        booking's free-text values as they stand; `refused`, the (key, lower-case value)
        pairs the caller said no to (never put to them as a name near a spelling);
        `expected_email`, the addresses made of the caller's names at the clinic's usual
        domains: one heard exactly so is taken even with low confidence (the recogniser
        wrote the likeliest address by itself; the read-back still reads it), where any
        other is put to the caller first; `spoken`, the answer was heard, not typed (a name
        typed is as the caller wrote it)."""
        found = dict(found)
        confirmed: set[str] = set()
        forget: tuple[str, ...] = ()
        spelled: tuple[str, ...] = ()
        self._drop_stale_proposal(step, options)
        # Names heard once wrong already: the one read back for a yes, or at the read-back.
        doubted = set(self.asked()) if step != "confirm" else set(_NAME_KEYS)
        if self.state.pending:
            found, confirmed, forget = self._settle(text, found)
        s = self.state
        if (
            s.step == step
            and s.mode == "propose"
            and s.proposal is not None
            and not (step == "appointment_type" and options.proposed_type)  # the assistant's
        ):
            reply = self._answer_to_proposal(step, text, found, options)
            if reply:
                return Taken(found, forget, reply)
        elif s.step == step and s.mode in ("spell", "again"):
            spelled = self._add_spelled(step, text, found, current)  # spelled unasked, too
        elif s.step == step and s.mode == "parts" and "phone" not in found:
            reply = self._add_part(text, found, low_confidence, self.phone_country)
            if reply:
                return Taken(found, forget, reply)
        elif step == "phone" and "phone" not in found and _first_part(text):
            # Only the start of the number was heard (the recogniser dropped the rest of a
            # number said in groups): it is kept as the first part, and the rest asked for.
            self.reset()
            s = self.state
            s.step, s.mode = step, "parts"
            found.pop("phone_problem", None)
            self._add_part(text, found, low_confidence, self.phone_country)  # the first part
            reply = f"I have {' '.join(s.digits)} so far. And the rest of the number?"
            s.question = reply
            return Taken(found, forget, reply)
            if "phone" in found and s.unsure:
                low_confidence = True  # a part of it was not heard clearly
        for key in ("phone", "email"):  # put back together from what was heard: asked
            if found.pop(f"{key}_guessed", False) and found.get(key):
                s.pending[key] = found.pop(key)
        for key in spelled:
            self._check_spelled(key, found, low_confidence, refused)
        if low_confidence:
            for key in FREE_TEXT:
                value = found.get(key)
                expected = key == "email" and value in expected_email
                if value and key not in confirmed and value != current.get(key) and not expected:
                    s.pending[key] = found.pop(key)
        s.spelt |= {key for key in spelled if key in s.pending}  # put as it was given
        unknown = False  # a name said again after a no, heard as nobody's
        for key in _NAME_KEYS:
            said = str(found.get(key) or "").lower()
            heard = key in doubted - confirmed and said not in ("", str(current.get(key)).lower())
            if key not in spelled and (heard or key in s.pending):
                self._put_common_name(key, found, refused)
                unknown |= heard and key in found and not nm.is_common_name(said, key)
            elif key not in spelled and spoken and step == "client_name" and said:
                # Heard clearly, but as no common name and just like one ("Karen Doell",
                # run 16: Doyle was never got back at the read-back).
                self._put_common_name(key, found, refused, alike_only=True)
        if unknown and spoken and step == "client_name":
            self._put_as_heard(found)
        return Taken(found, forget)

    def _put_as_heard(self, found: dict[str, Any]) -> None:
        """The caller's name said again after a no, heard as no common name and like none:
        put to them as heard, once, as a receptionist checks a name they do not know (run
        18: "No, my name is Aja Man, sir" after a refused "Hey Samantha" was taken, and
        Aisha Mensah's name and address were put right only at the read-back, out of
        turns). Their no goes on to the spelling."""
        s = self.state
        said = {key: str(found[key]) for key in _NAME_KEYS if found.get(key)}
        if any((key, value) in s.names_put for key, value in said.items()):
            return
        for key, value in said.items():
            s.names_put.add((key, value))
            s.pending[key] = found.pop(key)

    def _put_common_name(
        self,
        key: str,
        found: dict[str, Any],
        refused: Collection[tuple[str, str]],
        *,
        alike_only: bool = False,
    ) -> None:
        """A name heard with doubt (unclear, or said again after the caller refused what was
        heard) that is the recogniser's writing of one common name ("Menson" for Mensah, run
        14) is put to the caller as that name, spelt out, once; their yes takes it."""
        s = self.state
        heard = s.pending.get(key) or found.get(key)
        near = nm.common_name_heard_as(str(heard or ""), key, alike_only=alike_only)
        if near is None or (key, near) in s.names_put or (key, near.lower()) in refused:
            return
        s.names_put.add((key, near))
        found.pop(key, None)
        s.pending[key] = near
        s.spelt.add(key)

    def _settle(
        self, text: str, found: dict[str, Any]
    ) -> tuple[dict[str, Any], set[str], tuple[str, ...]]:
        """The answer to "I heard ..., is that right?": a yes (or the same value said again)
        keeps it; a no or nothing usable forgets it, so that it is asked again (a miss, so
        with the step's repair); a new value replaces it."""
        pending = self.asked()
        again = {k: v for k, v in found.items() if k in FREE_TEXT and v}
        # Values heard with them wait for their own question (one detail at a time, so a
        # no forgets only the one it answers); a value said again replaces its own.
        rest = {k: v for k, v in self.state.pending.items() if k not in pending and k not in again}
        self.state.pending = {}
        self.state.spelt &= set(rest)
        same = bool(again) and all(pending.get(k) == v for k, v in again.items())
        said_no = n.is_no(text) and not n.is_yes(text)
        if (same and not said_no) or (n.is_yes(text) and not again):
            self.state.pending = rest
            return {**found, **pending}, set(pending), ()
        if again and not same:
            self.state.pending = rest
            return found, set(), ()
        # "No" (with the same misheard value again: "No, it's Drew"): the ear cannot be
        # trusted with it, so it is forgotten and the step's repair (spelling) comes next.
        found = {k: v for k, v in found.items() if k not in again}
        step = FREE_TEXT[next(iter(pending))]
        if self.state.step != step:
            self.reset()
            self.state.step = step
        self.state.refused = True
        self.state.pending = rest
        return found, set(), tuple(pending)

    def _answer_to_proposal(
        self, step: str, text: str, found: dict[str, Any], options: StepOptions
    ) -> str:
        """A yes takes the option put to the caller (into `found`); a no puts the next one,
        or asks the open question once none is left (the reply)."""
        s = self.state
        plain = plain_yes_no(text)
        assert s.proposal is not None
        answered = any(found.get(k) for k in _ANSWERS[step])
        if step == "time" and answered and n.is_yes(text):
            # "Yes" alone lets the model pick any offered time ("yes, that one"): only a time
            # or a position the caller named outranks the one put to them.
            answered = n.parse_time(text) is not None or bool(_POSITION.search(text))
        if plain is True or (not answered and n.is_yes(text)):
            for key in _ANSWERS[step]:
                found.pop(key, None)
            found[_proposal_key(step)] = _proposal_value(step, s.proposal)
            return ""
        if answered or not (plain is False or n.is_no(text)):
            return ""
        s.declined.append(s.proposal)
        following = [c for c in _candidates(step, options) if c not in s.declined]
        if following:
            s.proposal = following[0]
            s.question = proposal_question(step, s.proposal)
            if step == "time":
                s.question = f"How about {s.proposal}?"
        else:
            s.mode, s.proposal = "", None
            s.question = ASK_AGAIN[step]
        return "No problem. " + s.question

    def _add_spelled(
        self, step: str, text: str, found: dict[str, Any], current: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """The names spelled in `text` into `found`; returns the keys they went to."""
        names = spelled_names(text)
        if not names:
            return ()
        if step == "pet_name":
            found["pet_name"] = " ".join(names)
            return ("pet_name",)
        if step == "client_name" and not current.get("first_name"):
            found.pop("last_name", None)
            found["first_name"] = names[0]
            if len(names) > 1:
                found["last_name"] = " ".join(names[1:])
                return ("first_name", "last_name")
            return ("first_name",)
        if step == "client_name":
            found.pop("first_name", None)
            found["last_name"] = " ".join(names)
            return ("last_name",)
        return ()

    def _check_spelled(
        self,
        key: str,
        found: dict[str, Any],
        low_confidence: bool,
        refused: Collection[tuple[str, str]],
    ) -> None:
        """A spelled name that is likely heard wrong waits for the caller's yes, spelt out
        (`confirm_question`): put as the one common name a letter away ("B-O-M-N-I-E" for
        Bonnie, run 13), once; or as heard, when its letters make no name anyone has
        ("A-X-A-X-A" for Aisha, run 12) or were heard with low confidence."""
        s = self.state
        heard = str(found.get(key) or "")
        if not heard:
            return
        near = nm.common_name_near(heard, key)
        if near is not None and near not in s.offered and (key, near.lower()) not in refused:
            s.offered.append(near)
            found.pop(key)
            s.pending[key] = near
        elif low_confidence or nm.unlikely_spelling(heard):
            s.pending[key] = found.pop(key)

    def _add_part(
        self, text: str, found: dict[str, Any], low_confidence: bool, country: str
    ) -> str:
        """A part of the phone number: gathered until the whole number is there (found), or
        the next part asked for (the reply). Nothing heard leaves it to the miss."""
        s = self.state
        digits = _digits(text)
        if not digits:
            return ""
        found.pop("phone_problem", None)  # a part is not a whole number, so no fault in it
        s.digits += digits
        s.misses = 0  # a part was taken: the number is getting somewhere, no hand-off yet
        s.unsure = s.unsure or low_confidence
        number = n.parse_phone(s.digits, country) if len(s.digits) >= 10 else None
        if number:
            found["phone"] = number
            s.digits, s.mode = "", ""
            return ""
        # Past a whole number's length (11 digits here; 12 or 13 with a country code): the
        # parts do not add up, so the miss starts again.
        if len(s.digits) >= (13 if s.digits.startswith("44") else 11):
            s.digits, s.unsure, s.restart = "", False, True
            return ""
        s.question = PHONE_REST
        return PHONE_REST

    def _drop_stale_proposal(self, step: str, options: StepOptions) -> None:
        """Options offered afresh (other times, say) make the one put to the caller moot."""
        s = self.state
        if s.step == step and s.proposal not in (None, *_candidates(step, options)):
            s.mode, s.proposal, s.declined = "", None, []

    # -- after a miss ------------------------------------------------------------------------
    def miss(
        self,
        step: str,
        options: StepOptions,
        *,
        first_name_known: bool = False,
        read_back_given: bool = False,
    ) -> Miss:
        """The answer at `step` was not understood: the next question to ask."""
        s = self.state
        if s.step != step:
            self.reset()
            s = self.state
            s.step = step
        self._drop_stale_proposal(step, options)
        s.misses += 1
        refused, s.refused = s.refused, False
        if step == "email":
            if s.misses >= EMAIL_MISSES:
                self.reset()
                return Miss(leave_off=True)
            return Miss(prefix="Sorry about that. " if refused else SORRY_USUAL)
        if s.misses >= MAX_MISSES:
            return Miss(handoff=True)
        sorry = "Sorry about that. " if refused else SORRY if s.misses == 1 else STILL
        question = self._repair_question(
            step, options, sorry, refused, first_name_known, read_back_given
        )
        if not question:
            return Miss(prefix=SORRY_USUAL)
        s.question = re.sub(r"^Sorry[^.]*\. ", "", question)
        kind = f"{step}:{s.mode or 'again'}"
        if step == "phone" and s.mode == "parts" and s.digits:
            kind = "phone:rest"  # the first part is in: the rest of the number is asked
        if step == "client_name" and s.mode in ("spell", "again"):
            kind += "-last" if first_name_known else "-first"  # which name is asked for
        proposal = (step, s.proposal) if s.mode == "propose" and s.proposal else None
        return Miss(question=question, kind=kind, proposal=proposal)

    def _repair_question(
        self,
        step: str,
        options: StepOptions,
        sorry: str,
        refused: bool,
        first_name_known: bool,
        read_back_given: bool,
    ) -> str:
        s = self.state
        first = s.misses == 1
        if step in _PROPOSING:
            if s.proposal is None:
                following = [c for c in _candidates(step, options) if c not in s.declined]
                if not following:
                    return ""
                s.mode, s.proposal = "propose", following[0]
            question = proposal_question(step, s.proposal)
            hint = HINTS.get(step, _species_hint(options) if step == "species" else "")
            if step == "appointment_type" and options.proposed_type:
                hint = TAP_YES_NO
            if first:
                return f"{sorry}{question} {hint}"
            return f"{sorry}Just yes or no, please: {lower_first(question)} {hint}"
        if step == "confirm":
            if not read_back_given:
                return ""  # the read-back itself is asked again: only a yes to it books
            if first:
                return f"{sorry}Shall I book it? Please say yes or no. {TAP_YES_NO}"
            return f"{sorry}Just yes or no, please: shall I book it? {TAP_YES_NO}"
        if step == "phone":
            if s.restart:
                s.mode, s.digits, s.unsure, s.restart = "parts", "", False, False
                return (
                    "Sorry, that doesn't sound like a whole phone number. Let's start again: "
                    f"the first {_FIRST_PART} digits?"
                )
            if s.mode != "parts":
                s.mode, s.digits, s.unsure = "parts", "", False
                lead = sorry if refused else "Sorry, I didn't catch the number. "
                return lead + PHONE_FIRST_PART
            if s.digits:
                return f"{sorry}The rest of the number, please."
            return f"{sorry}Just the first {_FIRST_PART} digits, please."
        if step in ("pet_name", "client_name"):
            if s.mode == "spell":
                return sorry + SPELL_AGAIN
            if not s.mode and not refused:
                # Once more by ear, the name alone, before spelling: a recogniser that missed
                # a name in a sentence often gets it said by itself, and spelled letters are
                # what it hears worst (run 5: "Karen" spelt came out "Hey, hey, are E and").
                s.mode = "again"
                if step == "pet_name":
                    return f"{sorry}{NAME_AGAIN_PET}"
                return f"{sorry}Just your {'last' if first_name_known else 'first'} name, please?"
            s.mode = "spell"
            if step == "pet_name":
                return (sorry if refused else "Sorry, I didn't catch the name. ") + SPELL_PET
            which = "last" if first_name_known else "first"
            return f"{sorry}Could you spell your {which} name for me, letter by letter?"
        return ""

    # -- confirming a value heard with low confidence ---------------------------------------
    def confirm_question(self, pet_word: str) -> str:
        """ "I heard 0 7 7 0 0 ... as your phone number. Is that right?" """
        p = self.asked()
        if self.state.spelt & set(p):
            whose = {"pet_name": f"{pet_word}'s name", "first_name": "first name"}
            spelt = [
                f"{whose.get(key, 'last name')} spelt "
                + ", ".join(c.upper() for c in name if c.isalpha())
                + f", {name}"
                for key, name in p.items()
            ]
            self.state.question = f"Is your {' and your '.join(spelt)}?"
            return self.state.question
        if p.get("pet_name"):
            heard = f"{p['pet_name']} as your {pet_word}'s name"
        elif p.get("phone"):
            heard = f"{n.format_phone_for_speech(p['phone'])} as your phone number"
        elif p.get("email"):
            heard = f"{n.format_email_for_speech(p['email'])} as your email address"
        else:
            name = " ".join(v for v in (p.get("first_name"), p.get("last_name")) if v)
            heard = f"{name} as your {'last name' if 'first_name' not in p else 'name'}"
        self.state.question = f"I heard {heard}. Is that right?"
        return self.state.question


def _candidates(step: str, options: StepOptions) -> list[str]:
    """The options put to the caller one at a time, most likely first."""
    if step == "species":
        return list(options.species)
    if step == "appointment_type":
        if options.proposed_type:
            return [options.proposed_type]
        # A consultation is what most callers who cannot name the type need.
        types = list(options.appointment_types)
        return sorted(types, key=lambda t: "consult" not in t.lower())
    if step == "clinician":
        return [*options.clinicians, ANYONE_CHOICE]
    if step == "time":
        return list(options.times)
    if step == "date":
        return [FIRST_FREE]
    return []


def _proposal_key(step: str) -> str:
    return {"time": "time", "date": "asap"}.get(step, step)


def _proposal_value(step: str, value: str) -> Any:
    if step == "date":
        return True
    if step == "clinician" and value == ANYONE_CHOICE:
        return ANYONE
    return value


def _species_hint(options: StepOptions) -> str:
    if 1 < len(options.species) <= 3:
        return f"You can also tap {' or '.join(options.species)} on the screen."
    return "You can also tap your answer on the screen."


def _digits(text: str) -> str:
    return n.spoken_digits(text)


_NUMBER_LEAD_INS = frozenset({"it's", "its", "it", "is", "my", "number", "the", "um", "er", "so"})


def _first_part(text: str) -> bool:
    """The caller gave only a phone number's first group ("oh seven seven oh oh"): 4 to 6
    digits from its start, and nothing but number words."""
    digits = _digits(text)
    words = re.findall(r"[a-z']+", n.spoken_number(text).lower())
    numbers_only = all(w in _NUMBER_LEAD_INS for w in words)
    return 4 <= len(digits) <= 6 and digits.startswith("0") and numbers_only


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
