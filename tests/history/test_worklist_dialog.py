"""The worklist reads what the dialog records: whole conversations through the real assistant
(the language model replaced by the scripted double, the one the dialog tests allow) and the
real sandbox clinic, written into a real history file, then read back as worklist items.
These fail when the dialog stops recording what staff need (the booking, the hand-off, the
details its summary lists)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from petvisor_desktop import worklist as words
from petvisor_desktop.dialog.assistant import Assistant
from petvisor_desktop.engine import BookingBackend, booking_backend, new_assistant
from petvisor_desktop.history import History
from petvisor_desktop.settings import Settings
from tests.dialog.scripted_model import ScriptedChatModel
from tests.dialog.test_flows_scripted import BOOKING_SCRIPT, NOW, TO_READ_BACK


@pytest.fixture
def backend(settings: Settings) -> Iterator[BookingBackend]:
    with booking_backend(settings, now=NOW, sandbox_only=True) as b:
        yield b


def converse(
    history: History, settings: Settings, backend: BookingBackend, script: Any, lines: list[str]
) -> tuple[int, Assistant]:
    cid = history.start_conversation("kiosk")
    assert backend.sandbox is not None and backend.sandbox.pinned_now is not None
    pinned = backend.sandbox.pinned_now
    assistant = new_assistant(
        settings,
        backend,
        ScriptedChatModel(script),
        now=lambda: pinned,
        recorder=history,
        conversation_id=cid,
    )
    assistant.greet()
    for line in lines:
        assistant.respond(line)
    return cid, assistant


def test_a_caller_handed_off_mid_booking_is_an_item_with_everything_they_gave(
    history: History, settings: Settings, backend: BookingBackend
) -> None:
    script = {**BOOKING_SCRIPT, "cancel": {"tool": "handoff", "reason": "cancel"}}
    lines = [*TO_READ_BACK[:5], "Actually I need to cancel my existing booking instead"]
    cid, assistant = converse(history, settings, backend, script, lines)
    assert assistant.done and assistant.handoff_reason == "cancel"

    [item] = history.worklist(open_only=True)
    assert item.id == cid and item.reasons == ("cancel",)
    card = assistant.state.card(assistant.tz)
    for field in ("species", "appointment_type", "clinician", "date", "time", "pet_name"):
        assert item.card[field] == card[field], field
    assert item.card["client_name"] == "James Okafor"
    assert item.phone == "07700900456"
    assert item.caller_said == lines[-1]


def test_a_booking_whose_answer_was_lost_is_one_item_naming_what_to_check(
    history: History, settings: Settings, backend: BookingBackend
) -> None:
    assert backend.sandbox is not None
    backend.sandbox.add_fault("booking:timeout-after-commit")
    cid, assistant = converse(
        history, settings, backend, BOOKING_SCRIPT, [*TO_READ_BACK, "Yes, that's all correct"]
    )
    assert assistant.handoff_reason == "unconfirmed"

    [item] = history.worklist(open_only=True)
    assert item.id == cid and item.reasons == ("unconfirmed",)
    assert item.booking is not None and item.booking.status == "unconfirmed"
    check = words.vetstoria_check(item)
    assert check is not None
    slot = assistant.state.slot
    assert slot is not None
    when = slot.start.astimezone(assistant.tz)
    for part in ("Consultation", "Dr Michael Norman", "Mittens (cat)", "owner James Okafor"):
        assert part in check
    assert f"{when.hour % 12 or 12}:{when.minute:02d}" in check
    item = history.settle_booking(cid, True, "Jo Morgan")
    assert item.booking is not None and item.booking.status == "confirmed"
