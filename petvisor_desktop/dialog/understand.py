"""What the caller said, as the dialog may use it: the language model's one tool call for the
words (grammar-constrained), or the rules alone when the answer is plain, and then grounding,
which keeps only the values the caller actually said and adds what the deterministic parsers
find (phone numbers, e-mails, dates, times, names). Reads the state; changes nothing."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from petvisor_desktop.dialog import animals, intents, reasons
from petvisor_desktop.dialog import grounding as g
from petvisor_desktop.dialog import names as nm
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog import repair as r
from petvisor_desktop.dialog.availability import ToolCallRecord
from petvisor_desktop.dialog.cues import normalise_words
from petvisor_desktop.dialog.spelling import spelled_local_part
from petvisor_desktop.dialog.state import ANSWERS, BookingState, Step
from petvisor_desktop.dialog.tools import (
    ANYONE,
    Catalogue,
    step_tools,
    user_message,
)
from petvisor_desktop.llm.chat_model import ChatMessage, ChatModel, LlmError
from petvisor_desktop.llm.grammar import forced_text, parse_call, tool_call_grammar
from petvisor_desktop.spoken import LAST_PLACE, NEXT_PLACE, PLACE_WORDS
from vetstoria.models import Slot

log = logging.getLogger(__name__)

# What the model is told was asked, by step (the per-turn user message).
ASKED = {
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
_TITLED = re.compile(r"\b(?:dr|doctor|vet)\b", re.I)  # a vet named as one at a name step
_NO_EMAIL = re.compile(
    r"\b(don'?t have (?:one|an? e-?mail)|no e-?mail|haven'?t got (?:one|an? e-?mail)|skip|"
    r"rather not|prefer not|none|leave it (?:off|out))\b",
    re.I,
)
# At the read-back: the caller would rather give no e-mail address after all.
_DROP_EMAIL = re.compile(
    r"\b(?:(?:leave|take|keep)[\s,]+(?:(?:the|my|me)[\s,]+)?e?[\s-]?mail(?:\s+address)?"
    r"[\s,]+(?:off|out)"
    r"|(?:drop|forget|remove|skip|forget about)\s+(?:the\s+|my\s+)?e-?mail"
    r"|without\s+(?:the\s+|an\s+|my\s+)?e-?mail|no\s+e-?mail"
    r"|(?:don'?t|do not)\s+(?:need|want|bother with)\s+(?:the\s+|an\s+|my\s+)?e-?mail)\b",
    re.I,
)
# Words that show a time is meant, beside a phone number put right at the read-back.
_NUMBER_START = re.compile(r"(?<![\d:.])0\d")  # a phone number's start: no time is said so
_TIME_CUE = re.compile(r"\b(time|o'?clock|[ap]\.?m\b|morning|afternoon|appointment)", re.I)
# What a bare "no" to the read-back may say besides no: nothing that names a detail.
_BARE_NO_WORDS = frozenset(
    {"no", "nope", "nah", "not", "thanks", "thank", "you", "it", "its", "isnt", "wrong",
     "right", "quite", "sorry", "actually", "correct", "please"}
)  # fmt: skip
# Words that may surround a phone number without adding anything to it.
_PLAIN_ANSWER_WORDS = frozenset(
    {
        "my", "number", "is", "it's", "its", "it", "s", "the", "phone", "mobile", "oh", "o",
        "zero", "nought", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        "double", "triple", "treble", "hundred", "plus", "yes", "yeah", "sure", "ok", "okay",
        "that's", "that", "thats",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Proposal:
    """The tool call proposed for the caller's words: the model's, or "rules" when the rules
    read the words alone ("other" when the model's call was unusable)."""

    tool: str
    args: dict[str, Any]
    calls: tuple[ToolCallRecord, ...] = ()
    llm: dict[str, float] = field(default_factory=dict)  # the model's figures


@dataclass(frozen=True)
class Understood:
    """The caller's words understood: the proposal, and what of it (and of the parsers'
    findings) the words support (`found`, by booking detail), with what was dropped."""

    proposal: Proposal
    found: dict[str, Any]
    rejections: tuple[str, ...] = ()

    @property
    def tool(self) -> str:
        return self.proposal.tool


class Understander:
    """Understands one conversation's callers: the model with its fixed prompt (`prefix`),
    the clinic's catalogue, and the day the conversation began."""

    def __init__(
        self,
        model: ChatModel,
        catalogue: Catalogue,
        species_ids: dict[str, int],
        tz: ZoneInfo,
        today: date,
        prefix: Sequence[ChatMessage],
        phone_country: str,
        email_domains: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.catalogue = catalogue
        self.species_ids = species_ids
        self.tz = tz
        self.today = today
        self.prefix = list(prefix)
        self.phone_country = phone_country
        self.email_domains = tuple(email_domains)  # the clinic's clients' usual ones

    def understand(
        self,
        state: BookingState,
        text: str,
        handoff: str | None,
        choices: Sequence[str] = (),
    ) -> Understood:
        """The rules, or the model's call; then grounded in the words. `choices`: the open
        question's closed answers (`asking.choices`)."""
        if self.rules_suffice(state, text, handoff) or is_a_choice(state.expecting, text, choices):
            proposal = _by_rules()
        else:
            short = None if handoff else self.short_answer(state, text)
            if short is not None:
                return short
            proposal = (
                _by_rules() if _a_plain_miss(state, text, handoff) else self.propose(state, text)
            )
        found, rejections = Grounding(self, state, text).run(proposal.args)
        return Understood(proposal, found, tuple(rejections))

    def short_answer(self, state: BookingState, text: str) -> Understood | None:
        """A short answer in which the rules alone find what was asked ("Wednesday morning",
        "Milo", "My name is Owen Price", "The first one"; an opening that names the animal
        and the visit and little more; a correction at the read-back): understood without
        the model, whose reading the rules would overrule anyway (the detectors and the
        parsers win over it where they find a value). Saves the model's call, half a second
        or more, on most turns of a booking. None when the model is needed."""
        step = state.expecting
        asked: Collection[str]
        if step == Step.CONFIRM:
            # At the read-back, a no that puts details right in words the rules read ("No,
            # his name is Milo", "No, my email is ..."): the rules' values win over the
            # model's there, and the policy compares them with the read-back. Run 10: 30 of
            # the 87 model calls were such corrections, 0.9 to 2.3 s each.
            # Measured on the 20 longer ones of runs 13 and 14 (15 to 22 words: a name and
            # an address put right together) with and without the model: the same reply
            # and the same details in every one, 0.4-0.9 s of the model saved on each.
            correcting = n.is_no(text) or _CORRECTING.search(text)
            if not (correcting or state.asked_what_to_change) or (
                "?" in text and not _CORRECTING.search(text)
            ):
                return None
            most, asked = _SHORT_CORRECTION_WORDS, _CORRECTIONS
        elif step == Step.NONE:
            # An opening of any length in which the rules find the animal or the visit: the
            # model would only add a pet's name said in passing, which the rules read too,
            # and the note for the staff, which is the caller's own words (reasons.py).
            # Measured on 83 openings (the suite's and 20 new ones): the same step and the
            # same details either way, 1.2-1.9 s of the model saved on each long one (run
            # 13: most of the slowest replies).
            most, asked = _OPENING_WORDS, _OPENING_ANSWER
        elif step in _WHY_STEPS or (step in _CLOSED_STEPS and not reasons.tells_more(text)):
            # A closed question's answer with more around it ("Oh, that's a shame. The next
            # one you have then"; "A consultation, he keeps shaking his head"): wherever the
            # rules find the answer their reading wins over the model's, and of 12 such
            # answers in runs 13 and 14 the model changed neither the reply nor a detail in
            # any; 0.5-0.7 s saved on each. Where the rules write no note for the staff (after
            # the visit is known), words about the pet still go to the model for one.
            most, asked = _CLOSED_ANSWER_WORDS, ANSWERS.get(step.value, ())
        else:
            most, asked = _SHORT_ANSWER_WORDS, ANSWERS.get(step.value, ())
        if not asked or len(normalise_words(text)) > most or intents.detect_off_task(text):
            return None
        found, rejections = Grounding(self, state, text).run({})
        if not any(found.get(key) for key in asked):
            return None
        return Understood(_by_rules(), found, tuple(rejections))

    def offered_times(self, state: BookingState) -> list[str]:
        return [s.start.astimezone(self.tz).strftime("%H:%M") for s in state.offered]

    def rules_suffice(self, state: BookingState, text: str, handoff: str | None) -> bool:
        """Plain answers that the parsers understand completely skip the model: a phone
        number when asked for one, an e-mail address, a bare yes at the read-back. Anything
        with more in it (a correction, a question) goes to the model."""
        if handoff or intents.detect_off_task(text):
            return False
        expecting = state.expecting
        if _repair(state, self.phone_country).wants_plain_answer(expecting, text):
            return True  # a bare yes or no, a part of the phone number, spelled letters
        if intents.only_unanswerable_question(text):
            return True  # "how much is it?": reception answers that; nothing to understand
        extra = [
            w for w in normalise_words(text) if w not in _PLAIN_ANSWER_WORDS and not w.isdigit()
        ]
        if expecting == Step.PHONE:
            # A number that cannot be right is questioned without the model, too. A number
            # being said is read as nothing else (policy), so whatever the recogniser made
            # of its other words ("seven seven oh well"), the model's reading would go unused.
            if n.check_phone(text, self.phone_country) is not None and not extra:
                return True
            return n.digits_said(text) >= n.NUMBER_SAID_DIGITS and "?" not in text
        if expecting == Step.EMAIL:
            # An address, or the caller's names said as one with its domain unheard or
            # heard only by ear (put to them: the model would add nothing to either).
            names = (text, state.first_name, state.last_name, self.email_domains)
            address = n.parse_email(text) is not None and len(extra) <= 8
            own = n.own_address_domain_unheard(*names) or n.own_address_by_ear(*names)
            return (address or own is not None) and n.parse_date(text, self.today) is None
        if expecting == Step.CONFIRM and state.email_spelling and spelled_local_part(text):
            return True  # the address spelled as asked: letters, nothing for the model
        if expecting in (Step.CONFIRM, Step.ANYTHING_ELSE):
            plain = (
                len(text.split()) <= 6
                and n.is_yes(text) != n.is_no(text)
                and not n.parse_date(text, self.today)
                and not n.parse_phone(text)
            )
            if plain and expecting == Step.CONFIRM and n.is_no(text):
                # "No, her name is Bella" corrects the read-back: only a bare no skips it.
                return all(w in _BARE_NO_WORDS for w in extra)
            return plain
        return False

    def prime(self, state: BookingState) -> int:
        """Before the caller answers: the model's prompt evaluated up to where their words
        will go (the fixed prefix, the question asked, the times offered), so that a call
        for the answer pays only for the words (about 10 ms a token on this 2-core machine;
        the question and the times are 10 to 30 tokens). Returns the tokens evaluated."""
        prefill = getattr(self.model, "prefill", None)
        if prefill is None or state.done:
            return 0
        opening = self._message(state, "").rstrip()
        return int(prefill(self.prefix, opening))

    def _message(self, state: BookingState, text: str) -> str:
        """The user message of the model's call for `text` at this step."""
        asked = ASKED.get(state.expecting, "how can I help")
        return user_message(asked, text, self.offered_times(state))

    def propose(self, state: BookingState, text: str) -> Proposal:
        """The model's tool call for `text` at this step ("other" when it was unusable)."""
        offered = self.offered_times(state)
        yes_no = (
            state.expecting in (Step.CONFIRM, Step.ANYTHING_ELSE) or state.proposed_type is not None
        )
        tools = step_tools(self.catalogue, self.today, offered, yes_no)
        messages = [*self.prefix, ChatMessage("user", self._message(state, text))]
        t0 = time.perf_counter()
        try:
            result = self.model.complete(
                messages, tool_call_grammar(tools), forced=partial(forced_text, tools)
            )
            name, args = parse_call(result.text, tools)
        except (LlmError, ValueError) as exc:
            log.warning("the model's tool call was unusable: %s", exc)
            failed = ToolCallRecord("understand", {}, "error", (time.perf_counter() - t0) * 1000)
            return Proposal("other", {}, (failed,))
        llm = {
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "llm_ms": result.total_ms,
            "first_ms": result.first_token_ms,
            "grammar_ms": result.grammar_ms,
        }
        return Proposal(name, args, (ToolCallRecord(name, dict(args), "ok", result.total_ms),), llm)


# Closed questions whose short answers the rules read when anything can be read from them.
# Not the names: the model reads a name said with more ("Captain Jack, that's his full
# name"), and not the times (it read "The Sanken One" as the second, run 13).
_READ_BY_RULES = frozenset({Step.SPECIES, Step.APPOINTMENT_TYPE, Step.CLINICIAN, Step.DATE})


def _a_plain_miss(state: BookingState, text: str, handoff: str | None) -> bool:
    """A short answer to a closed question in which the rules find nothing (no question in
    it, nothing off the task): misheard words ("and it won." for "Anyone", "When State
    Marketing"). In runs 13 and 14 the model made nothing of any of 14 such answers at the
    vet and date steps: each was a repair all the same, 0.5-0.9 s later. The repair comes at
    once."""
    return (
        handoff is None
        and state.expecting in _READ_BY_RULES
        and len(normalise_words(text)) <= _SHORT_ANSWER_WORDS
        and "?" not in text
        and not intents.detect_off_task(text)
    )


def _by_rules() -> Proposal:
    """The proposal of words the rules read alone: no model call."""
    return Proposal("rules", {}, (ToolCallRecord("understand", {}, "rules", 0.0),))


# A short answer (at most this many words) in which the rules alone find what was asked (an
# answer to the question's step, `state.ANSWERS`: "Skip" at the e-mail step as well as an
# address) is understood without the model.
_SHORT_ANSWER_WORDS = 6
# An opening longer than this is a story, not a request: the model reads it.
_OPENING_WORDS = 60
# The answer to a closed question (the animal, the visit, the vet, the day, the time) this
# long, in which the rules find what was asked, is theirs.
_CLOSED_ANSWER_WORDS = 16
_CLOSED_STEPS = frozenset({Step.CLINICIAN, Step.DATE, Step.TIME})
# A correction at the read-back this short, in which the rules find a detail, is theirs.
_SHORT_CORRECTION_WORDS = 30
# Words that say a detail read back is being put right, without a "no": "Oh, I gave you the
# wrong dog's name. Sorry, this one is Bella".
_CORRECTING = re.compile(r"\b(?:wrong|mistake|instead|actually|change)\b", re.I)
_CORRECTIONS = frozenset(
    {key for keys in ANSWERS.values() for key in keys} | {"email_dropped", "proposed_type"}
)
_OPENING_ANSWER = ("species", "appointment_type")
# The steps at which a caller says what the visit is for.
_WHY_STEPS = frozenset({Step.NONE, Step.SPECIES, Step.APPOINTMENT_TYPE})


# Closed steps whose every choice the detectors read without the model (the species, the
# appointment type, the vet or "whoever is free first", an offered time).
_CHOICE_STEPS = frozenset({Step.SPECIES, Step.APPOINTMENT_TYPE, Step.CLINICIAN, Step.TIME})
_COURTESY = frozenset({"please", "thanks", "thank", "you", "ok", "okay"})


def is_a_choice(expecting: Step, text: str, choices: Sequence[str]) -> bool:
    """The caller said one of a closed question's choices and nothing else but courtesy
    (a tapped choice is sent as its words; the recogniser fits a spoken answer to them):
    the detectors read it, and the model is not needed."""
    if expecting not in _CHOICE_STEPS:
        return False
    said = _singular([w for w in normalise_words(text) if w not in _COURTESY])
    return any(
        said == _singular(normalise_words(choice))
        for choice in choices
        if choice not in (r.YES, r.NO)
    )


def _singular(words: list[str]) -> list[str]:
    """Words without a plural "s", as a recogniser often drops or adds it ("Vaccination")."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def _repair(state: BookingState, phone_country: str) -> r.Repair:
    """The repair policy over the state's repair, for reading only."""
    repair = r.Repair(phone_country)
    repair.state = state.repair
    return repair


class Grounding:
    """One utterance grounded against the state: `run` keeps only values the caller said and
    adds what the parsers find in the words; `rejections` lists what was dropped."""

    def __init__(self, understander: Understander, state: BookingState, text: str) -> None:
        self.u = understander
        self.st = state
        self.text = text
        self.rejections: list[str] = []

    def reject(self, key: str, value: Any) -> None:
        self.rejections.append(f"{key}={value}")
        log.debug("dropped an ungrounded %s", key)

    def run(self, args: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        text, expecting = self.text, self.st.expecting
        found: dict[str, Any] = {}

        # The detectors understand negation and corrections ("Roberts, not Norman"), so
        # where they find a value it wins; the model's value is used only when grounded.
        detected, proposed = animals.detect_species(text), args.get("species")
        if (
            (
                expecting in (Step.PET_NAME, Step.CLIENT_NAME)
                or animals.animal_only_names_the_pet(text)
            )
            and self.st.species is not None
            and not animals.names_both_species(text)
        ):
            # Asked a name, a known animal is changed only by a correction that names both:
            # a name spelled as the recogniser heard it ("Oh, no, Cat, D, Cat, D" for
            # "O, L, I, V, I, A") once turned a dog into a cat. Nor is it changed by the
            # animal said only to say whose name follows ("My cat's name is Maela").
            detected = None
            if proposed not in (None, self.st.species):
                self.reject("species", proposed)
                proposed = None
        self.choose(
            found,
            "species",
            detected if detected in self.u.species_ids else None,
            proposed,
            animals.species_grounded,
        )
        kind, proposed_kind = (
            animals.detect_appointment_type(text, self.u.catalogue.appointment_types),
            args.get("type"),
        )
        if expecting in (Step.PET_NAME, Step.CLIENT_NAME) and self.st.appointment_type:
            # Asked a name, a known appointment type is kept (the read-back can change it): a
            # surname spelled as the recogniser heard it, "Dental, Blood, L, E" for "D, O, Y,
            # L, E", once made a consultation a dental.
            if proposed_kind not in (None, self.st.appointment_type):
                self.reject("appointment_type", proposed_kind)
            kind = proposed_kind = None
        self.choose(
            found, "appointment_type", kind, proposed_kind, animals.appointment_type_grounded
        )

        vet = args.get("vet")
        # "my email is ... Roberts at ..." and "my name is Amy Clark" name no vet (run 17:
        # the caller's own name heard as "Amy" moved the booking to Dr Amy Roberts).
        said = nm.without_own_name(nm.without_email(text))
        if expecting in (Step.PET_NAME, Step.CLIENT_NAME, Step.EMAIL) and not _TITLED.search(said):
            # The answer is a name or made of names: "Amy Clark" (at example.com) is the
            # caller, not Dr Amy Roberts, unless a vet is named as one.
            said = ""
        named = g.detect_clinician(said, self.u.catalogue.clinicians)
        if named:
            found["clinician"] = named
        elif vet and vet != ANYONE and g.clinician_grounded(vet, said):
            found["clinician"] = vet
        elif g.detect_any_clinician(said) and (vet == ANYONE or expecting == Step.CLINICIAN):
            found["clinician"] = ANYONE
        if vet and found.get("clinician") != vet:
            self.reject("vet", vet)

        self.when(found, args)
        self.names(found, args)

        phone = n.check_phone(text, self.u.phone_country)
        if phone is not None and phone.number:
            found["phone"] = phone.number
        elif phone is not None and phone.guess and expecting == Step.PHONE:
            found["phone"] = phone.guess
            found["phone_guessed"] = True  # its first 0 put back: asked, never just taken
        elif phone is not None and (
            expecting in (Step.PHONE, Step.CONFIRM) or g.PHONE_CUE.search(text)
        ):
            found["phone_problem"] = phone.problem  # "That sounded like 13 digits; ..."
        # The caller's names as this turn leaves them: an address given with a name put
        # right ("No, my name is Fatima Khan, and my email is fatima.com at example.com")
        # is read with the new one (run 13 read back "fatima.caught@").
        first = found.get("first_name") or self.st.first_name
        last = found.get("last_name") or self.st.last_name
        email = nm.surname_spelt_as_given(n.parse_email(text, names=(first, last)), last)
        guess = None
        if expecting in (Step.EMAIL, Step.CONFIRM):
            # Heard run together past reading, or read with the surname misheard: the
            # caller's names as the address, asked about.
            guess = n.own_address_misheard(email, first, last) or (
                None
                if email
                else n.guess_email(text, first, last)
                or n.own_address_domain_unheard(text, first, last, self.u.email_domains)
            )
        refused = self.st.refused_values("email")
        put = _repair(self.st, self.u.phone_country).asked().get("email")
        if put and n.is_no(text) and not n.is_yes(text):
            refused.add(put.lower())  # "No, my email is ..." to the address put just now
        # An address the caller said no to, heard again, is the same mishearing (run 13:
        # "victoria dot hayes at demple dot com" was put to the caller twice).
        email = None if email in refused else email
        guess = None if guess in refused else guess
        given = expecting == Step.EMAIL or (
            expecting == Step.CONFIRM and bool(g.EMAIL_CUE.search(text))
        )
        if given and not n.domain_trusted(
            (guess or email or "").partition("@")[2], self.u.email_domains
        ):
            # Not made out, or at a domain nobody uses ("then not human at mental.com"): the
            # caller's names as the address, if it sounds like them, asked about.
            guess = n.own_address_by_ear(text, first, last, self.u.email_domains, refused) or guess
        if email and not guess:
            found["email"] = email
        elif guess:
            found["email"] = guess
            found["email_guessed"] = True  # the caller's names as an address: asked, not taken
        elif expecting == Step.EMAIL and _NO_EMAIL.search(text):
            found["email_declined"] = True
        elif expecting == Step.CONFIRM and _DROP_EMAIL.search(text):
            found["email_dropped"] = True  # "No, just leave the email off"
        local = spelled_local_part(text) if self.st.email_spelling else None
        if local:  # letters that sound alike heard for the caller's names ("B-A-M" for Dan)
            local = n.own_local_spelled(local, first, last) or local
        held = [self.st.email or "", *sorted(refused)]
        domain = n.domain_for_spelled(text, held, self.u.email_domains) if local else None
        if local and domain and not found.get("email_dropped"):
            # The part before the "at", spelled as asked: read back with the domain heard.
            found.pop("email_guessed", None)
            found["email"], found["email_spelled"] = f"{local}@{domain}", True

        # Why the pet needs seeing: the caller's own words where the rules find them, else
        # the model's note if the words bear it out.
        reason = reasons.reason(text) if expecting in _WHY_STEPS else ""
        model_reason = args.get("reason")
        if not reason and model_reason and g.words_in(model_reason, text):
            reason = model_reason
        if reason:
            found["notes"] = reason
        return found, self.rejections

    def when(self, found: dict[str, Any], args: dict[str, Any]) -> None:
        """The day, part of day and time asked for."""
        text, st, expecting = self.text, self.st, self.st.expecting
        if (
            expecting == Step.CONFIRM
            and g.PHONE_CUE.search(text)
            and (not _TIME_CUE.search(text) or _NUMBER_START.search(text))
        ):
            # A number put right, however it was written ("07 7.00, 09.00"; "07 7 o'clock,
            # 9 o'clock, 7 8 9" for "oh seven seven oh oh ...", run 13): no time.
            return
        # Dates and parts of day count only where the caller asks for a time: not in past
        # events ("limping since the weekend") nor in small talk ("lovely weather today").
        when_text = g.booking_clauses(text)
        date_step = expecting in (Step.DATE, Step.TIME, Step.CONFIRM)
        if not date_step and not g.BOOKING_CUE.search(when_text):
            when_text = ""
        ask = n.parse_date(when_text, self.u.today) if when_text else None
        if ask is not None:
            found["day"] = ask.day
            found["weekend"] = ask.weekend
        elif when_text and not st.offered and g.ASAP.search(when_text):
            found["asap"] = True
        elif args.get("date"):
            day = date.fromisoformat(args["date"])
            if when_text and g.date_grounded(day, when_text):
                found["day"] = day
                found["weekend"] = day.weekday() >= 5
            else:
                self.reject("date", args["date"])
        part = n.parse_part_of_day(when_text) if when_text else None
        if part:
            found["part_of_day"] = part

        timed = g.without_phone_number(text)  # a number given is no time wanted
        if st.offered and (expecting == Step.TIME or n.parse_time(timed) is not None):
            slot = self.pick_offered(args.get("time"))
            if slot is not None:
                found["slot"] = slot
        if "slot" not in found and expecting in (
            Step.NONE,
            Step.DATE,
            Step.TIME,
            Step.CONFIRM,
            Step.CLINICIAN,
        ):
            wanted = n.parse_time(timed)
            if wanted is not None:
                found["wanted_time"] = wanted

    def names(self, found: dict[str, Any], args: dict[str, Any]) -> None:
        """The pet's name and the caller's own, each only where it may be given. A plain yes
        or no ("Yes, that's right" to "I heard Tigger as your cat's name. Is that right?")
        names no one."""
        text, st, expecting = nm.without_email(self.text), self.st, self.st.expecting
        if r.plain_yes_no(text) is not None:
            for key in ("pet", "first", "last"):
                if args.get(key):
                    self.reject(key, args[key])
            return
        tail = nm.after_correction(text)
        at_read_back = expecting == Step.CONFIRM  # every detail is open to correction there
        own_name_ok = (
            expecting == Step.CLIENT_NAME or at_read_back or bool(nm.SELF_CUE.search(text))
        )
        pet_name_ok = expecting == Step.PET_NAME or at_read_back or bool(nm.PET_CUE.search(text))
        for key, target in (("pet", "pet_name"), ("first", "first_name"), ("last", "last_name")):
            value = args.get(key)
            allowed = pet_name_ok if key == "pet" else own_name_ok
            if value and (not allowed or nm.is_animal_word(value) or nm.negated(value, text)):
                self.reject(key, value)
                continue
            if value and tail and not g.name_grounded(value, tail):
                self.reject(key, value)  # said, then taken back
                guess = nm.bare_name(nm.last_sentence(tail), allow_two=target != "pet_name")
                if guess and target == "pet_name":
                    found["pet_name"] = guess
                elif guess and target == "first_name":
                    found["first_name"], _, last = guess.partition(" ")
                    if last:
                        found["last_name"] = last
                continue
            if value and g.name_grounded(value, text) and not nm.is_stopword_name(value):
                found[target] = nm.title(value)
            elif value:
                self.reject(key, value)
        if pet_name_ok and "pet_name" not in found:
            # Said outright ("my dog's name is Bella", "Bella, not Poppy"): the rules hear it
            # whatever the model made of the rest.
            said = nm.pet_named(text) or nm.named_instead(text, st.pet_name)
            if said:
                found["pet_name"] = said  # the held one again: misheard the same way
        if expecting == Step.PET_NAME:
            # An answer that is only a name is read by the rules, over the model's reading.
            guess = nm.bare_name(text)
            if guess and not nm.is_animal_word(guess):
                found["pet_name"] = guess
        bare = expecting == Step.CLIENT_NAME and nm.bare_name(text, allow_two=True)
        if bare or not (found.get("first_name") or found.get("last_name")):
            if bare:
                found.pop("first_name", None)
                found.pop("last_name", None)
            self.own_name_by_rule(found, text, tail)
        if found.get("first_name") and found.get("last_name") == found.get("first_name"):
            found.pop("last_name")
        if found.get("first_name") or found.get("last_name"):
            first, last = nm.split_full_name(
                nm.expand_name(found.get("first_name") or st.first_name or "", text),
                nm.expand_name(found.get("last_name") or "", text),
            )
            if first:
                found["first_name"] = first
            if last:
                found["last_name"] = last
        if found.get("pet_name"):
            found["pet_name"] = nm.expand_name(found["pet_name"], text)
            introduced = nm.SELF_NAMED.search(text)
            names = (
                found.get("first_name"),
                found.get("last_name"),
                st.first_name,
                st.last_name,
                introduced.group(1) if introduced else None,
            )
            own = {w.lower() for name in names if name for w in re.split(r"[\s-]+", name)}
            if own & {w.lower() for w in re.split(r"[\s-]+", found["pet_name"])}:
                self.reject("pet", found.pop("pet_name"))  # the caller's own name, not the pet's
        if expecting in (Step.PET_NAME, Step.CLIENT_NAME):
            # Asked again for a name the caller said was wrong, the same one heard again is
            # the same mishearing: not taken back (the repair goes on, to spelling).
            for key in ("pet_name", "first_name", "last_name"):
                value = found.get(key)
                if value and str(value).lower() in st.refused_values(key):
                    self.reject(key, found.pop(key))

    def own_name_by_rule(self, found: dict[str, Any], text: str, tail: str) -> None:
        """The caller's name where the model gave none: asked for it, the name alone, the
        one after a correction ("Tom Baker. Actually, put it under my wife's name. Jenny
        Baker.") or one introduced ("No, my name is ..."); at the read-back, a whole name
        said outright ("No, my name is Jenny Baker"); in the opening, an introduction ("Hi,
        I'm Sarah Lee."). One name when the first is known and the last was asked for is
        the last."""
        st = self.st
        if st.expecting == Step.NONE:
            guess = nm.introduced(text)
        elif st.expecting == Step.CONFIRM:
            guess = nm.introduced(text, capitalised=False)
            if guess is None or len(guess.split()) < 2:
                return  # one name at the read-back: which one is not said
        elif st.expecting == Step.CLIENT_NAME:
            guess = (
                nm.bare_name(text, allow_two=True)
                or (nm.bare_name(nm.last_sentence(tail), allow_two=True) if tail else None)
                # "No, my name is Aisha Menson" to "I heard ... as your name" (run 14: 1.7 s
                # in the model for what the rules read)
                or nm.introduced(text, capitalised=False)
            )
        else:
            return
        parts = guess.split() if guess else []
        if len(parts) == 1 and st.first_name:
            if parts[0].lower() != st.first_name.lower():
                found["last_name"] = parts[0]
        elif parts:
            found["first_name"] = parts[0]
            if len(parts) > 1:
                found["last_name"] = " ".join(parts[1:])

    def choose(
        self,
        found: dict[str, Any],
        key: str,
        detected: str | None,
        proposed: str | None,
        grounded: Callable[[str, str], bool],
    ) -> None:
        """The detector's value wins; the model's is used only when the words support it."""
        if detected:
            found[key] = detected
        elif proposed and grounded(proposed, self.text):
            found[key] = proposed
        if proposed and found.get(key) != proposed:
            self.reject(key, proposed)

    def pick_offered(self, model_time: str | None) -> Slot | None:
        """The offered time the caller took: by its time, its place in the list, or a yes
        to the only one."""
        text, offered = self.text, self.st.offered
        times = self.u.offered_times(self.st)
        if intents.detect_time_shift(text):
            # "Have you got a later one?" asks for other times; it takes none of these.
            if model_time:
                self.reject("time", model_time)
            return None
        said = n.parse_time(text)
        if said is not None:
            key = said.strftime("%H:%M")
            if key in times:
                return offered[times.index(key)]
        lowered = text.lower()
        if LAST_PLACE.search(lowered):
            return offered[-1]
        if NEXT_PLACE.search(lowered):
            return offered[0]
        for word, index in PLACE_WORDS.items():
            if re.search(rf"\b{word}\b", lowered) and index < len(times):
                return offered[index]
        if (
            model_time in times
            and said is None
            and re.search(r"\b(that|one|yes|ok|fine)\b", lowered)
        ):
            return offered[times.index(model_time)]
        if len(times) == 1 and said is None and n.is_yes(text):
            return offered[0]  # "Would 3:45pm suit you?" "Yes, fine."
        if model_time:
            self.reject("time", model_time)
        return None
