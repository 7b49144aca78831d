"""The booking assistant: one conversation, driven turn by turn with the caller's words.

The booking state lives here, in code. Each turn:
1. the language model proposes one tool call for the caller's words (grammar-constrained),
2. every proposed value is checked against those words (or the options offered) and dropped
   if the caller never said it; deterministic parsers add phone numbers, e-mails, dates and
   times in their normal form,
3. the dialog decides the next step, runs the real Vetstoria calls (availability, booking),
4. and answers from templates that only state facts the tools returned.
Nothing is booked without an explicit yes to a read-back of every detail, and "booked" is
said only after Vetstoria answered 201.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from petvisor_desktop.dialog import grounding as g
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog import repair as r
from petvisor_desktop.dialog import replies
from petvisor_desktop.dialog.availability import (
    OFFER_COUNT,
    Availability,
    SlotSearch,
    ToolCallRecord,
    Wanted,
    one_per_start,
    spread,
)
from petvisor_desktop.dialog.journal import Journal, Recorder
from petvisor_desktop.dialog.tools import (
    ANYONE,
    Catalogue,
    examples,
    step_tools,
    system_prompt,
    user_message,
)
from petvisor_desktop.hours import OpeningHours
from petvisor_desktop.llm.chat_model import ChatMessage, ChatModel, LlmError
from petvisor_desktop.llm.grammar import parse_call, tool_call_grammar
from vetstoria.errors import SlotTakenError, VetstoriaError
from vetstoria.models import BookingRequest, CatalogueItem, ClientDetails, Slot

log = logging.getLogger(__name__)

# The details a caller can correct by touch on the booking card, and what of the booking
# state each one forgets (so that it is asked again).
FORGETS = {
    "species": ("species",),
    "appointment_type": ("appointment_type", "proposed_type"),
    "clinician": ("clinician",),
    "date": ("day", "part_of_day"),
    "time": ("slot",),
    "pet_name": ("pet_name",),
    "client_name": ("first_name", "last_name"),
    "phone": ("phone",),
    "email": ("email",),
}
CHANGEABLE = tuple(FORGETS)

# What a reply waits for: each detail of the booking, then the read-back and the end.
EXPECTING = (*CHANGEABLE, "confirm", "anything_else", "none")
LOOKAHEAD_DAYS = 14

_ASKED = {
    "species": "which animal",
    "appointment_type": "appointment type",
    "clinician": "which vet",
    "date": "which day",
    "time": "which time",
    "pet_name": "pet's name",
    "client_name": "your name",
    "phone": "phone number",
    "email": "email address",
    "confirm": "shall I book it",
    "anything_else": "anything else",
    "none": "how can I help",
}
_ABANDON = re.compile(
    r"\b(don'?t book|do not book|changed my mind|forget it|never ?mind|not any ?more|leave it|"
    r"cancel that|no thanks?,? (?:i'?ll|i will)|stop)\b",
    re.I,
)
_NO_EMAIL = re.compile(
    r"\b(don'?t have (?:one|an? e-?mail)|no e-?mail|haven'?t got (?:one|an? e-?mail)|skip|"
    r"rather not|prefer not|none)\b",
    re.I,
)
# What an answer may set when it also carries an off-task instruction.
_FIELDS_FOR = {
    "species": ("species",),
    "appointment_type": ("appointment_type",),
    "clinician": ("clinician",),
    "date": ("day", "part_of_day", "weekend", "asap"),
    "time": ("slot", "wanted_time"),
    "pet_name": ("pet_name",),
    "client_name": ("first_name", "last_name"),
    "phone": ("phone", "phone_problem"),
    "email": ("email", "email_declined"),
}
_ORDINALS = {
    "first": 0,
    "earliest": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "middle": 1,
    "third": 2,
    "3rd": 2,
}
_LAST = re.compile(r"\b(last|latest)\b", re.I)
# Words that show a number was meant as the caller's phone number, at any step.
_PHONE_CUE = re.compile(r"\b(phone|number|mobile|landline|call me|ring me|contact)\b", re.I)
# Words that may surround a phone number without adding anything to it.
# What a bare "no" to the read-back may say besides no: nothing that names a detail.
_BARE_NO_WORDS = frozenset(
    {"no", "nope", "nah", "not", "thanks", "thank", "you", "it", "its", "isnt", "wrong",
     "right", "quite", "sorry", "actually", "correct", "please"}
)  # fmt: skip
_PLAIN_ANSWER_WORDS = frozenset(
    {
        "my", "number", "is", "it's", "its", "it", "s", "the", "phone", "mobile", "oh", "o",
        "zero", "nought", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        "double", "triple", "treble", "hundred", "plus", "yes", "yeah", "sure", "ok", "okay",
        "that's", "that", "thats",
    }
)  # fmt: skip


class BookingApi(SlotSearch, Protocol):
    def book(self, request: BookingRequest) -> Any: ...


@dataclass(frozen=True)
class Foresight:
    """What the model made of an utterance before the caller's turn was over (the voice
    loop asks during the end-of-turn silence). Used only if the same words arrive in the
    same dialog state."""

    key: tuple[Any, ...]
    tool: str
    args: dict[str, Any]
    calls: tuple[ToolCallRecord, ...]
    llm: dict[str, float]


@dataclass(frozen=True)
class AssistantTurn:
    """One assistant reply and everything measured while making it."""

    text: str
    expecting: str
    tool_calls: tuple[ToolCallRecord, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    llm_ms: float = 0.0
    llm_first_token_ms: float = 0.0
    grammar_ms: float = 0.0
    total_ms: float = 0.0
    grounding_rejections: tuple[str, ...] = ()
    done: bool = False
    outcome: str | None = None
    card: dict[str, Any] = field(default_factory=dict)
    # The short answers to the question asked, to say or tap ("Cat", "9:15am", "Yes"); none
    # for an open question (names, phone, e-mail, date). See repair.choices.
    choices: tuple[str, ...] = ()
    # The repair this reply is (repair.Repair.kind: "species:propose", "phone:parts",
    # "pet_name:spell", "phone:confirm-heard"...), or None for an ordinary reply.
    repair: str | None = None
    # The details this reply read back, by meaning (`Assistant.read_back_details`), when it
    # is the read-back; and whether a yes to it places the booking (the read-back, its
    # yes-or-no repair, "Shall I try again?"). The simulator's safety checks use these, not
    # the words.
    read_back: dict[str, str] | None = None
    asks_to_book: bool = False
    # This reply's row in the history (None when nothing is recorded): what is learnt
    # about it later (what the caller heard of it, its latency) goes to this row, whatever
    # replies came since.
    row_id: int | None = None


@dataclass
class BookingState:
    species: str | None = None
    appointment_type: str | None = None
    clinician: str | None = None  # a clinician's name or ANYONE
    day: date | None = None
    part_of_day: str | None = None
    offered: list[Slot] = field(default_factory=list)
    slot: Slot | None = None
    pet_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    email_declined: bool = False
    notes: str = ""
    proposed_type: str | None = None  # inferred, waiting for the caller's yes

    def card(self, tz: ZoneInfo) -> dict[str, Any]:
        """What the booking card shows."""
        return {
            "species": self.species,
            "appointment_type": self.appointment_type,
            "clinician": self.clinician,
            "date": self.day.isoformat() if self.day else None,
            "part_of_day": self.part_of_day,
            "time": self.slot.start.astimezone(tz).strftime("%H:%M") if self.slot else None,
            "pet_name": self.pet_name,
            "client_name": " ".join(p for p in (self.first_name, self.last_name) if p) or None,
            "phone": self.phone,
            "email": self.email,
        }


class Assistant:
    """One conversation with one caller. Not thread-safe; the engine runs it on one worker."""

    def __init__(
        self,
        model: ChatModel,
        api: BookingApi,
        catalogue: dict[str, list[CatalogueItem]],
        *,
        clinic_name: str,
        clinic_phone: str,
        timezone: str,
        now: Callable[[], datetime] | None = None,
        recorder: Recorder | None = None,
        conversation_id: int | None = None,
        min_lead_minutes: int = 30,
        hours: OpeningHours | None = None,
        emergency_phone: str | None = None,
        phone_country: str = n.DEFAULT_PHONE_COUNTRY,
    ) -> None:
        # Whose numbering plan a caller's phone number must fit (no clinic setting names a
        # country yet, so the UK unless told otherwise).
        self.phone_country = phone_country
        self.min_lead_minutes = min_lead_minutes  # no time offered that the caller cannot reach
        self.hours = hours or OpeningHours()  # none kept: reception is taken to be staffed
        self.emergency_phone = emergency_phone or clinic_phone
        self.model = model
        self.api = api
        self.tz = ZoneInfo(timezone)
        self._now = now or (lambda: datetime.now(self.tz))
        self.clinic_name = clinic_name
        self.clinic_phone = clinic_phone
        self.availability = Availability(api, catalogue, self.tz, self.now, min_lead_minutes)
        self.species_ids = self.availability.species_ids
        self.type_ids = self.availability.type_ids
        self.schedule_ids = self.availability.schedule_ids
        self.schedule_names = self.availability.schedule_names
        self.catalogue = Catalogue(
            tuple(self.species_ids), tuple(self.type_ids), tuple(self.schedule_ids)
        )
        self.state = BookingState()
        self.expecting = "none"
        self.outcome: str | None = None
        self.handoff_reason: str | None = None
        self.done = False
        self.journal = Journal(recorder, conversation_id)  # the history writes
        self.turns: list[AssistantTurn] = []
        self.preferences: list[str] = []
        self._pending_retry = False
        self._wanted_time: dtime | None = None
        self._asap = False  # the caller wants the first free time, whatever the day
        self._read_back_given = False  # the last reply was the full read-back
        self._retried = False  # one retry of a failed booking, offered once
        # Times Vetstoria refused as taken (start, schedule): never offered again, even when
        # a search made just after still lists them.
        self._taken: set[tuple[datetime, int]] = set()
        # Values the caller said were wrong at the read-back, by detail (lower case).
        self._refused: dict[str, set[str]] = {}
        # What the current turn did, reset at the start of each caller turn.
        self._calls: list[ToolCallRecord] = []
        self._rejections: list[str] = []
        self._llm: dict[str, float] = {}
        # How a misheard answer is repaired (a narrower question, the phone in parts, a name
        # spelled, a doubtful value read back), and how sure the recogniser was of this turn.
        self.repair = r.Repair(self.phone_country)
        self._confidence: float | None = None
        self._asked_what_to_change = False  # "What would you like to change?" was just asked
        self._preface = ""  # said before the next reply (a refusal of an off-task request)
        self._phone_problems = 0  # numbers in a row that could not be a phone number
        self._on_file_email: str | None = None  # "" once looked up and nothing usable found
        self._today = self.now().date()
        self._prefix = [
            ChatMessage("system", system_prompt(self.catalogue, self._today)),
            *examples(self.catalogue, self._today),
        ]

    # -- public ---------------------------------------------------------------------------
    def now(self) -> datetime:
        value = self._now()
        return value.astimezone(self.tz) if value.tzinfo else value.replace(tzinfo=self.tz)

    def warm(self, cache_dir: Path | None = None) -> float:
        """Put the fixed prompt in the model's cache before the first caller speaks (from
        `cache_dir` when it was evaluated there before)."""
        warm = getattr(self.model, "warm", None)
        if warm is None:
            return 0.0
        return float(warm(self._prefix, cache_dir) if cache_dir else warm(self._prefix))

    def greet(self) -> AssistantTurn:
        if self._reception_open():
            offer = "I can book an appointment for your cat or dog."
        else:
            offer = (
                "We're closed at the moment, but I can still book an appointment for your cat "
                "or dog."
            )
        text = f"Hello, welcome to {self.clinic_name}. {offer} How can I help?"
        return self._reply(text, "none", time.perf_counter())

    def foresee(self, caller_text: str) -> Foresight | None:
        """Run the model on words the caller may be done saying, without touching the
        conversation: `respond` then skips the model if those words are what came. None
        when no model call would be needed."""
        text = caller_text.strip()
        if not text or self.done:
            return None
        handoff = g.detect_handoff(text)
        if handoff == "emergency" or self._rules_suffice(text, handoff):
            return None
        saved = (self._calls, self._llm)
        self._calls, self._llm = [], {}
        try:
            tool, args = self._understand(text)
            return Foresight(self._foresight_key(text), tool, args, tuple(self._calls), self._llm)
        finally:
            self._calls, self._llm = saved

    def _foresight_key(self, text: str) -> tuple[Any, ...]:
        """Everything the model's prompt and grammar depend on."""
        return (
            text.strip(),
            self.expecting,
            tuple(self._offered_times()),
            self.state.proposed_type,
            self._today,
            self.repair.key(),
        )

    def respond(
        self,
        caller_text: str,
        foresight: Foresight | None = None,
        *,
        confidence: float | None = None,
    ) -> AssistantTurn:
        """Take the caller's words; return the assistant's answer. `confidence` is the
        recogniser's for the utterance (0 to 1); None for typed or touched input, which is
        trusted. A phone number, name or e-mail heard below `repair.LOW_CONFIDENCE` is read
        back before it is used."""
        started = time.perf_counter()
        self._confidence = confidence
        text = caller_text.strip()
        self.journal.caller(text, self.expecting)
        if self.done:
            return self._reply("Thank you, goodbye.", "none", started, done=True)
        if not text:
            return self._reply(
                "Sorry, I didn't catch that. " + self._question(), self.expecting, started
            )
        self._calls = []
        self._rejections = []
        self._llm = {}

        # Emergencies are answered at once, before any model call.
        handoff = g.detect_handoff(text)
        if handoff == "emergency":
            return self._handoff("emergency", started)
        if g.detect_hours_question(text):
            # Answered from the settings, then the booking goes on where it was; anything
            # else said with the question is understood as usual.
            answer = self._hours_answer(text)
            if g.only_about_hours(text):
                self._calls.append(ToolCallRecord("opening_hours", {}, "rules", 0.0))
                return self._reply(answer + self._question(), self.expecting, started)
            self._preface = answer

        if self._rules_suffice(text, handoff):
            tool, args = "rules", dict[str, Any]()
            self._calls.append(ToolCallRecord("understand", {}, "rules", 0.0))
        elif foresight is not None and foresight.key == self._foresight_key(text):
            tool, args = foresight.tool, dict(foresight.args)
            self._calls.extend(foresight.calls)
            self._llm = dict(foresight.llm)
        else:
            tool, args = self._understand(text)
        return self._decide(text, tool, args, handoff, started)

    def hand_off(self, reason: str = "person") -> AssistantTurn:
        """The caller asked for a person without words (the "Talk to reception" button)."""
        started = time.perf_counter()
        self.journal.caller("(pressed Talk to reception)", self.expecting)
        if self.done:
            return self._reply("Thank you, goodbye.", "none", started, done=True)
        self._calls, self._rejections, self._llm = [], [], {}
        return self._handoff(reason, started)

    def change(self, field: str, said: str | None = None) -> AssistantTurn:
        """The caller touched "Change" on a detail of the card: forget it and ask for it
        again; the rest is kept, and the read-back follows once it is given."""
        started = time.perf_counter()
        if field not in CHANGEABLE:
            raise ValueError(f"unknown booking detail {field!r}")
        self.journal.caller(said or f"(touched Change: {field})", self.expecting)
        if self.done:
            return self._reply("Thank you, goodbye.", "none", started, done=True)
        self._calls, self._rejections, self._llm = [], [], {}
        st = self.state
        if field in ("species", "appointment_type", "clinician", "date"):
            st.slot, st.offered = None, []  # the times offered depended on it
        for name in FORGETS[field]:
            setattr(st, name, None)
        if field == "email":
            st.email_declined = False  # asked again, so it may be given this time
        self.repair.reset()
        return self._advance(started, True)

    @property
    def read_back_given(self) -> bool:
        """The last reply was the full read-back: a yes now books."""
        return self._read_back_given

    def _rules_suffice(self, text: str, handoff: str | None) -> bool:
        """Plain answers that the parsers understand completely skip the model: a phone
        number when asked for one, an e-mail address, a bare yes at the read-back. Anything
        with more in it (a correction, a question) goes to the model."""
        if handoff or g.detect_off_task(text):
            return False
        if self.repair.wants_plain_answer(self.expecting, text):
            return True  # a bare yes or no, a part of the phone number, spelled letters
        if g.only_unanswerable_question(text):
            return True  # "how much is it?": reception answers that; nothing to understand
        extra = [
            w for w in g.normalise_words(text) if w not in _PLAIN_ANSWER_WORDS and not w.isdigit()
        ]
        if self.expecting == "phone":
            # A number that cannot be right is questioned without the model, too.
            return n.check_phone(text, self.phone_country) is not None and not extra
        if self.expecting == "email":
            return (
                n.parse_email(text) is not None
                and len(extra) <= 8
                and n.parse_date(text, self._today) is None
            )
        if self.expecting in ("confirm", "anything_else"):
            plain = (
                len(text.split()) <= 6
                and n.is_yes(text) != n.is_no(text)
                and not n.parse_date(text, self._today)
                and not n.parse_phone(text)
            )
            if plain and self.expecting == "confirm" and n.is_no(text):
                # "No, her name is Bella" corrects the read-back: only a bare no skips it.
                return all(w in _BARE_NO_WORDS for w in extra)
            return plain
        return False

    # -- understanding -------------------------------------------------------------------
    def _offered_times(self) -> list[str]:
        return [s.start.astimezone(self.tz).strftime("%H:%M") for s in self.state.offered]

    def _understand(self, text: str) -> tuple[str, dict[str, Any]]:
        yes_no = (
            self.expecting in ("confirm", "anything_else") or self.state.proposed_type is not None
        )
        tools = step_tools(self.catalogue, self._today, self._offered_times(), yes_no)
        messages = [
            *self._prefix,
            ChatMessage(
                "user",
                user_message(
                    _ASKED.get(self.expecting, "how can I help"), text, self._offered_times()
                ),
            ),
        ]
        t0 = time.perf_counter()
        try:
            result = self.model.complete(messages, tool_call_grammar(tools))
            name, args = parse_call(result.text, tools)
        except (LlmError, ValueError) as exc:
            log.warning("the model's tool call was unusable: %s", exc)
            self._calls.append(
                ToolCallRecord("understand", {}, "error", (time.perf_counter() - t0) * 1000)
            )
            return "other", {}
        self._llm = {
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "llm_ms": result.total_ms,
            "first_ms": result.first_token_ms,
            "grammar_ms": result.grammar_ms,
        }
        self._calls.append(ToolCallRecord(name, dict(args), "ok", result.total_ms))
        return name, args

    def _reject(self, key: str, value: Any) -> None:
        self._rejections.append(f"{key}={value}")
        log.debug("dropped an ungrounded %s", key)

    def _ground(self, text: str, args: dict[str, Any]) -> dict[str, Any]:
        """Keep only values the caller said; add what the parsers find in the words."""
        st = self.state
        found: dict[str, Any] = {}

        # The detectors understand negation and corrections ("Roberts, not Norman"), so
        # where they find a value it wins; the model's value is used only when grounded.
        detected = g.detect_species(text)
        self._choose(
            found,
            "species",
            detected if detected in self.species_ids else None,
            args.get("species"),
            g.species_grounded,
            text,
        )
        self._choose(
            found,
            "appointment_type",
            g.detect_appointment_type(text, self.catalogue.appointment_types),
            args.get("type"),
            g.appointment_type_grounded,
            text,
        )

        vet = args.get("vet")
        named = g.detect_clinician(text, self.catalogue.clinicians)
        if named:
            found["clinician"] = named
        elif vet and vet != ANYONE and g.clinician_grounded(vet, text):
            found["clinician"] = vet
        elif g.detect_any_clinician(text) and (vet == ANYONE or self.expecting == "clinician"):
            found["clinician"] = ANYONE
        if vet and found.get("clinician") != vet:
            self._reject("vet", vet)

        # Dates and parts of day count only where the caller asks for a time: not in past
        # events ("limping since the weekend") nor in small talk ("lovely weather today").
        when_text = _booking_clauses(text)
        date_step = self.expecting in ("date", "time", "confirm")
        if not date_step and not _BOOKING_CUE.search(when_text):
            when_text = ""
        ask = n.parse_date(when_text, self._today) if when_text else None
        if ask is not None:
            found["day"] = ask.day
            found["weekend"] = ask.weekend
        elif when_text and not st.offered and _ASAP.search(when_text):
            found["asap"] = True
        elif args.get("date"):
            day = date.fromisoformat(args["date"])
            if when_text and _date_grounded(day, when_text):
                found["day"] = day
                found["weekend"] = day.weekday() >= 5
            else:
                self._reject("date", args["date"])
        part = n.parse_part_of_day(when_text) if when_text else None
        if part:
            found["part_of_day"] = part

        if st.offered and (self.expecting == "time" or n.parse_time(text) is not None):
            slot = self._pick_offered(text, args.get("time"))
            if slot is not None:
                found["slot"] = slot
        if "slot" not in found and self.expecting in (
            "none",
            "date",
            "time",
            "confirm",
            "clinician",
        ):
            wanted = n.parse_time(text)
            if wanted is not None:
                found["wanted_time"] = wanted

        tail = _after_correction(text)
        at_read_back = self.expecting == "confirm"  # every detail is open to correction there
        own_name_ok = (
            self.expecting == "client_name" or at_read_back or bool(_SELF_CUE.search(text))
        )
        pet_name_ok = self.expecting == "pet_name" or at_read_back or bool(_PET_CUE.search(text))
        for key, target in (("pet", "pet_name"), ("first", "first_name"), ("last", "last_name")):
            value = args.get(key)
            allowed = pet_name_ok if key == "pet" else own_name_ok
            if value and (not allowed or _is_animal_word(value) or _negated(value, text)):
                self._reject(key, value)
                continue
            if value and tail and not g.name_grounded(value, tail):
                self._reject(key, value)  # said, then taken back
                guess = _bare_name(_last_sentence(tail), allow_two=target != "pet_name")
                if guess and target == "pet_name":
                    found["pet_name"] = guess
                elif guess and target == "first_name":
                    found["first_name"], _, last = guess.partition(" ")
                    if last:
                        found["last_name"] = last
                continue
            if value and g.name_grounded(value, text) and not _is_stopword_name(value):
                found[target] = _title(value)
            elif value:
                self._reject(key, value)
        if self.expecting == "pet_name" and "pet_name" not in found:
            guess = _bare_name(text)
            if guess and not _is_animal_word(guess):
                found["pet_name"] = guess
        if self.expecting == "client_name" and "first_name" not in found:
            guess = _bare_name(text, allow_two=True)
            if guess:
                parts = guess.split()
                found["first_name"] = parts[0]
                if len(parts) > 1:
                    found["last_name"] = " ".join(parts[1:])
        if self.expecting == "client_name" and st.first_name and "first_name" not in found:
            guess = _bare_name(text)
            if guess and "last_name" not in found and guess.lower() != st.first_name.lower():
                found["last_name"] = guess
        if found.get("first_name") and found.get("last_name") == found.get("first_name"):
            found.pop("last_name")
        if found.get("first_name") or found.get("last_name"):
            first, last = _split_full_name(
                _expand_name(found.get("first_name") or st.first_name or "", text),
                _expand_name(found.get("last_name") or "", text),
            )
            if first:
                found["first_name"] = first
            if last:
                found["last_name"] = last
        if found.get("pet_name"):
            found["pet_name"] = _expand_name(found["pet_name"], text)
            introduced = _SELF_NAMED.search(text)
            names = (
                found.get("first_name"),
                found.get("last_name"),
                st.first_name,
                st.last_name,
                introduced.group(1) if introduced else None,
            )
            own = {w.lower() for name in names if name for w in re.split(r"[\s-]+", name)}
            if own & {w.lower() for w in re.split(r"[\s-]+", found["pet_name"])}:
                self._reject("pet", found.pop("pet_name"))  # the caller's own name, not the pet's

        phone = n.check_phone(text, self.phone_country)
        if phone is not None and phone.number:
            found["phone"] = phone.number
        elif phone is not None and (
            self.expecting in ("phone", "confirm") or _PHONE_CUE.search(text)
        ):
            found["phone_problem"] = phone.problem  # "That sounded like 13 digits; ..."
        email = n.parse_email(text)
        if email:
            found["email"] = email
        elif self.expecting == "email" and _NO_EMAIL.search(text):
            found["email_declined"] = True

        reason = args.get("reason")
        if reason and _words_in(reason, text):
            found["notes"] = reason
        return found

    def _choose(
        self,
        found: dict[str, Any],
        key: str,
        detected: str | None,
        proposed: str | None,
        grounded: Callable[[str, str], bool],
        text: str,
    ) -> None:
        """The detector's value wins; the model's is used only when the words support it."""
        if detected:
            found[key] = detected
        elif proposed and grounded(proposed, text):
            found[key] = proposed
        if proposed and found.get(key) != proposed:
            self._reject(key, proposed)

    def _pick_offered(self, text: str, model_time: str | None) -> Slot | None:
        times = self._offered_times()
        if g.detect_time_shift(text):
            # "Have you got a later one?" asks for other times; it takes none of these.
            if model_time:
                self._reject("time", model_time)
            return None
        said = n.parse_time(text)
        if said is not None:
            key = said.strftime("%H:%M")
            if key in times:
                return self.state.offered[times.index(key)]
        lowered = text.lower()
        if _LAST.search(lowered):
            return self.state.offered[-1]
        for word, index in _ORDINALS.items():
            if re.search(rf"\b{word}\b", lowered) and index < len(times):
                return self.state.offered[index]
        if (
            model_time in times
            and said is None
            and re.search(r"\b(that|one|yes|ok|fine)\b", lowered)
        ):
            return self.state.offered[times.index(model_time)]
        if len(times) == 1 and said is None and n.is_yes(text):
            return self.state.offered[0]  # "Would 3:45pm suit you?" "Yes, fine."
        if model_time:
            self._reject("time", model_time)
        return None

    # -- deciding ------------------------------------------------------------------------
    def _decide(
        self, text: str, tool: str, args: dict[str, Any], handoff: str | None, started: float
    ) -> AssistantTurn:
        st = self.state
        lowered = text.lower()
        unanswerable = g.detect_unanswerable_question(text) if handoff is None else None
        if unanswerable:
            # Prices, directions, medicines...: no facts here to answer from, so none are
            # invented; the booking goes on where it was.
            answer = self._cannot_answer(unanswerable)
            if g.only_unanswerable_question(text):
                self._calls.append(
                    ToolCallRecord("cannot_answer", {"topic": unanswerable}, "rules", 0.0)
                )
                return self._reply(answer + self._ask_again(), self.expecting, started)
            self._preface += answer
        if self.expecting == "anything_else":
            if handoff:
                return self._handoff(handoff, started)
            if n.is_no(text) or re.search(
                r"\b(bye|thanks|thank you|that'?s all|nothing)\b", lowered
            ):
                return self._reply(
                    "You're welcome. Goodbye, and take care.", "none", started, done=True
                )
            return self._reply(
                "I can only make one booking at a time here. For anything else, the reception "
                f"team will be glad to help, or call {self.clinic_phone}. Goodbye.",
                "none",
                started,
                done=True,
            )

        if (
            self.expecting == "confirm"
            and _ABANDON.search(text)
            and not _mentions_existing_booking(text)
        ):
            self.outcome = "no_booking"
            st.offered, st.slot = [], None
            return self._reply(
                "No problem, I haven't booked anything. Is there anything else I can help with?",
                "anything_else",
                started,
            )

        if handoff in ("cancel", "reschedule", "person"):
            return self._handoff(handoff, started)
        other = g.detect_other_species(text)
        if other and not g.detect_species(text) and st.species is None:
            return self._handoff("species", started, animal=other)
        if tool == "handoff" and args.get("reason") == "species" and other:
            return self._handoff("species", started, animal=other)

        steering = g.detect_off_task(text)
        if steering:
            # Instructions from the caller change nothing; whatever else they said still counts.
            self._preface += "I can only help with booking one appointment, so I'll leave that. "

        found = self._ground(text, args)
        if steering:
            # An utterance carrying instructions gives only the answer that was asked for.
            allowed = _FIELDS_FOR.get(self.expecting, ())
            found = {k: v for k, v in found.items() if k in allowed}
        found, turn = self._read_repair(text, found, started)
        if turn is not None:
            return turn
        correcting = self.expecting == "confirm" and n.is_no(text)
        if correcting:
            misheard = self._corrected_to_the_same(found)
            if misheard:
                return self._misheard_again(misheard, started)
            self._remember_refused(found)
        changed = self._apply(found)
        if self.repair.state.pending:
            return self._advance(started, changed)  # heard with low confidence: check first

        if found.get("phone_problem") and "phone" not in found:
            # A number that cannot be one of the country's is said back as wrong, never taken.
            if self.expecting == "confirm":
                st.phone = None
            if st.phone is None:
                self._phone_problems += 1
                if self._phone_problems == 1:
                    return self._reply(
                        found["phone_problem"] + " Could you say it again?", "phone", started
                    )
                # Wrong again: what was wrong, then the step's repair (a narrower question,
                # and a person if that fails too), not the same question in a loop.
                self._preface += found["phone_problem"] + " "
                return self._advance(started, changed)
        if st.phone is not None:
            self._phone_problems = 0
        turn = self._change_offered_times(text, found, started)
        if turn is not None:
            return turn

        if self.expecting == "email" and self._on_file_email and st.email is None:
            if n.is_yes(text):
                st.email, changed = self._on_file_email, True
            elif n.is_no(text) and not found.get("email"):
                self._on_file_email = ""
                return self._reply(
                    "No problem. What email address should we use?", "email", started
                )

        if self._pending_retry and n.is_yes(text) and not changed:
            self._pending_retry = False
            return self._place_booking(started)
        self._pending_retry = False

        if st.proposed_type and not found.get("appointment_type"):
            if n.is_yes(text):
                st.appointment_type, st.proposed_type = st.proposed_type, None
                changed = True
            elif n.is_no(text):
                st.proposed_type = None
                changed = True  # an answer, not a miss: the open question follows

        if self.expecting == "confirm" and not changed:
            # Only a yes to the full read-back books; a yes to anything else reads it again.
            if n.is_yes(text) and self._read_back_given:
                return self._place_booking(started)
            if n.is_yes(text):
                return self._advance(started, True)
            if (n.is_no(text) or tool == "answer") and not self._asked_what_to_change:
                turn = self._reply(
                    "Sorry about that. What would you like to change?",
                    "confirm",
                    started,
                    choices=(),
                )
                self._asked_what_to_change = True
                return turn
            if self._asked_what_to_change:
                # Still nothing to change: read it all back again rather than ask the same
                # question in a loop; a yes to that books, and touch works too.
                return self._advance(started, True)

        return self._advance(started, changed)

    def _corrected_to_the_same(self, found: dict[str, Any]) -> str | None:
        """The step whose value the caller said is wrong ("No, her name is Bella") while
        naming, as heard, the value already held or one already refused (misheard the same
        way each time), or a step corrected once already (misheard a new way each time:
        "Bell", "Bill", "Belle")."""
        st = self.state

        def same(key: str) -> bool:
            held, said = getattr(st, key), found.get(key)
            if not said:
                return False
            said = str(said).lower()
            return said in self._refused.get(key, set()) or (
                bool(held) and str(held).lower() == said
            )

        def again(key: str) -> bool:  # corrected before: a second try by ear will not do
            return bool(found.get(key)) and bool(self._refused.get(key))

        if same("pet_name") or again("pet_name"):
            return "pet_name"
        names = [k for k in ("first_name", "last_name") if found.get(k)]
        if names and (all(same(k) for k in names) or any(again(k) for k in names)):
            return "client_name"
        if same("phone") or again("phone"):
            return "phone"
        return None

    def _misheard_again(self, step: str, started: float) -> AssistantTurn:
        """Hearing the same correction again will not help: the step's repair does (the
        name spelled letter by letter, the number in parts), then the read-back again."""
        for key in FORGETS[step]:
            held = getattr(self.state, key)
            if held:
                self._refused.setdefault(key, set()).add(str(held).lower())
            setattr(self.state, key, None)
        self.repair.refuse(step)
        miss = self.repair.miss(step, self._options(), first_name_known=False)
        if miss.handoff or not miss.question:
            return self._advance(started, True)
        return self._reply(miss.question, step, started, repair=miss.kind)

    def _remember_refused(self, found: dict[str, Any]) -> None:
        """A value the caller put right at the read-back is never read back to them again."""
        for key in ("pet_name", "first_name", "last_name", "phone"):
            held, said = getattr(self.state, key), found.get(key)
            if held and said and str(said).lower() != str(held).lower():
                self._refused.setdefault(key, set()).add(str(held).lower())

    def _apply(self, found: dict[str, Any]) -> bool:
        """Update the state; a change to what the slot depends on clears the offered times."""
        st = self.state
        changed = False
        resets_slot = ("species", "appointment_type", "clinician", "day", "part_of_day")
        for key in (
            "species",
            "appointment_type",
            "clinician",
            "day",
            "part_of_day",
            "pet_name",
            "first_name",
            "last_name",
            "phone",
            "email",
        ):
            if key in found and found[key] is not None and getattr(st, key) != found[key]:
                setattr(st, key, found[key])
                changed = True
                if key in resets_slot:
                    st.slot = None
                    if key != "part_of_day" or self.expecting != "time":
                        st.offered = []
                if key == "clinician" and found[key] != ANYONE:
                    self.preferences.append(f"asked for {found[key]}")
                if key == "part_of_day":
                    self.preferences.append(f"prefers {found[key]}s")
        if (
            "day" in found
            and found["day"] is not None
            and "part_of_day" not in found
            and st.slot is None
        ):
            st.offered = []
        if found.get("email_declined") and not st.email:
            st.email_declined = True
            changed = True
        if "slot" in found and found["slot"] != st.slot:
            st.slot = found["slot"]
            st.day = st.slot.start.astimezone(self.tz).date()
            changed = True
        if (
            st.slot is not None
            and st.day is not None
            and st.slot.start.astimezone(self.tz).date() != st.day
        ):
            st.slot = None  # the caller moved the day; the old time no longer applies
        if found.get("notes") and not st.notes:
            st.notes = found["notes"]
        if found.get("weekend"):
            st.offered = []
        if found.get("asap") and "day" not in found:
            st.day, st.slot, st.offered = self._today, None, []
            self._asap = True
            changed = True
        if found.get("wanted_time") is not None:
            self._wanted_time = found["wanted_time"]
            st.slot = None
            changed = True
        return changed

    def _advance(self, started: float, changed: bool) -> AssistantTurn:
        """Ask for the next missing detail, check availability, or read back. An answer that
        was not understood is not met with the same question again: the step's repair
        (repair.py) asks a different one, and a person takes over only when that fails too."""
        st = self.state
        if self.repair.state.pending:
            question = self.repair.confirm_question(st.species.lower() if st.species else "pet")
            step = self.repair.pending_step
            return self._reply(question, step, started, repair=f"{step}:confirm-heard")
        prefix = ""
        step = self._next_step()
        if changed or self.expecting != step or (step == "time" and not st.offered):
            self.repair.reset()
        else:
            miss = self.repair.miss(
                step,
                self._options(),
                first_name_known=st.first_name is not None,
                read_back_given=self._read_back_given,
            )
            if miss.handoff:
                return self._handoff("not_understood", started)
            if miss.question:
                # Nothing changed since the full read-back, so a yes to "Shall I book it?" books.
                return self._reply(
                    miss.question,
                    step,
                    started,
                    repair=miss.kind,
                    keep_read_back=self._read_back_given,
                )
            if miss.leave_off:
                st.email_declined = True
                self._preface = (
                    "I'm sorry, I'm struggling to catch the email address, so I'll leave it "
                    "off; reception can add it later. "
                )
            prefix = miss.prefix
        if st.species is None:
            return self._reply(
                prefix + "Is the appointment for a cat or a dog?", "species", started
            )
        if st.appointment_type is None:
            if st.proposed_type:
                return self._reply(
                    prefix + r.type_question(st.proposed_type), "appointment_type", started
                )
            options = _join_or([t.lower() for t in self.catalogue.appointment_types])
            return self._reply(
                prefix + f"What kind of appointment do you need: {options}?",
                "appointment_type",
                started,
            )
        if st.clinician is None:
            names = _join_or(list(self.catalogue.clinicians))
            return self._reply(
                prefix + f"Would you like to see {names}, or whoever is free first?",
                "clinician",
                started,
            )
        if st.day is None:
            return self._reply(
                prefix + "What day would suit you, and do you prefer morning or afternoon?",
                "date",
                started,
            )
        if st.slot is None:
            if self._wanted_time is not None:
                return self._take_wanted_time(started)
            if not st.offered:
                return self._offer_times(started)
            return self._reply(prefix + self._offer_sentence(), "time", started)
        if st.pet_name is None:
            return self._reply(
                prefix + f"Lovely. What's your {st.species.lower()}'s name?", "pet_name", started
            )
        if st.first_name is None:
            return self._reply(
                prefix + "And your first and last name, please?", "client_name", started
            )
        if st.last_name is None:
            return self._reply(
                prefix + f"Thanks, {st.first_name}. And your last name?", "client_name", started
            )
        if st.phone is None:
            return self._reply(
                prefix + "What's the best phone number to reach you?", "phone", started
            )
        if st.email is None and not st.email_declined and self._on_file_email is None:
            self._on_file_email = self._returning_caller_email()
            if self._on_file_email:
                return self._reply(
                    f"Welcome back, {st.first_name}. Shall I use the email address we have on file "
                    "for you?",
                    "email",
                    started,
                )
        if st.email is None and not st.email_declined:
            return self._reply(
                prefix + "And your email address? You can say skip if you'd rather not.",
                "email",
                started,
            )
        details = self.read_back_details()
        return self._reply(self._read_back(), "confirm", started, read_back=details)

    def _next_step(self) -> str:
        """The step `_advance` asks about next (without its side effects)."""
        st = self.state
        for step, missing in (
            ("species", st.species is None),
            ("appointment_type", st.appointment_type is None),
            ("clinician", st.clinician is None),
            ("date", st.day is None),
            ("time", st.slot is None),
            ("pet_name", st.pet_name is None),
            ("client_name", st.first_name is None or st.last_name is None),
            ("phone", st.phone is None),
            ("email", st.email is None and not st.email_declined),
        ):
            if missing:
                return step
        return "confirm"

    def _spoken_times(self) -> list[str]:
        """The offered times as the caller hears them ("9:15am")."""
        return [n.spoken_time(s.start.astimezone(self.tz).time()) for s in self.state.offered]

    def _options(self) -> r.StepOptions:
        return r.StepOptions(
            species=self.catalogue.species,
            appointment_types=self.catalogue.appointment_types,
            clinicians=self.catalogue.clinicians,
            times=tuple(self._spoken_times()),
            proposed_type=self.state.proposed_type,
        )

    def _choices(self, expecting: str) -> tuple[str, ...]:
        """What the caller can say or tap to answer the question now asked (repair.choices)."""
        on_file = expecting == "email" and bool(self._on_file_email) and self.state.email is None
        yes_no = self.repair.asks_yes_no or on_file or self._pending_retry
        return r.choices(expecting, self._options(), yes_no=yes_no)

    def _read_repair(
        self, text: str, found: dict[str, Any], started: float
    ) -> tuple[dict[str, Any], AssistantTurn | None]:
        """The repair's reading of an answer (repair.py): a yes to the option put to the
        caller, spelled letters, a part of the phone number, a value heard with low confidence
        held back until confirmed. A reply when the repair goes on with nothing to apply."""
        st = self.state
        taken = self.repair.take(
            self.expecting,
            text,
            found,
            low_confidence=self._confidence is not None and self._confidence < r.LOW_CONFIDENCE,
            current={key: getattr(st, key) for key in r.FREE_TEXT},
            options=self._options(),
        )
        for key in taken.forget:
            setattr(st, key, None)  # the caller said it was misheard: asked again
        found = taken.found
        spoken = found.pop("time", None)
        times = self._spoken_times()
        if spoken in times:
            found["slot"] = st.offered[times.index(spoken)]
        if taken.reply:
            return found, self._reply(taken.reply, self.expecting, started)
        return found, None

    def _on(self, day: date) -> str:
        return replies.on_day(day, self._today)

    def _returning_caller_email(self) -> str:
        """The e-mail from this caller's last booking, but only when the name they gave matches
        the one stored with their phone number: nothing stored is offered to anyone else."""
        st = self.state
        record = self.journal.client_by_phone(st.phone) if st.phone else None
        if record is None or not record.email:
            return ""
        same = (record.first_name or "").lower() == (st.first_name or "").lower() and (
            record.last_name or ""
        ).lower() == (st.last_name or "").lower()
        return record.email if same else ""

    def _cannot_answer(self, topic: str) -> str:
        again = "" if self._reception_open() else self.hours.when_open_again(self.now())
        return replies.cannot_answer(topic, self._reception_open(), self.clinic_phone, again)

    def _ask_again(self) -> str:
        """The current question once more, after something else was answered: the times
        themselves when times were offered."""
        if self.expecting == "time" and self.state.offered:
            return self._offer_sentence()
        if self.expecting == "anything_else":
            return replies.ANYTHING_ELSE
        return self._question()

    def _question(self) -> str:
        """The question for what we are waiting for, without side effects (the repair's own
        when one is under way)."""
        repairing = self.repair.last_question(self.expecting)
        if repairing:
            return repairing
        return replies.question(self.expecting)

    # -- tools ---------------------------------------------------------------------------
    def _wanted(self) -> Wanted:
        st = self.state
        assert st.species and st.appointment_type
        return Wanted(st.species, st.appointment_type, st.clinician, st.part_of_day)

    def _search(self, day: date, days: int, part_filter: bool = True) -> list[Slot]:
        found = self.availability.search(self._wanted(), day, days, self._calls, part_filter)
        return [s for s in found if (s.start, s.schedule_id) not in self._taken]

    def _fits_part(self, slot: Slot) -> bool:
        return self.availability.fits_part(slot, self.state.part_of_day)

    def _offer_times(self, started: float, note: str = "") -> AssistantTurn:
        st = self.state
        assert st.day is not None
        day = st.day
        weekend = day.weekday() >= 5
        if weekend:
            before = day - timedelta(days=day.weekday() - 4)
            after = day + timedelta(days=7 - day.weekday())
            options = [d for d in (before, after) if d >= self._today]
            st.day = None
            spoken = _join_or([n.spoken_date(d, self._today) for d in options])
            return self._reply(
                note + f"I'm sorry, we're closed at weekends. Would {spoken} suit you instead?",
                "date",
                started,
            )
        try:
            slots = [] if day < self._today else self._search(day, 1)
            preamble = note
            if not slots and not self._asap:
                part = f" {st.part_of_day}" if st.part_of_day else ""
                who = st.clinician if st.clinician not in (None, ANYONE) else "We"
                has = "has" if who != "We" else "have"
                preamble += f"{who} {has} nothing free {self._on(day)}{part}. "
                if st.clinician not in (None, ANYONE):
                    others = self._search_others(day)
                    if others:
                        st.offered = spread(others)
                        return self._reply(
                            preamble
                            + self._offer_sentence(with_names=True)
                            + f" Or I can look at another day for {st.clinician}.",
                            "time",
                            started,
                        )
            if not slots:
                later = self._search(max(day + timedelta(days=1), self._today), LOOKAHEAD_DAYS)
                if not later:
                    st.day = None
                    return self._reply(
                        preamble + "I can't see any free times in the next two weeks. "
                        "Would you like to try a different day, or ask at reception?",
                        "date",
                        started,
                    )
                first_day = later[0].start.astimezone(self.tz).date()
                slots = [s for s in later if s.start.astimezone(self.tz).date() == first_day]
                label = "The first free day" if self._asap else "The next free day"
                preamble += f"{label} is {n.spoken_date(first_day, self._today)}. "
        except VetstoriaError as exc:
            return self._booking_system_down(exc, started)
        st.offered = spread(slots)
        return self._reply(preamble + self._offer_sentence(), "time", started)

    def _take_wanted_time(self, started: float) -> AssistantTurn:
        """The caller named a time: take it if it is free that day, else offer the nearest."""
        st = self.state
        assert st.day is not None
        wanted, self._wanted_time = self._wanted_time, None
        assert wanted is not None
        if st.day.weekday() >= 5 or st.day < self._today:
            return self._offer_times(started)
        try:
            slots = self._search(st.day, 1, part_filter=False)
        except VetstoriaError as exc:
            return self._booking_system_down(exc, started)
        exact = [s for s in slots if s.start.astimezone(self.tz).time() == wanted]
        if exact:
            st.slot = exact[0]
            st.offered = exact[:1]
            return self._advance(started, True)
        if not slots:
            return self._offer_times(started)
        target = datetime.combine(st.day, wanted, self.tz)
        nearest = sorted(slots, key=lambda s: abs((s.start - target).total_seconds()))
        st.offered = sorted(spread(nearest[: OFFER_COUNT * 2]), key=lambda s: s.start)[:OFFER_COUNT]
        return self._reply(
            f"Sorry, {n.spoken_time(wanted)} isn't free. " + self._offer_sentence(), "time", started
        )

    def _change_offered_times(
        self, text: str, found: dict[str, Any], started: float
    ) -> AssistantTurn | None:
        """A caller who was offered times asks for others: another part of the day ("anything
        in the morning?"), "anything later/earlier?", "the next day". None when they did not
        (a new day or vet has already cleared the offer, and the next step offers again)."""
        st = self.state
        if (
            self.expecting != "time"
            or not st.offered
            or st.slot is not None
            or "slot" in found
            or found.get("wanted_time") is not None
        ):
            return None
        if found.get("part_of_day") and not all(self._fits_part(s) for s in st.offered):
            st.offered = []  # offered for another part of the day: offer this one instead
            return None
        shift = g.detect_time_shift(text)
        if shift is None:
            return None
        self.repair.reset()  # understood: no miss to count at this step
        day = st.offered[0].start.astimezone(self.tz).date()
        if shift in ("next_day", "previous_day"):
            return self._offer_other_day(day, shift == "next_day", started)
        return self._offer_later_or_earlier(day, shift == "later", started)

    def _offer_later_or_earlier(self, day: date, later: bool, started: float) -> AssistantTurn:
        """The free times of `day` next after (or before) the ones offered; when there are
        none, that truthfully, with the latest (earliest) time and another day to try."""
        st = self.state
        try:
            slots = one_per_start(self._search(day, 1, part_filter=False))
        except VetstoriaError as exc:
            return self._booking_system_down(exc, started)
        if later:
            edge = st.offered[-1].start
            more = [s for s in slots if s.start > edge][:OFFER_COUNT]
        else:
            edge = st.offered[0].start
            more = [s for s in slots if s.start < edge][-OFFER_COUNT:]
        if more:
            st.offered = more
            if not all(self._fits_part(s) for s in more):
                st.part_of_day = None  # the caller has moved past the part of day they gave
            return self._reply(self._offer_sentence(), "time", started)
        if not slots:
            st.offered = []
            return self._offer_times(started)
        end = slots[-1] if later else slots[0]
        st.offered = [end]
        on = self._on(day)
        when = n.spoken_time(end.start.astimezone(self.tz).time())
        word = "later" if later else "earlier"
        who = "" if st.clinician in (None, ANYONE) else f" for {st.clinician}"
        other = self._other_weekday(day, forward=later)
        another = (
            f"shall I look at {n.spoken_date(other, self._today)}"
            if other is not None
            else "would another day be better"
        )
        return self._reply(
            f"I'm afraid there's nothing {word}{who} {on}: {when} is the "
            f"{'latest' if later else 'earliest'}. Would {when} suit you, or {another}?",
            "time",
            started,
        )

    def _offer_other_day(self, day: date, forward: bool, started: float) -> AssistantTurn:
        """Times on the weekday after (or before) the one offered."""
        st = self.state
        other = self._other_weekday(day, forward)
        if other is None:
            return self._reply(
                f"I'm afraid I can only look from today onwards. {self._offer_sentence()}",
                "time",
                started,
            )
        st.day, st.slot, st.offered = other, None, []
        return self._offer_times(started)

    def _other_weekday(self, day: date, forward: bool) -> date | None:
        """The weekday after (before) `day`, the clinic being closed at weekends; None before
        today."""
        step = timedelta(days=1 if forward else -1)
        other = day + step
        while other.weekday() >= 5:
            other += step
        return other if other >= self._today else None

    def _search_others(self, day: date) -> list[Slot]:
        found = self.availability.others(self._wanted(), day, self._calls)
        return [s for s in found if (s.start, s.schedule_id) not in self._taken]

    def _offer_sentence(self, with_names: bool = False) -> str:
        st = self.state
        day = st.offered[0].start.astimezone(self.tz).date()
        times = [n.spoken_time(s.start.astimezone(self.tz).time()) for s in st.offered]
        if with_names or st.clinician in (None, ANYONE):
            named = {self.schedule_names.get(s.schedule_id) for s in st.offered}
            if with_names and len(named) == 1:
                who = next(iter(named))
                return f"{who} has {_join_or(times)} {self._on(day)}. Would one of those suit you?"
            return f"{_upper_first(self._on(day))} I have {_join_or(times)}. Which would suit you?"
        return f"{st.clinician} has {_join_or(times)} {self._on(day)}. Which would suit you?"

    def read_back_details(self) -> dict[str, str]:
        """What the read-back gives, by meaning: the record the simulator's caller checks
        and the booking placed must match ("date" ISO, "time" HH:MM, "email" "" if none)."""
        st = self.state
        assert st.slot and st.species and st.appointment_type and st.phone
        when = st.slot.start.astimezone(self.tz)
        return {
            "species": st.species,
            "appointment_type": st.appointment_type,
            "clinician": self.schedule_names.get(st.slot.schedule_id, ""),
            "date": when.date().isoformat(),
            "time": when.strftime("%H:%M"),
            "pet_name": st.pet_name or "",
            "client_name": f"{st.first_name} {st.last_name}",
            "phone": st.phone,
            "email": st.email or "",
        }

    def _read_back(self) -> str:
        st = self.state
        assert st.slot
        return replies.read_back(
            self.read_back_details(), st.slot.start.astimezone(self.tz), self._today
        )

    def _place_booking(self, started: float) -> AssistantTurn:
        st = self.state
        assert (
            st.slot
            and st.species
            and st.appointment_type
            and st.first_name
            and st.last_name
            and st.phone
        )
        slot = st.slot
        vet = self.schedule_names.get(slot.schedule_id, "")
        request = BookingRequest(
            slot=slot,
            client=ClientDetails(st.first_name, st.last_name, st.email or "", st.phone),
            appointment_type_id=self.type_ids[st.appointment_type],
            species_id=self.species_ids[st.species],
            pet_name=st.pet_name or "",
            notes=st.notes,
            is_preferred_clinician=st.clinician not in (None, ANYONE),
        )
        args = {
            "slot": slot.start.isoformat(),
            "schedule_id": slot.schedule_id,
            "appointment_type": st.appointment_type,
            "species": st.species,
        }
        t0 = time.perf_counter()
        try:
            result = self.api.book(request)
        except SlotTakenError:
            self._calls.append(ToolCallRecord("place_booking", args, "slot_taken", _ms(t0)))
            self._taken.add((slot.start, slot.schedule_id))
            st.slot, st.offered = None, []
            return self._offer_times(started, note="I'm sorry, that time has just been taken. ")
        except VetstoriaError as exc:
            self._calls.append(ToolCallRecord("place_booking", args, exc.code, _ms(t0)))
            self.journal.booking(st, slot, vet, "failed")
            if exc.retryable and not self._retried:
                self._retried = True
                self._pending_retry = True
                return self._reply(replies.BOOKING_REFUSED_TRY_AGAIN, "confirm", started)
            return self._booking_system_down(exc, started)
        self._calls.append(
            ToolCallRecord("place_booking", {**args, "result": result.status}, "ok", _ms(t0))
        )
        when = slot.start.astimezone(self.tz)
        spoken = f"{self._on(when.date())} at {n.spoken_time(when.time())}"
        if result.status != "confirmed":
            self.journal.booking(st, slot, vet, "unconfirmed", result)
            self.handoff_reason = "unconfirmed"
            self.outcome = "handoff"
            self.journal.handoff("unconfirmed booking: staff to check", st.phone)
            return self._reply(
                replies.booking_unconfirmed(spoken, st.phone), "anything_else", started
            )
        self.journal.booking(st, slot, vet, "confirmed", result)
        self.outcome = "booked"
        return self._reply(replies.booked(st.pet_name, vet, spoken), "anything_else", started)

    def _booking_system_down(self, exc: VetstoriaError, started: float) -> AssistantTurn:
        log.warning("Vetstoria unavailable: %s", exc.code)
        self.outcome = self.outcome or "no_booking"
        return self._reply(replies.booking_system_down(self.clinic_phone), "anything_else", started)

    def _reception_open(self) -> bool:
        return self.hours.is_open(self.now())

    def _hours_answer(self, text: str) -> str:
        asked = n.parse_date(text, self._today)
        day = asked.day if asked is not None and "week" not in asked.phrase else None
        return replies.hours_answer(self.hours, day, self.now(), self._today, self.clinic_phone)

    def _handoff(self, reason: str, started: float, animal: str | None = None) -> AssistantTurn:
        self.handoff_reason = reason
        self.outcome = "handoff"
        self.journal.handoff(reason, self.state.phone)
        if not self._reception_open():
            return self._reply(self._closed_handoff(reason, animal), "none", started, done=True)
        return self._reply(
            replies.handoff(reason, self.clinic_phone, animal), "none", started, done=True
        )

    def _closed_handoff(self, reason: str, animal: str | None) -> str:
        again = self.hours.when_open_again(self.now())
        return replies.closed_handoff(
            reason, animal, self.clinic_phone, self.emergency_phone, again
        )

    # -- records -------------------------------------------------------------------------
    def _reply(
        self,
        text: str,
        expecting: str,
        started: float,
        done: bool = False,
        choices: tuple[str, ...] | None = None,
        repair: str | None = None,
        read_back: dict[str, str] | None = None,
        keep_read_back: bool = False,
    ) -> AssistantTurn:
        """The reply `text`, asking for `expecting`. `read_back`: this is the read-back, with
        these details; `keep_read_back`: nothing changed since the last read-back, so a yes
        to this reply still books."""
        assert expecting in EXPECTING
        if choices is None:
            choices = () if done else self._choices(expecting)
        self.expecting = expecting
        self._read_back_given = read_back is not None or keep_read_back
        self._asked_what_to_change = False  # set again by the caller of _reply
        text, self._preface = self._preface + text, ""
        if done:
            self.done = True
            self.outcome = self.outcome or "no_booking"
            self.journal.end(self.outcome, self.summary())
        llm = self._llm
        turn = AssistantTurn(
            text=text,
            expecting=expecting,
            tool_calls=tuple(self._calls),
            tokens_in=int(llm.get("tokens_in", 0)),
            tokens_out=int(llm.get("tokens_out", 0)),
            llm_ms=llm.get("llm_ms", 0.0),
            llm_first_token_ms=llm.get("first_ms", 0.0),
            grammar_ms=llm.get("grammar_ms", 0.0),
            total_ms=_ms(started),
            grounding_rejections=tuple(self._rejections),
            done=self.done,
            outcome=self.outcome,
            card=self.state.card(self.tz),
            choices=choices,
            repair=repair,
            read_back=read_back,
            asks_to_book=self._read_back_given or self._pending_retry,
        )
        turn = replace(turn, row_id=self.journal.reply(turn))
        self.turns.append(turn)
        return turn

    def summary(self) -> str:
        """A short account of the conversation, kept with it in the history."""
        st = self.state
        asked = (
            ", ".join(
                f"{k.replace('_', ' ')} {v}"
                for k, v in (
                    ("species", st.species),
                    ("type", st.appointment_type),
                    ("date", st.day.isoformat() if st.day else None),
                )
                if v
            )
            or "nothing specific"
        )
        if self.outcome == "booked" and st.slot:
            result = (
                f"booked {st.appointment_type} with {self.schedule_names.get(st.slot.schedule_id)} "
                f"at {st.slot.start.isoformat()}"
            )
        elif self.outcome == "handoff":
            # What the caller got through before the hand-off, so that the staff need not
            # ask it all again (the card on the screen keeps it too).
            given = ", ".join(
                f"{k} {v}"
                for k, v in (
                    ("clinician", st.clinician if st.clinician != ANYONE else None),
                    ("time", st.slot.start.isoformat() if st.slot else None),
                    ("pet", st.pet_name),
                    ("client", " ".join(p for p in (st.first_name, st.last_name) if p)),
                    ("phone", st.phone),
                    ("email", st.email),
                )
                if v
            )
            result = f"handed to reception ({self.handoff_reason})"
            result += f"; details given: {given}" if given else ""
        else:
            result = "nothing booked"
        prefs = (
            "; preferences: " + ", ".join(dict.fromkeys(self.preferences))
            if self.preferences
            else ""
        )
        return f"Asked about: {asked}. Result: {result}{prefs}."


# -- helpers -----------------------------------------------------------------------------------
def _mentions_existing_booking(text: str) -> bool:
    return bool(re.search(r"\b(my|existing|current)\s+(appointment|booking)\b", text, re.I))


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _title(value: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in value.strip().split())


def _words_in(value: str, text: str) -> bool:
    words = [w for w in g.normalise_words(value) if len(w) > 2]
    said = set(g.normalise_words(text))
    return bool(words) and sum(w in said for w in words) >= max(1, len(words) // 2)


_PAST = re.compile(
    r"\b(been|was|were|had|since|ago|yesterday|last (?:week|night|time|month)|earlier)\b", re.I
)
_BOOKING_CUE = re.compile(
    r"\b(book|booking|appointment|come in|bring|seen|see (?:him|her|them|someone|a vet|the vet)|"
    r"slot|available|free|visit|any chance|can (?:i|we|you)|could|would like|'d like|want|need|"
    r"on|for|next|this|how about|what about|instead|change|make it|move it)\b",
    re.I,
)
_ASAP = re.compile(
    r"\b(soonest|earliest|as soon as|first available|first free|any ?day|whenever|"
    r"next available|asap|don'?t mind (?:when|which day))\b",
    re.I,
)
_SELF_CUE = re.compile(
    r"\b(i'?m|i am|my name|name'?s|this is|call me|put it under|it'?s .{2,30} here)\b", re.I
)
_PET_CUE = re.compile(
    r"(?i:\b(called|named|(?:her|his|its|the) name|name'?s)\b)"
    r"|(?i:\bmy (?:dog|cat|puppy|kitten|pup) )[A-Z]"
)
_SELF_NAMED = re.compile(
    r"\b(?:i'?m|i am|my name is|my name's|this is)\s+((?:[A-Za-z'-]+\s*){1,3})", re.I
)
_PARTICLES = {
    "van",
    "von",
    "de",
    "da",
    "del",
    "della",
    "di",
    "le",
    "la",
    "du",
    "der",
    "den",
    "ter",
    "st",
}
_ANIMAL_WORDS = frozenset(
    w for words in g.SPECIES_WORDS.values() for phrase in words for w in phrase.split()
) | {"boy", "girl", "baby", "pet", "animal", "him", "her", "she", "he"}


def _negated(value: str, text: str) -> bool:
    """'Bella, not Poppy': Poppy was named only to be taken back."""
    return bool(re.search(rf"\b(?:not|no)\s+{re.escape(value)}\b", text, re.I))


def _booking_clauses(text: str) -> str:
    """The parts of an utterance that are not about the past ("she's been sick this morning")."""
    clauses = re.split(r"(?<=[.?!;])\s+|,?\s+\bbut\b\s+", text)
    return " ".join(c for c in clauses if not _PAST.search(c))


def _is_animal_word(value: str) -> bool:
    """`kitten`, `puppy`, `my boy`: words for the animal, not its name."""
    return all(w in _ANIMAL_WORDS or w in _NOT_NAMES for w in g.normalise_words(value))


def _expand_name(value: str, text: str) -> str:
    """Restore a name's joined parts from the caller's words: "Shah" -> "Shah-Patel"."""
    words = []
    for word in value.split():
        match = re.search(rf"\b{re.escape(word)}(?:[-'][A-Za-z]+)+", text, re.I)
        words.append(match.group(0) if match else word)
    return _title(" ".join(words)) if words else value


def _split_full_name(first: str, last: str) -> tuple[str, str]:
    """First and last name from the whole name: a surname particle ("Van Dyke", "de la Cruz")
    starts the last name; otherwise the last word is the last name."""
    words = f"{first} {last}".split()
    if len(words) < 2 or not last:
        return first, last
    for i, word in enumerate(words[1:], start=1):
        if word.lower() in _PARTICLES and i < len(words) - 1:
            return " ".join(words[:i]), " ".join(words[i:])
    return " ".join(words[:-1]), words[-1]


_CORRECTION = re.compile(
    r"\b(?:actually|sorry|i mean|i meant|no,|instead|rather|wait|put it under|make that|"
    r"change (?:it|that) to)\b",
    re.I,
)


def _after_correction(text: str) -> str:
    """The words after the last in-sentence correction ("Tom Baker. Actually, ... Jenny
    Baker." -> "... Jenny Baker."), or "" when the caller did not correct themselves."""
    matches = list(_CORRECTION.finditer(text))
    return text[matches[-1].end() :] if matches else ""


def _last_sentence(text: str) -> str:
    parts = [p for p in re.split(r"[.!?]\s*", text) if p.strip()]
    return parts[-1] if parts else text


def _date_grounded(day: date, text: str) -> bool:
    words = set(g.normalise_words(text))
    names = {day.strftime("%A").lower(), day.strftime("%a").lower(), day.strftime("%B").lower()}
    return bool(words & names) or str(day.day) in words


_FILLER = re.compile(
    r"^(?:(?:her|his|its|the|my|our)\s+(?:name|names)\s+(?:is|are|'s)|(?:she|he|it)'?s?\s+(?:called|named)|"
    r"(?:she|he|it)\s+is\s+(?:called|named)|(?:she|he|it)'s|it'?s|it\s+is|i'?m|i\s+am|my\s+name\s+is|"
    r"name'?s|this\s+is|call\s+me|yes|yeah|oh|um|uh|er|well|sure|okay|ok)\s*[,.]?\s*",
    re.I,
)
_NOT_NAMES = {
    "the",
    "a",
    "an",
    "and",
    "my",
    "is",
    "yes",
    "no",
    "not",
    "sure",
    "dog",
    "cat",
    "sorry",
    "what",
    "please",
    "thanks",
    "thank",
    "you",
    "he",
    "she",
    "it",
    "i",
    "we",
    "dont",
    "know",
    "anyone",
    "hello",
    "hi",
    "morning",
    "afternoon",
    "today",
    "tomorrow",
}


def _is_stopword_name(value: str) -> bool:
    return all(w in _NOT_NAMES for w in g.normalise_words(value))


def _bare_name(text: str, allow_two: bool = False) -> str | None:
    """A short answer that is just a name ("Mittens", "her name's Luna", "James Okafor")."""
    rest = text.strip().strip(".!")
    for _ in range(3):
        rest = _FILLER.sub("", rest).strip()
    rest = re.sub(r"\s*(please|thanks?|thank you)\s*$", "", rest, flags=re.I).strip(" ,.")
    words = rest.split()
    if not words or len(words) > (3 if allow_two else 2):
        return None
    if any(
        w.lower().strip(",.") in _NOT_NAMES or not re.fullmatch(r"[A-Za-z'-]+[,.]?", w)
        for w in words
    ):
        return None
    return _title(" ".join(w.strip(",.") for w in words))
