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
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from petvisor_desktop.dialog.assistant import AssistantTurn
from petvisor_desktop.events import EngineEvent
from petvisor_desktop.history.records import LATENCY_FIELDS
from petvisor_desktop.runtime import Conversation, Engine, Preloaded
from petvisor_desktop.settings import Settings
from petvisor_desktop.sim_caller import Caller
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
                "prepared_ahead": figures.get("prepared_ahead"),
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
        said = caller.answer(
            turn.expecting, turn.read_back, turn.repair, turn.checking, turn.asks_to_book
        )
    return transcript


# The response's stages, as the history records them: the end-of-turn wait, the recogniser's
# and the brain's waits after it (the dialog with the model; short when the reply was
# prepared during the pause), the model's own time (partly during the pause), and the first
# audio.
STAGES = tuple(name for name in LATENCY_FIELDS if name != "response_ms")


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
