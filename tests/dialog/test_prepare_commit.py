"""A reply worked out on a copy of the state (`Assistant.prepare`) and then kept (`commit`) or
dropped: dropped, it leaves the conversation, its history and the clinic's bookings as they
were; committed, it is exactly what `respond` gives. Whole conversations with the scripted
model and the sandbox clinic, as in test_flows_scripted.py."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from petvisor_desktop.dialog.assistant import Assistant, AssistantTurn
from petvisor_desktop.dialog.policy import Action
from petvisor_desktop.dialog.state import EXPECTING, Step
from petvisor_desktop.engine import BookingBackend, booking_backend, new_assistant
from petvisor_desktop.history import History
from petvisor_desktop.settings import Settings
from tests.dialog.scripted_model import ScriptedChatModel
from tests.dialog.test_flows_scripted import (
    BOOKING_SCRIPT,
    NOW,
    OPENING,
    TO_READ_BACK,
    say,
    stage_statuses,
    start,
)
from vetstoria.sandbox import SandboxClinic

# A conversation with everything in it that a turn can write: offers, a read-back corrected,
# the booking, the goodbye.
LINES = [
    *TO_READ_BACK[:3],
    "Actually her name is Luna, not Mittens",
    *TO_READ_BACK[3:],
    "No, the phone number is 07700 900123",
    "Yes, that's all correct",
    "No thanks, bye",
]
SCRIPT: dict[str, Any] = {
    **BOOKING_SCRIPT,
    "her name is Luna": {"tool": "update", "pet": "Luna"},
    "the phone number is": {"tool": "update"},
}


def recorded(history: History, conversation_id: int) -> tuple[Any, ...]:
    """Everything the history holds of a conversation (but when each row was written)."""
    detail = history.conversation(conversation_id)
    assert detail is not None
    messages = [(m.role, m.text, m.expecting) for m in history.messages(conversation_id)]

    def untimed_rows(rows: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(r).items() if not k.endswith("_at")} for r in rows]

    return (
        messages,
        untimed_rows(detail.bookings),
        untimed_rows(detail.handoffs),
        [(c.name, c.status, c.turn_id) for c in detail.tool_calls],
        detail.info.outcome,
        detail.info.summary,
    )


def untimed(turn: AssistantTurn) -> AssistantTurn:
    """A turn without its timings, which differ from run to run."""
    return replace(
        turn,
        total_ms=0.0,
        llm_ms=0.0,
        llm_first_token_ms=0.0,
        grammar_ms=0.0,
        tool_calls=tuple(replace(c, duration_ms=0.0) for c in turn.tool_calls),
    )


def recorded_assistant(
    settings: Settings, backend: BookingBackend, history: History, script: Any
) -> tuple[Assistant, int]:
    assert backend.sandbox is not None and backend.sandbox.pinned_now is not None
    pinned = backend.sandbox.pinned_now
    conversation_id = history.start_conversation("kiosk")
    assistant = new_assistant(
        settings,
        backend,
        ScriptedChatModel(script),
        now=lambda: pinned,
        recorder=history,
        conversation_id=conversation_id,
    )
    assistant.greet()
    return assistant, conversation_id


def test_the_steps_are_the_strings_the_scenarios_and_the_voice_loop_use() -> None:
    assert Step("time") == "time" and f"{Step.CLIENT_NAME}" == "client_name"
    assert {"species": 1}[Step.SPECIES] == 1
    assert EXPECTING == (
        "species",
        "appointment_type",
        "clinician",
        "date",
        "time",
        "pet_name",
        "client_name",
        "phone",
        "email",
        "confirm",
        "anything_else",
        "none",
    )


def test_a_prepared_reply_dropped_leaves_no_trace(
    settings: Settings,
    backend: BookingBackend,
    clinic: SandboxClinic,
    tmp_path: Path,
) -> None:
    history = History.open(tmp_path / "history.sqlite3")
    assistant, conversation_id = recorded_assistant(settings, backend, history, SCRIPT)

    def dropped(line: str) -> Any:
        state, turns = assistant.state, list(assistant.turns)
        rows = recorded(history, conversation_id)
        prepared = assistant.prepare(line)
        assert assistant.state is state and assistant.turns == turns
        assert recorded(history, conversation_id) == rows
        assert clinic.bookings() == [] and stage_statuses(clinic, "booking") == []
        return prepared

    # Times looked up (a read) for a reply that is then dropped.
    offer = dropped(OPENING)
    assert offer.action is Action.OFFER and offer.turn.expecting == "time"
    assert offer.state.offered and not assistant.state.offered
    assert stage_statuses(clinic, "slots")  # it did search
    say(assistant, TO_READ_BACK)

    # At the read-back: a yes (the booking), a correction, an emergency, all dropped.
    book = dropped("Yes, that's all correct")
    assert book.action is Action.BOOK and book.turn is None  # worded only once placed
    corrected = dropped("Actually her name is Luna, not Mittens")
    assert corrected.turn.read_back["pet_name"] == "Luna"
    assert assistant.state.pet_name == "Mittens"
    emergency = dropped("Oh no, she's collapsed and is bleeding")
    assert emergency.action is Action.HAND_OFF and emergency.turn.done
    assert not assistant.done and assistant.outcome is None

    booked = assistant.respond("Yes, that's all correct")
    assert booked.text.startswith("You're booked") and len(clinic.bookings()) == 1


def test_prepare_then_commit_gives_exactly_what_respond_gives(
    settings: Settings, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        runs = []
        for name in ("respond", "commit"):
            own = stack.enter_context(booking_backend(settings, now=NOW, sandbox_only=True))
            history = History.open(tmp_path / f"{name}.sqlite3")
            assistant, conversation_id = recorded_assistant(settings, own, history, SCRIPT)
            runs.append((assistant, own, history, conversation_id))
        (a, a_backend, a_history, a_id), (b, b_backend, b_history, b_id) = runs

        for line in LINES:
            by_respond = a.respond(line)
            prepared = b.prepare(line)
            by_commit = b.commit(prepared)
            assert untimed(by_commit) == untimed(by_respond), line
            if prepared.turn is not None:
                assert untimed(prepared.turn) == untimed(replace(by_commit, row_id=None))
            assert b.state == a.state, line
        assert a.done and b.done and a.outcome == b.outcome == "booked"
        assert recorded(b_history, b_id) == recorded(a_history, a_id)
        assert a.summary() == b.summary()
        assert a_backend.sandbox is not None and b_backend.sandbox is not None

        def booked(sandbox: SandboxClinic) -> list[dict[str, Any]]:
            keep = ("start", "species", "appointment_type", "clinician", "pet_name")
            return [{k: bk[k] for k in keep} for bk in sandbox.bookings()]

        assert booked(b_backend.sandbox) == booked(a_backend.sandbox)
        assert len(booked(a_backend.sandbox)) == 1


def test_a_booking_is_placed_only_when_its_reply_is_committed(
    settings: Settings,
    backend: BookingBackend,
    clinic: SandboxClinic,
) -> None:
    assistant, _model = start(settings, backend, BOOKING_SCRIPT)
    say(assistant, TO_READ_BACK)
    prepared = assistant.prepare("Yes, that's all correct")
    assert prepared.action is Action.BOOK and clinic.bookings() == []
    booked = assistant.commit(prepared)
    assert booked.outcome == "booked" and len(clinic.bookings()) == 1
    assert [c.name for c in booked.tool_calls] == ["understand", "place_booking"]


def test_a_reply_prepared_on_a_state_since_left_is_not_committed(
    settings: Settings,
    backend: BookingBackend,
    clinic: SandboxClinic,
) -> None:
    assistant, _model = start(settings, backend, SCRIPT)
    say(assistant, TO_READ_BACK)
    stale = assistant.prepare("Yes, that's all correct")
    assistant.respond("Actually her name is Luna, not Mittens")
    with pytest.raises(ValueError, match="prepared on a state"):
        assistant.commit(stale)
    assert clinic.bookings() == []
