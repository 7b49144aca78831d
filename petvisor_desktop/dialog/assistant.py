"""The booking assistant: one conversation, driven turn by turn with the caller's words.

Each turn:
1. the language model proposes one tool call for the caller's words (grammar-constrained),
   or the rules read a plain answer alone (understand.py);
2. every proposed value is checked against those words (or the options offered) and dropped
   if the caller never said it; deterministic parsers add phone numbers, e-mails, dates and
   times in their normal form (understand.py, grounding.py, normalize.py, names.py);
3. the policy decides the next state and action on a copy of the state, searching Vetstoria
   for free times (policy.py, offers.py, availability.py);
4. the reply is committed: the booking placed if that is the action (booking.py), the turn
   written to the history (journal.py), the new state kept. Replies only state facts the
   tools returned (replies.py).
Nothing is booked without an explicit yes to a read-back of every detail, and "booked" is
said only after Vetstoria answered 201.

`prepare` does steps 1-3 and leaves the conversation as it was; `commit` does step 4, and
`respond` is the two together. The voice loop prepares a reply during the caller's pause
(`foresee`); `respond` commits it when the same words arrive in the same state, and it is
simply dropped when other words come.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.asking import choices, read_back_details
from petvisor_desktop.dialog.availability import Availability, ToolCallRecord
from petvisor_desktop.dialog.booking import Booker, BookingApi, after_booking
from petvisor_desktop.dialog.journal import Journal, Recorder
from petvisor_desktop.dialog.offers import LOOKAHEAD_DAYS
from petvisor_desktop.dialog.policy import Action, Clinic, Decision, Turn
from petvisor_desktop.dialog.state import (
    CHANGEABLE,
    EXPECTING,
    FORGETS,
    BookingState,
    Step,
    summary,
)
from petvisor_desktop.dialog.tools import Catalogue, fixed_prompt
from petvisor_desktop.dialog.understand import Understander
from petvisor_desktop.hours import OpeningHours
from petvisor_desktop.llm.chat_model import ChatModel
from vetstoria.models import CatalogueItem

__all__ = [
    "CHANGEABLE",
    "EXPECTING",
    "FORGETS",
    "LOOKAHEAD_DAYS",
    "Assistant",
    "AssistantTurn",
    "BookingApi",
    "BookingState",
    "Prepared",
    "Step",
]


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
    # What this reply puts to the caller for a yes or no, by meaning: values heard with low
    # confidence ("I heard Drew as your dog's name. Is that right?": pet_name, first_name,
    # last_name, phone, email), or the option proposed after a missed answer ("Would Dr
    # Roberts be all right, or whoever is free first?": species, appointment_type,
    # clinician, time, date). The simulated caller answers from these, not from the wording.
    checking: dict[str, str] | None = None
    # This reply's row in the history (None when nothing is recorded): what is learnt
    # about it later (what the caller heard of it, its latency) goes to this row, whatever
    # replies came since.
    row_id: int | None = None
    # Prepared during the caller's pause (`Assistant.foresee`) and committed as it was.
    prepared_ahead: bool = False


@dataclass(frozen=True)
class Prepared:
    """A reply worked out on the state as it stood (`before`), with nothing written, booked
    or kept. `commit` makes it the conversation's; dropping it leaves no trace. When the
    action is BOOK there is no `turn` yet: the booking is placed, and its reply worded, only
    at commit."""

    caller: str | None  # what the history will record the caller said or did (None: greeting)
    before: BookingState
    decision: Decision
    turn: AssistantTurn | None
    started: float  # perf_counter at the start, for the reply's total_ms
    confidence: float | None = None  # the recogniser's for the words (None: typed)

    @property
    def text(self) -> str | None:
        """What the reply says (None for a booking, worded only once it is placed)."""
        return self.turn.text if self.turn is not None else None

    @property
    def action(self) -> Action:
        return self.decision.action

    @property
    def answers_the_question(self) -> bool:
        """The words answer the open question: the reply moves on to another step, or puts
        a whole answer heard for this step to the caller for a yes or no ("I heard 0 7 7 0 0,
        9 0 0, 1 1 2 as your phone number. Is that right?": said in full, the leading "oh"
        not heard). Not a repair that asks again, nor "And the rest of the number?", nor an
        address guessed from the caller's names before they said its domain ("sarah dot lee"
        is often followed by "at example dot com")."""
        if self.turn is None:
            return False
        step = self.before.expecting
        if step == Step.EMAIL and n.parse_email(self.caller or "") is None:
            return self.turn.expecting != step and "email" not in (self.turn.checking or {})
        return self.turn.expecting != step or step.value in (self.turn.checking or {})

    @property
    def state(self) -> BookingState:
        """The state the reply leads to (before the booking's answer, for BOOK)."""
        return self.decision.state


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
        email_domains: tuple[str, ...] = (),
    ) -> None:
        # Whose numbering plan a caller's phone number must fit (no clinic setting names a
        # country yet, so the UK unless told otherwise).
        self.phone_country = phone_country
        self.email_domains = email_domains  # the clinic's clients' usual ones, most used first
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
        self.journal = Journal(recorder, conversation_id)  # the history writes
        self.turns: list[AssistantTurn] = []
        self._state = BookingState()
        self._today = self.now().date()
        self._prefix = fixed_prompt(self.catalogue, self._today)
        self._understander = Understander(
            model,
            self.catalogue,
            self.species_ids,
            self.tz,
            self._today,
            self._prefix,
            phone_country,
            email_domains,
        )
        self._clinic = Clinic(
            catalogue=self.catalogue,
            tz=self.tz,
            today=self._today,
            now=self.now,
            hours=self.hours,
            phone=clinic_phone,
            emergency_phone=self.emergency_phone,
            phone_country=phone_country,
            availability=self.availability,
            client_by_phone=self.journal.client_by_phone,
            email_domains=email_domains,
        )
        self._booker = Booker(api, self.type_ids, self.species_ids, self.schedule_names)

    # -- the conversation as it stands ----------------------------------------------------
    @property
    def state(self) -> BookingState:
        return self._state

    @property
    def expecting(self) -> Step:
        return self._state.expecting

    @property
    def done(self) -> bool:
        return self._state.done

    @property
    def outcome(self) -> str | None:
        return self._state.outcome

    @property
    def handoff_reason(self) -> str | None:
        return self._state.handoff_reason

    @property
    def preferences(self) -> list[str]:
        return list(self._state.preferences)

    @property
    def read_back_given(self) -> bool:
        """The last reply was the full read-back: a yes now books."""
        return self._state.read_back_given

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

    def prime(self) -> int:
        """While the reply is being spoken: the model's prompt for the caller's answer
        evaluated as far as it is known (`Understander.prime`), so that a call for it takes
        only the caller's words. Returns the tokens evaluated."""
        return self._understander.prime(self._state)

    # -- turns ------------------------------------------------------------------------------
    def vocabulary(self) -> list[str]:
        """The clinic's live names, for recogniser biasing. A step's own words are not added:
        Whisper reads its prompt as the text before the audio, and a prompt ending "...
        first, second, last, one, that one" made tiny.en skip the same words at the start of
        the answer ("The second one, please" -> "please."). Vosk's grammar has each step's
        phrases itself (`biasing.STOCK_PHRASES`).

        At the e-mail step, the caller's own name instead: most addresses are made of it,
        and Whisper then writes it as the caller said it."""
        st = self._state
        caller = " ".join(p for p in (st.first_name, st.last_name) if p)
        if st.expecting == Step.EMAIL and caller:
            return [caller]
        names = (*self.species_ids, *self.type_ids, *self.schedule_ids)
        return [str(name) for name in names]

    def likely_answers(self) -> Callable[[str], tuple[str, ...]] | None:
        """What the caller may have said at the open question, given the words heard, for
        the recogniser to fit against the audio (`voice.fit.fit_to_likely`): where an
        e-mail address is asked for or put right, the caller's own names as one
        (`normalize.likely_addresses`). None when there is nothing to guess."""
        st = self._state
        if st.expecting not in (Step.EMAIL, Step.CONFIRM) or not (st.first_name and st.last_name):
            return None
        refused = frozenset(st.refused_values("email"))
        return functools.partial(
            n.likely_addresses,
            first=st.first_name,
            last=st.last_name,
            usual=self.email_domains,
            refused=refused,
        )

    def greet(self) -> AssistantTurn:
        return self.commit(self._prepare(None, lambda t: t.greet(self.clinic_name)))

    def foresee(self, caller_text: str, confidence: float | None = None) -> Prepared | None:
        """The reply to words the caller may be done saying, prepared without touching the
        conversation (the model's call, free times looked up): `respond` commits it if those
        words are what came, in the same state. None when there is nothing to prepare."""
        if not caller_text.strip() or self._state.done:
            return None
        return self.prepare(caller_text, confidence=confidence)

    def prepare(self, caller_text: str, *, confidence: float | None = None) -> Prepared:
        """The reply to the caller's words, worked out on a copy of the state: nothing is
        written to the history, nothing booked, and the conversation is unchanged until
        `commit`. Free times may be searched (reads). `confidence` as for `respond`."""
        started = time.perf_counter()
        text = caller_text.strip()
        state = self._state
        turn = Turn(self._clinic, state, confidence=confidence)
        reply = turn.begin(text)
        if reply is None:
            understood = self._understander.understand(
                state, text, turn.handoff, choices(turn, state.expecting)
            )
            turn.calls.extend(understood.proposal.calls)
            turn.llm = dict(understood.proposal.llm)
            reply = turn.decide(text, understood)
        return self._prepared(text, state, turn, reply, started, confidence)

    def commit(self, prepared: Prepared, *, ahead: bool = False) -> AssistantTurn:
        """Make a prepared reply the conversation's: the booking placed (when that is its
        action), the turn written to the history, the state kept. Raises ValueError when the
        conversation has moved on since it was prepared. `ahead`: it was prepared during
        the caller's pause (reported with the turn)."""
        if prepared.before is not self._state:
            raise ValueError("the reply was prepared on a state the conversation has left")
        decision, turn = prepared.decision, prepared.turn
        if prepared.caller is not None:
            self.journal.caller(prepared.caller, prepared.before.expecting.value)
        if decision.action is Action.BOOK:
            placed = self._booker.place(decision.state, self.journal)
            after = Turn(
                self._clinic,
                decision.state,
                calls=decision.calls,
                rejections=decision.rejections,
                llm=decision.llm,
                preface=decision.preface,
            )
            decision = after.decision(after_booking(after, placed))
            turn = self._turn(decision, prepared.started)
        reply, state = decision.reply, decision.state
        assert reply is not None and turn is not None
        if reply.handoff is not None:
            self.journal.handoff(*reply.handoff, state.card(self.tz))
        if reply.done:
            self.journal.end(
                state.outcome or "no_booking",
                summary(state, self.schedule_names),
                state.card(self.tz),
            )
        turn = replace(turn, row_id=self.journal.reply(turn), prepared_ahead=ahead)
        self._state = state
        self.turns.append(turn)
        return turn

    def respond(
        self,
        caller_text: str,
        foreseen: Prepared | None = None,
        *,
        confidence: float | None = None,
    ) -> AssistantTurn:
        """Take the caller's words; return the assistant's answer. `confidence` is the
        recogniser's for the utterance (0 to 1); None for typed or touched input, which is
        trusted. A phone number, name or e-mail heard below `repair.LOW_CONFIDENCE` is read
        back before it is used. `foreseen` (from `foresee`) is committed as it is when it was
        prepared for these words and this confidence in the state as it stands."""
        if foreseen is not None and self._foreseen_fits(foreseen, caller_text, confidence):
            return self.commit(foreseen, ahead=True)
        return self.commit(self.prepare(caller_text, confidence=confidence))

    def _foreseen_fits(
        self, foreseen: Prepared, caller_text: str, confidence: float | None
    ) -> bool:
        return (
            foreseen.before is self._state
            and foreseen.caller == caller_text.strip()
            and foreseen.confidence == confidence
        )

    def hand_off(self, reason: str = "person") -> AssistantTurn:
        """The caller asked for a person without words (the "Talk to reception" button)."""
        return self.commit(
            self._prepare("(pressed Talk to reception)", lambda t: t.pressed_handoff(reason))
        )

    def change(self, field: str, said: str | None = None) -> AssistantTurn:
        """The caller touched "Change" on a detail of the card: forget it and ask for it
        again; the rest is kept, and the read-back follows once it is given."""
        if field not in CHANGEABLE:
            raise ValueError(f"unknown booking detail {field!r}")
        caller = said or f"(touched Change: {field})"
        return self.commit(self._prepare(caller, lambda t: t.change(field)))

    def read_back_details(self) -> dict[str, str]:
        """What the read-back gives, by meaning: the record the simulator's caller checks
        and the booking placed must match ("date" ISO, "time" HH:MM, "email" "" if none)."""
        return read_back_details(self._state, self.tz, self.schedule_names)

    def summary(self) -> str:
        """A short account of the conversation, kept with it in the history."""
        return summary(self._state, self.schedule_names)

    def abandon(self) -> None:
        """The caller left before the end (walked away, went quiet, the app closed): the
        history records the conversation as abandoned, with its summary and what was
        understood (a booking left part-way is on reception's worklist). Call it once, on a
        conversation that is not done."""
        if self._state.done:
            raise ValueError("the conversation has ended already")
        self.journal.end("abandoned", self.summary(), self._state.card(self.tz))

    # -- making a turn ----------------------------------------------------------------------
    def _prepare(self, caller: str | None, act: Callable[[Turn], Any]) -> Prepared:
        started = time.perf_counter()
        state = self._state
        turn = Turn(self._clinic, state)
        return self._prepared(caller, state, turn, act(turn), started)

    def _prepared(
        self,
        caller: str | None,
        before: BookingState,
        turn: Turn,
        reply: Any,
        started: float,
        confidence: float | None = None,
    ) -> Prepared:
        decision = turn.decision(reply)
        shown = self._turn(decision, started) if reply is not None else None
        return Prepared(caller, before, decision, shown, started, confidence)

    def _turn(self, decision: Decision, started: float) -> AssistantTurn:
        reply, state, llm = decision.reply, decision.state, decision.llm
        assert reply is not None
        return AssistantTurn(
            text=reply.text,
            expecting=reply.step.value,
            tool_calls=decision.calls,
            tokens_in=int(llm.get("tokens_in", 0)),
            tokens_out=int(llm.get("tokens_out", 0)),
            llm_ms=llm.get("llm_ms", 0.0),
            llm_first_token_ms=llm.get("first_ms", 0.0),
            grammar_ms=llm.get("grammar_ms", 0.0),
            total_ms=(time.perf_counter() - started) * 1000,
            grounding_rejections=decision.rejections,
            done=state.done,
            outcome=state.outcome,
            card=state.card(self.tz),
            choices=reply.choices,
            repair=reply.repair,
            read_back=reply.read_back,
            asks_to_book=reply.asks_to_book,
            checking=reply.checking,
        )
