"""The engine behind the windows: components load in the background and report, and a
conversation typed and touched through it books for real at the sandbox clinic."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.runtime import Engine, EngineNotReady
from petvisor_desktop.settings import Settings

QUICK_LLM = "qwen2.5-coder-0.5b-instruct-q4_k_m"


class Events:
    def __init__(self) -> None:
        self.q: queue.Queue[EngineEvent] = queue.Queue()
        self.seen: list[EngineEvent] = []

    def __call__(self, event: EngineEvent) -> None:
        self.q.put(event)

    def until(self, kind: EventType, timeout_s: float = 120.0, **match: Any) -> EngineEvent:
        while True:
            event = self.q.get(timeout=timeout_s)
            self.seen.append(event)
            if event.type == kind and all(event.data.get(k) == v for k, v in match.items()):
                return event


@pytest.mark.llm
@pytest.mark.slow
def test_a_typed_and_touched_booking_through_the_engine(
    settings: Settings, require_model: Any
) -> None:
    require_model("llm", QUICK_LLM)
    events = Events()
    engine = Engine(
        settings, events, now="2026-11-23T09:00", voice=False, mode="kiosk", llm_name=QUICK_LLM
    )
    engine.start()
    try:
        assert engine.wait_ready(300)
        assert engine.can_converse(), engine.components
        assert engine.components["microphone"]["state"] == "disabled"
        talk = engine.new_conversation()
        talk.start()
        greeting = events.until(EventType.ASSISTANT_REPLY)
        assert greeting.data["text"].startswith("Hello, welcome to")
        lines = [
            "I'd like to book my dog in for a consultation",
            "Dr Roberts please",
            "Wednesday morning",
            "The first one",
            "His name is Biscuit",
            "Sarah Connolly",
            "07700 900222",
            "No email thanks",
        ]
        for line in lines:
            talk.say(line)
            reply = events.until(EventType.ASSISTANT_REPLY)
        assert reply.data["read_back"], reply.data["text"]
        card = reply.data["card"]
        assert (card["species"], card["pet_name"]) == ("Dog", "Biscuit")
        assert card["phone"] == "07700900222"
        talk.correct("phone")  # the touch on "Change" beside the phone number
        asked = events.until(EventType.ASSISTANT_REPLY)
        assert asked.data["expecting"] == "phone", asked.data["text"]
        assert asked.data["card"]["phone"] is None and asked.data["card"]["pet_name"] == "Biscuit"
        talk.say("07700 900333")
        reply = events.until(EventType.ASSISTANT_REPLY)
        assert reply.data["read_back"] and reply.data["card"]["phone"] == "07700900333"
        talk.confirm(True)  # the touch on "Yes, book it"
        booked = events.until(EventType.ASSISTANT_REPLY)
        assert "booked" in booked.data["text"].lower()
        bookings = engine.backend.sandbox.bookings()
        assert len(bookings) == 1
        talk.say("No, that's all, bye")
        ended = events.until(EventType.CONVERSATION_ENDED)
        assert ended.data["outcome"] == "booked"
        talk.rate(5).result(10)
        detail = engine.history.conversation(talk.id)
        assert (detail.info.rating, detail.info.outcome) == (5, "booked")
        assert [b.status for b in detail.bookings] == ["confirmed"]
    finally:
        engine.shutdown()


@pytest.mark.llm
def test_talk_to_reception_hands_off_at_once(settings: Settings, require_model: Any) -> None:
    require_model("llm", QUICK_LLM)
    events = Events()
    engine = Engine(settings, events, now="2026-11-23T09:00", voice=False, llm_name=QUICK_LLM)
    engine.start()
    try:
        assert engine.wait_ready(300)
        talk = engine.new_conversation()
        talk.start()
        events.until(EventType.ASSISTANT_REPLY)
        talk.request_handoff()
        reply = events.until(EventType.ASSISTANT_REPLY)
        assert "reception" in reply.data["text"]
        assert events.until(EventType.CONVERSATION_ENDED).data["outcome"] == "handoff"
        assert engine.history.conversation(talk.id).handoffs
    finally:
        engine.shutdown()


def test_a_missing_model_is_a_state_with_the_fix_not_a_crash(
    settings: Settings, tmp_path: Any
) -> None:
    events = Events()
    engine = Engine(settings, events, now="2026-11-23T09:00", voice=False, llm_name="no-such-model")
    engine.start()
    try:
        assert engine.wait_ready(60)
        llm = engine.components["llm"]
        assert llm["state"] in ("missing", "error")
        assert "no-such-model" in llm["detail"]
        assert not engine.can_converse()
        with pytest.raises(EngineNotReady, match="llm"):
            engine.new_conversation()
        assert engine.components["vetstoria"]["state"] == "ready"
    finally:
        engine.shutdown()
