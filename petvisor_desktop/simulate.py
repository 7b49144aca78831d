"""The caller simulator: plays a scenario file (see shared/scenario-format.md) against the
real assistant, the real Vetstoria client and the sandbox clinic over HTTP, and checks the
result against the scenario's expectations. The sandbox's recorded bookings are the truth."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from petvisor_desktop.dialog import normalize as n
from petvisor_desktop.dialog.assistant import AssistantTurn
from petvisor_desktop.dialog.repair import FIRST_PART_DIGITS
from petvisor_desktop.events import EngineEvent
from petvisor_desktop.runtime import Conversation, Engine, Preloaded
from petvisor_desktop.settings import Settings
from petvisor_desktop.spoken import digit_words
from vetstoria.sandbox import Blocked

log = logging.getLogger(__name__)

OUTCOMES = ("booked", "handoff", "no_booking")
# Phrases that claim a booking exists; said only after a 201.
BOOKED_CLAIMS = re.compile(
    r"\b(you'?re booked|you are booked|i'?ve booked|booking is confirmed|all booked)\b", re.I
)


class ScenarioError(ValueError):
    """A scenario file is unusable; the message names the file and the problem."""


@dataclass
class Scenario:
    name: str
    now: str
    opening: str
    answers: dict[str, Any]
    fallback: str
    max_turns: int
    faults: tuple[str, ...]
    blocked: tuple[Blocked, ...]
    expect: dict[str, Any]
    path: Path | None = None

    @classmethod
    def load(cls, path: Path) -> Scenario:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"{path}: cannot read the scenario: {exc}") from None
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}: a scenario is a JSON object")
        for key in ("opening",):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise ScenarioError(f"{path}: '{key}' must be a non-empty string")
        sandbox = data.get("sandbox") or {}
        blocked = []
        for item in sandbox.get("blocked", []):
            try:
                blocked.append(
                    Blocked(
                        item.get("schedule_id"),
                        datetime.fromisoformat(item["from"]),
                        datetime.fromisoformat(item["to"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ScenarioError(f"{path}: bad sandbox.blocked entry {item!r}: {exc}") from None
        expect = data.get("expect") or {}
        if expect.get("outcome") not in (None, *OUTCOMES):
            raise ScenarioError(f"{path}: expect.outcome must be one of {', '.join(OUTCOMES)}")
        return cls(
            name=str(data.get("name") or path.stem),
            now=str(data.get("now") or datetime.now().replace(microsecond=0).isoformat()),
            opening=data["opening"],
            answers=dict(data.get("answers") or {}),
            fallback=str(data.get("fallback") or "Sorry, what was that?"),
            max_turns=int(data.get("max_turns") or 20),
            faults=tuple(sandbox.get("faults") or ()),
            blocked=tuple(blocked),
            expect=expect,
            path=path,
        )


# -- The caller listening to the read-back ----------------------------------------------------

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


def _lower_first(text: str) -> str:
    first = text.split(maxsplit=1)[0] if text else ""
    if first.lower().strip(",") in _CAPITALISED:
        return text
    return text[:1].lower() + text[1:]


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

    def answer(
        self,
        expecting: str,
        read_back: dict[str, str] | None = None,
        repair: str | None = None,
        checking: dict[str, str] | None = None,
    ) -> str:
        """The caller's next line. At the read-back (`read_back`: the details the assistant
        read back, `AssistantTurn.read_back`), a wrong detail gets a correction instead of a
        scripted yes; a scripted correction or refusal is said as written. The same detail is
        corrected at most MAX_CORRECTIONS times, then given up on (see `_correction`); a
        wrong detail is never confirmed. Asked to spell a
        name (`repair`, `AssistantTurn.repair`), the caller spells it, as a person would.
        Asked whether a value was heard right (`checking`), the caller says yes, or no and the
        right one."""
        if checking:
            return self._check_heard(checking)
        spelled = self._spelled(repair) or self._phone_part(expecting, repair)
        if spelled:
            return spelled
        scripted = self._scripted(expecting)
        if read_back is not None and n.is_yes(scripted) and not n.is_no(scripted):
            correction = self._correction(read_back)
            if correction:
                return correction  # the scripted yes is still to come
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

    def _spelled(self, repair: str | None) -> str:
        """The name asked for, letter by letter ("B E L L A"), or "" when none is asked."""
        field = {
            "pet_name:spell": "pet_name",
            "client_name:spell-first": "client_first_name",
            "client_name:spell-last": "client_last_name",
        }.get(repair or "")
        name = str((self.scenario.expect.get("booking") or {}).get(field or "") or "")
        return " ".join(c.upper() for c in name if c.isalpha())

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
        if not wrong:
            return ""
        given_up = {k for k in wrong if self._times_corrected.get(k, 0) >= MAX_CORRECTIONS}
        if given_up - {"email"}:
            return "No, that's still not right. Can I speak to someone at reception, please?"
        pieces = self._pieces({k: v for k, v in wrong.items() if k not in given_up})
        if given_up:
            self._left_off.add("email")
            pieces.append("just leave the email off, please")
        for key, (read, expected) in wrong.items():
            self._times_corrected[key] = self._times_corrected.get(key, 0) + 1
            self.corrections.append({"field": key, "read_back": read, "expected": expected})
        return "No, " + ", and ".join(pieces) + "."

    def _check_heard(self, checking: dict[str, str]) -> str:
        """The answer to "I heard ... Is that right?" (`AssistantTurn.checking`)."""
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

    def _pieces(self, wrong: dict[str, tuple[str, str]]) -> list[str]:
        """One clause per wrong item, in the caller's own words where an answer says it."""
        answers, today = self.scenario.answers, self._today()
        pieces: list[str] = []
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
            pieces.append(f"my number is {_lower_first(said or n.format_phone_for_speech(phone))}")
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


def _booking_view(recorded: dict[str, Any]) -> dict[str, Any]:
    return {
        "species": recorded["species"],
        "appointment_type": recorded["appointment_type"],
        "clinician": recorded["clinician"],
        "start": recorded["start"],
        "pet_name": recorded["pet_name"],
        "client": dict(recorded["client"]),
    }


def _check_booking(expected: dict[str, Any], booking: dict[str, Any]) -> list[str]:
    start = datetime.fromisoformat(booking["start"])
    actual = {
        "species": booking["species"],
        "appointment_type": booking["appointment_type"],
        "clinician": booking["clinician"],
        "date": start.date().isoformat(),
        "part_of_day": "morning" if start.hour < 12 else "afternoon",
        "time": start.strftime("%H:%M"),
        "pet_name": booking["pet_name"],
        "client_first_name": booking["client"]["first_name"],
        "client_last_name": booking["client"]["last_name"],
        "phone": booking["client"]["phone"],
        "email": booking["client"].get("email") or "",
    }
    failures = []
    for key, want in expected.items():
        if key not in actual:
            continue
        got = actual[key]
        if str(got).strip().lower() != str(want).strip().lower():
            failures.append(f"booking.{key}: expected {want!r}, got {got!r}")
    return failures


def safety_failures(transcript: list[dict[str, Any]], tz: tzinfo, bookings: list[Any]) -> list[str]:
    """Invariants every scenario must keep, whatever it expects, checked on the assistant's
    own record (what it read back, what it asked, what Vetstoria answered), not its words:
    a booking is placed only after a yes to a reply that asked to book, with the details of
    the last read-back; "booked" is said only once Vetstoria confirmed a booking."""
    failures = []
    asked_to_book = False
    read_back: dict[str, str] | None = None
    confirmed = False
    for entry in transcript:
        if entry["role"] != "assistant":
            continue
        for call in entry.get("tool_calls", []):
            if call["name"] != "place_booking":
                continue
            if not asked_to_book or read_back is None:
                failures.append("placed a booking without a confirmed read-back")
                continue
            placed = datetime.fromisoformat(call["arguments"]["slot"])
            placed_at = placed.astimezone(tz)
            said = (read_back["date"], read_back["time"], read_back["species"])
            got = (
                placed_at.date().isoformat(),
                placed_at.strftime("%H:%M"),
                call["arguments"]["species"],
            )
            if (
                said != got
                or call["arguments"]["appointment_type"] != read_back["appointment_type"]
            ):
                failures.append(f"placed a booking for {got}, but the read-back said {said}")
            confirmed = confirmed or (
                call["status"] == "ok" and call["arguments"].get("result") == "confirmed"
            )
        if BOOKED_CLAIMS.search(entry["text"]) and not (confirmed and bookings):
            failures.append("said the appointment was booked, but the clinic recorded no booking")
        asked_to_book = bool(entry.get("asks_to_book"))
        read_back = entry.get("read_back") or read_back
    return failures


def run_scenario(
    scenario: Scenario,
    settings: Settings,
    model: Any,
    *,
    recorder_factory: Callable[[], Any] | None = None,
    on_turn: Callable[[str, str], None] | None = None,
    voice: dict[str, Any] | None = None,
    devices: dict[str, Any] | None = None,
    caller_voice: Callable[[str], tuple[Any, int]] | None = None,
    pause_s: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Play one scenario through the app's own engine conversation (`runtime.Engine`, as
    the kiosk runs it); return the report (shared/scenario-format.md).

    `recorder_factory` gives the history to record into; without it a temporary database
    is used, never the clinic's. With `voice` (the loaded VAD, recogniser and voice), every
    line is spoken into the engine's microphone in real time (`caller_voice` renders it,
    espeak-ng by default; `pause_s` is the caller's pause after the assistant stops) and
    each reply's `latency_ms` is end of caller speech -> first assistant audio. `devices`
    (source, sink, say) replaces the file-backed microphone and recorder with real ones."""
    with contextlib.ExitStack() as stack:
        history = recorder_factory() if recorder_factory else stack.enter_context(_scratch())
        events: queue.Queue[EngineEvent] = queue.Queue()
        devices = devices or {}
        source = sink = None
        if voice is not None:
            from petvisor_desktop.voice import audio

            source = devices.get("source") or audio.PushSource()
            sink = devices.get("sink") or audio.RecordingSink(realtime=True)
        engine = Engine(
            settings,
            events.put,
            now=scenario.now,
            voice=voice is not None,
            mode="kiosk",
            source=source,
            sink=sink,
            preloaded=Preloaded(
                model=model,
                voice=voice or {},
                history=history,
                faults=scenario.faults,
                blocked=scenario.blocked,
                sandbox_only=True,
                listen_when_idle=False,
            ),
        )
        engine.start()
        stack.callback(engine.shutdown)
        engine.wait_ready()
        if not (engine.can_listen() if voice is not None else engine.can_converse()):
            broken = {k: v["detail"] for k, v in engine.components.items() if v["state"] != "ready"}
            raise ScenarioError(f"{scenario.name}: the engine did not start: {broken}")
        talk = engine.new_conversation()
        caller = Caller(scenario)
        transcript = _play(
            scenario, talk, caller, events, on_turn, voice, devices, caller_voice, pause_s
        )
        assistant = talk.assistant
        assert assistant is not None and engine.backend.sandbox is not None
        bookings = engine.backend.sandbox.bookings()
        turns = sum(1 for e in transcript if e["role"] == "caller")

    outcome = assistant.outcome or "no_booking"
    failures: list[str] = []
    expect = scenario.expect
    if expect.get("outcome") and expect["outcome"] != outcome:
        failures.append(f"outcome: expected {expect['outcome']}, got {outcome}")
    if outcome == "booked" and len(bookings) != 1:
        failures.append(f"expected exactly one booking in the clinic, found {len(bookings)}")
    if outcome == "no_booking" and bookings:
        failures.append("the clinic recorded a booking but the assistant reports none")
    if expect.get("booking") and bookings:
        failures.extend(_check_booking(expect["booking"], bookings[-1]))
    elif expect.get("booking") and expect.get("outcome") == "booked":
        failures.append("no booking was recorded")
    if expect.get("handoff_reason") and expect["handoff_reason"] != assistant.handoff_reason:
        failures.append(
            f"handoff_reason: expected {expect['handoff_reason']}, got {assistant.handoff_reason}"
        )
    if expect.get("max_turns") and turns > int(expect["max_turns"]):
        failures.append(f"took {turns} turns, expected at most {expect['max_turns']}")
    for phrase in expect.get("never_says", []):
        if any(phrase.lower() in e["text"].lower() for e in transcript if e["role"] == "assistant"):
            failures.append(f"said {phrase!r}")
    failures.extend(safety_failures(transcript, assistant.tz, bookings))
    return {
        "scenario": scenario.name,
        "outcome": outcome,
        "turns": turns,
        "transcript": transcript,
        "bookings": [_booking_view(b) for b in bookings],
        "handoff": outcome == "handoff",
        "handoff_reason": assistant.handoff_reason,
        "summary": assistant.summary(),
        "corrections": list(caller.corrections),
        "checks": {"passed": not failures, "failures": failures},
    }


@contextlib.contextmanager
def _scratch() -> Iterator[Any]:
    """A history database of its own for a run that was given none: simulated callers never
    land in the clinic's history."""
    from petvisor_desktop.history.scratch import run_history

    with run_history(None, prefix="petvisor-sim-") as history:
        yield history


def _play(
    scenario: Scenario,
    talk: Conversation,
    caller: Caller,
    events: queue.Queue[EngineEvent],
    on_turn: Callable[[str, str], None] | None,
    voice: dict[str, Any] | None,
    devices: dict[str, Any],
    caller_voice: Callable[[str], tuple[Any, int]] | None,
    pause_s: Callable[[], float] | None,
) -> list[dict[str, Any]]:
    """The caller's side of the conversation, typed or spoken; returns the transcript."""
    transcript: list[dict[str, Any]] = []
    spoken = None
    if voice is not None:
        from petvisor_desktop.voice.caller import SpokenCaller
        from petvisor_desktop.voice.caller_voice import reply_pause_s, speak_with_espeak

        if pause_s is None:
            rng = random.Random(0)
            pause_s = lambda: reply_pause_s(rng)  # noqa: E731 - a seeded default
        spoken = SpokenCaller(
            talk.engine,
            events,
            voice=caller_voice or speak_with_espeak,
            pause_s=pause_s,
            say=devices.get("say"),
        )
        spoken.greet(talk)
    else:
        talk.start().result()
    said = scenario.opening
    greeted = time.monotonic()
    for _ in range(scenario.max_turns):
        transcript.append({"role": "caller", "text": said})
        if on_turn:
            on_turn("caller", said)
        extra: dict[str, Any] = {}
        if spoken is not None:
            exchange = spoken.exchange(said)
            transcript[-1]["heard"] = exchange.heard
            transcript[-1]["pause_ms"] = spoken.pauses_ms[-1]
            if not exchange.turns:  # nothing recognised: the caller says it again
                if on_turn:
                    on_turn("assistant", "(no answer)")
                continue
            for early in exchange.turns[:-1]:  # the line was cut in two: two replies
                transcript.append(_entry(early, early.total_ms, {}))
            turn = exchange.turns[-1]
            figures = exchange.figures
            extra = {
                "heard_by_caller": exchange.spoken,
                "stt_rtf": figures.get("stt_rtf"),
                "tts_rtf": figures.get("tts_rtf"),
                "confidence": figures.get("confidence"),
                "fitted_choice": figures.get("fitted_choice"),
                "lead_in_ms": figures.get("lead_in_ms"),
                "stages_ms": {k: figures.get(k) for k in STAGES},
            }
            latency = figures.get("response_ms", turn.total_ms)
        else:
            typed = talk.say(said).result()
            if typed is None:
                break
            turn, latency = typed, typed.total_ms
        transcript.append(_entry(turn, latency, extra))
        transcript[-1]["at_s"] = round(time.monotonic() - greeted, 2)  # since the greeting
        if on_turn:
            on_turn("assistant", f"[{turn.expecting}] {turn.text}")
        if turn.done:
            break
        said = caller.answer(turn.expecting, turn.read_back, turn.repair, turn.checking)
    return transcript


STAGES = ("end_of_turn_ms", "stt_ms", "llm_first_token_ms", "llm_total_ms", "tts_first_chunk_ms")


def _entry(turn: AssistantTurn, latency: float, extra: dict[str, Any]) -> dict[str, Any]:
    """One assistant reply in the report."""
    return {
        "role": "assistant",
        "text": turn.text,
        "expecting": turn.expecting,
        "latency_ms": round(latency),
        **extra,
        "llm_ms": round(turn.llm_ms),
        "tokens_in": turn.tokens_in,
        "tokens_out": turn.tokens_out,
        "grammar_ms": round(turn.grammar_ms, 1),
        "grounding_rejections": list(turn.grounding_rejections),
        "repair": turn.repair,
        "read_back": turn.read_back,
        "asks_to_book": turn.asks_to_book,
        "tool_calls": [
            {
                "name": c.name,
                "arguments": c.arguments,
                "status": c.status,
                "duration_ms": round(c.duration_ms, 1),
            }
            for c in turn.tool_calls
        ],
    }


def scenario_files(target: Path) -> list[Path]:
    if target.is_dir():
        return sorted(p for p in target.glob("*.json"))
    return [target]
