"""The engine behind the windows: components load in the background and report, a
conversation typed and touched through it books for real at the sandbox clinic, and the
staff screens' changes (saved settings, a booking-site connection test) go through its
methods."""

from __future__ import annotations

import dataclasses
import queue
from collections.abc import Iterator
from typing import Any

import pytest

from petvisor_desktop.events import EngineEvent, EventType
from petvisor_desktop.runtime import Engine, EngineNotReady
from petvisor_desktop.settings import Settings, VetstoriaSettings
from vetstoria.client import VetstoriaClient
from vetstoria.sandbox import SandboxClinic

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


@pytest.fixture
def idle_engine(settings: Settings) -> Iterator[Engine]:
    """A real engine, created and not started: nothing is loaded."""
    engine = Engine(settings, None, now="2026-11-23T09:00", voice=False, mode="kiosk")
    yield engine
    engine.shutdown()


def test_saved_settings_apply_at_once_only_where_they_can(
    settings: Settings, idle_engine: Engine
) -> None:
    """The opening hours and the out-of-hours phone are taken at once (the next
    conversation's greeting and hand-offs); the rest waits for a restart and says so."""
    before = idle_engine.settings
    assert not before.clinic.hours.is_open(idle_engine.clinic_now().replace(hour=20))
    clinic = dataclasses.replace(
        settings.clinic,
        opening_hours="mon-sun 07:00-22:00",
        out_of_hours_phone="01632 960999",
        name="Riverside Vets",
    )
    models = dataclasses.replace(settings.models, llm="qwen2.5-1.5b-instruct-q4_k_m")
    saved = dataclasses.replace(settings, clinic=clinic, models=models)

    later = idle_engine.apply_settings(saved)

    assert later == ["models.llm", "clinic.name"]
    now = idle_engine.settings.clinic
    assert now.hours.is_open(idle_engine.clinic_now().replace(hour=20))
    assert now.emergency_phone == "01632 960999"
    assert now.name == before.clinic.name  # the greeting's clinic name waits for a restart
    assert idle_engine.settings.models == before.models
    assert idle_engine.apply_settings(idle_engine.settings) == []


def real_site(settings: Settings, clinic: SandboxClinic, **change: Any) -> Settings:
    """`settings` pointed at the sandbox clinic as if it were a real Vetstoria site."""
    config = clinic.config()
    seeds = {name: getattr(config, name) for name in VetstoriaSettings.SEEDS}
    return dataclasses.replace(settings, vetstoria=VetstoriaSettings(**(seeds | change)))


def test_the_vetstoria_connection_test_signs_in_and_reads_the_catalogue(
    settings: Settings, idle_engine: Engine
) -> None:
    with SandboxClinic(now="2026-11-23T09:00") as clinic:
        with VetstoriaClient(clinic.config()) as client:
            counts = (len(client.species()), len(client.appointment_types()))
            counts += (len(client.schedules()),)
        check = idle_engine.test_vetstoria(real_site(settings, clinic))
        assert (check.ok, check.code) == (True, "ok"), check
        assert check.message == (
            f"Connected: {counts[0]} species, {counts[1]} appointment types and "
            f"{counts[2]} clinicians take online bookings."
        )
        wrong = Engine.test_vetstoria(real_site(settings, clinic, secret="wrong-secret"))
        assert (wrong.ok, wrong.code, wrong.retryable) == (False, "auth", False)
        assert wrong.message.startswith("auth: ") and "wrong-secret" not in wrong.message
    assert idle_engine.settings.vetstoria.use_sandbox  # testing changed nothing
    assert idle_engine.backend is None


def test_the_vetstoria_connection_test_says_what_is_wrong(settings: Settings) -> None:
    with SandboxClinic(now="2026-11-23T09:00") as clinic:
        down = real_site(
            settings,
            clinic,
            base_url="http://127.0.0.1:9",
            auth_url="http://127.0.0.1:9/auth",
            timeout_s=2.0,
        )
        bad_url = real_site(settings, clinic, base_url="ftp://clinic.example")
    gone = Engine.test_vetstoria(down)
    assert (gone.ok, gone.code, gone.retryable) == (False, "unavailable", True), gone
    bad = Engine.test_vetstoria(bad_url)
    assert (bad.ok, bad.code) == (False, "settings")
    assert bad.message.startswith("vetstoria.base_url: must be an http(s) URL")
    demo = Engine.test_vetstoria(settings)  # no real site: nothing to test
    assert (demo.ok, demo.code) == (False, "settings")
