"""The booking policy: from the state, what was understood and what the tools answered, the
next state and the next action (ask, offer, read back, book, hand off, answer, end).

A `Turn` works on the state as it stood when the caller spoke and only ever replaces it
(`dataclasses.replace`): it writes no history and places no booking. Its only calls out are
reads (free times from Vetstoria, a returning caller's e-mail from the history). A turn whose
action is BOOK stops there; the booking is placed when the reply is committed (booking.py),
and `booking.after_booking` words what Vetstoria answered."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from petvisor_desktop.dialog import animals, asking, intents, offers, replies
from petvisor_desktop.dialog import grounding as g
from petvisor_desktop.dialog import names as nm
from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog import repair as r
from petvisor_desktop.dialog.availability import Availability, ToolCallRecord
from petvisor_desktop.dialog.state import ANSWERS, FORGETS, BookingState, Step
from petvisor_desktop.dialog.tools import ANYONE, Catalogue
from petvisor_desktop.dialog.understand import Understood
from petvisor_desktop.hours import OpeningHours
from vetstoria.errors import VetstoriaError

log = logging.getLogger(__name__)

_ABANDON = re.compile(
    r"\b(don'?t book|do not book|changed my mind|forget it|never ?mind|not any ?more|leave it|"
    r"cancel that|no thanks?,? (?:i'?ll|i will)|stop)\b",
    re.I,
)
# An e-mail address mentioned at the read-back ("No, my email is ...").
MAX_EMAIL_TRIES = 3  # addresses tried at the read-back before it is left off
# Set by the caller's answer, in this order; a change to the first five clears the slot.
_DETAILS = (
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
)
_RESETS_SLOT = ("species", "appointment_type", "clinician", "day", "part_of_day")


class Action(StrEnum):
    """What a reply does."""

    ASK = "ask"  # asks for a detail (or the same again, differently)
    OFFER = "offer"  # offers free times
    READ_BACK = "read_back"  # reads every detail back for a yes
    BOOK = "book"  # places the booking: done at commit, never speculatively
    HAND_OFF = "hand_off"  # a person takes over; the conversation ends
    ANSWER = "answer"  # answers a question (hours, what reception answers), then goes on
    END = "end"  # says goodbye


@dataclass(frozen=True)
class Clinic:
    """What the policy knows of the clinic and the conversation's day, and the reads it may
    make: free times (`availability`) and a returning caller (`client_by_phone`)."""

    catalogue: Catalogue
    tz: ZoneInfo
    today: date
    now: Callable[[], datetime]
    hours: OpeningHours
    phone: str
    emergency_phone: str
    phone_country: str
    availability: Availability
    client_by_phone: Callable[[str], Any]
    email_domains: tuple[str, ...] = ()  # the clinic's clients' usual ones, most used first


@dataclass(frozen=True)
class Reply:
    """A reply as decided: its words (with anything said before them), the step it waits
    for and what it does. `handoff` is the hand-off to record (reason, contact)."""

    text: str
    step: Step
    action: Action
    done: bool = False  # this reply ends the conversation
    choices: tuple[str, ...] = ()
    repair: str | None = None
    read_back: dict[str, str] | None = None
    asks_to_book: bool = False
    handoff: tuple[str, str | None] | None = None
    checking: dict[str, str] | None = None  # put to the caller (`AssistantTurn.checking`)


@dataclass(frozen=True)
class Decision:
    """A turn's result: the state after it, the action and the reply (None for BOOK: the
    reply is worded once Vetstoria has answered), with what the turn ran and dropped."""

    action: Action
    state: BookingState
    reply: Reply | None
    calls: tuple[ToolCallRecord, ...] = ()
    rejections: tuple[str, ...] = ()
    llm: dict[str, float] = field(default_factory=dict)
    preface: str = ""  # said before the booking's reply (BOOK only)


class Turn:
    """One turn of the policy on a copy of the state. Not reused: a turn decides once."""

    def __init__(
        self,
        clinic: Clinic,
        state: BookingState,
        *,
        confidence: float | None = None,
        calls: tuple[ToolCallRecord, ...] = (),
        rejections: tuple[str, ...] = (),
        llm: dict[str, float] | None = None,
        preface: str = "",
    ) -> None:
        self.clinic = clinic
        self.st = state
        # The repair works on its own copy: the state it came from is never changed.
        self.repair = r.Repair(clinic.phone_country)
        self.repair.state = copy.deepcopy(state.repair)
        self.confidence = confidence  # the recogniser's, for this utterance
        self.calls = list(calls)
        self.rejections = list(rejections)
        self.llm = dict(llm or {})
        self.preface = preface  # said before the next reply (an answer, a refusal)
        self.handoff: str | None = None

    def set(self, **changes: Any) -> None:
        self.st = replace(self.st, **changes)

    def decision(self, reply: Reply | None) -> Decision:
        action = reply.action if reply is not None else Action.BOOK
        return Decision(
            action,
            replace(self.st, repair=self.repair.state),
            reply,
            tuple(self.calls),
            tuple(self.rejections),
            dict(self.llm),
            self.preface if reply is None else "",
        )

    # -- before the words are understood ---------------------------------------------------
    def greet(self, clinic_name: str) -> Reply:
        if self.reception_open():
            offer = "I can book an appointment for your cat or dog."
        else:
            offer = (
                "We're closed at the moment, but I can still book an appointment for your cat "
                "or dog."
            )
        text = f"Hello, welcome to {clinic_name}. {offer} How can I help?"
        return self.reply(text, Step.NONE)

    def begin(self, text: str) -> Reply | None:
        """The replies that need no understanding: the conversation is over, nothing was
        heard, an emergency, a question about the opening hours alone. None otherwise (an
        hours answer then comes before the reply)."""
        if self.st.done:
            return self.reply("Thank you, goodbye.", Step.NONE, done=True)
        if not text:
            return self.reply(
                "Sorry, I didn't catch that. " + asking.question(self), self.st.expecting
            )
        # Emergencies are answered at once, before any model call.
        self.handoff = intents.detect_handoff(text)
        if self.handoff == "emergency":
            return self.hand_off("emergency")
        if intents.detect_hours_question(text):
            # Answered from the settings, then the booking goes on where it was; anything
            # else said with the question is understood as usual.
            answer = self.hours_answer(text)
            if intents.only_about_hours(text):
                self.calls.append(ToolCallRecord("opening_hours", {}, "rules", 0.0))
                return self.reply(
                    answer + asking.question(self), self.st.expecting, action=Action.ANSWER
                )
            self.preface = answer
        return None

    def change(self, field_name: str) -> Reply:
        """The caller touched "Change" on a detail: forget it and ask for it again."""
        if self.st.done:
            return self.reply("Thank you, goodbye.", Step.NONE, done=True)
        forget: dict[str, Any] = {name: None for name in FORGETS[field_name]}
        if field_name in ("species", "appointment_type", "clinician", "date"):
            forget.update(slot=None, offered=())  # the times offered depended on it
        if field_name == "email":
            forget["email_declined"] = False  # asked again, so it may be given this time
        self.set(**forget)
        self.repair.reset()
        return asking.advance(self, True)

    def pressed_handoff(self, reason: str) -> Reply:
        if self.st.done:
            return self.reply("Thank you, goodbye.", Step.NONE, done=True)
        return self.hand_off(reason)

    # -- deciding --------------------------------------------------------------------------
    def decide(self, text: str, understood: Understood) -> Reply | None:
        """The reply to what was understood; None when the action is BOOK."""
        handoff, tool = self.handoff, understood.tool
        expecting = self.st.expecting
        lowered = text.lower()
        unanswerable = intents.detect_unanswerable_question(text) if handoff is None else None
        if unanswerable:
            # Prices, directions, medicines...: no facts here to answer from, so none are
            # invented; the booking goes on where it was.
            answer = self.cannot_answer(unanswerable)
            if intents.only_unanswerable_question(text):
                self.calls.append(
                    ToolCallRecord("cannot_answer", {"topic": unanswerable}, "rules", 0.0)
                )
                return self.reply(answer + asking.ask_again(self), expecting, action=Action.ANSWER)
            self.preface += answer
        if expecting == Step.ANYTHING_ELSE:
            if handoff:
                return self.hand_off(handoff)
            if n.is_no(text) or re.search(
                r"\b(bye|thanks|thank you|that'?s all|nothing)\b", lowered
            ):
                return self.reply("You're welcome. Goodbye, and take care.", Step.NONE, done=True)
            return self.reply(
                "I can only make one booking at a time here. For anything else, the reception "
                f"team will be glad to help, or call {self.clinic.phone}. Goodbye.",
                Step.NONE,
                done=True,
            )

        if (
            expecting == Step.CONFIRM
            and _ABANDON.search(text)
            and not g.mentions_existing_booking(text)
        ):
            self.set(outcome="no_booking", offered=(), slot=None)
            return self.reply(
                "No problem, I haven't booked anything. Is there anything else I can help with?",
                Step.ANYTHING_ELSE,
            )

        if handoff in ("cancel", "reschedule", "person"):
            return self.hand_off(handoff)
        other = animals.detect_other_species(text)
        if other and not animals.detect_species(text) and self.st.species is None:
            return self.hand_off("species", animal=other)
        # Not when the animal is known and a cat or dog is named with it: "I gave you the Ron
        # Dog snake" (run 14, the neural caller's "the wrong dog's name") is no snake.
        said_ours = self.st.species is not None and animals.detect_species(text)
        if (
            tool == "handoff"
            and understood.proposal.args.get("reason") == "species"
            and other
            and not said_ours
        ):
            return self.hand_off("species", animal=other)

        steering = intents.detect_off_task(text)
        if steering:
            # Instructions from the caller change nothing; whatever else they said still counts.
            self.preface += "I can only help with booking one appointment, so I'll leave that. "

        found = dict(understood.found)
        self.rejections.extend(understood.rejections)
        if steering:
            # An utterance carrying instructions gives only the answer that was asked for.
            allowed = ANSWERS.get(expecting, ())
            found = {k: v for k, v in found.items() if k in allowed}
        if expecting == Step.PHONE and n.digits_said(text) >= n.NUMBER_SAID_DIGITS:
            # A number being said: its words are read as nothing else (run 10: "one few
            # teeth" for "one two two" made the visit a dental, "one two two" a new time).
            found = {k: v for k, v in found.items() if k in ANSWERS["phone"]}
        found, reply = self.read_repair(text, found)
        if reply is not None:
            return reply
        if expecting == Step.CONFIRM and (n.is_no(text) or self.st.asked_what_to_change):
            # (Asked what to change, the caller names the detail: a correction as well.)
            held = self.st.pet_name
            if (
                held
                and str(found.get("pet_name", "")).lower() == held.lower()
                and nm.keeps_held(text, held)
                and not any(found.get(k) for k in ("first_name", "last_name", "phone", "email"))
            ):
                # "This one is Bella, not Poppy" while Bella is what was read back (run 14:
                # taken as Bella misheard, and the caller was asked to spell it, twice).
                species = (self.st.species or "pet").lower()
                text = replies.have_it(held, f"your {species}'s name")
                return self.reply(text, Step.CONFIRM, keep_read_back=True)
            # (A name put to the caller as the common name it sounds like counts as said.)
            asking.keep_agreed_names(self, found)
            said = {**found, **self.repair.state.pending}
            misheard = asking.corrected_to_the_same(self, said)
            if misheard:
                # What else the caller put right in the same breath is kept (run 10: "No, my
                # name is Karen Boyle and my email is karen.doyle at example.com" lost the
                # address to the surname's spelling); a guessed address is still asked.
                said_too = {k: v for k, v in found.items() if k not in FORGETS[misheard]}
                if not said_too.get("email_guessed"):
                    self.apply(said_too)
                return asking.misheard_again(self, misheard, found)
            asking.remember_refused(self, said)
        email_was_off = self.st.email is None
        gave_up = expecting == Step.CONFIRM and self.email_tried_too_often(text, found)
        changed = self.apply(found)
        told_before = self.st.read_back_given or self.st.email_left_off > 1
        if gave_up and email_was_off and not changed and told_before:
            # Off already in the read-back just heard, nothing else said: not all again.
            return self.email_still_off()
        changed = changed or gave_up
        if self.repair.state.pending:
            return asking.advance(self, changed)  # heard with low confidence: check first

        if found.get("phone_problem") and "phone" not in found:
            # A number that cannot be one of the country's is said back as wrong, never taken.
            if expecting == Step.CONFIRM:
                self.set(phone=None)
            if self.st.phone is None:
                self.set(phone_problems=self.st.phone_problems + 1)
                if self.st.phone_problems == 1:
                    return self.reply(
                        found["phone_problem"] + " Could you say it again?", Step.PHONE
                    )
                # Wrong again: what was wrong, then the step's repair (a narrower question,
                # and a person if that fails too), not the same question in a loop.
                self.preface += found["phone_problem"] + " "
                return asking.advance(self, changed)
        if self.st.phone is not None:
            self.set(phone_problems=0)
        reply = offers.change_offered_times(self, text, found)
        if reply is not None:
            return reply

        if expecting == Step.EMAIL and self.st.on_file_email and self.st.email is None:
            if n.is_yes(text):
                self.set(email=self.st.on_file_email)
                changed = True
            elif n.is_no(text) and not found.get("email"):
                self.set(on_file_email="")
                return self.reply("No problem. What email address should we use?", Step.EMAIL)

        if self.st.pending_retry and n.is_yes(text) and not changed:
            self.set(pending_retry=False)
            return None  # book
        self.set(pending_retry=False)

        if self.st.proposed_type and not found.get("appointment_type"):
            if n.is_yes(text):
                self.set(appointment_type=self.st.proposed_type, proposed_type=None)
                changed = True
            elif n.is_no(text):
                self.set(proposed_type=None)
                changed = True  # an answer, not a miss: the open question follows

        if expecting == Step.CONFIRM and not changed:
            # Only a yes to the full read-back books; a yes to anything else reads it again.
            if n.is_yes(text) and self.st.read_back_given:
                return None  # book
            if n.is_yes(text):
                return asking.advance(self, True)
            if found.get("email_dropped"):
                # "Leave the email off" when it is off already: the rest stands as read back
                # (or is read back again, after "What would you like to change?").
                if self.st.read_back_given:
                    return self.reply(replies.NO_EMAIL_THEN, Step.CONFIRM, keep_read_back=True)
                return asking.advance(self, True)
            if self.st.asked_email_again or g.EMAIL_CUE.search(text):
                return self.email_not_caught()
            if g.PHONE_CUE.search(text) and (n.is_no(text) or self.st.asked_what_to_change):
                return self.number_not_caught(text)
            if (n.is_no(text) or tool == "answer") and not self.st.asked_what_to_change:
                reply = self.reply(
                    "Sorry about that. What would you like to change?", Step.CONFIRM, choices=()
                )
                self.set(asked_what_to_change=True)
                return reply
            if self.st.asked_what_to_change:
                # Still nothing to change: read it all back again rather than ask the same
                # question in a loop; a yes to that books, and touch works too.
                return asking.advance(self, True)

        return asking.advance(self, changed)

    def email_tried_too_often(self, text: str, found: dict[str, Any]) -> bool:
        """Counts an e-mail address given or tried at the read-back; at the third the address
        is left off (reception can add it), whatever was heard: two wrong ones in a row say
        the recogniser cannot get it, and each try costs the caller a whole read-back."""
        tried = found.get("email") or self.st.asked_email_again or g.EMAIL_CUE.search(text)
        if not tried or found.get("email_dropped"):
            return False
        self.set(email_tries=self.st.email_tries + 1)
        if self.st.email_tries < MAX_EMAIL_TRIES or found.get("email_spelled"):
            return False  # (a spelling asked for is read back, whatever the count)
        found.pop("email", None)
        self.leave_email_off()
        return True

    def leave_email_off(self) -> None:
        """The address that could not be made out is left off (reception can add it); the
        caller is told so the first time."""
        self.set(email=None, email_declined=True, email_left_off=self.st.email_left_off + 1)
        # Not also "I heard ... as your email address. Is that right?" (run 13).
        self.repair.forget_pending("email")
        if self.st.email_left_off == 1:
            self.preface += replies.EMAIL_LEFT_OFF + " "

    def email_still_off(self) -> Reply:
        """The reply to an address given again once it is left off, nothing else changed.
        Never the same words in a loop: the first time a yes books the rest, the second the
        caller is asked to give it at the desk, the third for just a yes or no (a caller
        who gives up on the address still gets the booking); a fourth goes to reception
        with the card filled in."""
        told = self.st.email_left_off
        if told >= 4:
            return self.hand_off("not_understood")
        if not self.st.read_back_given:
            if told == 2:
                self.preface += replies.EMAIL_AT_THE_DESK + " "
            return asking.advance(self, True)
        text = {
            1: replies.BOOK_THE_REST,
            2: f"{replies.EMAIL_AT_THE_DESK} {replies.BOOK_WITHOUT_IT}",
        }.get(told, replies.EMAIL_LAST + r.lower_first(replies.BOOK_WITHOUT_IT))
        return self.reply(text, Step.CONFIRM, keep_read_back=True)

    def email_not_caught(self) -> Reply:
        """An e-mail address given at the read-back that could not be made out: its part
        before the "at" asked to be spelled (run 18: espeak's "dan dot hughes" was heard
        "then not human" every time it was said again), then left off (reception can add
        it) and the rest read back, rather than read back again and again with the same
        wrong address."""
        if not self.st.asked_email_again:
            reply = self.reply(
                replies.EMAIL_SPELL, Step.CONFIRM, choices=(), repair="email:spell-local"
            )
            self.set(asked_email_again=True, email_spelling=True)
            return reply
        self.leave_email_off()
        return self.email_still_off()

    def number_not_caught(self, text: str) -> Reply:
        """The phone number named as wrong at the read-back, the right one not made out
        ("No, the number's wrong, it's 0770 or 0970"): asked for at the phone step, with
        that step's repairs, rather than "what would you like to change?" or the same
        read-back again."""
        self.set(phone=None)
        asked = replies.NEW_NUMBER_NOT_CAUGHT if n.digits_said(text) else replies.NEW_NUMBER
        return self.reply(asked, Step.PHONE)

    def apply(self, found: dict[str, Any]) -> bool:
        """Update the state; a change to what the slot depends on clears the offered times."""
        changed = False
        preferences = list(self.st.preferences)
        held = {key: getattr(self.st, key) for key in ("first_name", "last_name")}
        for key in _DETAILS:
            if key in found and found[key] is not None and getattr(self.st, key) != found[key]:
                self.set(**{key: found[key]})
                changed = True
                if key in _RESETS_SLOT:
                    self.set(slot=None)
                    if key != "part_of_day" or self.st.expecting != Step.TIME:
                        self.set(offered=())
                if key == "clinician" and found[key] != ANYONE:
                    preferences.append(f"asked for {found[key]}")
                if key == "part_of_day":
                    preferences.append(f"prefers {found[key]}s")
        self.set(preferences=tuple(preferences))
        for key in ("first_name", "last_name"):
            if found.get(key) and self.st.email and "email" not in found:
                # A name put right: an address heard with the old one follows it, whether it
                # was spelt another way (run 12: "naomiclark@" was read back after the
                # caller had confirmed "Clarke") or misheard ("fatamad.image@" for Fatima
                # Khan, heard "That Image"; run 18: "aja.mensah@" for Aisha, heard "Aja");
                # corrected again and again, such addresses were left off.
                refused = self.st.refused_values(key)
                self.set(email=nm.address_following(self.st.email, found[key], held[key], refused))
        if found.get("last_name") and self.st.email and "email" not in found:
            self.set(email=nm.surname_spelt_as_given(self.st.email, self.st.last_name))
        if (
            "day" in found
            and found["day"] is not None
            and "part_of_day" not in found
            and self.st.slot is None
        ):
            self.set(offered=())
        if found.get("email_declined") and not self.st.email:
            self.set(email_declined=True)
            changed = True
        if found.get("email_dropped") and self.st.email:
            self.set(email=None, email_declined=True)
            changed = True
        if "slot" in found and found["slot"] != self.st.slot:
            slot = found["slot"]
            self.set(slot=slot, day=slot.start.astimezone(self.clinic.tz).date())
            changed = True
        slot, day = self.st.slot, self.st.day
        if (
            slot is not None
            and day is not None
            and slot.start.astimezone(self.clinic.tz).date() != day
        ):
            self.set(slot=None)  # the caller moved the day; the old time no longer applies
        part = found.get("part_of_day")
        if part and slot is not None and not self.clinic.availability.fits_part(slot, part):
            # "I wanted Wednesday morning" at the read-back of an afternoon time (run 18: a
            # number in the opening was taken for 1:23pm); the part of day held is the same,
            # so nothing changed but the time must: times of that part are offered again.
            self.set(slot=None, offered=())
            changed = True
        if found.get("notes") and not self.st.notes:
            self.set(notes=found["notes"])
        if found.get("weekend"):
            self.set(offered=())
        if found.get("asap") and "day" not in found:
            self.set(day=self.clinic.today, slot=None, offered=(), asap=True)
            changed = True
        if found.get("wanted_time") is not None:
            self.set(wanted_time=found["wanted_time"], slot=None)
            changed = True
        return changed

    def read_repair(self, text: str, found: dict[str, Any]) -> tuple[dict[str, Any], Reply | None]:
        """The repair's reading of an answer (repair.py): a yes to the option put to the
        caller, spelled letters, a part of the phone number, a value heard with low confidence
        held back until confirmed. A reply when the repair goes on with nothing to apply."""
        asked = self.repair.asked()  # what a "no" in this answer would be about
        taken = self.repair.take(
            self.st.expecting,
            text,
            found,
            low_confidence=self.confidence is not None and self.confidence < r.LOW_CONFIDENCE,
            spoken=self.confidence is not None,
            current={key: getattr(self.st, key) for key in r.FREE_TEXT},
            options=asking.options(self),
            refused=self.st.refused - self.st.replaced,
            expected_email=n.own_addresses(
                found.get("first_name") or self.st.first_name,
                found.get("last_name") or self.st.last_name,
                self.clinic.email_domains,
            )
            if found.get("email")
            else (),
        )
        if taken.forget:
            self.set(**{key: None for key in taken.forget})  # said to be misheard: asked again
        put = asked.get("email")
        said_no = n.is_no(text) and not n.is_yes(text) and taken.found.get("email") != put
        if put and ("email" in taken.forget or said_no):
            # Never put to the caller again (`Assistant.likely_answers`), also when the no
            # came with another address (run 17: two ways of writing one misheard name were
            # put in turn, five times, until the turns ran out).
            self.set(refused=self.st.refused | {("email", put.lower())})
        found = taken.found
        if put and found.get("email") == put and not said_no and "last_name" not in found:
            # The caller's names as their address, agreed: the surname as it spells it (run
            # 18: "naomiclarke@" agreed while "Clark" was heard; the two sound the same).
            spelt = nm.surname_as_in_address(put, self.st.last_name)
            if spelt != self.st.last_name:
                found["last_name"] = spelt
        spoken = found.pop("time", None)
        times = asking.spoken_times(self)
        if spoken in times:
            found["slot"] = self.st.offered[times.index(spoken)]
        if taken.reply:
            return found, self.reply(taken.reply, self.st.expecting)
        return found, None

    def advance(self, changed: bool) -> Reply:
        """Ask for the next missing detail, check availability, or read back (asking.py)."""
        return asking.advance(self, changed)

    # -- answers and hand-offs -------------------------------------------------------------
    def reception_open(self) -> bool:
        return self.clinic.hours.is_open(self.clinic.now())

    def cannot_answer(self, topic: str) -> str:
        hours = self.clinic.hours
        again = "" if self.reception_open() else hours.when_open_again(self.clinic.now())
        return replies.cannot_answer(topic, self.reception_open(), self.clinic.phone, again)

    def hours_answer(self, text: str) -> str:
        asked = n.parse_date(text, self.clinic.today)
        day = asked.day if asked is not None and "week" not in asked.phrase else None
        return replies.hours_answer(
            self.clinic.hours, day, self.clinic.now(), self.clinic.today, self.clinic.phone
        )

    def hand_off(self, reason: str, animal: str | None = None) -> Reply:
        self.set(handoff_reason=reason, outcome="handoff")
        if not self.reception_open():
            again = self.clinic.hours.when_open_again(self.clinic.now())
            text = replies.closed_handoff(
                reason, animal, self.clinic.phone, self.clinic.emergency_phone, again
            )
        else:
            text = replies.handoff(reason, self.clinic.phone, animal)
        return self.reply(text, Step.NONE, done=True, handoff=(reason, self.st.phone))

    def booking_system_down(self, exc: VetstoriaError) -> Reply:
        log.warning("Vetstoria unavailable: %s", exc.code)
        self.set(outcome=self.st.outcome or "no_booking")
        return self.reply(replies.booking_system_down(self.clinic.phone), Step.ANYTHING_ELSE)

    # -- the reply -------------------------------------------------------------------------
    def reply(
        self,
        text: str,
        step: Step | str,
        *,
        done: bool = False,
        choices: tuple[str, ...] | None = None,
        repair: str | None = None,
        read_back: dict[str, str] | None = None,
        keep_read_back: bool = False,
        action: Action | None = None,
        handoff: tuple[str, str | None] | None = None,
        checking: dict[str, str] | None = None,
    ) -> Reply:
        """The reply `text`, asking for `step`. `read_back`: this is the read-back, with these
        details; `keep_read_back`: nothing changed since the last read-back, so a yes to this
        reply still books."""
        step = Step(step)
        if choices is None:
            choices = () if done else asking.choices(self, step)
        read_back_given = read_back is not None or keep_read_back
        text, self.preface = self.preface + text, ""
        self.set(
            expecting=step,
            read_back_given=read_back_given,
            asked_what_to_change=False,  # set again by the caller of `reply`
            asked_email_again=False,  # the same
            email_spelling=False,  # the same
        )
        if done:
            self.set(done=True, outcome=self.st.outcome or "no_booking")
        if action is None:
            action = (
                Action.READ_BACK
                if read_back is not None
                else Action.HAND_OFF
                if handoff is not None
                else Action.END
                if done
                else Action.OFFER
                if step == Step.TIME
                else Action.ASK
            )
        return Reply(
            text=text,
            step=step,
            action=action,
            done=done,
            choices=choices,
            repair=repair,
            read_back=read_back,
            asks_to_book=read_back_given or self.st.pending_retry,
            handoff=handoff,
            checking=checking,
        )
