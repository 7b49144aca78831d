"""The caller simulator: plays a scenario file (see shared/scenario-format.md) against the
real assistant, the real Vetstoria client and the sandbox clinic over HTTP, and checks the
result against the scenario's expectations. The sandbox's recorded bookings are the truth."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from petvisor_desktop.dialog.assistant import Assistant, AssistantTurn
from petvisor_desktop.engine import booking_backend, new_assistant
from petvisor_desktop.settings import Settings
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


@dataclass
class Caller:
    """Answers what the assistant is waiting for from the scenario's `answers`."""

    scenario: Scenario
    used: dict[str, int] = field(default_factory=dict)

    def answer(self, expecting: str) -> str:
        value = self.scenario.answers.get(expecting)
        if value is None:
            return self.scenario.fallback
        if isinstance(value, list):
            index = self.used.get(expecting, 0)
            self.used[expecting] = index + 1
            return str(value[min(index, len(value) - 1)])
        return str(value)


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


def _safety_failures(
    transcript: list[dict[str, Any]], assistant: Assistant, bookings: list[Any]
) -> list[str]:
    """Invariants every scenario must keep, whatever it expects."""
    failures = []
    last_prompt = ""
    for entry in transcript:
        if entry["role"] == "assistant":
            if BOOKED_CLAIMS.search(entry["text"]) and not bookings:
                failures.append(
                    "said the appointment was booked, but the clinic recorded no booking"
                )
            for call in entry.get("tool_calls", []):
                if call["name"] == "place_booking" and not (
                    "Shall I book" in last_prompt or "Shall I try again" in last_prompt
                ):
                    failures.append("placed a booking without a confirmed read-back")
            last_prompt = entry["text"]
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
) -> dict[str, Any]:
    """Play one scenario; return the report (shared/scenario-format.md). With `voice` (the
    loaded VAD, recogniser and voice), every line goes through the audio path in real time
    and each reply's `latency_ms` is end of caller speech -> first assistant audio. `devices`
    (source, sink, say) replaces the file-backed microphone and recorder with real ones."""
    clock_start = datetime.fromisoformat(scenario.now)
    transcript: list[dict[str, Any]] = []
    with booking_backend(
        settings,
        now=scenario.now,
        faults=scenario.faults,
        blocked=scenario.blocked,
        sandbox_only=True,
    ) as backend:
        recorder = recorder_factory() if recorder_factory else None
        conversation_id = recorder.start_conversation("simulate") if recorder else None
        assistant = new_assistant(
            settings,
            backend,
            model,
            now=lambda: clock_start,
            recorder=recorder,
            conversation_id=conversation_id,
        )
        assistant.warm()  # as the app does at start-up, before anyone speaks
        spoken = None
        if voice is not None:
            from petvisor_desktop.voice.caller import SpokenConversation

            spoken = SpokenConversation(voice, settings, assistant, **(devices or {}))
            spoken.greet()
        caller = Caller(scenario)
        said = scenario.opening
        turns = 0
        for _ in range(scenario.max_turns):
            turns += 1
            transcript.append({"role": "caller", "text": said})
            if on_turn:
                on_turn("caller", said)
            extra: dict[str, Any] = {}
            if spoken is not None:
                exchange = spoken.exchange(said)
                transcript[-1]["heard"] = exchange.heard
                if exchange.turn is None:  # nothing recognised: the caller says it again
                    if on_turn:
                        on_turn("assistant", "(no answer)")
                    continue
                turn: AssistantTurn = exchange.turn
                figures = exchange.figures
                extra = {
                    "heard_by_caller": exchange.spoken,
                    "stt_rtf": figures.get("stt_rtf"),
                    "tts_rtf": figures.get("tts_rtf"),
                    "stages_ms": {
                        k: figures.get(k)
                        for k in (
                            "end_of_turn_ms",
                            "stt_ms",
                            "llm_first_token_ms",
                            "llm_total_ms",
                            "tts_first_chunk_ms",
                        )
                    },
                }
                latency = figures.get("response_ms", turn.total_ms)
            else:
                turn = assistant.respond(said)
                latency = turn.total_ms
            transcript.append(
                {
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
            )
            if on_turn:
                on_turn("assistant", f"[{turn.expecting}] {turn.text}")
            if turn.done:
                break
            said = caller.answer(turn.expecting)
        if spoken is not None:
            spoken.close()
        if recorder and not assistant.done and conversation_id is not None:
            recorder.end_conversation(
                conversation_id, assistant.outcome or "abandoned", assistant.summary()
            )
        assert backend.sandbox is not None
        bookings = backend.sandbox.bookings()

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
    failures.extend(_safety_failures(transcript, assistant, bookings))
    return {
        "scenario": scenario.name,
        "outcome": outcome,
        "turns": turns,
        "transcript": transcript,
        "bookings": [_booking_view(b) for b in bookings],
        "handoff": outcome == "handoff",
        "handoff_reason": assistant.handoff_reason,
        "summary": assistant.summary(),
        "checks": {"passed": not failures, "failures": failures},
    }


def scenario_files(target: Path) -> list[Path]:
    if target.is_dir():
        return sorted(p for p in target.glob("*.json"))
    return [target]
